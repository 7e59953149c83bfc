"""Live sampling of this host and of target processes with psutil, for the CPU and memory flows.

Why sample rather than look once: "CPU > 80 % for five minutes" and "RSS grows 200 MB/h"
are statements about time. Every ``interval_s`` for ``duration_s`` we record

- ``system``: whole-host CPU split (user/system/iowait/steal), load, memory, swap, disk I/O;
- ``cores``: the same CPU split per core;
- ``processes``: per process (the targets and their children, or the busiest *top_n* when
  no target is given): pid, name, cmdline, CPU % of one core, RSS, USS, threads, fds,
  connections;
- ``threads``: per-thread CPU % of the hottest sampled process;
- ``events``: processes that exited, started (a restart shows as a new pid), or denied us.

Each sample is appended to CSV files in the run folder as it is taken
(``<run_dir>/host_samples/*.csv``) so an interrupted run keeps what it saw;
:func:`read_samples` loads such a folder back. Sampling never raises on a broken
world: a vanished process is an ``exited`` event, a denied field is NA plus a
``denied`` event, a target that matches nothing makes ``processes`` ``unavailable``.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from runbook_lib.collected import Collected, Status, conform, empty_frame
from runbook_lib.sources.host.targets import TargetSelector
from runbook_lib.timewindow import utc_now

SYSTEM_SAMPLES_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "cpu_percent": "float64",
    "user_percent": "float64",
    "system_percent": "float64",
    "iowait_percent": "float64",
    "steal_percent": "float64",
    "load1": "float64",
    "mem_used_bytes": "int64",
    "mem_available_bytes": "int64",
    "mem_used_percent": "float64",
    "swap_used_percent": "float64",
    "disk_read_bytes_per_s": "float64",
    "disk_write_bytes_per_s": "float64",
}
CORE_SAMPLES_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "cpu": "int64",
    "busy_percent": "float64",
    "user_percent": "float64",
    "system_percent": "float64",
    "iowait_percent": "float64",
    "steal_percent": "float64",
}
PROCESS_SAMPLES_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "pid": "int64",
    "ppid": "Int64",
    "name": "string",
    "cmdline": "string",
    "cpu_percent": "float64",
    "rss_bytes": "Int64",
    "uss_bytes": "Int64",
    "num_threads": "Int64",
    "num_fds": "Int64",
    "num_connections": "Int64",
    "create_at": "datetime64[ns, UTC]",
}
THREAD_SAMPLES_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "pid": "int64",
    "tid": "int64",
    "cpu_percent": "float64",
}
EVENTS_SCHEMA: dict[str, str] = {
    "observed_at": "datetime64[ns, UTC]",
    "pid": "Int64",
    "event": "string",
    "detail": "string",
}
SCHEMAS: dict[str, dict[str, str]] = {
    "system": SYSTEM_SAMPLES_SCHEMA,
    "cores": CORE_SAMPLES_SCHEMA,
    "processes": PROCESS_SAMPLES_SCHEMA,
    "threads": THREAD_SAMPLES_SCHEMA,
    "events": EVENTS_SCHEMA,
}
SAMPLES_DIR = "host_samples"
#: ``duration_s=0`` means one look; CPU % still needs two readings this far apart.
SNAPSHOT_INTERVAL_S = 0.5


@dataclass
class HostSamples:
    """What one sampling run saw; each part is a :class:`Collected` over its schema."""

    system: Collected
    cores: Collected
    processes: Collected
    threads: Collected
    events: Collected
    folder: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sources(self) -> list[Collected]:
        return [self.system, self.processes, self.threads, self.events]

    @property
    def main_pid(self) -> int | None:
        """The sampled process with the largest RSS at the last sample (for its cgroup limit)."""
        frame = self.processes.frame.dropna(subset=["rss_bytes"])
        if frame.empty:
            return None
        last = frame[frame["sampled_at"] == frame["sampled_at"].max()]
        return int(last.sort_values("rss_bytes").iloc[-1]["pid"])


class _Appender:
    """Append rows to ``<folder>/<part>.csv`` as they are taken (header on first write)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for part in SCHEMAS:
                (folder / f"{part}.csv").unlink(missing_ok=True)

    def write(self, part: str, rows: list[dict[str, Any]]) -> None:
        # The csv module, not pandas: building a frame per sample would double the
        # sampler's CPU cost (benchmarks/bench_host_sampling.py).
        if self.folder is None or not rows:
            return
        path = self.folder / f"{part}.csv"
        columns = list(SCHEMAS[part])
        new = not path.exists()
        with path.open("a", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(columns)
            writer.writerows([_cell(row.get(c)) for c in columns] for row in rows)


def _cell(value: Any) -> Any:
    """A CSV cell: timestamps as ISO-8601, missing values empty."""
    if value is None or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return value


def _pct(value: float) -> float:
    return round(float(value), 2)


def _system_row(now: pd.Timestamp, io_prev: Any, elapsed: float) -> tuple[dict[str, Any], Any]:
    split = psutil.cpu_times_percent(None)
    mem, swap = psutil.virtual_memory(), psutil.swap_memory()
    try:
        io = psutil.disk_io_counters()
    except (OSError, RuntimeError):  # no disks visible (some containers)
        io = None
    read_s = write_s = float("nan")
    if io is not None and io_prev is not None and elapsed > 0:
        read_s = (io.read_bytes - io_prev.read_bytes) / elapsed
        write_s = (io.write_bytes - io_prev.write_bytes) / elapsed
    row = {
        "sampled_at": now,
        "cpu_percent": _pct(100.0 - split.idle),
        "user_percent": _pct(split.user + getattr(split, "nice", 0.0)),
        "system_percent": _pct(split.system),
        "iowait_percent": _pct(getattr(split, "iowait", 0.0)),
        "steal_percent": _pct(getattr(split, "steal", 0.0)),
        "load1": psutil.getloadavg()[0],
        "mem_used_bytes": int(mem.total - mem.available),
        "mem_available_bytes": int(mem.available),
        "mem_used_percent": float(mem.percent),
        "swap_used_percent": float(swap.percent),
        "disk_read_bytes_per_s": read_s,
        "disk_write_bytes_per_s": write_s,
    }
    return row, io


def _core_rows(now: pd.Timestamp) -> list[dict[str, Any]]:
    return [
        {
            "sampled_at": now,
            "cpu": i,
            "busy_percent": _pct(100.0 - c.idle),
            "user_percent": _pct(c.user + getattr(c, "nice", 0.0)),
            "system_percent": _pct(c.system),
            "iowait_percent": _pct(getattr(c, "iowait", 0.0)),
            "steal_percent": _pct(getattr(c, "steal", 0.0)),
        }
        for i, c in enumerate(psutil.cpu_times_percent(None, percpu=True))
    ]


def sample_host(
    duration_s: float = 5.0,
    interval_s: float = 1.0,
    target: str = "",
    *,
    top_n: int = 5,
    rank_by: str = "cpu",
    folder: Path | None = None,
    uss: bool = True,
    connections: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> HostSamples:
    """Sample the host for *duration_s* every *interval_s* (``0`` = one look).

    *target*: a pid, a process name, or a cmdline substring such as ``node server.js``;
    matching processes and their children are sampled. Empty: the *top_n* processes by
    ``rank_by`` (``"cpu"`` or ``"rss"``) at each sample. *folder*: where the CSV files are
    appended (``None`` keeps everything in memory only). *progress* is called as
    ``progress(done, total)`` after each sample.
    """
    if rank_by not in ("cpu", "rss"):
        raise ValueError(f"rank_by must be 'cpu' or 'rss', not {rank_by!r}")
    interval = max(float(interval_s), 0.05) if duration_s > 0 else SNAPSHOT_INTERVAL_S
    total = max(1, int(round(float(duration_s) / interval))) if duration_s > 0 else 1
    out = _Appender(folder)
    selector = TargetSelector(target, exclude={os.getpid()})
    parts: dict[str, list[dict[str, Any]]] = {p: [] for p in SCHEMAS}

    def keep(part: str, rows: list[dict[str, Any]]) -> None:
        parts[part].extend(rows)
        out.write(part, rows)

    # Prime every CPU counter: psutil reports % since the previous call.
    psutil.cpu_times_percent(None)
    psutil.cpu_times_percent(None, percpu=True)
    try:
        io_prev = psutil.disk_io_counters()
    except (OSError, RuntimeError):
        io_prev = None
    keep("events", selector.prime(utc_now()))
    started = time.monotonic()
    last = started
    for k in range(1, total + 1):
        time.sleep(max(0.0, started + k * interval - time.monotonic()))
        now, mono = utc_now(), time.monotonic()
        row, io_prev = _system_row(now, io_prev, mono - last)
        keep("system", [row])
        keep("cores", _core_rows(now))
        procs, threads, events = selector.sample(
            now, mono - last, top_n=top_n, rank_by=rank_by, uss=uss, connections=connections
        )
        keep("processes", procs)
        keep("threads", threads)
        keep("events", events)
        last = mono
        if progress is not None:
            progress(k, total)
    result = _assemble(parts, selector, folder, duration_s=duration_s, interval_s=interval)
    for part in (result.system, result.cores, result.processes, result.threads, result.events):
        part.elapsed_s = time.monotonic() - started
    return result


def _frame(part: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    schema = SCHEMAS[part]
    return conform(pd.DataFrame(rows), schema) if rows else empty_frame(schema)


def _assemble(
    parts: dict[str, list[dict[str, Any]]],
    selector: TargetSelector,
    folder: Path | None,
    **meta: Any,
) -> HostSamples:
    target = selector.describe()
    frames = {p: _frame(p, rows) for p, rows in parts.items()}
    events = frames["events"]
    exited = int((events["event"] == "exited").sum())
    denied = int((events["event"] == "denied").sum())
    status: Status = "ok"
    reason = ""
    if selector.target and frames["processes"].empty:
        status, reason = "unavailable", f"no process matches target {selector.target!r}"
    elif exited or denied:
        status = "partial"
        reason = f"{exited} process(es) exited while sampled, {denied} denied some fields"
    samples = len(frames["system"])

    def col(source: str, part: str, st: Status = "ok", why: str = "") -> Collected:
        return Collected(source, target, frames[part], status=st, reason=why, lines_read=len(frames[part]))

    result = HostSamples(
        system=col("host.system_samples", "system"),
        cores=col("host.core_samples", "cores"),
        processes=col("host.process_samples", "processes", status, reason),
        threads=col("host.thread_samples", "threads"),
        events=col("host.process_events", "events"),
        folder=folder,
        meta={**meta, "samples": samples, "target": selector.target},
    )
    result.processes.lines_skipped = exited + denied
    result.processes.meta = dict(result.meta)
    return result


def read_samples(folder: Path, *, target: str = "") -> HostSamples:
    """Load the CSV files a (possibly interrupted) :func:`sample_host` run appended."""
    parts: dict[str, list[dict[str, Any]]] = {}
    for part, schema in SCHEMAS.items():
        path = Path(folder) / f"{part}.csv"
        if not path.exists() or path.stat().st_size == 0:
            parts[part] = []
            continue
        raw = pd.read_csv(path, keep_default_na=True)
        for name, dtype in schema.items():
            if dtype.startswith("datetime64") and name in raw:
                raw[name] = pd.to_datetime(raw[name], utc=True, format="ISO8601")
        parts[part] = [{str(k): v for k, v in r.items()} for r in raw.to_dict("records")]
    return _assemble(parts, TargetSelector(target), Path(folder), source="replay")
