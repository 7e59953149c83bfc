"""The db_connections notebook, executed for real: demo offline, a live incident with a leak,
exhaustion with the server log as evidence, and a server that is down or hangs."""

from __future__ import annotations

import http.server
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
import psycopg
import pytest

from tests import pg_cluster

ROOT = Path(__file__).resolve().parents[2]
ENV = "RUNBOOK_TEST_DSN"


def kinds(findings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in findings["findings"]:
        out.setdefault(f["kind"], []).append(f)
    return out


def source(findings: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in findings["sources"] if s["source"] == name)


def test_defaults_run_offline_on_the_demo(run_flow: Any, demo: dict[str, Any], tmp_path: Path) -> None:
    nb = nbformat.read(str(ROOT / "notebooks" / "db_connections.ipynb"), as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'pg_log: str = "demo/postgresql.log"' in params.source
    assert 'pg_service: str = ""' in params.source and "remediate: bool = False" in params.source
    # Every other parameter keeps its default; the demo lives in a temp folder.
    values = demo["param_values"]
    findings = run_flow("db_connections", {k: values[k] for k in ("pg_log", "start", "end")})
    assert source(findings, "postgres")["status"] == "skipped"
    assert source(findings, "pg_log")["status"] == "ok"
    found = kinds(findings)
    assert found["pg_log_too_many_connections"][0]["severity"] == "critical"
    assert found["db_connections"][0]["severity"] == "unknown"
    assert findings["extra"]["remediation"]["dry_run"] is True
    assert "no pg_service" in findings["extra"]["remediation"]["error"]
    assert any("terminate idle connections" in s for s in findings["next_steps"])
    # The server log's events are listed to the millisecond (the log has them); every other
    # table stays to the second.
    report = nbformat.read(str(tmp_path / "run-db_connections" / "report.ipynb"), as_version=4)
    tables = [
        "".join(o["data"]["text/html"])
        for c in report.cells
        for o in c.get("outputs", [])
        if "<table" in "".join(o.get("data", {}).get("text/html", ""))
    ]
    (events,) = [t for t in tables if "too_many_connections" in t]
    stamps = re.findall(r">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)<", events)
    assert stamps and all(re.fullmatch(r".* \d\d:\d\d:\d\d\.\d{3}", s) for s in stamps), stamps
    assert stamps == sorted(stamps)  # in time order
    others = "".join(t for t in tables if t is not events)
    assert not re.search(r":\d\d\.\d{3}<", others)


def test_live_incident_with_leak(run_flow: Any, cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    os.environ[dsn_env] = cluster.dsn()
    incident = pg_cluster.stage_incident(cluster, idle=8, user="app")
    # Leaks from the moment the kit first connects, so the sampling sees it grow.
    leaker = pg_cluster.start_leaker(
        cluster, app="billing-worker", per_s=1.5, limit=22, user="app", after="runbook-kit"
    )
    try:
        time.sleep(1.2)
        findings = run_flow(
            "db_connections",
            {
                "pg_dsn_env": dsn_env,
                "pg_log": str(cluster.log_path),
                "start": "-15m",
                "duration_s": 4.0,
                "interval_s": 0.5,
                "long_query_s": 1.0,
                "idle_in_transaction_s": 1.0,
                "idle_s": 1.0,
                "terminate_application": "billing-worker",
            },
        )
    finally:
        leaker.kill()
        leaker.wait(10)
        incident.stop()
        cluster.close_clients()
    assert source(findings, "postgres")["status"] == "ok"
    assert source(findings, "pg_log")["status"] == "ok"
    found = kinds(findings)
    (leak,) = found["connection_leak"]
    assert leak["numbers"]["application_name"] == "billing-worker"
    assert 60 <= leak["numbers"]["idle_per_min"] <= 130  # 1.5/s = 90/min
    assert 0 < leak["numbers"]["projected_exhaustion_min"] < 20
    assert "connection leak likely; slots exhausted in ~" in leak["summary"]
    (util,) = found["connection_utilisation"]
    assert util["numbers"]["usable_connections"] == 37 and util["numbers"]["max_connections"] == 40
    assert util["numbers"]["connections"] >= len(incident.all_pids) + 3
    assert util["numbers"]["samples"] == 9
    (tx,) = found["idle_in_transaction"]
    assert sorted(tx["numbers"]["pids"]) == sorted([*incident.idle_in_tx, incident.lock_root])
    (chain,) = found["blocking_chain"]
    assert chain["numbers"]["root_pid"] == incident.lock_root
    assert sorted(chain["numbers"]["blocked_pids"]) == sorted(incident.lock_waiters)
    (long_q,) = found["long_running_queries"]
    assert sorted(long_q["numbers"]["pids"]) == sorted([incident.sleeper, *incident.lock_waiters])
    (idle,) = found["idle_terminate_candidates"]
    assert set(incident.idle) <= set(idle["numbers"]["pids"])
    assert idle["numbers"]["applications"] == ["billing-worker"]
    remedy = findings["extra"]["remediation"]
    assert remedy["dry_run"] is True and remedy["terminated"] == []
    assert set(incident.idle) <= {c["pid"] for c in remedy["candidates"]}
    assert {c["application_name"] for c in remedy["candidates"]} == {"billing-worker"}
    assert "'billing-worker'" in remedy["sql"]
    assert findings["extra"]["settings"]["max_connections"] == 40
    recording = Path(findings["extra"]["recording"])
    assert recording.exists() and len(recording.read_text().splitlines()) == 1 + 9
    # The drill-down renders its first answer statically in batch: the leaking app's sessions.
    report = (tmp_path / "run-db_connections" / "report.ipynb").read_text()
    assert "rows (application_name=billing-worker)" in report
    assert "application/vnd.jupyter.widget-view+json" not in report  # batch: static only


class _DbHealth(http.server.BaseHTTPRequestHandler):
    """The application's DB health endpoint while its pool cannot get a connection."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = b'{"db": "down", "error": "sorry, too many clients already"}'
        self.send_response(503 if self.path == "/health/db" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_exhausted_server_is_stated_with_log_evidence(run_flow: Any, dsn_env: str) -> None:
    app = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DbHealth)
    threading.Thread(target=app.serve_forever, daemon=True).start()
    health = f"http://127.0.0.1:{app.server_address[1]}/health/db"
    try:
        for full in pg_cluster.cluster_fixture(6, superuser_reserved=1):
            os.environ[dsn_env] = full.dsn()
            for _ in range(6):
                full.connect("billing-worker")
            for _ in range(3):  # what the application sees, and what the server logs
                with pytest.raises(psycopg.OperationalError, match="too many clients"):
                    psycopg.connect(full.dsn(), connect_timeout=3)
            findings = run_flow(
                "db_connections",
                {
                    "pg_dsn_env": dsn_env,
                    "pg_log": str(full.log_path),
                    "start": "-15m",
                    "timeout_s": 3,
                    "db_health_url": health,
                },
            )
    finally:
        app.shutdown()
        app.server_close()
    postgres = source(findings, "postgres")
    assert postgres["status"] == "unavailable"
    assert "all slots are taken" in postgres["reason"]
    found = kinds(findings)
    assert found["connections_exhausted"][0]["severity"] == "critical"
    refusals = found["pg_log_too_many_connections"][0]
    assert refusals["severity"] == "critical" and refusals["numbers"]["count"] >= 3
    assert "too many clients" in findings["extra"]["remediation"]["error"]
    health_down = [f for f in found["dependency"] if health in f["summary"]]
    assert health_down and "returned 503" in health_down[0]["summary"]
    assert health_down[0]["severity"] == "high"


def test_unreachable_server_reported_within_timeouts(run_flow: Any, dsn_env: str) -> None:
    os.environ[dsn_env] = f"host=127.0.0.1 port={pg_cluster.closed_port()} user=postgres password=hunter2"
    t0 = time.monotonic()
    findings = run_flow("db_connections", {"pg_dsn_env": dsn_env, "pg_log": "", "timeout_s": 2})
    assert time.monotonic() - t0 < 30
    postgres = source(findings, "postgres")
    assert postgres["status"] == "unavailable" and "refused" in postgres["reason"].lower()
    assert kinds(findings)["db_connections"][0]["severity"] == "unknown"
    assert "hunter2" not in str(findings)


def test_hanging_server_reported_within_timeouts(run_flow: Any, dsn_env: str) -> None:
    with pg_cluster.silent_listener(backlog=16) as (port, accepted):
        os.environ[dsn_env] = f"host=127.0.0.1 port={port} user=postgres"
        t0 = time.monotonic()
        findings = run_flow("db_connections", {"pg_dsn_env": dsn_env, "pg_log": "", "timeout_s": 2})
        elapsed = time.monotonic() - t0
    assert elapsed < 35
    postgres = source(findings, "postgres")
    assert postgres["status"] == "unavailable" and "timeout" in postgres["reason"].lower()
    assert postgres["elapsed_s"] < 4
    assert "timeout" in findings["extra"]["remediation"]["error"].lower()
    assert accepted


def test_syslog_log_through_the_flow_reports_format_and_severities(run_flow: Any) -> None:
    """Issue 14: a syslog-forwarded log (no year in its header) read with auto; findings.json says so."""
    log = ROOT / "tests" / "data" / "pg_log" / "syslog_newyear.log"
    findings = run_flow(
        "db_connections",
        {
            "pg_log": str(log),
            "pg_log_line_prefix": "user=%u,db=%d,app=%a ",
            "pg_log_syslog_year": 2019,
            "start": "2019-12-31T23:00:00Z",
            "end": "2020-01-01T01:00:00Z",
        },
    )
    entry = source(findings, "pg_log")
    assert entry["status"] == "ok", entry["reason"]
    assert entry["format"] == "syslog"
    assert entry["by_severity"] == {"ERROR": 1, "FATAL": 2, "LOG": 2, "WARNING": 1}
    refusals = kinds(findings)["pg_log_too_many_connections"][0]
    assert refusals["numbers"]["count"] == 2


@pytest.mark.parametrize(
    ("name", "fmt", "container"),
    [("rds_postgresql.log", "rds", None), ("container_cri.log", "stderr", "cri")],
)
def test_managed_and_container_logs_through_the_flow_with_the_default_prefix(
    run_flow: Any, name: str, fmt: str, container: str | None
) -> None:
    """An RDS log and a Kubernetes node file, given as they are with every other parameter
    left at its default: the refusal is found and named with its count."""
    log = ROOT / "tests" / "data" / "pg_log" / name
    findings = run_flow(
        "db_connections", {"pg_log": str(log), "start": "2026-11-27T04:00:00Z", "end": "2026-11-27T06:00:00Z"}
    )
    entry = source(findings, "pg_log")
    assert entry["status"] == "ok", entry["reason"]
    assert entry["format"] == fmt and entry.get("container") == container
    assert entry["by_severity"]["FATAL"] == 1
    assert "pg_log_prefix_mismatch" not in kinds(findings)
    refusals = kinds(findings)["pg_log_too_many_connections"][0]
    assert refusals["numbers"]["count"] == 1
