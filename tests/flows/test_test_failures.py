"""The test_failures notebook, executed for real on the demo CI history and on a clean one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def kinds(findings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in findings["findings"]:
        out.setdefault(f["kind"], []).append(f)
    return out


def test_defaults_run_offline_on_the_demo(run_flow: Any, demo: dict[str, Any]) -> None:
    nb = nbformat.read(str(ROOT / "notebooks" / "test_failures.ipynb"), as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'ci_runs: str = "demo/ci_runs"' in params.source and 'repo: str = "demo/repo"' in params.source
    folder = demo["folder"]
    findings = run_flow("test_failures", {"ci_runs": str(folder / "ci_runs"), "repo": str(folder / "repo")})
    found = kinds(findings)
    (broken,) = found["broken_test"]
    assert broken["severity"] == "high" and "charges the card once" in broken["summary"]
    # W..X holds the docs commit and the payments deploy; only the deploy touches payments.
    assert broken["numbers"]["culprit"] == demo["bad_deploy_sha"]
    assert "switch provider client" in broken["summary"]
    assert [f["numbers"]["test_id"].rsplit("::", 1)[-1] for f in found["flaky_test"]][:2] == [
        "applies coupon under load",
        "refreshes the session",
    ]
    assert {f["numbers"]["kind"] for f in found["ci_infrastructure"]} == {"suite_failed_to_run", "most_failed"}
    assert "ranks results by relevance" in found["test_timeout"][0]["summary"]
    assert any(f"git revert {demo['bad_deploy_sha']}" in s for s in findings["next_steps"])
    assert {s["source"]: s["status"] for s in findings["sources"]} == {"ci_runs": "ok", "git_ranges": "ok"}
