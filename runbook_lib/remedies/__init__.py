"""remedies"""

from __future__ import annotations

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
