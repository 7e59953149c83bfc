"""A kernel started before the run is prepared (``runbook run``): the run uses it, with its
run folder set, it is ended whatever happens, and papermill's saves stay few but complete."""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.incident import record as incident
from runbook_lib.run import engine
from runbook_lib.run.runner import execute_notebook, run_flow
from runbook_lib.run.warm_kernel import WarmKernel
from tests.miniproject import make_project, write_notebook


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "kit")
    monkeypatch.setenv("RUNBOOK_HOME", str(root))
    return root


def _kernel_pid(kernel: WarmKernel) -> int:
    process = kernel.km.provisioner.process  # type: ignore[union-attr]
    return int(process.pid)


def test_a_warm_kernel_runs_the_flow_in_its_run_folder_and_is_ended(project: Path) -> None:
    inc = str(incident.create_incident("warm")["id"])
    with WarmKernel() as kernel:
        pid = _kernel_pid(kernel)
        result = run_flow("echo", inc, overrides=[("message", "warm hello")], kernel=kernel)
    assert result.status == "ok", result.error
    # findings.json is written where the kernel was told its run folder is, not a scratch folder
    assert json.loads((result.run_dir / "findings.json").read_text())["flow"] == "echo"
    assert "warm hello" in (result.run_dir / "report.html").read_text()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_bad_parameters_leave_no_warm_kernel_behind(project: Path) -> None:
    inc = str(incident.create_incident("warm bad")["id"])
    with pytest.raises(ParameterError, match="mesage"), WarmKernel() as kernel:
        pid = _kernel_pid(kernel)
        run_flow("echo", inc, overrides=[("mesage", "typo")], kernel=kernel)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not [p for p in (project / "reports" / inc).iterdir() if p.is_dir()]


def test_saves_are_throttled_but_the_last_one_is_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    writes: list[int] = []
    original = engine.ThrottledSaveManager._write

    def counting(self: engine.ThrottledSaveManager) -> None:
        original(self)
        writes.append(1)

    monkeypatch.setattr(engine.ThrottledSaveManager, "_write", counting)
    cells = [f"print({i})" for i in range(12)]
    notebook = write_notebook(tmp_path, "many", cells)
    output = tmp_path / "out.ipynb"
    status, error, _ = execute_notebook(notebook, output, {}, run_dir=tmp_path, cwd=tmp_path)
    assert (status, error) == ("ok", "")
    nb = json.loads(output.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    # papermill alone writes before and after every cell (2 per cell + 2); fast cells: far fewer
    assert 2 <= len(writes) < len(code)
    assert all(c["metadata"]["papermill"]["status"] == "completed" for c in code)
    assert "".join(code[-1]["outputs"][0]["text"]).strip() == "11"
    assert nb["metadata"]["papermill"]["end_time"]
