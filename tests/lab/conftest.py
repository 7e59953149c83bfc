"""Browser tests of the notebooks: one JupyterLab server and one headless Chromium per session.

The server's root is a temporary kit home (notebooks/, parameters/, a freshly generated demo
incident, reports/); a test writes a copy of a flow notebook with the defaults it needs into
it (as a user edits the parameters cell) and drives it through the real JupyterLab UI.
Screenshots land in ``test-artifacts/lab/<test>/`` at the repo root (git-ignored).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
from playwright.sync_api import BrowserContext, Playwright, sync_playwright

from runbook_lib.demo import generate_demo
from runbook_lib.incident.record import create_incident
from tests.lab.driver import LabPage
from tests.lab.notebooks import write_copy
from tests.lab.server import LabServer

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "lab"
CHROMIUM = "/usr/bin/chromium"
#: As root there is no sandbox; the rest keeps Chromium off the network and quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The real PostgreSQL of the test machine (trust auth); the kernel gets it through the *name*
#: of an environment variable, as the kit takes DSNs, never as a parameter value.
LAB_PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
LAB_PG_DSN_ENV = "RUNBOOK_LAB_PG_DSN"
#: Wide enough that tables and the toolbar are not squeezed in the screenshots.
VIEWPORT = {"width": 1400, "height": 1000}


@dataclass
class LabKit:
    """The temporary kit home the server serves, and what was generated in it."""

    root: Path
    demo: dict[str, Any]
    incident_id: str

    def notebook(self, flow: str, name: str, values: dict[str, Any], *, interactive: bool | None = None) -> str:
        """Write ``notebooks/<name>.ipynb``: *flow*'s notebook with *values* as defaults; return
        its path relative to the server root."""
        dest = self.root / "notebooks" / f"{name}.ipynb"
        write_copy(ROOT / "notebooks" / f"{flow}.ipynb", dest, values, interactive=interactive)
        return dest.relative_to(self.root).as_posix()

    def window(self) -> dict[str, str]:
        """The demo incident's two-hour window, as the demo's params.yaml gives it."""
        end = self.demo["end"]
        return {"start": (end - pd.Timedelta(hours=2)).isoformat(), "end": end.isoformat()}


@pytest.fixture(scope="session")
def lab_kit(tmp_path_factory: pytest.TempPathFactory) -> LabKit:
    root = tmp_path_factory.mktemp("labroot")
    (root / "notebooks").mkdir()
    shutil.copytree(ROOT / "parameters", root / "parameters")
    (root / "reports").mkdir()
    summary = generate_demo(out=root / "demo")
    record = create_incident("Browser test incident", root=root / "reports", commander="lab-test")
    return LabKit(root=root, demo=summary, incident_id=record["id"])


@pytest.fixture(scope="session")
def lab_server(lab_kit: LabKit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(
        root=lab_kit.root, home=tmp_path_factory.mktemp("jupyter"), env_extra={LAB_PG_DSN_ENV: LAB_PG_DSN}
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """Headless Debian Chromium with a fresh profile (Playwright's own browsers are not used)."""
    context = playwright_driver.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("chromium-profile")),
        executable_path=CHROMIUM,
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,  # type: ignore[arg-type]
    )
    try:
        yield context
    finally:
        context.close()


def _artifact_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder = ARTIFACTS / name
    shutil.rmtree(folder, ignore_errors=True)
    return folder


@pytest.fixture
def lab(
    browser: BrowserContext, lab_server: LabServer, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], LabPage]]:
    """``lab(relpath)`` opens a notebook in a new tab and waits for its kernel; the tab and
    its kernel are closed after the test, with a last screenshot."""
    pages: list[LabPage] = []
    folder = _artifact_dir(request)

    def _open(relpath: str) -> LabPage:
        page = LabPage(browser.new_page(), folder)
        pages.append(page)
        page.open(lab_server.notebook_url(relpath))
        return page

    yield _open
    for page in pages:
        try:
            page.screenshot("zz-last")
        finally:
            page.page.close()
    for session in lab_server.api("/api/sessions"):  # type: ignore[union-attr]
        lab_server.delete(f"/api/sessions/{session['id']}")


@pytest.fixture
def sessions() -> Iterator[Callable[..., psycopg.Connection[Any]]]:
    """``sessions(name)`` opens an idle session with that application_name; all closed after."""
    opened: list[psycopg.Connection[Any]] = []

    def _open(name: str, *, user: str = "postgres") -> psycopg.Connection[Any]:
        conn = psycopg.connect(LAB_PG_DSN, user=user, application_name=name, autocommit=True, connect_timeout=5)
        opened.append(conn)
        return conn

    yield _open
    for conn in opened:
        conn.close()
