"""A scrubber over IMP rounds: pick a round, see its learning curves and its headline numbers.

The work is done by pure functions: :func:`round_view` gathers everything one round shows
(density, early-stopping iteration and accuracy over seeds, averaged learning curves) and
:func:`draw_round` draws it. :func:`round_scrubber` only wires them to an ``IntSlider``; nothing
is trained when the slider moves, so it stays responsive.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..imp import IMPResult
from ..plots.imp import CURVE_METRICS, Curve, _curve_ylim, _draw_curve, round_curve, stats_at
from ..plots.style import STRATEGY_COLORS, STRATEGY_LABELS

#: Plain-text names for the summary line (the figure labels use LaTeX).
TEXT_NAMES = {"original": "winning ticket", "reinit": "random reinit", "fan_corrected": "fan-corrected reinit",
              "random_mask": "random mask", "one_shot": "one-shot"}

__all__ = ["TEXT_NAMES", "RoundView", "round_view", "round_text", "draw_round", "scrubber_ylim", "round_scrubber"]


@dataclass(frozen=True)
class RoundView:
    """What one IMP round shows.

    Attributes:
        round: the IMP round (0 = the dense network).
        density: fraction of weights remaining (0-1).
        metric: the learning-curve entry drawn (e.g. ``"test_acc"``).
        stats: per strategy, ``{"early_stop": {mean, low, high}, "accuracy": {mean, low, high}}``
            over seeds (accuracy = test accuracy at the early-stopping iteration, 0-1).
        curves: per strategy, the learning curve averaged over seeds.
        dense_stats, dense_curve: the same for the dense network (round 0), for reference.
    """

    round: int
    density: float
    metric: str
    stats: dict[str, dict[str, dict[str, float]]]
    curves: dict[str, Curve]
    dense_stats: dict[str, dict[str, float]]
    dense_curve: Curve

    @property
    def text(self) -> str:
        """The one-line summary shown under the slider."""
        return round_text(self)


def _stats(result: IMPResult, strategy: str, round_: int) -> dict[str, dict[str, float]]:
    out = {}
    for name, metric in (("early_stop", "early_stop_iteration"), ("accuracy", "test_acc_at_early_stop")):
        s = stats_at(result, strategy, round_, metric)
        out[name] = {"mean": s["mean"], "low": s["low"], "high": s["high"], "n": s["n"]}
    return out


def round_view(result: IMPResult, round_: int, strategies: Sequence[str] = ("original",),
               metric: str = "test_acc") -> RoundView:
    """Gather everything the scrubber shows for one round.

    Raises:
        ValueError: ``round_`` outside ``0..result.config.rounds``, a strategy the result does
            not hold, or an unknown learning-curve metric.
    """
    last = result.config.rounds
    if isinstance(round_, bool) or not isinstance(round_, int) or not 0 <= round_ <= last:
        raise ValueError(f"round must be an integer in 0..{last} (the rounds this run has), got {round_!r}")
    if metric not in CURVE_METRICS:
        raise ValueError(f"unknown metric {metric!r}: expected one of {', '.join(CURVE_METRICS)}")
    unknown = [s for s in strategies if s not in result.config.strategies]
    if unknown or not strategies:
        raise ValueError(f"unknown strategy {unknown[0] if unknown else None!r}: this run has "
                         f"{', '.join(result.config.strategies)}")
    density = result.select(strategy="original", round_=round_)[0]["density"]
    return RoundView(
        round=round_, density=density, metric=metric,
        stats={s: _stats(result, s, round_) for s in strategies},
        curves={s: round_curve(result, s, round_, metric) for s in strategies},
        dense_stats=_stats(result, "original", 0),
        dense_curve=round_curve(result, "original", 0, metric),
    )


def _spread(values: dict[str, float], fmt: str, scale: float = 1.0, unit: str = "") -> str:
    """``mean`` followed by ``(min-max)`` over seeds when there is more than one seed."""
    text = format(scale * values["mean"], fmt) + unit
    if values["n"] > 1:
        text += f" ({format(scale * values['low'], fmt)}-{format(scale * values['high'], fmt)}{unit})"
    return text


def round_text(view: RoundView) -> str:
    """One line: round, % of weights left, and per strategy the early-stopping iteration and
    the test accuracy there (mean, with min-max over seeds in brackets), then the dense
    network's for reference."""
    parts = [f"Round {view.round}: {100 * view.density:.1f}% of weights remaining"]
    for strategy, stats in view.stats.items():
        name = "dense network" if view.round == 0 else TEXT_NAMES.get(strategy, strategy)
        parts.append(f"{name}: early stop at iteration {_spread(stats['early_stop'], ',.0f')}, "
                     f"test accuracy {_spread(stats['accuracy'], '.2f', 100, '%')}")
        if view.round == 0:
            break  # every strategy is the same dense network at round 0
    if view.round != 0:
        d = view.dense_stats
        parts.append(f"dense: {_spread(d['early_stop'], ',.0f')} iterations, {_spread(d['accuracy'], '.2f', 100, '%')}")
    return " | ".join(parts)


def scrubber_ylim(result: IMPResult, strategies: Sequence[str] = ("original",),
                  metric: str = "test_acc") -> tuple[float, float]:
    """One y range that fits every round, so that curves can be compared while scrubbing."""
    curves = [round_curve(result, s, n, metric) for n in range(result.config.rounds + 1) for s in strategies]
    return _curve_ylim(curves, 100.0 if "acc" in metric else 1.0)


def draw_round(view: RoundView, ax: Axes | None = None, ylim: tuple[float, float] | None = None) -> Figure:
    """Learning curves of one round (solid, with min-max band), the dense network dashed, and a
    dot at each mean early-stopping iteration."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 4.2), layout="constrained")
    else:
        fig = ax.figure
    k = 100.0 if "acc" in view.metric else 1.0
    curves = [view.dense_curve]
    if view.round != 0:
        _draw_curve(ax, view.dense_curve, k, "black", "dense network (100%)", "--")
    for strategy, curve in view.curves.items():
        color = "black" if view.round == 0 else STRATEGY_COLORS.get(strategy, "gray")
        label = "dense network (100%)" if view.round == 0 else STRATEGY_LABELS.get(strategy, strategy)
        _draw_curve(ax, curve, k, color, label)
        es = view.stats[strategy]["early_stop"]["mean"]
        # The curve's value at the evaluation nearest the mean early-stopping iteration.
        i = min(range(len(curve.iterations)), key=lambda j: abs(curve.iterations[j] - es))
        ax.plot([es], [k * curve.mean[i]], "o", color=color, ms=7, mec="white")
        curves.append(curve)
        if view.round == 0:
            break
    ax.set_ylim(*(ylim or _curve_ylim(curves, k)))
    ax.set_xlabel("training iteration")
    ax.set_ylabel(CURVE_METRICS[view.metric])
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"Round {view.round}: {100 * view.density:.1f}% of weights remaining (dot: mean early stop)",
                 fontsize=10)
    return fig


def round_scrubber(result: IMPResult, strategies: Sequence[str] = ("original",), metric: str = "test_acc",
                   start: int | None = None):
    """An ``IntSlider`` over the rounds of ``result`` (with a play button) that redraws the round's
    learning curves and prints its summary line. Returns the widget box to display."""
    import ipywidgets as widgets
    from IPython.display import display

    last = result.config.rounds
    start = min(7, last) if start is None else start
    round_view(result, start, strategies, metric)  # validate the arguments before building widgets
    ylim = scrubber_ylim(result, strategies, metric)
    slider = widgets.IntSlider(value=start, min=0, max=last, step=1, description="IMP round",
                               continuous_update=False, style={"description_width": "initial"})
    play = widgets.Play(value=start, min=0, max=last, step=1, interval=900, description="play the rounds")
    widgets.jslink((play, "value"), (slider, "value"))
    label = widgets.HTML()
    out = widgets.Output()

    def redraw(change=None) -> None:
        view = round_view(result, slider.value, strategies, metric)
        label.value = f"<code>{view.text}</code>"
        with out:
            out.clear_output(wait=True)
            fig = draw_round(view, ylim=ylim)
            display(fig)
            plt.close(fig)  # keep one figure alive, not one per slider tick

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([play, slider]), label, out])
