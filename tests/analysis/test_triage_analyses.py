"""Error rates, error signatures and deploy correlation on constructed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runbook_lib.analysis.deploy_impact import assess_deploy_impact, compare_deploys, find_suspect_deploy
from runbook_lib.analysis.rates import app_error_rates, find_error_spike, status_rates, window_error_rate
from runbook_lib.analysis.signatures import find_top_error_finding, normalise, rank_top_errors
from runbook_lib.collected import Collected, empty_frame
from runbook_lib.timewindow import Window

T0 = pd.Timestamp("2026-03-14T12:00:00", tz="UTC")


def _access(minutes: int, rate_fn, per_minute: int = 200, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for m in range(minutes):
        at = T0 + pd.Timedelta(minutes=m)
        for i in range(per_minute):
            status = 502 if rng.random() < rate_fn(m) else (429 if i % 97 == 0 else 200)
            rows.append((at + pd.Timedelta(seconds=i * 60 / per_minute), status))
    return pd.DataFrame(rows, columns=["requested_at", "status"])


def _deploys(*items: tuple[int, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deployed_at": [T0 + pd.Timedelta(minutes=m) for m, _ in items],
            "sha": [s * 40 for _, s in items],
            "short_sha": [s * 7 for _, s in items],
            "subject": [f"change {s}" for _, s in items],
        }
    )


def test_status_rates_fill_silent_minutes() -> None:
    frame = pd.DataFrame({"requested_at": [T0, T0 + pd.Timedelta(minutes=3)], "status": [500, 429]})
    rates = status_rates(frame)
    assert list(rates["requests"]) == [1, 0, 0, 1]
    assert list(rates["status_5xx"]) == [1, 0, 0, 0] and list(rates["status_429"]) == [0, 0, 0, 1]
    assert rates["error_rate"].iloc[1] == 0.0
    empty = status_rates(
        pd.DataFrame({"requested_at": pd.Series(dtype="datetime64[ns, UTC]"), "status": pd.Series(dtype="int64")})
    )
    assert empty.empty and "error_rate" in empty.columns


def test_error_spike_names_start_and_peak() -> None:
    access = _access(120, lambda m: 0.2 if m >= 70 else 0.002)
    rates = status_rates(access)
    window = Window(T0 + pd.Timedelta(minutes=60), T0 + pd.Timedelta(minutes=120))
    finding = find_error_spike(Collected("access_log", "x", access), rates, window)
    assert finding.severity == "high"
    assert pd.Timestamp(finding.numbers["began_at"]) == T0 + pd.Timedelta(minutes=70)
    assert 0.15 < finding.numbers["peak_rate"] < 0.3 and finding.numbers["baseline_rate"] < 0.01
    assert 0.1 < window_error_rate(rates, window) < 0.2


def test_no_spike_on_a_quiet_log_and_unknown_on_a_broken_one() -> None:
    access = _access(90, lambda m: 0.002)
    window = Window(T0 + pd.Timedelta(minutes=30), T0 + pd.Timedelta(minutes=90))
    assert find_error_spike(Collected("access_log", "x", access), status_rates(access), window).severity == "info"
    broken = Collected(
        "access_log", "/var/log/nginx/access.log", access.iloc[0:0], status="unavailable", reason="No such file"
    )
    finding = find_error_spike(broken, status_rates(access.iloc[0:0]), window)
    assert finding.severity == "unknown" and "No such file" in finding.summary


def test_suspect_deploy_is_the_one_after_which_errors_rose() -> None:
    access = _access(120, lambda m: 0.15 if m >= 80 else 0.003)
    rates = status_rates(access)
    deploys = _deploys((30, "a"), (80, "b"), (100, "c"))
    table = compare_deploys(rates, deploys)
    assert list(table["short_sha"]) == ["aaaaaaa", "bbbbbbb", "ccccccc"]
    finding = find_suspect_deploy(table)
    assert finding.severity == "high" and finding.numbers["sha"] == "b" * 40
    assert "bbbbbbb" in finding.summary and "change b" in finding.summary
    # Deploy c came after the rise: its before and after look alike, so it is not blamed.
    assert table.loc[2, "z"] < 3


def test_no_suspect_when_errors_did_not_move_or_no_deploys() -> None:
    access = _access(90, lambda m: 0.01)
    rates = status_rates(access)
    assert find_suspect_deploy(compare_deploys(rates, _deploys((45, "a")))).severity == "info"
    assert find_suspect_deploy(compare_deploys(rates, _deploys())).severity == "info"


def test_deploy_impact_falls_back_to_the_app_log() -> None:
    times = [T0 + pd.Timedelta(seconds=s) for s in range(0, 7200, 2)]
    level = ["error" if (t >= T0 + pd.Timedelta(minutes=60) and i % 5 == 0) else "info" for i, t in enumerate(times)]
    app = pd.DataFrame({"logged_at": times, "level": level, "logger": "api", "message": "x"})
    window = Window(T0 + pd.Timedelta(minutes=30), T0 + pd.Timedelta(minutes=120))
    deploys = Collected("deploys", "repo", _deploys((60, "d")))
    no_access = Collected(
        "access_log", "", empty_frame({"requested_at": "datetime64[ns, UTC]", "status": "int64"}), status="skipped"
    )
    table, finding = assess_deploy_impact(
        deploys,
        window,
        access=no_access,
        access_rates=status_rates(no_access.frame),
        app=Collected("app_log", "a", app),
        app_rates=app_error_rates(app),
    )
    assert finding.numbers["sha"] == "d" * 40 and "application error share" in finding.summary
    broken = Collected("deploys", "repo", _deploys(), status="unavailable", reason="not a git repository")
    _, finding = assess_deploy_impact(
        broken,
        window,
        access=no_access,
        access_rates=status_rates(no_access.frame),
        app=Collected("app_log", "a", app),
        app_rates=app_error_rates(app),
    )
    assert finding.severity == "unknown" and "not a git repository" in finding.summary


def test_signatures_mask_variable_parts() -> None:
    messages = pd.Series(
        [
            "Payment provider call failed: timeout after 5000ms order_id=123 attempt=1",
            "Payment provider call failed: timeout after 3000ms order_id=98765 attempt=3",
            "User 'alice@example.com' from 10.1.2.3 not found (id 3f2a9c1e-aaaa-bbbb-cccc-123456789abc)",
            "User 'bob@example.com' from 10.9.9.9 not found (id 11111111-2222-3333-4444-555555555555)",
            "request deadbeefcafe1234 failed",
            "request 0123456789abcdef failed",
        ]
    )
    sig = normalise(messages)
    assert sig[0] == sig[1] and sig[2] == sig[3] and sig[4] == sig[5]
    assert "5000" not in sig[0] and "alice" not in sig[2]


def test_top_errors_group_count_and_time() -> None:
    times = [T0 + pd.Timedelta(seconds=i) for i in range(6)]
    app = pd.DataFrame(
        {
            "logged_at": times,
            "level": ["error", "ERROR", "info", "error", "critical", "warning"],
            "logger": ["db", "db", "http", "db", "payments", "http"],
            "message": [
                "pool exhausted after 3000ms",
                "pool exhausted after 2000ms",
                "ok",
                "pool exhausted after 1ms",
                "TypeError: x is undefined\n    at foo (a.js:1:2)",
                "slow",
            ],
        }
    )
    top = rank_top_errors(app)
    assert list(top["count"]) == [3, 1]
    assert top.loc[0, "first_seen_at"] == T0 and top.loc[0, "last_seen_at"] == T0 + pd.Timedelta(seconds=3)
    assert top.loc[1, "example"] == "TypeError: x is undefined"
    finding = find_top_error_finding(Collected("app_log", "a", app), top)
    assert "pool exhausted" in finding.summary and finding.numbers["count"] == 3
