"""sources/logs"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.logs.access_log import collect_access_log
    from runbook_lib.sources.logs.app_log import collect_app_log

__all__ = [
    "collect_access_log",
    "collect_app_log",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
