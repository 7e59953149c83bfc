"""Benchmark: the db_connections flow end to end on a 1M-line PostgreSQL log vs pgBadger -j1.

Both run as child processes on the same generated stderr log in the same run. For each we
print wall time, CPU seconds (user+system of the child and of the descendants it waited for:
the flow's kernel) and peak RSS (``os.wait4``: the largest process of the child's tree), then
the ratios (target: the flow >= 10x faster than ``pgbadger -j1``), whether our reader and
pgBadger agree on the number of queries and errors, and the per-cell durations papermill
wrote into the flow's archived ``report.ipynb``.

- The flow: ``runbook run db_connections`` (kernel start to archived HTML) in a throwaway kit
  home (``reports/`` there, ``notebooks/`` and ``parameters/`` linked), ``-p pg_log FILE -p
  pg_log_line_prefix PREFIX``, the log's own span as the window. No live database: the flow's
  ``pg_service``, ``pg_dsn_env``, ``pg_recording`` and ``db_health_url`` stay empty (their
  defaults), so the activity, reachability and remediation cells report "not configured"
  without a connection attempt. It runs before and after pgBadger; the slower run is compared.
- pgBadger: ``pgbadger -j 1 -f stderr --prefix PREFIX -o report.html`` (its HTML report),
  timed; then once more, untimed, ``-x json`` for the counts we compare (``--no-agree`` skips it).
- Also printed: our reader alone, whole file and with a 10% window (memory follows the window).

    python benchmarks/bench_pg_log.py [--lines 1000000] [--keep FILE] [--no-agree] [--engines]
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
from flowruns import cell_durations, kit_home  # noqa: E402
from pg_log_gen import PREFIX, generate  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

READER = r"""
import json, sys, time
t0 = time.perf_counter()
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.analysis.pg_log_events import pg_log_events_per_minute, count_pg_log_events
t1 = time.perf_counter()
window = None
if sys.argv[3] == "window":  # the middle 10% of the log's span
    import pandas as pd
    from runbook_lib.timewindow import Window
    start, end = pd.Timestamp(sys.argv[4]), pd.Timestamp(sys.argv[5])
    mid, tenth = start + (end - start) / 2, (end - start) / 10
    window = Window(mid - tenth / 2, mid + tenth / 2)
got = collect_pg_log(sys.argv[1], log_line_prefix=sys.argv[2], window=window)
t2 = time.perf_counter()
events = pg_log_events_per_minute(got.frame)
totals = count_pg_log_events(got.frame) if sys.argv[3] == "check" else {}
print(json.dumps({"status": got.status, "rows": len(got.frame), "import_s": t1 - t0,
    "parse_s": t2 - t1, "events_s": time.perf_counter() - t2, "totals": totals}))
"""


def run_child(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT) -> dict[str, Any]:
    """Run *cmd*; wall and CPU seconds, peak RSS (MiB) of its tree (``wait4``), stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{cmd[:4]} failed with {code}: {(text + errors)[-800:]}")
    cpu = usage.ru_utime + usage.ru_stime
    return {"wall_s": wall, "cpu_s": cpu, "rss_mib": usage.ru_maxrss / 1024, "stdout": text}


def log_span(path: Path) -> tuple[str, str]:
    """The log's first and last timestamps (UTC, ISO), the end 1 s later (half-open window)."""
    import pandas as pd

    with path.open("rb") as fh:
        first = fh.readline()[:23].decode()
        fh.seek(max(path.stat().st_size - 65536, 0))
        tail = [line for line in fh.read().splitlines() if line[:2] == b"20"]
    start = pd.Timestamp(first, tz="UTC")
    end = pd.Timestamp(tail[-1][:23].decode(), tz="UTC") + pd.Timedelta(seconds=1)
    return start.isoformat(), end.isoformat()


def run_flow(log: Path, span: tuple[str, str], work: Path, tag: str) -> dict[str, Any]:
    home = kit_home(work, f"home-{tag}")
    env = {**os.environ, "RUNBOOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "runbook_lib.cli", "run", "db_connections", "-p", "pg_log", str(log)]
    cmd += ["-p", "pg_log_line_prefix", PREFIX, "-p", "start", span[0], "-p", "end", span[1], "--timeout", "1800"]
    got = run_child(cmd, env=env, cwd=home)
    got["cells"] = cell_durations(home, width=70)
    found = sorted(home.glob("reports/*/*/findings.json"))
    got["findings"] = json.loads(found[-1].read_text(encoding="utf-8")) if found else {}
    return got


def show(name: str, got: dict[str, Any], lines: int) -> None:
    print(
        f"{name:<34} wall {got['wall_s']:7.2f} s  cpu {got['cpu_s']:7.2f} s  peak RSS "
        f"{got['rss_mib']:6.0f} MiB  ({lines / got['wall_s']:,.0f} lines/s)"
    )


def engines(path: Path, prefix: str) -> dict[str, float]:
    """Seconds for the prefix regex alone over every line, per engine (why polars)."""
    import re

    import polars as pl
    import pyarrow as pa
    import pyarrow.compute as pc

    from runbook_lib.sources.pg.log_prefix import translate_prefix

    pattern = translate_prefix(prefix).pattern
    lines = path.read_text(encoding="utf-8").split("\n")
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
    ap.add_argument("--engines", action="store_true", help="also time the prefix regex per engine")
    ap.add_argument("--no-agree", action="store_true", help="skip the untimed pgBadger JSON run (counts check)")
    args = ap.parse_args()
    if not shutil.which("pgbadger"):
        raise SystemExit("pgbadger is not installed (apt-get install -y pgbadger)")
    work = Path(tempfile.mkdtemp(prefix="bench_pg_log_"))
    log = args.keep or work / "postgresql.log"
    if not log.exists():
        generate(log, lines=args.lines, seed=args.seed)
    with log.open("rb") as fh:
        lines = sum(1 for _ in fh)
    span = log_span(log)
    print(f"log: {log} — {lines:,} lines, {log.stat().st_size / 1e6:.1f} MB, prefix {PREFIX!r}, {span[0]} .. {span[1]}")
    print(f"machine: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    flows = [run_flow(log, span, work, "flow-1")]
    show("db_connections flow (run 1)", flows[0], lines)
    report = work / "pgbadger"
    report.mkdir()
    badger_cmd = ["pgbadger", "-q", "-j", "1", "-f", "stderr", "--prefix", PREFIX]
    badger = run_child([*badger_cmd, "-o", str(report / "out.html"), str(log)])
    show("pgbadger -j1 (HTML report)", badger, lines)
    flows.append(run_flow(log, span, work, "flow-2"))
    show("db_connections flow (run 2)", flows[1], lines)

    slow = max(flows, key=lambda f: f["wall_s"])
    cpu = max(f["cpu_s"] for f in flows)
    print(
        f"ratio (slower flow run vs pgBadger -j1): wall {badger['wall_s'] / slow['wall_s']:.1f}x "
        f"({slow['wall_s']:.2f} s vs {badger['wall_s']:.2f} s), CPU {badger['cpu_s'] / cpu:.1f}x "
        f"({cpu:.2f} s vs {badger['cpu_s']:.2f} s); target >= 10x"
    )
    pg_source = next((s for s in slow["findings"].get("sources", []) if s.get("source") == "pg_log"), {})
    print(f"flow's pg_log source: {pg_source.get('status')}, format {pg_source.get('format')}, "
          f"by_severity {pg_source.get('by_severity')}")  # fmt: skip
    print("per cell of the slower flow run (papermill durations, s):")
    for source, seconds in slow["cells"]:
        print(f"  {seconds:7.2f}  {source}")

    if not args.no_agree:
        check = json.loads(run_child([sys.executable, "-c", READER, str(log), PREFIX, "check"])["stdout"])
        run_child([*badger_cmd, "-x", "json", "-o", str(report / "out.json"), str(log)])
        stat = json.loads((report / "out.json").read_text(encoding="utf-8"))["overall_stat"]
        ours = (check["totals"]["queries"], check["totals"]["errors"])
        theirs = (stat["queries_number"], stat["errors_number"])
        print(f"queries, errors: ours {ours}, pgBadger {theirs} ({'same' if ours == theirs else 'DIFFERENT'})")
    for mode in ("time", "window"):
        got = run_child([sys.executable, "-c", READER, str(log), PREFIX, mode, *span])
        inner = json.loads(got["stdout"])
        show(f"reader alone ({'10% window' if mode == 'window' else 'whole file'})", got, lines)
        print(f"  imports {inner['import_s']:.2f} s, parse {inner['parse_s']:.2f} s, per-minute events "
              f"{inner['events_s']:.2f} s; {inner['rows']:,} records, {inner['status']}")  # fmt: skip
    if args.engines:
        print("engines (prefix regex only, same lines):")
        for name, seconds in engines(log, PREFIX).items():
            print(f"  {name:36s} {seconds:6.2f} s")
    shutil.rmtree(work, ignore_errors=True)  # kit homes and reports (a --keep log lives outside)


if __name__ == "__main__":
    main()
