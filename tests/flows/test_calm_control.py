"""The calm control: a day with only realistic background noise raises nothing high.

``generate_demo(calm=True)`` writes the same deploys (harmless), a few exploit probes from
scattered clients, script-tag user agents answered 200, an occasional 5xx and a one-minute
429 burst from a client that backs off. Beside it the test writes a green CI history with
one flaky test that failed once, and a plugin tree of real agents and commands (tests/data/
plugins) where one real command lacks front matter (a warning), with that warning in the
load log. Every flow runs on it; none may say high or critical (the noisy demo's incidents
keep their grades in the flows' own tests). A scheduled run (``--incident auto``) stays in
the daily health record on the calm day and opens an incident on the noisy one.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from runbook_lib import store
from runbook_lib.cli import main
from runbook_lib.demo import generate_demo
from runbook_lib.demo.gitrepo import git
from runbook_lib.findings import read_findings
from runbook_lib.incident import record as incident
from runbook_lib.run.catalog import incident_rows
from runbook_lib.run.params import flow_names
from runbook_lib.run.runner import run_flow


def _params(folder: Path, summary: dict[str, Any], out: Path, **extra: Any) -> Path:
    values = {
        **extra,
        "access_log": str(folder / "access.log"),
        "app_log": str(folder / "app.log"),
        "pg_log": str(folder / "postgresql.log"),
        "repo": str(folder / "repo"),
        "start": (summary["end"] - pd.Timedelta(hours=2)).isoformat(),
        "end": summary["end"].isoformat(),
    }
    out.write_text(yaml.safe_dump(values))
    return out


PLUGIN_SAMPLES = Path(__file__).resolve().parents[1] / "data" / "plugins"


def _calm_ci(folder: Path, summary: dict[str, Any], out: Path) -> Path:
    """Twelve green CI runs of main in the window; ``checkout`` failed once (a flake)."""
    sha = git(folder / "repo", "rev-parse", "HEAD")
    runs = folder / "calm_ci_runs"  # the demo parts write their noisy ci_runs beside
    for i in range(12):
        at = summary["end"] - pd.Timedelta(minutes=115 - 9 * i)
        flake = '<failure message="socket hang up">Error: socket hang up</failure>' if i == 6 else ""
        cases = "".join(
            f'<testcase classname="test/{name}.test.js" name="{name} works" time="0.{i + 1}">'
            f"{flake if name == 'checkout' else ''}</testcase>"
            for name in ("cart", "checkout", "search", "users")
        )
        run = runs / f"run-{i:03d}"
        run.mkdir(parents=True)
        run_meta = {"run_id": f"ci-{i}", "commit": sha, "branch": "main", "started_at": at.isoformat()}
        (run / "run.json").write_text(json.dumps(run_meta))
        (run / "junit.xml").write_text(f'<testsuites><testsuite name="jest">{cases}</testsuite></testsuites>')
    out.write_text(yaml.safe_dump({"ci_runs": str(runs)}))
    return out


def _calm_plugins(folder: Path, summary: dict[str, Any], out: Path) -> Path:
    """Real agents and commands in a git repo, one real command without front matter (a
    warning), and that warning once in the load log."""
    repo = folder / "calm_plugins_repo"
    shutil.copytree(PLUGIN_SAMPLES / "clean", repo)
    shutil.copy(PLUGIN_SAMPLES / "warning" / "commands" / "smart-debug.md", repo / ".claude" / "commands")
    when = summary["end"] - pd.Timedelta(days=1)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "agents and commands", when=when)
    log = folder / "calm_plugin_load.log"
    at = summary["end"] - pd.Timedelta(minutes=30)
    records = [
        {"time": at.isoformat(), "level": "info", "logger": "agents", "msg": "loaded 3 agents, 3 commands, 1 plugin"},
        {
            "time": at.isoformat(),
            "level": "warning",
            "logger": "commands",
            "msg": "command smart-debug has no description",
        },
    ]
    log.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    values = {"repo": str(repo), "app_log": str(log), "plugin_paths": ".claude/agents,.claude/commands,plugins"}
    out.write_text(yaml.safe_dump(values))
    return out


@pytest.fixture
def quiet_process() -> Iterator[int]:
    """The process the host flows watch on the calm day: alive, idle, not growing (the
    machine's other processes are not ours to grade)."""
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=5)


@pytest.mark.slow
def test_calm_day_raises_nothing_high_in_any_flow(kit_home: Path, tmp_path: Path, quiet_process: int) -> None:
    folder = tmp_path / "calm"
    summary = generate_demo(out=folder, calm=True)
    params = _params(folder, summary, tmp_path / "calm.yaml", target=str(quiet_process))
    inc = str(incident.create_incident("calm control")["id"])
    extra = {
        "test_failures": _calm_ci(folder, summary, tmp_path / "ci.yaml"),
        "plugin_load": _calm_plugins(folder, summary, tmp_path / "plugins.yaml"),
    }
    flows = [f for f in flow_names() if f != "api_rate_limit"]
    assert {"triage", "security_alert", "db_connections", "high_cpu", "memory_leak", *extra} <= set(flows)
    graded: dict[str, list[tuple[str, str]]] = {}
    kinds: dict[str, dict[str, str]] = {}
    for flow in flows:
        result = run_flow(flow, inc, files=[params, *([extra[flow]] if flow in extra else [])])
        assert result.status == "ok", f"{flow}: {result.error}"
        found = read_findings(result.run_dir)["findings"]
        graded[flow] = [(f["severity"], f["summary"]) for f in found]
        kinds[flow] = {f["kind"]: f["severity"] for f in found}
    loud = {flow: [f for f in items if f[0] in ("high", "critical")] for flow, items in graded.items()}
    assert not any(loud.values()), loud
    # The background is seen, just not paged on: the probes, the flake and the warning are there.
    assert any("zgrab" in s for _, s in graded["security_alert"])
    assert kinds["test_failures"]["flaky_test"] == "low"
    assert kinds["plugin_load"]["plugin_warnings"] == "low" and kinds["plugin_load"]["plugin_load_log"] == "low"

    # A scheduled run on the calm day stays in the daily health record.
    assert main(["run", "api_rate_limit", "--incident", "auto", "-f", str(params)]) == 0
    rows = incident_rows()
    health = [r for r in rows if r.status == "health"]
    assert len(health) == 1 and len(rows) == 2, [(r.id, r.title, r.status) for r in rows]
    (run,) = [p for p in (kit_home / "reports" / health[0].id).iterdir() if p.is_dir()]
    worst = {f["severity"] for f in read_findings(run)["findings"]}
    assert worst <= {"info", "low", "unknown"} and "429" in health[0].verdict


@pytest.mark.slow
def test_scheduled_run_opens_an_incident_on_evidence(kit_home: Path, demo: dict[str, Any], tmp_path: Path) -> None:
    params = tmp_path / "demo.yaml"
    params.write_text(yaml.safe_dump(demo["param_values"]))
    assert main(["run", "api_rate_limit", "--incident", "auto", "-f", str(params)]) == 0
    rows = {r.status: r for r in incident_rows()}
    opened, health = rows["Investigating"], rows["health"]
    (run,) = [p for p in (kit_home / "reports" / opened.id).iterdir() if p.is_dir()]
    assert run.name.startswith("01-api_rate_limit-") and opened.last_run == run.name
    doc = read_findings(run)
    assert doc["incident_id"] == opened.id and doc["findings"][0]["severity"] in ("high", "critical")
    assert opened.title.startswith("api_rate_limit: ") and "429" in opened.title
    assert not [p for p in (kit_home / "reports" / health.id).iterdir() if p.is_dir()]
    record = store.read_json_object(kit_home / "reports" / opened.id / "incident.json")
    assert record["opened_from"] == health.id and record["runs"][0]["folder"] == run.name
    assert opened.id in (kit_home / "reports" / "index.html").read_text()
