"""A batch run's kernel keeps no IPython history: the cells it ran, with the parameters
papermill injected, never reach the user's ``history.sqlite``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runbook_lib.run.runner import execute_notebook
from tests.miniproject import write_notebook


def test_a_run_writes_no_ipython_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ipython_dir = tmp_path / "ipython"
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))  # the kernel inherits it
    notebook = write_notebook(
        tmp_path,
        "history",
        ["from IPython import get_ipython\nprint(get_ipython().history_manager.enabled, message)"],
    )
    output = tmp_path / "out.ipynb"
    status, error, _ = execute_notebook(notebook, output, {"message": "secret-ish"}, run_dir=tmp_path, cwd=tmp_path)
    assert (status, error) == ("ok", "")
    printed = json.loads(output.read_text())["cells"][-1]["outputs"][0]["text"]
    assert "".join(printed).strip() == "False secret-ish"
    assert not list(ipython_dir.rglob("history.sqlite"))
