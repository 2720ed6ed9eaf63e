"""The results of an IMP run: the record type, :class:`IMPResult`, and summaries over seeds.

One trained network gives one :class:`Record` (its strategy, seed, round, density and the
numbers the paper reads off its learning curves) and one
:class:`~lth_helpers.history.History`. An :class:`IMPResult` holds them all, and reads masks
and weights back from the store on demand.

Every summary of records is written here, once: :func:`summarize_records` (mean, min and max
over seeds per strategy and round: the paper's error bars), :func:`stats_at` for one point of
it, and :func:`mean_curve` / :func:`round_curve` for learning curves averaged over seeds.
Seed-by-seed comparisons between strategies are in :mod:`lth_helpers.comparisons`, text tables
in :mod:`lth_helpers.tables`.

A *source* of records is an :class:`IMPResult` or any list of records; several results may be
concatenated (a network repeated across them, such as the dense network that one-shot and
iterative pruning share, is counted once).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Protocol, Sequence, TypedDict, Union

import torch

from .history import History
from .models import LAYER_NAMES
from .pruning import PAPER_RATES, expected_density
from .store import ResultStore, atomic_write_text
from .strategies import KNOWN, ONE_SHOT, STRATEGIES, member_start

__all__ = [
    "Record", "RunConfig", "IMPResult", "Source", "METRICS", "CURVE_METRICS", "ALL_STRATEGIES", "strategies_present",
    "check_metric", "records_of", "Series", "summarize_records", "summary_rows", "stats_at", "closest_round",
    "Curve", "mean_curve", "round_curve",
]


class Record(TypedDict, total=False):
    """What is known about one trained network (accuracies are fractions in 0-1)."""

    strategy: str                    # one of STRATEGIES, or "one_shot"
    seed: int
    round: int                       # IMP round; 0 is the dense network
    density: float                   # fraction of all weights kept
    layer_density: dict[str, float]
    early_stop_iteration: int        # iteration of minimum validation loss
    test_acc_at_early_stop: float
    val_acc_at_early_stop: float
    final_test_acc: float
    iterations: int                  # training iterations of this network
    size: str                        # quick, standard or paper
    data_source: str                 # which data set (never switched silently)
    data: str                        # the data set, described in words


class RunConfig(Protocol):
    """The parts of an experiment's configuration that results need (an ``IMPConfig`` has them)."""

    seeds: tuple[int, ...]
    rounds: int
    strategies: tuple[str, ...]


#: Per-network numbers a record holds (accuracies as fractions).
METRICS: tuple[str, ...] = ("early_stop_iteration", "test_acc_at_early_stop", "val_acc_at_early_stop",
                            "final_test_acc")
#: Learning-curve entries of a History.
CURVE_METRICS: tuple[str, ...] = ("test_acc", "val_acc", "val_loss", "test_loss", "train_loss")
#: Every strategy a record may carry, in the order tables and legends list them.
ALL_STRATEGIES: tuple[str, ...] = STRATEGIES + (ONE_SHOT,) + KNOWN[len(STRATEGIES):]


def check_metric(metric: str, choices: Sequence[str] = METRICS) -> None:
    """Raise ``ValueError`` naming the choices unless ``metric`` is one of them."""
    if metric not in choices:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(choices)}")


@dataclass
class IMPResult:
    """Everything an IMP run produced: one :class:`Record` and one History per trained network.

    Tensors (masks, weights) stay in ``store`` and are read on demand.
    """

    config: RunConfig
    data_source: str
    store: ResultStore
    records: list[Record] = field(default_factory=list)
    histories: dict[tuple[str, int, int], History] = field(default_factory=dict)
    computed: int = 0
    reused: int = 0

    def history(self, strategy: str, seed: int, round_: int) -> History:
        """Learning curves of one network (round 0 of any strategy is the dense network)."""
        if round_ == 0 and strategy != ONE_SHOT:
            strategy = "original"
        try:
            return self.histories[(strategy, seed, round_)]
        except KeyError:
            raise KeyError(f"no run for strategy={strategy!r}, seed={seed}, round={round_}") from None

    def rounds_of(self, strategy: str) -> list[int]:
        """The rounds ``strategy`` was trained at (round 0, the dense network, for every strategy but
        one-shot; some strategies are trained at the checkpoint rounds only, see ``IMPConfig.trains``)."""
        rounds = {r["round"] for r in self.records if r["strategy"] == strategy}
        if strategy != ONE_SHOT and self.select(strategy="original", round_=0):
            rounds.add(0)
        return sorted(rounds)

    def select(self, strategy: str | None = None, seed: int | None = None, round_: int | None = None) -> list[Record]:
        """Records matching the given fields."""
        return [r for r in self.records
                if (strategy is None or r["strategy"] == strategy) and (seed is None or r["seed"] == seed)
                and (round_ is None or r["round"] == round_)]

    def masks(self, seed: int, round_: int, strategy: str = "original") -> dict[str, torch.Tensor]:
        """The mask a network trained with (bool per layer)."""
        return self.store.tensors(seed, round_, strategy)["mask"]

    def theta0(self, seed: int) -> dict[str, torch.Tensor]:
        """The dense initialization theta_0 of this seed."""
        return self.store.tensors(seed, 0, "original")["init"]

    def final_weights(self, seed: int, round_: int, strategy: str = "original") -> dict[str, torch.Tensor]:
        """Trained weights of one network at ``round_`` (round 0: the dense network), pruned ones zero."""
        return self.store.tensors(seed, round_, "original" if round_ == 0 else strategy)["final"]

    def initial_weights(self, seed: int, round_: int, strategy: str = "original") -> dict[str, torch.Tensor]:
        """The weights a network started from, pruned ones zero (regenerated exactly for the controls)."""
        # One-shot masks (any criterion) are their own; every other strategy starts from the ticket's.
        own = strategy == ONE_SHOT or strategy.startswith("mask_")
        weights, masks = member_start(strategy, seed, round_, self.masks(seed, round_, strategy if own else "original"),
                                      self.theta0(seed))
        return {name: weights[name] * masks[name].float() for name in LAYER_NAMES}

    def summary(self) -> list[dict]:
        """:func:`summary_rows` of this run's records."""
        return summary_rows(self)

    def format_table(self) -> str:
        """The summary as a plain-text table (what the command line prints)."""
        from .tables import summary_table  # tables builds on this module

        return summary_table(self, strategies_present(self.records), include_dense=False)

    def to_json(self, path: str | Path) -> Path:
        """Write the records (and the configuration, as ``config.json`` beside them); return the path."""
        path = Path(path)
        atomic_write_text(path, json.dumps(self.records, indent=1))
        atomic_write_text(path.with_name("config.json"), json.dumps(asdict(self.config), indent=1))
        return path


Source = Union[IMPResult, Iterable[Mapping]]


def records_of(source: Source) -> list[Record]:
    """The records of a source, each network ``(strategy, seed, round)`` counted once (first kept)."""
    records = source.records if hasattr(source, "records") else list(source)  # an IMPResult, or records
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for record in records:
        key = (record["strategy"], record["seed"], record["round"])
        if key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


# ------------------------------------------------------------------------ over seeds


@dataclass(frozen=True)
class Series:
    """One strategy's metric over the rounds: mean, min and max over seeds, and ``n`` seeds per point."""

    strategy: str
    metric: str
    rounds: tuple[int, ...]
    density: tuple[float, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n: tuple[int, ...]

    @property
    def percent(self) -> tuple[float, ...]:
        """Percent of weights remaining at each round."""
        return tuple(100.0 * d for d in self.density)

    def at(self, round_: int) -> dict:
        """``{"round", "density", "mean", "low", "high", "n"}`` at one round."""
        if round_ not in self.rounds:
            raise ValueError(f"round {round_} has no {self.strategy!r} records; rounds present: {list(self.rounds)}")
        i = self.rounds.index(round_)
        return {"round": round_, "density": self.density[i], "mean": self.mean[i],
                "low": self.low[i], "high": self.high[i], "n": self.n[i]}


def strategies_present(records: Sequence[Mapping]) -> list[str]:
    """The strategies that ``records`` hold: the known ones in display order, then any other
    (``noisy_<s>``, the mask criteria) in the order they first appear."""
    names = list(dict.fromkeys(r["strategy"] for r in records))
    return [s for s in ALL_STRATEGIES if s in names] + [s for s in names if s not in ALL_STRATEGIES]


def summarize_records(source: Source, metric: str = "test_acc_at_early_stop", strategies: Sequence[str] | None = None,
                      include_dense: bool = True) -> dict[str, Series]:
    """Mean, min and max over seeds of ``metric`` per strategy and round: ``{strategy: Series}``.

    ``strategies`` defaults to every one present. With ``include_dense`` every control's series
    starts at round 0 with the dense network, as the paper's curves all start at 100%.
    Raises ``ValueError`` for an unknown metric or a requested strategy with no records.
    """
    check_metric(metric, METRICS)
    records = records_of(source)
    present = strategies_present(records)
    missing = [s for s in (strategies or ()) if s not in present]
    if missing:
        raise ValueError(f"no records for strategy {missing[0]!r}; strategies present: {', '.join(present) or 'none'}")
    dense = [r for r in records if r["strategy"] == "original" and r["round"] == 0]
    out = {}
    for strategy in (present if strategies is None else strategies):
        own = [r for r in records if r["strategy"] == strategy]
        if include_dense and not any(r["round"] == 0 for r in own):
            own = dense + own
        by_round: dict[int, list[Mapping]] = {}
        for record in own:
            by_round.setdefault(record["round"], []).append(record)
        rounds = tuple(sorted(by_round))
        values = [[float(r[metric]) for r in by_round[n]] for n in rounds]
        out[strategy] = Series(strategy, metric, rounds, tuple(float(by_round[n][0]["density"]) for n in rounds),
                               mean=tuple(sum(v) / len(v) for v in values), low=tuple(min(v) for v in values),
                               high=tuple(max(v) for v in values), n=tuple(len(v) for v in values))
    return out


def summary_rows(source: Source) -> list[dict]:
    """One row per (strategy, round): ``density``, ``n`` seeds, and per metric the mean with
    ``_min`` and ``_max`` over seeds, for the early-stopping iteration and the two test accuracies."""
    keys = ("early_stop_iteration", "test_acc_at_early_stop", "final_test_acc")
    series = {key: summarize_records(source, key, include_dense=False) for key in keys}
    rows = []
    for strategy, first in series[keys[0]].items():
        for i, round_ in enumerate(first.rounds):
            row = {"strategy": strategy, "round": round_, "density": first.density[i], "n": first.n[i]}
            for key in keys:
                s = series[key][strategy]
                row[key], row[key + "_min"], row[key + "_max"] = s.mean[i], s.low[i], s.high[i]
            rows.append(row)
    return rows


def stats_at(source: Source, strategy: str, round_: int, metric: str = "test_acc_at_early_stop") -> dict:
    """:meth:`Series.at` for one strategy at one round (round 0 of a control: the dense network)."""
    return summarize_records(source, metric, [strategy])[strategy].at(round_)


def closest_round(target: float, rounds: Iterable[int], rates: Mapping[str, float] = PAPER_RATES,
                  minimum: int = 1) -> int:
    """Among ``rounds`` (at least ``minimum`` where possible), the one whose density is nearest ``target``.

    Densities are those IMP reaches at ``rates``. A short run simply gets its sparsest round, so
    a notebook can ask for "the round nearest 3.6%" at every size.
    """
    if not isinstance(target, (int, float)) or not (0.0 < float(target) <= 1.0):
        raise ValueError(f"target density must be a fraction in (0, 1], got {target!r}")
    available = sorted(set(int(r) for r in rounds))
    if not available:
        raise ValueError("rounds must name at least one available round, got none")
    eligible = [r for r in available if r >= minimum] or available
    return min(eligible, key=lambda r: (abs(expected_density(r, rates) - target), r))


# ----------------------------------------------------------------------------- curves


@dataclass(frozen=True)
class Curve:
    """A learning curve averaged over ``n`` seeds: mean, min and max at each evaluation."""

    iterations: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n: int


def mean_curve(histories: Sequence[History], metric: str = "test_acc") -> Curve:
    """Mean, min and max of one learning-curve entry over histories evaluated at the same iterations.

    Where a sparse test schedule left NaN in some curve, that iteration is dropped.
    """
    check_metric(metric, CURVE_METRICS)
    if not histories:
        raise ValueError("mean_curve needs at least one history")
    iterations = tuple(histories[0].iterations)
    if any(tuple(h.iterations) != iterations for h in histories[1:]):
        raise ValueError("histories were evaluated at different iterations; cannot average them")
    rows = [row for row in zip(iterations, *[getattr(h, metric) for h in histories])
            if not any(math.isnan(v) for v in row[1:])]
    columns = [row[1:] for row in rows]
    return Curve(iterations=tuple(row[0] for row in rows), mean=tuple(sum(c) / len(c) for c in columns),
                 low=tuple(min(c) for c in columns), high=tuple(max(c) for c in columns), n=len(histories))


def round_curve(result: IMPResult, strategy: str, round_: int, metric: str = "test_acc",
                seeds: Sequence[int] | None = None) -> Curve:
    """The learning curve of ``strategy`` at ``round_``, averaged over ``seeds`` (default: all)."""
    seeds = result.config.seeds if seeds is None else seeds
    return mean_curve([result.history(strategy, s, round_) for s in seeds], metric)
