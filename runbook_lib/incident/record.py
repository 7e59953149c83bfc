"""The incident record on disk: ids, ``reports/<id>/incident.json`` and its timeline.

Writes are read-modify-write under a file lock, through :mod:`runbook_lib.store`, so two
commands on one incident never lose an event. The severity model is
:mod:`runbook_lib.incident.severity`.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.errors import ParameterError
from runbook_lib.incident.severity import POLICIES
from runbook_lib.paths import reports_root
from runbook_lib.redact import redact, redact_obj
from runbook_lib.store import read_json, write_json
from runbook_lib.timewindow import parse_time, utc_now

INCIDENT_ID = re.compile(r"^INC-(\d{4})-(\d{2})-(\d{2})-(\d{3})$")
INCIDENT_FILE = "incident.json"


# --- ids -------------------------------------------------------------------------------


def validate_incident_id(value: str) -> str:
    """Return *value* if it is ``INC-YYYY-MM-DD-NNN`` with a real date, else raise."""
    match = INCIDENT_ID.match(value or "")
    if not match:
        raise ParameterError(f"{value!r} is not an incident id like INC-2025-10-24-001", key="incident_id")
    try:
        pd.Timestamp(f"{match[1]}-{match[2]}-{match[3]}")
    except ValueError as err:
        raise ParameterError(f"{value!r} has an impossible date", key="incident_id") from err
    return value


def allocate_incident_id(root: Path | None = None, *, now: pd.Timestamp | None = None) -> str:
    """Reserve the next ``INC-<UTC date>-NNN`` by creating its folder.

    ``mkdir`` is atomic, so two concurrent callers can never get the same id: the loser
    sees ``FileExistsError`` and takes the next number.
    """
    root = reports_root() if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    day = (utc_now() if now is None else now).strftime("%Y-%m-%d")
    taken = [int(p.name[-3:]) for p in root.glob(f"INC-{day}-[0-9][0-9][0-9]")]
    number = max(taken, default=0) + 1
    while number <= 999:
        candidate = f"INC-{day}-{number:03d}"
        try:
            (root / candidate).mkdir()
        except FileExistsError:
            number += 1
            continue
        return candidate
    raise ParameterError(f"no incident ids left for {day} (999 used)", key="incident_id")


def incident_dir(incident_id: str, root: Path | None = None) -> Path:
    return (reports_root() if root is None else root) / validate_incident_id(incident_id)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of incident.json across processes."""
    with open(path.parent / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


#: The incident's milestones, in the order they must happen (runbook sections 2-6).
MILESTONES = ("impact_started_at", "detected_at", "acknowledged_at", "mitigated_at", "resolved_at", "closed_at")
#: The status an incident is in once a milestone is reached (later milestones win).
STATUS_AFTER = {
    "acknowledged_at": "investigating",
    "mitigated_at": "mitigated",
    "resolved_at": "resolved",
    "closed_at": "closed",
}


def parse_at(value: str | pd.Timestamp | None, *, key: str = "at") -> pd.Timestamp:
    """An event time as tz-aware UTC (``None`` = now; ISO-8601, ``now`` or ``-2h``)."""
    if value is None or value == "":
        return utc_now()
    if isinstance(value, pd.Timestamp):
        return value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    return parse_time(value, key=key)


def _check_order(milestones: dict[str, str], name: str, at: pd.Timestamp) -> None:
    """A milestone may not precede an earlier one, nor follow a later one already set."""
    if name not in MILESTONES:
        raise ParameterError(f"{name!r} is not a milestone (one of {', '.join(MILESTONES)})", key="milestone")
    index = MILESTONES.index(name)
    for other in MILESTONES[:index]:
        if milestones.get(other) and pd.Timestamp(milestones[other]) > at:
            raise ParameterError(f"{name} {at.isoformat()} is before {other} {milestones[other]}", key="at")
    for other in MILESTONES[index + 1 :]:
        if milestones.get(other) and pd.Timestamp(milestones[other]) < at:
            raise ParameterError(f"{name} {at.isoformat()} is after {other} {milestones[other]}", key="at")


def create_incident(
    title: str,
    *,
    root: Path | None = None,
    severity: str = "",
    reporter: str = "",
    now: pd.Timestamp | None = None,
    started_at: str | pd.Timestamp | None = None,
    detected_at: str | pd.Timestamp | None = None,
    commander: str = "",
) -> dict[str, Any]:
    """Allocate an id and write ``reports/<id>/incident.json``; return the record.

    *started_at* (impact began) and *detected_at* (we knew) may be back-dated; detection
    defaults to the time the incident is opened. Bad input raises before anything is written.
    """
    if not title.strip():
        raise ParameterError("an incident needs a title", key="title")
    if severity and severity not in POLICIES:
        raise ParameterError(f"{severity!r} is not one of P0, P1, P2, P3", key="severity")
    when = utc_now() if now is None else now
    milestones: dict[str, str] = {}
    detected = parse_at(detected_at, key="detected_at") if detected_at else when
    if started_at:
        started = parse_at(started_at, key="started_at")
        if started > detected:
            raise ParameterError(
                f"impact start {started.isoformat()} is after detection {detected.isoformat()}", key="started_at"
            )
        milestones["impact_started_at"] = started.isoformat()
    milestones["detected_at"] = detected.isoformat()
    root = reports_root() if root is None else root
    incident_id = allocate_incident_id(root, now=when)
    opened = {"at": when.isoformat(), "recorded_at": when.isoformat(), "event": "incident opened", "kind": "opened"}
    timeline = [opened] + [
        {"at": at, "recorded_at": when.isoformat(), "event": f"{name} set", "kind": "milestone", "milestone": name}
        for name, at in milestones.items()
        if name != "detected_at" or detected_at  # detection by default is the "opened" event itself
    ]
    record: dict[str, Any] = {
        "id": incident_id,
        "title": redact(title.strip()),
        "created_at": when.isoformat(),
        "reporter": redact(reporter or os.environ.get("USER", "")),
        "commander": redact(commander),
        "severity": severity or None,
        "status": "Investigating",
        "milestones": milestones,
        "timeline": sorted(timeline, key=lambda e: pd.Timestamp(e["at"])),
        "runs": [],
    }
    if severity:
        record["severity_history"] = [
            {"from": None, "to": severity, "at": when.isoformat(), "by": record["reporter"], "why": "set when opened"}
        ]
    write_json(root / incident_id / INCIDENT_FILE, record)
    return record


def set_milestone(
    incident_id: str,
    name: str,
    at: str | pd.Timestamp | None = None,
    *,
    by: str = "",
    note: str = "",
    root: Path | None = None,
) -> dict[str, Any]:
    """Record milestone *name* (one of :data:`MILESTONES`) at *at* (default now).

    Refused with a one-line ParameterError, changing nothing, when it would come before an
    earlier milestone or after a later one. The status follows (:data:`STATUS_AFTER`).
    """
    when = parse_at(at)

    def change(record: dict[str, Any]) -> None:
        milestones = record.setdefault("milestones", {})
        _check_order(milestones, name, when)
        milestones[name] = when.isoformat()
        reached = [m for m in MILESTONES if milestones.get(m) and m in STATUS_AFTER]
        if reached:
            record["status"] = STATUS_AFTER[reached[-1]]
        what = name.removesuffix("_at").replace("_", " ") + (f": {redact(note)}" if note else "")
        insert_event(record, timeline_event(when, what, "milestone", milestone=name, by=redact(by)))

    return update_incident(incident_id, change, root)


def timeline_event(at: pd.Timestamp, event: str, kind: str, **data: Any) -> dict[str, Any]:
    """One timeline entry: when it happened (*at*), when it was recorded (now), what, which kind."""
    return {"at": at.isoformat(), "recorded_at": utc_now().isoformat(), "event": event, "kind": kind, **data}


def insert_event(record: dict[str, Any], event: dict[str, Any]) -> None:
    """Add *event* to the timeline, which stays ordered by ``at`` (stable for equal times)."""
    timeline = record.setdefault("timeline", [])
    timeline.append(event)
    timeline.sort(key=lambda e: parse_at(e.get("at") or "1970-01-01T00:00:00Z"))


def load_incident(incident_id: str, root: Path | None = None) -> dict[str, Any]:
    path = incident_dir(incident_id, root) / INCIDENT_FILE
    if not path.exists():
        raise ParameterError(f"no incident {incident_id} (create it with `runbook new --title …`)", key="incident")
    data = read_json(path)
    if not isinstance(data, dict):
        raise ParameterError(f"{path} is not an incident record", key="incident")
    return data


def update_incident(incident_id: str, change: Any, root: Path | None = None) -> dict[str, Any]:
    """Apply ``change(record)`` under a file lock and write the record back atomically."""
    path = incident_dir(incident_id, root) / INCIDENT_FILE
    load_incident(incident_id, root)  # a missing incident is refused before a lock file appears
    with _locked(path):
        record = load_incident(incident_id, root)
        change(record)
        write_json(path, record)
    return record


def add_timeline_event(
    incident_id: str,
    event: str,
    *,
    kind: str = "note",
    root: Path | None = None,
    at: str | pd.Timestamp | None = None,
    **data: Any,
) -> dict[str, Any]:
    """Add an event (a run, a remediation, a note) to the incident timeline.

    *at* is when it happened (default now; back-dated entries are normal in a write-up);
    ``recorded_at`` is always now. The timeline stays ordered by ``at``.
    """
    when = parse_at(at)
    entry = timeline_event(when, redact(event), kind, **redact_obj(data))
    return update_incident(incident_id, lambda r: insert_event(r, entry), root)


def record_remediation(incident_id: str, summary: str, **data: Any) -> bool:
    """Put an action that changed the world on the incident timeline (DESIGN: remediation
    is logged in the report and the timeline). False for a scratch run with no incident."""
    if not incident_id or not (incident_dir(incident_id) / INCIDENT_FILE).exists():
        return False
    add_timeline_event(incident_id, summary, kind="remediation", **data)
    return True
