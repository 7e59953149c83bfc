"""Routes: first match wins, anchored regexes, label values typed and vetted like -p."""

from __future__ import annotations

from pathlib import Path

import pytest

from runbook_lib.alerts.payloads import parse_payload
from runbook_lib.alerts.routes import load_routes, overrides_for, route_for, severity_for
from runbook_lib.errors import ParameterError

ROOT = Path(__file__).resolve().parents[2]


def _n(labels: dict[str, str], annotations: dict[str, str] | None = None, status: str = "firing") -> object:
    alert = {"labels": labels, "annotations": annotations or {}, "startsAt": "2026-11-27T05:00:00Z"}
    if status == "resolved":
        alert["endsAt"] = "2026-11-27T05:30:00Z"
    return parse_payload({"version": "4", "status": status, "groupKey": "g", "commonLabels": labels, "alerts": [alert]})


def test_kit_routes_send_alerts_to_their_flows() -> None:
    routes = load_routes(ROOT / "parameters" / "routes.yaml")
    want = {
        "HighCPU": "high_cpu",
        "ContainerMemoryHigh": "memory_leak",
        "PostgresTooManyConnections": "db_connections",
        "Api429Burst": "api_rate_limit",
        "SecurityBruteForce": "security_alert",
        "HighErrorRate": "triage",
    }
    for alertname, flow in want.items():
        route = route_for(routes, {"alertname": alertname})
        assert route is not None and route.flows == (flow,), alertname


def test_match_re_is_anchored_and_values_are_typed(alerts_home: Path) -> None:
    routes = load_routes()
    cpu = route_for(routes, {"alertname": "HighCPU", "instance": "web-1"})
    assert cpu is not None and cpu.name == "cpu"
    assert route_for(routes, {"alertname": "HighCPU", "instance": "db-web-1"}).name == "default"  # type: ignore[union-attr]
    n = _n({"alertname": "HighCPU", "instance": "web-1", "job": "api"}, {"summary": "cpu at 99%"})
    pairs = dict(overrides_for(cpu, n, "alert_probe"))  # type: ignore[arg-type]
    assert pairs["target"] == "api" and pairs["symptoms"] == "cpu at 99%" and pairs["sleep_s"] == "0"
    assert pairs["start"] == "2026-11-27T04:00:00+00:00" and pairs["end"] == "now"
    assert severity_for(cpu, n) == "P2"  # type: ignore[arg-type]
    default = route_for(routes, {"alertname": "X"})
    assert severity_for(default, _n({"alertname": "X", "severity": "critical"})) == "P1"  # type: ignore[arg-type]


def test_hostile_label_values_stay_plain_strings(alerts_home: Path) -> None:
    routes = load_routes()
    hostile = '../../etc/passwd"; import os; os.system("touch /tmp/pwned") #'
    n = _n({"alertname": "X", "job": hostile})
    pairs = dict(overrides_for(route_for(routes, {"alertname": "X"}), n, "alert_probe"))  # type: ignore[arg-type]
    assert pairs["target"] == hostile  # a value, handed to papermill as a literal
    with pytest.raises(ParameterError, match="password or token"):
        overrides_for(
            route_for(routes, {"alertname": "X"}),  # type: ignore[arg-type]
            _n({"alertname": "X", "job": "postgresql://u:hunter2@db/x"}),  # type: ignore[arg-type]
            "alert_probe",
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routes:\n  - name: a\n    flows: [nope]\n", "route 'a': unknown flow 'nope'"),
        ("routes:\n  - name: a\n    flows: [alert_probe]\n    colour: red\n", "route 'a': unknown key"),
        ("routes:\n  - name: b\n    flows: [alert_probe]\n    parameters: {bogus: 1}\n", "parameter 'bogus'"),
        ("routes:\n  - name: c\n    flows: [alert_probe]\n    parameters: {sleep_s: fast}\n", "expected float"),
        ("routes:\n  - name: d\n    flows: [alert_probe]\n    match_re: {a: '('}\n", "route 'd': bad regex"),
        ("routes:\n  - name: e\n    flows: [alert_probe]\n    window: {before: soon}\n", "route 'e': bad duration"),
        ("routes:\n  - name: f\n    flows: [alert_probe]\n    severity: P9\n", "route 'f': must be one of"),
        ("routes: []\n", "non-empty list"),
    ],
)
def test_invalid_routes_file_is_refused_in_one_line(alerts_home: Path, text: str, message: str) -> None:
    path = alerts_home / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        load_routes(path)
    assert message in str(err.value) and "\n" not in str(err.value)
