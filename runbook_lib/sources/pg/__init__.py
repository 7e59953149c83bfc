"""sources/pg"""

from __future__ import annotations

from runbook_lib.sources.pg.activity import collect_activity
from runbook_lib.sources.pg.log import collect_pg_log

__all__ = [
    "collect_activity",
    "collect_pg_log",
]
