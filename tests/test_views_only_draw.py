"""Plots and widgets only draw: they take data and never reach into experiments or training.

Checked on the source (the import statements), so that a view that starts computing on its own
is caught when it is written, not when its numbers drift from the tables'.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "lth_helpers"
VIEWS = sorted((PACKAGE / "plots").glob("*.py")) + sorted((PACKAGE / "widgets").glob("*.py"))

#: Modules that run or hold experiments and training; a view gets their results as data.
COMPUTE = {"imp", "training", "population", "store", "stages", "retraining", "strategies"}


def _imports(path: Path) -> list[tuple[str, str]]:
    """``(module, name)`` for every ``from module import name`` / ``import module`` in ``path``,
    with relative modules written from the package root (``..results`` -> ``results``)."""
    package = path.parent.relative_to(PACKAGE.parent).parts  # ("lth_helpers", "plots")
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found += [(module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
    return found


def _package_module(module: str) -> str | None:
    """``"results"`` for ``lth_helpers.results``; ``None`` outside the package."""
    parts = module.split(".")
    return ".".join(parts[1:]) if parts[0] == "lth_helpers" else None


@pytest.mark.parametrize("path", VIEWS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_views_import_no_compute_module_and_no_private_name(path: Path) -> None:
    for module, name in _imports(path):
        inside = _package_module(module)
        if inside is None:
            continue
        assert inside.split(".")[0] not in COMPUTE, f"{path.name} imports lth_helpers.{inside}"
        assert not name.startswith("_"), f"{path.name} imports the private name {inside}.{name}"
        assert not name.endswith("Result") or name == "IMPResult", (
            f"{path.name} imports the result type {inside}.{name}: type it loosely (a Protocol)")


@pytest.mark.parametrize("path", sorted((PACKAGE / "plots").glob("*.py")), ids=lambda p: p.name)
def test_plots_do_not_compute_with_the_pruning_sweeps(path: Path) -> None:
    # Figures draw sweep records handed to them; only the explorer widget drives the sweeps.
    assert all(_package_module(module) != "sweeps" for module, _ in _imports(path)), path.name


def test_strategy_names_are_written_in_one_place() -> None:
    # A label such as "random reinit" appears in the style module and nowhere else among the views.
    for path in VIEWS:
        if path.name != "style.py":
            assert '"random reinit"' not in path.read_text(), f"{path.name} spells a strategy label itself"
