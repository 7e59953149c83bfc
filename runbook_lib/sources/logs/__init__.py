"""sources/logs"""

from __future__ import annotations

from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.sources.logs.app_log import collect_app_log

__all__ = [
    "collect_access_log",
    "collect_app_log",
]
