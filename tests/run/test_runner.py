"""The runner against real papermill runs of tiny notebooks in a throwaway project."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.incident import record as incident
from runbook_lib.run.runner import run_flow
from tests.miniproject import make_project


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "kit")
    monkeypatch.setenv("RUNBOOK_HOME", str(root))
    return root


def _new(title: str = "test incident") -> str:
    return str(incident.create_incident(title)["id"])


def test_ok_run_archives_everything(project: Path) -> None:
    inc = _new()
    result = run_flow(
        "echo", inc, overrides=[("message", "hi there"), ("level", "3"), ("enabled", "yes"), ("items", "[a, b]")]
    )
    assert result.status == "ok", result.error
    folder = result.run_dir
    assert folder.parent == project / "reports" / inc
    assert folder.name.startswith("01-echo-")
    for name in ("report.ipynb", "report.html", "findings.json", "parameters.json", "inputs.json", "run.json"):
        assert (folder / name).is_file(), name
    findings = json.loads((folder / "findings.json").read_text())
    assert findings["findings"][0]["summary"] == "got hi there 3 0.5 True ['a', 'b']"
    assert findings["parameters"]["message"] == "hi there"
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "ok" and run["elapsed_s"] > 0
    record = incident.load_incident(inc)
    assert record["runs"][0]["folder"] == folder.name
    assert any(e.get("run") == folder.name for e in record["timeline"])
    index = (project / "reports" / inc / "index.html").read_text()
    assert f"{folder.name}/report.html" in index and "got hi there" in index


def test_runs_never_overwrite(project: Path) -> None:
    inc = _new()
    first = run_flow("echo", inc)
    second = run_flow("echo", inc)
    assert first.run_dir != second.run_dir
    assert second.run_dir.name.startswith("02-echo-")
    assert (first.run_dir / "report.html").exists() and (second.run_dir / "report.html").exists()
    assert len(incident.load_incident(inc)["runs"]) == 2


def test_failed_run_is_archived_and_names_the_cell(project: Path) -> None:
    inc = _new()
    result = run_flow("fails", inc)
    assert result.status == "failed"
    assert "RuntimeError: boom in the analysis" in result.error
    assert re.match(r"cell \d+ \(setup\): ", result.error)  # the section heading above the failing cell
    run = json.loads((result.run_dir / "run.json").read_text())
    assert run["status"] == "failed"
    assert (result.run_dir / "report.html").exists()
    # The notebook recorded its findings before failing: they are kept, not replaced.
    findings = json.loads((result.run_dir / "findings.json").read_text())
    assert findings["findings"][0]["kind"] == "echo"
    assert "failed" in (project / "reports" / inc / "index.html").read_text()


def test_cell_timeout_is_recorded_as_timed_out(project: Path) -> None:
    inc = _new()
    started = time.monotonic()
    result = run_flow("slow", inc, cell_timeout_s=3)
    assert time.monotonic() - started < 45
    assert result.status == "timed out"
    assert re.match(r"cell \d+ \(slow\): a cell ran longer than 3 s", result.error)
    findings = json.loads((result.run_dir / "findings.json").read_text())
    assert findings["extra"]["status"] == "timed out"
    assert findings["findings"][0]["severity"] == "unknown"


def test_sigterm_marks_the_run_interrupted(project: Path) -> None:
    inc = _new()
    env = {**os.environ, "RUNBOOK_HOME": str(project)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.cli", "run", "slow", "--incident", inc],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    folder = project / "reports" / inc
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(folder.glob("01-slow-*/report.ipynb")):
        time.sleep(0.2)
    time.sleep(2)  # let the kernel start the sleeping cell
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, (out, err)
    run = json.loads(next(folder.glob("01-slow-*/run.json")).read_text())
    assert run["status"] == "interrupted"
    assert "interrupted" in err


def test_unknown_parameter_is_an_error_before_anything_runs(project: Path) -> None:
    inc = _new()
    with pytest.raises(ParameterError, match="mesage"):
        run_flow("echo", inc, overrides=[("mesage", "typo")])
    assert not [p for p in (project / "reports" / inc).iterdir() if p.is_dir()]


def test_parameter_carrying_a_password_is_refused(project: Path) -> None:
    inc = _new()
    with pytest.raises(ParameterError, match="password") as err:
        run_flow("echo", inc, overrides=[("message", "postgresql://app:hunter2@db/prod")])
    assert "hunter2" not in str(err.value)
    with pytest.raises(ParameterError):
        run_flow("echo", inc, overrides=[("message", "host=db password=hunter2")])


def test_bad_type_is_a_parameter_error(project: Path) -> None:
    with pytest.raises(ParameterError, match="level"):
        run_flow("echo", _new(), overrides=[("level", "many")])


def test_layers_of_parameters(project: Path, tmp_path: Path) -> None:
    (project / "parameters" / "defaults.yaml").write_text("message: from-site\nratio: 0.25\nunrelated_site_key: 1\n")
    override = tmp_path / "inc.yaml"
    override.write_text("message: from-file\nlevel: 7\n")
    inc = _new()
    result = run_flow("echo", inc, files=[override], overrides=[("level", "9")])
    summary = json.loads((result.run_dir / "findings.json").read_text())["findings"][0]["summary"]
    assert summary == "got from-file 9 0.25 False []"


def test_file_with_a_key_no_flow_knows_is_refused(project: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("mesage: typo\n")
    with pytest.raises(ParameterError) as err:
        run_flow("echo", _new(), files=[bad])
    assert "bad.yaml" in str(err.value) and "mesage" in str(err.value)
