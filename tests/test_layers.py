"""The import direction of STYLE.md: analyses and charts never import sources (I/O), and
the library never prints or configures logging."""

from __future__ import annotations

import ast
from pathlib import Path

import runbook_lib

LIB = Path(__file__).resolve().parent.parent / "runbook_lib"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def test_analysis_and_charts_do_not_import_sources() -> None:
    pure = list((LIB / "analysis").glob("*.py")) + list(LIB.glob("charts*.py"))
    assert pure
    for path in pure:
        bad = {m for m in _imports(path) if m.startswith("runbook_lib.sources")}
        assert not bad, f"{path.relative_to(LIB)} imports I/O layer {bad}"


def test_sources_do_not_import_analysis_or_archive() -> None:
    for path in (LIB / "sources").glob("*.py"):
        bad = {
            m
            for m in _imports(path)
            if m.startswith(("runbook_lib.analysis", "runbook_lib.runner", "runbook_lib.archive", "runbook_lib.charts"))
        }
        assert not bad, f"sources/{path.name} imports {bad}"


def test_library_never_prints_or_configures_logging() -> None:
    for path in LIB.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.relative_to(LIB)} calls print()"
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                assert node.func.attr != "basicConfig", f"{path.relative_to(LIB)} configures logging"


def test_public_api_is_pinned() -> None:
    assert sorted(runbook_lib.__all__) == [
        "Collected",
        "Finding",
        "ParameterError",
        "RunbookError",
        "SourceDataError",
        "SourceDenied",
        "SourceError",
        "SourceUnavailable",
        "Window",
        "__version__",
        "parse_time",
        "parse_window",
    ]
    for name in runbook_lib.__all__:
        assert hasattr(runbook_lib, name)
