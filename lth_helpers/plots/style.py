"""Shared colours, labels and axis helpers, so that every figure speaks the same language."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

__all__ = ["STRATEGY_COLORS", "STRATEGY_LABELS", "PERCENT_TICKS", "percent_axis", "figure_and_axes"]

STRATEGY_COLORS = {
    "original": "#1f77b4",       # the winning ticket
    "reinit": "#d62728",         # same mask, fresh init
    "fan_corrected": "#9467bd",  # same mask, init scaled to the sub-network
    "random_mask": "#2ca02c",    # random mask, original init
    "one_shot": "#ff7f0e",       # pruned once from the dense network
}

STRATEGY_LABELS = {
    "original": "winning ticket (reset to $\\theta_0$)",
    "reinit": "random reinit",
    "fan_corrected": "fan-corrected reinit",
    "random_mask": "random mask",
    "one_shot": "one-shot pruning",
}

#: Percent-of-weights-remaining ticks the paper's figures use (log scale, decreasing).
PERCENT_TICKS = (100, 51.3, 21.1, 7.0, 3.6, 1.9)


def percent_axis(ax: Axes, densities_percent=PERCENT_TICKS, reverse: bool = True) -> Axes:
    """Log-scale x axis of "% weights remaining", decreasing left to right as in the paper."""
    ax.set_xscale("log")
    ticks = [d for d in densities_percent]
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_locator(NullLocator())
    if reverse and not ax.xaxis_inverted():
        ax.invert_xaxis()
    ax.set_xlabel("% of weights remaining")
    return ax


def figure_and_axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    """Draw on ``ax`` when given (the caller composes a larger figure), else on a new figure."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax
