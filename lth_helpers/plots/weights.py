"""Figures about weights: movement during training, the ticket's initial values, which
criterion predicts the ticket, effective fans and weight scales, and the scaling experiment
(notebooks 4 and 5).

Every function returns a matplotlib ``Figure`` and takes tensors or row dicts from
:mod:`lth_helpers.analysis`, so it can be drawn from any run without retraining.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..analysis import CRITERIA, paired_differences, weight_changes
from ..initialization import effective_fans
from ..models import LAYER_NAMES, glorot_std
from .style import STRATEGY_COLORS, STRATEGY_LABELS, percent_axis

__all__ = [
    "plot_weight_changes",
    "plot_initial_values",
    "plot_survival_prediction",
    "plot_fan_histograms",
    "plot_scale_vs_density",
    "plot_trained_magnitudes",
    "plot_strategy_comparison",
    "plot_paired_differences",
]

LAYER_TITLES = {"fc1": "fc1 (784 \u2192 300)", "fc2": "fc2 (300 \u2192 100)", "fc3": "fc3 (100 \u2192 10, output)"}
TICKET_COLOR = STRATEGY_COLORS["original"]
OTHERS_COLOR = "#7f7f7f"
CRITERION_COLORS = {"final magnitude": "#1f77b4", "magnitude increase": "#ff7f0e", "movement": "#2ca02c",
                    "initial magnitude": "#8c564b"}
QUANTITY_LABELS = {"movement": r"movement $|\theta_{final} - \theta_0|$",
                   "growth": r"growth $|\theta_{final}| - |\theta_0|$"}


def _dense_std(weight: torch.Tensor) -> float:
    fan_out, fan_in = weight.shape
    return glorot_std(fan_in, fan_out)


def _percent_ticks(values_percent: Sequence[float]) -> list[float]:
    """The paper's checkpoints inside the plotted range, plus the range's ends when few fall inside."""
    low, high = min(values_percent), max(values_percent)
    ticks = [t for t in (100, 51.3, 21.1, 7.0, 3.6) if low * 0.97 <= t <= high * 1.03]
    if len(ticks) < 3:
        ticks = sorted(set(ticks) | {round(low, 1), round(high, 1)}, reverse=True)
    return ticks


def _np(x: torch.Tensor) -> np.ndarray:
    return x.detach().double().flatten().cpu().numpy()


def plot_weight_changes(theta0: Mapping[str, torch.Tensor], theta_final: Mapping[str, torch.Tensor],
                        tickets: Mapping[str, Mapping[str, torch.Tensor]], quantity: str = "movement",
                        bins: int = 60) -> Figure:
    """Histograms of movement or growth in the dense run: ticket weights vs. all the others.

    One row per entry of ``tickets`` (label, e.g. ``"21.1% ticket"`` -> masks), one column per
    layer. Histograms are normalized to unit area so that the small ticket and the large rest can
    be compared by shape; the vertical lines mark each group's median.
    """
    if quantity not in QUANTITY_LABELS:
        raise ValueError(f"quantity must be one of {', '.join(QUANTITY_LABELS)}, got {quantity!r}")
    if not tickets:
        raise ValueError("tickets must hold at least one labelled mask")
    changes = weight_changes(theta0, theta_final)
    layers = [n for n in LAYER_NAMES if n in changes]
    fig, axes = plt.subplots(len(tickets), len(layers), figsize=(4.2 * len(layers), 2.9 * len(tickets)),
                             squeeze=False, constrained_layout=True)
    for row, (label, masks) in enumerate(tickets.items()):
        for col, name in enumerate(layers):
            ax = axes[row][col]
            values = changes[name][quantity]
            mask = masks[name].bool()
            inside, outside = _np(values[mask]), _np(values[~mask])
            edges = np.linspace(float(values.min()), float(np.quantile(_np(values), 0.999)), bins + 1)
            if outside.size:
                ax.hist(outside, bins=edges, density=True, color=OTHERS_COLOR, alpha=0.45, label="others (pruned)")
                ax.axvline(np.median(outside), color=OTHERS_COLOR, ls="--", lw=1.2)
            if inside.size:
                ax.hist(inside, bins=edges, density=True, histtype="step", lw=2, color=TICKET_COLOR,
                        label="in the ticket")
                ax.axvline(np.median(inside), color=TICKET_COLOR, ls="--", lw=1.2)
            if quantity == "growth":
                ax.axvline(0.0, color="black", lw=0.8)
            ax.set_title(f"{LAYER_TITLES.get(name, name)}\n{label}", fontsize=10)
            ax.set_xlabel(QUANTITY_LABELS[quantity])
            if col == 0:
                ax.set_ylabel("density")
            if row == 0 and col == 0:
                ax.legend(fontsize=8)
    fig.suptitle(f"Dense network's training: {quantity} of weights that end up in the ticket vs. the rest")
    return fig


def plot_initial_values(theta0: Mapping[str, torch.Tensor], masks_by_round: Mapping[int, Mapping[str, torch.Tensor]],
                        densities: Mapping[int, float] | None = None, bins: int = 50) -> Figure:
    """theta_0 restricted to the ticket, per layer (rows) and round (columns), in units of the dense Glorot std.

    Each histogram has unit area; the dashed curve is the standard normal, which is what a
    random subset of theta_0 would look like. A dip at zero means the ticket avoids small
    initial values (the paper's Appendix F.1). ``densities`` (round -> overall density) labels
    the columns.
    """
    if not masks_by_round:
        raise ValueError("masks_by_round must hold at least one round")
    rounds = sorted(masks_by_round)
    layers = [n for n in LAYER_NAMES if n in theta0]
    fig, axes = plt.subplots(len(layers), len(rounds), figsize=(3.1 * len(rounds), 2.4 * len(layers)),
                             squeeze=False, sharex=True, constrained_layout=True)
    grid = np.linspace(-4, 4, 200)
    normal = np.exp(-grid ** 2 / 2) / math.sqrt(2 * math.pi)
    edges = np.linspace(-4, 4, bins + 1)
    for col, round_ in enumerate(rounds):
        for row, name in enumerate(layers):
            ax = axes[row][col]
            std = _dense_std(theta0[name])
            values = _np(theta0[name][masks_by_round[round_][name].bool()]) / std
            ax.hist(values, bins=edges, density=True, color=TICKET_COLOR, alpha=0.7)
            ax.plot(grid, normal, color="black", ls="--", lw=1)
            layer_density = 100 * float(masks_by_round[round_][name].double().mean())
            ax.text(0.02, 0.95, f"{layer_density:.1f}% of layer", transform=ax.transAxes, fontsize=8, va="top")
            if row == 0:
                overall = f" ({100 * densities[round_]:.1f}% left)" if densities and round_ in densities else ""
                ax.set_title(f"round {round_}{overall}", fontsize=10)
            if col == 0:
                ax.set_ylabel(f"{name}\ndensity")
            if row == len(layers) - 1:
                ax.set_xlabel(r"$\theta_0$ / dense Glorot std")
    fig.suptitle(r"Initial values $\theta_0$ of the weights in the ticket (dashed: N(0, 1), a random subset)")
    return fig


def plot_survival_prediction(rows_by_label: Mapping[str, Sequence[Mapping]], metric: str = "auc",
                             ncols: int = 3) -> Figure:
    """Bar chart: how well each criterion predicts ticket membership, per layer.

    ``rows_by_label`` maps a panel title (e.g. ``"21.1% ticket, all weights"``) to rows from
    :func:`~lth_helpers.analysis.survival_prediction`. ``metric`` is ``"auc"`` (chance = 0.5)
    or ``"precision"`` (chance = the ticket's share, drawn per layer as a black tick).
    """
    if metric not in ("auc", "precision", "jaccard"):
        raise ValueError(f"metric must be 'auc', 'precision' or 'jaccard', got {metric!r}")
    if not rows_by_label:
        raise ValueError("rows_by_label must hold at least one panel")
    ncols = max(1, min(ncols, len(rows_by_label)))
    nrows = math.ceil(len(rows_by_label) / ncols)
    fig, grid = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.4 * nrows),
                             squeeze=False, sharey=True, constrained_layout=True)
    axes = grid.flatten()
    for ax in axes[len(rows_by_label):]:
        ax.set_visible(False)
    for ax, (title, rows) in zip(axes, rows_by_label.items()):
        layers = [n for n in LAYER_NAMES if any(r["layer"] == n for r in rows)]
        criteria = [c for c in CRITERIA if any(r["criterion"] == c for r in rows)]
        width = 0.8 / max(len(criteria), 1)
        for i, criterion in enumerate(criteria):
            values = [next((r[metric] for r in rows if r["layer"] == n and r["criterion"] == criterion), np.nan)
                      for n in layers]
            ax.bar(np.arange(len(layers)) + (i - (len(criteria) - 1) / 2) * width, values, width,
                   color=CRITERION_COLORS.get(criterion), label=criterion)
        if metric == "auc":
            ax.axhline(0.5, color="black", lw=1, ls="--", label="chance")
        else:
            for j, name in enumerate(layers):
                chance = next(r["chance"] for r in rows if r["layer"] == name)
                ax.plot([j - 0.45, j + 0.45], [chance, chance], color="black", lw=1.5,
                        label="chance" if j == 0 else None)
        ax.set_xticks(range(len(layers)), layers)
        ax.set_ylim(0, 1.02)
        ax.set_title(title, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in grid[:, 0]:
        ax.set_ylabel({"auc": "ROC AUC", "precision": "precision of top-k", "jaccard": "Jaccard of top-k"}[metric])
    axes[len(rows_by_label) - 1].legend(fontsize=8, loc="lower right")
    fig.suptitle("Which quantity of the dense run predicts the ticket?")
    return fig


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
                relative[label, name, row] = _np(fans) / max(density * dense, 1e-12)
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

    ``rows`` come from :func:`~lth_helpers.analysis.init_scale_rows` (possibly averaged over
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
              "fan_corrected_ratio": dict(color=STRATEGY_COLORS["fan_corrected"], marker="v", ls=":")}
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


def plot_trained_magnitudes(dense_final: Mapping[str, torch.Tensor], ticket_final: Mapping[str, torch.Tensor],
                            ticket: Mapping[str, torch.Tensor], theta0: Mapping[str, torch.Tensor] | None = None,
                            label: str = "ticket", bins: int = 60) -> Figure:
    """Magnitudes |w| per layer (log x axis): the trained dense network, the same network's
    weights at the ticket's positions, the ticket's own trained weights, and optionally the
    ticket's theta_0. Histograms have unit area; the dotted line is the dense Glorot std."""
    layers = [n for n in LAYER_NAMES if n in ticket]
    fig, axes = plt.subplots(1, len(layers), figsize=(4.4 * len(layers), 4.2), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], layers):
        mask = ticket[name].bool()
        groups = [("dense network, trained (all weights)", dense_final[name], OTHERS_COLOR, "stepfilled"),
                  ("dense network, trained, at the ticket's positions", dense_final[name][mask], "#17becf", "step"),
                  (f"{label}, trained", ticket_final[name][mask], TICKET_COLOR, "step")]
        if theta0 is not None:
            groups.insert(0, (rf"{label}, $\theta_0$", theta0[name][mask], "#bcbd22", "step"))
        all_values = np.concatenate([_np(g[1]).__abs__() for g in groups])
        positive = all_values[all_values > 0]
        edges = np.geomspace(np.quantile(positive, 0.001), positive.max(), bins + 1)
        for text, values, color, kind in groups:
            v = np.abs(_np(values))
            v = v[v > 0]
            # Fraction of the group per (logarithmic) bin: comparable across groups of any size.
            ax.hist(v, bins=edges, weights=np.full(v.size, 1.0 / max(v.size, 1)), histtype=kind, color=color,
                    lw=1.8, alpha=0.35 if kind == "stepfilled" else 1.0, label=text)
        ax.axvline(_dense_std(dense_final[name]), color="black", ls=":", lw=1.2, label="dense Glorot std")
        ax.set_xscale("log")
        ax.set_xlabel("|w|")
        ax.set_title(f"{LAYER_TITLES.get(name, name)}: {100 * float(mask.double().mean()):.1f}% kept", fontsize=10)
    axes[0][0].set_ylabel("fraction of weights per bin")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Weight magnitudes: dense network vs. {label}")
    return fig


def plot_strategy_comparison(summary: Sequence[Mapping], strategies: Sequence[str] = ("original", "reinit", "fan_corrected"),
                             dense: Mapping | None = None) -> Figure:
    """Test accuracy at early stopping and early-stopping iteration vs. % weights remaining.

    ``summary`` rows are :meth:`~lth_helpers.imp.IMPResult.summary` output (mean with ``_min`` /
    ``_max`` over seeds, drawn as error bars, as in the paper). ``dense`` (the round-0 summary
    row) adds the dense network as a grey horizontal line.
    """
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    plotted = []
    for k, strategy in enumerate(strategies):
        rows = sorted((r for r in summary if r["strategy"] == strategy and r["round"] > 0), key=lambda r: -r["density"])
        if not rows:
            continue
        x = np.array([100 * r["density"] for r in rows])
        plotted.extend(x)
        x = x * 1.025 ** (k - (len(strategies) - 1) / 2)  # nudge strategies apart so error bars stay readable
        for ax, key, factor in ((axes[0], "test_acc_at_early_stop", 100), (axes[1], "early_stop_iteration", 1)):
            mean = np.array([factor * r[key] for r in rows])
            low = mean - np.array([factor * r[key + "_min"] for r in rows])
            high = np.array([factor * r[key + "_max"] for r in rows]) - mean
            ax.errorbar(x, mean, yerr=[low, high], color=STRATEGY_COLORS.get(strategy), marker="o", ms=4, capsize=2,
                        label=STRATEGY_LABELS.get(strategy, strategy))
    if not plotted:
        raise ValueError(f"summary has no rows (round > 0) for strategies {list(strategies)}")
    if dense is not None:
        axes[0].axhline(100 * dense["test_acc_at_early_stop"], color=OTHERS_COLOR, ls=":", label="dense network")
        axes[1].axhline(dense["early_stop_iteration"], color=OTHERS_COLOR, ls=":", label="dense network")
    for ax in axes:
        percent_axis(ax, _percent_ticks(plotted))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy at early stopping (%)")
    axes[1].set_ylabel("early-stopping iteration")
    axes[0].set_title("Accuracy (mean, min/max over seeds)")
    axes[1].set_title("Early stopping (minimum validation loss)")
    axes[0].legend(fontsize=8)
    return fig


def plot_paired_differences(records: Sequence[Mapping], baseline: str = "reinit",
                            strategies: Sequence[str] = ("original", "fan_corrected"),
                            key: str = "test_acc_at_early_stop") -> Figure:
    """Each strategy minus ``baseline``, paired by seed and round, vs. % weights remaining.

    Points are means over seeds, bars span min to max. Above zero: better than ``baseline``
    (for accuracy; for the early-stopping iteration below zero means sooner).
    """
    factor = 100 if "acc" in key else 1
    fig, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
    plotted = []
    for k, strategy in enumerate(strategies):
        rows = paired_differences(records, strategy, baseline, key)
        if not rows:
            continue
        x = np.array([100 * r["density"] for r in rows])
        plotted.extend(x)
        x = x * 1.025 ** (k - (len(strategies) - 1) / 2)  # nudge strategies apart so error bars stay readable
        mean = np.array([factor * r["mean"] for r in rows])
        yerr = [mean - factor * np.array([r["min"] for r in rows]), factor * np.array([r["max"] for r in rows]) - mean]
        ax.errorbar(x, mean, yerr=yerr, color=STRATEGY_COLORS.get(strategy), marker="o", ms=4, capsize=2,
                    label=f"{STRATEGY_LABELS.get(strategy, strategy)} \u2212 {STRATEGY_LABELS.get(baseline, baseline)}")
    if not plotted:
        raise ValueError(f"no paired records for {list(strategies)} against {baseline!r}")
    ax.axhline(0, color="black", lw=0.8)
    percent_axis(ax, _percent_ticks(plotted))
    unit = "percentage points" if "acc" in key else "iterations"
    ax.set_ylabel(f"difference in {key.replace('_', ' ')} ({unit})")
    ax.set_title(f"Paired by seed: difference to {STRATEGY_LABELS.get(baseline, baseline)}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig
