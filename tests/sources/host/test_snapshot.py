"""The one-look host snapshot against the real host (compare with /proc, a real child)."""

from __future__ import annotations

import os
import threading

import psutil

from runbook_lib.sources.host import (
    DISKS_SCHEMA,
    SYSTEM_SCHEMA,
    TCP_SCHEMA,
    TOP_PROCESSES_SCHEMA,
    collect_disks,
    collect_host_snapshot,
    collect_system_snapshot,
    collect_tcp_connections,
    collect_top_processes,
    collect_top_processes_by,
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
        got = collect_top_processes(20, by="cpu", cpu_sample_s=1.0)
    _schema_ok(got.frame, TOP_PROCESSES_SCHEMA)
    assert got.usable
    assert len(got.frame) <= 20
    # Other work on this shared box may burn CPU too: the burner must be among the top 20.
    mine = got.frame[got.frame["pid"] == burner.pid]
    assert len(mine) == 1
    assert mine["cpu_percent"].iloc[0] > 15  # the box is shared: contention lowers it
    assert "rb-cpu-burner" in mine["cmdline"].iloc[0]
    assert got.frame["cpu_percent"].is_monotonic_decreasing


def test_top_processes_by_rss_sorted() -> None:
    got = collect_top_processes(10, by="rss", cpu_sample_s=0.05)
    rss = got.frame["rss_bytes"].dropna().tolist()
    assert rss == sorted(rss, reverse=True)
    assert got.meta["processes_seen"] >= len(got.frame)


def test_top_processes_by_cpu_and_rss_from_one_sample() -> None:
    with hostprocs.running(hostprocs.cpu_burner(20)) as (burner,):
        by_cpu, by_rss = collect_top_processes_by(1000, by=("cpu", "rss"), cpu_sample_s=1.0)
    assert (by_cpu.meta["by"], by_rss.meta["by"]) == ("cpu", "rss")
    assert by_cpu.frame["pid"].tolist().count(burner.pid) == 1
    # One reading for both tables: the burner's CPU share is the same number in each.
    share = {name: got.frame.loc[got.frame["pid"] == burner.pid, "cpu_percent"].tolist()
             for name, got in (("cpu", by_cpu), ("rss", by_rss))}  # fmt: skip
    assert share["cpu"] == share["rss"] and share["cpu"][0] > 15
    assert by_cpu.frame["cpu_percent"].is_monotonic_decreasing
    rss = by_rss.frame["rss_bytes"].dropna().tolist()
    assert rss == sorted(rss, reverse=True)
    assert by_cpu.meta["processes_seen"] == by_rss.meta["processes_seen"]  # the same sample


def test_host_snapshot_gives_every_table_of_the_triage_look() -> None:
    with hostprocs.running(hostprocs.cpu_burner(20)) as (burner,):
        system, disks, tcp, top_cpu, top_rss = collect_host_snapshot(1000, cpu_sample_s=0.5)
    for got, schema in ((system, SYSTEM_SCHEMA), (disks, DISKS_SCHEMA), (tcp, TCP_SCHEMA),
                        (top_cpu, TOP_PROCESSES_SCHEMA), (top_rss, TOP_PROCESSES_SCHEMA)):  # fmt: skip
        assert got.usable, got.reason
        _schema_ok(got.frame, schema)
    assert 0 <= system.frame["cpu_percent"].iloc[0] <= 100
    assert system.frame["cpu_count"].iloc[0] == os.cpu_count()
    assert top_cpu.frame["pid"].tolist().count(burner.pid) == 1
    assert top_cpu.frame["cpu_percent"].is_monotonic_decreasing
    assert top_rss.meta["by"] == "rss" and top_rss.meta["processes_seen"] == top_cpu.meta["processes_seen"]


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
    # Children exit (and are reaped) between the two CPU readings: counted, never a crash.
    procs = [hostprocs.until_released(marker=f"rb-vanish-{i}") for i in range(5)]
    timer = threading.Timer(0.3, lambda: [hostprocs.release(p) for p in procs])
    timer.start()
    try:
        got = collect_top_processes(500, cpu_sample_s=0.8)
    finally:
        timer.join()
        for p in procs:
            hostprocs.stop(p)
    assert got.usable
    assert got.meta["vanished"] >= 5
    assert got.status == "partial" and "exited" in got.reason
    assert not set(got.frame["pid"]) & {p.pid for p in procs}


def test_memory_limit_configured_cgroup_or_host() -> None:
    from runbook_lib.sources.host import read_memory_limit

    assert read_memory_limit(512) == (512 * 1024 * 1024, "configured limit")
    limit, origin = read_memory_limit(0, pid=os.getpid())
    total = psutil.virtual_memory().total
    assert origin in ("host total", "cgroup memory.max", "cgroup memory.limit_in_bytes")
    if origin == "host total":
        assert limit == total
    else:
        assert 0 < limit < 1 << 60


def test_top_processes_of_a_target_only() -> None:
    """The live panels of the sampling flows watch what the flow's ``target`` names: that
    process (found by its cmdline) and nothing else, even when something else is busier."""
    burners = hostprocs.cpu_burner(20, marker="rb-watched-burner"), hostprocs.cpu_burner(20)
    with hostprocs.running(*burners) as (watched, other):
        got = collect_top_processes(10, by="cpu", cpu_sample_s=0.5, target="rb-watched-burner")
        assert got.usable and list(got.frame["pid"]) == [watched.pid], got.frame
        assert other.pid not in set(got.frame["pid"])
        gone = collect_top_processes(10, by="cpu", cpu_sample_s=0.2, target="rb-no-such-process-xyz")
    assert gone.status == "unavailable" and "no process matches target" in gone.reason and gone.frame.empty
