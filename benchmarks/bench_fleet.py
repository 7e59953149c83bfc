"""A fleet's access logs read locally versus on a 2-worker Dask cluster on this machine.

Usage::

    python benchmarks/bench_fleet.py [--lines 5000000] [--files 8] [--chunk-mib 256]
                                     [--workdir /tmp/runbook-bench]

Generates (once) the seeded 5M-line log with ``access_log_gen.py`` and splits it into
``--files`` hosts' files. Then, each in its own child process so that peak RSS is the
kernel's own (``os.wait4``), for the whole span and for a window of the last 10 % of the
span (as an incident would ask: only merged, window-filtered frames come back):

- ``--files`` files: local ``collect_access_log("f1,f2,…")`` versus
  ``collect_on_fleet(collect_access_log, …)`` against ``dask scheduler`` and two
  ``dask worker`` processes started here on loopback (one thread each), one task per file;
- the same log as ONE file: local versus the cluster reading it as line-aligned chunks of
  ``--chunk-mib`` (one task per chunk);
- each dask case once per wire format (``arrow``, ``dict``, ``pandas``: how the frames
  travel back, :mod:`runbook_lib.sources.fleet_wire`);
- the per-task overhead: the same cluster reading ``--files`` empty files.

It prints wall time, peak RSS and CPU time of the kernel, the workers' CPU time and combined
peak RSS, rows, lines read and a checksum of the rows, which must be equal local vs dask (exit status 1 if not). Not
a test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from runbook_lib.sources.fleet import CHUNK_TASK_BYTES  # noqa: E402
from runbook_lib.sources.fleet_wire import WIRES  # noqa: E402

CHILD = """
import json, sys, time
import pandas as pd
from runbook_lib.sources.fleet import collect_on_fleet
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.timewindow import Window
spec, scheduler, start, end, chunk, wire = sys.argv[1:7]
window = Window(pd.Timestamp(start), pd.Timestamp(end)) if start else None
t0 = time.perf_counter()
got = collect_on_fleet(collect_access_log, spec, scheduler=scheduler, window=window, task_timeout_s=3600,
                       chunk_bytes=int(chunk), wire=wire)
inner = time.perf_counter() - t0
f = got.frame
check = [int(f["response_bytes"].sum()), int(f["status"].sum()), int(f["requested_at"].astype("int64").sum() % 10**12),
         int(f["client_ip"].str.len().sum()), int(f["path"].str.len().sum())]
print(json.dumps({"rows": len(f), "status": got.status, "reason": got.reason, "lines": got.lines_read,
                  "check": check, "tasks": got.meta.get("tasks", 0), "inner_s": inner}))
"""


def _child(args: list[str]) -> dict[str, object]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    got = json.loads(out.strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    got.update(wall_s=time.perf_counter() - t0, peak_rss_mib=usage.ru_maxrss / 1024, cpu_s=cpu, code=status)
    return got


def _cpu_s(procs: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds the workers have used so far (the machine may be shared: CPU, unlike
    wall time, does not grow with other people's load)."""
    import psutil

    return sum(sum(psutil.Process(p.pid).cpu_times()[:2]) for p in procs[1:])


def _split(source: Path, folder: Path, files: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"web{n + 1}.access.log" for n in range(files)]
    if all(p.exists() for p in paths):
        return paths
    handles = [p.open("wb") for p in paths]
    with source.open("rb") as fh:
        for i, line in enumerate(fh):
            handles[i % files].write(line)
    for h in handles:
        h.close()
    return paths


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_cluster(polars_threads: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    for name in ("w1", "w2"):
        cmd = [dask, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        env = {**os.environ, **({"POLARS_MAX_THREADS": str(polars_threads)} if polars_threads else {})}
        procs.append(subprocess.Popen([*cmd, "--host", "127.0.0.1"], env=env, **quiet))
    from distributed import Client

    with Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    return address, procs


def _worker_peak_mib(procs: list[subprocess.Popen[bytes]]) -> float:
    import psutil

    total = 0.0
    for proc in procs[1:]:
        try:
            with open(f"/proc/{proc.pid}/status", encoding="ascii") as fh:
                hwm = next(line for line in fh if line.startswith("VmHWM:"))
            total += int(hwm.split()[1]) / 1024
        except (OSError, StopIteration):
            total += psutil.Process(proc.pid).memory_info().rss / 2**20
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--chunk-mib", type=float, default=CHUNK_TASK_BYTES / 2**20)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/runbook-bench"))
    # Two workers on one small machine each start a polars pool as wide as the machine:
    # 1 keeps them from competing for the cores (a real fleet has a host per worker).
    parser.add_argument("--polars-threads-per-worker", type=int, default=0, help="0: polars decides")
    parser.add_argument("--only", default="", help="run only the cases whose label contains this")
    args = parser.parse_args()
    import access_log_gen
    import pandas as pd

    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"access-{args.lines}.log"
    if not source.exists():
        access_log_gen.generate(source, args.lines, 7)
    paths = _split(source, args.workdir / f"fleet-{args.lines}-{args.files}", args.files)
    span_end = pd.Timestamp(access_log_gen.DAY_START, unit="s", tz="UTC") + pd.Timedelta(days=1)
    start = (span_end - pd.Timedelta(hours=2.4)).isoformat()
    spec = ",".join(str(p) for p in paths)
    empty = args.workdir / "empty"
    empty.mkdir(exist_ok=True)
    empties = [empty / f"e{n}.log" for n in range(args.files)]
    for e in empties:
        e.touch()

    chunk = str(int(args.chunk_mib * 2**20))
    whole = str(2**62)  # no chunking: one task per file
    window = (start, span_end.isoformat())
    cases = [
        (f"{args.files} files, local", spec, "", whole, "arrow"),
        *((f"{args.files} files, dask {w}", spec, "address", whole, w) for w in WIRES),
        ("1 file, local", str(source), "", whole, "arrow"),
        *((f"1 file, dask chunks {w}", str(source), "address", chunk, w) for w in WIRES),
    ]
    cases = [c for c in cases if args.only in c[0]]
    address, procs = _start_cluster(args.polars_threads_per_worker)
    try:
        rows: dict[str, dict[str, object]] = {}
        for span, (s, e) in (("whole span", ("", "")), ("last 10 %", window)):
            for label, paths, where, size, wire in cases:
                before = _cpu_s(procs)
                got = _child([paths, address if where else "", s, e, size, wire])
                rows[f"{label}, {span}"] = {**got, "workers_cpu_s": _cpu_s(procs) - before}
        overhead = _child([",".join(str(e) for e in empties), address, "", "", whole, "arrow"])
        workers_mib = _worker_peak_mib(procs)
    finally:
        for proc in procs:
            proc.kill()
    size_mib = source.stat().st_size / 2**20
    print(
        f"{args.lines:,} lines ({size_mib:.0f} MiB) in {args.files} files or 1 file; chunks of {args.chunk_mib:g} MiB"
    )
    polars = args.polars_threads_per_worker or "default"
    print(f"2 workers x 1 thread (polars threads per worker: {polars}) on this machine\n")
    head = f"{'run':<40} {'wall s':>7} {'kernel peak MiB':>16} {'kernel CPU s':>13} {'workers CPU s':>14}"
    print(f"{head} {'rows':>10} {'tasks':>6} status")
    for label, g in rows.items():
        print(
            f"{label:<40} {g['wall_s']:7.1f} {g['peak_rss_mib']:16.0f} {g['cpu_s']:13.1f} {g['workers_cpu_s']:14.1f}"
            f" {g['rows']:>10,} {g['tasks']:>6} {g['status']}"
        )
    per_task = float(overhead["inner_s"]) / max(int(overhead["tasks"]), 1)  # type: ignore[call-overload]
    print(f"\nper-task overhead (empty files): {per_task * 1000:.1f} ms over {overhead['tasks']} tasks")
    print(f"workers' combined peak RSS: {workers_mib:.0f} MiB")
    keys = ("rows", "lines", "check")
    same = True
    for span in ("whole span", "last 10 %"):
        results = [tuple(json.dumps(rows[f"{label}, {span}"][k]) for k in keys) for label, *_ in cases]
        same &= len(set(results)) == 1
    print("rows, lines read and checksums equal, local vs dask, 8 files vs 1 file:", same)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
