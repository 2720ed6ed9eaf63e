"""Figures about the dense network's weights and its winning ticket (notebook 4).

How weights move in training, ticket weights vs. the others (the paper's Appendix F.5); the
ticket's initial values (Appendix F.1); which criterion predicts the ticket; and weight
magnitudes after training. Every function takes tensors or row dicts from
:mod:`lth_helpers.movement` and :mod:`lth_helpers.scaling` and returns a matplotlib ``Figure``.
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from ..initialization import dense_glorot_std
from ..models import LAYER_NAMES
from ..movement import weight_changes
from .marks import figure_legend, legend_entries
from .style import CRITERION_COLORS, LAYER_TITLES, OTHERS_COLOR, QUANTITY_LABELS, TICKET_COLOR

__all__ = ["plot_weight_changes", "plot_initial_values", "plot_survival_prediction", "plot_trained_magnitudes"]


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
                ax.axvline(np.median(outside), color=OTHERS_COLOR, ls="--", lw=1.2, label="median, others")
            if inside.size:
                ax.hist(inside, bins=edges, density=True, histtype="step", lw=2, color=TICKET_COLOR,
                        label="in the ticket")
                ax.axvline(np.median(inside), color=TICKET_COLOR, ls="--", lw=1.2, label="median, in the ticket")
            if quantity == "growth":
                ax.axvline(0.0, color="black", lw=0.8)
            ax.set_title(f"{LAYER_TITLES.get(name, name)}\n{label}", fontsize=10)
            ax.set_xlabel(QUANTITY_LABELS[quantity])
            if col == 0:
                ax.set_ylabel("density")
    figure_legend(fig, list(axes.flat), ncol=4)  # below the panels: it covers no histogram
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
            std = dense_glorot_std(name)
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
    :func:`~lth_helpers.movement.survival_prediction`. ``metric`` is ``"auc"`` (chance = 0.5)
    or ``"precision"`` (chance = the ticket's share, drawn per layer as a black tick). Panels
    fill a grid of ``ncols`` columns; the legend takes the grid's first empty slot, or sits below
    the panels when there is none.
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
    for ax, (title, rows) in zip(axes, rows_by_label.items()):
        layers = [n for n in LAYER_NAMES if any(r["layer"] == n for r in rows)]
        criteria = list(dict.fromkeys(r["criterion"] for r in rows))  # in the order the rows list them
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
    # The legend never sits on a panel: it fills the grid's first empty slot (the others are
    # removed), or, when the grid is full, goes below the panels.
    empty = list(axes[len(rows_by_label):])
    handles, labels = legend_entries(axes[:len(rows_by_label)])
    if empty:
        slot = empty.pop(0)
        slot.set_axis_off()
        slot.legend(handles, labels, loc="center", fontsize=9)
        for ax in empty:
            ax.remove()
    else:
        figure_legend(fig, axes, ncol=len(labels))
    fig.suptitle("Which quantity of the dense run predicts the ticket?")
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
        ax.axvline(dense_glorot_std(name), color="black", ls=":", lw=1.2, label="dense Glorot std")
        ax.set_xscale("log")
        ax.set_xlabel("|w|")
        ax.set_title(f"{LAYER_TITLES.get(name, name)}: {100 * float(mask.double().mean()):.1f}% kept", fontsize=10)
    axes[0][0].set_ylabel("fraction of weights per bin")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"Weight magnitudes: dense network vs. {label}")
    return fig
