"""The prune-rate explorer of notebook 1: a slider that re-prunes a trained network, no retraining.

Moving the slider calls :func:`lth_helpers.sweeps.prune_and_evaluate` (masks and accuracies
from the trained weights, a few milliseconds) and redraws
:func:`lth_helpers.plots.explorer.plot_explorer`. The widget itself only wires these together.

For scripted checks (e.g. a browser test) the parts carry CSS classes: the slider
``lth-prune-rate`` (description "prune rate"), the method dropdown ``lth-prune-method``, the
accuracy text ``lth-prune-accuracy`` and the figure ``lth-prune-figure``.
"""

from __future__ import annotations

import base64
import io
from typing import Sequence

import ipywidgets as widgets
import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from ..data import MNISTData
from ..models import LAYER_NAMES, LeNet300100
from ..plots.explorer import Pruning, plot_explorer
from ..plots.style import METHOD_LABELS
from ..pruning import check_rate
from .fallback import FallbackBox
from ..sweeps import METHODS, TrainedNet, check_method, default_densities, prune_and_evaluate, sweep

__all__ = ["explorer_text", "figure_output", "prune_rate_explorer", "MAX_PRUNE_RATE"]

#: The slider stops at 99% pruned (1% of the weights left); past that, every method is at chance.
MAX_PRUNE_RATE = 0.99


def explorer_text(result: Pruning) -> str:
    """The one-line (HTML) summary the explorer shows above its figure.

    It always starts with ``test accuracy: XX.XX% at YY.Y% weights remaining``.
    """
    layers = ", ".join(f"{n} {100 * result.layer_density[n]:.1f}%" for n in LAYER_NAMES)
    return (
        f"<b>test accuracy: {100 * result.test_acc:.2f}% at {100 * result.density:.1f}% weights remaining</b>"
        f" &nbsp;(validation {100 * result.val_acc:.2f}%; {METHOD_LABELS[result.method]}: {layers} kept)"
    )


def figure_output(fig: Figure, dpi: int = 80) -> dict:
    """A Jupyter ``display_data`` output holding ``fig`` as a PNG.

    Setting an ``Output`` widget's ``outputs`` to this works with or without a browser attached
    (no dependence on the front end capturing messages), and the PNG changes whenever the
    figure does.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": png, "text/plain": "<prune-rate explorer figure>"}}


def prune_rate_explorer(model: LeNet300100, data: MNISTData, prune_rate: float = 0.8, method: str = "layerwise",
                        curve: Sequence[dict] | None = None) -> widgets.Widget:
    """A slider for the prune rate and a dropdown for the method over a trained ``model``.

    Args:
        model: the trained dense network (its weights are copied; it is not modified).
        data: evaluated on its validation and test sets at every move.
        prune_rate: initial fraction of all weights to remove, in [0, 0.99].
        method: initial method, one of :data:`lth_helpers.sweeps.METHODS`.
        curve: sweep records (:func:`lth_helpers.sweeps.sweep`) for the accuracy panel; a
            method's curve missing from them is computed the first time it is shown.

    Returns:
        A ``VBox`` (CSS class ``lth-prune-explorer``) holding the slider, the dropdown, the
        accuracy text and the figure.
    """
    rate = check_rate(prune_rate)
    if rate > MAX_PRUNE_RATE:
        raise ValueError(f"prune_rate must be in [0, {MAX_PRUNE_RATE}], got {prune_rate!r}")
    check_method(method)
    net = TrainedNet.from_model(model)
    dense_acc = prune_and_evaluate(net, data, 0.0).test_acc  # nothing pruned: the dense network
    curves: dict[str, list[dict]] = {}
    for record in curve or ():
        curves.setdefault(record["method"], []).append(record)

    def curve_for(m: str) -> list[dict]:
        if m not in curves:
            curves[m] = sweep(net, data, default_densities(20), methods=(m,))
        return curves[m]

    slider = widgets.FloatSlider(value=rate, min=0.0, max=MAX_PRUNE_RATE, step=0.01, description="prune rate",
                                 continuous_update=False, readout_format=".2f",
                                 style={"description_width": "initial"},
                                 layout=widgets.Layout(width="420px"))
    slider.add_class("lth-prune-rate")
    dropdown = widgets.Dropdown(options=[(METHOD_LABELS[m], m) for m in METHODS], value=method,
                                description="method", layout=widgets.Layout(width="340px"))
    dropdown.add_class("lth-prune-method")
    text = widgets.HTML()
    text.add_class("lth-prune-accuracy")
    output = widgets.Output()
    output.add_class("lth-prune-figure")

    def redraw(_change=None) -> None:
        result = prune_and_evaluate(net, data, slider.value, dropdown.value)
        text.value = explorer_text(result)
        fig = plot_explorer(result, net.weights, curve_for(dropdown.value), dense_acc)
        try:
            output.outputs = (figure_output(fig),)
        finally:
            plt.close(fig)

    slider.observe(redraw, names="value")
    dropdown.observe(redraw, names="value")
    redraw()
    box = FallbackBox([widgets.HBox([slider, dropdown]), text, output], still=output,
                      text="prune-rate explorer (a slider; the picture shows it as it was saved: run the notebook to move it)")
    box.add_class("lth-prune-explorer")
    return box
