"""A fleet's access logs read locally versus on a 2-worker Dask cluster on this machine.

Usage::

    python benchmarks/bench_fleet.py [--lines 5000000] [--files 8] [--workdir /tmp/runbook-bench]

Generates (once) the seeded 5M-line log with ``access_log_gen.py`` and splits it into
``--files`` hosts' files. Then, each in its own child process so that peak RSS is the
kernel's own (``os.wait4``):

- local: ``collect_access_log("f1,f2,…")`` in one process;
- dask: ``collect_on_fleet(collect_access_log, …)`` against ``dask scheduler`` and two
  ``dask worker`` processes started here on loopback (one thread each), with a window
  of the last 10 % of the span, as an incident would ask — only merged, window-filtered
  frames come back, so the kernel's memory should drop;
- the per-task overhead: the same cluster reading ``--files`` empty files.

It prints wall time, peak RSS of the kernel and the workers' combined peak, and the rows,
which must be equal (exit status 1 if not). Not a test: figures depend on the machine.
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

CHILD = """
import json, sys, time
import pandas as pd
from runbook_lib.sources.fleet import collect_on_fleet
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.timewindow import Window
spec, scheduler, start, end = sys.argv[1:5]
window = Window(pd.Timestamp(start), pd.Timestamp(end)) if start else None
t0 = time.perf_counter()
got = collect_on_fleet(collect_access_log, spec, scheduler=scheduler, window=window, task_timeout_s=3600)
print(json.dumps({"rows": len(got.frame), "status": got.status, "reason": got.reason,
                  "tasks": got.meta.get("tasks", 0), "inner_s": time.perf_counter() - t0}))
"""


def _child(args: list[str]) -> dict[str, object]:
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", CHILD, *args], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    got = json.loads(out.strip().splitlines()[-1])
    got.update(wall_s=time.perf_counter() - t0, peak_rss_mib=usage.ru_maxrss / 1024, code=status)
    return got


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


def _start_cluster() -> tuple[str, list[subprocess.Popen[bytes]]]:
    dask = str(Path(sys.executable).with_name("dask"))
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    for name in ("w1", "w2"):
        cmd = [dask, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
        procs.append(subprocess.Popen([*cmd, "--host", "127.0.0.1"], **quiet))
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
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/runbook-bench"))
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

    address, procs = _start_cluster()
    try:
        rows: dict[str, object] = {}
        for label, scheduler, s in (("local, whole span", "", ""), ("dask, whole span", address, "")):
            rows[label] = _child([spec, scheduler, s, ""])
        for label, scheduler in (("local, last 10 %", ""), ("dask, last 10 %", address)):
            rows[label] = _child([spec, scheduler, start, span_end.isoformat()])
        overhead = _child([",".join(str(e) for e in empties), address, "", ""])
        workers_mib = _worker_peak_mib(procs)
    finally:
        for proc in procs:
            proc.kill()
    print(f"{args.lines:,} lines in {args.files} files; 2 workers x 1 thread on this machine\n")
    print(f"{'run':<20} {'wall s':>8} {'kernel peak MiB':>16} {'rows':>11} {'tasks':>6} status")
    for label, got in rows.items():
        g = dict(got)  # type: ignore[call-overload]
        print(
            f"{label:<20} {g['wall_s']:8.1f} {g['peak_rss_mib']:16.0f} {g['rows']:>11,} {g['tasks']:>6} {g['status']}"
        )
    per_task = float(overhead["inner_s"]) / max(int(overhead["tasks"]), 1)  # type: ignore[arg-type]
    print(f"\nper-task overhead (empty files): {per_task * 1000:.1f} ms over {overhead['tasks']} tasks")
    print(f"workers' combined peak RSS: {workers_mib:.0f} MiB")
    same = rows["local, whole span"]["rows"] == rows["dask, whole span"]["rows"]  # type: ignore[index]
    same &= rows["local, last 10 %"]["rows"] == rows["dask, last 10 %"]["rows"]  # type: ignore[index]
    print("rows equal local vs dask:", same)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
