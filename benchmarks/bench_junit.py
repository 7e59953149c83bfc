"""Read and analyse 1,000 CI runs × 500 tests of JUnit XML (target: under 10 s); prints the figures.

PYTHONPATH=. .venv/bin/python benchmarks/bench_junit.py [runs] [tests]
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from runbook_lib.analysis import tests_history as th
from runbook_lib.analysis.ci_findings import find_ci_findings
from runbook_lib.sources.ci.runs import collect_ci_runs


def write_history(folder: Path, runs: int, tests: int) -> None:
    rng = random.Random(1)
    start = pd.Timestamp("2026-01-01", tz="UTC")
    for i in range(runs):
        run = folder / f"run-{i:05d}"
        run.mkdir()
        cases = []
        for k in range(tests):
            attrs = f'classname="pkg.mod{k // 50}" name="test_{k}[p{k % 3}]" time="{rng.uniform(0, 2):.3f}"'
            failing = (k == 7 and i >= runs - 20) or (k == 11 and rng.random() < 0.3)
            cases.append(
                f"<testcase {attrs}><failure message='boom'>trace</failure></testcase>"
                if failing
                else f"<testcase {attrs}/>"
            )
        (run / "junit.xml").write_text(
            f'<testsuites><testsuite name="pytest">{"".join(cases)}</testsuite></testsuites>'
        )
        meta = {
            "run_id": f"r{i}",
            "commit": f"{i // 5:040x}",
            "branch": "main",
            "started_at": (start + pd.Timedelta(hours=i)).isoformat(),
        }
        (run / "run.json").write_text(json.dumps(meta))


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    tests = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_history(folder, runs, tests)
        t0 = time.perf_counter()
        ci = collect_ci_runs(str(folder))
        t1 = time.perf_counter()
        infra = th.detect_infrastructure(ci.frame, ci.meta["runs"])
        history = th.rank_test_history(th.outcomes_per_test(ci.frame, infra))
        limit, hits = th.timeout_limit(ci.frame)
        broken, flaky = th.detect_broken(history), th.detect_flaky(history, exclude=hits)
        trends = th.detect_timeout_trends(ci.frame, limit_s=limit)
        findings = find_ci_findings(
            ci, infra=infra, broken=broken, flaky=flaky, timeout_hits=hits, trends=trends, limit_s=limit
        )
        t2 = time.perf_counter()
    print(f"{runs} runs × {tests} tests = {len(ci.frame):,} outcomes")
    print(f"read:     {t1 - t0:6.2f} s")
    print(f"analyse:  {t2 - t1:6.2f} s")
    print(f"total:    {t2 - t0:6.2f} s (target < 10 s)")
    print(f"findings: {[f.kind for f in findings]}")


if __name__ == "__main__":
    main()
