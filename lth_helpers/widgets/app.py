"""The companion's app: the main results in a few tabs, opened from a snapshot in seconds.

``app/explorer.ipynb`` (run with Voila, or in JupyterLab) calls :func:`explorer_app`. Nothing is
trained when it opens: the first tab prunes a dense network that was trained for the committed
``standard`` run, and the others draw that run's records and learning curves, all read from the
snapshot shipped with the package (:mod:`lth_helpers.snapshot`). The last tab retrains a small
experiment live for readers who want to see it happen.

For scripted checks the parts carry CSS classes: the tabs ``lth-app``, the strategy checkboxes
``lth-app-strategies``, the retrain button ``lth-app-retrain`` and its status ``lth-app-status``.
"""

from __future__ import annotations

import tempfile
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt

from ..data import MNISTData
from ..plots.imp import plot_imp_overview
from ..plots.style import STRATEGY_LABELS
from ..snapshot import Snapshot, load_snapshot
from .pruning import figure_output, prune_rate_explorer
from .rounds import round_scrubber

__all__ = ["explorer_app", "APP_STRATEGIES"]

#: The strategies the results tab offers, and those it shows first.
APP_STRATEGIES: tuple[str, ...] = ("original", "reinit", "random_mask", "fan_corrected", "ticket_scale", "shuffled",
                                   "one_shot")
_SHOWN_FIRST = ("original", "reinit", "random_mask")


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


def _retrain_tab(data: MNISTData, strategies: Sequence[str] = _SHOWN_FIRST) -> widgets.Widget:
    """A button that trains a small IMP experiment now (size ``quick``, one seed) and draws it."""
    from ..imp import make_config, run_imp

    button = widgets.Button(description="train now (quick size, about a minute)", button_style="primary",
                            layout=widgets.Layout(width="320px"))
    button.add_class("lth-app-retrain")
    status = widgets.HTML("Trains the ticket and its controls for 2 rounds of 150 iterations, on this machine.")
    status.add_class("lth-app-status")
    output = widgets.Output()

    def retrain(_button=None) -> None:
        button.disabled = True
        status.value = "<b>training...</b> (the figure appears when it is done)"
        try:
            with tempfile.TemporaryDirectory() as folder:
                result = run_imp(make_config("quick", strategies, 1), data, folder, progress=False, verbose=False)
            fig = plot_imp_overview(result, strategies, title="Trained just now at size 'quick' (one seed)")
            output.outputs = (figure_output(fig),)
            plt.close(fig)
            status.value = f"done: {result.computed} networks trained."
        finally:
            button.disabled = False

    button.on_click(retrain)
    return widgets.VBox([button, status, output])


def explorer_app(snapshot: Snapshot | None = None, data: MNISTData | None = None) -> widgets.Widget:
    """The app: four tabs over ``snapshot`` (default: the one shipped with the package).

    ``data`` (default: the offline digits) is what the prune-rate slider evaluates on and what the
    live retraining trains on; it must be the run's own data for the slider's numbers to match.
    """
    snapshot = snapshot if snapshot is not None else load_snapshot()
    if data is None:
        from ..data import load_mnist

        data = load_mnist("offline")
    if data.source != snapshot.result.data_source:
        raise ValueError(f"data {data.source!r} is not the snapshot's ({snapshot.result.data_source!r})")
    header = widgets.HTML(f"<small>Results from the committed run: {snapshot.describe()}.</small>")
    tabs = widgets.Tab(children=[
        prune_rate_explorer(snapshot.dense_model(), data),
        _results_tab(snapshot),
        round_scrubber(snapshot.result, _SHOWN_FIRST),
        _retrain_tab(data),
    ])
    tabs.titles = ("Pruning", "Tickets vs. controls", "Curves by round", "Retrain live")
    tabs.add_class("lth-app")
    return widgets.VBox([header, tabs])
