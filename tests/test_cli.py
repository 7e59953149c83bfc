"""The `runbook` command: concurrent `new`, `record pg`, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.miniproject import make_project


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_project(tmp_path / "kit")
    monkeypatch.setenv("RUNBOOK_HOME", str(root))
    return root


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "runbook_lib.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def test_concurrent_new_commands_get_distinct_ids(home: Path) -> None:
    procs = [_cli("new", "--title", f"incident {i}") for i in range(6)]
    ids = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        ids.append(out.strip())
    assert len(set(ids)) == 6
    for inc in ids:
        record = json.loads((home / "reports" / inc / "incident.json").read_text())
        assert record["id"] == inc and (home / "reports" / inc / "index.html").exists()


def test_record_pg_samples_into_the_incident(home: Path) -> None:
    new = _cli("new", "--title", "db")
    inc = new.communicate(timeout=60)[0].strip()
    env = {"RUNBOOK_TEST_REC_DSN": "host=127.0.0.1 port=5432 user=postgres dbname=postgres"}
    rec = _cli(
        "record",
        "pg",
        "--incident",
        inc,
        "--pg-dsn-env",
        "RUNBOOK_TEST_REC_DSN",
        "--duration",
        "1.2",
        "--interval",
        "0.4",
        env=env,
    )
    out, err = rec.communicate(timeout=60)
    assert rec.returncode == 0, err
    path = Path(out.strip())
    assert path.parent == home / "reports" / inc / "recordings"
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    samples = {r["rows"][0]["sampled_at"] for r in records if r["type"] == "sample" and r["rows"]}
    assert len(samples) >= 2
    timeline = json.loads((home / "reports" / inc / "incident.json").read_text())["timeline"]
    assert [e["kind"] for e in timeline][-2:] == ["recording", "recording"]


def test_record_without_a_database_is_one_line(home: Path) -> None:
    rec = _cli("record", "pg", "--duration", "1")
    _, err = rec.communicate(timeout=60)
    assert rec.returncode == 1 and err.count("\n") == 1 and err.startswith("SourceUnavailable")


def test_show_unknown_incident_is_a_parameter_error(home: Path) -> None:
    p = _cli("show", "INC-2020-01-01-001")
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2 and "runbook new" in err and err.count("\n") == 1


def test_lab_serves_the_notebooks(tmp_path: Path) -> None:
    import socket
    import time

    import httpx

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = _cli(
        "lab",
        "--no-browser",
        "--port",
        str(port),
        "--",
        "--IdentityProvider.token=rbtest",
        "--ServerApp.ip=127.0.0.1",
        env={"JUPYTER_RUNTIME_DIR": str(tmp_path / "rt"), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")},
    )
    try:
        listing = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and listing is None and proc.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/contents/notebooks", params={"token": "rbtest"}, timeout=2)
                if r.status_code == 200:
                    listing = r.json()
            except httpx.TransportError:
                time.sleep(0.5)
        assert listing is not None, proc.stderr.read() if proc.poll() is not None else "lab did not answer"
        names = {item["name"] for item in listing["content"]}
        assert "triage.ipynb" in names
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
