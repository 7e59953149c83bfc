"""The runbook's Communication Templates, filled: field by field against the runbook's
text (tests/data/incident/communication_templates.md), per severity; escalation steps."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.incident.escalation import escalation_schedule
from runbook_lib.incident.life import set_impact, set_status
from runbook_lib.incident.notify import compose, record_sent
from runbook_lib.incident.record import create_incident, load_incident

TEMPLATES = (Path(__file__).resolve().parents[1] / "data" / "incident" / "communication_templates.md").read_text()
NOW = pd.Timestamp("2025-10-24T14:40:00", tz="UTC")


def template(title: str) -> tuple[str, list[str]]:
    """(subject, field labels in order) of the runbook's template *title*."""
    section = TEMPLATES.split(f"### {title}", 1)[1]
    subject = re.search(r"\*\*Subject:\*\* (.+)", section)[1]  # type: ignore[index]
    block = section.split("```", 2)[1]
    return subject, labels(block)


def labels(text: str) -> list[str]:
    return [line.split(":", 1)[0].strip() for line in text.splitlines() if re.match(r"^(- )?[A-Z][A-Za-z#/ -]*:", line)]


def _incident(root: Path, level: str) -> str:
    inc = create_incident("Checkout errors", root=root, severity=level, now=pd.Timestamp("2025-10-24T14:10:00Z"),
                          started_at="2025-10-24T14:00:00Z", commander="Alice")["id"]  # fmt: skip
    set_impact(str(inc), services=["checkout"], users="12%", root=root)
    return str(inc)


@pytest.mark.parametrize(
    ("level", "audience", "next_update"),
    [
        ("P0", "To: Engineering Lead, Product Owner, Support Lead", "2025-10-24 15:10 UTC (every 30 minutes)"),
        ("P1", "To: Engineering Lead, Product Owner, Support Lead", "2025-10-24 15:10 UTC (every 30 minutes)"),
        ("P2", "Post in team Slack/Teams channel with summary", "2025-10-24 16:40 UTC (every 2 hours)"),
        ("P3", "Create issue in tracker, no immediate notification required", "no scheduled updates"),
    ],
)
def test_notification_matches_the_template_field_by_field(
    tmp_path: Path, level: str, audience: str, next_update: str
) -> None:
    inc = _incident(tmp_path, level)
    text, _ = compose(inc, "notification", now=NOW, root=tmp_path)
    lines = text.splitlines()
    _, fields = template("Incident Notification")
    assert lines[0].startswith(audience)
    assert lines[1] == f"Subject: [{level}] Production Incident - Checkout errors"
    assert labels("\n".join(lines[2:])) == fields
    values = dict(line.split(": ", 1) for line in lines[2:] if ": " in line and not line.startswith("- ETA"))
    assert values["Incident ID"] == inc and values["Severity"] == level and values["Status"] == "Investigating"
    assert values["Start Time"] == "2025-10-24 14:00 UTC"
    assert values["- Affected Users"] == "12%" and values["- Affected Services"] == "checkout"
    assert values["Incident Commander"] == "Alice"
    assert lines[lines.index("NEXT UPDATE:") + 1].startswith(next_update)


def test_update_resolution_and_invite_follow_their_templates(tmp_path: Path) -> None:
    inc = _incident(tmp_path, "P1")
    text, _ = compose(inc, "notification", now=NOW, root=tmp_path)
    record_sent(inc, "notification", text, at="2025-10-24T14:15:00Z", root=tmp_path)
    set_status(inc, "acknowledged", "2025-10-24T14:12:00Z", root=tmp_path)
    set_status(inc, "mitigated", "2025-10-24T14:30:00Z", note="rolled back", root=tmp_path)
    update, _ = compose(inc, "update", now=NOW, root=tmp_path)
    _, fields = template("Status Update")
    assert update.splitlines()[0] == "Subject: UPDATE: [P1] Checkout errors - Mitigated"
    assert labels("\n".join(update.splitlines()[1:])) == fields
    assert "Previous: Investigating" in update and "Current: Mitigated" in update and "Update #: 1" in update
    assert "- mitigated: rolled back" in update  # progress since the notification was sent
    with pytest.raises(ParameterError):
        compose(inc, "resolution", now=NOW, root=tmp_path)  # not resolved yet
    set_status(inc, "resolved", "2025-10-24T15:05:00Z", root=tmp_path)
    resolved, _ = compose(inc, "resolution", now=NOW, root=tmp_path)
    _, fields = template("Resolution Notification")
    assert resolved.splitlines()[0] == "Subject: RESOLVED: [P1] Checkout errors"
    assert labels("\n".join(resolved.splitlines()[1:])) == fields
    assert "Total Duration: 0:55" in resolved  # detection (14:10) to resolution (15:05)
    assert "Scheduled for: between 2025-10-25 15:05 UTC and 2025-10-26 15:05 UTC" in resolved
    invite, _ = compose(inc, "postmortem-invite", now=NOW, root=tmp_path)
    _, fields = template("Post-Mortem Invitation")
    assert invite.splitlines()[0] == f"Subject: Post-Mortem Scheduled: {inc}"
    assert labels("\n".join(invite.splitlines()[1:])) == [f for f in fields]
    assert "Date/Time: 2025-10-25 16:00 UTC" in invite  # first full hour 24 h after resolution
    with pytest.raises(ParameterError, match="24-48 h"):
        compose(inc, "postmortem-invite", meeting_at="2025-10-27T10:00:00Z", root=tmp_path)
    sent = [e for e in load_incident(inc, tmp_path)["timeline"] if e["kind"] == "communication"]
    assert sent[0]["comm_kind"] == "notification" and sent[0]["text"] == text


def test_escalation_steps_overdue_and_not_needed() -> None:
    start = pd.Timestamp("2025-10-24T14:00:00Z")
    steps = escalation_schedule("P1", start, now=pd.Timestamp("2025-10-24T15:45:00Z"))
    assert [(s.step, s.due_at, s.state) for s in steps] == [
        ("L1 → L2", pd.Timestamp("2025-10-24T14:30:00Z"), "overdue"),
        ("L2 → L3", pd.Timestamp("2025-10-24T15:30:00Z"), "overdue"),
        ("L3 → Management", pd.Timestamp("2025-10-24T17:30:00Z"), "due"),
    ]
    assert "[OVERDUE]" in steps[0].line() and "#engineering-oncall" in steps[0].line()
    p0 = escalation_schedule(
        "P0", start, now=start + pd.Timedelta(hours=1), resolved_at=start + pd.Timedelta(minutes=20)
    )
    assert [s.state for s in p0] == ["overdue", "not needed (resolved before)", "not needed (resolved before)"]
    assert p0[2].due_at == p0[1].due_at  # "Immediate" after L3
    friday = pd.Timestamp("2025-10-24T18:00:00Z")  # a Friday: next business day is Monday 09:00
    p2 = escalation_schedule("P2", friday, now=friday)
    assert p2[2].due_at == pd.Timestamp("2025-10-27T09:00:00Z")
    p3 = escalation_schedule("P3", start, now=start + pd.Timedelta(days=3))
    assert [s.state for s in p3] == ["overdue", "no fixed time", "no fixed time"]
