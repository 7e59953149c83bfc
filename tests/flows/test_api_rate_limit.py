"""The api_rate_limit notebook, executed for real on generated logs (tests/weblog.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.weblog import generate

FLOW = "api_rate_limit"


@pytest.mark.slow
def test_storm_and_upstream_quota_are_named(run_flow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = generate(seed=21, incidents=("storm", "upstream"))
    findings = run_flow(FLOW, log.flow_params(tmp_path / "logs"))
    assert findings["flow"] == FLOW
    assert {s["source"]: s["status"] for s in findings["sources"]} == {"access_log": "ok", "app_log": "ok"}
    by_kind = {f["kind"]: f for f in findings["findings"]}
    limited = by_kind["rate_limited_requests"]
    assert limited["severity"] == "high"
    assert limited["numbers"]["top_endpoint"] == log.storm_endpoint
    assert sorted(limited["numbers"]["driving_clients"]) == sorted(log.storm_ips)
    assert f"`{log.storm_endpoint}`" in limited["summary"]
    assert sorted(by_kind["request_bursts"]["numbers"]["clients"]) == sorted(log.storm_ips)
    assert sorted(by_kind["retry_storm"]["numbers"]["clients"]) == sorted(log.storm_ips)
    quota = by_kind["upstream_quota"]
    assert quota["severity"] == "high" and log.upstream_host in quota["summary"]
    assert "limit_req_zone $binary_remote_addr" in findings["extra"]["limit_req_suggestion"]
    assert any(log.storm_endpoint in step for step in findings["next_steps"])


@pytest.mark.slow
def test_control_log_is_quiet_and_a_missing_app_log_is_unknown(run_flow, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    log = generate(seed=21, incidents=())
    findings = run_flow(FLOW, log.flow_params(tmp_path / "logs", app_log=str(tmp_path / "missing-app.log")))
    statuses = {s["source"]: s["status"] for s in findings["sources"]}
    assert statuses == {"access_log": "ok", "app_log": "unavailable"}
    severities = {f["kind"]: f["severity"] for f in findings["findings"]}
    # Quiet on normal traffic (a few stray 429s included)...
    assert {k: v for k, v in severities.items() if k != "upstream_quota"} == {
        "rate_limited_requests": "info",
        "request_bursts": "info",
        "retry_storm": "info",
    }, findings["findings"]
    # ...but "is an upstream limiting us?" cannot be answered without the app log.
    assert severities["upstream_quota"] == "unknown"
    assert any("could not be read" in step for step in findings["next_steps"])


@pytest.mark.slow
def test_demo_incident_storm_on_search(run_flow, demo) -> None:  # type: ignore[no-untyped-def]
    """The bundled demo (runbook_lib.demo): clients hammer /api/search into 429s."""
    values = {k: demo["param_values"][k] for k in ("access_log", "app_log", "start", "end")}
    findings = run_flow(FLOW, values)
    by_kind = {f["kind"]: f for f in findings["findings"]}
    limited = by_kind["rate_limited_requests"]
    assert limited["severity"] == "high" and limited["numbers"]["top_endpoint"] == "/api/search"
    assert 1 <= len(limited["numbers"]["driving_clients"]) <= 5
    assert set(by_kind["retry_storm"]["numbers"]["clients"]) == set(limited["numbers"]["driving_clients"])
    # The demo's app log has its own request lines with 429s and ids like /products/429:
    # none of that is an upstream limiting us.
    assert by_kind["upstream_quota"]["severity"] == "info"
