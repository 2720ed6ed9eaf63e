"""The companion builds as a static website (Jupyter Book 1.x) with launch buttons.

The README's command is::

    jupyter-book build . --config book/_config.yml --toc book/_toc.yml

This test runs the same build into a temporary folder and reads the pages a visitor gets:
an introduction that links every notebook, and one page per notebook with its title, its
committed outputs (figures included: the site does not execute anything) and buttons that open
it on Binder and on Colab.
"""
from __future__ import annotations

import html
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REPOSITORY = "lth-companion/lottery-ticket-companion"
BRANCH = "main"
# Not a speed budget (timings belong to benchmarks/): only a guard so that a hung build fails
# the suite instead of stalling it.
HANG_GUARD_S = 1800


def notebook_title(path: Path) -> str:
    """The first level-1 heading of the notebook's first markdown cell."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+?)\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1)
    raise AssertionError(f"{path.name} has no '# title' heading")


def image_outputs(path: Path) -> int:
    """How many images the committed outputs of the notebook hold (outside widgets: a widget's
    still image is what static viewers show; the site renders the widget from its saved state)."""
    nb = nbformat.read(path, as_version=4)
    return sum(1 for cell in nb.cells if cell.cell_type == "code"
               for output in cell.get("outputs", [])
               if any(key.startswith("image/") for key in output.get("data", {}))
               and "application/vnd.jupyter.widget-view+json" not in output.get("data", {}))


def _words(text: str) -> str:
    """Text reduced to its words (the site turns quotes curly and drops markdown marks)."""
    return " ".join(re.findall(r"[A-Za-z0-9.]+", text.replace("\u2019", "'").replace("'", "")))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """Build the site once into a temporary folder; return its html folder."""
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip("jupyter-book is not installed (pip install -r requirements.txt)")
    out = tmp_path_factory.mktemp("site")
    command = [
        sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
        "build", str(ROOT), "--config", str(ROOT / "book" / "_config.yml"),
        "--toc", str(ROOT / "book" / "_toc.yml"), "--path-output", str(out),
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert result.returncode == 0 and "build succeeded" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-3000:])
    return out / "_build" / "html"


def test_site_has_an_entry_page_linking_every_notebook(site: Path) -> None:
    assert (site / "index.html").is_file()
    intro = (site / "book" / "intro.html").read_text()
    assert "Lottery Ticket" in intro
    for notebook in NOTEBOOKS:
        assert f"../notebooks/{notebook.stem}.html" in intro, f"no link to {notebook.name}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_page_has_title_outputs_and_launch_buttons(site: Path, notebook: Path) -> None:
    page_path = site / "notebooks" / f"{notebook.stem}.html"
    assert page_path.is_file(), f"no page for {notebook.name}"
    page = page_path.read_text()
    title = html.unescape(re.search(r"<title>(.*?)</title>", page, flags=re.S).group(1))
    assert _words(title).startswith(_words(notebook_title(notebook))), title
    name = f"notebooks/{notebook.name}"
    binder = f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/{name}"
    colab = f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{name}"
    assert binder in page, f"no Binder launch button for {name}"
    assert colab in page, f"no Colab launch button for {name}"
    # Committed outputs are shown, figures too (every image output becomes an <img>).
    images = image_outputs(notebook)
    assert len(re.findall(r"<img\b[^>]*src=\"\.\./_images/", page)) >= images, (
        f"{name}: {images} figures in the notebook, fewer on the page")
