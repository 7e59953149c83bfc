"""Resource findings from one host snapshot (runbook Step 4: "Check Resource Utilization").

Inputs are the snapshot frames of ``sources.host``: system (one row: ``cpu_percent``,
``cpu_count``, ``load1``, ``mem_used_percent``, ``swap_used_percent``, …) and disks
(``mountpoint``, ``used_percent``, …).

Severity ladder (one snapshot is one sample, not persistence: busy CPU and a long run
queue are medium and point to the high_cpu flow, which measures how long it lasts;
memory and disk fill up slowly and do not flicker, so one reading is enough):

=========  ==========================================================================
severity   evidence
=========  ==========================================================================
high       memory ≥ 85 % used; a disk ≥ 90 % full
medium     CPU ≥ 80 % (run high_cpu to measure persistence); load > 2× cores;
           swap ≥ 20 % used
info       headroom on every resource
unknown    the snapshot could not be read
=========  ==========================================================================
"""

from __future__ import annotations

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown

CPU_HIGH = 80.0  # runbook Incident 1: "CPU >80%"
MEMORY_HIGH = 85.0  # runbook Incident 2: "Memory alert triggered (>85% usage)"
DISK_HIGH = 90.0  # a full disk stops PostgreSQL and log writes alike
SWAP_HIGH = 20.0  # a fifth of swap in use: the host has been paging, not just parked pages
LOAD_PER_CORE_HIGH = 2  # twice as many runnable tasks as cores: work is queueing, not just busy


def find_resource_findings(system: Collected, disks: Collected) -> list[Finding]:
    """CPU, load, memory, swap and disk pressure on this host, or that there is none."""
    if not system.usable or system.frame.empty:
        return [unknown("resources", system, "whether this host is short of CPU or memory")]
    row = system.frame.iloc[0]
    out: list[Finding] = []
    cores = int(row["cpu_count"]) or 1
    if row["cpu_percent"] >= CPU_HIGH:
        out.append(
            Finding(
                "cpu",
                "medium",
                f"CPU is at {row['cpu_percent']:.0f}% on this host (>{CPU_HIGH:.0f}%): run the high_cpu flow.",
                {"cpu_percent": row["cpu_percent"]},
            )
        )
    if row["load1"] > LOAD_PER_CORE_HIGH * cores:
        out.append(
            Finding(
                "load",
                "medium",
                f"Load average {row['load1']:.1f} is over twice the {cores} cores.",
                {"load1": row["load1"], "cores": cores},
            )
        )
    if row["mem_used_percent"] >= MEMORY_HIGH:
        out.append(
            Finding(
                "memory",
                "high",
                f"Memory is {row['mem_used_percent']:.0f}% used (>{MEMORY_HIGH:.0f}%): run the memory_leak flow.",
                {"mem_used_percent": row["mem_used_percent"]},
            )
        )
    if row["swap_used_percent"] >= SWAP_HIGH:
        out.append(
            Finding(
                "swap",
                "medium",
                f"Swap is {row['swap_used_percent']:.0f}% used: the host is paging.",
                {"swap_used_percent": row["swap_used_percent"]},
            )
        )
    if disks.usable:
        for disk in disks.frame[disks.frame["used_percent"] >= DISK_HIGH].itertuples():
            out.append(
                Finding(
                    "disk",
                    "high",
                    f"Disk {disk.mountpoint} is {disk.used_percent:.0f}% full.",
                    {"mountpoint": disk.mountpoint, "used_percent": disk.used_percent},
                )
            )
    else:
        out.append(unknown("disk", disks, "whether a disk is full"))
    if not out:
        out.append(
            Finding(
                "resources",
                "info",
                f"This host has headroom: CPU {row['cpu_percent']:.0f}%, load {row['load1']:.1f} on "
                f"{cores} cores, memory {row['mem_used_percent']:.0f}% used, no disk ≥{DISK_HIGH:.0f}%.",
                {"cpu_percent": row["cpu_percent"], "mem_used_percent": row["mem_used_percent"]},
            )
        )
    return out
