"""Every notebook reads like a runbook section: stripped, typed parameters first, thin cells.

STYLE.md: no ``def``, ``class``, loops, ``try``, lambdas, SQL, regexes, hard-coded hosts or
plot styling in a notebook; the parameters cell is tagged, typed and documented; notebooks
are committed without outputs.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from runbook_lib.run.params import read_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
SHARED_NAMES = {"incident_id", "start", "end"}
FORBIDDEN_NODES = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.Try,
    ast.Lambda,
    ast.With,
)
SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE)\b\s+[\w*]", re.I)
HOSTS = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b|https?://(?!example\.)")
STYLING = re.compile(r"\b(plt\.|set_title|set_xlabel|\.plot\(|figsize|import re\b|re\.compile|import matplotlib)")


def test_there_are_notebooks() -> None:
    names = {p.stem for p in NOTEBOOKS}
    assert "triage" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_stripped(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: strip outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_layout_and_parameters(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = nb.cells[1]
    assert params.cell_type == "code" and "parameters" in params.metadata.get("tags", [])
    names = set()
    for line in params.source.splitlines():
        if not line.strip():
            continue
        match = re.match(r"^(\w+): (str|int|float|bool|list|dict)(\[[\w, ]+\])? = .+  # \S.+$", line)
        assert match, f"{path.name}: parameter line must be `name: type = default  # help`: {line!r}"
        names.add(match[1])
    assert names >= SHARED_NAMES, f"{path.name} lacks shared parameters {SHARED_NAMES - names}"
    # papermill (and so `runbook list`, `--help-notebook` and the runner) must parse every line;
    # it silently drops a line whose help text holds "=" or ";".
    assert set(read_parameters(path)) == names, (
        f"{path.name}: papermill cannot parse {names - set(read_parameters(path))}"
    )
    code_cells = [c for c in nb.cells[2:] if c.cell_type == "code"]
    assert "record_findings(" in code_cells[-1].source, "the last cell records findings.json"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_cells_are_thin(path: Path) -> None:
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells[2:], start=2):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        bad = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, FORBIDDEN_NODES)]
        assert not bad, f"{path.name} cell {i}: {bad} belongs in runbook_lib"
        for pattern in (SQL, HOSTS, STYLING):
            assert not pattern.search(cell.source), f"{path.name} cell {i}: {pattern.pattern} belongs in runbook_lib"
        statements = [n for n in tree.body if not isinstance(n, (ast.Import, ast.ImportFrom))]
        assert len(statements) <= 8, f"{path.name} cell {i} has {len(statements)} statements; keep cells short"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_raw_markdown_interpolation(path: Path) -> None:
    """Markdown built from values must go through display.show_md (which escapes)."""
    nb = nbformat.read(str(path), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "Markdown(" not in cell.source and ".style" not in cell.source and "HTML(" not in cell.source
