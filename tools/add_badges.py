#!/usr/bin/env python
"""Put each notebook's own "Open in Colab" and Binder badges into its first markdown cell.

The first markdown cell of a notebook holds a line ``<!-- badges -->`` where the badges go.
This script replaces that line with the badges of *that* notebook. Running it again rewrites
the badge line in place (so a renamed notebook gets its new links) and changes nothing else:
it is idempotent, and a notebook whose badge line is already right is not rewritten.

Usage::

    python tools/add_badges.py             # every notebooks/*.ipynb
    python tools/add_badges.py --check     # exit 1 if a notebook still needs its badges
    python tools/add_badges.py notebooks/01_pruning_basics.ipynb
    python tools/add_badges.py --readme    # print the README's badges and notebook list
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from urllib.parse import quote

import nbformat

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "lth-companion/lottery-ticket-companion"
BRANCH = "main"
MARKER = "<!-- badges -->"

COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_BADGE_IMAGE = "https://mybinder.org/badge_logo.svg"

# A line that this script wrote earlier: it starts with the Colab badge.
_BADGE_LINE = re.compile(r"^\s*\[!\[Open In Colab\]\(" + re.escape(COLAB_BADGE_IMAGE) + r"\)\]")


def colab_url(notebook: str) -> str:
    """Colab link that opens ``notebook`` (a path relative to the repository root)."""
    if not notebook.endswith(".ipynb") or notebook.startswith("/"):
        raise ValueError(f"notebook must be a relative path to an .ipynb file, got {notebook!r}")
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/{notebook}"


def binder_url(notebook: str) -> str:
    """Binder link that builds the repository and opens ``notebook`` in JupyterLab."""
    if not notebook.endswith(".ipynb") or notebook.startswith("/"):
        raise ValueError(f"notebook must be a relative path to an .ipynb file, got {notebook!r}")
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?labpath={quote(notebook, safe='')}"


def badge_line(notebook: str) -> str:
    """The markdown badge line for ``notebook`` (relative path, e.g. notebooks/01_x.ipynb)."""
    return (f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({colab_url(notebook)}) "
            f"[![Binder]({BINDER_BADGE_IMAGE})]({binder_url(notebook)})")


def add_badges(source: str, notebook: str) -> str:
    """Return the markdown ``source`` with its marker or old badge line replaced by
    ``notebook``'s badges. Text without either comes back unchanged."""
    line = badge_line(notebook)
    lines = source.split("\n")
    changed = [line if (raw.strip() == MARKER or _BADGE_LINE.match(raw)) else raw for raw in lines]
    return "\n".join(changed)


def relative_name(path: Path) -> str:
    """Path of a notebook relative to the repository root, with forward slashes."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        raise ValueError(f"{path} is not inside the repository {ROOT}") from None


def process(path: Path, check: bool = False) -> bool:
    """Badge the first markdown cell of the notebook at ``path``.

    Returns True when the notebook needed a change (written unless ``check``)."""
    nb = nbformat.read(path, as_version=4)
    first_markdown = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if first_markdown is None:
        return False
    new_source = add_badges(first_markdown.source, relative_name(path))
    if new_source == first_markdown.source:
        return False
    if not check:
        first_markdown.source = new_source
        nbformat.write(nb, path)
    return True


def notebook_title(path: Path) -> str:
    """The text of the first ``# heading`` of the notebook, without its number."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(?:\d+\.\s*)?(.+?)\s*$", cell.source, flags=re.MULTILINE)
            if match:
                return match.group(1)
    raise ValueError(f"{path} has no '# title' heading in its markdown cells")


def readme_block(paths: list[Path]) -> str:
    """Markdown for the README: a Binder badge opening the first notebook in JupyterLab,
    then one line per notebook with its own Colab and Binder badges."""
    if not paths:
        raise ValueError("no notebooks given: expected at least one notebooks/*.ipynb")
    names = [relative_name(path) for path in paths]
    lines = [f"[![Binder]({BINDER_BADGE_IMAGE})]({binder_url(names[0])}) "
             f"[![Open In Colab]({COLAB_BADGE_IMAGE})]({colab_url(names[0])})", ""]
    for path, name in zip(paths, names):
        # The number is the file's own (06, 08, ...): a Markdown ordered list would renumber a gap.
        number = int(path.name.split("_")[0]) if path.name.split("_")[0].isdigit() else "-"
        lines.append(f"- {number}\\. [{notebook_title(path)}]({name}) {badge_line(name)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to badge (default: notebooks/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if some notebook would change")
    parser.add_argument("--readme", action="store_true",
                        help="change nothing; print the README's badge line and notebook list")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    if args.readme:
        print(readme_block(paths))
        return 0
    stale = []
    for path in paths:
        if process(path, check=args.check):
            stale.append(path)
            print(f"{'needs badges' if args.check else 'badged'}: {relative_name(path)}")
    if not stale:
        print(f"{len(paths)} notebook(s) checked, all badges up to date")
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
