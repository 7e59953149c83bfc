"""Fixtures for flow tests: a kit home with its own reports/ and a generated demo incident."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runbook_lib.demo import generate_demo

ROOT = Path(__file__).resolve().parents[2]


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


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo incident generated once per session into a temp folder (absolute paths)."""
    folder = tmp_path_factory.mktemp("demo") / "demo"
    summary = generate_demo(out=folder)
    params = {
        "access_log": str(folder / "access.log"),
        "app_log": str(folder / "app.log"),
        "pg_log": str(folder / "postgresql.log"),
        "repo": str(folder / "repo"),
        "start": (summary["end"] - pd.Timedelta(hours=2)).isoformat(),
        "end": summary["end"].isoformat(),
    }
    yield {**summary, "param_values": params}
    os.environ.pop("RUNBOOK_TEST_DSN", None)
