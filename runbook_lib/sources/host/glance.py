"""Triage's one look at the host: system, disks, TCP and the top processes, in one wait.

CPU shares need two readings some time apart. Taken one after the other, the system-wide
sample and the per-process sample cost two waits of ``cpu_sample_s`` (and the memory
table a third, before :func:`~runbook_lib.sources.host.snapshot.collect_top_processes_by`);
here the system sample runs in a thread while the processes are sampled, so the look
costs one wait. Each part still never raises on a broken world.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

from runbook_lib.collected import Collected
from runbook_lib.sources.host.snapshot import (
    CPU_SAMPLE_S,
    collect_disks,
    collect_system_snapshot,
    collect_tcp_connections,
    collect_top_processes_by,
)

__all__ = ["HostSnapshot", "collect_host_snapshot"]


class HostSnapshot(NamedTuple):
    """The five source results of one look (unpack it like a tuple)."""

    system: Collected
    disks: Collected
    tcp: Collected
    top_cpu: Collected
    top_rss: Collected


def collect_host_snapshot(n: int = 10, *, cpu_sample_s: float = CPU_SAMPLE_S) -> HostSnapshot:
    """System figures, disks, established TCP and the *n* top processes by CPU and by RSS."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        system = pool.submit(collect_system_snapshot, cpu_sample_s=cpu_sample_s)
        top_cpu, top_rss = collect_top_processes_by(n, by=("cpu", "rss"), cpu_sample_s=cpu_sample_s)
        disks, tcp = collect_disks(), collect_tcp_connections()
        return HostSnapshot(system.result(), disks, tcp, top_cpu, top_rss)
