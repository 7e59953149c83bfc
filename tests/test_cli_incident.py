"""The incident-life commands through the real CLI: one-line errors, exit 2, nothing written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def runbook(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "RUNBOOK_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", *args], capture_output=True, text=True, env=env, timeout=60
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "reports").mkdir()
    return tmp_path


def test_new_back_dated_then_status_and_notify(home: Path) -> None:
    new = runbook(home, "new", "--title", "API down", "--severity", "P0", "--started-at", "2025-10-24T13:58:00Z",
                  "--detected-at", "2025-10-24T14:02:00Z", "--commander", "Alice")  # fmt: skip
    assert new.returncode == 0, new.stderr
    inc = new.stdout.strip()
    record = json.loads((home / "reports" / inc / "incident.json").read_text())
    assert record["milestones"] == {
        "impact_started_at": "2025-10-24T13:58:00+00:00",
        "detected_at": "2025-10-24T14:02:00+00:00",
    }
    assert record["commander"] == "Alice" and record["severity_history"][0]["to"] == "P0"
    done = runbook(home, "status", inc, "resolved", "--at", "2025-10-24T14:40:00Z")
    assert done.returncode == 0 and "resolved" in done.stdout
    notify = runbook(home, "notify", inc, "--kind", "resolution", "--sent")
    assert notify.returncode == 0, notify.stderr
    assert "Subject: RESOLVED: [P0] API down" in notify.stdout and "Total Duration: 0:38" in notify.stdout
    # The escalation clock starts at impact (13:58): L1→L2 was due 14:13, resolved only at 14:40.
    assert "L1 → L2 (15 minutes): 2025-10-24 14:13 UTC [OVERDUE]" in notify.stdout
    record = json.loads((home / "reports" / inc / "incident.json").read_text())
    assert record["timeline"][-1]["kind"] == "communication" or any(
        e["kind"] == "communication" for e in record["timeline"]
    )


@pytest.mark.parametrize(
    "args",
    [
        ("new", "--title", "x", "--started-at", "2025-10-24T15:00:00Z", "--detected-at", "2025-10-24T14:00:00Z"),
        ("new", "--title", "x", "--detected-at", "tomorrow-ish"),
        ("status", "../x", "resolved"),
        ("status", "INC-2025-10-24-042", "resolved"),
        ("notify", "INC-2025-10-24-042", "--kind", "notification"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(home: Path, args: tuple[str, ...]) -> None:
    done = runbook(home, *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("ParameterError: ") and done.stderr.count("\n") == 1
    assert list((home / "reports").iterdir()) == [] and not (home / "x").exists()
