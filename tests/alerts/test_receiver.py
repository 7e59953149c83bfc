"""``runbook serve`` as a real process: auth, refusals with quarantine, a burst across a
SIGTERM restart that loses nothing, bounded concurrency and a responsive /healthz."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from runbook_lib.store import read_json_object
from tests.alerts.conftest import ROOT, TOKEN, wait_idle
from tests.alerts.payload_factory import am_body

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _quarantined(home: Path) -> list[dict[str, Any]]:
    folder = home / "reports" / "_quarantine"
    return [read_json_object(p) for p in sorted(folder.glob("*.reason.json"))] if folder.is_dir() else []


def test_refusals_have_status_codes_and_quarantine_files(alerts_home: Path, receiver: Any) -> None:
    r = receiver()
    url = r.url + "/alerts"
    good = json.dumps(am_body("g1", ["a"])).encode()
    with httpx.Client(timeout=5) as http:
        assert http.get(r.url + "/healthz").json() == {"status": "ok"}
        # No or wrong credentials: 401 and nothing at all is written.
        assert http.post(url, content=good).status_code == 401
        wrong = http.post(url, content=good, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and TOKEN not in wrong.text
        assert http.post(url, content=good, auth=("am", "nope")).status_code == 401
        assert not list((alerts_home / "reports").glob("INC-*")) and not _quarantined(alerts_home)
        assert not list((alerts_home / "reports").glob("_spool/*.json"))
        cases = [
            (b"{not json", 400, "malformed JSON"),
            (b'{"version": "3", "status": "firing"}', 422, "unknown schema version '3'"),
            (b'{"version": "4", "status": "firing", "groupKey": "g", "alerts": []}', 422, "missing field 'alerts'"),
            (b"x" * (1 << 20 + 1), 413, "over 1048576"),
        ]
        for body, code, reason in cases:
            resp = http.post(url, content=body, headers=AUTH)
            assert resp.status_code == code and reason in resp.json()["error"], (body[:30], resp.text)
    reasons = [q["reason"] for q in _quarantined(alerts_home)]
    assert len(reasons) == 4 and all(any(c[2] in q for q in reasons) for c in cases)
    bodies = sorted((alerts_home / "reports" / "_quarantine").glob("*.body"))
    assert b"{not json" in [b.read_bytes() for b in bodies]
    assert r.stop() == 0
    assert TOKEN not in r.stderr()
    assert not list((alerts_home / "reports").glob("INC-*"))


def test_without_token_it_stays_on_loopback(alerts_home: Path) -> None:
    env = {"RUNBOOK_HOME": str(alerts_home), "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-m", "runbook_lib.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "refusing to listen on 0.0.0.0" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def _wait_running(home: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        texts = [p.read_text() for p in home.glob("reports/INC-*/*/run.json")]
        if any('"running"' in t and '"sleep_s"' in t for t in texts):  # a Slow run is in its notebook
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise AssertionError("no run started")


@pytest.mark.slow
def test_burst_across_sigterm_restart_loses_nothing(alerts_home: Path, receiver: Any) -> None:
    groups = {"api": "Slow", "web": "Quick"}  # api's runs take 4 s: one is surely in flight at SIGTERM
    bodies: list[bytes] = []
    for i in range(50):  # each group grows by one alert per post; every 5th post is an HA duplicate
        g = list(groups)[i % 2]
        instances = [f"{g}-{k}" for k in range(i // 2 + 1)]
        body = json.dumps(am_body(g, instances, alertname=groups[g])).encode()
        bodies.append(bodies[-2] if i % 5 == 4 else body)
    accepted: list[str] = []
    health: list[float] = []
    stop = threading.Event()
    current: dict[str, str] = {}

    def probe() -> None:
        with httpx.Client(timeout=5) as http:
            while not stop.is_set():
                if "url" in current:
                    t0 = time.monotonic()
                    try:
                        http.get(current["url"] + "/healthz").raise_for_status()
                        health.append(time.monotonic() - t0)
                    except httpx.TransportError:
                        pass  # between the two receivers
                time.sleep(0.05)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    post_s: list[float] = []
    try:
        for part, half in enumerate((bodies[:25], bodies[25:])):
            r = receiver()
            current["url"] = r.url
            with httpx.Client(timeout=5) as http:
                for body in half:
                    t0 = time.monotonic()
                    resp = http.post(r.url + "/alerts", content=body, headers=AUTH)
                    post_s.append(time.monotonic() - t0)
                    assert resp.status_code == 202, resp.text
                    accepted.append(resp.json()["id"])
                    time.sleep(0.04)
            if part == 0:
                _wait_running(alerts_home)
                current.pop("url")
                assert r.stop(signal.SIGTERM) == 0, r.stderr()
                assert list((alerts_home / "reports" / "_spool").glob("*.json"))  # spool kept
        wait_idle(alerts_home, timeout=120)
    finally:
        stop.set()
        prober.join()
    assert r.stop() == 0
    archived = {
        read_json_object(p)["id"]: p for p in (alerts_home / "reports").glob("INC-*/alerts/[0-9][0-9][0-9].json")
    }
    assert set(accepted) <= set(archived) and len(accepted) == 50
    incidents = sorted((alerts_home / "reports").glob("INC-*/incident.json"))
    assert len(incidents) == 2  # one per alert group
    events = [e["event"] for p in incidents for e in read_json_object(p)["timeline"]]
    assert sum("duplicate alert notification" in e for e in events) >= 10
    runs = [read_json_object(p) for p in (alerts_home / "reports").glob("INC-*/*/run.json")]
    statuses = sorted(r["status"] for r in runs)
    assert "interrupted" in statuses and statuses.count("ok") >= 2
    assert len(runs) < 50 / 2  # coalesced, not one run per post
    spans = [(pd.Timestamp(r["started_at"]), pd.Timestamp(r["finished_at"])) for r in runs]
    most = max(sum(s <= t < e for s, e in spans) for t, _ in spans)
    assert most <= 2  # --workers 2
    assert max(post_s) < 0.5 and health and max(health) < 1.0
