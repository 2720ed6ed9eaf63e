"""Figures of notebook 6: supermasks (masks on untrained weights) and one-shot mask criteria.

Both take records (training records, or the supermask rows of
:func:`lth_helpers.supermasks.supermask_records`) and draw means over seeds with min-max bars;
the numbers come from :func:`lth_helpers.results.summarize_records`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from ..results import summarize_records
from .marks import figure_legend
from .style import METRIC_LABELS, STRATEGY_COLORS, STRATEGY_LABELS, density_ticks, metric_scale, percent_axis, spread_label

__all__ = ["plot_supermasks", "plot_mask_criteria", "CRITERION_LABELS"]

#: Legend labels of the mask criteria (``one_shot`` is the paper's large-final criterion).
CRITERION_LABELS = {
    "one_shot": "large final $|w_f|$ (the paper's)",
    "mask_magnitude_increase": "magnitude increase $|w_f| - |w_i|$",
    "mask_movement": "movement $|w_f - w_i|$",
    "mask_large_init": "large initial $|w_i|$",
    "mask_random": "random",
}


def plot_supermasks(rows: Sequence[Mapping], kinds: Sequence[str] | None = None) -> Figure:
    """Test accuracy of masked, *untrained* networks vs. % weights remaining, with chance (10%) marked."""
    series = summarize_records(rows, "test_acc_at_early_stop", kinds, include_dense=False)
    fig, ax = plt.subplots(figsize=(7, 4.3), layout="constrained")
    percents, n_seeds = [], 1
    for kind, s in series.items():
        keep = [i for i, n in enumerate(s.rounds) if n > 0]
        x = np.array([100 * s.density[i] for i in keep])
        mean, low, high = (np.array([100 * v[i] for i in keep]) for v in (s.mean, s.low, s.high))
        ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=STRATEGY_COLORS.get(kind), marker="o", ms=4,
                    capsize=2, label=STRATEGY_LABELS.get(kind, kind))
        percents.extend(x)
        n_seeds = max(n_seeds, *s.n)
    ax.axhline(10, color="black", lw=0.8, ls=":", label="chance (10%)")
    percent_axis(ax, density_ticks(percents))
    ax.set_ylabel("test accuracy, untrained (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Supermasks: a mask on weights that were never trained")
    figure_legend(fig, [ax], ncol=3, title=spread_label(n_seeds, "bars"))
    return fig


def plot_mask_criteria(records: Sequence[Mapping], strategies: Sequence[str],
                       metrics: Sequence[str] = ("test_acc_at_early_stop", "early_stop_iteration")) -> Figure:
    """For each criterion (a strategy such as ``one_shot`` or ``mask_movement``), ``metrics`` at each
    density it was trained at: one panel per metric, densities on the x axis, criteria side by side."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.5 * len(metrics), 4.2), layout="constrained", squeeze=False)
    n_seeds = 1
    for ax, metric in zip(axes[0], metrics):
        series = summarize_records(records, metric, strategies, include_dense=False)
        scale = metric_scale(metric)
        for k, strategy in enumerate(strategies):
            s = series[strategy]
            keep = [i for i, n in enumerate(s.rounds) if n > 0]
            x = np.array([100 * s.density[i] for i in keep]) * 1.04 ** (k - (len(strategies) - 1) / 2)
            mean, low, high = (np.array([scale * v[i] for i in keep]) for v in (s.mean, s.low, s.high))
            ax.errorbar(x, mean, yerr=[mean - low, high - mean], color=STRATEGY_COLORS.get(strategy), marker="o",
                        ms=5, capsize=2, ls="none",
                        label=CRITERION_LABELS.get(strategy, STRATEGY_LABELS.get(strategy, strategy)))
            n_seeds = max(n_seeds, *s.n)
        percent_axis(ax, density_ticks([100 * d for d in series[strategies[0]].density]))
        ax.set_ylabel(METRIC_LABELS[metric])
    figure_legend(fig, list(axes[0]), ncol=5,
                  title=f"which weights one-shot pruning keeps, then reset to $\\theta_0$ ({spread_label(n_seeds, 'bars')})")
    return fig
