"""Severity ladders of the web findings at their boundaries, on real access-log files.

Each test writes an nginx combined log, reads it with the kit's reader and grades it: one
step below a threshold gives the lower grade, the threshold itself the higher one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from runbook_lib.analysis import security
from runbook_lib.analysis import traffic as tr
from runbook_lib.analysis.rates import MIN_SPIKE_ERRORS, find_error_spike, status_rates
from runbook_lib.analysis.security_findings import (
    SCANNER_CAMPAIGN_PROBES,
    STUFFING_MEDIUM_FAILURES,
    find_credential_stuffing,
    find_scanners,
)
from runbook_lib.analysis.traffic_findings import (
    BURST_MEDIUM_CLIENTS,
    HIGH_LIMITED_SHARE,
    LOW_LIMITED_SHARE,
    UPSTREAM_MEDIUM_ERRORS,
    find_bursts,
    find_rate_limiting,
    find_upstream_quota,
)
from runbook_lib.collected import Collected
from runbook_lib.sources.logs import collect_access_log, collect_app_log
from runbook_lib.timewindow import Window

T0 = pd.Timestamp("2026-11-27T02:00:00Z")
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"

Row = tuple[pd.Timestamp, str, str, str, int]  # at, ip, method, target, status


def _write(path: Path, rows: Iterable[Row]) -> Collected:
    lines = [
        f'{ip} - - [{at:%d/%b/%Y:%H:%M:%S} +0000] "{method} {target} HTTP/1.1" {status} '
        f'{0 if status >= 500 else 512} "-" "{UA}"'
        for at, ip, method, target, status in sorted(rows, key=lambda r: r[0])
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = collect_access_log(str(path))
    assert got.status == "ok" and len(got.frame) == len(lines), got.reason
    return got


def _browsing(minutes: int, per_minute: int, *, start: pd.Timestamp = T0) -> list[Row]:
    """Ordinary traffic from a few dozen browsers, every answer 200."""
    step = 60 / per_minute
    return [
        (start + pd.Timedelta(minutes=m, seconds=i * step), f"203.0.113.{(m * per_minute + i) % 40 + 1}", "GET",
         f"/products/{i}", 200)
        for m in range(minutes)
        for i in range(per_minute)
    ]  # fmt: skip


def _spike(tmp_path: Path, errors: int) -> str:
    """Thin night traffic (4 requests a minute) where *errors* of five minutes' 20 fail."""
    rows = _browsing(90, 4)
    burst = [r for r in rows if T0 + pd.Timedelta(minutes=70) <= r[0] < T0 + pd.Timedelta(minutes=75)]
    failing = {id(r) for r in burst[:errors]}
    rows = [(at, ip, m, t, 502 if id(r) in failing else s) for r in rows for at, ip, m, t, s in [r]]
    access = _write(tmp_path / f"spike{errors}.log", rows)
    window = Window(T0 + pd.Timedelta(minutes=60), T0 + pd.Timedelta(minutes=90))
    return find_error_spike(access, status_rates(access.frame), window).severity


def test_a_few_5xx_on_thin_traffic_are_low_and_ten_are_an_outage(tmp_path: Path) -> None:
    assert MIN_SPIKE_ERRORS == 10
    assert _spike(tmp_path, MIN_SPIKE_ERRORS - 1) == "low"  # 9 of 20 (45 %): two unlucky minutes
    assert _spike(tmp_path, MIN_SPIKE_ERRORS) == "critical"  # 10 of 20 (50 %) with volume
    assert _spike(tmp_path, 0) == "info"


def _probes(ip: str, count: int, targets: list[str], *, status: int = 404, start: pd.Timestamp = T0) -> list[Row]:
    return [(start + pd.Timedelta(seconds=7 * i), ip, "GET", targets[i % len(targets)], status) for i in range(count)]


SQLI = ["/api/products?id=1%27%20OR%201=1--", "/search?q=1%20UNION%20SELECT%20password%20FROM%20users"]


def _scanner_grade(tmp_path: Path, rows: list[Row], name: str) -> tuple[str, dict[str, object]]:
    access = _write(tmp_path / name, _browsing(30, 20) + rows)
    finding = find_scanners(access, security.rank_scanners(access.frame))
    return finding.severity, finding.numbers


def test_a_handful_of_injection_probes_is_low_a_campaign_is_high(tmp_path: Path) -> None:
    below, _ = _scanner_grade(tmp_path, _probes("192.0.2.66", SCANNER_CAMPAIGN_PROBES - 1, SQLI), "few.log")
    at, numbers = _scanner_grade(tmp_path, _probes("192.0.2.66", SCANNER_CAMPAIGN_PROBES, SQLI), "many.log")
    assert (below, at) == ("low", "high")
    assert numbers["ips"] == ["192.0.2.66"] and numbers["campaign_ips"] == 1


def test_a_campaign_of_harmless_probes_is_medium(tmp_path: Path) -> None:
    wordpress = ["/wp-login.php", "/xmlrpc.php", "/wp-admin/setup.php"]
    below, _ = _scanner_grade(tmp_path, _probes("192.0.2.67", SCANNER_CAMPAIGN_PROBES - 1, wordpress), "wp19.log")
    at, _ = _scanner_grade(tmp_path, _probes("192.0.2.67", SCANNER_CAMPAIGN_PROBES, wordpress), "wp20.log")
    assert (below, at) == ("low", "medium")


def test_one_secret_served_with_2xx_is_high_even_from_a_handful(tmp_path: Path) -> None:
    refused = _probes("192.0.2.68", 3, ["/.env", "/.git/config", "/backup.sql"])
    served = [*refused[:2], (T0 + pd.Timedelta(seconds=30), "192.0.2.68", "GET", "/backup.sql", 200)]
    low, _ = _scanner_grade(tmp_path, refused, "refused.log")
    high, numbers = _scanner_grade(tmp_path, served, "served.log")
    assert (low, high) == ("low", "high") and numbers["answered_2xx"] == ["/backup.sql"]


def _stuffing(tmp_path: Path, failures: int, *, success: bool = False) -> str:
    rows = [(T0 + pd.Timedelta(seconds=2 * i), "192.0.2.99", "POST", "/api/login", 401) for i in range(failures)]
    if success:
        rows.append((T0 + pd.Timedelta(seconds=2 * failures), "192.0.2.99", "POST", "/api/login", 200))
    access = _write(tmp_path / f"stuff{failures}{success}.log", _browsing(30, 20) + rows)
    return find_credential_stuffing(access, security.rank_auth_failures(access.frame)).severity


def test_stuffing_is_graded_by_failures_and_by_a_login_that_worked(tmp_path: Path) -> None:
    assert _stuffing(tmp_path, STUFFING_MEDIUM_FAILURES - 1) == "low"  # one client, stale password
    assert _stuffing(tmp_path, STUFFING_MEDIUM_FAILURES) == "medium"
    assert _stuffing(tmp_path, 30, success=True) == "high"  # a stuffed password worked


def _limited(tmp_path: Path, limited: int, *, total: int = 2000) -> tuple[str, dict[str, object]]:
    """*limited* 429s to one client, one a second, among *total* requests in all."""
    rows = _browsing(20, (total - limited) // 20)
    rows += [
        (T0 + pd.Timedelta(minutes=5, seconds=s), "198.51.100.7", "GET", "/api/search?q=x", 429) for s in range(limited)
    ]
    access = _write(tmp_path / f"limited{limited}.log", rows)
    finding = find_rate_limiting(access)
    return finding.severity, finding.numbers


def test_429s_are_graded_by_their_share_of_requests(tmp_path: Path) -> None:
    """The calm day's client meets its limit for a minute and backs off: a handful of 429s."""
    low_at = round(LOW_LIMITED_SHARE * 2000)  # 10 of 2,000
    assert _limited(tmp_path, low_at - 1)[0] == "info"
    severity, numbers = _limited(tmp_path, low_at)
    assert severity == "low" and numbers["limited_minutes"] == 1 and numbers["limited_share"] == LOW_LIMITED_SHARE
    high_at = round(HIGH_LIMITED_SHARE * 2000)  # 200 of 2,000, in four minutes
    assert _limited(tmp_path, high_at - 1)[0] == "medium"
    assert _limited(tmp_path, high_at)[0] == "high"


def _upstream(tmp_path: Path, errors: int) -> str:
    records = [
        {"time": (T0 + pd.Timedelta(seconds=i)).isoformat(), "level": "info", "logger": "http", "msg": "GET /x 200"}
        for i in range(20)
    ] + [
        {
            "time": (T0 + pd.Timedelta(seconds=30 + i)).isoformat(),
            "level": "warning",
            "logger": "payments",
            "msg": "upstream https://api.stripe.example/v1/charges answered 429 Too Many Requests (rate limit)",
        }
        for i in range(errors)
    ]
    path = tmp_path / f"app{errors}.log"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    app = collect_app_log(str(path))
    assert app.status == "ok", app.reason
    return find_upstream_quota(app, tr.detect_upstream_quota(app.frame)).severity


def test_a_stray_upstream_429_is_low_a_few_are_medium(tmp_path: Path) -> None:
    assert _upstream(tmp_path, UPSTREAM_MEDIUM_ERRORS - 1) == "low"
    assert _upstream(tmp_path, UPSTREAM_MEDIUM_ERRORS) == "medium"
    assert _upstream(tmp_path, 0) == "info"


def _bursts(tmp_path: Path, clients: int, *, limited: bool) -> tuple[str, dict[str, object]]:
    """*clients* batch clients each sending 90 requests in one minute among quiet browsing."""
    rows = _browsing(30, 10) + [
        (T0 + pd.Timedelta(minutes=12, seconds=s * 0.66), f"198.51.100.{20 + c}", "GET", "/api/export",
         429 if limited and s % 3 == 0 else 200)
        for c in range(clients)
        for s in range(90)
    ]  # fmt: skip
    access = _write(tmp_path / f"burst{clients}{limited}.log", rows)
    finding = find_bursts(access, tr.detect_bursts(access.frame))
    return finding.severity, finding.numbers


def test_a_served_burst_is_low_a_limited_or_wide_one_medium(tmp_path: Path) -> None:
    served, numbers = _bursts(tmp_path, BURST_MEDIUM_CLIENTS - 1, limited=False)
    assert served == "low" and len(numbers["clients"]) == BURST_MEDIUM_CLIENTS - 1 and numbers["limited"] == 0
    assert _bursts(tmp_path, BURST_MEDIUM_CLIENTS, limited=False)[0] == "medium"  # breadth
    assert _bursts(tmp_path, 1, limited=True)[0] == "medium"  # somebody was refused
