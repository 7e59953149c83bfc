"""pg_stat_activity sampling against a real throwaway cluster, and the broken worlds."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psycopg
import pytest

from runbook_lib.errors import SourceDataError
from runbook_lib.sources.pg.activity import (
    ACTIVITY_QUERIES,
    ACTIVITY_SCHEMA,
    activity_query_for,
    collect_activity,
    load_query,
    mask_literals,
    read_activity_export,
    read_activity_recording,
)
from tests import pg_cluster

ENV = "RUNBOOK_TEST_DSN_SOURCES"


def test_snapshot_has_schema_limits_and_excludes_own_session(
    cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path
) -> None:
    mine = [cluster.connect("snapshot-app") for _ in range(3)]
    result = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "a.jsonl")
    assert result.status == "ok", result.reason
    frame = result.frame
    assert list(frame.columns) == list(ACTIVITY_SCHEMA)
    assert str(frame["sampled_at"].dtype) == "datetime64[ns, UTC]"
    settings = result.meta["settings"]
    assert settings["max_connections"] == 40
    assert settings["superuser_reserved_connections"] == 3
    assert settings["usable_connections"] == 40 - 3 - settings["reserved_connections"]
    assert settings["own_pid"] not in set(frame["pid"])
    assert "runbook-kit" not in set(frame["application_name"].dropna())
    apps = frame[frame["application_name"] == "snapshot-app"]
    assert sorted(apps["pid"]) == sorted(c.info.backend_pid for c in mine)
    assert apps["usesuper"].all()
    assert (apps["client_addr"] == "127.0.0.1").all()
    assert frame["sampled_at"].nunique() == 1
    assert {"postgres"} <= {r["rolname"] for r in result.meta["role_limits"]}
    assert any(d["datname"] == "postgres" for d in result.meta["database_limits"])


def test_samples_are_appended_as_taken_and_read_back(dsn_env: str, tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    t0 = time.monotonic()
    result = collect_activity(pg_dsn_env=dsn_env, duration_s=1.0, interval_s=0.25, record_to=path)
    assert 0.9 < time.monotonic() - t0 < 4
    assert result.meta["samples"] == 5
    assert result.frame["sampled_at"].nunique() == 5
    lines = path.read_text().splitlines()
    assert len(lines) == 1 + 5
    back = read_activity_recording(path)
    assert back.status == "ok"
    assert back.meta["settings"] == result.meta["settings"]
    assert back.frame.reset_index(drop=True).equals(result.frame.reset_index(drop=True))
    # An interrupted run leaves a cut last line: what came before is still evidence.
    path.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][: len(lines[-1]) // 2])
    cut = read_activity_recording(path)
    assert cut.status == "partial"
    assert cut.lines_skipped == 1
    assert cut.meta["samples"] == 4


def test_literals_masked_unless_full_text_asked(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    conn = cluster.connect("secret-app")
    conn.execute("SELECT 'hunter2' AS pw, 123456 AS n /* " + "padding " * 40 + "*/")
    masked = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "m.jsonl", query_chars=60)
    row = masked.frame[masked.frame["application_name"] == "secret-app"].iloc[0]
    assert "hunter2" not in row["query"] and "123456" not in row["query"]
    assert row["query"].startswith("SELECT ? AS pw, ? AS n") and len(row["query"]) <= 60
    full = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "f.jsonl", show_full_queries=True)
    row = full.frame[full.frame["application_name"] == "secret-app"].iloc[0]
    assert "'hunter2'" in row["query"] and len(row["query"]) > 300


def test_mask_literals_forms() -> None:
    assert mask_literals("SELECT * FROM t1 WHERE a = 'o''k' AND b = -4.5e3") == (
        "SELECT * FROM t1 WHERE a = ? AND b = ?"
    )
    assert mask_literals("SELECT $tag$x 'y'$tag$, E'\\n', $1") == "SELECT ?, ?, $1"
    assert mask_literals("SELECT 'cut off by left() here") == "SELECT ?"


def test_blocked_by_reports_the_lock_holder(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    setup = cluster.connect("setup")
    setup.execute("CREATE TABLE IF NOT EXISTS lockme (id int)")
    holder = cluster.connect("holder", autocommit=False)
    holder.execute("LOCK TABLE lockme IN ACCESS EXCLUSIVE MODE")
    waiter = cluster.connect("waiter")
    thread = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM lockme"))
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            result = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "l.jsonl")
            row = result.frame[result.frame["pid"] == waiter.info.backend_pid]
            if not row.empty and row.iloc[0]["wait_event_type"] == "Lock":
                break
            time.sleep(0.05)
        assert row.iloc[0]["blocked_by"] == [holder.info.backend_pid]
        assert row.iloc[0]["state"] == "active"
        held = result.frame[result.frame["pid"] == holder.info.backend_pid].iloc[0]
        assert held["state"] == "idle in transaction"
        assert held["blocked_by"] is None
    finally:
        holder.rollback()
        thread.join(5)


def test_every_query_file_returns_the_same_columns(dsn_env: str) -> None:
    with psycopg.connect(os.environ[dsn_env], autocommit=True) as conn:
        columns = []
        for name in ACTIVITY_QUERIES.values():
            cur = conn.execute(load_query(name), {"query_chars": 10})
            columns.append([d.name for d in cur.description or []])
    assert columns[0] == columns[1] == columns[2]
    assert "leader_pid" in columns[0] and "query_id" in columns[0]
    # Version 12's file must not name columns that 12 lacks.
    assert "a.leader_pid" not in load_query(ACTIVITY_QUERIES[120000])
    assert "a.query_id" not in load_query(ACTIVITY_QUERIES[130000])


def test_query_file_chosen_by_server_version() -> None:
    assert activity_query_for(120017) == "pg_stat_activity_post_120000.sql"
    assert activity_query_for(130000) == "pg_stat_activity_post_130000.sql"
    assert activity_query_for(150020) == "pg_stat_activity_post_140000.sql"
    assert activity_query_for(170002) == "pg_stat_activity_post_140000.sql"
    with pytest.raises(SourceDataError):
        activity_query_for(110022)


def test_not_configured_is_skipped() -> None:
    result = collect_activity("", "")
    assert result.status == "skipped"
    assert list(result.frame.columns) == list(ACTIVITY_SCHEMA)


def test_closed_port_is_unavailable_quickly(tmp_path: Path) -> None:
    port = pg_cluster.closed_port()
    os.environ[ENV] = f"host=127.0.0.1 port={port} user=postgres dbname=postgres password=s3cret"
    try:
        t0 = time.monotonic()
        result = collect_activity(pg_dsn_env=ENV, timeout_s=2, record_to=tmp_path / "x.jsonl")
    finally:
        os.environ.pop(ENV)
    assert time.monotonic() - t0 < 3
    assert result.status == "unavailable"
    assert "refused" in result.reason.lower()
    assert "s3cret" not in result.reason + result.target
    assert result.frame.empty and list(result.frame.columns) == list(ACTIVITY_SCHEMA)
    assert result.meta["slots_exhausted"] is False


def test_silent_listener_times_out(tmp_path: Path) -> None:
    with pg_cluster.silent_listener(backlog=8) as (port, accepted):
        os.environ[ENV] = f"host=127.0.0.1 port={port} user=postgres"
        try:
            t0 = time.monotonic()
            result = collect_activity(pg_dsn_env=ENV, timeout_s=2, record_to=tmp_path / "h.jsonl")
            elapsed = time.monotonic() - t0
        finally:
            os.environ.pop(ENV)
    assert elapsed < 5
    assert result.status == "unavailable"
    assert "timeout" in result.reason.lower()
    assert accepted, "the client did reach the listener"


@pytest.mark.parametrize("name", ["pg_stat_activity_during_pgbench.csv", "pg_stat_activity_during_pgbench.json"])
def test_pgbench_capture_loads(data_dir: Path, name: str) -> None:
    result = read_activity_export(data_dir / "postgres_activity" / name)
    assert result.status == "ok", result.reason
    frame = result.frame
    assert list(frame.columns) == list(ACTIVITY_SCHEMA)
    assert len(frame) in (14, 15)
    assert {"idle in transaction", "active"} <= set(frame["state"].dropna())
    locks = frame[frame["wait_event_type"] == "Lock"]
    assert not locks.empty and set(locks["wait_event"]) <= {"transactionid", "tuple"}
    workers = frame[frame["backend_type"] == "autovacuum launcher"]
    assert len(workers) == 1 and workers["datname"].isna().all()
    assert workers["state"].isna().all()
    assert (frame.loc[frame["application_name"] == "pgbench", "datname"] == "bench").all()
    assert frame["sampled_at"].notna().all()
    assert frame["sampled_at"].iloc[0] >= frame["query_start_at"].max()


def test_record_activity_writes_a_recording_the_flow_can_read(dsn_env: str, tmp_path: Path) -> None:
    from runbook_lib.run.recording import record_activity

    path = record_activity(
        "INC-2026-11-27-001", pg_dsn_env=dsn_env, duration_s=1.0, interval_s=0.5, out_dir=tmp_path / "rec"
    )
    assert path.parent == tmp_path / "rec" and path.name.startswith("pg_activity-")
    back = collect_activity(from_recording=str(path))
    assert back.status == "ok" and back.meta["samples"] == 3
    assert back.meta["settings"]["max_connections"] == 40


def test_killed_recorder_keeps_what_it_saw(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    cluster.connect("witness")
    script = (
        "import sys; from pathlib import Path; from runbook_lib.run.recording import record_activity;"
        "record_activity('', pg_dsn_env=sys.argv[1], duration_s=60, interval_s=0.2,"
        " out_dir=Path(sys.argv[2]))"
    )
    child = subprocess.Popen([sys.executable, "-c", script, dsn_env, str(tmp_path)])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            files = list(tmp_path.glob("pg_activity-*.jsonl"))
            if files and len(files[0].read_text().splitlines()) >= 4:
                break
            time.sleep(0.1)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    back = read_activity_recording(files[0])
    assert back.usable and back.meta["samples"] >= 3
    assert "witness" in set(back.frame["application_name"].dropna())


def test_record_activity_raises_one_clear_error_when_nothing_was_recorded(tmp_path: Path) -> None:
    from runbook_lib.errors import SourceUnavailable
    from runbook_lib.run.recording import record_activity

    port = pg_cluster.closed_port()
    os.environ[ENV] = f"host=127.0.0.1 port={port} user=postgres"
    try:
        with pytest.raises(SourceUnavailable) as err:
            record_activity("", pg_dsn_env=ENV, duration_s=0, out_dir=tmp_path, timeout_s=2)
    finally:
        os.environ.pop(ENV)
    message = str(err.value)
    assert message.startswith(f"postgres (host=127.0.0.1 port={port} user=postgres): connection")
    assert message.count("postgres (") == 1
