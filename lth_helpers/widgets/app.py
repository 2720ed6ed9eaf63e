"""The companion's app: the main results in a few tabs, opened from a snapshot in seconds.

``app/explorer.ipynb`` (run with Voila, or in JupyterLab) calls :func:`lth_helpers.notebook.explorer`,
which loads what :func:`explorer_app` shows. Nothing is
trained when it opens: the first tab prunes a dense network that was trained for the committed
``standard`` run, and the others draw that run's records and learning curves, all read from the
snapshot shipped with the package (:mod:`lth_helpers.snapshot`). The last tab retrains a small
experiment live for readers who want to see it happen.

For scripted checks the parts carry CSS classes: the tabs ``lth-app``, the strategy checkboxes
``lth-app-strategies``, the retrain button ``lth-app-retrain`` and its status ``lth-app-status``.
"""

from __future__ import annotations

from typing import Callable, Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..data import MNISTData
from ..plots.imp import plot_imp_overview
from ..plots.style import STRATEGY_LABELS
from ..results import IMPResult
from ..snapshot import Snapshot
from .pruning import figure_output, prune_rate_explorer
from .rounds import round_scrubber

__all__ = ["explorer_app", "APP_STRATEGIES", "APP_RETRAIN_STRATEGIES"]

#: The strategies the results tab offers, and those it shows first.
APP_STRATEGIES: tuple[str, ...] = ("original", "reinit", "random_mask", "fan_corrected", "ticket_scale", "shuffled",
                                   "one_shot")
_SHOWN_FIRST = ("original", "reinit", "random_mask")
#: What the live retraining trains: the ticket and the paper's two controls.
APP_RETRAIN_STRATEGIES = _SHOWN_FIRST


def _results_tab(snapshot: Snapshot) -> widgets.Widget:
    """Accuracy and early stopping vs. % weights, with a checkbox per strategy."""
    present = [s for s in APP_STRATEGIES if snapshot.result.select(strategy=s)]
    boxes = {s: widgets.Checkbox(value=s in _SHOWN_FIRST, description=STRATEGY_LABELS[s].replace("$\\theta_0$", "θ₀"),
                                 indent=False, layout=widgets.Layout(width="auto")) for s in present}
    output = widgets.Output()

    def redraw(_change=None) -> None:
        chosen = [s for s in present if boxes[s].value] or ["original"]
        fig = plot_imp_overview(snapshot.result, chosen, title="Test accuracy and early stopping vs. weights remaining")
        try:
            output.outputs = (figure_output(fig, dpi=100),)
        finally:
            plt.close(fig)

    for box in boxes.values():
        box.observe(redraw, names="value")
    redraw()
    choices = widgets.HBox(list(boxes.values()), layout=widgets.Layout(flex_flow="row wrap"))
    choices.add_class("lth-app-strategies")
    return widgets.VBox([choices, output])


def _retrain_tab(retrain: Callable[[], IMPResult], strategies: Sequence[str]) -> widgets.Widget:
    """A button that calls ``retrain`` (a small IMP experiment, trained now) and draws its result."""
    button = widgets.Button(description="train now (quick size, about a minute)", button_style="primary",
                            layout=widgets.Layout(width="320px"))
    button.add_class("lth-app-retrain")
    status = widgets.HTML("Trains the ticket and its controls for 2 rounds of 150 iterations, on this machine.")
    status.add_class("lth-app-status")
    output = widgets.Output()

    def on_click(_button=None) -> None:
        button.disabled = True
        status.value = "<b>training...</b> (the figure appears when it is done)"
        try:
            result = retrain()
            fig = plot_imp_overview(result, strategies, title="Trained just now at size 'quick' (one seed)")
            output.outputs = (figure_output(fig, dpi=100),)
            plt.close(fig)
            status.value = f"done: {result.computed} networks trained."
        finally:
            button.disabled = False

    button.on_click(on_click)
    return widgets.VBox([button, status, output])


def explorer_app(snapshot: Snapshot, data: MNISTData, retrain: Callable[[], IMPResult]) -> widgets.Widget:
    """The app: four tabs over ``snapshot``.

    ``data`` is what the prune-rate slider evaluates on; it must be the run's own data for the
    slider's numbers to match. ``retrain`` trains a small experiment when the last tab's button
    is pressed (:func:`lth_helpers.notebook.explorer` builds all three).
    """
    if data.source != snapshot.result.data_source:
        raise ValueError(f"data {data.source!r} is not the snapshot's ({snapshot.result.data_source!r})")
    header = widgets.HTML(f"<small>Results from the committed run: {snapshot.describe()}.</small>")
    # The first tab is built now; the others when first opened, so that the slider comes up fast.
    builders = [lambda: _results_tab(snapshot), lambda: round_scrubber(snapshot.result, _SHOWN_FIRST),
                lambda: _retrain_tab(retrain, _SHOWN_FIRST)]
    later = [widgets.VBox() for _ in builders]
    explorer = prune_rate_explorer(snapshot.dense_model(), data, curve=snapshot.sweep or None)
    tabs = widgets.Tab(children=[explorer, *later])
    tabs.titles = ("Pruning", "Tickets vs. controls", "Curves by round", "Retrain live")

    def build_on_first_visit(change) -> None:
        index = change["new"]
        if index and not later[index - 1].children:
            later[index - 1].children = (builders[index - 1](),)

    tabs.observe(build_on_first_visit, names="selected_index")
    tabs.add_class("lth-app")
    return widgets.VBox([header, tabs])
