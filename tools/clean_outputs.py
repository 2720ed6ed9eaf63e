#!/usr/bin/env python
"""Remove finished progress bars from executed notebooks before they are committed.

A tqdm bar in a notebook is a widget; once the kernel is gone, a saved notebook shows its text
fallback, which reads like a stalled run ("dense network: 0%| | 0/4000"). The bars close
themselves when their work is done, so removing them loses nothing. Progress text that tqdm
wrote to stderr (outside Jupyter) is removed the same way. Every other output stays.

    python tools/clean_outputs.py notebooks/*.ipynb
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

WIDGET = "application/vnd.jupyter.widget-view+json"
# tqdm's text: "desc: 37%|###7      | 1480/4000 [00:03<00:05, 450it/s]" (the bar may be empty).
BAR = re.compile(r"\d+%\|.*\|\s*\d[\d,.]*[kM]?/\d[\d,.]*[kM]?")


def is_progress_bar(output: dict) -> bool:
    """A saved tqdm bar: a widget whose text fallback is a bar, or bar text on stderr."""
    if output.get("output_type") == "stream" and output.get("name") == "stderr":
        text = "".join(output.get("text", ""))
        return all(BAR.search(line) or not line.strip() for line in re.split(r"[\r\n]", text))
    data = output.get("data", {})
    if WIDGET in data:
        text = "".join(data.get("text/plain", ""))
        return bool(BAR.search(text)) or text.strip().startswith("HBox(children=(HTML(value=")
    return False


def clean(path: Path) -> int:
    """Remove progress bars from one notebook in place; return how many outputs were removed."""
    notebook = json.loads(path.read_text())
    removed = 0
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        kept = [o for o in cell.get("outputs", []) if not is_progress_bar(o)]
        removed += len(cell.get("outputs", [])) - len(kept)
        cell["outputs"] = kept
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return removed


def main(paths: list[str]) -> int:
    for name in paths:
        print(f"{name}: {clean(Path(name))} progress bar output(s) removed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
