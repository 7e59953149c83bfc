"""CI evidence: JUnit XML reports of CI runs (junit.py reads one report, runs.py a history)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.ci.commits import collect_commit_ranges
    from runbook_lib.sources.ci.runs import collect_ci_runs

__all__ = [
    "collect_ci_runs",
    "collect_commit_ranges",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
