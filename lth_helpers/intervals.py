"""Paired differences with 95% intervals: is an effect larger than the noise of this run?

Two sources of noise sit under every number a notebook reports:

* **seeds**: each seed has its own theta_0, masks and minibatch order;
* **test digits**: every seed is tested on the same few thousand digits, so a lucky or unlucky
  test set moves every seed together, and averaging seeds does not remove it.

A comparison pairs each seed's network with the same seed's control (they share theta_0, the
mask size and the minibatches) and resamples both sources at once: a **paired bootstrap over
seeds and test digits**. One resample draws the seeds with replacement and, independently, the
test digits with replacement (one draw shared by all seeds, as the test set is shared); the
estimate is the mean over the drawn seeds of each seed's accuracy difference on the drawn
digits. The 2.5th and 97.5th percentiles of 4,000 resamples give the interval. The early-stopping
iteration has no test digits: only the seeds are resampled.

With three seeds the seed level of the bootstrap is coarse (three values can only be resampled
in ten ways) and tends to make intervals too narrow; the count of seeds that agree is reported
beside every interval for that reason, and more seeds (a notebook's ``seeds`` parameter) make
both more trustworthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from .history import unpack_bits
from .results import METRICS, Source, check_metric, records_of

__all__ = ["PairedEstimate", "paired_estimate", "paired_estimates", "mean_interval", "accuracy_interval", "METHOD", "method",
           "RESAMPLES"]

RESAMPLES = 4_000
METHOD = (f"mean paired difference over seeds, 95% paired bootstrap interval over seeds and test digits "
          f"({RESAMPLES:,} resamples)")


def method(metric: str) -> str:
    """How the interval of ``metric`` is computed, in words (test accuracy: seeds and digits; else seeds)."""
    if metric == "test_acc_at_early_stop":
        return METHOD
    return f"mean paired difference over seeds, 95% bootstrap interval over seeds ({RESAMPLES:,} resamples)"


@dataclass(frozen=True)
class PairedEstimate:
    """``strategy`` minus ``baseline`` on ``metric``, seed by seed, with a 95% interval.

    Attributes:
        strategy, baseline: the two strategies compared (``baseline`` at ``baseline_round``).
        round, baseline_round: the IMP rounds of the two (equal, except against the dense network).
        density: fraction of weights the strategy's networks keep.
        metric: a record metric (accuracies are fractions, so differences are too).
        mean: the mean over seeds of the paired difference.
        low, high: the 95% bootstrap interval of ``mean``.
        seeds: how many seeds have both networks.
        positive, negative: how many seeds have a difference above, below zero.
        late: how many of the networks compared reached their validation minimum in the last
            10% of training (see the record's ``late_minimum``): their numbers may be cut short.
    """

    strategy: str
    baseline: str
    round: int
    baseline_round: int
    density: float
    metric: str
    mean: float
    low: float
    high: float
    seeds: int
    positive: int
    negative: int
    late: int = 0

    @property
    def verdict(self) -> str:
        """``"higher"`` or ``"lower"`` when the interval excludes zero, else ``"unresolved"``."""
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "unresolved"

    @property
    def agree(self) -> int:
        """Seeds whose difference has the sign of the mean (0 when the mean is exactly zero)."""
        return self.positive if self.mean > 0 else self.negative if self.mean < 0 else 0

    def text(self, scale: float | None = None, unit: str | None = None, digits: int | None = None) -> str:
        """``+0.42 points [+0.11, +0.73], 3/3 seeds`` (accuracies in points, iterations as counts)."""
        is_acc = "acc" in self.metric
        scale = scale if scale is not None else (100.0 if is_acc else 1.0)
        unit = unit if unit is not None else (" points" if is_acc else " it.")
        digits = digits if digits is not None else (2 if is_acc else 0)
        f = lambda v: f"{scale * v:+,.{digits}f}"  # noqa: E731
        seeds = f"{self.agree}/{self.seeds} seeds" if self.mean != 0 else f"0 of {self.seeds} seeds differ in sign"
        note = f", {self.late} cut short" if self.late else ""
        return f"{f(self.mean)}{unit} [{f(self.low)}, {f(self.high)}], {seeds}{note}"


def _find(records: Sequence[Mapping], strategy: str, round_: int) -> dict[int, Mapping]:
    name = "original" if round_ == 0 and strategy != "one_shot" else strategy
    return {r["seed"]: r for r in records if r["strategy"] == name and r["round"] == round_}


def mean_interval(values: Sequence[float] | np.ndarray, rng_seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-seed ``values`` (e.g. paired differences) and its 95% bootstrap interval over seeds."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"expected a non-empty list of per-seed values, got shape {values.shape}")
    picks = np.random.default_rng(rng_seed).integers(0, len(values), size=(RESAMPLES, len(values)))
    low, high = np.percentile(values[picks].mean(axis=1), [2.5, 97.5])
    return float(values.mean()), float(low), float(high)


def accuracy_interval(ours: Sequence[np.ndarray | str], theirs: Sequence[np.ndarray | str],
                      rng_seed: int = 0) -> tuple[float, float, float]:
    """Mean accuracy difference and its 95% paired bootstrap interval over seeds and test digits.

    ``ours[i]`` and ``theirs[i]`` say which test digits the two networks of pair ``i`` (a seed, or a
    draw) get right: boolean arrays over the same digits, or :func:`~lth_helpers.history.pack_bits` text.
    """
    unpack = lambda c: unpack_bits(c) if isinstance(c, str) else np.asarray(c, dtype=bool)  # noqa: E731
    if len(ours) != len(theirs) or not ours:
        raise ValueError(f"expected as many networks on both sides (at least one), got {len(ours)} and {len(theirs)}")
    per_digit = np.stack([unpack(a).astype(np.int8) - unpack(b) for a, b in zip(ours, theirs)])
    n_digits = per_digit.shape[1]
    rng = np.random.default_rng(rng_seed)
    # A digit enters only through its column of per-pair differences (each -1, 0 or 1), so
    # resampling digits is resampling those columns: a multinomial over the few distinct
    # columns, with their frequencies, draws exactly what resampling every digit would.
    patterns, which = np.unique(per_digit.T, axis=0, return_inverse=True)
    frequency = np.bincount(which.ravel(), minlength=len(patterns)) / n_digits
    counts = rng.multinomial(n_digits, frequency, size=RESAMPLES)             # (resamples, patterns)
    by_pair = patterns.T.astype(np.float64) @ counts.T / n_digits             # (pairs, resamples)
    picks = rng.integers(0, len(per_digit), size=(RESAMPLES, len(per_digit)))  # then resample the pairs
    resampled = np.take_along_axis(by_pair.T, picks, axis=1).mean(axis=1)
    low, high = np.percentile(resampled, [2.5, 97.5])
    return float(per_digit.mean()), float(low), float(high)


def paired_estimate(source: Source, strategy: str, baseline: str, round_: int,
                    metric: str = "test_acc_at_early_stop", baseline_round: int | None = None,
                    rng_seed: int = 0) -> PairedEstimate:
    """``strategy`` at ``round_`` minus ``baseline`` at ``baseline_round`` (default: the same round).

    Test accuracy at early stopping is resampled over seeds and test digits (it needs the records'
    ``test_correct``); any other metric over seeds only. The resampling is seeded (``rng_seed``), so
    a notebook prints the same interval every time it runs.

    Raises ``ValueError`` for an unknown metric or when no seed has both networks.
    """
    check_metric(metric, METRICS)
    baseline_round = round_ if baseline_round is None else baseline_round
    records = records_of(source)
    ours, theirs = _find(records, strategy, round_), _find(records, baseline, baseline_round)
    seeds = sorted(set(ours) & set(theirs))
    if not seeds:
        raise ValueError(f"no seed has both {strategy!r} at round {round_} and {baseline!r} at round {baseline_round}")
    differences = np.array([float(ours[s][metric]) - float(theirs[s][metric]) for s in seeds])
    if metric == "test_acc_at_early_stop":
        _, low, high = accuracy_interval([_correct(ours[s]) for s in seeds], [_correct(theirs[s]) for s in seeds],
                                         rng_seed)
    else:
        _, low, high = mean_interval(differences, rng_seed)
    late = sum(bool(r.get("late_minimum")) for s in seeds for r in (ours[s], theirs[s]))
    return PairedEstimate(strategy=strategy, baseline=baseline, round=round_, baseline_round=baseline_round,
                          density=float(ours[seeds[0]]["density"]), metric=metric, mean=float(differences.mean()),
                          low=float(low), high=float(high), seeds=len(seeds),
                          positive=int((differences > 0).sum()), negative=int((differences < 0).sum()), late=late)


def paired_estimates(source: Source, strategy: str, baseline: str, rounds: Iterable[int],
                     metric: str = "test_acc_at_early_stop", against_dense: bool = False) -> list[PairedEstimate]:
    """:func:`paired_estimate` at each round; ``against_dense`` compares with the dense network
    (``baseline`` at round 0) instead of ``baseline`` at the same round. Rounds without a pair are skipped."""
    out = []
    for round_ in rounds:
        try:
            out.append(paired_estimate(source, strategy, baseline, round_, metric, 0 if against_dense else None))
        except ValueError:
            continue
    return out


def _correct(record: Mapping) -> np.ndarray:
    packed = record.get("test_correct")
    if not packed:
        raise ValueError(f"record {record.get('strategy')!r} seed {record.get('seed')} round {record.get('round')} "
                         "has no per-digit test results ('test_correct'); re-run it with this version")
    return unpack_bits(packed)
