"""The demo CI history: broken, two flaky, infrastructure and a creeping timeout, named."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runbook_lib.analysis import tests_history as th
from runbook_lib.analysis.ci_findings import ci_next_steps, find_ci_findings
from runbook_lib.demo import ci as ci_demo
from runbook_lib.sources.ci.runs import collect_ci_runs


def analyse(folder: Path) -> dict[str, Any]:
    ci = collect_ci_runs(str(folder))
    infra = th.detect_infrastructure(ci.frame, ci.meta["runs"])
    history = th.rank_test_history(th.outcomes_per_test(ci.frame, infra))
    limit, hits = th.timeout_limit(ci.frame)
    broken, flaky = th.detect_broken(history), th.detect_flaky(history, exclude=hits)
    trends = th.detect_timeout_trends(ci.frame, limit_s=limit)
    findings = find_ci_findings(
        ci, infra=infra, broken=broken, flaky=flaky, timeout_hits=hits, trends=trends, limit_s=limit
    )
    return {"ci": ci, "broken": broken, "flaky": flaky, "findings": findings, "limit": limit, "infra": infra}


def _git(repo: Path, *args: str, when: pd.Timestamp | None = None) -> None:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "PATH": "/usr/bin:/bin", "HOME": str(repo)}  # fmt: skip
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    subprocess.run(["git", "-C", str(repo), *args], env=env, check=True, capture_output=True)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Only the CI part of the demo, on a small repo shaped like demo/repo (five commits)."""
    folder = tmp_path_factory.mktemp("cidemo") / "demo"
    repo = folder / "repo"
    repo.mkdir(parents=True)
    end = pd.Timestamp.now(tz="UTC").floor("s")
    _git(repo, "init", "-q", "-b", "main")
    for i, ago in enumerate((pd.Timedelta(days=2, hours=3), pd.Timedelta(days=1), pd.Timedelta(hours=7),
                             pd.Timedelta(minutes=100), pd.Timedelta(minutes=50))):  # fmt: skip
        (repo / f"f{i}.txt").write_text(str(i))
        _git(repo, "add", ".")
        _git(repo, "commit", "-q", "-m", f"c{i}", when=end - ago)
    ci_demo.generate(folder, end, 7)
    return folder


def test_demo_history_names_each_injected_problem(demo_dir: Path) -> None:
    got = analyse(demo_dir / "ci_runs")
    by_kind: dict[str, list[Any]] = {}
    for f in got["findings"]:
        by_kind.setdefault(f.kind, []).append(f)
    (broken,) = by_kind["broken_test"]
    assert broken.severity == "high" and "charges the card once" in broken.summary
    assert broken.numbers["streak"] == 4
    flaky = [f.numbers["test_id"] for f in by_kind["flaky_test"]]
    assert flaky[:2] == [
        "test/cart.test.js::cart::applies coupon under load",
        "test/users.test.js::users::refreshes the session",
    ]
    assert not any("charges the card" in t for t in flaky)
    assert {f.numbers["kind"] for f in by_kind["ci_infrastructure"]} == {"suite_failed_to_run", "most_failed"}
    assert got["limit"] == 5.0 and "ranks results by relevance" in by_kind["test_timeout"][0].summary
    steps = ci_next_steps(got["findings"], got["broken"], got["flaky"])
    assert any(s.startswith("Broken") and "git revert" in s for s in steps)
    assert any("remove by" in s for s in steps) and any("jest.setTimeout" in s for s in steps)


def test_all_green_control_has_nothing_medium_or_higher(demo_dir: Path, tmp_path: Path) -> None:
    src = demo_dir / "ci_runs"
    green = tmp_path / "green"
    green.mkdir()
    for run in sorted(src.iterdir())[:12]:
        (green / run.name).mkdir()
        (green / run.name / "run.json").write_bytes((run / "run.json").read_bytes())
        (green / run.name / "junit.xml").write_text(
            '<testsuites><testsuite name="t"><testcase classname="a" name="b" time="0.1"/>'
            '<testcase classname="a" name="c[1]" time="0.2"/></testsuite></testsuites>'
        )
    got = analyse(green)
    assert [f.kind for f in got["findings"]] == ["ci_green"]
    assert all(f.severity in ("info", "low") for f in got["findings"])


def test_timeout_messages_of_each_runner_give_the_limit() -> None:
    messages = {
        "Failed: Timeout (>3.0s) from pytest-timeout.": 3.0,
        'thrown: "Exceeded timeout of 5000 ms for a test.': 5.0,
        "panic: test timed out after 10m0s": 600.0,
        "Test timeout of 30000ms exceeded.": 30.0,
    }
    for message, limit in messages.items():
        frame = pd.DataFrame({"run_id": ["r"], "test_id": ["t"], "message": [message], "detail": [""]})
        got, hits = th.timeout_limit(frame)
        assert got == limit and len(hits) == 1, message


def test_charts_and_git_ranges_on_the_demo(demo_dir: Path) -> None:
    from runbook_lib.analysis.ci_findings import detect_culprits
    from runbook_lib.charts import plot_failures_per_run, plot_test_heatmap
    from runbook_lib.sources.ci.commits import collect_commit_ranges

    got = analyse(demo_dir / "ci_runs")
    runs = got["ci"].meta["runs"]
    fig = plot_failures_per_run(runs)
    assert fig.texts[0].get_text() == "49 failing tests at most, in run ci-1018"  # 48 tests + 1 suite
    matrix = th.detect_outcome_matrix(got["ci"].frame, list(got["broken"]["test_id"]))
    assert matrix.iloc[0, -4:].tolist() == [1, 1, 1, 1]
    heat = plot_test_heatmap(matrix, runs)
    assert heat.axes[0].get_xticklabels()[-1].get_text() == runs["short_sha"].iloc[-1][:7]
    commits = collect_commit_ranges(str(demo_dir / "repo"), got["broken"])
    assert commits.status == "ok" and commits.frame["subject"].tolist() == ["c4", "c3"]
    culprits = detect_culprits(got["broken"], commits.frame)
    assert culprits["candidates"].tolist() == [2]
    hostile = pd.DataFrame({"last_pass_commit": ["--output=/tmp/x"], "first_fail_commit": ["HEAD; rm -rf /"]})
    assert collect_commit_ranges(str(demo_dir / "repo"), hostile).reason == "no commit range to read"
    assert collect_commit_ranges("", got["broken"]).status == "skipped"
