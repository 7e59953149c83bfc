"""The demo CI history: broken, two flaky, infrastructure and a creeping timeout, named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runbook_lib.analysis import tests_history as th
from runbook_lib.analysis.test_findings import ci_next_steps, find_ci_findings
from runbook_lib.demo import generate_demo
from runbook_lib.sources.ci.runs import collect_ci_runs


def analyse(folder: Path) -> dict[str, Any]:
    ci = collect_ci_runs(str(folder))
    infra = th.detect_infrastructure(ci.frame, ci.meta["runs"])
    history = th.rank_test_history(th.test_outcomes(ci.frame, infra))
    limit, hits = th.timeout_limit(ci.frame)
    broken, flaky = th.detect_broken(history), th.detect_flaky(history, exclude=hits)
    trends = th.detect_timeout_trends(ci.frame, limit_s=limit)
    findings = find_ci_findings(
        ci, infra=infra, broken=broken, flaky=flaky, timeout_hits=hits, trends=trends, limit_s=limit
    )
    return {"ci": ci, "broken": broken, "flaky": flaky, "findings": findings, "limit": limit, "infra": infra}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cidemo") / "demo"
    generate_demo(out=folder)
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
