"""Archived HTML reports are safe to open: offline, script-free, hostile text shown as text.

The Chromium test opens a real report whose log text carries ``<script>`` and
``<img onerror>`` payloads aimed at a beacon server on loopback, with every other host
unresolvable, and checks that no script ran and no request reached the beacon. A control
page with the same payload unescaped proves the detector works.
"""

from __future__ import annotations

import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runbook_lib.incident import record as incident
from runbook_lib.run.runner import run_flow
from tests.miniproject import make_project

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "kit")
    monkeypatch.setenv("RUNBOOK_HOME", str(root))
    return root


class _Beacon(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def beacon() -> Iterator[tuple[int, list[str]]]:
    _Beacon.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Beacon)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], _Beacon.hits
    finally:
        server.shutdown()
        server.server_close()


def _hostile_report(project: Path, port: int) -> Path:
    inc = str(incident.create_incident("hostile")["id"])
    result = run_flow("hostile", inc, overrides=[("level", str(port))])
    assert result.status == "ok", result.error
    return result.report


def test_report_has_no_scripts_no_remote_resources_and_escapes_payloads(project: Path) -> None:
    page = _hostile_report(project, 9).read_text()
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "default-src 'none'" in page
    assert not re.search(r"<script\b", page, re.I), "the report must not contain any script element"
    assert not re.search(r"<(link|img|iframe)[^>]+(src|href)=[\"']?https?:", page, re.I)
    assert "require.js" not in page and "mathjax" not in page.lower()
    assert "&lt;script&gt;" in page  # the payload is there, as text
    assert not re.search(r"<img[^>]*onerror", page, re.I)
    assert "\x1b" not in page
    assert "A" * 5000 not in page  # very long lines are cut
    # Tables and headings survive sanitising as real markup (not escaped into text).
    assert "<table" in page and "&lt;table" not in page and "&lt;style" not in page and "&lt;h1" not in page


def _dump_dom(url: str, tmp_path: Path) -> str:
    assert CHROMIUM, "chromium must be installed (scripts/apt-packages.txt)"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--virtual-time-budget=3000",
        "--dump-dom",
        url,
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_chromium_runs_no_script_and_makes_no_request(
    project: Path, beacon: tuple[int, list[str]], tmp_path: Path
) -> None:
    port, hits = beacon
    report = _hostile_report(project, port)
    dom = _dump_dom(report.as_uri(), tmp_path)
    assert "payload" in dom  # the page really rendered
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert hits == []

    # Control: the same payload unescaped, without our template, does run and does call out.
    control = tmp_path / "control.html"
    control.write_text(
        f'<html><body><p>x</p><script>document.body.setAttribute("data-pwned", "1")</script>'
        f'<img src="http://127.0.0.1:{port}/beacon"></body></html>'
    )
    control_dom = _dump_dom(control.as_uri(), tmp_path)
    assert 'data-pwned="1"' in control_dom
    assert hits, "the beacon should have seen the control page's request"
