"""End to end with the real Alertmanager (Debian prometheus-alertmanager) on loopback:
its webhook, with bearer credentials, points at ``runbook serve``. An alert posted to its
API opens an incident and archives the routed flow's report; a second alert of the same
group joins it and re-runs the flow; resolving both resolves the incident."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from runbook_lib.store import read_json_object
from tests.alerts.conftest import TOKEN, alerts_home, receiver  # noqa: F401 - fixtures
from tests.net import free_loopback_port

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(webhook_url: str) -> str:
        port = free_loopback_port()
        config = {
            "route": {
                "receiver": "runbook",
                "group_by": ["alertname"],
                "group_wait": "1s",
                "group_interval": "2s",
                "repeat_interval": "1h",
            },
            "receivers": [
                {
                    "name": "runbook",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {"authorization": {"type": "Bearer", "credentials": TOKEN}},
                        }
                    ],
                }
            ],
        }
        (tmp_path / "am.yml").write_text(json.dumps(config), encoding="utf-8")
        log = open(tmp_path / "am.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={tmp_path / 'am.yml'}",
                f"--storage.path={tmp_path / 'am-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=log,
        )
        procs.append(proc)
        logs.append(log)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    return url
            except httpx.TransportError:
                time.sleep(0.2)
        raise AssertionError((tmp_path / "am.log").read_text())

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)
    for log in logs:
        log.close()


def _post_alert(am: str, instance: str, *, ends: pd.Timestamp | None = None) -> None:
    alert: dict[str, Any] = {
        "labels": {"alertname": "Quick", "instance": instance, "job": "checkout", "severity": "warning"},
        "annotations": {"summary": "checkout is slow"},
        "startsAt": (pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)).isoformat(),
    }
    if ends is not None:
        alert["endsAt"] = ends.isoformat()
    httpx.post(am + "/api/v2/alerts", json=[alert], timeout=5).raise_for_status()


def _wait(check: Callable[[], Any], timeout: float = 150) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {check.__doc__}")


@pytest.mark.slow
def test_alertmanager_opens_joins_and_resolves_an_incident(
    alerts_home: Path,  # noqa: F811
    receiver: Any,  # noqa: F811
    alertmanager: Callable[[str], str],
) -> None:
    r = receiver()
    am = alertmanager(r.url + "/alerts")
    reports = alerts_home / "reports"

    def ok_runs() -> list[Path]:
        """the routed flow's runs finished"""
        return [p.parent for p in reports.glob("INC-*/*/run.json") if read_json_object(p)["status"] == "ok"]

    _post_alert(am, "web-1")
    first = _wait(ok_runs)
    incident_dir = first[0].parent
    assert (first[0] / "report.html").is_file()
    record = read_json_object(incident_dir / "incident.json")
    assert record["title"] == "Quick: checkout is slow" and record["severity"] == "P3"  # severity=warning
    assert json.loads((first[0] / "findings.json").read_text())["parameters"]["target"] == "checkout"
    assert read_json_object(incident_dir / "alerts" / "001.json")["payload"]["version"] == "4"

    _post_alert(am, "web-2")  # same group (alertname): joins the incident and re-runs
    _wait(lambda: len(ok_runs()) >= 2)
    assert len(list(reports.glob("INC-*/incident.json"))) == 1

    ended = pd.Timestamp.now(tz="UTC")
    _post_alert(am, "web-1", ends=ended)
    _post_alert(am, "web-2", ends=ended)

    def resolved() -> bool:
        """resolved_at recorded"""
        return "resolved_at" in read_json_object(incident_dir / "incident.json")["milestones"]

    _wait(resolved)
    _wait(lambda: len(ok_runs()) >= 3)  # the default route's closing run
    record = read_json_object(incident_dir / "incident.json")
    assert record["status"] != "Investigating"
    payloads = sorted((incident_dir / "alerts").glob("[0-9][0-9][0-9].json"))
    assert read_json_object(payloads[-1])["payload"]["status"] == "resolved"
    assert len(list(reports.glob("INC-*/incident.json"))) == 1
    assert r.stop() == 0
    assert TOKEN not in r.stderr()
