"""Figures of notebook 7: test error along the line between two copies, and error barriers.

They take the records of :func:`lth_helpers.stability.stability_records` (one per start and seed:
``kind``, ``seed``, ``round``, ``rewind``, ``density``, ``alphas``, ``errors``, ``barrier``) and draw
means over seeds with min-max bands or bars.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from .marks import figure_legend
from .style import BAND_ALPHA, STRATEGY_COLORS, density_ticks, percent_axis, spread_label

__all__ = ["plot_paths", "plot_barriers", "start_label"]

_KIND_COLORS = {"dense": "#7f7f7f", "ticket": STRATEGY_COLORS["original"], "reinit": STRATEGY_COLORS["reinit"]}


def start_label(kind: str, rewind: int, density: float) -> str:
    """``ticket 21.1%, k=500``: how a start is named in legends."""
    where = "dense" if kind == "dense" else f"{kind} {100 * density:.1f}%"
    return f"{where}, {'theta_0' if rewind == 0 else f'k={rewind}'}"


def _groups(records: Sequence[Mapping]) -> dict[tuple, list[Mapping]]:
    groups: dict[tuple, list[Mapping]] = {}
    for r in records:
        groups.setdefault((r["kind"], r["rewind"], r["round"]), []).append(r)
    return groups


def plot_paths(records: Sequence[Mapping], starts: Sequence[tuple[str, int, int]]) -> Figure:
    """Test error (%) along the path from copy A (0) to copy B (1), one line per ``(kind, rewind, round)``."""
    groups = _groups(records)
    fig, ax = plt.subplots(figsize=(7, 4.3), layout="constrained")
    styles = ["-", "--", ":", "-."]
    n_seeds = 1
    for i, key in enumerate(starts):
        found = groups.get(key)
        if not found:
            continue
        errors = 100 * np.array([r["errors"] for r in found])
        alphas = found[0]["alphas"]
        color = _KIND_COLORS[key[0]]
        ax.plot(alphas, errors.mean(0), color=color, ls=styles[i % len(styles)], marker="o", ms=3,
                label=start_label(key[0], key[1], found[0]["density"]))
        ax.fill_between(alphas, errors.min(0), errors.max(0), color=color, alpha=BAND_ALPHA)
        n_seeds = max(n_seeds, len(found))
    ax.set_xlabel("position on the line between the two copies' final weights")
    ax.set_ylabel("test error (%)")
    ax.set_title("Error along the straight path between two copies trained on different data orders")
    figure_legend(fig, [ax], ncol=3, title=f"line: mean; {spread_label(n_seeds)}")
    return fig


def plot_barriers(records: Sequence[Mapping], ticket_rewinds: Sequence[int], stable: float = 0.02) -> Figure:
    """Left: the dense network's error barrier vs. the rewind iteration k. Right: the barrier vs. %
    weights for tickets (reset to theta_0 and rewound) and the random reinit of their masks."""
    groups = _groups(records)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    dense = sorted((key, rows) for key, rows in groups.items() if key[0] == "dense")
    n_seeds = max((len(rows) for rows in groups.values()), default=1)
    if dense:
        ks = [key[1] for key, _ in dense]
        values = [100 * np.array([r["barrier"] for r in rows]) for _, rows in dense]
        x = np.arange(len(ks))
        mean = np.array([v.mean() for v in values])
        left.errorbar(x, mean, yerr=[mean - [v.min() for v in values], [v.max() for v in values] - mean],
                      color=_KIND_COLORS["dense"], marker="o", capsize=3, label="dense network")
        left.set_xticks(x, [str(k) for k in ks])
    left.axhline(100 * stable, color="black", lw=0.8, ls=":", label=f"stable below {100 * stable:.0f} points")
    left.set_xlabel("rewind iteration k (the copies start from the dense network's weights at k)")
    left.set_ylabel("error barrier (points of test error)")
    left.set_title("Dense network")
    percents = []
    for kind, rewinds in (("ticket", ticket_rewinds), ("reinit", [0])):
        for j, k in enumerate(rewinds):
            rows = sorted(((key[2], r) for key, rs in groups.items() if key[0] == kind and key[1] == k for r in rs),
                          key=lambda t: t[0])
            rounds = sorted({n for n, _ in rows})
            if not rounds:
                continue
            by_round = [[100 * r["barrier"] for n, r in rows if n == m] for m in rounds]
            x = np.array([100 * next(r["density"] for n, r in rows if n == m) for m in rounds])
            percents.extend(x)
            mean = np.array([np.mean(v) for v in by_round])
            right.errorbar(x * 1.03 ** (j - 0.5), mean, yerr=[mean - [min(v) for v in by_round],
                                                                 [max(v) for v in by_round] - mean],
                           color=_KIND_COLORS[kind], ls=["-", "--", ":"][j % 3], marker="o", capsize=3,
                           label=f"{kind}, {'theta_0' if k == 0 else f'k={k}'}")
    right.axhline(100 * stable, color="black", lw=0.8, ls=":")
    if percents:
        percent_axis(right, density_ticks(percents))
    right.set_ylabel("error barrier (points of test error)")
    right.set_title("Sparse networks")
    figure_legend(fig, [left, right], ncol=3, title=f"points: mean; {spread_label(n_seeds, 'bars')}")
    return fig
