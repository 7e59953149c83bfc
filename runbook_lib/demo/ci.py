"""Demo part: a seeded CI history in ``demo/ci_runs`` on the commits of ``demo/repo``.

Story (jest-junit style reports, one run every ~90 minutes over two days): the payments
deploy breaks ``test/payments.test.js`` ("charges the card once") on every run since;
``cart`` "applies coupon under load" and ``users`` "refreshes the session" flip without a
code change; one run loses its database (most tests fail with ECONNREFUSED and a suite
fails to run); ``search`` "ranks results by relevance" creeps toward jest's 5 s timeout.
``generate`` only reads ``demo/repo`` (written by the main demo first).
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

BROKEN = ("test/payments.test.js", "payments", "charges the card once")
FLAKY = [
    ("test/cart.test.js", "cart", "applies coupon under load", 0.35),
    ("test/users.test.js", "users", "refreshes the session", 0.25),
]  # noqa: E501
CREEPING = ("test/search.test.js", "search", "ranks results by relevance")
TIMEOUT_S = 5.0
_FILES = [
    "test/payments.test.js",
    "test/cart.test.js",
    "test/users.test.js",
    "test/search.test.js",
    "test/products.test.js",
    "test/api.test.js",
]  # noqa: E501


def _commits(repo: Path) -> list[tuple[pd.Timestamp, str]]:
    out = subprocess.run(
        ["git", "-C", str(repo), "log", "--first-parent", "--format=%ct %H", "HEAD"],
        capture_output=True, text=True, check=True, timeout=10,
    ).stdout  # fmt: skip
    rows = [line.split() for line in out.splitlines() if line.strip()]
    return sorted((pd.Timestamp(int(ts), unit="s", tz="UTC"), sha) for ts, sha in rows)


def _case(file: str, classname: str, name: str, time_s: float, failure: str = "", error: str = "") -> str:
    attrs = f'classname={quoteattr(classname)} name={quoteattr(name)} time="{time_s:.3f}" file={quoteattr(file)}'
    if failure:
        return f"<testcase {attrs}><failure>{failure}</failure></testcase>"
    if error:
        return f"<testcase {attrs}><error>{error}</error></testcase>"
    return f"<testcase {attrs}/>"


def generate(folder: Path, end: pd.Timestamp, seed: int) -> dict[str, Any]:
    """Write ``ci_runs/`` under *folder*; return the parameters of the test_failures flow."""
    rng = random.Random(seed + 5)
    commits = _commits(folder / "repo")
    out = folder / "ci_runs"
    out.mkdir()
    first = commits[0][0] + pd.Timedelta(minutes=10)
    docs_at, bad_at = commits[-2][0], commits[-1][0]
    times = [t for t in pd.date_range(first, end - pd.Timedelta(minutes=2), freq="90min")]
    times = [t for t in times if not (docs_at <= t < bad_at)]  # no run on the docs commit: W..X spans two
    times += [bad_at + pd.Timedelta(minutes=m) for m in (8, 20, 33, 45)]
    times = sorted(t for t in times if t < end)
    infra_run = len(times) // 2
    for i, at in enumerate(times):
        sha = [s for t, s in commits if t <= at][-1]
        suites: dict[str, list[str]] = {f: [] for f in _FILES}
        for f in _FILES:
            mod = f.split("/")[1].split(".")[0]
            for k in range(10):
                name, time_s = f"{mod} case {k}", rng.uniform(0.01, 0.3)
                failure = error = ""
                if (f, name) == (BROKEN[0], f"{mod} case 0"):
                    name = BROKEN[2]
                    if at >= bad_at:
                        failure = "Error: expect(received).toBe(expected)\n\nExpected: 1\nReceived: 2 charges"
                for ff, _, fname, p in FLAKY:
                    if (f, k) == (ff, 1):
                        name = fname
                        if rng.random() < p:
                            failure = "Error: expect(received).toEqual(expected) // coupon total raced"
                if (f, k) == (CREEPING[0], 2):
                    name = CREEPING[2]
                    time_s = 1.2 + 3.6 * i / max(len(times) - 1, 1) + rng.uniform(-0.1, 0.1)
                    if i == len(times) - 1:
                        time_s = TIMEOUT_S + 0.01
                        failure = 'thrown: "Exceeded timeout of 5000 ms for a test.'
                if i == infra_run and not failure and k < 8:
                    failure, error = "", f"Error: connect ECONNREFUSED 127.0.0.1:5432 (pool {k})"
                suites[f].append(_case(f, mod, name, time_s, failure, error))
        body = "".join(
            f'<testsuite name={quoteattr(f)} tests="{len(c)}">{"".join(c)}</testsuite>' for f, c in suites.items()
        )  # noqa: E501
        if i == infra_run:
            body += (
                '<testsuite name="test/db.test.js" tests="0" errors="1"><testcase classname="Test suite failed to run" '
                'name="test/db.test.js"><error>  ● Test suite failed to run\n\n    connect ECONNREFUSED 127.0.0.1:5432'
                "</error></testcase></testsuite>"
            )
        xml = f'<?xml version="1.0" encoding="UTF-8"?><testsuites name="jest tests">{body}</testsuites>'
        run = out / f"run-{i + 1:03d}"
        run.mkdir()
        meta = {"run_id": f"ci-{1000 + i}", "commit": sha, "branch": "main", "started_at": at.isoformat(),
                "job": "test", "url": f"https://ci.example.com/runs/{1000 + i}"}  # fmt: skip
        (run / "run.json").write_text(json.dumps(meta))
        if i % 3 == 0:
            (run / "junit.xml.gz").write_bytes(gzip.compress(xml.encode()))
        else:
            (run / "junit.xml").write_text(xml)
    return {"ci_runs": "demo/ci_runs", "test_timeout_s": TIMEOUT_S}
