"""Fixtures for flow tests: a kit home with its own reports/ and a generated demo incident."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from runbook_lib.demo import generate_demo


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
