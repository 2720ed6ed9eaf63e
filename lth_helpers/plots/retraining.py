"""Figures of notebook 1's puzzle: the pruned architecture retrained three ways.

Fine-tuned, reinitialized at random, or reset to theta_0 (see :mod:`lth_helpers.retraining`,
whose result these functions draw). Reinitializations are drawn as their mean with a bar from the
worst to the best draw.
"""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..history import History
from .style import RETRAIN_COLORS, RETRAIN_LABELS, SWEEP_TICKS, figure_and_axes, percent_axis

__all__ = ["Retraining", "plot_retraining", "plot_retraining_curves"]


class Retraining(Protocol):
    """What the retraining figures read (a ``retraining.RetrainResult`` is one)."""

    method: str
    densities: list[float]
    records: list[dict]
    histories: Mapping[tuple[str, float, int], History]

    def select(self, variant: str | None = None, density: float | None = None) -> list[dict]: ...

    def spread(self, variant: str, density: float, key: str = ...) -> tuple[float, float, float]: ...


def plot_retraining(result: Retraining, sweep_records: Sequence[dict] | None = None,
                    dense_acc: float | None = None, metric: str = "test_acc_at_early_stop",
                    ax: Axes | None = None) -> Figure:
    """Test accuracy of the pruned architecture trained three ways, vs. % of weights remaining.

    Random reinitializations are drawn as their mean, with a bar from the worst to the best
    draw. ``sweep_records`` adds the pruned-but-not-retrained curve of the same method.
    """
    if metric not in ("test_acc_at_early_stop", "final_test_acc"):
        raise ValueError(f"metric must be 'test_acc_at_early_stop' or 'final_test_acc', got {metric!r}")
    fig, ax = figure_and_axes(ax, (7, 4.5))
    if sweep_records:
        rows = sorted((r for r in sweep_records if r["method"] == result.method), key=lambda r: -r["density"])
        ax.plot([100 * r["density"] for r in rows], [100 * r["test_acc"] for r in rows], ":", color="#555555",
                label="pruned, not retrained")
    for variant in RETRAIN_LABELS:
        xs = [100 * d for d in result.densities]
        spreads = [result.spread(variant, d, metric) for d in result.densities]  # (mean, min, max) per density
        mean, low, high = (100 * np.array(column) for column in zip(*spreads))
        ax.errorbar(xs, mean, yerr=[np.subtract(mean, low), np.subtract(high, mean)], fmt="o-", ms=5, capsize=3,
                    color=RETRAIN_COLORS[variant], label=RETRAIN_LABELS[variant])
    if dense_acc is not None:
        ax.axhline(100 * dense_acc, color="black", ls="--", lw=1, label="dense network")
    percent_axis(ax, SWEEP_TICKS)
    ax.set_xlim(110, 100 * min(result.densities) / 1.6)  # inverted: dense on the left
    values = [100 * r[metric] for r in result.records] + ([100 * dense_acc] if dense_acc is not None else [])
    ax.set_ylim(max(0.0, min(values) - 6), min(100.0, max(values) + 2))
    ax.set_ylabel("test accuracy at early stopping (%)" if metric == "test_acc_at_early_stop"
                  else "test accuracy at the end of training (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8.5, loc="lower left")
    ax.set_title("The same sparse architecture, trained three ways")
    return fig


def plot_retraining_curves(result: Retraining, densities: Sequence[float] | None = None,
                           metric: str = "test_acc") -> Figure:
    """Learning curves of the three variants, one panel per density (accuracy in %).

    Each curve starts at iteration 0 with the network's accuracy before any training, so the
    fine-tuned network starts from where pruning left it and the others from chance.
    """
    densities = list(result.densities if densities is None else densities)
    fig, axes = plt.subplots(1, len(densities), figsize=(4.2 * len(densities), 3.6), layout="constrained",
                             squeeze=False, sharey=True)
    for ax, d in zip(axes[0], densities):
        matched = [x for x in result.densities if abs(x - d) < 1e-9]
        if not matched:
            raise ValueError(f"density {d!r} was not trained: choose from {result.densities}")
        for variant in RETRAIN_LABELS:
            for i, r in enumerate(result.select(variant, matched[0])):
                h = result.histories[(variant, matched[0], r["draw"])]
                ys = [100 * r["start_test_acc"]] + [100 * v for v in getattr(h, metric)]
                ax.plot([0] + h.iterations, ys, color=RETRAIN_COLORS[variant], lw=1.5, alpha=1 if i == 0 else 0.5,
                        label=RETRAIN_LABELS[variant] if i == 0 else None)
        ax.set_title(f"{100 * d:.1f}% of weights remaining")
        ax.set_xlabel("training iteration")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)" if metric == "test_acc" else metric)
    axes[0][0].set_ylim(80, 100)
    axes[0][-1].legend(fontsize=8, loc="lower right")
    return fig
