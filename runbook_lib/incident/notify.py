"""The runbook's Communication Templates, filled from the incident record and its runs.

``notification`` (section 3 / "Incident Notification"), ``update`` ("Status Update"),
``resolution`` ("Resolution Notification") and ``postmortem-invite`` ("Post-Mortem
Invitation"), as plain text to paste. A field the record cannot fill keeps the
template's bracketed prompt, so nobody mistakes a gap for a fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.errors import ParameterError
from runbook_lib.findings import read_findings
from runbook_lib.incident.escalation import escalation_schedule, parse_timeframe, schedule_text
from runbook_lib.incident.record import add_timeline_event, incident_dir, load_incident
from runbook_lib.incident.severity import POLICIES
from runbook_lib.store import StoreError
from runbook_lib.timewindow import utc_now

KINDS = ("notification", "update", "resolution", "postmortem-invite")
#: The runbook: "Within 24-48 Hours of Resolution" (section 6).
POSTMORTEM_EARLIEST = pd.Timedelta(hours=24)
POSTMORTEM_LATEST = pd.Timedelta(hours=48)
#: Section 3: who gets the first notification, by severity, in the runbook's words.
AUDIENCE = {
    "P0": "To: Engineering Lead, Product Owner, Support Lead (immediately)",
    "P1": "To: Engineering Lead, Product Owner, Support Lead (immediately)",
    "P2": "Post in team Slack/Teams channel with summary (within 1 hour)",
    "P3": "Create issue in tracker, no immediate notification required",
}
AGENDA = [
    "1. Incident timeline review (10 min)",
    "2. Root cause analysis (15 min)",
    "3. What went well (10 min)",
    "4. What could be improved (15 min)",
    "5. Action items (10 min)",
]


def utc(ts: pd.Timestamp | None) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC") if ts is not None else "[timestamp UTC]"


def hours_minutes(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60}:{minutes % 60:02d}"


def milestone(record: dict[str, Any], name: str) -> pd.Timestamp | None:
    value = (record.get("milestones") or {}).get(name)
    return pd.Timestamp(value).tz_convert("UTC") if value else None


def start_time(record: dict[str, Any]) -> pd.Timestamp:
    """Impact start when known, else detection, else when the incident was opened."""
    return (
        milestone(record, "impact_started_at") or milestone(record, "detected_at") or pd.Timestamp(record["created_at"])
    )


def latest_findings(folder: Path) -> dict[str, Any]:
    """findings.json of the newest run that recorded findings (post-mortems excluded)."""
    from runbook_lib.run.archive import list_runs

    for run in reversed(list_runs(folder) if folder.exists() else []):
        if run.get("flow") == "post_mortem":
            continue
        try:
            data = read_findings(folder / run["folder"])
        except StoreError:
            continue
        if not (data.get("extra") or {}).get("failed"):
            return data
    return {}


def next_update(level: str, now: pd.Timestamp) -> tuple[pd.Timestamp | None, str]:
    cadence = parse_timeframe(POLICIES[level].update_every)  # type: ignore[index]
    if cadence is None:
        return None, "no scheduled updates (tracked in the issue tracker)"
    return now + cadence, f"{utc(now + cadence)} (every {POLICIES[level].update_every})"  # type: ignore[index]


def _ranked(findings: dict[str, Any], limit: int) -> list[str]:
    rows = [f for f in findings.get("findings") or [] if f.get("severity") not in ("info", "unknown")]
    return [str(f.get("summary", "")) for f in rows[:limit]]


def _actions_taken(record: dict[str, Any]) -> list[str]:
    kinds = {"run", "remediation", "milestone", "note", "severity"}
    return [str(e["event"]) for e in record.get("timeline") or [] if e.get("kind") in kinds][-6:]


def _bullets(lines: Sequence[str], prompt: str) -> list[str]:
    return [f"- {line}" for line in lines] or [f"- {prompt}"]


def _level(record: dict[str, Any]) -> str:
    level = record.get("severity")
    if level not in POLICIES:
        raise ParameterError(f"{record['id']} has no severity yet: set it with `runbook severity {record['id']} P1`")
    return str(level)


def _eta(record: dict[str, Any], level: str) -> str:
    target = POLICIES[level].resolution_target  # type: ignore[index]
    hours = [int(h) for h in target.split()[0].split("-") if h.isdigit()]
    unit = pd.Timedelta(days=1) if "day" in target else pd.Timedelta(hours=1)
    if not hours:
        return f"[timeframe] (resolution target {target})"
    return f"by {utc(start_time(record) + hours[-1] * unit)} (resolution target {target} from start)"


def _services(record: dict[str, Any]) -> str:
    return ", ".join(record.get("affected_services") or []) or "[list of services/features]"


def _users(record: dict[str, Any]) -> str:
    return str(record.get("affected_users") or "[number or percentage]")


def notification(record: dict[str, Any], findings: dict[str, Any], now: pd.Timestamp) -> str:
    level = _level(record)
    status = str(record.get("status") or "investigating").capitalize()
    summary = " ".join(_ranked(findings, 2)) or "Investigation under way; no finding recorded yet."
    return "\n".join(
        [
            AUDIENCE[level],
            f"Subject: [{level}] Production Incident - {record['title']}",
            "",
            f"Incident ID: {record['id']}",
            f"Severity: {level}",
            f"Status: {status}",
            f"Start Time: {utc(start_time(record))}",
            "",
            "IMPACT:",
            f"- Affected Users: {_users(record)}",
            f"- Affected Services: {_services(record)}",
            f"- Business Impact: {record.get('business_impact') or '[revenue, reputation, compliance]'}",
            "",
            "CURRENT STATUS:",
            summary,
            "",
            "ACTIONS TAKEN:",
            *_bullets(_actions_taken(record), "[Action 1]"),
            "",
            "NEXT STEPS:",
            *_bullets([str(s) for s in (findings.get("next_steps") or [])[:3]], "[Next action]"),
            f"- ETA: {_eta(record, level)}",
            "",
            "NEXT UPDATE:",
            next_update(level, now)[1],
            "",
            f"Incident Commander: {record.get('commander') or '[name]'}",
            f"Contact: {record.get('contact') or '[email/phone]'}",
        ]
    )


def _sent(record: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in record.get("timeline") or [] if e.get("kind") == "communication" and e.get("comm_kind") == kind]


def _previous_status(record: dict[str, Any]) -> str:
    from runbook_lib.incident.record import STATUS_AFTER

    reached = [m for m in STATUS_AFTER if (record.get("milestones") or {}).get(m)]
    chain = ["Investigating", *[STATUS_AFTER[m].capitalize() for m in reached]]
    chain = [s for i, s in enumerate(chain) if i == 0 or s != chain[i - 1]]
    return chain[-2] if len(chain) > 1 else chain[-1]


def status_update(record: dict[str, Any], findings: dict[str, Any], now: pd.Timestamp) -> str:
    level = _level(record)
    earlier = _sent(record, "update") + _sent(record, "notification")
    since = max((pd.Timestamp(e["at"]) for e in earlier), default=start_time(record))
    progress = [str(e["event"]) for e in record.get("timeline") or [] if pd.Timestamp(e["at"]) > since]
    progress = [p for p in progress if not p.startswith("sent ")]
    status = str(record.get("status") or "investigating").capitalize()
    return "\n".join(
        [
            f"Subject: UPDATE: [{level}] {record['title']} - {status}",
            "",
            f"Incident ID: {record['id']}",
            f"Update #: {len(_sent(record, 'update')) + 1}",
            f"Time: {utc(now)}",
            "",
            "STATUS CHANGE:",
            f"Previous: {_previous_status(record)}",
            f"Current: {status}",
            "",
            "PROGRESS:",
            *_bullets(progress[-6:], "[What's been done since last update]"),
            "",
            "FINDINGS:",
            *_bullets(_ranked(findings, 3), "[What we've learned]"),
            "",
            "NEXT STEPS:",
            *_bullets([str(s) for s in (findings.get("next_steps") or [])[:3]], "[Planned action]"),
            f"- ETA: {_eta(record, level)}",
            "",
            "NEXT UPDATE:",
            next_update(level, now)[1],
        ]
    )


def _root_cause(findings: dict[str, Any]) -> str:
    for f in findings.get("findings") or []:
        if f.get("kind") == "deploy" and f.get("severity") in ("high", "critical"):
            return str(f.get("summary"))
    ranked = _ranked(findings, 1)
    return ranked[0] if ranked else "[Brief explanation of what caused the incident]"


def resolution(record: dict[str, Any], findings: dict[str, Any], now: pd.Timestamp) -> str:
    level = _level(record)
    resolved, detected = milestone(record, "resolved_at"), milestone(record, "detected_at")
    if resolved is None:
        raise ParameterError(f"{record['id']} is not resolved yet: `runbook status {record['id']} resolved --at …`")
    duration = hours_minutes((resolved - detected).total_seconds()) if detected is not None else "[hours:minutes]"
    done = [
        str(e["event"]) for e in record.get("timeline") or [] if e.get("kind") in ("remediation", "milestone", "note")
    ]
    done = [d for d in done if not d.startswith(("impact started", "detected"))]
    open_items = [f"{i['action']} ({i['owner']}, due {i['due']})" for i in record.get("action_items") or []]
    return "\n".join(
        [
            f"Subject: RESOLVED: [{level}] {record['title']}",
            "",
            f"Incident ID: {record['id']}",
            "Status: RESOLVED",
            f"Resolution Time: {utc(resolved)}",
            f"Total Duration: {duration}",
            "",
            "RESOLUTION SUMMARY:",
            " ".join(f"{d}." for d in done[-3:]) or "[2-3 sentences explaining how issue was resolved]",
            "",
            "ROOT CAUSE:",
            _root_cause(findings),
            "",
            "IMPACT:",
            f"- Users Affected: {_users(record)}",
            f"- Duration: {duration}",
            f"- Services Impacted: {_services(record)}",
            "",
            "PREVENTIVE MEASURES:",
            *_bullets(open_items, "[What we're doing to prevent recurrence]"),
            "",
            "POST-MORTEM:",
            f"Scheduled for: between {utc(resolved + POSTMORTEM_EARLIEST)} and {utc(resolved + POSTMORTEM_LATEST)}",
            f"Document link: {record.get('postmortem_link') or '[URL when available]'}",
            "",
            "Thank you for your patience.",
            "",
            f"Incident Commander: {record.get('commander') or '[name]'}",
        ]
    )


def postmortem_slot(record: dict[str, Any], meeting_at: str | pd.Timestamp | None = None) -> pd.Timestamp:
    """The meeting time: *meeting_at* if it falls 24-48 h after resolution, else refused;
    by default the first full hour 24 h after resolution."""
    from runbook_lib.incident.record import parse_at

    resolved = milestone(record, "resolved_at")
    if resolved is None:
        raise ParameterError(f"{record['id']} is not resolved yet: the post-mortem follows resolution")
    earliest, latest = resolved + POSTMORTEM_EARLIEST, resolved + POSTMORTEM_LATEST
    if meeting_at is None or meeting_at == "":
        return earliest.ceil("h")
    at = parse_at(meeting_at, key="meeting_at")
    if not earliest <= at <= latest:
        raise ParameterError(
            f"the post-mortem must be 24-48 h after resolution ({utc(earliest)} to {utc(latest)}), not {utc(at)}",
            key="meeting_at",
        )
    return at


def postmortem_invite(record: dict[str, Any], meeting_at: str | pd.Timestamp | None = None) -> str:
    level = _level(record)
    slot = postmortem_slot(record, meeting_at)
    people = [record.get("commander") or ""] + [str(e.get("by") or "") for e in record.get("timeline") or []]
    responders = sorted({p for p in people if p and not p[:2].isdigit()})
    return "\n".join(
        [
            f"Subject: Post-Mortem Scheduled: {record['id']}",
            "",
            f"Incident: {record['title']}",
            f"Severity: {level}",
            f"Date/Time: {utc(slot)} (60 min)",
            "Location: [meeting link]",
            "",
            "Agenda:",
            *AGENDA,
            "",
            "Pre-read:",
            f"reports/{record['id']}/index.html",
            "",
            "Please review the incident report before the meeting.",
            "",
            "Required Attendees:",
            *[f"- {p} (incident responder)" for p in responders],
            "- Engineering Lead",
            "- Product Owner",
            "",
            "Optional Attendees:",
            "- [Others who may benefit]",
            "",
            "Meeting Link: [URL]",
        ]
    )


def compose(
    incident_id: str,
    kind: str,
    *,
    now: pd.Timestamp | None = None,
    meeting_at: str | None = None,
    root: Path | None = None,
) -> tuple[str, str]:
    """(text, escalation schedule) for *kind*; bad kind / no severity / not resolved refused."""
    if kind not in KINDS:
        raise ParameterError(f"{kind!r} is not a kind (one of {', '.join(KINDS)})", key="kind")
    record = load_incident(incident_id, root)
    now = utc_now() if now is None else now
    findings = latest_findings(incident_dir(incident_id, root))
    if kind == "notification":
        text = notification(record, findings, now)
    elif kind == "update":
        text = status_update(record, findings, now)
    elif kind == "resolution":
        text = resolution(record, findings, now)
    else:
        text = postmortem_invite(record, meeting_at)
    level = _level(record)
    steps = escalation_schedule(level, start_time(record), now=now, resolved_at=milestone(record, "resolved_at"))
    return text, schedule_text(steps, level, start_time(record))


def record_sent(incident_id: str, kind: str, text: str, *, at: str | None = None, root: Path | None = None) -> None:
    """Put the text that was sent on the timeline (the post-mortem shows who was told what)."""
    subject = text.splitlines()[0] if kind != "notification" else text.splitlines()[1]
    add_timeline_event(incident_id, f"sent {kind}: {subject}", kind="communication", root=root, at=at,
                       comm_kind=kind, text=text)  # fmt: skip
