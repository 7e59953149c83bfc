"""Host evidence with psutil: the one-look snapshot and live sampling.

The code lives in :mod:`runbook_lib.sources.host.snapshot` (one look, for triage),
:mod:`runbook_lib.sources.host.glance` (triage's one look in one wait),
:mod:`runbook_lib.sources.host.sampling` (sampling over time, for the CPU and memory
flows) and :mod:`runbook_lib.sources.host.targets` (which processes a flow watches);
this module is the stable import path for notebooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.host.glance import HostSnapshot, collect_host_snapshot
    from runbook_lib.sources.host.sampling import (
        CORE_SAMPLES_SCHEMA,
        EVENTS_SCHEMA,
        PROCESS_SAMPLES_SCHEMA,
        SYSTEM_SAMPLES_SCHEMA,
        THREAD_SAMPLES_SCHEMA,
        HostSamples,
        read_samples,
        sample_host,
    )
    from runbook_lib.sources.host.snapshot import (
        DISKS_SCHEMA,
        SYSTEM_SCHEMA,
        TCP_SCHEMA,
        TOP_PROCESSES_SCHEMA,
        collect_disks,
        collect_system_snapshot,
        collect_tcp_connections,
        collect_top_processes,
        collect_top_processes_by,
        read_memory_limit,
    )

__all__ = [
    "CORE_SAMPLES_SCHEMA",
    "DISKS_SCHEMA",
    "EVENTS_SCHEMA",
    "PROCESS_SAMPLES_SCHEMA",
    "SYSTEM_SAMPLES_SCHEMA",
    "SYSTEM_SCHEMA",
    "TCP_SCHEMA",
    "THREAD_SAMPLES_SCHEMA",
    "TOP_PROCESSES_SCHEMA",
    "HostSamples",
    "HostSnapshot",
    "collect_disks",
    "collect_host_snapshot",
    "collect_system_snapshot",
    "collect_tcp_connections",
    "collect_top_processes",
    "collect_top_processes_by",
    "read_memory_limit",
    "read_samples",
    "sample_host",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
