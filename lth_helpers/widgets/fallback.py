"""A widget box that also carries a still image of itself, for pages that cannot run widgets.

A saved notebook keeps a displayed widget as its widget-view output plus a ``text/plain``
stand-in, which GitHub and other static viewers show as ``VBox(children=(HBox(...``. A
:class:`FallbackBox` adds the figure the widget showed when it was displayed (``image/png``) and
a plain sentence instead: front ends that run widgets (JupyterLab, Voila, Colab) pick the live
widget, static ones pick the picture.
"""

from __future__ import annotations

import ipywidgets as widgets

__all__ = ["FallbackBox", "first_image"]


def first_image(output: widgets.Output) -> str | None:
    """The base64 PNG an ``Output`` widget shows (set through its ``outputs``), if any."""
    for item in output.outputs:
        png = item.get("data", {}).get("image/png")
        if png:
            return png
    return None


class FallbackBox(widgets.VBox):
    """A ``VBox`` whose saved form has a still image and a sentence besides the live widget."""

    def __init__(self, children, still: widgets.Output | None = None, text: str = "", **kwargs) -> None:
        super().__init__(children, **kwargs)
        self._still_source = still
        self._still_text = text

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        png = first_image(self._still_source) if self._still_source is not None else None
        if png:
            bundle["image/png"] = png
        if self._still_text:
            bundle["text/plain"] = self._still_text
        return bundle
