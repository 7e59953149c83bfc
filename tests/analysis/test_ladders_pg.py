"""Severity ladders of the connection findings at their boundaries, on real sessions.

One psql left in a transaction, one report query running long, one session waiting a
moment on a lock are ordinary life on a busy server (medium); several are the incident
(high). The sessions are real, on the test cluster; the grades come from pg_stat_activity.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from runbook_lib.analysis.connection_findings import (
    BLOCKED_HIGH_SESSIONS,
    LISTING_HIGH_SESSIONS,
    find_connection_findings,
)
from runbook_lib.sources.pg.activity import collect_activity
from tests import pg_cluster


@pytest.fixture
def background(cluster: pg_cluster.PgCluster) -> Iterator[list[threading.Thread]]:
    """Threads running statements; their sessions are cancelled and joined afterwards."""
    threads: list[threading.Thread] = []
    yield threads
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'ladder-%'"
            " AND state = 'active' AND pid <> pg_backend_pid()"
        )
    for thread in threads:
        thread.join(10)


def _run(threads: list[threading.Thread], conn: psycopg.Connection[Any], sql: str) -> None:
    def target() -> None:
        with contextlib.suppress(psycopg.Error):  # cancelled when the test cleans up
            conn.execute(sql)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    threads.append(thread)


def _wait_until(cluster: pg_cluster.PgCluster, sql: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        while time.monotonic() < deadline:
            row = admin.execute(sql).fetchone()
            if row is not None and row[0] >= expected:
                return
            time.sleep(0.02)
    raise AssertionError(f"never saw {expected}: {sql}")


def _grade(dsn_env: str, tmp_path: Path, kind: str, **thresholds: float) -> str:
    activity = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / f"{kind}-{time.monotonic_ns()}.jsonl")
    assert activity.status == "ok", activity.reason
    found = [f for f in find_connection_findings(activity, **thresholds) if f.kind == kind]
    assert len(found) == 1, [f.summary for f in found]
    return found[0].severity


def test_idle_in_transaction_two_are_medium_three_high(
    cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path
) -> None:
    limits = {"long_query_s": 600, "idle_in_transaction_s": 1, "idle_s": 3600}
    for _ in range(LISTING_HIGH_SESSIONS - 1):
        cluster.connect("ladder-psql", autocommit=False).execute("SELECT 1")
    time.sleep(1.2)  # past the 1 s threshold, far from 10x it
    assert _grade(dsn_env, tmp_path, "idle_in_transaction", **limits) == "medium"
    cluster.connect("ladder-psql", autocommit=False).execute("SELECT 1")
    time.sleep(1.2)
    assert _grade(dsn_env, tmp_path, "idle_in_transaction", **limits) == "high"


def test_long_queries_two_are_medium_three_high(
    cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path, background: list[threading.Thread]
) -> None:
    limits = {"long_query_s": 1, "idle_in_transaction_s": 600, "idle_s": 3600}
    sleeping = "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"
    for n in range(1, LISTING_HIGH_SESSIONS):
        _run(background, cluster.connect("ladder-report"), "SELECT pg_sleep(30)")
        _wait_until(cluster, sleeping, n)
    time.sleep(1.2)
    assert _grade(dsn_env, tmp_path, "long_running_queries", **limits) == "medium"
    _run(background, cluster.connect("ladder-report"), "SELECT pg_sleep(30)")
    _wait_until(cluster, sleeping, LISTING_HIGH_SESSIONS)
    time.sleep(1.2)
    assert _grade(dsn_env, tmp_path, "long_running_queries", **limits) == "high"


def test_one_brief_lock_wait_is_medium_two_blocked_high(
    cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path, background: list[threading.Thread]
) -> None:
    holder = cluster.connect("ladder-migrate", autocommit=False)
    holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
    waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    try:
        for n in range(1, BLOCKED_HIGH_SESSIONS):
            _run(background, cluster.connect("ladder-reader"), "SELECT count(*) FROM jobs")
            _wait_until(cluster, waiting, n)
        assert _grade(dsn_env, tmp_path, "blocking_chain") == "medium"  # waits ~1 s, one session
        _run(background, cluster.connect("ladder-reader"), "SELECT count(*) FROM jobs")
        _wait_until(cluster, waiting, BLOCKED_HIGH_SESSIONS)
        assert _grade(dsn_env, tmp_path, "blocking_chain") == "high"
    finally:
        holder.rollback()
