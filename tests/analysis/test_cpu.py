"""High-CPU analysis on known series: sustained runs, culprits, threads, traffic correlation."""

from __future__ import annotations

import numpy as np
import pandas as pd

from runbook_lib.analysis.cpu import (
    busy_processes,
    correlate_cpu_with_traffic,
    cpu_series,
    detect_high_cpu,
    find_cpu_culprit,
    process_share_over_time,
    rank_cpu_processes,
    rank_threads,
)
from runbook_lib.collected import Collected, empty_frame, skipped
from runbook_lib.sources.host.sampling import PROCESS_SAMPLES_SCHEMA, SYSTEM_SAMPLES_SCHEMA
from runbook_lib.sources.metrics.prometheus import METRICS_SCHEMA

T0 = pd.Timestamp("2026-11-27 04:00", tz="UTC")


def _series(values: list[float], step_s: float = 60.0) -> pd.DataFrame:
    at = T0 + pd.to_timedelta(np.arange(len(values)) * step_s, unit="s")
    return pd.DataFrame({"sampled_at": at, "cpu_percent": np.asarray(values, dtype=float)})


def test_sustained_run_and_its_start() -> None:
    values = [20, 30, 85, 90, 95, 92, 88, 91, 40, 85, 30]
    high = detect_high_cpu(_series(values), threshold_percent=80, min_duration_s=300)
    assert high.severity == "high"
    assert high.numbers["began_at"] == T0 + pd.Timedelta(minutes=2)
    assert high.numbers["duration_s"] == 6 * 60
    assert "since 2026-11-27 04:02:00 UTC" in high.summary and "peak 95.0%" in high.summary
    short = detect_high_cpu(_series(values), threshold_percent=80, min_duration_s=600)
    assert short.severity == "low" and "only" in short.summary
    calm = detect_high_cpu(_series([10, 20, 30]), threshold_percent=80)
    assert calm.severity == "info" and "below 80%" in calm.summary
    ongoing = detect_high_cpu(_series([10, 90, 95, 99, 97, 98]), min_duration_s=240)
    assert "still above" in ongoing.summary


def test_unknown_without_samples() -> None:
    down = Collected(
        "host.system_samples", "", empty_frame(SYSTEM_SAMPLES_SCHEMA), status="unavailable", reason="psutil failed"
    )
    series, origin = cpu_series(down)
    assert origin == "host.system_samples"
    assert detect_high_cpu(series, source=down).severity == "unknown"
    assert find_cpu_culprit(Collected("p", "", empty_frame(PROCESS_SAMPLES_SCHEMA))).severity == "unknown"


def test_metrics_win_over_samples_when_present() -> None:
    system = Collected("host.system_samples", "", _series([50, 50]))
    metrics = pd.DataFrame(
        {
            "sampled_at": _series([1, 2, 3])["sampled_at"],
            "query": "cpu_busy_percent",
            "series": "instance=a",
            "value": [81.0, 82, 83],
        }
    )
    prom = Collected("prometheus", "u", metrics.astype(METRICS_SCHEMA))
    series, origin = cpu_series(system, [skipped("metrics_csv", METRICS_SCHEMA), prom])
    assert origin == "prometheus" and series["cpu_percent"].tolist() == [81.0, 82.0, 83.0]


def _procs() -> pd.DataFrame:
    rows = []
    for i in range(6):
        at = T0 + pd.Timedelta(seconds=i)
        rows.append(
            {
                "sampled_at": at,
                "pid": 10,
                "name": "api",
                "cmdline": "node\nserver.js",
                "cpu_percent": 5.0 if i < 2 else 97.0,
            }
        )
        rows.append({"sampled_at": at, "pid": 11, "name": "cron", "cmdline": "cron", "cpu_percent": 3.0})
    return pd.DataFrame(rows)


def test_culprit_named_with_share_and_start() -> None:
    ranked = rank_cpu_processes(_procs(), busy_percent=50)
    assert ranked["pid"].tolist() == [10, 11]
    assert ranked["busy_since_at"].iloc[0] == T0 + pd.Timedelta(seconds=2)
    assert abs(ranked["share_percent"].sum() - 100) < 0.2
    assert busy_processes(ranked)["pid"].tolist() == [10]
    culprit = find_cpu_culprit(Collected("p", "", _procs()), busy_percent=50)
    assert culprit.severity == "high"
    assert culprit.summary.startswith("`api` (pid 10) uses 97.0% of a core since it became busy")
    assert "busy at 2026-11-27 04:00:02 UTC" in culprit.summary
    assert ranked["mean_cpu_percent"].iloc[0] == 66.3
    assert "node server.js" in culprit.summary  # newlines in a cmdline are flattened
    idle = find_cpu_culprit(Collected("p", "", _procs()), busy_percent=99)
    assert idle.severity == "info" and "No process was busy" in idle.summary
    wide = process_share_over_time(_procs())
    assert list(wide.columns) == ["sampled_at", "api (10)", "cron (11)"]


def test_threads_of_the_hottest_process() -> None:
    threads = pd.DataFrame(
        {
            "sampled_at": [T0] * 3 + [T0 + pd.Timedelta(seconds=1)] * 3,
            "pid": [10] * 6,
            "tid": [10, 12, 13] * 2,
            "cpu_percent": [1.0, 95.0, 2.0, 1.0, 97.0, np.nan],
        }
    )
    out = rank_threads(threads)
    assert out["tid"].tolist()[0] == 12 and out["mean_cpu_percent"].iloc[0] == 96.0


def _requests(per_minute: list[int]) -> Collected:
    times = (
        [T0 + pd.Timedelta(minutes=i, seconds=s) for i, n in enumerate(per_minute) for s in np.linspace(0, 59, n)]
        if per_minute
        else []
    )
    return Collected("access_log", "a.log", pd.DataFrame({"requested_at": pd.to_datetime(times, utc=True)}))


def test_cpu_tracks_traffic() -> None:
    rate = [100, 200, 400, 800, 400, 200, 100, 900]
    cpu = _series([10 + r / 10 for r in rate])
    found = correlate_cpu_with_traffic(cpu, _requests(rate))
    assert found.severity == "info" and found.summary.startswith("CPU tracks request rate (r=1.00)")


def test_cpu_rose_without_traffic_after_deploy() -> None:
    rate = [300, 310, 290, 300, 305, 295, 300, 298]
    cpu = _series([20, 22, 21, 20, 90, 92, 95, 93])
    deploys = pd.DataFrame({"deployed_at": [T0 + pd.Timedelta(minutes=3, seconds=30)], "sha": ["abc1234def"]})
    found = correlate_cpu_with_traffic(cpu, _requests(rate), deploys=deploys)
    assert found.severity == "high"
    assert found.summary.startswith("CPU rose without more traffic after deploy abc1234")
    assert found.numbers["deploy_sha"] == "abc1234"


def test_traffic_unknown_when_missing_or_not_overlapping() -> None:
    from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA

    off = correlate_cpu_with_traffic(_series([1, 2, 3]), skipped("access_log", ACCESS_SCHEMA))
    assert off.severity == "unknown" and "skipped" in off.summary
    later = _series([1, 2, 3, 4])
    later["sampled_at"] += pd.Timedelta(days=1)
    apart = correlate_cpu_with_traffic(later, _requests([5, 5, 5, 5]))
    assert apart.severity == "unknown" and apart.numbers["overlapping_bins"] == 0


def _app(messages: list[str]) -> Collected:
    at = T0 + pd.to_timedelta(np.arange(len(messages)) * 10, unit="s")
    frame = pd.DataFrame(
        {"logged_at": at, "level": "warn", "logger": "", "message": messages, "source_file": "app.log"}
    )
    return Collected("app_log", "app.log", frame)


def test_slow_and_timeout_lines_grouped_by_shape() -> None:
    from runbook_lib.analysis.host_logs import find_log_signals, rank_log_shapes

    messages = [f"[http] Slow request GET /api/products took {900 + i}ms" for i in range(12)]
    messages += ["upstream timeout after 30000 ms", "GET /health 200 3ms", "cache hit"]
    app = _app(messages)
    shapes = rank_log_shapes(app.frame, r"(?i)slow|timeout")
    assert shapes["lines"].tolist() == [12, 1]
    assert shapes["shape"].iloc[0] == "[http] Slow request GET /api/products took Nms"
    found = find_log_signals(app, kind="cpu")
    assert found.severity == "medium" and found.numbers["lines"] == 13
    assert "×12" in found.summary and "04:00 UTC" in found.summary
    quiet = find_log_signals(_app(["GET / 200 1ms"]), kind="cpu")
    assert quiet.severity == "info" and quiet.numbers["lines"] == 0
