"""Terminating backends for real: the dry run lists exactly the pids, the run kills only them."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psycopg
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.remedies.pg import terminate_backends
from tests import pg_cluster

ENV = "RUNBOOK_TEST_DSN_REMEDY"


def live_pids(cluster: pg_cluster.PgCluster) -> set[int]:
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        return {r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity")}


def gone(cluster: pg_cluster.PgCluster, pids: list[int]) -> bool:
    deadline = time.monotonic() + 5  # pg_terminate_backend signals; exit is asynchronous
    while time.monotonic() < deadline:
        if not set(pids) & live_pids(cluster):
            return True
        time.sleep(0.05)
    return False


def test_dry_run_lists_then_run_terminates_only_those(cluster: pg_cluster.PgCluster, dsn_env: str) -> None:
    leaked = [cluster.connect("billing-worker", user="app") for _ in range(4)]
    superuser_owned = [cluster.connect("billing-worker") for _ in range(2)]
    others = [cluster.connect("checkout-api", user="app") for _ in range(2)]
    kit = cluster.connect("runbook-kit", user="app")
    busy = cluster.connect("billing-worker", user="app")
    sleeper = threading.Thread(target=lambda: busy.execute("SELECT pg_sleep(3)"), daemon=True)
    sleeper.start()
    time.sleep(1.2)
    expected = sorted(c.info.backend_pid for c in leaked)

    plan = terminate_backends(pg_dsn_env=dsn_env, application_name="billing-worker", min_idle_s=1)
    assert plan.dry_run and not plan.error
    assert plan.pids == expected
    assert "'billing-worker'" in plan.sql and "pg_stat_activity" in plan.sql
    assert "pg_terminate_backend" not in plan.sql
    # What Confirm would execute is shown before anyone confirms: these pids, nothing else.
    assert "pg_terminate_backend" in plan.would_run and all(str(p) in plan.would_run for p in expected)
    assert plan.to_dict()["would_run"] == plan.would_run
    assert set(plan.candidates["usename"]) == {"app"}
    assert (plan.candidates["idle_s"] > 1).all()
    assert set(expected) <= live_pids(cluster), "a dry run must not terminate anything"
    assert plan.timeline_entry()["kind"] == "remediation_dry_run"

    done = terminate_backends(pg_dsn_env=dsn_env, application_name="billing-worker", min_idle_s=1, remediate=True)
    assert not done.dry_run and not done.error
    assert done.terminated == expected and done.not_terminated == []
    assert "pg_terminate_backend" in done.sql
    assert gone(cluster, expected)
    survivors = [*superuser_owned, *others, kit, busy]
    assert {c.info.backend_pid for c in survivors} <= live_pids(cluster)
    record = done.to_dict()
    assert record["terminated"] == expected and record["dry_run"] is False
    assert f"terminated 4 backend(s): pids {expected}" in record["summary"]
    sleeper.join(5)


def test_superusers_only_when_asked(cluster: pg_cluster.PgCluster, dsn_env: str) -> None:
    su = [cluster.connect("batch") for _ in range(2)]
    app = cluster.connect("batch", user="app")
    time.sleep(1.1)
    plain = terminate_backends(pg_dsn_env=dsn_env, application_name="batch", min_idle_s=1)
    assert plain.pids == [app.info.backend_pid]
    wide = terminate_backends(pg_dsn_env=dsn_env, application_name="batch", min_idle_s=1, include_superusers=True)
    assert wide.pids == sorted(c.info.backend_pid for c in [*su, app])


def test_terminate_the_blocking_pid(cluster: pg_cluster.PgCluster, dsn_env: str) -> None:
    holder = cluster.connect("migrate", user="app", autocommit=False)
    holder.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
    waiter = cluster.connect("worker", user="app")
    thread = threading.Thread(target=lambda: waiter.execute("SELECT count(*) FROM jobs"), daemon=True)
    thread.start()
    time.sleep(0.3)
    root = holder.info.backend_pid
    done = terminate_backends(pg_dsn_env=dsn_env, pids=[root], state="", min_idle_s=0, remediate=True)
    assert done.terminated == [root]
    thread.join(5)
    assert not thread.is_alive(), "the waiter got its lock once the blocker was gone"
    assert gone(cluster, [root])
    assert waiter.info.backend_pid in live_pids(cluster)


def test_never_background_processes_nor_itself(cluster: pg_cluster.PgCluster, dsn_env: str) -> None:
    with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
        background = [
            r[0] for r in admin.execute("SELECT pid FROM pg_stat_activity WHERE backend_type <> 'client backend'")
        ]
    assert background  # checkpointer, autovacuum launcher, walwriter…
    done = terminate_backends(
        pg_dsn_env=dsn_env, pids=background, state="", min_idle_s=0, include_superusers=True, remediate=True
    )
    assert done.pids == [] and done.terminated == []
    assert set(background) <= live_pids(cluster)
    mine = terminate_backends(
        pg_dsn_env=dsn_env, application_name="runbook-kit", state="", min_idle_s=0, include_superusers=True
    )
    assert mine.pids == []


def test_remediation_needs_a_filter(dsn_env: str) -> None:
    with pytest.raises(ParameterError):
        terminate_backends(pg_dsn_env=dsn_env, min_idle_s=0, remediate=True)


def test_unreachable_server_is_recorded_not_raised() -> None:
    port = pg_cluster.closed_port()
    os.environ[ENV] = f"host=127.0.0.1 port={port} user=postgres"
    try:
        done = terminate_backends(pg_dsn_env=ENV, application_name="x", remediate=True, timeout_s=2)
    finally:
        os.environ.pop(ENV)
    assert "refused" in done.error.lower()
    assert done.terminated == [] and "'x'" in done.sql
    assert done.summary().startswith("terminate_backends: not done")


def test_real_run_goes_into_the_incident_timeline(
    cluster: pg_cluster.PgCluster, dsn_env: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.incident.record import create_incident, load_incident
    from runbook_lib.remedies.pg import remediate_connections

    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    incident_id = create_incident("too many connections")["id"]
    victim = cluster.connect("stuck-job", user="app")
    time.sleep(1.1)
    dry = remediate_connections(pg_dsn_env=dsn_env, application_name="stuck-job", min_idle_s=1, incident_id=incident_id)
    assert dry.pids == [victim.info.backend_pid]
    assert len(load_incident(incident_id)["timeline"]) == 1  # a dry run changes nothing
    done = remediate_connections(
        pg_dsn_env=dsn_env, application_name="stuck-job", min_idle_s=1, remediate=True, incident_id=incident_id
    )
    assert done.terminated == [victim.info.backend_pid]
    event = load_incident(incident_id)["timeline"][-1]
    assert event["kind"] == "remediation"
    assert event["terminated"] == [victim.info.backend_pid]
    assert "pg_terminate_backend" in event["sql"]
