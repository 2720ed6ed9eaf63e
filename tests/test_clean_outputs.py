"""tools/clean_outputs.py removes saved progress bars and nothing else."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("clean_outputs", ROOT / "tools" / "clean_outputs.py")
clean_outputs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(clean_outputs)

WIDGET = "application/vnd.jupyter.widget-view+json"


def _widget(text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {WIDGET: {"model_id": "x", "version_major": 2, "version_minor": 0}, "text/plain": text}}


def test_only_progress_bars_are_removed(tmp_path):
    bar = _widget("IMP rounds:   0%|          | 0/51 [00:00<?, ?round/s]")
    slider = _widget("VBox(children=(HBox(children=(Play(value=2, description='play the rounds'),)),))")
    printed = {"output_type": "stream", "name": "stdout", "text": ["round 1: 80.0% of the weights\n"]}
    stderr_bar = {"output_type": "stream", "name": "stderr", "text": ["dense network: 100%|##########| 4000/4000\r\n"]}
    warning = {"output_type": "stream", "name": "stderr", "text": ["UserWarning: something a reader should see\n"]}
    notebook = {"cells": [{"cell_type": "code", "outputs": [bar, slider, printed, stderr_bar, warning], "source": []},
                          {"cell_type": "markdown", "source": ["# title"]}], "metadata": {}, "nbformat": 4,
                "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(notebook))
    assert clean_outputs.clean(path) == 2
    kept = json.loads(path.read_text())["cells"][0]["outputs"]
    assert kept == [slider, printed, warning]
