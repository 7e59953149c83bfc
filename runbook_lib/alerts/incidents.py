"""Alert groups → incidents: open, attach, dedupe, archive, resolve; and run what a route asks.

One open incident per ``groupKey`` (``reports/_alerts/groups.json``). Every notification is
archived as ``reports/<id>/alerts/NNN.json``. Alertmanager resends the whole group each
time and an HA pair sends everything twice, so a notification only triggers runs when it
brings an alert episode (``fingerprint@startsAt``) the incident has not seen.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.alerts import spool
from runbook_lib.alerts.payloads import Notification, parse_payload
from runbook_lib.alerts.routes import Route, overrides_for, route_for, severity_for
from runbook_lib.errors import RunbookError
from runbook_lib.incident import record as incident
from runbook_lib.paths import reports_root
from runbook_lib.redact import redact_obj
from runbook_lib.store import read_json_object, write_json

log = logging.getLogger("runbook.alerts")

Trigger = dict[str, Any]


def _groups_file() -> Path:
    folder = reports_root() / "_alerts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "groups.json"


def _groups() -> dict[str, Any]:
    path = _groups_file()
    return read_json_object(path) if path.is_file() else {}


def alerts_dir(incident_id: str) -> Path:
    folder = incident.incident_dir(incident_id) / "alerts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _state(incident_id: str) -> dict[str, Any]:
    path = alerts_dir(incident_id) / "state.json"
    return read_json_object(path) if path.is_file() else {"seen": [], "entries": {}}


def archive_payload(incident_id: str, entry: dict[str, Any]) -> Path:
    folder = alerts_dir(incident_id)
    number = len(list(folder.glob("[0-9][0-9][0-9].json"))) + 1
    return write_json(folder / f"{number:03d}.json", redact_obj(entry))  # reports never hold secrets


def archived_payload(incident_id: str, number: int | None = None) -> dict[str, Any]:
    folder = alerts_dir(incident_id)
    files = sorted(folder.glob("[0-9][0-9][0-9].json"))
    if not files:
        raise RunbookError(f"{incident_id} has no archived alert payloads")
    if number is None:
        return read_json_object(files[-1])
    path = folder / f"{number:03d}.json"
    if not path.is_file():
        raise RunbookError(f"{incident_id} has no payload {number} (1..{len(files)})")
    return read_json_object(path)


def _title(n: Notification) -> str:
    name = n.labels.get("alertname") or n.title or "alert"
    summary = n.common_annotations.get("summary") or (n.alerts[0].annotations.get("summary", "") if n.alerts else "")
    return f"{name}: {summary}" if summary else name


def plan(route: Route, n: Notification, flows: tuple[str, ...], incident_id: str, why: str) -> Trigger:
    """The runs for one trigger, with parameters already typed and vetted."""
    return {
        "incident_id": incident_id,
        "route": route.name,
        "reason": why,
        "runs": [{"flow": f, "overrides": overrides_for(route, n, f)} for f in flows],
    }


def intake(entry: dict[str, Any], routes: list[Route]) -> Trigger | None:
    """Attach one spooled notification to its incident; return the runs it triggers, if any.

    Idempotent per spool entry: resuming an entry already taken in returns the same trigger.
    """
    n = parse_payload(entry["payload"])
    received = pd.Timestamp(entry["received_at"])
    route = route_for(routes, n.labels)
    if route is not None:  # vet label values before anything is written
        for flow in route.flows + route.on_resolved:
            overrides_for(route, n, flow)
    groups = _groups()
    incident_id = groups.get(n.group_key)
    if incident_id:
        state = _state(incident_id)
        if entry["id"] in state["entries"]:
            taken: Trigger | None = state["entries"][entry["id"]]
            return taken
    if not incident_id:
        if n.all_resolved:
            log.info("resolved notification for a group with no open incident: ignored")
            return None
        record = incident.create_incident(
            _title(n)[:200],
            severity=severity_for(route, n) if route else "",
            started_at=min(a.starts_at for a in n.alerts),
            detected_at=received,
        )
        incident_id = str(record["id"])
        groups[n.group_key] = incident_id
        write_json(_groups_file(), groups)
        state = {"seen": [], "entries": {}}
    number = archive_payload(incident_id, entry).stem
    keys = {a.key for a in n.firing}
    new = sorted(keys - set(state["seen"]))
    trigger: Trigger | None = None
    if n.all_resolved:
        ends = [a.ends_at for a in n.alerts if a.ends_at is not None]
        at = min(max(ends) if ends else received, received)
        # Milestones are ordered: alerts that ended before we even detected them (late
        # delivery, a replayed payload) resolve no earlier than the latest milestone set.
        set_at = [pd.Timestamp(v) for v in incident.load_incident(incident_id)["milestones"].values() if v]
        floor = max(set_at) if set_at else at
        note = f"alerts/{number}.json; alerts ended {at.isoformat()}"
        incident.set_milestone(incident_id, "resolved_at", max(at, floor), note=note)
        groups.pop(n.group_key, None)
        write_json(_groups_file(), groups)
        if route and route.on_resolved:
            trigger = plan(route, n, route.on_resolved, incident_id, "resolved: closing run")
        event = "alert group resolved"
    elif new:
        if route:
            trigger = plan(route, n, route.flows, incident_id, f"{len(new)} new alert(s)")
        event = f"alert notification: {len(new)} new alert(s)"
    else:
        event = "duplicate alert notification (no new alerts)"
    incident.add_timeline_event(
        incident_id, event, kind="alert", payload=f"alerts/{number}.json", route=route.name if route else ""
    )
    state["seen"] = sorted(set(state["seen"]) | keys)
    state["entries"][entry["id"]] = trigger
    write_json(alerts_dir(incident_id) / "state.json", state)
    return trigger


def run_trigger(trigger: Trigger, *, run_timeout_s: int) -> list[str]:
    """Run each flow of *trigger* in turn; return their outcomes (``flow: status``)."""
    from runbook_lib.run.runner import run_flow

    outcomes = []
    for run in trigger["runs"]:
        result = run_flow(
            run["flow"],
            trigger["incident_id"],
            overrides=[(str(k), str(v)) for k, v in run["overrides"]],
            cell_timeout_s=run_timeout_s,
        )
        outcomes.append(f"{result.flow}: {result.status}")
        if result.status == "interrupted":  # shutting down: the rest runs on resume
            break
    return outcomes


def take_in(path: Path, entry: dict[str, Any], routes: list[Route]) -> Trigger | None:
    """Intake of one spool entry, recorded in the entry so a restart does not redo it.

    A payload whose label values a route refuses (a secret, a wrong type) is moved to the
    quarantine with the one-line reason, not retried forever.
    """
    if entry.get("stage") == "triggered":
        done: Trigger | None = entry.get("trigger")
        return done
    try:
        trigger = intake(entry, routes)
    except RunbookError as err:
        kept = json.dumps(redact_obj(entry["payload"]), indent=1)
        spool.quarantine(kept.encode(), f"{type(err).__name__}: {err}")
        spool.finish(path)
        raise
    spool.update(path, stage="triggered", trigger=trigger)
    return trigger


def handle_entry(path: Path, routes: list[Route], *, run_timeout_s: int) -> list[str]:
    """Synchronously take in and run one spooled entry, then remove it from the spool."""
    entry = spool.load(path)
    trigger = take_in(path, entry, routes)
    outcomes = run_trigger(trigger, run_timeout_s=run_timeout_s) if trigger else []
    if not any(o.endswith(": interrupted") for o in outcomes):
        spool.finish(path)  # an interrupted entry stays spooled and is resumed on restart
    return outcomes
