"""groupKey → incident: open, dedupe (HA pair), join, resolve; replay from an archived payload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runbook_lib.alerts import spool
from runbook_lib.alerts.incidents import intake
from runbook_lib.alerts.routes import load_routes
from runbook_lib.incident.record import load_incident
from runbook_lib.store import read_json_object
from tests.alerts.conftest import ROOT
from tests.alerts.payload_factory import am_body


def _take(body: dict) -> dict | None:  # type: ignore[type-arg]
    return intake(spool.load(spool.accept(body)), load_routes())


def test_group_opens_dedupes_joins_and_resolves(alerts_home: Path) -> None:
    first = _take(am_body("checkout", ["a"], alertname="HighCPU"))
    assert first is not None and first["reason"] == "1 new alert(s)"
    incident_id = first["incident_id"]
    record = load_incident(incident_id)
    assert record["milestones"]["impact_started_at"].startswith("2026-11-27T05:17:16")
    assert record["severity"] == "P3"  # the default route: severity label 'warning'
    assert _take(am_body("checkout", ["a"], alertname="HighCPU")) is None  # HA twin: deduplicated
    joined = _take(am_body("checkout", ["a", "b"], alertname="HighCPU"))
    assert joined is not None and joined["incident_id"] == incident_id and joined["reason"] == "1 new alert(s)"
    other = _take(am_body("billing", ["a"]))
    assert other is not None and other["incident_id"] != incident_id
    closing = _take(am_body("checkout", ["a", "b"], alertname="HighCPU", status="resolved"))
    assert closing is not None and closing["reason"] == "resolved: closing run"  # the route's on_resolved
    record = load_incident(incident_id)
    # The alerts ended (05:40) before we detected them (now): resolved no earlier than detected.
    assert record["milestones"]["resolved_at"] == record["milestones"]["detected_at"]
    assert any("alerts ended 2026-11-27T05:40:00" in e["event"] for e in record["timeline"])
    archived = sorted((alerts_home / "reports" / incident_id / "alerts").glob("[0-9][0-9][0-9].json"))
    assert [p.name for p in archived] == ["001.json", "002.json", "003.json", "004.json"]
    assert read_json_object(archived[-1])["payload"]["status"] == "resolved"
    events = [e["event"] for e in record["timeline"] if e["kind"] == "alert"]
    assert events == [
        "alert notification: 1 new alert(s)",
        "duplicate alert notification (no new alerts)",
        "alert notification: 1 new alert(s)",
        "alert group resolved",
    ]
    # After resolution the group opens a fresh incident when it fires again.
    again = _take(am_body("checkout", ["a"], alertname="HighCPU"))
    assert again is not None and again["incident_id"] not in (incident_id, other["incident_id"])


def test_replay_reruns_the_routed_flow_from_an_archived_payload(alerts_home: Path) -> None:
    hostile = "../../x; $(touch pwned)"
    first = _take(am_body(hostile, ["a"]))
    assert first is not None
    incident_id = first["incident_id"]
    env = {"RUNBOOK_HOME": str(alerts_home), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "replay", incident_id, "--payload", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=alerts_home,
    )
    assert out.returncode == 0 and out.stdout.strip() == "alert_probe: ok", out.stderr
    runs = list((alerts_home / "reports" / incident_id).glob("*-alert_probe-*/findings.json"))
    assert len(runs) == 1 and read_json_object(runs[0])["parameters"]["target"] == hostile
    assert not (alerts_home / "pwned").exists()
    bad = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "replay", incident_id, "--payload", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1 and "has no payload 9" in bad.stderr


def test_a_label_carrying_a_secret_is_refused_and_quarantined(alerts_home: Path) -> None:
    body = am_body("postgresql://app:hunter2@db/prod", ["a"])
    env = {"RUNBOOK_HOME": str(alerts_home), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "alert", "-"],
        input=json.dumps(body),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "password or token" in out.stderr and "hunter2" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    reasons = list((alerts_home / "reports" / "_quarantine").glob("*.reason.json"))
    assert len(reasons) == 1 and "password or token" in read_json_object(reasons[0])["reason"]
    kept = reasons[0].with_name(reasons[0].name.replace(".reason.json", ".body")).read_text()
    assert "db/prod" in kept and "hunter2" not in kept
    assert not list((alerts_home / "reports" / "_spool").glob("*.json"))  # not retried forever
    assert not list((alerts_home / "reports").glob("INC-*"))  # refused before anything was written
