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
from .marks import figure_legend
from .style import (DRAW_LINESTYLES, RETRAIN_COLORS, RETRAIN_LABELS, RETRAIN_NAMES, SWEEP_TICKS, draw_label,
                    figure_and_axes, percent_axis, spread_label)

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
    draw (the legend says over how many draws). ``sweep_records`` adds the pruned-but-not-retrained
    curve of the same method.
    """
    if metric not in ("test_acc_at_early_stop", "final_test_acc"):
        raise ValueError(f"metric must be 'test_acc_at_early_stop' or 'final_test_acc', got {metric!r}")
    own_figure = ax is None
    fig, ax = figure_and_axes(ax, (7, 5.0))
    if sweep_records:
        rows = sorted((r for r in sweep_records if r["method"] == result.method), key=lambda r: -r["density"])
        ax.plot([100 * r["density"] for r in rows], [100 * r["test_acc"] for r in rows], ":", color="#555555",
                label="pruned, not retrained")
    n_draws = {v: max((len(result.select(v, d)) for d in result.densities), default=0) for v in RETRAIN_LABELS}
    for variant in RETRAIN_LABELS:
        xs = [100 * d for d in result.densities]
        spreads = [result.spread(variant, d, metric) for d in result.densities]  # (mean, min, max) per density
        mean, low, high = (100 * np.array(column) for column in zip(*spreads))
        # A bar only where there is a spread to show (a variant trained once is a single network).
        yerr = [np.maximum(mean - low, 0), np.maximum(high - mean, 0)] if n_draws[variant] > 1 else None
        ax.errorbar(xs, mean, yerr=yerr, fmt="o-", ms=5, capsize=3, color=RETRAIN_COLORS[variant],
                    label=RETRAIN_LABELS[variant])
    if dense_acc is not None:
        ax.axhline(100 * dense_acc, color="black", ls="--", lw=1, label="dense network")
    percent_axis(ax, SWEEP_TICKS)
    ax.set_xlim(110, 100 * min(result.densities) / 1.6)  # inverted: dense on the left
    values = [100 * r[metric] for r in result.records] + ([100 * dense_acc] if dense_acc is not None else [])
    ax.set_ylim(max(0.0, min(values) - 6), min(100.0, max(values) + 2))
    ax.set_ylabel("test accuracy at early stopping (%)" if metric == "test_acc_at_early_stop"
                  else "test accuracy at the end of training (%)")
    ax.grid(alpha=0.3)
    # Say what the bars are: the spread over the draws of the variants trained more than once.
    spread = "; ".join(f"{RETRAIN_NAMES[v]}: mean, {spread_label(n, 'bar', 'draw')}"
                       for v, n in n_draws.items() if n > 1) or None
    if own_figure:  # below the panel, where it covers no point
        figure_legend(fig, [ax], ncol=2, fontsize=8.5, title=spread)
    else:
        ax.legend(fontsize=8.5, loc="lower left", title=spread, title_fontsize=8.5)
    ax.set_title("The same sparse architecture, trained three ways")
    return fig


def plot_retraining_curves(result: Retraining, densities: Sequence[float] | None = None,
                           metric: str = "val_acc") -> Figure:
    """Learning curves of the three variants, one panel per density (accuracy in %).

    Each curve starts at iteration 0 with the network's accuracy before any training, so the
    fine-tuned network starts from where pruning left it and the others from chance. A variant
    trained more than once (several fresh-init draws) has one line per draw, each in the legend.
    """
    densities = list(result.densities if densities is None else densities)
    fig, axes = plt.subplots(1, len(densities), figsize=(4.2 * len(densities), 3.6), layout="constrained",
                             squeeze=False, sharey=True)
    for ax, d in zip(axes[0], densities):
        matched = [x for x in result.densities if abs(x - d) < 1e-9]
        if not matched:
            raise ValueError(f"density {d!r} was not trained: choose from {result.densities}")
        for variant in RETRAIN_LABELS:
            runs = result.select(variant, matched[0])
            for i, r in enumerate(runs):
                h = result.histories[(variant, matched[0], r["draw"])]
                ys = [100 * r["start_test_acc"]] + [100 * v for v in getattr(h, metric)]
                # Every draw is its own line, with its own style and legend entry ("..., draw 2").
                ax.plot([0] + h.iterations, ys, DRAW_LINESTYLES[i % len(DRAW_LINESTYLES)],
                        color=RETRAIN_COLORS[variant], lw=1.5, alpha=1 if i == 0 else 0.7,
                        label=draw_label(variant, int(r["draw"]), len(runs)))
        ax.set_title(f"{100 * d:.1f}% of weights remaining")
        ax.set_xlabel("training iteration")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("test accuracy (%)" if metric == "test_acc" else metric)
    axes[0][0].set_ylim(80, 100)
    # One legend below the panels (it covers no curve), with an entry for every draw drawn.
    figure_legend(fig, list(axes[0]), ncol=min(len(RETRAIN_LABELS) + 1, 4))
    return fig
