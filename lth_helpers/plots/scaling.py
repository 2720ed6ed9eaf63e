"""Figures about scale (notebook 5): effective fans, initial weight scales against Glorot's
prescription, and the winning ticket vs. plain and fan-corrected reinitialization.

Every function takes tensors, row dicts from :mod:`lth_helpers.scaling`, or records, and returns
a matplotlib ``Figure``. Paired differences are computed by
:func:`lth_helpers.comparisons.paired_differences`; these functions only draw them.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..comparisons import paired_differences, paired_summary
from ..initialization import effective_fans
from ..models import LAYER_NAMES
from .marks import dense_reference, figure_legend, mark_zero_spread
from .style import (LAYER_TITLES, STRATEGY_COLORS, STRATEGY_LABELS, TICKET_COLOR, density_ticks,
                    percent_axis, spread_label)

__all__ = ["plot_fan_histograms", "plot_scale_vs_density", "plot_strategy_comparison", "plot_paired_differences"]


def plot_fan_histograms(masks_by_label: Mapping[str, Mapping[str, torch.Tensor]], bins: int = 40) -> Figure:
    """Effective fan-in (top row) and fan-out (bottom row) per unit, per layer, for each ticket.

    Each unit's fan is divided by its *even share*, ``density x dense fan``: the fan every unit
    would have if the mask kept the same fraction of every unit's connections. So 1 (the dashed
    line) is an even mask, the width of a histogram is how uneven IMP's mask is, and units at 0
    are cut off entirely. Tickets of different density share one scale this way.
    """
    if not masks_by_label:
        raise ValueError("masks_by_label must hold at least one labelled mask")
    layers = [n for n in LAYER_NAMES if n in next(iter(masks_by_label.values()))]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    relative: dict[tuple[str, str, int], np.ndarray] = {}
    for label, masks in masks_by_label.items():
        for name in layers:
            mask = masks[name].bool()
            density = float(mask.double().mean())
            for row, fans in enumerate(effective_fans(mask)):
                dense = mask.shape[1] if row == 0 else mask.shape[0]
                relative[label, name, row] = fans.double().numpy() / max(density * dense, 1e-12)
    fig, axes = plt.subplots(2, len(layers), figsize=(4.3 * len(layers), 5.6), squeeze=False, constrained_layout=True)
    for col, name in enumerate(layers):
        for row, which in enumerate(("fan-in", "fan-out")):
            ax = axes[row][col]
            top = max(float(relative[label, name, row].max()) for label in masks_by_label)
            edges = np.linspace(0, max(top, 1.0) * 1.02, bins + 1)
            for k, label in enumerate(masks_by_label):
                ax.hist(relative[label, name, row], bins=edges, histtype="stepfilled", alpha=0.35,
                        color=colors[k % len(colors)], label=label)
                ax.hist(relative[label, name, row], bins=edges, histtype="step", color=colors[k % len(colors)])
            ax.axvline(1.0, color="black", ls="--", lw=1.2)
            ax.set_xlabel(f"{which} / even share")
            ax.set_title(f"{name}: {which} per {'output' if which == 'fan-in' else 'input'} unit", fontsize=10)
            if col == 0:
                ax.set_ylabel("units")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("Effective fans of winning tickets, relative to an even mask of the same density (dashed: 1)")
    return fig


def plot_scale_vs_density(rows: Sequence[Mapping], columns: Mapping[str, str] | None = None) -> Figure:
    """Scales relative to the dense Glorot std vs. % of weights remaining, one panel per layer.

    ``rows`` come from :func:`~lth_helpers.scaling.init_scale_rows` (possibly averaged over
    seeds); ``columns`` maps a ratio field to its legend label (default: the ticket's theta_0,
    the sub-network's Glorot std and the even-mask 1/sqrt(d)). The x axis is each layer's own
    density.
    """
    columns = columns or {"ticket_ratio": r"ticket's $\theta_0$ (RMS)",
                          "subnet_ratio": "Glorot for the sub-network's fans",
                          "uniform_ratio": r"even mask: $1/\sqrt{d}$"}
    styles = {"ticket_ratio": dict(color=TICKET_COLOR, marker="o"),
              "subnet_ratio": dict(color=STRATEGY_COLORS["fan_corrected"], marker="s", lw=2.5, alpha=0.6),
              "uniform_ratio": dict(color="black", ls="--"),
              "reinit_ratio": dict(color=STRATEGY_COLORS["reinit"], marker="^"),
              "fan_corrected_ratio": dict(color=STRATEGY_COLORS["fan_corrected"], marker="v", ls=":"),
              "ticket_scale_ratio": dict(color=STRATEGY_COLORS["ticket_scale"], marker="D", ls="-.")}
    fallback = [dict(color=c) for c in ("#8c564b", "#e377c2", "#bcbd22")]
    layers = [n for n in LAYER_NAMES if any(r["layer"] == n for r in rows)]
    if not layers:
        raise ValueError("rows hold no LeNet layer")
    fig, axes = plt.subplots(1, len(layers), figsize=(4.4 * len(layers), 3.8), squeeze=False, sharey=True,
                             constrained_layout=True)
    for ax, name in zip(axes[0], layers):
        layer_rows = sorted((r for r in rows if r["layer"] == name), key=lambda r: -r["density"])
        x = [100 * r["density"] for r in layer_rows]
        for i, (field, label) in enumerate(columns.items()):
            style = styles.get(field, fallback[i % len(fallback)])
            ax.plot(x, [r.get(field, np.nan) for r in layer_rows], label=label, ms=4, **style)
        ticks = sorted({round(v, 1) for v in x[:: max(1, len(x) // 5)]} | {round(x[-1], 1)}, reverse=True)
        percent_axis(ax, ticks)
        ax.set_xlabel(f"% of {name}'s weights remaining")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[0] in "1235" else ""))
        ax.set_title(LAYER_TITLES.get(name, name), fontsize=10)
        ax.grid(alpha=0.3, which="both")
    axes[0][0].set_ylabel("scale / dense Glorot std")
    axes[0][0].legend(fontsize=8)
    fig.suptitle("How large are the ticket's initial weights, and how large should they be?")
    return fig


def _bar_lengths(mean: np.ndarray, low: np.ndarray, high: np.ndarray) -> list[np.ndarray]:
    """Error-bar lengths below and above the mean; a rounding error of the mean (a mean of equal
    values can differ from them in the last bit) is not a negative length."""
    return [np.maximum(mean - low, 0.0), np.maximum(high - mean, 0.0)]


def plot_strategy_comparison(summary: Sequence[Mapping],
                             strategies: Sequence[str] = ("original", "reinit", "fan_corrected"),
                             dense: Mapping | None = None) -> Figure:
    """Test accuracy at early stopping and early-stopping iteration vs. % weights remaining.

    ``summary`` rows are :meth:`~lth_helpers.results.IMPResult.summary` output (mean with ``_min`` /
    ``_max`` over seeds, drawn as error bars, as in the paper). ``dense`` (the round-0 summary
    row) adds the dense network as a dashed horizontal line. A bar of zero length (every seed the
    same value) is marked with a short black tick, so that it does not look missing. One legend
    below both panels says what the bars are.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    plotted, n_seeds = [], 0
    for k, strategy in enumerate(strategies):
        rows = sorted((r for r in summary if r["strategy"] == strategy and r["round"] > 0), key=lambda r: -r["density"])
        if not rows:
            continue
        x = np.array([100 * r["density"] for r in rows])
        plotted.extend(x)
        counts = [int(r.get("n", 2)) for r in rows]
        n_seeds = max(n_seeds, *counts)
        x = x * 1.025 ** (k - (len(strategies) - 1) / 2)  # nudge strategies apart so error bars stay readable
        for ax, key, factor in ((axes[0], "test_acc_at_early_stop", 100), (axes[1], "early_stop_iteration", 1)):
            mean = np.array([factor * r[key] for r in rows])
            low = np.array([factor * r[key + "_min"] for r in rows])
            high = np.array([factor * r[key + "_max"] for r in rows])
            ax.errorbar(x, mean, yerr=_bar_lengths(mean, low, high), color=STRATEGY_COLORS.get(strategy), marker="o",
                        ms=4, capsize=2, label=STRATEGY_LABELS.get(strategy, strategy))
            mark_zero_spread(ax, x, mean, low, high, counts)
    if not plotted:
        raise ValueError(f"summary has no rows (round > 0) for strategies {list(strategies)}")
    if dense is not None:
        dense_reference(axes[0], 100 * dense["test_acc_at_early_stop"])
        dense_reference(axes[1], dense["early_stop_iteration"])
    for ax in axes:
        percent_axis(ax, density_ticks(plotted))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy at early stopping (%)")
    axes[1].set_ylabel("early-stopping iteration")
    axes[0].set_title(f"Accuracy (mean, {spread_label(n_seeds, 'bars')})")
    axes[1].set_title("Early stopping (minimum validation loss)")
    figure_legend(fig, axes, ncol=4, title=f"points: mean; {spread_label(n_seeds, 'bars')}")
    return fig


def plot_paired_differences(records: Sequence[Mapping], baseline: str = "reinit",
                            strategies: Sequence[str] = ("original", "fan_corrected"),
                            key: str = "test_acc_at_early_stop") -> Figure:
    """Each strategy minus ``baseline``, paired by seed and round, vs. % weights remaining.

    Points are means over seeds, bars span min to max. Above zero: better than ``baseline``
    (for accuracy; for the early-stopping iteration below zero means sooner). A bar of zero
    length is marked with a short black tick, and one at exactly 0 (a tie on every seed) is
    also labelled "0 (tie)", so that it does not look like a missing bar.
    """
    factor = 100 if "acc" in key else 1
    fig, ax = plt.subplots(figsize=(6.5, 4.3), constrained_layout=True)
    plotted, n_pairs = [], 0
    for k, strategy in enumerate(strategies):
        try:
            rows = paired_summary(paired_differences(records, strategy, baseline, key))
        except ValueError:  # no seed has both strategies: nothing to draw for this one
            continue
        x = np.array([100 * r["density"] for r in rows])
        plotted.extend(x)
        counts = [int(r["n"]) for r in rows]
        n_pairs = max(n_pairs, *counts)
        x = x * 1.025 ** (k - (len(strategies) - 1) / 2)  # nudge strategies apart so error bars stay readable
        mean = np.array([factor * r["mean"] for r in rows])
        low, high = factor * np.array([r["min"] for r in rows]), factor * np.array([r["max"] for r in rows])
        ax.errorbar(x, mean, yerr=_bar_lengths(mean, low, high), color=STRATEGY_COLORS.get(strategy), marker="o", ms=4,
                    capsize=2,
                    label=f"{STRATEGY_LABELS.get(strategy, strategy)} \u2212 {STRATEGY_LABELS.get(baseline, baseline)}")
        mark_zero_spread(ax, x, mean, low, high, counts, tie_text=True)
    if not plotted:
        raise ValueError(f"no paired records for {list(strategies)} against {baseline!r}")
    ax.axhline(0, color="black", lw=0.8)
    percent_axis(ax, density_ticks(plotted))
    unit = "percentage points" if "acc" in key else "iterations"
    ax.set_ylabel(f"difference in {key.replace('_', ' ')}\n({unit})")
    ax.set_title(f"Paired by seed: difference to {STRATEGY_LABELS.get(baseline, baseline)}")
    ax.grid(alpha=0.3)
    figure_legend(fig, [ax], ncol=2, title=f"points: mean; {spread_label(n_pairs, 'bars')}")  # below: covers no bar
    return fig
