"""``runbook validate-plugins``: output format, exit codes (0 clean, 1 errors or --strict
warnings, 2 bad input), run as the real command on real trees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runbook_lib.cli import main

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "plugins"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "validate-plugins", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_clean_tree_exits_0(tmp_path: Path) -> None:
    shutil.copytree(DATA / "clean", tmp_path / "repo")
    done = run(".claude", "plugins", "--strict", cwd=tmp_path / "repo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == "" and "9 files checked: 0 error(s), 0 warning(s)" in done.stderr


def test_broken_tree_prints_file_line_level_message_and_exits_1(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(DATA / "clean", repo)
    agent = repo / ".claude/agents/sre-engineer.md"
    agent.write_bytes(agent.read_bytes().replace(b"name: sre-engineer", b"name: sre:engineer", 1))
    manifest = repo / "plugins/incident-response/.claude-plugin/plugin.json"
    manifest.write_text('{\n  "name": "incident-response",\n  "agents": "./agents/"\n}\n', encoding="utf-8")
    done = run(".claude/agents", "plugins", cwd=repo)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        ".claude/agents/sre-engineer.md:2: error: name 'sre:engineer' contains ':' (reserved for plugin namespaces)",
        "plugins/incident-response/.claude-plugin/plugin.json:3: error: 'agents' entry './agents/' must name a .md "
        "file, not a directory",
    ]


def test_warnings_pass_unless_strict(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(DATA / "warning")
    assert main(["validate-plugins", "commands"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("commands/smart-debug.md:1: warning: no 'description'")
    assert main(["validate-plugins", "commands", "--strict"]) == 1


def test_bad_input_exits_2(tmp_path: Path) -> None:
    done = run("nope", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip() == "ParameterError: PATH: no such file or folder: nope"
    (tmp_path / "empty").mkdir()
    done = run("empty", cwd=tmp_path)
    assert done.returncode == 2 and "no agent, command, skill or plugin manifest under empty" in done.stderr
    assert "Traceback" not in done.stderr
