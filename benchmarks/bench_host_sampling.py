"""How much CPU does the kit itself use while sampling 200 processes every second?

Goal (issue 5): under 5 % of one core. Spawns 200 sleeping children (``sleep``, tagged by
a unique duration so the target pattern matches only them), samples them with
``sample_host`` every second (appending to CSV files, as the notebooks do), and prints
the sampler's own CPU time / wall time, for:

- ``target``: the 200 children with every field (RSS, USS, threads, fds, connections);
- ``top``: no target, all processes on the host ranked by CPU, top 5 kept.

Usage: ``python benchmarks/bench_host_sampling.py [--seconds 20] [--children 200]``
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from runbook_lib.sources.host import sample_host


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(seconds: float, target: str, folder: Path) -> tuple[float, int]:
    t0, c0 = time.monotonic(), _cpu_s()
    got = sample_host(seconds, 1.0, target, top_n=5, folder=folder)
    wall, cpu = time.monotonic() - t0, _cpu_s() - c0
    per_sample = int(got.processes.frame.groupby("sampled_at").size().median())
    return 100.0 * cpu / wall, per_sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--children", type=int, default=200)
    args = parser.parse_args()
    tag = "7777.123"
    children = [subprocess.Popen(["sleep", tag], stdin=subprocess.DEVNULL) for _ in range(args.children)]
    try:
        time.sleep(1.0)
        for mode, target in (("target", f"sleep {tag}"), ("top", "")):
            with tempfile.TemporaryDirectory() as tmp:
                pct, per_sample = measure(args.seconds, target, Path(tmp) / "host_samples")
            verdict = "OK" if pct < 5.0 else "OVER GOAL"
            print(
                f"host sampling [{mode}]: {per_sample} processes/sample, 1 s interval, "
                f"{args.seconds:g} s: kit CPU {pct:.2f}% of one core (goal < 5%) {verdict}"
            )
    finally:
        for child in children:
            child.kill()
        for child in children:
            child.wait()


if __name__ == "__main__":
    main()
