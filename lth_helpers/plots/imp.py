"""The paper's IMP figures: metrics vs. % of weights remaining, learning curves, controls.

Two kinds of functions live here:

* pure aggregation (:func:`summarize_records`, :func:`mean_curve`, :func:`round_curve`,
  :func:`stats_at`, :func:`paired_differences`): records or histories in, plain numbers out.
  They are what the notebooks print and what the tests check.
* figures (``plot_*``): each draws on the ``Axes`` it is given (or a new one) and returns the
  ``Figure``. Like the paper (Figures 1, 3 and 4), a line is the mean over seeds and the shaded
  band spans the minimum and maximum seed: the paper's error bars.

A *source* of records is an :class:`~lth_helpers.imp.IMPResult` or a list of its record dicts
(several results may be concatenated: records repeated across results, such as the dense
network that one-shot and iterative pruning share, are counted once).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..imp import STRATEGIES, IMPResult
from ..training import History
from .style import PERCENT_TICKS, STRATEGY_COLORS, STRATEGY_LABELS, figure_and_axes, percent_axis

__all__ = [
    "METRICS",
    "CURVE_METRICS",
    "Series",
    "Curve",
    "records_of",
    "summarize_records",
    "stats_at",
    "paired_differences",
    "falloff_round",
    "summary_table",
    "mean_curve",
    "round_curve",
    "density_ticks",
    "plot_vs_density",
    "plot_imp_overview",
    "plot_learning_curves",
    "plot_strategy_curves",
    "plot_one_shot_vs_iterative",
]

#: Per-network numbers a record holds, with the axis label used for each.
METRICS: dict[str, str] = {
    "early_stop_iteration": "early-stopping iteration (min. validation loss)",
    "test_acc_at_early_stop": "test accuracy at early stopping (%)",
    "val_acc_at_early_stop": "validation accuracy at early stopping (%)",
    "final_test_acc": "test accuracy at end of training (%)",
}

#: Learning-curve entries of a :class:`~lth_helpers.training.History`, with their axis labels.
CURVE_METRICS: dict[str, str] = {
    "test_acc": "test accuracy (%)",
    "val_acc": "validation accuracy (%)",
    "val_loss": "validation loss",
    "test_loss": "test loss",
    "train_loss": "training loss",
}

_ALL_STRATEGIES = STRATEGIES + ("one_shot",)


def _is_accuracy(metric: str) -> bool:
    # Accuracies are stored as fractions and drawn as percentages, like the paper's axes.
    return "acc" in metric


def _check_metric(metric: str, choices: dict[str, str]) -> None:
    if metric not in choices:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(choices)}")


# ------------------------------------------------------------------------------ aggregation


@dataclass(frozen=True)
class Series:
    """One strategy's metric over the IMP rounds: mean, min and max over seeds.

    ``density`` is the fraction of weights remaining (0-1) at each round; ``n`` how many seeds
    each point averages.
    """

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


@dataclass(frozen=True)
class Curve:
    """A learning curve averaged over seeds: mean, min and max at each evaluation."""

    iterations: tuple[int, ...]
    mean: tuple[float, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n: int


def records_of(source: IMPResult | Iterable[dict]) -> list[dict]:
    """The records of an :class:`IMPResult` or a list of records, each network counted once.

    A network is identified by ``(strategy, seed, round)``; a later duplicate (the dense
    network shared by an IMP result and a one-shot result) is dropped.
    """
    records = source.records if isinstance(source, IMPResult) else list(source)
    seen: set[tuple[str, int, int]] = set()
    unique = []
    for record in records:
        key = (record["strategy"], record["seed"], record["round"])
        if key not in seen:
            seen.add(key)
            unique.append(record)
    return unique


def summarize_records(source: IMPResult | Iterable[dict], metric: str = "test_acc_at_early_stop",
                      strategies: Sequence[str] | None = None, include_dense: bool = True) -> dict[str, Series]:
    """Mean, min and max over seeds of ``metric`` per strategy and round.

    Args:
        source: an :class:`IMPResult` or records.
        metric: one of :data:`METRICS`.
        strategies: which strategies to summarize (default: every one present, in the usual order).
        include_dense: start every control's series at round 0 with the dense network (the
            ``original`` records of round 0), as the paper's curves all start at 100%.

    Returns:
        ``{strategy: Series}`` with rounds in increasing order.

    Raises:
        ValueError: unknown metric, or a requested strategy with no records.
    """
    _check_metric(metric, METRICS)
    records = records_of(source)
    present = [s for s in _ALL_STRATEGIES if any(r["strategy"] == s for r in records)]
    if strategies is None:
        strategies = present
    missing = [s for s in strategies if s not in present]
    if missing:
        raise ValueError(f"no records for strategy {missing[0]!r}; strategies present: {', '.join(present) or 'none'}")
    dense = [r for r in records if r["strategy"] == "original" and r["round"] == 0]
    out = {}
    for strategy in strategies:
        own = [r for r in records if r["strategy"] == strategy]
        if include_dense and strategy != "original" and not any(r["round"] == 0 for r in own):
            own = dense + own
        by_round: dict[int, list[dict]] = {}
        for record in own:
            by_round.setdefault(record["round"], []).append(record)
        rounds = tuple(sorted(by_round))
        values = [[float(r[metric]) for r in by_round[n]] for n in rounds]
        out[strategy] = Series(
            strategy=strategy, metric=metric, rounds=rounds,
            density=tuple(float(by_round[n][0]["density"]) for n in rounds),
            mean=tuple(sum(v) / len(v) for v in values),
            low=tuple(min(v) for v in values), high=tuple(max(v) for v in values),
            n=tuple(len(v) for v in values),
        )
    return out


def stats_at(source: IMPResult | Iterable[dict], strategy: str, round_: int,
             metric: str = "test_acc_at_early_stop") -> dict:
    """Mean, min and max over seeds of ``metric`` for one strategy at one round.

    Round 0 of a control is the dense network. Returns ``{"round", "density", "mean", "low",
    "high", "n"}``.
    """
    return summarize_records(source, metric, [strategy])[strategy].at(round_)


def paired_differences(source: IMPResult | Iterable[dict], round_: int, strategy: str = "original",
                       baseline: str = "reinit", metric: str = "test_acc_at_early_stop") -> list[dict]:
    """Seed-by-seed comparison of two strategies at one round.

    Each seed's control uses that seed's own ticket mask, so comparing within a seed is the
    fair pairing. Returns one dict per seed present in both: ``seed``, ``strategy`` (value),
    ``baseline`` (value) and ``difference`` (strategy minus baseline), sorted by seed.
    """
    _check_metric(metric, METRICS)
    records = records_of(source)

    def values(name: str) -> dict[int, float]:
        # Round 0 is the dense network for every strategy.
        wanted = "original" if round_ == 0 else name
        return {r["seed"]: float(r[metric]) for r in records if r["strategy"] == wanted and r["round"] == round_}

    ours, theirs = values(strategy), values(baseline)
    if not ours or not theirs:
        raise ValueError(f"round {round_} has no records for {strategy!r} and {baseline!r} to compare")
    return [{"seed": s, "strategy": ours[s], "baseline": theirs[s], "difference": ours[s] - theirs[s]}
            for s in sorted(set(ours) & set(theirs))]


def falloff_round(source: IMPResult | Iterable[dict], strategy: str,
                  metric: str = "test_acc_at_early_stop", margin: float = 0.0) -> int | None:
    """The round from which ``strategy``'s mean accuracy stays below the dense network's for good.

    "Falls off" in the sense of the paper's Figure 4: the first round ``r >= 1`` such that at
    ``r`` and every sparser round of the run the mean over seeds is below the dense network's
    mean minus ``margin`` (a fraction, e.g. ``0.002`` for 0.2 points). ``None`` if the sparsest
    round is not below it (the strategy never falls off within the run).
    """
    _check_metric(metric, METRICS)
    if not _is_accuracy(metric):
        raise ValueError(f"falloff_round needs an accuracy metric (higher is better), got {metric!r}")
    if not 0.0 <= margin < 1.0:
        raise ValueError(f"margin must be a fraction in [0, 1), got {margin!r}")
    series = summarize_records(source, metric, [strategy])[strategy]
    dense = series.at(0)["mean"] if 0 in series.rounds else stats_at(source, "original", 0, metric)["mean"]
    found = None
    for round_, mean in sorted(zip(series.rounds, series.mean), reverse=True):
        if round_ == 0 or mean >= dense - margin:
            break
        found = round_
    return found


def summary_table(source: IMPResult | Iterable[dict], strategies: Sequence[str] = ("original",),
                  rounds: Sequence[int] | None = None) -> str:
    """A plain-text table per strategy and round: % of weights remaining, early-stopping
    iteration and test accuracy there (mean, min-max over seeds), final test accuracy."""
    columns = ("early_stop_iteration", "test_acc_at_early_stop", "final_test_acc")
    tables = {m: summarize_records(source, m, strategies) for m in columns}
    header = (f"{'strategy':<14}{'round':>6}{'weights':>9}  {'early stop (min-max)':<22}"
              f"{'test acc @ES (min-max)':<26}{'final test acc':>14}{'seeds':>7}")
    lines = [header, "-" * len(header)]
    for strategy in strategies:
        es, acc, final = (tables[m][strategy] for m in columns)
        for i, round_ in enumerate(es.rounds):
            if rounds is not None and round_ not in rounds:
                continue
            lines.append(
                f"{strategy:<14}{round_:>6}{es.percent[i]:>8.1f}%  "
                f"{f'{es.mean[i]:,.0f} ({es.low[i]:,.0f}-{es.high[i]:,.0f})':<22}"
                f"{f'{100 * acc.mean[i]:.2f}% ({100 * acc.low[i]:.1f}-{100 * acc.high[i]:.1f})':<26}"
                f"{100 * final.mean[i]:>13.2f}%{es.n[i]:>7}")
    return "\n".join(lines)


def mean_curve(histories: Sequence[History], metric: str = "test_acc") -> Curve:
    """Mean, min and max of one learning-curve entry over several histories.

    All histories must share their evaluation iterations (same schedule).
    """
    _check_metric(metric, CURVE_METRICS)
    if not histories:
        raise ValueError("mean_curve needs at least one history")
    iterations = tuple(histories[0].iterations)
    for history in histories[1:]:
        if tuple(history.iterations) != iterations:
            raise ValueError("histories were evaluated at different iterations; cannot average them")
    rows = list(zip(iterations, *[getattr(h, metric) for h in histories]))
    # A schedule with sparse test evaluation leaves NaN where a curve was not evaluated:
    # keep the iterations at which every history has a value.
    rows = [row for row in rows if not any(math.isnan(v) for v in row[1:])]
    iterations = tuple(row[0] for row in rows)
    columns = [row[1:] for row in rows]
    return Curve(iterations=iterations,
                 mean=tuple(sum(c) / len(c) for c in columns),
                 low=tuple(min(c) for c in columns), high=tuple(max(c) for c in columns),
                 n=len(histories))


def round_curve(result: IMPResult, strategy: str, round_: int, metric: str = "test_acc",
                seeds: Sequence[int] | None = None) -> Curve:
    """The learning curve of ``strategy`` at ``round_``, averaged over ``seeds`` (default: all)."""
    seeds = result.config.seeds if seeds is None else seeds
    return mean_curve([result.history(strategy, s, round_) for s in seeds], metric)


def density_ticks(percents: Iterable[float]) -> list[float]:
    """Ticks for a "% of weights remaining" axis covering ``percents``.

    The paper's checkpoints that fall inside the data's range, plus its smallest value; when
    the range is too narrow for that (a quick run), the data's own densities.
    """
    values = sorted({round(p, 1) for p in percents}, reverse=True)
    if not values:
        return list(PERCENT_TICKS)
    low, high = values[-1], values[0]
    ticks = [t for t in PERCENT_TICKS if low <= t <= high]
    if low not in ticks and all(abs(math.log(low / t)) > 0.15 for t in ticks):
        ticks.append(low)
    return ticks if len(ticks) >= 3 else values


# ---------------------------------------------------------------------------------- figures



def _scale(metric: str) -> float:
    return 100.0 if _is_accuracy(metric) else 1.0


def plot_vs_density(source: IMPResult | Iterable[dict], metric: str = "test_acc_at_early_stop",
                    strategies: Sequence[str] = ("original",), ax: Axes | None = None,
                    title: str | None = None, include_dense: bool = True, show_seeds: bool = False,
                    linestyles: dict[str, str] | None = None) -> Figure:
    """``metric`` vs. % of weights remaining (log axis, decreasing), one line per strategy.

    The line is the mean over seeds and the band the min-max range; ``show_seeds`` adds each
    seed's value as a faint dot.
    """
    series = summarize_records(source, metric, strategies, include_dense)
    fig, ax = figure_and_axes(ax, (6.4, 4.2))
    k = _scale(metric)
    all_percents = []
    for strategy, s in series.items():
        color = STRATEGY_COLORS.get(strategy, "black")
        style = (linestyles or {}).get(strategy, "-")
        ax.plot(s.percent, [k * v for v in s.mean], style, marker="o", ms=3.5, color=color,
                label=STRATEGY_LABELS.get(strategy, strategy))
        ax.fill_between(s.percent, [k * v for v in s.low], [k * v for v in s.high], color=color, alpha=0.18,
                        linewidth=0)
        all_percents += s.percent
        if show_seeds:
            own = [r for r in records_of(source) if r["strategy"] == strategy]
            ax.scatter([100 * r["density"] for r in own], [k * r[metric] for r in own], s=8, color=color,
                       alpha=0.5, linewidths=0)
    percent_axis(ax, density_ticks(all_percents))
    ax.set_ylabel(METRICS[metric])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    n_seeds = max(max(s.n) for s in series.values())
    ax.set_title(title or f"{METRICS[metric].split(' (')[0].capitalize()} (mean of {n_seeds} seed(s), band: min-max)",
                 fontsize=10)
    return fig


def plot_imp_overview(source: IMPResult | Iterable[dict], strategies: Sequence[str] = ("original",),
                      metrics: Sequence[str] = ("early_stop_iteration", "test_acc_at_early_stop"),
                      title: str | None = None, show_seeds: bool = False) -> Figure:
    """Side-by-side panels of ``metrics`` vs. % of weights remaining (the paper's Figure 1 layout:
    early-stopping iteration on the left, test accuracy at that iteration on the right)."""
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.6 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        plot_vs_density(source, metric, strategies, ax=ax, title=METRICS[metric].split(" (")[0].capitalize(),
                        show_seeds=show_seeds)
    if title:
        fig.suptitle(title)
    return fig


def _curve_ylim(curves: Iterable[Curve], k: float, skip_fraction: float = 0.1) -> tuple[float, float]:
    """Y limits that show where curves differ: ignore the first ``skip_fraction`` of training,
    where every network is still climbing from chance (the paper's plots zoom the same way)."""
    lows, highs = [], []
    for c in curves:
        start = c.iterations[-1] * skip_fraction
        kept = [i for i, it in enumerate(c.iterations) if it >= start] or list(range(len(c.iterations)))
        lows.append(min(c.low[i] for i in kept))
        highs.append(max(c.high[i] for i in kept))
    low, high = k * min(lows), k * max(highs)
    pad = 0.08 * (high - low or 1.0)
    return low - pad, high + pad


def _draw_curve(ax: Axes, curve: Curve, k: float, color, label: str, linestyle: str = "-") -> None:
    ax.plot(curve.iterations, [k * v for v in curve.mean], linestyle, color=color, lw=1.6, label=label)
    if curve.n > 1:
        ax.fill_between(curve.iterations, [k * v for v in curve.low], [k * v for v in curve.high],
                        color=color, alpha=0.12, linewidth=0)


def plot_learning_curves(result: IMPResult, rounds: Sequence[int], strategy: str = "original",
                         metric: str = "test_acc", ax: Axes | None = None, title: str | None = None,
                         ylim: tuple[float, float] | None = None) -> Figure:
    """``metric`` vs. training iteration for one strategy at several rounds (the paper's Figure 3).

    One line per round, labelled by its % of weights remaining and coloured by round (viridis,
    dark = dense end, yellow = sparse end); the dense network is black.
    """
    _check_metric(metric, CURVE_METRICS)
    if not rounds:
        raise ValueError("rounds must name at least one IMP round")
    fig, ax = figure_and_axes(ax, (7.0, 4.4))
    k = _scale(metric)
    cmap = plt.get_cmap("viridis")
    curves = []
    for round_ in rounds:
        curve = round_curve(result, strategy, round_, metric)
        curves.append(curve)
        density = result.select(strategy="original", round_=round_)[0]["density"]
        # Colour by round (not by position in the list), so a density keeps its colour across panels.
        color = "black" if round_ == 0 else cmap(0.9 * (round_ - 1) / max(1, result.config.rounds - 1))
        _draw_curve(ax, curve, k, color, f"{100 * density:.1f}% (round {round_})")
    ax.set_ylim(*(ylim or _curve_ylim(curves, k)))
    ax.set_xlabel("training iteration")
    ax.set_ylabel(CURVE_METRICS[metric])
    ax.grid(True, alpha=0.3)
    ax.legend(title="weights remaining", fontsize=8, title_fontsize=8)
    ax.set_title(title or f"{STRATEGY_LABELS.get(strategy, strategy)}: {CURVE_METRICS[metric].split(' (')[0]} "
                 f"(mean of {curves[0].n} seed(s))", fontsize=10)
    return fig


def plot_strategy_curves(result: IMPResult, round_: int, strategies: Sequence[str] = ("original", "reinit", "random_mask"),
                         metric: str = "test_acc", ax: Axes | None = None, title: str | None = None,
                         include_dense: bool = True, ylim: tuple[float, float] | None = None) -> Figure:
    """Learning curves of several strategies at one round, the dense network dashed for reference."""
    _check_metric(metric, CURVE_METRICS)
    fig, ax = figure_and_axes(ax, (7.0, 4.4))
    k = _scale(metric)
    curves = []
    if include_dense and round_ != 0:
        dense = round_curve(result, "original", 0, metric)
        curves.append(dense)
        _draw_curve(ax, dense, k, "black", "dense network (100%)", "--")
    for strategy in strategies:
        curve = round_curve(result, strategy, round_, metric)
        curves.append(curve)
        _draw_curve(ax, curve, k, STRATEGY_COLORS.get(strategy, "gray"), STRATEGY_LABELS.get(strategy, strategy))
    density = result.select(strategy="original", round_=round_)[0]["density"]
    ax.set_ylim(*(ylim or _curve_ylim(curves, k)))
    ax.set_xlabel("training iteration")
    ax.set_ylabel(CURVE_METRICS[metric])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or f"{100 * density:.1f}% of weights remaining (round {round_}), "
                 f"mean of {curves[-1].n} seed(s)", fontsize=10)
    return fig


def plot_one_shot_vs_iterative(imp_source: IMPResult | Iterable[dict], one_shot_source: IMPResult | Iterable[dict],
                               metrics: Sequence[str] = ("early_stop_iteration", "test_acc_at_early_stop"),
                               title: str | None = None) -> Figure:
    """Iterative tickets vs. one-shot tickets at the same densities (the paper's Figure 4c).

    Only the rounds that the one-shot run covers are drawn for the iterative tickets, so the
    two lines compare like with like.
    """
    one_shot = [r for r in records_of(one_shot_source) if r["strategy"] == "one_shot"]
    if not one_shot:
        raise ValueError("one_shot_source holds no one-shot records (strategy 'one_shot')")
    rounds = {0} | {r["round"] for r in one_shot}
    iterative = [r for r in records_of(imp_source) if r["strategy"] == "original" and r["round"] in rounds]
    records = iterative + one_shot
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.6 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        plot_vs_density(records, metric, ("original", "one_shot"), ax=ax,
                        title=METRICS[metric].split(" (")[0].capitalize(), linestyles={"one_shot": "--"})
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, ["iterative pruning (IMP)" if l == STRATEGY_LABELS["original"] else l for l in labels],
                  fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
