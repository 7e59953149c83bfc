"""Host evidence with psutil: the one-look snapshot and live sampling.

The code lives in :mod:`runbook_lib.sources.host_snapshot` (one look, for triage) and
:mod:`runbook_lib.sources.host_sampling` (sampling over time, for the CPU and memory
flows); this module is the stable import path for notebooks.
"""

from __future__ import annotations

from runbook_lib.sources.host_snapshot import (
    DISKS_SCHEMA,
    SYSTEM_SCHEMA,
    TCP_SCHEMA,
    TOP_PROCESSES_SCHEMA,
    collect_disks,
    collect_system_snapshot,
    collect_tcp_connections,
    collect_top_processes,
)

__all__ = [
    "DISKS_SCHEMA",
    "SYSTEM_SCHEMA",
    "TCP_SCHEMA",
    "TOP_PROCESSES_SCHEMA",
    "collect_disks",
    "collect_system_snapshot",
    "collect_tcp_connections",
    "collect_top_processes",
]
