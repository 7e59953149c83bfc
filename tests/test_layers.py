"""The layers of DESIGN.md, held by folder: which package may import which, nothing but
the CLI prints or configures logging, and no module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "runbook_lib"
MAX_MODULE_LINES = 400

#: package -> packages it must never import (DESIGN.md "Import directions").
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "analysis": ("sources", "notebook", "cli", "run", "alerts", "remedies"),
    "charts": ("sources", "notebook", "cli", "run", "alerts", "analysis", "remedies"),
    "sources": ("run", "incident", "alerts", "charts", "analysis", "notebook", "cli", "remedies"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _modules() -> list[Path]:
    return sorted(LIB.rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_follow_the_design(layer: str) -> None:
    paths = sorted((LIB / layer).rglob("*.py"))
    assert paths, f"no package runbook_lib/{layer}"
    banned = tuple(f"runbook_lib.{p}" for p in FORBIDDEN[layer])
    for path in paths:
        bad = {m for m in _imports(path) if m.startswith(banned) and m.split(".")[1] in FORBIDDEN[layer]}
        assert not bad, f"{path.relative_to(LIB)} imports {sorted(bad)}"


def test_layer_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from runbook_lib.sources.logs.access_log import collect_access_log\n")
    assert "runbook_lib.sources.logs.access_log" in _imports(bad)


def test_only_the_notebook_package_talks_to_ipython() -> None:
    for path in _modules():
        if path.relative_to(LIB).parts[0] == "notebook":
            continue
        bad = {m for m in _imports(path) if m.startswith(("IPython", "ipywidgets"))}
        assert not bad, f"{path.relative_to(LIB)} imports {sorted(bad)}"


def test_library_never_prints_or_configures_logging() -> None:
    for path in _modules():
        if path.relative_to(LIB).parts[0] == "cli":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.relative_to(LIB)} calls print()"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "basicConfig", f"{path.relative_to(LIB)} configures logging"


def test_no_module_over_the_size_limit() -> None:
    big = {str(p.relative_to(LIB)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


#: The shared core: what every layer may use. Everything else lives in a layer's package.
CORE = {
    "__init__", "collected", "errors", "findings", "frames", "lazy", "paths", "redact", "store", "text", "timewindow",
}  # fmt: skip


def test_top_level_holds_only_the_shared_core() -> None:
    top = {p.stem for p in LIB.glob("*.py")}
    assert top <= CORE, sorted(top - CORE)


def test_find_functions_return_findings() -> None:
    """STYLE.md: ``find_*`` answers with Findings; tables come from rank_*/detect_*/*_per_minute."""
    for path in sorted((LIB / "analysis").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("find_"):
                returns = ast.unparse(node.returns) if node.returns else ""
                assert "Finding" in returns, f"{path.name}:{node.lineno} {node.name} returns {returns or 'nothing'}"
