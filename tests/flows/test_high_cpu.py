"""The high_cpu notebook, executed for real against a CPU-burning child process."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests import hostprocs


def _finding(findings: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(f for f in findings["findings"] if f["kind"] == kind)


def _source(findings: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in findings["sources"] if s["source"] == name)


def test_flow_names_the_burner_and_when_it_started(run_flow: Any, tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC")
    app_log = tmp_path / "app.log"
    app_log.write_text(
        "".join(
            f"{(now - pd.Timedelta(seconds=60 - i)).isoformat()} WARN [http] "
            f"Slow request GET /api/search took {900 + i}ms\n"
            for i in range(30)
        )
        + f"{now.isoformat()} INFO [http] GET /health 200 2ms\n",
        encoding="utf-8",
    )
    burner = hostprocs.cpu_burner_on_release(30, marker="rb-flow-burner")
    system_csv = tmp_path / "run-high_cpu" / "host_samples" / "system.csv"
    released: list[pd.Timestamp] = []

    def release_after_two_samples() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if system_csv.exists() and system_csv.read_text().count("\n") >= 3:
                released.append(pd.Timestamp.now(tz="UTC"))
                hostprocs.release_burner(burner)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=release_after_two_samples)
    watcher.start()
    try:
        findings = run_flow(
            "high_cpu",
            {
                "target": "rb-flow-burner",
                "duration_s": 4.0,
                "interval_s": 0.5,
                "cpu_threshold_percent": 45.0,
                "cpu_min_duration_s": 1.0,
                # The 2-core box is shared: a burner may get well under a full core.
                "busy_process_percent": 25.0,
                "access_log": "",
                "repo": "",
                "app_log": str(app_log),
            },
        )
        still_running = burner.poll() is None
    finally:
        watcher.join()
        hostprocs.stop(burner)
    assert released, "the sampler never wrote its samples to the run folder"
    culprit = _finding(findings, "cpu.culprit")
    assert culprit["severity"] == "high"
    assert f"pid {burner.pid}" in culprit["summary"] and "python" in culprit["summary"]
    busy_since = pd.Timestamp(culprit["numbers"]["busy_since_at"])
    assert released[0] <= busy_since <= released[0] + pd.Timedelta(seconds=1.6)
    high = _finding(findings, "cpu.sustained_high")
    assert high["severity"] in ("high", "low") and high["numbers"]["peak_percent"] >= 45
    assert _source(findings, "host.process_samples")["status"] == "ok"
    assert _source(findings, "access_log")["status"] == "skipped"
    assert _finding(findings, "cpu.traffic_correlation")["severity"] == "unknown"
    slow = _finding(findings, "cpu.app_log")
    assert slow["numbers"]["lines"] == 30 and "Slow request GET /api/search took Nms" in slow["summary"]
    steps = findings["next_steps"]
    assert f"sudo timeout 30 strace -c -f -p {burner.pid}" in steps
    assert f"sudo py-spy dump --pid {burner.pid}" in steps
    remedy = findings["extra"]["remedy"]
    assert remedy["command"] == f"kill -TERM {burner.pid}"
    assert remedy["executed"] is False and still_running
    assert (tmp_path / "run-high_cpu" / "host_samples" / "processes.csv").exists()


def test_remediate_sends_the_signal_and_records_it(run_flow: Any, tmp_path: Path, kit_home: Path) -> None:
    from runbook_lib.incident.record import create_incident, load_incident

    incident_id = create_incident("CPU at 100%")["id"]
    # A Grafana-style CSV export covers the incident window: the alert condition is judged
    # on it (10 min, above 80 % from 04:03), while the live samples name the process.
    export = tmp_path / "cpu.csv"
    export.write_text(
        '"Time","web-1 cpu"\n' + "".join(f"2026-11-27 04:{m:02d}:00,{30 if m < 3 else 91}%\n" for m in range(10)),
        encoding="utf-8",
    )
    burner = hostprocs.cpu_burner(60, marker="rb-flow-remedy")
    try:
        t0 = time.monotonic()
        findings = run_flow(
            "high_cpu",
            {
                "incident_id": incident_id,
                "target": "rb-flow-remedy",
                "duration_s": 1.5,
                "interval_s": 0.5,
                "access_log": "",
                "repo": "",
                "app_log": "",
                "remediate": True,
                "busy_process_percent": 20.0,
                "prometheus_url": "http://127.0.0.1:19097",
                "timeout_s": 1.0,
                "metrics_csv": str(export),
            },
        )
        took = time.monotonic() - t0
        code = burner.wait(timeout=10)
    finally:
        hostprocs.stop(burner)
    assert code == -15  # SIGTERM, sent by the notebook
    remedy = findings["extra"]["remedy"]
    assert remedy["executed"] is True
    assert remedy["result"] == f"sent SIGTERM to pid {burner.pid} (python)"
    (event,) = [e for e in load_incident(incident_id)["timeline"] if e["kind"] == "remediation"]
    assert f"sent SIGTERM to pid {burner.pid}" in event["event"]
    prom = _source(findings, "prometheus")
    assert prom["status"] == "unavailable" and "19097" in prom["target"]
    assert took < 60
    assert findings["extra"]["cpu_series_source"] == "metrics_csv"
    high = _finding(findings, "cpu.sustained_high")
    assert high["severity"] == "high"
    assert high["numbers"]["began_at"] == "2026-11-27T04:03:00+00:00"
    assert high["numbers"]["duration_s"] == 7 * 60


@pytest.mark.parametrize("kind", ["cpu", "memory"])
def test_diagnostic_commands_follow_the_runtime(kind: str) -> None:
    from runbook_lib.remedies.host import apply_remedy, diagnostic_commands, plan_restart

    node = diagnostic_commands(42, "node", "node /srv/app/server.js", kind=kind)["command"].tolist()
    py = diagnostic_commands(7, "python3", "python3 app.py", kind=kind)["command"].tolist()
    if kind == "cpu":
        assert "node --prof /srv/app/server.js" in node and "strace -c -f -p 42" in " ".join(node)
        assert not any("py-spy" in c for c in node)
        assert "sudo py-spy dump --pid 7" in py and not any("--prof" in c for c in py)
    else:
        assert "kill -USR2 42" in node
        assert not any("USR2" in c for c in py)
    plan = plan_restart(4_000_000, service="aiwg-api")
    assert plan.command == "sudo systemctl restart aiwg-api"
    assert apply_remedy(plan)["executed"] is False
    gone = apply_remedy(plan_restart(4_000_000), remediate=True)
    assert gone["executed"] is False and "already exited" in gone["result"]
    assert "protected" in apply_remedy(plan_restart(1), remediate=True)["result"]
