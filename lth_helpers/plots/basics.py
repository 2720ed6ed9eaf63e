"""Figures of notebook 1: a dense network trained, and pruned once at many sparsities.

Every ``plot_*`` function takes plain data (a History, sweep records from
:func:`lth_helpers.sweeps.sweep`, weight and mask tensors) and returns a matplotlib ``Figure``. Functions
that draw a single panel accept an ``ax`` to draw on. The retraining figures are in
:mod:`.retraining`, the prune-rate explorer's figure in :mod:`.explorer`.

Conventions follow the paper: the x axis of "% of weights remaining" is logarithmic and
decreases from left to right; accuracies are in percent.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..history import History
from ..models import LAYER_NAMES
from ..pixels import pixel_survival
from .marks import figure_legend, legend_entries
from .style import (EARLY_STOP_LABEL, LAYER_COLORS, METHOD_COLORS, METHOD_LABELS, SPLIT_COLORS, SWEEP_TICKS,
                    figure_and_axes, layer_title, percent_axis)

__all__ = [
    "plot_dense_training",
    "plot_accuracy_vs_density",
    "plot_layer_densities",
    "plot_weight_histograms",
    "plot_pixel_survival",
    "plot_unit_masks",
]


def _check_records(records: Sequence[dict], metric: str) -> None:
    if not records:
        raise ValueError("no records to plot: pass the list lth_helpers.sweeps.sweep() returns")
    if metric not in records[0]:
        raise ValueError(f"unknown metric {metric!r}: records have {sorted(records[0])}")


# ----------------------------------------------------------------------- dense training


def plot_dense_training(history: History, title: str = "Dense LeNet-300-100") -> Figure:
    """Losses and accuracies of one training run, with the early-stopping iteration marked.

    One legend for both panels sits below them, and the early-stopping note sits inside the
    accuracy panel at its top, on the side of the dotted line with more room, with an arrow to
    the line: neither can cover the other.
    """
    if not history.iterations:
        raise ValueError("this history is empty: train the network first")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    its = history.iterations
    stop = history.early_stop_iteration
    ax_loss.plot(its, history.train_loss, color=SPLIT_COLORS["train"],
                 label="training loss (mean since last evaluation)")
    ax_loss.plot(its, history.val_loss, color=SPLIT_COLORS["val"], label="validation")
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_acc.plot(its, [100 * a for a in history.val_acc], color=SPLIT_COLORS["val"], label="validation")
    # The test set may be read less often than the validation set (a size's test_every): draw it
    # where it was evaluated, with markers so that a sparse schedule still shows.
    test_its, test_acc = history.evaluated("test_acc")
    ax_acc.plot(test_its, [100 * a for a in test_acc], color=SPLIT_COLORS["test"], marker="o", ms=3, label="test")
    low = min(min(history.val_acc), min(test_acc))
    ax_acc.set_ylim(max(100 * low - 1, 100 * np.percentile(test_acc, 10) - 3), 100)
    ax_acc.set_ylabel("accuracy (%)")
    for ax in (ax_loss, ax_acc):
        ax.axvline(stop, color="black", ls=":", lw=1, label=EARLY_STOP_LABEL)
        ax.set_xlabel("training iteration")
        ax.grid(alpha=0.3)
    # The note's text is placed in axes coordinates (always inside the panel), on the side of the
    # line with more room; the arrow points at the line near the top of the panel.
    start, end = ax_acc.get_xlim()
    right_side = (stop - start) / ((end - start) or 1) < 0.55
    ax_acc.annotate(f"early stopping\n(min. val. loss, it. {stop:,})", xy=(stop, 0.8),
                    xycoords=("data", "axes fraction"),
                    xytext=(0.97, 0.95) if right_side else (0.03, 0.95), textcoords="axes fraction",
                    ha="right" if right_side else "left", va="top", fontsize=9,
                    bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="none", alpha=0.85),
                    arrowprops=dict(arrowstyle="->", color="black", lw=0.8,
                                    connectionstyle="arc3,rad=0.15" if right_side else "arc3,rad=-0.15"))
    handles, labels = legend_entries((ax_loss, ax_acc))
    last = labels.index(EARLY_STOP_LABEL)  # the curves first, the early-stopping line last
    order = [i for i in range(len(labels)) if i != last] + [last]
    fig.legend([handles[i] for i in order], [labels[i] for i in order], loc="outside lower center", ncol=4,
               fontsize=9, frameon=False)
    fig.suptitle(title)
    return fig


# ------------------------------------------------------------------- one-shot pruning sweep


def plot_accuracy_vs_density(records: Sequence[dict], metric: str = "test_acc", dense_acc: float | None = None,
                             methods: Sequence[str] | None = None, ax: Axes | None = None,
                             title: str = "Pruned once, not retrained") -> Figure:
    """Accuracy of the pruned (not retrained) network vs. % of weights remaining, one line per method.

    ``records`` is what :func:`lth_helpers.sweeps.sweep` returns; ``metric`` is ``test_acc`` or
    ``val_acc``; ``dense_acc`` (0-1) draws the unpruned network's accuracy for reference.
    """
    _check_records(records, metric)
    fig, ax = figure_and_axes(ax, (6.5, 4.2))
    present = [m for m in METHOD_LABELS if any(r["method"] == m for r in records)]
    for method in methods or present:
        rows = sorted((r for r in records if r["method"] == method), key=lambda r: -r["density"])
        if not rows:
            raise ValueError(f"no records for method {method!r}; records hold {present}")
        ax.plot([100 * r["density"] for r in rows], [100 * r[metric] for r in rows], "o-", ms=3.5,
                color=METHOD_COLORS[method], label=METHOD_LABELS[method])
    if dense_acc is not None:
        ax.axhline(100 * dense_acc, color="black", ls="--", lw=1, label="dense network")
    ax.axhline(10, color="#999999", ls=":", lw=1, label="chance (10%)")
    percent_axis(ax, SWEEP_TICKS)
    ax.set_ylabel(("test" if metric.startswith("test") else "validation") + " accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9, loc="lower left")
    ax.set_title(title)
    return fig


def plot_layer_densities(records: Sequence[dict], methods: Sequence[str] = ("layerwise", "global"),
                         ax: Axes | None = None) -> Figure:
    """How each method shares out the pruning: % of each layer left vs. % of the network left."""
    _check_records(records, "layer_density")
    fig, ax = figure_and_axes(ax, (6.5, 4.2))
    styles = {"layerwise": "--", "uniform": ":", "global": "-"}
    for method in methods:
        rows = sorted((r for r in records if r["method"] == method), key=lambda r: -r["density"])
        if not rows:
            raise ValueError(f"no records for method {method!r}")
        x = [100 * r["density"] for r in rows]
        for name in LAYER_NAMES:
            ax.plot(x, [100 * r["layer_density"][name] for r in rows], styles[method], color=LAYER_COLORS[name],
                    lw=2 if method == "global" else 1.5, label=f"{name}, {METHOD_LABELS[method]}")
    ax.plot([100, 1], [100, 1], color="#999999", lw=0.8, label="layer keeps the network's share")
    percent_axis(ax, SWEEP_TICKS)
    ax.set_yscale("log")
    ax.set_yticks(list(SWEEP_TICKS) + [0.5])
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(plt.NullLocator())
    ax.set_ylabel("% of the layer's weights remaining")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left", ncol=1)
    ax.set_title("Which layers lose their weights")
    return fig


# ----------------------------------------------------------------------------- weights


def plot_weight_histograms(weights: Mapping[str, torch.Tensor],
                           thresholds: Mapping[str, Mapping[str, float]] | None = None,
                           init_weights: Mapping[str, torch.Tensor] | None = None, bins: int = 101,
                           title: str | None = None) -> Figure:
    """Histogram of each layer's weights, with magnitude thresholds drawn at +-t.

    Args:
        weights: ``{layer: tensor}`` (e.g. the trained dense network's).
        thresholds: ``{label: {layer: t}}``; weights with ``|w| <= t`` are the ones pruned.
            Each label gets its own line style (e.g. ``{"layer-wise, 21.1%": ..., "global, 21.1%": ...}``).
        init_weights: drawn as a grey outline for comparison (e.g. theta_0).
        bins: histogram bins per layer.
    """
    fig, axes = plt.subplots(1, len(LAYER_NAMES), figsize=(13, 3.6), layout="constrained")
    line_styles = ["-", "--", "-.", ":"]
    line_colors = ["#17becf", "#e377c2", "#bcbd22", "#7f7f7f"]
    for ax, name in zip(axes, LAYER_NAMES):
        w = weights[name].detach().flatten().float().numpy()
        lim = float(np.percentile(np.abs(w), 99.9)) * 1.05
        edges = np.linspace(-lim, lim, bins + 1)
        if init_weights is not None:
            w0 = init_weights[name].detach().flatten().float().numpy()
            ax.hist(w0, bins=edges, histtype="step", color="#7f7f7f", lw=1.2, label="at initialization")
        ax.hist(w, bins=edges, color=LAYER_COLORS[name], alpha=0.75, label="after training (each layer's colour)")
        for i, (label, per_layer) in enumerate((thresholds or {}).items()):
            t = per_layer[name]
            style = dict(color=line_colors[i % 4], ls=line_styles[i % 4], lw=1.6)
            ax.axvline(t, label=f"\u00b1 threshold, {label}", **style)
            ax.axvline(-t, **style)
            if i == 0:
                ax.axvspan(-t, t, color=line_colors[0], alpha=0.08, label=f"pruned band |w| \u2264 t, {label}")
        ax.set_title(layer_title(name), fontsize=10)
        ax.set_xlabel("weight value")
        ax.set_xlim(-lim, lim)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("number of weights")
    # One legend for the three panels, below them: it never covers a bar.
    figure_legend(fig, axes, ncol=3)
    if title:
        fig.suptitle(title)
    return fig


def plot_pixel_survival(masks_fc1: Mapping[str, torch.Tensor], pixel_std: torch.Tensor | None = None,
                        title: str = "First layer: how many of the 300 units still see each pixel") -> Figure:
    """First-layer masks as 28x28 images: per input pixel, the number of units that keep it.

    ``masks_fc1`` maps a label (e.g. ``"layer-wise, 21.1%"``) to the (300, 784) mask of fc1.
    ``pixel_std`` (784 values, e.g. the training images' per-pixel standard deviation) is drawn
    first, to compare with where the digits' strokes actually vary.
    """
    panels = list(masks_fc1.items())
    n = len(panels) + (pixel_std is not None)
    fig, axes = plt.subplots(1, n, figsize=(3.3 * n, 3.4), layout="constrained", squeeze=False)
    axes = axes[0]
    i = 0
    if pixel_std is not None:
        img = axes[0].imshow(pixel_std.detach().view(28, 28).numpy(), cmap="Greys")
        axes[0].set_title("training images:\nper-pixel std. deviation", fontsize=10)
        fig.colorbar(img, ax=axes[0], shrink=0.8, label="std. deviation of the pixel (0-1 scale)")
        i = 1
    for ax, (label, mask) in zip(axes[i:], panels):
        if tuple(mask.shape) != (300, 784):
            raise ValueError(f"mask {label!r} has shape {tuple(mask.shape)}, expected fc1's (300, 784)")
        counts = pixel_survival(mask).numpy()
        img = ax.imshow(counts, cmap="viridis", vmin=0)
        kept = float(mask.float().mean())
        ax.set_title(f"{label}\nfc1 keeps {100 * kept:.1f}% (uniform: {300 * kept:.0f}/pixel)", fontsize=10)
        fig.colorbar(img, ax=ax, shrink=0.8, label="units keeping the pixel")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    return fig


def plot_unit_masks(weights_fc1: torch.Tensor, mask_fc1: torch.Tensor, units: Sequence[int] = tuple(range(10)),
                    ncols: int = 10, title: str | None = None) -> Figure:
    """Receptive fields of some first-layer units: their surviving weights as 28x28 images.

    Pruned pixels are white; kept weights are coloured by value (red positive, blue negative),
    on one colour scale for all units.
    """
    if tuple(mask_fc1.shape) != (300, 784) or tuple(weights_fc1.shape) != (300, 784):
        raise ValueError("expected fc1's (300, 784) weights and mask, got "
                         f"{tuple(weights_fc1.shape)} and {tuple(mask_fc1.shape)}")
    bad = [u for u in units if not 0 <= int(u) < 300]
    if bad:
        raise ValueError(f"unit indices must be in [0, 300), got {bad}")
    units = list(units)
    nrows = -(-len(units) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.35 * ncols + 0.9, 1.5 * nrows + 0.5), layout="constrained",
                             squeeze=False)
    kept = (weights_fc1 * mask_fc1.to(weights_fc1.dtype)).detach()
    lim = float(kept[units].abs().max()) or 1.0
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, unit in zip(axes.flat, units):
        img = kept[unit].view(28, 28).numpy().copy()
        shown = np.ma.masked_where(~mask_fc1[unit].bool().view(28, 28).numpy(), img)
        cmap = plt.get_cmap("RdBu_r").with_extremes(bad="white")
        image = ax.imshow(shown, cmap=cmap, vmin=-lim, vmax=lim)
        ax.set_title(f"unit {unit}: {int(mask_fc1[unit].sum())}", fontsize=8)
        ax.set_axis_on()
        ax.set_xticks([])
        ax.set_yticks([])
    # One colour scale for every unit, so one colorbar beside the grid says what the colours mean.
    if units:
        fig.colorbar(image, ax=axes, shrink=0.9 if nrows > 1 else 1.0, aspect=12 * max(nrows, 1), pad=0.01,
                     label="kept weight value\n(white: pruned)")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
