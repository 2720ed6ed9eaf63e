"""The paper's IMP figures: the early-stopping iteration and accuracy vs. % of weights remaining.

Like the paper (Figures 1, 3 and 4), a line is the mean over seeds and error bars (or, over many
seeds, a light band) span the minimum and maximum seed: the paper's error bars. Every legend says
which, and over how many seeds. The numbers come from
:func:`lth_helpers.results.summarize_records`; these functions only draw them. A *source* is an
:class:`~lth_helpers.results.IMPResult` or a list of records. Learning curves are in
:mod:`.curves`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..results import Source, records_of, summarize_records
from .marks import dense_reference, figure_legend, mark_zero_spread
from .style import (BAND_ALPHA, ITERATIVE_LABEL, METRIC_LABELS, STRATEGY_COLORS, STRATEGY_LABELS, density_ticks,
                    figure_and_axes, metric_scale, percent_axis, spread_label)

__all__ = ["plot_vs_density", "plot_imp_overview", "plot_one_shot_vs_iterative", "spread_title"]


def _short(metric: str) -> str:
    """A metric's axis label without its unit, capitalized: a panel title."""
    return METRIC_LABELS[metric].split(" (")[0].capitalize()


#: Most seeds for which the spread is drawn as error bars (one bar per point, strategies offset
#: along x); with more seeds, as a light band.
MAX_SEEDS_FOR_BARS = 5
#: Factor between neighbouring strategies' x positions when their bars are offset (log axis).
X_OFFSET = 1.025


def _spread_kind(spread: str, n_seeds: int) -> str:
    if spread not in ("auto", "band", "bars"):
        raise ValueError(f"spread must be 'auto', 'band' or 'bars', got {spread!r}")
    if spread == "auto":
        return "bars" if n_seeds <= MAX_SEEDS_FOR_BARS else "band"
    return spread


def plot_vs_density(source: Source, metric: str = "test_acc_at_early_stop", strategies: Sequence[str] = ("original",),
                    ax: Axes | None = None, title: str | None = None, include_dense: bool = True,
                    show_seeds: bool = False, linestyles: dict[str, str] | None = None, spread: str = "auto",
                    dense_line: bool = False, labels: Mapping[str, str] | None = None, legend: bool = True) -> Figure:
    """``metric`` vs. % of weights remaining (log axis, decreasing), one line per strategy.

    The line is the mean over seeds and the spread the min-max range over seeds. ``spread`` is
    ``"bars"`` (error bars; with several strategies each is nudged a little along x so that the
    bars stay apart), ``"band"`` (a light band) or ``"auto"``: bars up to
    :data:`MAX_SEEDS_FOR_BARS` seeds, a band beyond. The legend's title says which and over how
    many seeds. ``show_seeds`` adds each seed's value as a faint dot; ``dense_line`` draws the
    dense network's (round 0) mean as a dashed horizontal line; ``labels`` overrides strategies'
    legend labels; ``legend=False`` leaves the legend to the caller (see :func:`spread_title`).
    """
    series = summarize_records(source, metric, strategies, include_dense)
    own_figure = ax is None
    fig, ax = figure_and_axes(ax, (6.4, 4.6))
    k = metric_scale(metric)
    n_seeds = max(max(s.n) for s in series.values())
    kind = _spread_kind(spread, n_seeds)
    all_percents: list[float] = []
    for j, (strategy, s) in enumerate(series.items()):
        color = STRATEGY_COLORS.get(strategy, "black")
        # Offsets only separate error bars; a band or a single strategy stays at its true density.
        shift = X_OFFSET ** (j - (len(series) - 1) / 2) if kind == "bars" else 1.0
        x = [shift * p for p in s.percent]
        mean, low, high = ([k * v for v in values] for values in (s.mean, s.low, s.high))
        ax.plot(x, mean, (linestyles or {}).get(strategy, "-"), marker="o", ms=3.5, color=color,
                label=(labels or {}).get(strategy, STRATEGY_LABELS.get(strategy, strategy)))
        if kind == "bars":
            below = [max(m - lo, 0.0) for m, lo in zip(mean, low)]  # a mean's rounding is no negative length
            above = [max(hi - m, 0.0) for m, hi in zip(mean, high)]
            ax.errorbar(x, mean, yerr=[below, above], fmt="none", ecolor=color, elinewidth=1.1, capsize=2.5, alpha=0.8)
            mark_zero_spread(ax, x, mean, low, high, s.n)
        else:
            ax.fill_between(x, low, high, color=color, alpha=BAND_ALPHA, linewidth=0)
        all_percents += s.percent
        if show_seeds:
            own = [r for r in records_of(source) if r["strategy"] == strategy]
            ax.scatter([shift * 100 * r["density"] for r in own], [k * r[metric] for r in own], s=8, color=color,
                       alpha=0.5, linewidths=0)
    if dense_line:
        dense = next((s for s in series.values() if s.rounds and s.rounds[0] == 0), None)
        if dense is None:  # the series start after round 0: the dense network is the ticket's round 0
            dense = summarize_records(source, metric, ("original",), True)["original"]
        if dense.rounds[0] == 0:
            dense_reference(ax, k * dense.mean[0])
    percent_axis(ax, density_ticks(all_percents))
    ax.set_ylabel(METRIC_LABELS[metric])
    ax.grid(True, alpha=0.3)
    if legend and own_figure:  # below the panel, where it covers no data
        figure_legend(fig, [ax], ncol=2, title=_title_text(n_seeds, kind, show_seeds))
    elif legend:  # on an axes of the caller's figure
        ax.legend(fontsize=8, title=_title_text(n_seeds, kind, show_seeds), title_fontsize=8)
    ax.set_title(title or f"{_short(metric)}: mean of {n_seeds} seed(s)", fontsize=10)  # the legend says the spread
    return fig


def spread_title(source: Source, metric: str = "test_acc_at_early_stop", strategies: Sequence[str] = ("original",),
                 spread: str = "auto", show_seeds: bool = False, include_dense: bool = True) -> str:
    """The legend title of :func:`plot_vs_density` for these arguments: ``"line: mean; bars:
    min-max over 3 seeds"`` (and what the dots are, when drawn)."""
    series = summarize_records(source, metric, strategies, include_dense)
    n_seeds = max(max(s.n) for s in series.values())
    return _title_text(n_seeds, _spread_kind(spread, n_seeds), show_seeds)


def _title_text(n_seeds: int, kind: str, show_seeds: bool) -> str:
    text = f"line: mean; {spread_label(n_seeds, kind)}"
    return text + ("; dots: single seeds" if show_seeds and n_seeds > 1 else "")


def plot_imp_overview(source: Source, strategies: Sequence[str] = ("original",),
                      metrics: Sequence[str] = ("early_stop_iteration", "test_acc_at_early_stop"),
                      title: str | None = None, show_seeds: bool = False, spread: str = "auto",
                      dense_line: bool | None = None) -> Figure:
    """Side-by-side panels of ``metrics`` vs. % of weights remaining (the paper's Figure 1 layout:
    early-stopping iteration on the left, test accuracy at that iteration on the right).

    ``dense_line`` draws the dense network's (round 0) mean as a dashed reference line; by
    default on the accuracy panels. ``spread`` as in :func:`plot_vs_density`.
    """
    if not metrics:
        raise ValueError("metrics must name at least one metric")
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.6 * len(metrics), 4.2), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        reference = ("acc" in metric) if dense_line is None else dense_line
        plot_vs_density(source, metric, strategies, ax=ax, title=_short(metric), show_seeds=show_seeds,
                        spread=spread, dense_line=reference, legend=False)
    # One legend below the panels (they share their lines), saying what the spread is.
    figure_legend(fig, list(axes[0]), ncol=3,
                  title=spread_title(source, metrics[0], strategies, spread, show_seeds))
    if title:
        fig.suptitle(title)
    return fig


def plot_one_shot_vs_iterative(imp_source: Source, one_shot_source: Source,
                               metrics: Sequence[str] = ("early_stop_iteration", "test_acc_at_early_stop"),
                               title: str | None = None, spread: str = "auto") -> Figure:
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
                        linestyles={"one_shot": "--"}, spread=spread, labels={"original": ITERATIVE_LABEL},
                        legend=False)
    figure_legend(fig, list(axes[0]), ncol=3,
                  title=spread_title(iterative + one_shot, metrics[0], ("original", "one_shot"), spread))
    if title:
        fig.suptitle(title)
    return fig
