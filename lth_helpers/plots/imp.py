"""The paper's IMP figures: the early-stopping iteration and accuracy vs. % of weights remaining.

Like the paper (Figures 1, 3 and 4), a line is the mean over seeds and the shaded band spans the
minimum and maximum seed: the paper's error bars. The numbers come from
:func:`lth_helpers.results.summarize_records`; these functions only draw them. A *source* is an
:class:`~lth_helpers.results.IMPResult` or a list of records. Learning curves are in
:mod:`.curves`.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..results import Source, records_of, summarize_records
from .style import (METRIC_LABELS, STRATEGY_COLORS, STRATEGY_LABELS, density_ticks, figure_and_axes, metric_scale,
                    percent_axis)

__all__ = ["plot_vs_density", "plot_imp_overview", "plot_one_shot_vs_iterative"]


def _short(metric: str) -> str:
    """A metric's axis label without its unit, capitalized: a panel title."""
    return METRIC_LABELS[metric].split(" (")[0].capitalize()


def plot_vs_density(source: Source, metric: str = "test_acc_at_early_stop", strategies: Sequence[str] = ("original",),
                    ax: Axes | None = None, title: str | None = None, include_dense: bool = True,
                    show_seeds: bool = False, linestyles: dict[str, str] | None = None) -> Figure:
    """``metric`` vs. % of weights remaining (log axis, decreasing), one line per strategy.

    The line is the mean over seeds and the band the min-max range; ``show_seeds`` adds each
    seed's value as a faint dot.
    """
    series = summarize_records(source, metric, strategies, include_dense)
    fig, ax = figure_and_axes(ax, (6.4, 4.2))
    k = metric_scale(metric)
    all_percents: list[float] = []
    for strategy, s in series.items():
        color = STRATEGY_COLORS.get(strategy, "black")
        ax.plot(s.percent, [k * v for v in s.mean], (linestyles or {}).get(strategy, "-"), marker="o", ms=3.5,
                color=color, label=STRATEGY_LABELS.get(strategy, strategy))
        ax.fill_between(s.percent, [k * v for v in s.low], [k * v for v in s.high], color=color, alpha=0.18,
                        linewidth=0)
        all_percents += s.percent
        if show_seeds:
            own = [r for r in records_of(source) if r["strategy"] == strategy]
            ax.scatter([100 * r["density"] for r in own], [k * r[metric] for r in own], s=8, color=color,
                       alpha=0.5, linewidths=0)
    percent_axis(ax, density_ticks(all_percents))
    ax.set_ylabel(METRIC_LABELS[metric])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    n_seeds = max(max(s.n) for s in series.values())
    ax.set_title(title or f"{_short(metric)} (mean of {n_seeds} seed(s), band: min-max)", fontsize=10)
    return fig


def plot_imp_overview(source: Source, strategies: Sequence[str] = ("original",),
                      metrics: Sequence[str] = ("early_stop_iteration", "test_acc_at_early_stop"),
                      title: str | None = None, show_seeds: bool = False) -> Figure:
    """Side-by-side panels of ``metrics`` vs. % of weights remaining (the paper's Figure 1 layout:
    early-stopping iteration on the left, test accuracy at that iteration on the right)."""
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.6 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        plot_vs_density(source, metric, strategies, ax=ax, title=_short(metric), show_seeds=show_seeds)
    if title:
        fig.suptitle(title)
    return fig


def plot_one_shot_vs_iterative(imp_source: Source, one_shot_source: Source,
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
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.6 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        plot_vs_density(iterative + one_shot, metric, ("original", "one_shot"), ax=ax, title=_short(metric),
                        linestyles={"one_shot": "--"})
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, ["iterative pruning (IMP)" if label == STRATEGY_LABELS["original"] else label
                            for label in labels], fontsize=8)
    if title:
        fig.suptitle(title)
    return fig
