"""Shared fixtures: project paths, sample data, and executing a flow notebook for real."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import pg_cluster

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


#: The environment variable through which tests hand the shared cluster's DSN to the kit
#: (the kit takes the *name* of a variable, never a DSN, as a parameter).
PG_DSN_ENV = "RUNBOOK_TEST_PG_DSN"


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest) -> pg_cluster.PgCluster:
    """The session's throwaway PostgreSQL cluster, with an ``app`` role and a ``jobs`` table."""
    shared = pg_cluster.shared_cluster(request.config)
    with psycopg.connect(shared.dsn(), autocommit=True) as admin:
        pg_cluster.ensure_role(admin, "app")
        admin.execute("CREATE TABLE IF NOT EXISTS jobs (id int)")
        admin.execute("GRANT ALL ON jobs TO app")
    return shared


@pytest.fixture
def dsn_env(cluster: pg_cluster.PgCluster) -> Iterator[str]:
    """The name of an env var holding the cluster's DSN during the test; sessions closed after."""
    yield from pg_cluster.dsn_env_fixture(cluster, PG_DSN_ENV)
