"""sources/dependencies"""

from __future__ import annotations

from runbook_lib.sources.dependencies.checks import collect_dependencies

__all__ = [
    "collect_dependencies",
]
