"""One pg_stat_activity sample with as many backends open as the server allows.

Target (issue 3): under 10 ms of server time at 500 backends. Starts a throwaway cluster
(max_connections 520, 127.0.0.1:54320-54339), opens client sessions until the server
would refuse ordinary roles, puts some in a lock queue (so ``pg_blocking_pids`` runs) and
some idle in transaction, then prints, over N samples (median and max):

- server time: ``EXPLAIN (ANALYZE, TIMING OFF)`` planning + execution time of the query;
- round trip: the query as ``sample_activity`` runs it (literal masking included);
- sample + frame: one sample plus building the typed frame, what ``collect_activity``
  pays per sample.

Run: ``/work/venv/bin/python benchmarks/bench_pg_sample.py [--backends 500] [--samples 30]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runbook_lib.sources.pg.activity import (  # noqa: E402
    DEFAULT_QUERY_CHARS,
    activity_query_for,
    frame_from_rows,
    load_query,
    sample_activity,
)
from tests import pg_cluster  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", type=int, default=500)
    parser.add_argument("--samples", type=int, default=30)
    args = parser.parse_args()
    cluster = pg_cluster.start_cluster(
        args.backends + 20, superuser_reserved=3, settings={"max_locks_per_transaction": "64"}
    )
    try:
        run(cluster, args.backends, args.samples)
    finally:
        cluster.stop()


def run(cluster: pg_cluster.PgCluster, backends: int, samples: int) -> None:
    admin = psycopg.connect(cluster.dsn(), autocommit=True, application_name="runbook-kit")
    admin.execute("CREATE TABLE hot (id int)")
    t0 = time.perf_counter()
    holder = cluster.connect("migrate", autocommit=False)
    holder.execute("LOCK TABLE hot IN ACCESS EXCLUSIVE MODE")
    waiters = []
    for i in range(20):
        conn = cluster.connect(f"worker-{i % 4}")
        thread = threading.Thread(target=_quietly, args=(conn, "SELECT count(*) FROM hot"), daemon=True)
        thread.start()
        waiters.append(thread)
    for i in range(30):
        cluster.connect("checkout-api", autocommit=False).execute("SELECT 'card 4111111111111111', %s", [i])
    while len(cluster.conns) < backends:
        cluster.connect(f"billing-worker-{len(cluster.conns) % 8}").execute(
            "SELECT * FROM pg_class WHERE relname = 'pg_proc' AND oid > 42"
        )
    opened_s = time.perf_counter() - t0
    version = admin.execute("SHOW server_version_num").fetchone()
    query = load_query(activity_query_for(int(str(version[0]) if version else "0")))
    params = {"query_chars": DEFAULT_QUERY_CHARS}
    count = admin.execute("SELECT count(*) FROM pg_stat_activity").fetchone()
    server, trip, full = [], [], []
    rows = 0
    for _ in range(samples):
        plan = admin.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query, params).fetchone()
        timing = _plan(plan)
        server.append(float(str(timing["Planning Time"])) + float(str(timing["Execution Time"])))
        t = time.perf_counter()
        got = sample_activity(admin, query)
        trip.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        frame_from_rows(sample_activity(admin, query))
        full.append((time.perf_counter() - t) * 1000)
        rows = len(got)
    blocked = sum(1 for r in got if r["blocked_by"])
    print(
        f"PostgreSQL {version[0] if version else '?'}: {count[0] if count else '?'} backends "
        f"in pg_stat_activity ({len(cluster.conns)} client sessions opened in {opened_s:.1f} s, "
        f"{blocked} waiting on a lock), {rows} rows per sample, {samples} samples"
    )
    for label, values in (
        ("server time (plan + execute)", server),
        ("round trip (sample_activity)", trip),
        ("sample + typed frame", full),
    ):
        print(f"  {label:32s} median {statistics.median(values):7.2f} ms   max {max(values):7.2f} ms")
    target = "met" if statistics.median(server) < 10 else "MISSED"
    print(f"target: under 10 ms of server time at 500 backends: {target}")
    admin.close()


def _plan(row: tuple[object, ...] | None) -> dict[str, object]:
    value = row[0] if row else None
    data = json.loads(value) if isinstance(value, str) else value
    assert isinstance(data, list)
    first = data[0]
    assert isinstance(first, dict)
    return first


def _quietly(conn: psycopg.Connection[tuple[object, ...]], sql: str) -> None:
    with contextlib.suppress(psycopg.Error):  # the cluster is stopped under it at the end
        conn.execute(sql)


if __name__ == "__main__":
    main()
