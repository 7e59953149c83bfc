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


def ensure_fresh_demo() -> None:
    """Generate the demo incident unless a fresh one is there (scripts/test.sh calls this
    once before its two pytest processes start, so that they never write it at once)."""
    if DEMO_MARKER.exists() and time.time() - DEMO_MARKER.stat().st_mtime < MAX_DEMO_AGE_S:
        return
    from runbook_lib.demo import generate_demo

    generate_demo(out=ROOT / "demo")


@pytest.fixture(scope="session", autouse=True)
def fresh_demo() -> None:
    ensure_fresh_demo()
