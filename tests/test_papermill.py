"""Papermill parameters reach the notebooks: ``-p size quick`` runs a notebook at quick size.

Papermill inserts its own cell of parameters right *after* the cell tagged ``parameters``, so that
cell may only hold assignments: anything computed from the parameters (``nb = setup(size)``)
has to come later, or it would run with the defaults. ``LTH_QUICK`` is switched off for the
kernel here, so that only the parameter can make the notebook quick.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _parameters_cell(nb: nbformat.NotebookNode) -> int:
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"expected one cell tagged 'parameters', found {len(tagged)}"
    return tagged[0]


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_parameters_cell_holds_assignments_only(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    cell = nb.cells[_parameters_cell(nb)]
    statements = ast.parse(cell.source).body
    assert statements, f"{path.name}: the parameters cell is empty"
    for statement in statements:
        assert isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant), (
            f"{path.name}: the parameters cell may only assign constants, found {ast.unparse(statement)!r}")


def test_papermill_size_parameter_is_honoured(tmp_path, monkeypatch) -> None:
    papermill = pytest.importorskip("papermill")
    monkeypatch.setenv("LTH_QUICK", "0")  # the kernel inherits this: only `-p size quick` may make it quick
    output = tmp_path / "01_quick.ipynb"
    # The notebooks' own folder as working directory, as nbval runs them (data and results under it).
    papermill.execute_notebook(str(NOTEBOOKS / "01_pruning_basics.ipynb"), str(output), parameters={"size": "quick"},
                               cwd=str(NOTEBOOKS), progress_bar=False, kernel_name="python3")
    nb = nbformat.read(output, as_version=4)
    index = _parameters_cell(nb)
    injected = nb.cells[index + 1]
    assert "injected-parameters" in injected.metadata.get("tags", []) and 'size = "quick"' in injected.source
    printed = "".join(o.get("text", "") for cell in nb.cells[index + 2:index + 4] for o in cell.get("outputs", []))
    assert "Running at size 'quick'" in printed, printed
