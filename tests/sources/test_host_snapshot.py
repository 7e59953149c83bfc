"""The one-look host snapshot against the real host (compare with /proc, a real child)."""

from __future__ import annotations

import os

import psutil

from runbook_lib.sources.host import (
    DISKS_SCHEMA,
    SYSTEM_SCHEMA,
    TCP_SCHEMA,
    TOP_PROCESSES_SCHEMA,
    collect_disks,
    collect_system_snapshot,
    collect_tcp_connections,
    collect_top_processes,
)
from tests import hostprocs


def _schema_ok(frame, schema) -> None:  # type: ignore[no-untyped-def]
    assert list(frame.columns)[: len(schema)] == list(schema)
    for name, dtype in schema.items():
        assert str(frame[name].dtype) == dtype, name


def test_system_snapshot_matches_proc() -> None:
    got = collect_system_snapshot(cpu_sample_s=0.1)
    assert got.usable
    _schema_ok(got.frame, SYSTEM_SCHEMA)
    row = got.frame.iloc[0]
    assert row["cpu_count"] == os.cpu_count()
    with open("/proc/meminfo", encoding="ascii") as fh:
        total_kb = int(fh.readline().split()[1])
    assert row["mem_total_bytes"] == total_kb * 1024
    assert 0 <= row["mem_used_percent"] <= 100
    assert row["load1"] >= 0


def test_disks_include_root() -> None:
    got = collect_disks()
    _schema_ok(got.frame, DISKS_SCHEMA)
    assert "/" in set(got.frame["mountpoint"]) or got.lines_read == 0
    assert (got.frame["used_bytes"] <= got.frame["total_bytes"]).all()


def test_top_processes_names_the_cpu_burner() -> None:
    with hostprocs.running(hostprocs.cpu_burner(20)) as (burner,):
        got = collect_top_processes(5, by="cpu", cpu_sample_s=0.5)
    _schema_ok(got.frame, TOP_PROCESSES_SCHEMA)
    assert got.usable
    assert len(got.frame) <= 5
    top = got.frame.iloc[0]
    assert top["pid"] == burner.pid
    assert top["cpu_percent"] > 50
    assert "rb-cpu-burner" in top["cmdline"]


def test_top_processes_by_rss_sorted() -> None:
    got = collect_top_processes(10, by="rss", cpu_sample_s=0.05)
    rss = got.frame["rss_bytes"].dropna().tolist()
    assert rss == sorted(rss, reverse=True)
    assert got.meta["processes_seen"] >= len(got.frame)


def test_tcp_connections_sees_a_loopback_connection() -> None:
    import socket

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    accepted, _ = server.accept()
    try:
        got = collect_tcp_connections()
        _schema_ok(got.frame, TCP_SCHEMA)
        port = server.getsockname()[1]
        assert (got.frame["remote_port"] == port).any()
    finally:
        for s in (client, accepted, server):
            s.close()


def test_vanished_process_is_counted_not_fatal() -> None:
    # Exiting children while the CPU reading waits: they are counted, never a crash.
    # A thread reaps them as they exit, so they vanish instead of lingering as zombies.
    import threading

    procs = [hostprocs.sleeper(0.2, marker=f"rb-vanish-{i}") for i in range(5)]
    reapers = [threading.Thread(target=p.wait) for p in procs]
    for t in reapers:
        t.start()
    try:
        got = collect_top_processes(500, cpu_sample_s=0.6)
    finally:
        for p in procs:
            hostprocs.stop(p)
        for t in reapers:
            t.join()
    assert got.usable
    assert got.meta["vanished"] >= 5
    pids = set(got.frame["pid"])
    assert not pids & {p.pid for p in procs}
    assert psutil.pid_exists(os.getpid())
