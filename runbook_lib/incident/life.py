"""The incident's life after it is opened: status, severity history, notes, action items,
affected services/users and the commander.

Every change goes through :func:`~runbook_lib.incident.record.update_incident` (file lock,
atomic write), is checked before anything is modified, and leaves one timeline event with
``at`` (when it happened, back-dating allowed) and ``recorded_at`` (now).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.errors import ParameterError
from runbook_lib.incident.record import insert_event, parse_at, set_milestone, timeline_event, update_incident
from runbook_lib.incident.severity import POLICIES
from runbook_lib.redact import redact
from runbook_lib.timewindow import utc_now

#: ``runbook status`` words and the milestone each one sets.
STATUS_MILESTONES = {
    "acknowledged": "acknowledged_at",
    "mitigated": "mitigated_at",
    "resolved": "resolved_at",
    "closed": "closed_at",
}
ACTION_STATUSES = ("Open", "Done")


def set_status(
    incident_id: str,
    status: str,
    at: str | pd.Timestamp | None = None,
    *,
    note: str = "",
    by: str = "",
    root: Path | None = None,
) -> dict[str, Any]:
    """Move the incident to *status* (acknowledged, mitigated, resolved, closed) at *at*."""
    if status not in STATUS_MILESTONES:
        raise ParameterError(f"{status!r} is not a status (one of {', '.join(STATUS_MILESTONES)})", key="status")
    return set_milestone(incident_id, STATUS_MILESTONES[status], at, by=by, note=note, root=root)


def apply_severity(record: dict[str, Any], level: str, *, at: pd.Timestamp, by: str, why: str) -> bool:
    """Change *record*'s severity in place, appending to its history; False if unchanged.

    Used inside an ``update_incident`` change (the runner adopts triage's suggestion
    through this too), so the history and the timeline always agree.
    """
    if level not in POLICIES:
        raise ParameterError(f"{level!r} is not one of P0, P1, P2, P3", key="severity")
    previous = record.get("severity") or None
    if previous == level:
        return False
    entry = {"from": previous, "to": level, "at": at.isoformat(), "by": redact(by), "why": redact(why)}
    record.setdefault("severity_history", []).append(entry)
    record["severity"] = level
    text = f"severity {previous or 'unassessed'} → {level}" + (f": {redact(why)}" if why else "")
    insert_event(record, timeline_event(at, text, "severity", **{k: entry[k] for k in ("from", "to", "by", "why")}))
    return True


def set_severity(
    incident_id: str,
    level: str,
    *,
    why: str = "",
    at: str | pd.Timestamp | None = None,
    by: str = "",
    root: Path | None = None,
) -> dict[str, Any]:
    """Set the severity (P0-P3) with the reason, recorded in ``severity_history``."""
    when = parse_at(at)
    if level not in POLICIES:
        raise ParameterError(f"{level!r} is not one of P0, P1, P2, P3", key="severity")

    def change(record: dict[str, Any]) -> None:
        apply_severity(record, level, at=when, by=by, why=why)
        record.pop("severity_source", None)  # a person decided: no longer just a suggestion

    return update_incident(incident_id, change, root)


def add_note(
    incident_id: str, text: str, *, at: str | pd.Timestamp | None = None, by: str = "", root: Path | None = None
) -> dict[str, Any]:
    """A free-text note (what was tried, what was seen) on the record and the timeline."""
    if not text.strip():
        raise ParameterError("a note needs text", key="note")
    when = parse_at(at)
    note = {"at": when.isoformat(), "recorded_at": utc_now().isoformat(), "text": redact(text.strip()), "by": by}

    def change(record: dict[str, Any]) -> None:
        record.setdefault("notes", []).append(note)
        insert_event(record, timeline_event(when, f"note: {note['text']}", "note", by=redact(by)))

    return update_incident(incident_id, change, root)


def parse_due(value: str) -> str:
    """An action item's due date as ``YYYY-MM-DD``; a bad date is a one-line ParameterError."""
    try:
        day = pd.Timestamp(str(value).strip())
    except (ValueError, TypeError) as err:
        raise ParameterError(f"{value!r} is not a date (YYYY-MM-DD)", key="due") from err
    if pd.isna(day):
        raise ParameterError(f"{value!r} is not a date (YYYY-MM-DD)", key="due")
    return day.strftime("%Y-%m-%d")


def add_action(
    incident_id: str,
    action: str,
    *,
    owner: str,
    due: str,
    at: str | pd.Timestamp | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """A post-incident action item (action, owner, due date, status Open), numbered from 1."""
    if not action.strip():
        raise ParameterError("an action item needs text", key="action")
    if not owner.strip():
        raise ParameterError("an action item needs an owner (--owner)", key="owner")
    day = parse_due(due)
    when = parse_at(at)

    def change(record: dict[str, Any]) -> None:
        items = record.setdefault("action_items", [])
        item = {
            "number": len(items) + 1,
            "action": redact(action.strip()),
            "owner": redact(owner.strip()),
            "due": day,
            "status": "Open",
            "created_at": when.isoformat(),
        }
        items.append(item)
        insert_event(
            record,
            timeline_event(when, f"action item {item['number']}: {item['action']}", "action", number=item["number"]),
        )

    return update_incident(incident_id, change, root)


def close_action(
    incident_id: str, number: int, *, at: str | pd.Timestamp | None = None, root: Path | None = None
) -> dict[str, Any]:
    """Mark action item *number* Done (refused if there is no such item or it is done)."""
    when = parse_at(at)

    def change(record: dict[str, Any]) -> None:
        items = record.get("action_items") or []
        match = [i for i in items if i.get("number") == number]
        if not match:
            raise ParameterError(f"no action item {number} on {incident_id} ({len(items)} recorded)", key="done")
        item = match[0]
        if item.get("status") == "Done":
            raise ParameterError(f"action item {number} is already done", key="done")
        item["status"] = "Done"
        item["done_at"] = when.isoformat()
        insert_event(
            record, timeline_event(when, f"action item {number} done: {item['action']}", "action", number=number)
        )

    return update_incident(incident_id, change, root)


def set_impact(
    incident_id: str,
    *,
    services: list[str] | None = None,
    users: str = "",
    commander: str = "",
    at: str | pd.Timestamp | None = None,
    root: Path | None = None,
) -> dict[str, Any]:
    """Record affected services, affected users (a number or a share, as text) and the commander."""
    when = parse_at(at)
    clean = [redact(s.strip()) for s in services or [] if s.strip()]

    def change(record: dict[str, Any]) -> None:
        said = []
        if clean:
            record["affected_services"] = sorted(set(record.get("affected_services") or []) | set(clean))
            said.append(f"affected services: {', '.join(record['affected_services'])}")
        if users.strip():
            record["affected_users"] = redact(users.strip())
            said.append(f"affected users: {record['affected_users']}")
        if commander.strip():
            record["commander"] = redact(commander.strip())
            said.append(f"incident commander: {record['commander']}")
        if not said:
            raise ParameterError("nothing to record (give --service, --users or --commander)", key="impact")
        insert_event(record, timeline_event(when, "; ".join(said), "impact"))

    return update_incident(incident_id, change, root)
