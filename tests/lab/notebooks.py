"""Copies of the flow notebooks with other parameter defaults, the way a user edits the first
cell before running: only the literal after ``=`` changes, the type and the help stay."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import nbformat


def parameter_cell(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return next(c for c in nb.cells if c.cell_type == "code" and "parameters" in c.metadata.get("tags", []))


def parameter_names(source: str) -> set[str]:
    return {
        n.target.id for n in ast.parse(source).body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
    }


def with_defaults(source: str, values: dict[str, Any]) -> str:
    """*source* (a parameters cell) with the literal of each name in *values* replaced."""
    lines = source.splitlines()
    seen: set[str] = set()
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None):
            continue
        name = node.target.id
        if name not in values:
            continue
        value = node.value
        assert value.lineno == value.end_lineno, f"{name}: a multi-line default"
        line = lines[value.lineno - 1]
        # ast offsets are in UTF-8 bytes; the cell may hold non-ASCII help text after them.
        raw = line.encode()
        lines[value.lineno - 1] = (
            raw[: value.col_offset].decode() + repr(values[name]) + raw[value.end_col_offset or 0 :].decode()
        )
        seen.add(name)
    missing = set(values) - seen
    assert not missing, f"not parameters of this notebook: {sorted(missing)}"
    return "\n".join(lines)


def write_copy(src: Path, dest: Path, values: dict[str, Any], *, interactive: bool | None = None) -> Path:
    """Write *src* to *dest* with its parameter defaults set to *values* (and ``interactive``
    when given and the notebook has that parameter)."""
    nb = nbformat.read(str(src), as_version=4)
    cell = parameter_cell(nb)
    if interactive is not None and "interactive" in parameter_names(cell.source):
        values = {**values, "interactive": interactive}
    cell.source = with_defaults(cell.source, values)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dest))
    return dest
