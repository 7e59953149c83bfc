"""Shared fixtures: project paths, sample data, and executing a flow notebook for real."""

from __future__ import annotations

import json
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
def kit_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root sharing the real notebooks/parameters but with empty reports/."""
    home = tmp_path / "kit"
    home.mkdir()
    for name in ("notebooks", "parameters"):
        (home / name).symlink_to(ROOT / name)
    (home / "reports").mkdir()
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    return home


@pytest.fixture
def data_dir() -> Path:
    """``tests/data``: recorded real-world inputs (see tests/data/PROVENANCE.md)."""
    return DATA


def execute_flow(flow: str, parameters: dict[str, Any], run_dir: Path, *, timeout: int = 300) -> dict[str, Any]:
    """Execute ``notebooks/<flow>.ipynb`` into *run_dir* with the runner's own execute step
    (kernel in the project root, ``RUNBOOK_RUN_DIR`` = *run_dir*) and return findings.json;
    a failed cell fails the test with the runner's one-line error."""
    from runbook_lib.run.runner import execute_notebook

    run_dir.mkdir(parents=True, exist_ok=True)
    status, error, _ = execute_notebook(
        NOTEBOOKS / f"{flow}.ipynb",
        run_dir / "report.ipynb",
        parameters,
        run_dir=run_dir,
        cell_timeout_s=timeout,
        cwd=ROOT,
    )
    assert status == "ok", f"{flow} {status}: {error}"
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
