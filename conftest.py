"""Repository-level pytest setup: nbval runs the stripped notebooks with their defaults,
which read the demo incident, so make sure a fresh one exists first."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
DEMO_MARKER = ROOT / "demo" / ".runbook-demo"
#: The notebooks' default window is the last two hours; regenerate a demo older than this.
MAX_DEMO_AGE_S = 30 * 60


@pytest.fixture(scope="session", autouse=True)
def fresh_demo() -> None:
    if DEMO_MARKER.exists() and time.time() - DEMO_MARKER.stat().st_mtime < MAX_DEMO_AGE_S:
        return
    from runbook_lib.demo import generate_demo

    generate_demo(out=ROOT / "demo")
