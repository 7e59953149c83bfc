"""One look at this host with psutil: system load, disks, top processes, TCP connections.

Why: the triage flow needs a single, cheap picture of the machine before anyone decides
which runbook section to open. Every function returns a :class:`Collected` and never
raises because the host misbehaves: a process that vanishes or denies access while we
read it becomes a row with placeholders (``psutil.Process.as_dict(ad_value=…)``) and is
counted in ``lines_skipped``; a whole source psutil cannot read at all (e.g. ``/proc``
hidden) becomes ``unavailable`` with the reason.

Schemas are the ``*_SCHEMA`` constants below.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from runbook_lib.collected import Collected, Status, conform, empty_frame, guarded
from runbook_lib.errors import SourceDenied, SourceUnavailable
from runbook_lib.timewindow import utc_now

SYSTEM_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "cpu_percent": "float64",
    "cpu_count": "int64",
    "load1": "float64",
    "load5": "float64",
    "load15": "float64",
    "mem_total_bytes": "int64",
    "mem_available_bytes": "int64",
    "mem_used_percent": "float64",
    "swap_total_bytes": "int64",
    "swap_used_percent": "float64",
    "established_tcp": "Int64",
}

DISKS_SCHEMA: dict[str, str] = {
    "mountpoint": "string",
    "device": "string",
    "fstype": "string",
    "total_bytes": "int64",
    "used_bytes": "int64",
    "used_percent": "float64",
}

TOP_PROCESSES_SCHEMA: dict[str, str] = {
    "pid": "int64",
    "name": "string",
    "cmdline": "string",
    "username": "string",
    "cpu_percent": "float64",
    "rss_bytes": "Int64",
    "num_threads": "Int64",
    "num_fds": "Int64",
    "create_at": "datetime64[ns, UTC]",
}

TCP_SCHEMA: dict[str, str] = {
    "remote_address": "string",
    "remote_port": "int64",
    "local_port": "int64",
    "connections": "int64",
}

#: How long the CPU counters are averaged over for the snapshot. Long enough to be more
#: than noise, short enough for an interactive triage.
CPU_SAMPLE_S = 0.5

_PROC_ATTRS = [
    "pid",
    "name",
    "cmdline",
    "username",
    "memory_info",
    "num_threads",
    "num_fds",
    "create_time",
]


def _psutil_call(source: str, target: str, call: Callable[[], Any]) -> Any:
    """Run one psutil call, mapping its failures onto the kit's error tree."""
    try:
        return call()
    except psutil.AccessDenied as err:
        raise SourceDenied(f"access denied: {err}", source=source, target=target) from err
    except (psutil.Error, OSError) as err:
        raise SourceUnavailable(f"{type(err).__name__}: {err}", source=source, target=target) from err


def _established_tcp() -> int | None:
    try:
        return sum(1 for c in psutil.net_connections(kind="tcp") if c.status == psutil.CONN_ESTABLISHED)
    except (psutil.AccessDenied, OSError):
        return None  # not fatal for the snapshot: the column is NA and the reason noted


def collect_system_snapshot(*, cpu_sample_s: float = CPU_SAMPLE_S) -> Collected:
    """One row of system-wide figures (``SYSTEM_SCHEMA``); ``unavailable`` if psutil fails."""
    source, target = "host.system", "localhost"

    def read() -> Collected:
        cpu = _psutil_call(source, target, lambda: psutil.cpu_percent(interval=cpu_sample_s))
        load = _psutil_call(source, target, psutil.getloadavg)
        mem = _psutil_call(source, target, psutil.virtual_memory)
        swap = _psutil_call(source, target, psutil.swap_memory)
        tcp = _established_tcp()
        row = {
            "sampled_at": utc_now(),
            "cpu_percent": float(cpu),
            "cpu_count": int(psutil.cpu_count() or 1),
            "load1": load[0],
            "load5": load[1],
            "load15": load[2],
            "mem_total_bytes": int(mem.total),
            "mem_available_bytes": int(mem.available),
            "mem_used_percent": float(mem.percent),
            "swap_total_bytes": int(swap.total),
            "swap_used_percent": float(swap.percent),
            "established_tcp": tcp if tcp is not None else pd.NA,
        }
        frame = conform(pd.DataFrame([row]), SYSTEM_SCHEMA)
        status: Status = "ok" if tcp is not None else "partial"
        reason = "" if tcp is not None else "TCP connections not readable (access denied)"
        return Collected(source, target, frame, status=status, reason=reason, lines_read=1)

    return guarded(source, target, SYSTEM_SCHEMA, read)


def collect_disks() -> Collected:
    """Usage per mounted filesystem (``DISKS_SCHEMA``); unreadable mounts are skipped, counted."""
    source, target = "host.disks", "localhost"

    def read() -> Collected:
        parts = _psutil_call(source, target, lambda: psutil.disk_partitions(all=False))
        rows, skipped_n = [], 0
        result = Collected(source, target, empty_frame(DISKS_SCHEMA))
        for part in parts:
            try:
                usage = psutil.disk_usage(part.mountpoint)
            except (psutil.Error, OSError) as err:
                skipped_n += 1
                result.add_sample(f"{part.mountpoint}: {err}")
                continue
            rows.append(
                {
                    "mountpoint": part.mountpoint,
                    "device": part.device,
                    "fstype": part.fstype,
                    "total_bytes": int(usage.total),
                    "used_bytes": int(usage.used),
                    "used_percent": float(usage.percent),
                }
            )
        frame = conform(pd.DataFrame(rows), DISKS_SCHEMA) if rows else empty_frame(DISKS_SCHEMA)
        result.frame = frame.sort_values("used_percent", ascending=False, ignore_index=True)
        result.lines_read, result.lines_skipped = len(parts), skipped_n
        result.status = "partial" if skipped_n else "ok"
        if skipped_n:
            result.reason = f"{skipped_n} mount(s) not readable"
        return result

    return guarded(source, target, DISKS_SCHEMA, read)


def process_row(info: dict[str, Any], cpu_percent: float | None) -> dict[str, Any]:
    """A ``TOP_PROCESSES_SCHEMA`` row from ``Process.as_dict(ad_value=None)`` output."""
    mem = info.get("memory_info")
    cmd = info.get("cmdline")
    created = info.get("create_time")
    return {
        "pid": int(info["pid"]),
        "name": info.get("name") or "?",
        "cmdline": " ".join(cmd) if cmd else "",
        "username": info.get("username") or "?",
        "cpu_percent": float(cpu_percent) if cpu_percent is not None else float("nan"),
        "rss_bytes": int(mem.rss) if mem is not None else pd.NA,
        "num_threads": info.get("num_threads") if info.get("num_threads") is not None else pd.NA,
        "num_fds": info.get("num_fds") if info.get("num_fds") is not None else pd.NA,
        "create_at": (pd.Timestamp(created, unit="s", tz="UTC") if created is not None else pd.NaT),
    }


def collect_top_processes(
    n: int = 10, *, by: str = "cpu", cpu_sample_s: float = CPU_SAMPLE_S, target: str = ""
) -> Collected:
    """The *n* busiest processes ``by`` ``"cpu"`` (% of one core) or ``"rss"``; with
    *target* (pid, name or cmdline substring, as the sampling flows take it) only the
    processes it names and their children, ``unavailable`` when it names none.

    CPU % needs two readings: we prime every process, wait ``cpu_sample_s`` and read again.
    A process that exits in between is dropped and counted in ``lines_skipped``; one whose
    fields are denied keeps the row with NA placeholders (counted too).
    """
    if not target.strip():
        return collect_top_processes_by(n, by=(by,), cpu_sample_s=cpu_sample_s)[0]
    from runbook_lib.sources.host.targets import TargetSelector

    wanted = TargetSelector(target, exclude={os.getpid()}).matching_pids()
    result = collect_top_processes_by(10**6, by=(by,), cpu_sample_s=cpu_sample_s)[0]
    result.frame = result.frame[result.frame["pid"].isin(wanted)].head(n).reset_index(drop=True)
    result.target = f"target {target.strip()!r}"
    if result.usable and result.frame.empty:
        result.status, result.reason = "unavailable", f"no process matches target {target.strip()!r}"
    return result


def collect_top_processes_by(
    n: int = 10, *, by: Sequence[str] = ("cpu", "rss"), cpu_sample_s: float = CPU_SAMPLE_S
) -> tuple[Collected, ...]:
    """:func:`collect_top_processes` for each order in *by*, from one sample.

    Triage shows the top processes by CPU and by memory: one wait of ``cpu_sample_s``
    instead of one per table (the run waited 0.5 s for nothing).
    """
    for order in by:
        if order not in ("cpu", "rss"):
            raise ValueError(f"by must be 'cpu' or 'rss', not {order!r}")
    source, target = "host.processes", "localhost"
    sampled: list[Collected] = []

    def read_all() -> Collected:
        procs = list(_psutil_call(source, target, lambda: list(psutil.process_iter())))
        for proc in procs:
            # A failure here shows up again (and is counted) at the second reading.
            with contextlib.suppress(psutil.Error):
                proc.cpu_percent(None)
        time.sleep(cpu_sample_s)
        rows, gone, denied = [], 0, 0
        for proc in procs:
            try:
                cpu: float | None = proc.cpu_percent(None)
            except psutil.NoSuchProcess:
                gone += 1
                continue
            except psutil.AccessDenied:
                cpu = None
            try:
                # as_dict turns AccessDenied into None but lets NoSuchProcess through.
                info = proc.as_dict(attrs=_PROC_ATTRS, ad_value=None)
            except psutil.NoSuchProcess:
                info = None
            if info is None or not proc.is_running():
                gone += 1
                continue
            if cpu is None or info.get("memory_info") is None or info.get("num_fds") is None:
                denied += 1
            rows.append(process_row(info, cpu))
        frame = conform(pd.DataFrame(rows), TOP_PROCESSES_SCHEMA) if rows else empty_frame(TOP_PROCESSES_SCHEMA)
        for order in by:
            key = "cpu_percent" if order == "cpu" else "rss_bytes"
            top = frame.sort_values(key, ascending=False, na_position="last", ignore_index=True)
            result = Collected(
                source, target, top.head(n).reset_index(drop=True), lines_read=len(procs), lines_skipped=gone + denied
            )
            result.meta = {"processes_seen": len(procs), "vanished": gone, "denied": denied, "by": order}
            if gone or denied:
                result.status = "partial"
                result.reason = f"{gone} process(es) exited while read, {denied} partly denied"
            sampled.append(result)
        return sampled[0]

    first = guarded(source, target, TOP_PROCESSES_SCHEMA, read_all)
    if not sampled:  # psutil failed: the same unavailable result for every order
        return tuple(replace(first) for _ in by)
    for result in sampled:
        result.elapsed_s = first.elapsed_s
    return tuple(sampled)


def collect_tcp_connections() -> Collected:
    """Established TCP connections grouped by remote address/port and local port (``TCP_SCHEMA``).

    Without privileges Linux still lists every socket but not every owning pid, which we do
    not need here; ``unavailable`` only when the kernel tables cannot be read at all.
    """
    source, target = "host.tcp", "localhost"

    def read() -> Collected:
        conns = _psutil_call(source, target, lambda: psutil.net_connections(kind="tcp"))
        rows = [
            {"remote_address": c.raddr.ip, "remote_port": c.raddr.port, "local_port": c.laddr.port}
            for c in conns
            if c.status == psutil.CONN_ESTABLISHED and c.raddr
        ]
        if not rows:
            frame = empty_frame(TCP_SCHEMA)
        else:
            grouped = (
                pd.DataFrame(rows)
                .groupby(["remote_address", "remote_port", "local_port"], as_index=False)
                .size()
                .rename(columns={"size": "connections"})
            )
            frame = conform(grouped, TCP_SCHEMA).sort_values("connections", ascending=False, ignore_index=True)
        return Collected(source, target, frame, lines_read=len(conns))

    return guarded(source, target, TCP_SCHEMA, read)


#: Kernel "no limit" values are near 2**63; anything above this is treated as unlimited.
_UNLIMITED = 1 << 60


def _cgroup_limit(pid: int | None) -> tuple[int, str] | None:
    """The memory limit of *pid*'s cgroup (v2 ``memory.max`` or v1 ``limit_in_bytes``)."""
    try:
        lines = Path(f"/proc/{pid or 'self'}/cgroup").read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    root = Path("/sys/fs/cgroup")
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controllers == "":
            candidates = [root / rel / "memory.max", root / "memory.max"]
            origin = "cgroup memory.max"
        elif "memory" in controllers.split(","):
            base = root / "memory"
            candidates = [base / rel / "memory.limit_in_bytes", base / "memory.limit_in_bytes"]
            origin = "cgroup memory.limit_in_bytes"
        else:
            continue
        for path_ in candidates:
            try:
                text = path_.read_text(encoding="ascii").strip()
            except OSError:
                continue
            if text.isdigit() and int(text) < _UNLIMITED:
                return int(text), origin
    return None


def read_memory_limit(limit_mb: float = 0.0, *, pid: int | None = None) -> tuple[int, str]:
    """The memory a process may use: *limit_mb* if given, else its cgroup limit, else host RAM.

    Returns ``(bytes, origin)`` where origin says which one (it goes into the finding).
    """
    if limit_mb and limit_mb > 0:
        return int(limit_mb * 1024 * 1024), "configured limit"
    found = _cgroup_limit(pid)
    if found is not None:
        return found
    return int(psutil.virtual_memory().total), "host total"
