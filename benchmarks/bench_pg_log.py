"""Benchmark: parse a generated 1M-line PostgreSQL stderr log with our source and with pgBadger.

Both run as child processes on the same file in the same run; we print wall time, lines/s,
peak RSS (``wait4``), the speed ratio (target: ours >= 10x faster) and whether the two agree
on the number of queries and errors. A short engine comparison (the prefix regex alone in
Python ``re``, pyarrow/RE2 and polars/Rust) shows why the source uses polars.

    python benchmarks/bench_pg_log.py [--lines 1000000] [--keep FILE] [--jobs 1,2]
Needs ``pgbadger`` on PATH (apt-get install -y pgbadger).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pg_log_gen import PREFIX, generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: user+system CPU seconds of each child, in run order: steadier than wall time on a busy box
CPU_S: list[float] = []

OURS = r"""
import json, sys, time
t0 = time.perf_counter()
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.analysis.pg_log_events import pg_log_events_per_minute, count_pg_log_events
t1 = time.perf_counter()
window = None
if sys.argv[3] == "window":  # the middle 10% of the log's span
    import pandas as pd
    from runbook_lib.timewindow import Window
    with open(sys.argv[1], "rb") as fh:
        first = fh.readline()[:23].decode()
        fh.seek(-4096, 2)
        last = fh.read().splitlines()[-1][:23].decode()
    t_first, t_last = pd.Timestamp(first, tz="UTC"), pd.Timestamp(last, tz="UTC")
    mid, tenth = t_first + (t_last - t_first) / 2, (t_last - t_first) / 10
    window = Window(mid - tenth / 2, mid + tenth / 2)
got = collect_pg_log(sys.argv[1], log_line_prefix=sys.argv[2], window=window)
t2 = time.perf_counter()
events = pg_log_events_per_minute(got.frame)
t3 = time.perf_counter()
totals = count_pg_log_events(got.frame) if sys.argv[3] == "check" else {}
print(json.dumps({"status": got.status, "reason": got.reason, "rows": len(got.frame),
    "lines_read": got.lines_read, "import_s": t1 - t0, "parse_s": t2 - t1,
    "events_s": t3 - t2, "totals": totals,
    "too_many_connections": int(events["too_many_connections"].sum())}))
"""


def run_child(cmd: list[str]) -> tuple[float, float, str]:
    """Run *cmd*; return (wall seconds, peak RSS MB, stdout); CPU seconds go to ``CPU_S``."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        CPU_S.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed with {proc.returncode}: {text[-500:]}")
    return wall, usage.ru_maxrss / 1024, text


def describe(wall: float, rss: float, ours: dict[str, Any], lines: int) -> None:
    work = ours["import_s"] + ours["parse_s"] + ours["events_s"]
    print(
        f"runbook pg_log : {wall:7.2f} s wall (imports {ours['import_s']:.2f} s, parse "
        f"{ours['parse_s']:.2f} s, per-minute events {ours['events_s']:.2f} s; {work:.2f} s "
        f"together), {lines / wall:,.0f} lines/s, peak RSS {rss:.0f} MB; status "
        f"{ours['status']}, {ours['rows']} records"
    )


def engines(path: Path, prefix: str) -> dict[str, float]:
    """Seconds for the prefix regex alone over every line, per engine."""
    import re

    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    from runbook_lib.sources.pg.log_prefix import translate_prefix

    pattern = translate_prefix(prefix).pattern
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    out: dict[str, float] = {}
    rx = re.compile(pattern)
    t = time.perf_counter()
    sum(1 for line in lines if rx.match(line))
    out["python re (loop)"] = time.perf_counter() - t
    arr = pa.array(lines, type=pa.string())
    t = time.perf_counter()
    pc.extract_regex(arr, pattern)
    out["pyarrow extract_regex (RE2)"] = time.perf_counter() - t
    series = pl.Series(lines)
    t = time.perf_counter()
    series.str.extract_groups(pattern)
    out["polars extract_groups (Rust regex)"] = time.perf_counter() - t
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keep", type=Path, help="reuse/keep the generated log at this path")
    ap.add_argument("--jobs", default="1", help="pgBadger -j values to time, e.g. 1,2")
    args = ap.parse_args()
    if not shutil.which("pgbadger"):
        raise SystemExit("pgbadger is not installed (apt-get install -y pgbadger)")
    work = Path(tempfile.mkdtemp(prefix="bench_pg_log_"))
    log = args.keep or work / "postgresql.log"
    if not log.exists():
        generate(log, lines=args.lines, seed=args.seed)
    with log.open("rb") as fh:
        lines = sum(1 for _ in fh)
    size_mb = log.stat().st_size / 1e6
    print(f"log: {log} — {lines} lines, {size_mb:.1f} MB, log_line_prefix {PREFIX!r}")

    # The box may be shared: ours runs before and after pgBadger, the slower run is compared.
    # Timed runs do what pgBadger does (parse + per-minute counts); an untimed run checks totals.
    wall, rss, text = run_child([sys.executable, "-c", OURS, str(log), PREFIX, "time"])
    ours_cpu = [CPU_S[-1]]
    ours = json.loads(text)
    describe(wall, rss, ours, lines)
    ours["totals"] = json.loads(run_child([sys.executable, "-c", OURS, str(log), PREFIX, "check"])[2])["totals"]
    badger: dict[int, float] = {}
    badger_cpu: dict[int, float] = {}
    for jobs in [int(j) for j in args.jobs.split(",")]:
        out_json = work / f"pgbadger_j{jobs}.json"
        cmd = ["pgbadger", "-q", "-j", str(jobs), "-f", "stderr", "--prefix", PREFIX]
        bw, brss, _ = run_child([*cmd, "-o", str(out_json), str(log)])
        badger[jobs] = bw
        badger_cpu[jobs] = CPU_S[-1]
        stat = json.loads(out_json.read_text())["overall_stat"]
        agree = (stat["queries_number"], stat["errors_number"]) == (
            ours["totals"]["queries"],
            ours["totals"]["errors"],
        )
        print(
            f"pgBadger -j {jobs}   : {bw:7.2f} s wall, {lines / bw:,.0f} lines/s, peak RSS "
            f"{brss:.0f} MB; queries {stat['queries_number']}, errors {stat['errors_number']} "
            f"({'same as ours' if agree else 'DIFFERENT from ours: ' + str(ours['totals'])})"
        )
        print(
            f"ratio          : ours is {bw / wall:.1f}x faster than pgBadger -j {jobs} in wall "
            f"time (whole process), {bw / ours['parse_s']:.1f}x on the parse alone (target >= 10x)"
        )
    windowed = run_child([sys.executable, "-c", OURS, str(log), PREFIX, "window"])
    print("with a 10% window (memory should follow the window):")
    describe(windowed[0], windowed[1], json.loads(windowed[2]), lines)
    again = run_child([sys.executable, "-c", OURS, str(log), PREFIX, "time"])
    ours_cpu.append(CPU_S[-1])
    describe(again[0], again[1], json.loads(again[2]), lines)
    slow = max(wall, again[0])
    cpu = max(ours_cpu)
    for jobs, bw in badger.items():
        print(
            f"ratio (slower of our two runs) vs pgBadger -j {jobs}: wall {bw / slow:.1f}x "
            f"({slow:.2f} s vs {bw:.2f} s), CPU {badger_cpu[jobs] / cpu:.1f}x "
            f"({cpu:.2f} s vs {badger_cpu[jobs]:.2f} s)"
        )
    print("engines (prefix regex only, same lines):")
    for name, seconds in engines(log, PREFIX).items():
        print(f"  {name:36s} {seconds:6.2f} s")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
