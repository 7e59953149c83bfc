"""The plugin_load notebook, executed for real: the demo (an agent broken by an unquoted
': ', a new agent added broken), the rollback it shows run by this test on a clone (and the
runbook's plain checkout shown to leave the new agent behind), an explicit known-good ref,
and a clean control built from the real samples that yields nothing medium or higher."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import nbformat

from runbook_lib.analysis.plugin_rules import validate_files
from runbook_lib.demo.plugins import BREAK_SUBJECT, NEW_AGENT_SUBJECT
from runbook_lib.sources.plugins.files import collect_plugin_files
from tests.sources.plugins.gitrepo import commit, git, init

ROOT = Path(__file__).resolve().parents[2]
CLEAN = ROOT / "tests" / "data" / "plugins" / "clean"
PATHS = ".claude/agents,.claude/commands,.claude/skills,agentic"


def by_kind(findings: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for f in findings["findings"]:
        out.setdefault(f["kind"], []).append(f)
    return out


def sha_of(repo: Path, subject: str) -> str:
    return git(repo, "log", "--format=%H", f"--grep=^{subject}$")


def demo_params(demo: dict[str, Any]) -> dict[str, Any]:
    folder = Path(demo["folder"])
    values = demo["param_values"]
    return {"repo": str(folder / "plugins_repo"), "app_log": str(folder / "plugin_load.log"),
            "start": values["start"], "end": values["end"]}  # fmt: skip


def test_defaults_point_at_the_demo(demo: dict[str, Any]) -> None:
    nb = nbformat.read(str(ROOT / "notebooks" / "plugin_load.ipynb"), as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert 'repo: str = "demo/plugins_repo"' in params.source
    assert 'app_log: str = "demo/plugin_load.log"' in params.source
    assert f'plugin_paths: str = "{PATHS}"' in params.source and 'known_good: str = ""' in params.source
    assert (Path(demo["folder"]) / "params.yaml").read_text().count("plugin_paths: ") == 1


def test_demo_names_the_broken_agents_their_commits_and_the_rollback(
    run_flow: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    params = demo_params(demo)
    repo = Path(params["repo"])
    findings = run_flow("plugin_load", params)
    found = by_kind(findings)
    invalid = {f["numbers"]["file"]: f for f in found["plugin_invalid"]}
    assert set(invalid) == {".claude/agents/db-doctor.md", ".claude/agents/deploy-watcher.md"}
    doctor = invalid[".claude/agents/db-doctor.md"]
    assert (
        doctor["severity"] == "high"
        and doctor["numbers"]["line"] == 3
        and doctor["numbers"]["rule"] == "unquoted-colon"
    )
    assert doctor["numbers"]["culprit"] == sha_of(repo, BREAK_SUBJECT) and doctor["numbers"]["culprit_how"] == "broke"
    assert "Agent `db-doctor`" in doctor["summary"] and BREAK_SUBJECT in doctor["summary"]
    watcher = invalid[".claude/agents/deploy-watcher.md"]
    assert watcher["numbers"]["culprit"] == sha_of(repo, NEW_AGENT_SUBJECT)
    assert watcher["numbers"]["culprit_how"] == "introduced" and watcher["numbers"]["rule"] == "name-colon"
    good = git(repo, "rev-parse", f"{sha_of(repo, BREAK_SUBJECT)}^")
    assert findings["extra"]["known_good"] == good
    assert findings["extra"]["added_since"] == [".claude/agents/deploy-watcher.md"]
    history = found["plugin_history"][0]
    assert history["numbers"]["commits"] == 2 and "(walk)" in history["summary"]
    log = found["plugin_load_log"][0]
    assert log["severity"] == "high" and log["numbers"]["errors"] >= 5
    assert "db-doctor.md" in next(iter(log["numbers"]["messages"]))
    rollback = findings["extra"]["rollback"]
    assert rollback == f"git checkout --no-overlay {good[:12]} -- .claude/agents .claude/commands agentic"
    assert any(rollback in s and "deploy-watcher.md in place" in s for s in findings["next_steps"])
    # The kit showed the command and never ran it.
    assert (repo / ".claude/agents/deploy-watcher.md").exists() and git(repo, "status", "--porcelain") == ""

    # This test runs it, on a clone: the tree validates again and the new broken agent is gone.
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(clone))
    subprocess.run(shlex.split(rollback), cwd=clone, check=True, capture_output=True)
    restored = collect_plugin_files(str(clone), PATHS)
    assert validate_files(restored.frame) == [] and not (clone / ".claude/agents/deploy-watcher.md").exists()
    assert set(restored.frame["path"]) == set(
        git(repo, "ls-tree", "-r", "--name-only", good, "--", ".claude", "agentic").split()
    )
    # The runbook's plain checkout writes the old files back but keeps the added broken agent.
    plain = tmp_path / "plain"
    git(tmp_path, "clone", "-q", str(repo), str(plain))
    subprocess.run(["git", "checkout", good, "--", ".claude/"], cwd=plain, check=True, capture_output=True)
    left = validate_files(collect_plugin_files(str(plain), PATHS).frame)
    assert [(p.file, p.rule) for p in left] == [(".claude/agents/deploy-watcher.md", "name-colon")]


def test_explicit_known_good(run_flow: Any, demo: dict[str, Any]) -> None:
    params = demo_params(demo)
    first = git(Path(params["repo"]), "rev-list", "--max-parents=0", "HEAD")
    findings = run_flow("plugin_load", {**params, "known_good": first, "app_log": ""})
    history = by_kind(findings)["plugin_history"][0]
    assert history["numbers"]["known_good"] == first and history["numbers"]["commits"] == 3
    assert "(parameter)" in history["summary"]
    assert next(s for s in findings["sources"] if s["source"] == "plugin_load_log")["status"] == "skipped"


def test_clean_control_yields_nothing_medium_or_higher(run_flow: Any, tmp_path: Path) -> None:
    repo = init(tmp_path / "clean")
    shutil.copytree(CLEAN, repo, dirs_exist_ok=True)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "agents from the samples")
    commit(
        repo, {".claude/agents/extra.md": b"---\nname: extra\ndescription: Extra help.\n---\n\nHelp.\n"}, "add extra"
    )
    findings = run_flow("plugin_load", {"repo": str(repo), "plugin_paths": ".claude/agents,.claude/commands,plugins",
                                        "app_log": ""})  # fmt: skip
    severities = {f["severity"] for f in findings["findings"]}
    assert severities <= {"info", "low"}, findings["findings"]
    found = by_kind(findings)
    assert found["plugin_files"][0]["numbers"]["files"] == 10
    assert findings["extra"]["problems"] == [] and findings["extra"]["rollback"] == ""
    assert findings["extra"]["known_good"] == git(repo, "rev-parse", "HEAD")
