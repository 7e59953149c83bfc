"""Incidents: the record on disk (record.py), the runbook's severity model (severity.py)
and the runbook's communication templates (comms.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.incident.comms import incident_report_markdown, notification_text, triage_next_steps
    from runbook_lib.incident.postmortem import gather, metrics_extra, write_postmortem
    from runbook_lib.incident.severity import Assessment, severity_finding, suggest_severity

__all__ = [
    "Assessment",
    "gather",
    "incident_report_markdown",
    "metrics_extra",
    "notification_text",
    "severity_finding",
    "suggest_severity",
    "triage_next_steps",
    "write_postmortem",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
