"""Remedies: what the runbook says to do, planned (dry run) or carried out when asked.

Loaded lazily (runbook_lib/lazy.py): the web flows' ``suggest_limit_req`` does not pull in
the PostgreSQL driver and httpx with ``remediate_connections``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.remedies.host import apply_remedy, diagnostic_commands_for, plan_restart_for
    from runbook_lib.remedies.pg import remediate_connections
    from runbook_lib.remedies.web import containment_text, limit_req_text, suggest_limit_req

__all__ = [
    "apply_remedy",
    "containment_text",
    "diagnostic_commands_for",
    "limit_req_text",
    "plan_restart_for",
    "remediate_connections",
    "suggest_limit_req",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
