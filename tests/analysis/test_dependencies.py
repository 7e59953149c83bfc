"""Dependency findings from recorded check frames (no server needed: the analysis is pure)."""

from __future__ import annotations

import pandas as pd
import pytest

from runbook_lib.analysis.dependencies import SLOW_S, find_dependency_findings
from runbook_lib.collected import Collected, conform, skipped
from runbook_lib.sources.dependencies.checks import DEPENDENCY_SCHEMA

AT = pd.Timestamp("2026-03-01T10:00:00Z")


def _collected(rows: list[tuple[str, str, bool, str, float, str]], **meta: object) -> Collected:
    frame = pd.DataFrame(
        [
            {
                "check": c,
                "target": t,
                "ok": ok,
                "status": s,
                "latency_s": lat,
                "detail": d,
                "checked_at": AT,
            }
            for c, t, ok, s, lat, d in rows
        ]  # fmt: skip
    )
    got = Collected("dependencies", "test", conform(frame, DEPENDENCY_SCHEMA))
    got.meta.update(meta)
    return got


def test_all_answered_gives_one_info_finding_naming_the_slowest() -> None:
    got = _collected(
        [
            ("http", "https://api.internal/health", True, "200", 0.05, "HTTP 200 OK"),
            ("postgres", "host=db port=5432", True, "SELECT 1", 0.21, "SELECT 1 answered"),
            ("redis", "cache:6379", True, "PONG", 0.002, "PING answered PONG"),
            ("dns", "api.internal", True, "resolved", 0.01, "10.0.0.5"),
        ]
    )
    findings = find_dependency_findings(got)
    assert len(findings) == 1
    only = findings[0]
    assert only.severity == "info"
    assert only.summary == (
        "All 4 dependencies answered (dns, http, postgres, redis); slowest: PostgreSQL host=db port=5432 in 0.21 s"
    )
    assert only.numbers["checked"] == 4 and only.numbers["slowest_latency_s"] == 0.21


def test_each_failure_is_named_with_its_numbers() -> None:
    got = _collected(
        [
            ("http", "https://api.internal/health", False, "503", 0.2134, "HTTP 503"),
            ("http", "https://auth.internal/", False, "404", 0.01, "HTTP 404 Not Found"),
            ("http", "https://pay.internal/", False, "tls error", 0.03, "certificate expired"),
            ("postgres", "host=db port=5432", False, "refused", 0.004, "Connection refused"),
            ("redis", "127.0.0.1:6379", False, "timeout", 2.01, "no answer within 2 s"),
            ("dns", "api.internal", False, "NXDOMAIN", 0.02, "Name or service not known"),
            ("postgres", "env PG_DSN", False, "config error", 0.0, "PG_DSN is not set"),
        ],
        timeout_s=2.0,
    )
    findings = find_dependency_findings(got)
    by_summary = {f.summary: f for f in findings}
    assert len(findings) == 7
    assert by_summary["GET https://api.internal/health returned 503 in 0.21 s"].severity == "high"
    assert by_summary["GET https://auth.internal/ returned 404 in 0.01 s"].severity == "medium"
    tls = by_summary["GET https://pay.internal/ failed the TLS handshake: certificate expired"]
    assert tls.severity == "high"
    pg = by_summary["PostgreSQL host=db port=5432 refused connections: Connection refused"]
    assert pg.numbers["status"] == "refused"
    assert pg.evidence == ["source:dependencies:postgres:host=db port=5432"]
    redis = by_summary["redis 127.0.0.1:6379 did not answer within 2 s"]
    assert redis.severity == "high" and redis.numbers["latency_s"] == 2.01
    dns = by_summary["DNS name api.internal does not resolve (NXDOMAIN): Name or service not known"]
    assert dns.severity == "high"
    config = by_summary["Cannot tell whether PostgreSQL env PG_DSN answers: PG_DSN is not set"]
    assert config.severity == "unknown"
    assert not any(f.severity == "info" for f in findings)


@pytest.mark.parametrize(("threshold", "expected"), [(SLOW_S, 1), (3.0, 0)])
def test_slow_answers_over_the_threshold(threshold: float, expected: int) -> None:
    got = _collected(
        [
            ("http", "https://api.internal/health", True, "200", 2.5, "HTTP 200 OK"),
            ("redis", "cache:6379", True, "PONG", 0.001, "PING answered PONG"),
        ]
    )
    findings = find_dependency_findings(got, slow_s=threshold)
    slow = [f for f in findings if f.severity == "medium"]
    assert len(slow) == expected
    if expected:
        assert slow[0].summary == (
            "GET https://api.internal/health answered 200 but took 2.50 s (over the 1 s threshold)"
        )
        assert slow[0].numbers["threshold_s"] == SLOW_S
    else:
        assert [f.severity for f in findings] == ["info"]


def test_unusable_source_is_unknown_never_healthy() -> None:
    for got in (
        skipped("dependencies", DEPENDENCY_SCHEMA, "no dependencies configured"),
        Collected(
            "dependencies",
            "",
            conform(pd.DataFrame(), DEPENDENCY_SCHEMA),
            status="unavailable",
            reason="worker crashed",
        ),  # fmt: skip
    ):
        findings = find_dependency_findings(got)
        assert [f.severity for f in findings] == ["unknown"]
        assert "dependencies" in findings[0].summary and got.reason in findings[0].summary


def test_ok_source_without_rows_is_unknown() -> None:
    got = Collected("dependencies", "", conform(pd.DataFrame(), DEPENDENCY_SCHEMA))
    assert [f.severity for f in find_dependency_findings(got)] == ["unknown"]


def test_timeout_without_recorded_timeout_uses_the_measured_wait() -> None:
    got = _collected([("redis", "cache:6379", False, "timeout", 0.5, "no answer within 0.5 s")])
    assert find_dependency_findings(got)[0].summary == "redis cache:6379 did not answer within 0.5 s"
