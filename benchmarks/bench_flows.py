"""Web flows at log scale, end to end through the runner, beside lnav's aggregate.

Usage::

    python benchmarks/bench_flows.py [--log FILE | --lines 5000000] [--workdir /tmp/runbook-flows]
                                     [--flows api_rate_limit security_alert] [--skip-wide]

Takes a log (or generates a seeded one with ``access_log_gen.py``, once, into --workdir;
keep it outside any git tree), then runs, each in its own child process:

- lnav's headless aggregate over the whole file
  (``;SELECT count(sc_status), sum(sc_bytes), sum(sc_status = 429) FROM access_log``);
- ``runbook run <flow>`` for each web flow with the log's own span as the window, and
  again with a 100-year window (2000-2100), with ``app_log`` empty (the access log is
  the subject here);
- the application-log reader (``collect_app_log``) over the demo's app log and over a
  JSON-lines and a text app log of ``--app-lines`` lines (exact row counts printed);
- the demo triage run, beside ``runbook run`` on an empty notebook (the runner's own
  cost: CLI, kernel start, papermill, HTML export), with the difference.

For each it prints wall seconds, CPU seconds (user+system of the child and everything it
waited for: the kernel included) and peak RSS (``os.wait4``: the largest process of the
tree, which is the kernel), then for flows the per-cell durations papermill wrote into
the archived notebook, side by side for the two windows, and each flow's wall and CPU
time as a multiple of lnav's aggregate (the target is <= 1x, the goal 0.5x). The box is
shared: read CPU seconds beside wall time. Not a test: it prints figures rather than asserting a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PYTHON = sys.executable
sys.path.insert(0, str(HERE))
from flowruns import cell_durations, kit_home  # noqa: E402

CENTURY = ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
LNAV_SQL = ";SELECT count(sc_status), sum(sc_bytes), sum(sc_status = 429) FROM access_log"

APP_READER = """
import json, sys, time
import pandas as pd
from runbook_lib.sources.logs.app_log import collect_app_log
from runbook_lib.timewindow import Window
window = Window(pd.Timestamp(sys.argv[2]), pd.Timestamp(sys.argv[3])) if len(sys.argv) > 3 else None
t0, c0 = time.perf_counter(), time.process_time()
got = collect_app_log(sys.argv[1], window=window)
print(json.dumps({"rows": len(got.frame), "status": got.status, "inner_s": time.perf_counter() - t0,
                  "inner_cpu_s": time.process_time() - c0, "lines_read": got.lines_read,
                  "malformed": got.lines_skipped}))
"""


def peak_rss_mib(
    cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> tuple[dict[str, Any], float]:
    """Run *cmd* under a fresh Python parent, so that parent's RUSAGE_CHILDREN (CPU seconds,
    max RSS of the largest reaped descendant: the kernel) belongs to this run only."""
    probe = (
        "import json, resource, subprocess, sys, time\n"
        "t0 = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, stdin=subprocess.DEVNULL)\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps({'code': p.returncode, 'wall_s': time.perf_counter() - t0,"
        " 'cpu_s': u.ru_utime + u.ru_stime, 'rss_mib': u.ru_maxrss / 1024,"
        " 'stdout': p.stdout.decode('utf-8', 'replace')[-4000:],"
        " 'stderr': p.stderr.decode('utf-8', 'replace')[-4000:]}))\n"
    )
    done = subprocess.run([PYTHON, "-c", probe, *cmd], capture_output=True, text=True, env=env, cwd=cwd)
    if done.returncode != 0 or not done.stdout.strip():
        raise SystemExit(f"benchmark probe failed for {cmd[:3]}: {done.stderr.strip()[-400:]}")
    got = json.loads(done.stdout)
    return got, got["rss_mib"]


def log_span(path: Path) -> tuple[str, str]:
    """First and last timestamps of a combined log (first and last line), as ISO, the end
    one second later so the last line is inside the half-open window."""
    import pandas as pd

    def stamp(line: str) -> pd.Timestamp:
        return pd.to_datetime(line.split("[", 1)[1].split("]", 1)[0], format="%d/%b/%Y:%H:%M:%S %z")

    with path.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    with path.open("rb") as fb:
        fb.seek(max(path.stat().st_size - 8192, 0))
        last = fb.read().decode("utf-8", "replace").strip().splitlines()[-1]
    return stamp(first).isoformat(), (stamp(last) + pd.Timedelta(seconds=1)).isoformat()


def run_flow(flow: str, log: Path, window: tuple[str, str], workdir: Path, tag: str) -> dict[str, Any]:
    home = kit_home(workdir, f"home-{flow}-{tag}")
    env = {**os.environ, "RUNBOOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cmd = [PYTHON, "-m", "runbook_lib.cli", "run", flow, "-p", "access_log", str(log), "-p", "app_log", ""]
    cmd += ["-p", "start", window[0], "-p", "end", window[1], "--timeout", "1800"]
    got, rss = peak_rss_mib(cmd, env=env)
    got["rss_mib"], got["cells"] = rss, cell_durations(home)
    return got


def show(name: str, got: dict[str, Any]) -> None:
    state = "ok" if got["code"] == 0 else f"exit {got['code']}: {got['stderr'].strip().splitlines()[-1:]}"
    print(
        f"{name:<44} wall {got['wall_s']:7.1f} s  cpu {got['cpu_s']:7.1f} s  "
        f"peak RSS {got['rss_mib']:7.0f} MiB  {state}"
    )


def show_vs_lnav(got: dict[str, Any], lnav: dict[str, Any] | None) -> None:
    """The target: a web flow end to end within lnav's aggregate time (goal: half)."""
    if lnav is None or got["code"] != 0:
        return
    print(f"  vs lnav aggregate: wall {got['wall_s'] / lnav['wall_s']:.2f}x, cpu {got['cpu_s'] / lnav['cpu_s']:.2f}x")


def show_cells(flow: str, own: dict[str, Any], wide: dict[str, Any] | None) -> None:
    print(f"  per cell ({flow}): own span | 100-year window (s)")
    wide_cells = wide["cells"] if wide else []
    for i, (source, seconds) in enumerate(own["cells"]):
        other = f"{wide_cells[i][1]:7.2f}" if i < len(wide_cells) else "      -"
        print(f"    {seconds:7.2f} | {other}   {source}")


def run_empty_notebook(workdir: Path) -> dict[str, Any]:
    """``runbook run`` on a notebook holding only a parameters cell: the runner's own cost
    (CLI, kernel start, papermill, HTML export), the baseline the triage run is held to."""
    home = workdir / "home-empty"
    if home.exists():
        shutil.rmtree(home)
    (home / "reports").mkdir(parents=True)
    (home / "notebooks").mkdir()
    (home / "parameters").symlink_to(ROOT / "parameters")
    source = 'incident_id: str = ""  # INC-YYYY-MM-DD-NNN; empty for a scratch run'
    cells = [
        {"cell_type": "markdown", "id": "purpose", "metadata": {}, "source": "# Empty"},
        {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]}, "source": source,
         "outputs": [], "execution_count": None},
    ]  # fmt: skip
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb = {"cells": cells, "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    (home / "notebooks" / "empty.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    env = {**os.environ, "RUNBOOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    got, rss = peak_rss_mib([PYTHON, "-m", "runbook_lib.cli", "run", "empty"], env=env, cwd=home)
    got["rss_mib"] = rss
    return got


def generate_log(lines: int, workdir: Path) -> Path:
    path = workdir / f"access-{lines}.log"
    if not path.exists():
        workdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([PYTHON, str(HERE / "access_log_gen.py"), str(path), "--lines", str(lines)], check=True)
    return path


def generate_app_logs(lines: int, workdir: Path) -> dict[str, Path]:
    """A JSON-lines and a text app log of *lines* lines (seeded, written once)."""
    import random

    out = {"json": workdir / f"app-{lines}.jsonl", "text": workdir / f"app-{lines}.log"}
    if all(p.exists() for p in out.values()):
        return out
    rng = random.Random(13)
    levels = ["info"] * 90 + ["warning"] * 7 + ["error"] * 3
    with out["json"].open("w", encoding="utf-8") as js, out["text"].open("w", encoding="utf-8") as tx:
        for i in range(lines):
            second = i * 86400 // lines
            ts = f"2026-11-20T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.{i % 1000:03d}Z"
            level = rng.choice(levels)
            msg = f"request {rng.randrange(10**6)} handled in {rng.randrange(900)} ms"
            js.write(json.dumps({"time": ts, "level": level, "logger": "api", "msg": msg}) + "\n")
            tx.write(f"{ts} {level.upper()} [api] {msg}\n")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, help="an existing access log (combined + request_time)")
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--app-lines", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/runbook-flows"))
    parser.add_argument("--flows", nargs="+", default=["api_rate_limit", "security_alert"])
    parser.add_argument("--skip-wide", action="store_true", help="skip the 100-year window runs")
    parser.add_argument("--only", choices=["flows", "app", "triage", "lnav"], nargs="+")
    args = parser.parse_args()
    only = set(args.only or ["lnav", "flows", "app", "triage"])
    args.workdir.mkdir(parents=True, exist_ok=True)
    lnav = None
    if only & {"lnav", "flows"}:  # the app-log reader and the demo triage need no access log
        log = args.log or generate_log(args.lines, args.workdir)
        span = log_span(log)
        print(f"log {log} ({log.stat().st_size / 2**30:.2f} GiB), span {span[0]} .. {span[1]}")
    if "lnav" in only and shutil.which("lnav"):
        lnav, rss = peak_rss_mib(["lnav", "-n", "-c", LNAV_SQL, str(log)])
        got = lnav
        got["rss_mib"] = rss
        show("lnav aggregate", got)
        print("  " + " ".join(got["stdout"].split())[-120:])
    if "flows" in only:
        for flow in args.flows:
            own = run_flow(flow, log, span, args.workdir, "own")
            show(f"{flow} (log span)", own)
            show_vs_lnav(own, lnav)
            wide = None
            if not args.skip_wide:
                wide = run_flow(flow, log, CENTURY, args.workdir, "wide")
                show(f"{flow} (2000-2100 window)", wide)
                show_vs_lnav(wide, lnav)
            show_cells(flow, own, wide)
    # The demo incident, generated once into its own kit home (app log for the reader, triage).
    home = kit_home(args.workdir, "home-demo")
    env = {**os.environ, "RUNBOOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
    if only & {"app", "triage"}:
        subprocess.run([PYTHON, "-m", "runbook_lib.cli", "demo", "--no-run"], cwd=home, env=env, capture_output=True)
    if "app" in only:
        logs = generate_app_logs(args.app_lines, args.workdir)
        # The generated logs span 2026-11-20 (24 h): a one-hour window shows memory and time
        # following the window (chunks before it skipped unparsed, none read after it).
        hour = ["2026-11-20T12:00:00Z", "2026-11-20T13:00:00Z"]
        runs: list[tuple[str, Path, list[str]]] = [("demo", home / "demo" / "app.log", [])]
        runs += [(name, path, []) for name, path in logs.items()]
        runs += [(f"{name}, 1 h window", path, hour) for name, path in logs.items()]
        for name, path, window in runs:
            if not path.exists():
                print(f"app-log reader ({name}): {path} missing")
                continue
            lines = sum(1 for _ in path.open("rb"))
            got, rss = peak_rss_mib([PYTHON, "-c", APP_READER, str(path), *window], env=env)
            got["rss_mib"] = rss
            show(f"app-log reader ({name}, {lines:,} lines)", got)
            inner = json.loads(got["stdout"]) if got["code"] == 0 else {}
            if inner:
                rate = lines / inner["inner_s"] / 1e6
                print(
                    f"  rows {inner['rows']:,} of {lines:,} lines ({inner['lines_read']:,} non-blank read, "
                    f"{inner['malformed']:,} malformed), {inner['status']}, {rate:.2f} M lines/s in the reader "
                    f"({inner['inner_s']:.2f} s wall, {inner['inner_cpu_s']:.2f} s CPU)"
                )
    if "triage" in only:
        empty = run_empty_notebook(args.workdir)
        show("empty notebook (papermill + nbconvert)", empty)
        got, rss = peak_rss_mib([PYTHON, "-m", "runbook_lib.cli", "run", "triage"], env=env, cwd=home)
        got["rss_mib"], got["cells"] = rss, cell_durations(home)
        show("demo triage", got)
        print(
            f"  triage minus the empty notebook: wall {got['wall_s'] - empty['wall_s']:+.1f} s, "
            f"cpu {got['cpu_s'] - empty['cpu_s']:+.1f} s (target: wall +3 s)"
        )
        show_cells("triage", got, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
