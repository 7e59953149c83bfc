"""The triage flow end to end through the CLI: new -> run -> archive, on the demo and on a
broken world (missing logs, a hung health endpoint, an unreachable database)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml


def runbook(*args: str, env: dict[str, str] | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def write_params(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(values))
    return path


def test_demo_triage_names_the_guilty_deploy(kit_home: Path, demo: dict[str, Any], tmp_path: Path) -> None:
    new = runbook("new", "--title", "API 5xx after deploy")
    assert new.returncode == 0, new.stderr
    inc = new.stdout.strip()
    assert (kit_home / "reports" / inc / "incident.json").is_file()

    params = write_params(tmp_path / "demo.yaml", demo["param_values"])
    started = time.monotonic()
    # interactive is asked for, and ignored: a batch run is always interactive=False (issue 12).
    run = runbook("run", "triage", "--incident", inc, "-f", str(params), "-p", "interactive", "true")
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    (folder,) = [p for p in (kit_home / "reports" / inc).iterdir() if p.is_dir()]
    assert folder.name.startswith("01-triage-")

    findings = json.loads((folder / "findings.json").read_text())
    sha = demo["bad_deploy_sha"]
    assert findings["extra"]["suspect_deploy"] == sha
    deploy = next(f for f in findings["findings"] if f["kind"] == "deploy")
    assert deploy["severity"] == "high" and sha[:7] in deploy["summary"]
    assert "switch provider client to async pool" in deploy["summary"]
    spike = next(f for f in findings["findings"] if f["kind"] == "error_rate")
    began = spike["numbers"]["began_at"]
    assert abs((pd.Timestamp(began) - demo["bad_deploy_at"]).total_seconds()) <= 180
    top = next(f for f in findings["findings"] if f["kind"] == "app_errors")
    assert "Payment provider call failed" in top["summary"]
    assert findings["extra"]["severity"]["level"] in ("P1", "P2")
    assert "Incident Report" in findings["extra"]["incident_report"]
    statuses = {s["source"]: s["status"] for s in findings["sources"]}
    assert statuses["deploys"] == "ok" and statuses["app_log"] in ("ok", "partial")
    assert statuses["access_log"] == "partial"  # the demo plants malformed lines
    access = next(s for s in findings["sources"] if s["source"] == "access_log")
    assert access["lines_skipped"] >= 2 and access["samples"]

    page = (folder / "report.html").read_text()
    assert page.count("data:image/png;base64") >= 2  # charts embedded
    assert "signature=" in page and "Payment provider call failed" in page  # the drill-down's static view
    assert "application/vnd.jupyter.widget-view+json" not in (folder / "report.ipynb").read_text()
    assert "&lt;script&gt;" in page or "<script" not in page
    index = (kit_home / "reports" / inc / "index.html").read_text()
    assert folder.name in index and sha[:7] in index

    show = runbook("show", inc)
    assert show.returncode == 0 and folder.name in show.stdout and sha[:7] in show.stdout
    print(f"triage run on the demo: {elapsed:.1f} s wall")


class _HangingHandler(threading.Thread):
    """A TCP listener that accepts connections and never answers."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)


@pytest.fixture
def hanging_port() -> Iterator[int]:
    server = _HangingHandler()
    server.start()
    yield server.port
    server.sock.close()
    for c in server.conns:
        c.close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_broken_world_still_gives_a_report(
    kit_home: Path, demo: dict[str, Any], tmp_path: Path, hanging_port: int
) -> None:
    inc = runbook("new", "--title", "everything is broken").stdout.strip()
    garbled = tmp_path / "app.log"
    garbled.write_bytes(b"\x00\xff\xfe not a log\n" * 50 + b"2026-01-01T00:00:00Z ERROR [x] trunc")
    values = {
        **demo["param_values"],
        "access_log": str(tmp_path / "missing" / "access.log"),
        "app_log": str(garbled),
        "repo": str(tmp_path),  # not a git repository
        "health_urls": f"http://127.0.0.1:{hanging_port}/health, http://127.0.0.1:{_closed_port()}/health",
        "pg_dsn_env": "RUNBOOK_BROKEN_DSN",
        "redis": f"127.0.0.1:{hanging_port}",
        "timeout_s": 2.0,
    }
    params = write_params(tmp_path / "broken.yaml", values)
    dsn = f"host=127.0.0.1 port={_closed_port()} user=app password=hunter2-secret dbname=x"
    started = time.monotonic()
    run = runbook("run", "triage", "--incident", inc, "-f", str(params), env={"RUNBOOK_BROKEN_DSN": dsn})
    elapsed = time.monotonic() - started
    assert run.returncode == 0, run.stdout + run.stderr
    (folder,) = [p for p in (kit_home / "reports" / inc).iterdir() if p.is_dir()]
    findings = json.loads((folder / "findings.json").read_text())
    statuses = {s["source"]: s for s in findings["sources"]}
    assert statuses["access_log"]["status"] == "unavailable" and statuses["access_log"]["reason"]
    assert statuses["deploys"]["status"] == "unavailable"
    kinds = {f["kind"]: f for f in findings["findings"]}
    assert kinds["error_rate"]["severity"] == "unknown" and "access_log" in kinds["error_rate"]["summary"]
    assert kinds["deploy"]["severity"] == "unknown"
    down = [f for f in findings["findings"] if f["kind"].startswith("dependency") or "127.0.0.1" in f["summary"]]
    assert len(down) >= 3, findings["findings"]
    # Bounded by the timeouts, not by the hung endpoint.
    assert elapsed < 120
    for path in folder.parent.rglob("*"):
        if path.is_file():
            assert b"hunter2-secret" not in path.read_bytes(), path


def test_failed_triage_exits_non_zero_naming_the_cell(kit_home: Path) -> None:
    inc = runbook("new", "--title", "bad window").stdout.strip()
    run = runbook("run", "triage", "--incident", inc, "-p", "start", "2020-01-02", "-p", "end", "2020-01-01")
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("FlowFailed: triage failed at cell") and "ParameterError" in last
    (folder,) = [p for p in (kit_home / "reports" / inc).iterdir() if p.is_dir()]
    assert json.loads((folder / "run.json").read_text())["status"] == "failed"
    assert (folder / "report.html").exists()


def test_cli_refuses_bad_parameters_with_one_line(kit_home: Path) -> None:
    inc = runbook("new", "--title", "x").stdout.strip()
    run = runbook("run", "triage", "--incident", inc, "-p", "acces_log", "/tmp/x")
    assert run.returncode == 2 and run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("ParameterError: acces_log")
    run = runbook("run", "triage", "--incident", inc, "-p", "health_urls", "https://u:pw@host/health")
    assert run.returncode == 2 and "pw@" not in run.stderr and "password" in run.stderr
    run = runbook("run", "nosuchflow", "--incident", inc)
    assert run.returncode == 2 and "triage" in run.stderr


def test_list_shows_flows_purposes_and_parameters(kit_home: Path) -> None:
    out = runbook("list").stdout
    assert "triage: Runbook sections 2 (Initial Assessment)" in out
    assert "access_log (str, default 'demo/access.log'): nginx/apache access log" in out
