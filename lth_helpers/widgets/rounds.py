"""A scrubber over IMP rounds: pick a round, see its learning curves and its headline numbers.

The widget only wires three pure functions to an ``IntSlider``:
:func:`lth_helpers.comparisons.round_view` gathers what one round shows,
:func:`lth_helpers.tables.round_text` says it in one line and
:func:`lth_helpers.plots.curves.plot_round` draws it. Nothing is trained when the slider moves,
so it stays responsive.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt

from ..comparisons import round_view
from ..plots.curves import plot_round, shared_ylim
from ..results import IMPResult
from ..tables import round_text

__all__ = ["round_scrubber"]


def round_scrubber(result: IMPResult, strategies: Sequence[str] = ("original",), metric: str = "val_acc",
                   start: int | None = None):
    """An ``IntSlider`` over the rounds of ``result`` (with a play button) that redraws the round's
    learning curves and prints its summary line. Returns the widget box to display.

    Raises ``ValueError`` (before any widget is built) for a start round, strategy or metric the
    run does not have.
    """
    import ipywidgets as widgets

    from .fallback import FallbackBox
    from .pruning import figure_output

    last = result.config.rounds
    start = min(7, last) if start is None else start
    round_view(result, start, strategies, metric)  # validate the arguments before building widgets
    ylim = shared_ylim(result, strategies, metric)  # one scale for every round, so rounds compare
    slider = widgets.IntSlider(value=start, min=0, max=last, step=1, description="IMP round",
                               continuous_update=False, style={"description_width": "initial"})
    play = widgets.Play(value=start, min=0, max=last, step=1, interval=900, description="play the rounds")
    widgets.jslink((play, "value"), (slider, "value"))
    label = widgets.HTML()
    out = widgets.Output()

    def redraw(change=None) -> None:
        view = round_view(result, slider.value, strategies, metric)
        label.value = f"<code>{round_text(view)}</code>"
        fig = plot_round(view, ylim=ylim)
        try:
            # Set as the output's content (not captured from a display call): it then works, and is
            # saved with the notebook, whether or not a browser is attached.
            out.outputs = (figure_output(fig),)
        finally:
            plt.close(fig)  # keep one figure alive, not one per slider tick

    slider.observe(redraw, names="value")
    redraw()
    return FallbackBox([widgets.HBox([play, slider]), label, out], still=out,
                       text="IMP round scrubber (a slider; the picture shows it as it was saved: run the notebook to move it)")
