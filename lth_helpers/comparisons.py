"""Comparing strategies: each seed against its own controls, and one round at a glance.

Within a seed, the ticket and its controls share theta_0, the mask (or its per-layer size)
and the minibatches, so the fair comparison pairs them seed by seed:
:func:`paired_differences` gives one row per (round, seed), :func:`paired_summary` reduces them
per round and :func:`paired_tally` counts wins, ties and losses. :func:`compare_at_rounds`
puts several strategies side by side at chosen rounds, :func:`falloff_round` finds where a
strategy drops below the dense network for good (the paper's Figure 4), and
:func:`round_view` gathers what the round scrubber shows for one round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

from .results import (CURVE_METRICS, METRICS, Curve, IMPResult, Source, check_metric, records_of, round_curve,
                      stats_at, summarize_records)

__all__ = ["paired_differences", "paired_summary", "paired_tally", "compare_at_rounds", "falloff_round",
           "RoundView", "round_view"]


def paired_differences(source: Source, strategy: str = "original", baseline: str = "reinit",
                       metric: str = "test_acc_at_early_stop", rounds: Iterable[int] | None = None) -> list[dict]:
    """``strategy`` minus ``baseline``, seed by seed, at each round.

    Each seed's control was trained on that seed's own ticket mask and minibatches, so within a
    seed is the fair pairing. Rows ``round, seed, density, value, baseline_value, difference``,
    sorted by round and seed. ``rounds=None`` takes every sparse round where both exist; round 0
    (the dense network for every strategy, difference zero) only when asked for.
    Raises ``ValueError`` when no pair exists.
    """
    check_metric(metric, METRICS)
    by_key = {(r["strategy"], r["seed"], r["round"]): r for r in records_of(source)}
    wanted = None if rounds is None else {int(n) for n in rounds}

    def find(name: str, seed: int, round_: int) -> Mapping | None:
        return by_key.get(("original" if round_ == 0 else name, seed, round_))

    keys = sorted({(n, seed) for (_, seed, n) in by_key if (n > 0 if wanted is None else n in wanted)})
    rows = []
    for round_, seed in keys:
        ours, theirs = find(strategy, seed, round_), find(baseline, seed, round_)
        if ours is not None and theirs is not None:
            value, base = float(ours[metric]), float(theirs[metric])
            rows.append({"round": round_, "seed": seed, "density": float(ours["density"]), "value": value,
                         "baseline_value": base, "difference": value - base})
    if not rows:
        where = "any round" if wanted is None else f"round(s) {sorted(wanted)}"
        raise ValueError(f"no seed has both {strategy!r} and {baseline!r} at {where}")
    return rows


def paired_summary(pairs: Iterable[Mapping]) -> list[dict]:
    """Per round: ``round, density, mean, min, max`` of the differences and ``n`` pairs."""
    by_round: dict[int, list[Mapping]] = {}
    for pair in pairs:
        by_round.setdefault(pair["round"], []).append(pair)
    rows = []
    for round_, group in sorted(by_round.items()):
        diffs = [p["difference"] for p in group]
        rows.append({"round": round_, "density": group[0]["density"], "mean": sum(diffs) / len(diffs),
                     "min": min(diffs), "max": max(diffs), "n": len(diffs)})
    return rows


def paired_tally(pairs: Sequence[Mapping]) -> dict[str, float]:
    """How often the strategy beats its baseline over ``pairs``: ``n, wins, ties, losses, mean``.

    On a small test set accuracy moves in steps of one digit, so ties are common and counted.
    """
    diffs = [p["difference"] for p in pairs]
    if not diffs:
        raise ValueError("no pairs to tally")
    return {"n": len(diffs), "wins": sum(d > 0 for d in diffs), "ties": sum(d == 0 for d in diffs),
            "losses": sum(d < 0 for d in diffs), "mean": sum(diffs) / len(diffs)}


def compare_at_rounds(source: Source, rounds: Iterable[int],
                      strategies: Sequence[str] = ("original", "reinit", "fan_corrected"),
                      baseline: str = "reinit", metric: str = "test_acc_at_early_stop") -> list[dict]:
    """Several strategies side by side at chosen rounds, averaged over seeds.

    One row per round with ``round``, ``density`` and per strategy ``<s>_acc`` (mean ``metric``)
    and ``<s>_es`` (mean early-stopping iteration); per strategy other than ``baseline``,
    ``<s>_minus_<baseline>`` (mean paired difference in ``metric``) with ``_min``/``_max`` over
    seeds. Rounds without records are skipped.
    """
    wanted = sorted({int(r) for r in rounds})
    records = records_of(source)
    present = [s for s in strategies if any(r["strategy"] == s for r in records)]
    accuracy = summarize_records(records, metric, present, include_dense=False)
    stops = summarize_records(records, "early_stop_iteration", present, include_dense=False)
    differences = {}
    for strategy in present:
        if strategy != baseline:
            try:
                pairs = paired_differences(records, strategy, baseline, metric, wanted)
            except ValueError:  # this strategy has no pair with the baseline at these rounds
                continue
            differences[strategy] = {row["round"]: row for row in paired_summary(pairs)}
    rows = []
    for round_ in wanted:
        row: dict = {"round": round_}
        for strategy in present:
            if round_ in accuracy[strategy].rounds:
                point = accuracy[strategy].at(round_)
                row["density"] = point["density"]
                row[f"{strategy}_acc"] = point["mean"]
                row[f"{strategy}_es"] = stops[strategy].at(round_)["mean"]
        if "density" not in row:
            continue
        for strategy, by_round in differences.items():
            if round_ in by_round:
                name, diff = f"{strategy}_minus_{baseline}", by_round[round_]
                row[name], row[name + "_min"], row[name + "_max"] = diff["mean"], diff["min"], diff["max"]
        rows.append(row)
    return rows


def falloff_round(source: Source, strategy: str, metric: str = "test_acc_at_early_stop",
                  margin: float = 0.0) -> int | None:
    """The round from which ``strategy``'s mean accuracy stays below the dense network's for good.

    "Falls off" as in the paper's Figure 4: the first round ``r >= 1`` such that at ``r`` and every
    sparser round of the run the mean over seeds is below the dense mean minus ``margin`` (a
    fraction: ``0.002`` is 0.2 points). ``None`` if the sparsest round is not below it.
    """
    check_metric(metric, METRICS)
    if "acc" not in metric:
        raise ValueError(f"falloff_round needs an accuracy metric (higher is better), got {metric!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be a fraction in [0, 1), got {margin!r}")
    series = summarize_records(source, metric, [strategy])[strategy]
    dense = series.at(0)["mean"]
    found = None
    for round_, mean in sorted(zip(series.rounds, series.mean), reverse=True):
        if round_ == 0 or mean >= dense - margin:
            break
        found = round_
    return found


@dataclass(frozen=True)
class RoundView:
    """What one IMP round shows next to the dense network.

    Attributes:
        round: the IMP round (0 = the dense network).
        density: fraction of weights remaining (0-1).
        metric: the learning-curve entry of ``curves`` (e.g. ``"test_acc"``).
        stats: per strategy, ``{"early_stop": {mean, low, high, n}, "accuracy": {...}}`` over
            seeds (accuracy = test accuracy at the early-stopping iteration, 0-1).
        curves: per strategy, the learning curve averaged over seeds.
        dense_stats, dense_curve: the same for the dense network (round 0).
    """

    round: int
    density: float
    metric: str
    stats: dict[str, dict[str, dict[str, float]]]
    curves: dict[str, Curve]
    dense_stats: dict[str, dict[str, float]]
    dense_curve: Curve

    @property
    def text(self) -> str:
        """The one-line summary (:func:`lth_helpers.tables.round_text`)."""
        from .tables import round_text  # tables renders; it is not needed to compute a view

        return round_text(self)


def _round_stats(result: IMPResult, strategy: str, round_: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, metric in (("early_stop", "early_stop_iteration"), ("accuracy", "test_acc_at_early_stop")):
        s = stats_at(result, strategy, round_, metric)
        out[name] = {"mean": s["mean"], "low": s["low"], "high": s["high"], "n": s["n"]}
    return out


def round_view(result: IMPResult, round_: int, strategies: Sequence[str] = ("original",),
               metric: str = "val_acc") -> RoundView:
    """Everything the round scrubber shows for one round.

    Raises ``ValueError`` for a round outside ``0..result.config.rounds``, a strategy the run does
    not hold, or an unknown learning-curve metric.
    """
    last = result.config.rounds
    if isinstance(round_, bool) or not isinstance(round_, int) or not 0 <= round_ <= last:
        raise ValueError(f"round must be an integer in 0..{last} (the rounds this run has), got {round_!r}")
    check_metric(metric, CURVE_METRICS)
    unknown = [s for s in strategies if s not in result.config.strategies]
    if unknown or not strategies:
        raise ValueError(f"unknown strategy {unknown[0] if unknown else None!r}: this run has "
                         f"{', '.join(result.config.strategies)}")
    return RoundView(
        round=round_, density=result.select(strategy="original", round_=round_)[0]["density"], metric=metric,
        stats={s: _round_stats(result, s, round_) for s in strategies},
        curves={s: round_curve(result, s, round_, metric) for s in strategies},
        dense_stats=_round_stats(result, "original", 0), dense_curve=round_curve(result, "original", 0, metric))
