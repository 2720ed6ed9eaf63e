"""Learning curves: accuracy or loss vs. training iteration (the paper's Figure 3).

Curves are averaged over seeds by :func:`lth_helpers.results.round_curve`; here they are drawn,
the mean as a line and the min-max over seeds as a light band (each legend says so, and over how
many seeds). :func:`draw_curve` and
:func:`curve_ylim` are the two building blocks every curve figure (and the round scrubber)
shares.
"""

from __future__ import annotations

from typing import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..comparisons import RoundView
from ..results import CURVE_METRICS, Curve, IMPResult, check_metric, round_curve
from .style import (BAND_ALPHA, CURVE_LABELS, STRATEGY_COLORS, STRATEGY_LABELS, figure_and_axes, metric_scale,
                    spread_label)

__all__ = ["draw_curve", "curve_ylim", "shared_ylim", "plot_learning_curves", "plot_strategy_curves", "plot_round"]


def draw_curve(ax: Axes, curve: Curve, scale: float, color, label: str, linestyle: str = "-") -> None:
    """One averaged curve: its mean as a line and, over several seeds, its min-max as a band."""
    ax.plot(curve.iterations, [scale * v for v in curve.mean], linestyle, color=color, lw=1.6, label=label)
    if curve.n > 1:
        ax.fill_between(curve.iterations, [scale * v for v in curve.low], [scale * v for v in curve.high],
                        color=color, alpha=BAND_ALPHA, linewidth=0)


def curve_ylim(curves: Iterable[Curve], scale: float, skip_fraction: float = 0.1) -> tuple[float, float]:
    """Y limits that show where curves differ: the first ``skip_fraction`` of training, where every
    network is still climbing from chance, is left out (the paper's plots zoom the same way)."""
    lows, highs = [], []
    for c in curves:
        start = c.iterations[-1] * skip_fraction
        kept = [i for i, it in enumerate(c.iterations) if it >= start] or list(range(len(c.iterations)))
        lows.append(min(c.low[i] for i in kept))
        highs.append(max(c.high[i] for i in kept))
    low, high = scale * min(lows), scale * max(highs)
    pad = 0.08 * (high - low or 1.0)
    return low - pad, high + pad


def shared_ylim(result: IMPResult, strategies: Sequence[str] = ("original",),
                metric: str = "val_acc") -> tuple[float, float]:
    """One y range that fits every round of ``result`` (each strategy's own), so that rounds can be
    compared panel to panel or while scrubbing."""
    curves = [round_curve(result, s, n, metric) for s in strategies for n in result.rounds_of(s)]
    return curve_ylim(curves, metric_scale(metric))


def _finish(ax: Axes, metric: str, ylim: tuple[float, float], heading: str, n_seeds: int, **legend) -> None:
    """Limits, labels, grid, legend (``legend`` are its keyword arguments) and title of a curve panel.

    The legend's title says what the bands are (min-max over ``n_seeds`` seeds), after the
    ``title`` given in ``legend``, if any."""
    ax.set_ylim(*ylim)
    ax.set_xlabel("training iteration")
    ax.set_ylabel(CURVE_LABELS[metric])
    ax.grid(True, alpha=0.3)
    spread = f"line: mean; {spread_label(n_seeds)}" if n_seeds > 1 else spread_label(n_seeds)
    heading_of_legend = legend.pop("title", None)
    legend.setdefault("title_fontsize", 8)
    ax.legend(fontsize=8, title=f"{heading_of_legend}\n({spread})" if heading_of_legend else spread, **legend)
    ax.set_title(heading, fontsize=10)


def plot_learning_curves(result: IMPResult, rounds: Sequence[int], strategy: str = "original",
                         metric: str = "val_acc", ax: Axes | None = None, title: str | None = None,
                         ylim: tuple[float, float] | None = None) -> Figure:
    """``metric`` vs. training iteration for one strategy at several rounds (the paper's Figure 3).

    One line per round, labelled by its % of weights remaining and coloured by round (viridis,
    dark = dense end, yellow = sparse end); the dense network is black.
    """
    check_metric(metric, CURVE_METRICS)
    if not rounds:
        raise ValueError("rounds must name at least one IMP round")
    fig, ax = figure_and_axes(ax, (7.0, 4.4))
    k = metric_scale(metric)
    cmap = plt.get_cmap("viridis")
    curves = []
    for round_ in rounds:
        curve = round_curve(result, strategy, round_, metric)
        curves.append(curve)
        density = result.select(strategy="original", round_=round_)[0]["density"]
        # Colour by round (not by position in the list), so a density keeps its colour across panels.
        color = "black" if round_ == 0 else cmap(0.9 * (round_ - 1) / max(1, result.config.rounds - 1))
        draw_curve(ax, curve, k, color, f"{100 * density:.1f}% (round {round_})")
    _finish(ax, metric, ylim or curve_ylim(curves, k),
            title or f"{STRATEGY_LABELS.get(strategy, strategy)}: {CURVE_LABELS[metric].split(' (')[0]} "
                     f"(mean of {curves[0].n} seed(s))", max(c.n for c in curves), title="weights remaining")
    return fig


def plot_strategy_curves(result: IMPResult, round_: int,
                         strategies: Sequence[str] = ("original", "reinit", "random_mask"), metric: str = "val_acc",
                         ax: Axes | None = None, title: str | None = None, include_dense: bool = True,
                         ylim: tuple[float, float] | None = None) -> Figure:
    """Learning curves of several strategies at one round, the dense network dashed for reference."""
    check_metric(metric, CURVE_METRICS)
    fig, ax = figure_and_axes(ax, (7.0, 4.4))
    k = metric_scale(metric)
    curves = []
    if include_dense and round_ != 0:
        dense = round_curve(result, "original", 0, metric)
        curves.append(dense)
        draw_curve(ax, dense, k, "black", "dense network (100%)", "--")
    for strategy in strategies:
        curve = round_curve(result, strategy, round_, metric)
        curves.append(curve)
        draw_curve(ax, curve, k, STRATEGY_COLORS.get(strategy, "gray"), STRATEGY_LABELS.get(strategy, strategy))
    density = result.select(strategy="original", round_=round_)[0]["density"]
    _finish(ax, metric, ylim or curve_ylim(curves, k),
            title or f"{100 * density:.1f}% of weights remaining (round {round_}), mean of {curves[-1].n} seed(s)",
            max(c.n for c in curves))
    return fig


def plot_round(view: RoundView, ax: Axes | None = None, ylim: tuple[float, float] | None = None) -> Figure:
    """One round of the scrubber (:func:`lth_helpers.comparisons.round_view`): its learning curves
    (solid, min-max band), the dense network dashed, and a dot at each mean early-stopping iteration."""
    fig, ax = figure_and_axes(ax, (7.0, 4.2))
    k = metric_scale(view.metric)
    curves = [view.dense_curve]
    if view.round != 0:
        draw_curve(ax, view.dense_curve, k, "black", "dense network (100%)", "--")
    for strategy, curve in view.curves.items():
        color = "black" if view.round == 0 else STRATEGY_COLORS.get(strategy, "gray")
        label = "dense network (100%)" if view.round == 0 else STRATEGY_LABELS.get(strategy, strategy)
        draw_curve(ax, curve, k, color, label)
        es = view.stats[strategy]["early_stop"]["mean"]
        # The curve's value at the evaluation nearest the mean early-stopping iteration.
        i = min(range(len(curve.iterations)), key=lambda j: abs(curve.iterations[j] - es))
        ax.plot([es], [k * curve.mean[i]], "o", color=color, ms=7, mec="white")
        curves.append(curve)
        if view.round == 0:
            break  # every strategy is the same dense network at round 0
    _finish(ax, view.metric, ylim or curve_ylim(curves, k),
            f"Round {view.round}: {100 * view.density:.1f}% of weights remaining (dot: mean early stop)",
            max(c.n for c in curves), loc="lower right")
    return fig
