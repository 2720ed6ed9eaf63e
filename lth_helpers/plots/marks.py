"""Small drawing conventions shared by several figures: marks for zero-length error bars, the
dense network's reference line, and a figure-level legend that never covers data.

Like every view these only draw what they are given; their words come from :mod:`.style`.
"""

from __future__ import annotations

from typing import Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.legend import Legend

from .style import DENSE_REFERENCE_LABEL, TIE_TEXT, ZERO_SPREAD_LABEL

__all__ = ["mark_zero_spread", "dense_reference", "legend_entries", "figure_legend"]


def mark_zero_spread(ax: Axes, x: Sequence[float], mean: Sequence[float], low: Sequence[float],
                     high: Sequence[float], n: Sequence[int] | None = None, tie_text: bool = False,
                     label: str = ZERO_SPREAD_LABEL) -> int:
    """Mark every point whose min-max bar has zero length with a short black tick, so that it
    does not look like a missing bar.

    Only points over several seeds (``n`` > 1, when given) are marked. With ``tie_text``, a point
    at exactly 0 (in a plot of differences: a tie on every seed) also gets the text
    :data:`~.style.TIE_TEXT` under it. The ticks are labelled ``label`` once per axes, for the
    legend. Returns how many points were marked.
    """
    counts = list(n) if n is not None else [2] * len(x)
    picked = [(xi, m) for xi, m, lo, hi, k in zip(x, mean, low, high, counts) if lo == hi and k > 1]
    if not picked:
        return 0
    seen = {line.get_label() for line in ax.lines}
    xs, ys = zip(*picked)
    ax.plot(xs, ys, ls="none", marker="_", ms=12, mew=2.4, color="black", zorder=4,
            label=label if label not in seen else "_" + label)
    if tie_text:
        for xi, yi in picked:
            if yi == 0:
                ax.annotate(TIE_TEXT, (xi, yi), xytext=(0, -6), textcoords="offset points", ha="center", va="top",
                            fontsize=7, annotation_clip=True)
    return len(picked)


def dense_reference(ax: Axes, value: float, label: str = DENSE_REFERENCE_LABEL) -> None:
    """The dense network's value as a horizontal dashed black line across the axes."""
    ax.axhline(value, color="black", ls="--", lw=1.1, zorder=1.5, label=label)


def legend_entries(axes: Sequence[Axes], last: Sequence[str] = (DENSE_REFERENCE_LABEL, ZERO_SPREAD_LABEL)
                   ) -> tuple[list, list[str]]:
    """``(handles, labels)`` of every labelled artist of ``axes``, each label once (the first found),
    in the order drawn except that the labels in ``last`` (reference marks) come after the data."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    rank = {label: i + 1 for i, label in enumerate(last)}
    order = sorted(range(len(labels)), key=lambda i: rank.get(labels[i], 0))  # stable: data first, as drawn
    return [handles[i] for i in order], [labels[i] for i in order]


def figure_legend(fig: Figure, axes: Sequence[Axes], ncol: int | None = None, title: str | None = None,
                  fontsize: float = 8, where: str = "lower") -> Legend | None:
    """One legend for the whole figure, outside the axes (below them, or above with ``where="upper"``).

    Its entries are every labelled artist of ``axes``, each label once (the first one found),
    so a series drawn in several panels appears once. Needs a constrained-layout figure, which
    makes room for it. ``None`` (and no legend) when nothing is labelled.
    """
    handles, labels = legend_entries(axes)
    if not labels:
        return None
    ncol = ncol or min(len(labels), 4) or 1
    return fig.legend(handles, labels, loc=f"outside {where} center", ncol=ncol, fontsize=fontsize, title=title,
                      title_fontsize=fontsize, frameon=False)
