"""Access-log ingestion speed and memory: runbook kit vs lnav vs GoAccess, same file, same run.

Usage::

    python benchmarks/bench_access_log.py [--lines 5000000] [--workdir /tmp/runbook-bench]

Generates (once) a seeded combined+``$request_time`` log with ``access_log_gen.py``, then
runs each contender in its own child process and reads that child's peak RSS from
``os.wait4`` (so the figures are per process, not the whole benchmark):

- ours, whole file: ``collect_access_log(path)`` → typed pandas frame;
- ours, windowed: the same with an incident window covering 10% of the log's span;
- ``lnav -n -c ';SELECT sc_status, count(*) FROM access_log GROUP BY sc_status'``;
- ``goaccess FILE --log-format=COMBINED -o report.html``.

It prints lines/s and peak RSS for each and checks that our row count equals the
generator's own count of valid lines (exit status 1 if not). Not a test: figures depend on
the machine and its load, so it prints them rather than asserting a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DAY_START = "2026-11-20T00:00:00Z"

OURS = """
import json, sys, time
import pandas as pd
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.timewindow import Window
path, start, end = sys.argv[1], sys.argv[2], sys.argv[3]
window = Window(pd.Timestamp(start), pd.Timestamp(end)) if start else None
t0 = time.perf_counter()
got = collect_access_log(path, window=window)
elapsed = time.perf_counter() - t0
print(json.dumps({"rows": len(got.frame), "lines_read": got.lines_read,
                  "lines_skipped": got.lines_skipped, "status": got.status,
                  "inner_s": elapsed}))
"""


def run_child(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    """Run *cmd*, return wall seconds, peak RSS (MiB) of that child, exit code, stdout."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, text=True)
    out, err = proc.communicate()
    return {
        "wall_s": time.perf_counter() - t0,
        "code": proc.returncode,
        "stdout": out,
        "stderr": err,
    }


def run_measured(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> dict:
    """Like run_child, but read the child's own peak RSS with os.wait4."""
    t0 = time.perf_counter()
    out_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-{os.getpid()}-{time.time_ns()}.out"
    with out_path.open("w") as out, open(os.devnull, "w") as devnull:
        proc = subprocess.Popen(cmd, stdout=out, stderr=devnull, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = out_path.read_text(errors="replace")
    out_path.unlink()
    return {
        "wall_s": wall,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "code": proc.returncode,
        "stdout": text,
    }


HEADER = f"{'contender':28s} {'wall s':>8s} {'cpu s':>7s} {'lines/s':>12s} {'peak RSS MiB':>13s}"


def row(label: str, res: dict, lines: int) -> str:
    rate = lines / res["wall_s"] if res["wall_s"] else 0.0
    code = "" if res["code"] == 0 else f"  (exit {res['code']})"
    return f"{label:28s} {res['wall_s']:8.2f} {res['cpu_s']:7.2f} {rate:12,.0f} {res['peak_rss_mib']:13,.0f}{code}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/runbook-bench"))
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-goaccess", action="store_true", help="GoAccess takes minutes on 5M lines")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    log = args.workdir / f"access-{args.lines}.log"
    count_file = Path(f"{log}.count.json")
    if not count_file.exists():
        print(f"generating {args.lines:,} lines into {log} …", flush=True)
        gen = run_child(
            [sys.executable, str(HERE / "access_log_gen.py"), str(log), "--lines", str(args.lines),
             "--seed", str(args.seed)]
        )  # fmt: skip
        if gen["code"] != 0:
            print(gen["stderr"])
            return 2
    counts = json.loads(count_file.read_text())
    total = counts["lines"]
    print(
        f"log: {log} ({log.stat().st_size / 2**20:,.0f} MiB), {total:,} lines, "
        f"{counts['valid']:,} valid (generator's count), {counts['malformed']:,} malformed"
    )

    results: list[tuple[str, dict, int]] = []
    print(HEADER, flush=True)
    start = "2026-11-20T12:00:00Z"
    end = "2026-11-20T14:24:00Z"  # 2.4 h = 10% of the generated day
    for label, window in (
        ("runbook kit (whole file)", ("", "")),
        ("runbook kit (10% window)", (start, end)),
    ):
        res = run_measured([sys.executable, "-c", OURS, str(log), *window])
        info = json.loads(res["stdout"].strip().splitlines()[-1]) if res["code"] == 0 else {}
        res["info"] = info
        results.append((label, res, total))
        print(row(*results[-1]), flush=True)

    lnav = shutil.which("lnav")
    if lnav:
        home = args.workdir / "lnav-home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "HOME": str(home)}
        query = ";SELECT sc_status, count(*) FROM access_log GROUP BY sc_status"
        res = run_measured([lnav, "-n", "-c", query, str(log)], env=env)
        results.append(("lnav (headless aggregate)", res, total))
        print(row(*results[-1]), flush=True)
    goaccess = shutil.which("goaccess")
    if goaccess and not args.skip_goaccess:
        report = args.workdir / "report.html"
        res = run_measured([goaccess, str(log), "--log-format=COMBINED", "--no-global-config", "-o", str(report)])
        results.append(("goaccess (-o report.html)", res, total))
        print(row(*results[-1]), flush=True)

    print("(lines/s = lines in the file / wall time of the whole process, start-up included)")

    whole = results[0][1]["info"]
    windowed = results[1][1]["info"]
    print()
    print(f"ours, whole file: {whole.get('rows', 0):,} rows, {whole.get('lines_skipped', 0):,} "
          f"malformed lines counted, status {whole.get('status')}")  # fmt: skip
    print(f"ours, 10% window: {windowed.get('rows', 0):,} rows, read {windowed.get('lines_read', 0):,} lines")
    lnav_out = next((r["stdout"] for label, r, _ in results if label.startswith("lnav")), "")
    if lnav_out:
        print("lnav says:", " ".join(lnav_out.split())[:300])
    exact = whole.get("rows") == counts["valid"] and whole.get("lines_skipped") == counts["malformed"]
    print(
        "row count check:",
        "EXACT" if exact else "MISMATCH",
        f"(ours {whole.get('rows')} vs generator {counts['valid']})",
    )
    return 0 if exact else 1


if __name__ == "__main__":
    sys.exit(main())
