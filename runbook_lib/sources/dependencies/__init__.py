"""sources/dependencies"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.dependencies.checks import collect_dependencies

__all__ = [
    "collect_dependencies",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
