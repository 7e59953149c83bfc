"""docs/severity.md is the one page a reviewer reads: it must say what the code does.

The page is generated from the module docstrings; these tests fail when it is stale, when a
module grades findings without a written ladder, or when a ladder names a threshold
constant the module does not have (a renamed or deleted threshold).
"""

from __future__ import annotations

import ast
import importlib
import re
import runpy
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCRIPT: dict[str, Any] = runpy.run_path(str(ROOT / "scripts" / "severity_doc.py"))
GRADES = {"low", "medium", "high", "critical"}


def _grading_modules() -> set[str]:
    """Analysis modules that build findings and hand out a grade above info."""
    out = set()
    for path in sorted((ROOT / "runbook_lib" / "analysis").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        builds = any(isinstance(n, ast.Call) and getattr(n.func, "id", "") == "Finding" for n in ast.walk(tree))
        grades = any(isinstance(n, ast.Constant) and n.value in GRADES for n in ast.walk(tree))
        if builds and grades:
            out.add(path.stem)
    return out


def test_the_page_is_generated_from_the_current_docstrings() -> None:
    page = (ROOT / "docs" / "severity.md").read_text(encoding="utf-8")
    assert page == SCRIPT["render"](), "docs/severity.md is stale: run python scripts/severity_doc.py"
    for flow in ("triage", "high_cpu", "memory_leak", "db_connections", "api_rate_limit", "test_failures",
                 "plugin_load", "security_alert", "post_mortem"):  # fmt: skip
        assert f"\n## {flow}\n" in page


def test_every_module_that_grades_has_a_ladder_listed_under_a_flow() -> None:
    listed = {m for modules in SCRIPT["FLOWS"].values() for m in modules}
    grading = _grading_modules()
    assert {"rates", "cpu", "security_findings", "connection_findings"} <= grading  # the scan sees them
    assert grading <= listed, f"graded without a ladder on the page: {sorted(grading - listed)}"
    for module in listed:
        assert GRADES & set(re.findall(r"[a-z]+", SCRIPT["ladder"](module))), f"{module}: a ladder without grades"


def test_thresholds_named_in_a_ladder_exist_in_its_module() -> None:
    for module in {m for modules in SCRIPT["FLOWS"].values() for m in modules}:
        names = set(re.findall(r"``([A-Z][A-Z0-9_]+)``", SCRIPT["ladder"](module)))
        loaded = importlib.import_module(f"runbook_lib.analysis.{module}")
        missing = {n for n in names if not hasattr(loaded, n)}
        assert not missing, f"{module}: the ladder names {sorted(missing)}, which the module does not define"
