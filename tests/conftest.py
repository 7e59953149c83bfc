"""Shared fixtures: project paths, sample data, and executing a flow notebook for real."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
NOTEBOOKS = ROOT / "notebooks"


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``: recorded real-world inputs (see tests/data/PROVENANCE.md)."""
    return DATA


def execute_flow(flow: str, parameters: dict[str, Any], run_dir: Path, *, timeout: int = 300) -> dict[str, Any]:
    """Execute ``notebooks/<flow>.ipynb`` with papermill into *run_dir*; return findings.json.

    The kernel runs with the project root as cwd and ``RUNBOOK_RUN_DIR`` pointing at
    *run_dir*, exactly as the runner does, so the notebook's ``record_findings`` lands there.
    """
    import papermill

    run_dir.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("RUNBOOK_RUN_DIR")
    os.environ["RUNBOOK_RUN_DIR"] = str(run_dir)
    try:
        papermill.execute_notebook(
            str(NOTEBOOKS / f"{flow}.ipynb"),
            str(run_dir / "report.ipynb"),
            parameters=parameters,
            cwd=str(ROOT),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
        )
    finally:
        if old is None:
            os.environ.pop("RUNBOOK_RUN_DIR", None)
        else:
            os.environ["RUNBOOK_RUN_DIR"] = old
    return json.loads((run_dir / "findings.json").read_text(encoding="utf-8"))


@pytest.fixture
def run_flow(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Call ``run_flow("triage", {...})`` to execute a notebook and get its findings."""

    def _run(flow: str, parameters: dict[str, Any], **kw: Any) -> dict[str, Any]:
        return execute_flow(flow, parameters, tmp_path / f"run-{flow}", **kw)

    return _run
