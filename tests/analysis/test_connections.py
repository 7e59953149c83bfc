"""Connection analysis on a reproduced incident (real cluster) and on the pgbench capture."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from runbook_lib.analysis import connections as cx
from runbook_lib.analysis.connection_findings import find_connection_findings
from runbook_lib.collected import Collected, empty_frame
from runbook_lib.sources.pg.activity import ACTIVITY_SCHEMA, collect_activity, read_activity_export
from tests import pg_cluster

ENV = "RUNBOOK_TEST_DSN_ANALYSIS"


def by_kind(findings: list, kind: str) -> list:  # type: ignore[type-arg]
    return [f for f in findings if f.kind == kind]


def test_reproduced_incident_names_the_right_pids(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    incident = pg_cluster.stage_incident(cluster, idle=24)
    try:
        time.sleep(1.2)  # let the idle sessions and the sleep age past the 1 s thresholds
        activity = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "a.jsonl")
    finally:
        incident.stop()
    assert activity.status == "ok"
    frame = activity.frame
    usable = 40 - 3
    util = cx.detect_utilisation(frame, activity.meta["settings"])
    assert util["connections"].iloc[-1] == len(incident.all_pids) == 30
    assert util["usable_connections"].iloc[-1] == usable
    assert util["utilisation_pct"].iloc[-1] == pytest.approx(100 * 30 / usable)
    assert util[["active", "idle", "idle_in_transaction"]].iloc[-1].tolist() == [3, 24, 3]

    by_app = cx.breakdown(frame, "application_name").set_index("application_name")
    assert by_app.loc["billing-worker", "connections"] == 24
    assert by_app.loc["checkout-api", "idle_in_transaction"] == 2
    assert cx.breakdown(frame, "client_addr").iloc[0]["connections"] == 30

    findings = find_connection_findings(activity, long_query_s=1, idle_in_transaction_s=1, idle_s=1)
    (util_f,) = by_kind(findings, "connection_utilisation")
    assert util_f.severity == "high"  # 81 %
    assert "30 of 37 usable" in util_f.summary and "`billing-worker` holds 24" in util_f.summary
    (idle_f,) = by_kind(findings, "idle_terminate_candidates")
    assert sorted(idle_f.numbers["pids"]) == sorted(incident.idle)
    assert idle_f.numbers["applications"] == ["billing-worker"]
    (tx_f,) = by_kind(findings, "idle_in_transaction")
    assert sorted(tx_f.numbers["pids"]) == sorted([*incident.idle_in_tx, incident.lock_root])
    (long_f,) = by_kind(findings, "long_running_queries")
    # The pg_sleep and both lock waiters have been active for more than a second.
    assert sorted(long_f.numbers["pids"]) == sorted([incident.sleeper, *incident.lock_waiters])
    assert long_f.numbers["pids"][0] == incident.sleeper  # oldest first
    (chain,) = by_kind(findings, "blocking_chain")
    writer, reader = incident.lock_waiters
    assert chain.numbers["root_pid"] == incident.lock_root
    assert set(chain.numbers["blocked_pids"]) == {writer, reader}
    assert [incident.lock_root, writer] in chain.numbers["edges"]
    assert [writer, reader] in chain.numbers["edges"]
    assert f"pid {incident.lock_root} (`migrate`" in chain.summary
    tree = cx.detect_blocking_tree(frame)
    assert tree.iloc[0]["pid"] == incident.lock_root and tree.iloc[0]["depth"] == 0
    assert tree.iloc[0]["blocked_count"] >= 2
    assert tree.loc[tree["depth"] > 0, "tree"].str.contains("└─ pid").all()
    assert tree["depth"].max() == 2  # root -> writer -> reader
    assert not by_kind(findings, "connection_leak")  # one sample cannot show growth


def test_leak_found_with_sane_projection(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    steady = [cluster.connect("checkout-api") for _ in range(3)]
    leaker = pg_cluster.start_leaker(cluster, app="billing-worker", per_s=3.0, limit=25)
    try:
        time.sleep(0.5)
        activity = collect_activity(
            pg_dsn_env=dsn_env, duration_s=4.0, interval_s=0.5, record_to=tmp_path / "leak.jsonl"
        )
    finally:
        leaker.kill()
        leaker.wait(10)
    assert activity.status == "ok" and activity.meta["samples"] == 9
    leaks = cx.detect_leaks(activity.frame, activity.meta["settings"])
    suspect = leaks[leaks["leak_suspected"]]
    assert suspect["application_name"].tolist() == ["billing-worker"]
    row = suspect.iloc[0]
    assert 120 <= row["idle_per_min"] <= 240  # 3/s = 180/min
    slots_left = 37 - (row["connections"] + len(steady))
    assert row["projected_exhaustion_min"] == pytest.approx(slots_left / row["idle_per_min"])
    assert 0 < row["projected_exhaustion_min"] < 1
    growth = cx.rank_growth(activity.frame)
    assert growth.iloc[0]["application_name"] == "billing-worker"
    assert growth.set_index("application_name").loc["checkout-api", "growth"] == 0
    (leak,) = by_kind(find_connection_findings(activity), "connection_leak")
    assert leak.severity == "critical"
    assert leak.summary.startswith(f"app `billing-worker` holds {row['connections']} of 37")
    assert "connection leak likely; slots exhausted in ~" in leak.summary


def test_pgbench_capture_analyses(data_dir: Path) -> None:
    activity = read_activity_export(data_dir / "postgres_activity" / "pg_stat_activity_during_pgbench.csv")
    frame = activity.frame
    clients = cx.client_backends(frame)
    assert clients["application_name"].value_counts().to_dict() == {"pgbench": 8, "psql": 1}
    table = cx.breakdown(frame, "state").set_index("state")
    assert table["connections"].to_dict() == {"active": 5, "idle in transaction": 4}
    util = cx.detect_utilisation(frame, {"max_connections": 100, "usable_connections": 97})
    assert util["connections"].iloc[0] == len(clients)
    # Background processes have NULL state and do not count against max_connections.
    assert len(clients) < len(frame)
    assert cx.detect_blocking_tree(frame).empty  # the capture has no pg_blocking_pids column


def test_unreadable_source_is_unknown_and_exhaustion_is_critical() -> None:
    down = Collected(
        "postgres",
        "host=db",
        empty_frame(ACTIVITY_SCHEMA),
        status="unavailable",
        reason="connection refused",
        meta={"slots_exhausted": False},
    )
    (f,) = find_connection_findings(down)
    assert f.severity == "unknown" and "connection refused" in f.summary
    full = Collected(
        "postgres",
        "host=db",
        empty_frame(ACTIVITY_SCHEMA),
        status="unavailable",
        reason="server refuses new connections, all slots are taken: too many clients",
        meta={"slots_exhausted": True},
    )
    (f,) = find_connection_findings(full)
    assert f.kind == "connections_exhausted" and f.severity == "critical"


def test_limit_pressure_names_role(cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path) -> None:
    admin = cluster.connect("setup")
    admin.execute("DROP ROLE IF EXISTS capped")
    admin.execute("CREATE ROLE capped LOGIN CONNECTION LIMIT 2")
    _ = [cluster.connect("capped-app", user="capped") for _ in range(2)]
    activity = collect_activity(pg_dsn_env=dsn_env, record_to=tmp_path / "r.jsonl")
    (f,) = by_kind(find_connection_findings(activity), "connection_limit_pressure")
    assert f.numbers == {"kind": "role", "name": "capped", "connections": 2, "limit": 2}
    assert f.severity == "high"


def test_blocking_tree_from_a_recorded_frame_with_a_cycle() -> None:
    from runbook_lib.sources.pg.activity import frame_from_rows

    at = "2026-11-27T05:00:00+00:00"
    base = {
        "sampled_at": at,
        "backend_type": "client backend",
        "state": "active",
        "state_change_at": "2026-11-27T04:59:50+00:00",
        "xact_start_at": "2026-11-27T04:59:00+00:00",
        "application_name": "app",
    }
    rows = [
        {**base, "pid": 1, "state": "idle in transaction", "blocked_by": None},
        {**base, "pid": 2, "blocked_by": [1]},
        {**base, "pid": 3, "blocked_by": [1, 2]},
        {**base, "pid": 7, "blocked_by": [8]},  # 7 and 8 wait on each other
        {**base, "pid": 8, "blocked_by": [7]},
    ]
    tree = cx.detect_blocking_tree(frame_from_rows(rows))
    assert tree["pid"].tolist() == [1, 2, 3, 7, 8]
    assert tree["depth"].tolist() == [0, 1, 2, 0, 1]
    assert tree.iloc[0]["wait_s"] == 60.0 and tree.iloc[1]["wait_s"] == 10.0
    assert tree.iloc[0]["blocked_count"] == 2
