"""Live and remediation panels against the real PostgreSQL and real processes, driven from
Python the way a person drives them in JupyterLab (clicks, selections)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import psutil
import psycopg
import pytest

from runbook_lib.incident.record import create_incident, load_incident
from runbook_lib.notebook.live import ACTIVITY_COLUMNS, LivePanel, activity_fetcher
from runbook_lib.notebook.remedy_panel import signal_remedy, terminate_remedy
from runbook_lib.sources.pg import collect_activity
from tests import pg_cluster

ENV = "RUNBOOK_TEST_DSN_PANELS"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty reports/ and run folder, so incidents and recordings stay in the test."""
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    monkeypatch.setenv("RUNBOOK_RUN_DIR", str(tmp_path / "run"))
    (tmp_path / "reports").mkdir()
    return tmp_path


@pytest.fixture
def pg_env(cluster: pg_cluster.PgCluster) -> Iterator[str]:
    yield from pg_cluster.dsn_env_fixture(cluster, ENV)


def wait_for(check: Callable[[], bool], timeout_s: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def table_html(panel: LivePanel) -> str:
    return "".join(o["data"].get("text/html", "") for o in panel.widgets["table"].outputs)


def live_pids(cluster: pg_cluster.PgCluster) -> set[int]:
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        return {r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity")}


def test_live_pg_panel_shows_a_new_session_and_stops(cluster: pg_cluster.PgCluster, pg_env: str, home: Path) -> None:
    panel = LivePanel("pg-test", activity_fetcher("", pg_env), columns=ACTIVITY_COLUMNS, interval_s=0.3)
    box = panel.build()
    assert "rbk-live" in box._dom_classes and "rbk-live-stop" in panel.widgets["stop"]._dom_classes
    panel.start()
    try:
        assert wait_for(lambda: panel.refreshes >= 1)
        assert "rbk-late-comer" not in table_html(panel)
        late = cluster.connect("rbk-late-comer", user="app")  # opened after the panel started
        assert wait_for(lambda: "rbk-late-comer" in table_html(panel)), table_html(panel)
        assert str(late.info.backend_pid) in table_html(panel)
        assert "refreshed" in panel.widgets["status"].value
        assert ">pid<" in table_html(panel) and "application name" in table_html(panel)
    finally:
        panel.widgets["stop"].click()
    assert panel.thread is not None and not panel.thread.is_alive()
    count = panel.refreshes
    time.sleep(1.0)
    assert panel.refreshes == count, "a stopped panel must not refresh"
    assert panel.widgets["stop"].disabled and "stopped" in panel.widgets["status"].value
    assert (home / "run" / "pg_activity_live.jsonl").is_file()


def test_live_panel_shows_a_broken_source_in_place(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, f"host=127.0.0.1 port={pg_cluster.closed_port()} dbname=postgres user=postgres")
    panel = LivePanel("pg-broken", activity_fetcher("", ENV, timeout_s=2), interval_s=0.3)
    box = panel.build()
    panel.start()
    try:
        assert wait_for(lambda: any("rbk-error" in c._dom_classes for c in box.children))
        error = next(c for c in box.children if "rbk-error" in c._dom_classes)
        assert "postgres unavailable" in error.value and "b2182b" in error.value
        assert panel.thread is not None and panel.thread.is_alive(), "the panel keeps trying"
    finally:
        panel.stop()
    assert not panel.thread.is_alive()


def test_a_rerun_cell_replaces_its_running_panel(home: Path, pg_env: str) -> None:
    first = LivePanel("pg-rerun", activity_fetcher("", pg_env), interval_s=0.3)
    first.build()
    first.start()
    second = LivePanel("pg-rerun", activity_fetcher("", pg_env), interval_s=0.3)
    second.build()
    second.start()
    try:
        assert first.thread is not None and not first.thread.is_alive()
        assert second.thread is not None and second.thread.is_alive()
    finally:
        second.stop()


def test_terminate_panel_kills_only_the_confirmed_selection(
    cluster: pg_cluster.PgCluster, pg_env: str, home: Path
) -> None:
    incident = create_incident("pool exhausted", started_at="2026-11-27T13:50Z")["id"]
    keep = cluster.connect("rbk-keep-me", user="app")
    kill = cluster.connect("rbk-kill-me", user="app")
    keep_pid, kill_pid = keep.info.backend_pid, kill.info.backend_pid
    sessions = collect_activity("", pg_env, record_to=home / "a.jsonl").frame
    panel = terminate_remedy(sessions, "", pg_env, incident_id=incident)
    box = panel.build()
    w = panel.widgets
    assert "rbk-remedy" in box._dom_classes and "rbk-remedy-select" in w["select"]._dom_classes
    labels = dict((pid, label) for label, pid in w["select"].options)
    assert "rbk-kill-me" in labels[kill_pid] and "rbk-keep-me" in labels[keep_pid]

    w["select"].value = (kill_pid,)
    assert w["confirm"].disabled, "no confirm before a dry run"
    panel.confirm()  # even a direct call refuses without a dry run
    w["dryrun"].click()
    shown = " ".join(str(o["data"].get("text/plain", "")) for o in w["result"].outputs)
    assert f"pids [{kill_pid}]" in shown and "would terminate 1 backend" in shown
    assert "pg_terminate_backend" in shown and f"{{{kill_pid}}}" in shown  # the statement Confirm runs, for it alone
    assert {keep_pid, kill_pid} <= live_pids(cluster), "a dry run terminates nothing"
    assert not w["confirm"].disabled

    w["select"].value = (kill_pid, keep_pid)  # a new selection needs its own dry run
    assert w["confirm"].disabled
    w["select"].value = (kill_pid,)
    w["dryrun"].click()
    w["confirm"].click()
    assert wait_for(lambda: kill_pid not in live_pids(cluster))
    assert keep_pid in live_pids(cluster)
    done = " ".join(str(o["data"].get("text/plain", "")) for o in w["result"].outputs)
    assert f"terminated 1 backend(s): pids [{kill_pid}]" in done
    events = [e for e in load_incident(incident)["timeline"] if e.get("kind") == "remediation"]
    assert len(events) == 1 and str(kill_pid) in events[0]["event"] and "pg_terminate_backend" in events[0]["sql"]
    assert w["confirm"].disabled, "one confirmation acts once"


def test_signal_panel_signals_only_the_selected_process(home: Path) -> None:
    incident = create_incident("leak", started_at="2026-11-27T13:50Z")["id"]
    code = "import time\nwhile True: time.sleep(1)"
    a = subprocess.Popen([sys.executable, "-c", code])
    b = subprocess.Popen([sys.executable, "-c", code])
    try:
        frame = pd.DataFrame([{"pid": a.pid, "name": "python"}, {"pid": b.pid, "name": "python"}])
        panel = signal_remedy(frame, incident_id=incident)
        panel.build()
        w = panel.widgets
        w["select"].value = (a.pid,)
        w["dryrun"].click()
        plan = " ".join(str(o["data"].get("text/plain", "")) for o in w["result"].outputs)
        assert f"kill -TERM {a.pid}" in plan and a.poll() is None
        w["confirm"].click()
        assert a.wait(10) == -15
        assert b.poll() is None and psutil.pid_exists(b.pid)
        events = [e for e in load_incident(incident)["timeline"] if e.get("kind") == "remediation"]
        assert len(events) == 1 and f"kill -TERM {a.pid}" in events[0]["event"]
    finally:
        for proc in (a, b):
            proc.kill()
            proc.wait(10)
