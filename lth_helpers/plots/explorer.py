"""The prune-rate explorer's figure (notebook 1): everything its slider changes, in one figure.

:func:`plot_explorer` draws one pruning of the trained network (what
:func:`lth_helpers.sweeps.prune_and_evaluate` returns) next to the method's accuracy curve; the
widget in :mod:`lth_helpers.widgets.pruning` redraws it on every move of the slider.
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..models import LAYER_NAMES
from ..pixels import pixel_survival
from .style import LAYER_COLORS, METHOD_COLORS, METHOD_LABELS, SWEEP_TICKS, percent_axis

__all__ = ["Pruning", "plot_explorer"]


class Pruning(Protocol):
    """One network pruned once, as the explorer draws it (a ``sweeps.PruneResult`` is one)."""

    method: str
    masks: Mapping[str, torch.Tensor]
    density: float
    layer_density: Mapping[str, float]
    thresholds: Mapping[str, float]
    test_acc: float
    val_acc: float


def plot_explorer(result: Pruning, weights: Mapping[str, torch.Tensor], curve: Sequence[dict],
                  dense_acc: float | None = None) -> Figure:
    """The prune-rate explorer's figure for one pruning: everything the slider changes at once.

    Top: test accuracy vs. % remaining (the method's curve, the current pruning as a star),
    how many units see each pixel, and the per-layer densities. Bottom: each layer's weight
    histogram with the pruned band shaded.
    """
    fig = plt.figure(figsize=(12, 6.4), layout="constrained")
    grid = fig.add_gridspec(2, 3)
    color = METHOD_COLORS[result.method]

    ax = fig.add_subplot(grid[0, 0])
    rows = sorted((r for r in curve if r["method"] == result.method), key=lambda r: -r["density"])
    ax.plot([100 * r["density"] for r in rows], [100 * r["test_acc"] for r in rows], "-", color=color, lw=1.5)
    ax.plot([100 * result.density], [100 * result.test_acc], "*", color="black", ms=14, zorder=5)
    if dense_acc is not None:
        ax.axhline(100 * dense_acc, color="black", ls="--", lw=1)
    percent_axis(ax, SWEEP_TICKS)
    ax.set_ylim(0, 100)
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(f"{100 * result.test_acc:.1f}% at {100 * result.density:.1f}% remaining", fontsize=10)
    ax.grid(alpha=0.3)

    ax = fig.add_subplot(grid[0, 1])
    counts = pixel_survival(result.masks["fc1"]).numpy()
    img = ax.imshow(counts, cmap="viridis", vmin=0, vmax=max(1, int(counts.max())))
    fig.colorbar(img, ax=ax, shrink=0.85, label="units keeping the pixel")
    ax.set_title("fc1: units keeping each pixel", fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])

    ax = fig.add_subplot(grid[0, 2])
    values = [100 * result.layer_density[n] for n in LAYER_NAMES]
    ax.bar(LAYER_NAMES, values, color=[LAYER_COLORS[n] for n in LAYER_NAMES])
    for i, v in enumerate(values):
        ax.text(i, v + 2, f"{v:.1f}%", ha="center", fontsize=9)
    ax.set_ylim(0, 112)
    ax.set_ylabel("% of the layer remaining")
    ax.set_title(METHOD_LABELS[result.method], fontsize=10)

    for i, name in enumerate(LAYER_NAMES):
        ax = fig.add_subplot(grid[1, i])
        w = weights[name].detach().flatten().float().numpy()
        lim = float(np.percentile(np.abs(w), 99.9)) * 1.05
        ax.hist(w, bins=np.linspace(-lim, lim, 81), color=LAYER_COLORS[name], alpha=0.75)
        t = result.thresholds[name]
        if t > 0:
            ax.axvspan(-t, t, color="#555555", alpha=0.18)
            ax.axvline(t, color="black", lw=1)
            ax.axvline(-t, color="black", lw=1)
        ax.set_xlim(-lim, lim)
        ax.set_title(f"{name}: pruned |w| \u2264 {t:.3f}", fontsize=10)
        ax.set_xlabel("weight value")
        if i == 0:
            ax.set_ylabel("number of weights")
    return fig
