"""Colours, labels and ticks: the one place every figure and table takes its vocabulary from.

A strategy, a pruning method, a layer or a retraining variant is drawn in the same colour and
named the same way in every notebook. Labels come in two forms: ``*_LABELS`` for figure legends
(they may use matplotlib's LaTeX, e.g. ``$\\theta_0$``) and ``*_NAMES`` for plain text.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullLocator

from ..models import LAYER_SHAPES

__all__ = [
    "STRATEGY_COLORS", "STRATEGY_LABELS", "STRATEGY_NAMES", "ITERATIVE_LABEL",
    "METHOD_COLORS", "METHOD_LABELS",
    "RETRAIN_COLORS", "RETRAIN_LABELS", "RETRAIN_NAMES",
    "SPLIT_COLORS", "LAYER_COLORS", "LAYER_TITLES", "layer_title",
    "TICKET_COLOR", "OTHERS_COLOR", "CRITERION_COLORS", "QUANTITY_LABELS",
    "METRIC_LABELS", "CURVE_LABELS", "metric_scale",
    "PERCENT_TICKS", "SWEEP_TICKS", "density_ticks", "percent_axis", "figure_and_axes",
    "DENSE_REFERENCE_LABEL", "ZERO_SPREAD_LABEL", "TIE_TEXT", "BAND_ALPHA", "DRAW_LINESTYLES",
    "EARLY_STOP_LABEL", "spread_label", "draw_label",
]

# ------------------------------------------------------------------------- strategies

STRATEGY_COLORS = {
    "original": "#1f77b4",       # the winning ticket
    "reinit": "#d62728",         # same mask, fresh init
    "fan_corrected": "#9467bd",  # same mask, init scaled to the sub-network
    "ticket_scale": "#e377c2",   # same mask, fresh init at the ticket's own per-layer std
    "random_mask": "#2ca02c",    # random mask, original init
    "shuffled": "#8c564b",       # random mask, the ticket's own values shuffled onto it
    "one_shot": "#ff7f0e",       # pruned once from the dense network
    # What a ticket carries (notebook 6): the ticket's mask, part of its theta_0.
    "permuted": "#bcbd22",            # theta_0 values permuted within the mask
    "same_sign_reinit": "#17becf",    # fresh magnitudes, theta_0 signs
    "same_sign_constant": "#0b525b",  # one magnitude, theta_0 signs
    "flipped_sign": "#ff9896",        # theta_0 magnitudes, random signs
    "noisy_0.5": "#fdae6b", "noisy_1": "#fd8d3c", "noisy_2": "#e6550d", "noisy_3": "#a63603",
    # Supermasks: masks on untrained weights.
    "ticket_mask": "#1f77b4", "ticket_mask_reinit": "#d62728", "large_final_same_sign": "#17becf",
    # One-shot mask criteria (``one_shot`` is the paper's "large final").
    "mask_magnitude_increase": "#9467bd", "mask_movement": "#2ca02c", "mask_large_init": "#8c564b",
    "mask_random": "#7f7f7f",
}

STRATEGY_LABELS = {
    "original": "winning ticket (reset to $\\theta_0$)",
    "reinit": "random reinit",
    "fan_corrected": "fan-corrected reinit",
    "ticket_scale": "reinit at the ticket's scale",
    "random_mask": "random sparse network (random mask on $\\theta_0$)",
    "shuffled": "ticket's values, random mask",
    "one_shot": "one-shot pruning",
    "permuted": "$\\theta_0$ values permuted in the mask",
    "same_sign_reinit": "fresh magnitudes, $\\theta_0$ signs",
    "same_sign_constant": "constant magnitude, $\\theta_0$ signs",
    "flipped_sign": "$\\theta_0$ magnitudes, random signs",
    "noisy_0.5": "$\\theta_0$ + 0.5$\\sigma$ noise", "noisy_1": "$\\theta_0$ + 1$\\sigma$ noise",
    "noisy_2": "$\\theta_0$ + 2$\\sigma$ noise", "noisy_3": "$\\theta_0$ + 3$\\sigma$ noise",
    "ticket_mask": "ticket mask on $\\theta_0$", "ticket_mask_reinit": "ticket mask on fresh weights",
    "large_final_same_sign": "'large final, same sign' mask on $\\theta_0$",
    "mask_magnitude_increase": "magnitude increase", "mask_movement": "movement",
    "mask_large_init": "large initial magnitude", "mask_random": "random",
}

#: The winning ticket's line when it is compared with one-shot pruning.
ITERATIVE_LABEL = "iterative pruning (IMP)"

STRATEGY_NAMES = {
    "original": "winning ticket",
    "reinit": "random reinit",
    "fan_corrected": "fan-corrected reinit",
    "ticket_scale": "ticket-scale reinit",
    "random_mask": "random mask",
    "shuffled": "shuffled values",
    "one_shot": "one-shot",
    "permuted": "permuted values", "same_sign_reinit": "same-sign reinit", "same_sign_constant": "same-sign constant",
    "flipped_sign": "random signs", "noisy_0.5": "0.5 sigma noise", "noisy_1": "1 sigma noise",
    "noisy_2": "2 sigma noise", "noisy_3": "3 sigma noise",
}

# ----------------------------------------------------- pruning once (notebook 1)

METHOD_COLORS = {"layerwise": "#17becf", "uniform": "#bcbd22", "global": "#e377c2"}

METHOD_LABELS = {
    "layerwise": "layer-wise (paper's rates)",
    "uniform": "layer-wise (same rate everywhere)",
    "global": "global magnitude",
}

RETRAIN_COLORS = {"fine_tune": "#8c564b", "reinit": STRATEGY_COLORS["reinit"], "ticket": STRATEGY_COLORS["original"]}

RETRAIN_LABELS = {
    "fine_tune": "pruned + fine-tuned (trained weights kept)",
    "reinit": "same mask, fresh random init",
    "ticket": "same mask, reset to $\\theta_0$",
}

RETRAIN_NAMES = {"fine_tune": "fine-tuned", "reinit": "fresh init", "ticket": "reset to theta_0"}

#: Line styles of the successive draws of a variant trained more than once (draw 1, draw 2, ...).
DRAW_LINESTYLES = ("-", "--", ":", "-.")


def draw_label(variant: str, draw: int, n_draws: int) -> str:
    """Legend label of one draw of a retraining variant: ``"..., fresh init, draw 2"`` when the
    variant was trained more than once, else the variant's plain label. ``draw`` counts from 0."""
    label = RETRAIN_LABELS.get(variant, variant)
    return f"{label}, draw {draw + 1}" if n_draws > 1 else label

# ---------------------------------------------------------------- layers and weights

#: The training, validation and test sets in learning curves.
SPLIT_COLORS = {"train": "#7f7f7f", "val": "#1f77b4", "test": "#d62728"}
LAYER_COLORS = {"fc1": "#1b9e77", "fc2": "#d95f02", "fc3": "#7570b3"}
LAYER_TITLES = {"fc1": "fc1 (784 \u2192 300)", "fc2": "fc2 (300 \u2192 100)", "fc3": "fc3 (100 \u2192 10, output)"}

TICKET_COLOR = STRATEGY_COLORS["original"]
OTHERS_COLOR = "#7f7f7f"
CRITERION_COLORS = {"final magnitude": "#1f77b4", "magnitude increase": "#ff7f0e", "movement": "#2ca02c",
                    "initial magnitude": "#8c564b"}
QUANTITY_LABELS = {"movement": r"movement $|\theta_{final} - \theta_0|$",
                   "growth": r"growth $|\theta_{final}| - |\theta_0|$"}


def layer_title(name: str) -> str:
    """``"fc1 (784→300, 235,200 weights)"``: a layer with its shape and size."""
    out_features, in_features = LAYER_SHAPES[name]
    return f"{name} ({in_features}\u2192{out_features}, {in_features * out_features:,} weights)"


# ---------------------------------------------------------------------------- metrics

#: Axis labels of the per-network numbers in a record.
METRIC_LABELS = {
    "early_stop_iteration": "early-stopping iteration (min. validation loss)",
    "test_acc_at_early_stop": "test accuracy at early stopping (%)",
    "val_acc_at_early_stop": "validation accuracy at early stopping (%)",
    "final_test_acc": "test accuracy at end of training (%)",
}

#: Axis labels of the learning-curve entries of a History.
CURVE_LABELS = {
    "test_acc": "test accuracy (%)",
    "val_acc": "validation accuracy (%)",
    "val_loss": "validation loss",
    "test_loss": "test loss",
    "train_loss": "training loss",
}


#: The dense network's value drawn as a horizontal reference line in IMP figures.
DENSE_REFERENCE_LABEL = "dense (round 0)"
#: The dotted vertical line at the early-stopping iteration of a training run.
EARLY_STOP_LABEL = "early stopping (min. validation loss)"
#: Legend entry of the black tick drawn where an error bar has zero length.
ZERO_SPREAD_LABEL = "zero-length bar: all seeds equal"
#: Text beside a zero-length bar at exactly 0 in a plot of differences.
TIE_TEXT = "0 (tie)"
#: Opacity of a min-max band over seeds (light, so that overlapping bands stay readable).
BAND_ALPHA = 0.12


def spread_label(n: int, kind: str = "band", unit: str = "seed") -> str:
    """What a spread shows, for a legend title or an axis label: ``"band: min\u2013max over 3 seeds"``.

    ``kind`` names the mark (``"band"``, ``"bars"``), ``unit`` what is counted (``"seed"``,
    ``"draw"``); with a single one there is no spread, and the label says so.
    """
    n = int(n)
    if n <= 1:
        return f"one {unit}: no spread"
    return f"{kind}: min\u2013max over {n} {unit}s"


def metric_scale(metric: str) -> float:
    """100 for accuracies (stored as fractions, drawn in percent like the paper's axes), else 1."""
    return 100.0 if "acc" in metric else 1.0


# ------------------------------------------------------------------------------ ticks

#: Percent-of-weights-remaining ticks the paper's figures use (log scale, decreasing).
PERCENT_TICKS = (100, 51.3, 21.1, 7.0, 3.6, 1.9)
#: The same down to 1%, for sweeps that go that far.
SWEEP_TICKS = (100, 51.3, 21.1, 7.0, 3.6, 1.2)


def density_ticks(percents: Iterable[float]) -> list[float]:
    """Ticks for a "% of weights remaining" axis covering ``percents``.

    The paper's checkpoints inside the data's range plus its smallest value; when the range is
    too narrow for that (a quick run), the data's own densities.
    """
    values = sorted({round(p, 1) for p in percents}, reverse=True)
    if not values:
        return list(PERCENT_TICKS)
    low, high = values[-1], values[0]
    ticks = [t for t in PERCENT_TICKS if low <= t <= high]
    if low not in ticks and all(abs(math.log(low / t)) > 0.15 for t in ticks):
        ticks.append(low)
    return ticks if len(ticks) >= 3 else values


def percent_axis(ax: Axes, densities_percent: Sequence[float] = PERCENT_TICKS, reverse: bool = True) -> Axes:
    """Log-scale x axis of "% weights remaining", decreasing left to right as in the paper."""
    ax.set_xscale("log")
    ax.set_xticks(list(densities_percent))
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

