"""sources/pg"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.pg.activity import collect_activity
    from runbook_lib.sources.pg.log import collect_pg_log

__all__ = [
    "collect_activity",
    "collect_pg_log",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
