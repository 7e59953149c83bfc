"""Theil-Sen trend, leak/plateau/sawtooth classification and projections on known series."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from runbook_lib.analysis.memory import (
    MB,
    classify_rss,
    find_memory_leaks,
    format_duration,
    rank_rss_trends,
    theil_sen,
)
from runbook_lib.analysis.memory_metrics import find_gc_activity, metric_as_processes
from runbook_lib.collected import Collected, empty_frame
from runbook_lib.sources.host.sampling import EVENTS_SCHEMA, PROCESS_SAMPLES_SCHEMA

T0 = pd.Timestamp("2026-11-27 03:00", tz="UTC")


def _times(n: int, step_s: float = 60.0) -> pd.Series:
    return pd.Series(T0 + pd.to_timedelta(np.arange(n) * step_s, unit="s"))


def _frame(pid: int, name: str, rss: np.ndarray, step_s: float = 60.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"sampled_at": _times(len(rss), step_s), "pid": pid, "name": name, "rss_bytes": rss.astype("int64")}
    )


def test_theil_sen_ignores_outliers_that_drag_least_squares() -> None:
    x = np.arange(50, dtype=float)
    y = 3.0 * x + 10
    y[-5:] += 2000.0  # a burst at the end (e.g. a one-off allocation)
    fit = theil_sen(x, y)
    assert abs(fit.slope - 3.0) < 0.05
    assert abs(fit.intercept - 10) < 2
    assert fit.slope_low <= 3.0 <= fit.slope_high
    ls_slope = np.polyfit(x, y, 1)[0]
    assert abs(ls_slope - 3.0) > 1.0  # least squares is dragged; Theil-Sen is not


def test_theil_sen_interval_contains_zero_for_noise() -> None:
    rng = np.random.default_rng(7)
    fit = theil_sen(np.arange(60.0), rng.normal(100, 5, 60))
    assert fit.slope_low < 0 < fit.slope_high
    assert fit.r2 < 0.2
    assert np.isnan(theil_sen(np.array([1.0]), np.array([2.0])).slope)


def test_classify_leak_plateau_sawtooth_flat() -> None:
    n = 40
    at = _times(n)
    leak = pd.Series(500 * MB + np.arange(n) * 2 * MB + np.random.default_rng(1).normal(0, 0.2 * MB, n))
    pattern, fit, _ = classify_rss(at, leak)
    assert pattern == "leak" and abs(fit.slope * 3600 / MB - 120) < 5  # 2 MB/min
    plateau = pd.Series(np.minimum(np.arange(n), 15) * 10 * MB + 300 * MB)
    assert classify_rss(at, plateau)[0] == "plateau"
    saw = pd.Series(300 * MB + (np.arange(n) % 8) * 20 * MB)
    assert classify_rss(at, saw)[0] == "sawtooth"
    flat = pd.Series(np.full(n, 300 * MB))
    assert classify_rss(at, flat)[0] == "flat"
    shrinking = pd.Series(900 * MB - np.arange(n) * 5 * MB)
    assert classify_rss(at, shrinking)[0] == "shrinking"
    # A sawtooth whose troughs rise is a leak hidden under GC cycles.
    creeping = pd.Series(300 * MB + (np.arange(n) % 8) * 20 * MB + np.arange(n) * 3 * MB)
    assert classify_rss(at, creeping)[0] == "leak"


def test_findings_name_the_process_rate_and_time_to_limit() -> None:
    n = 30
    frame = pd.concat(
        [
            _frame(42, "api", 1000 * MB + np.arange(n) * (212 * MB / 60)),  # 212 MB/h, 1-min samples
            _frame(43, "worker", np.full(n, 200 * MB)),
        ]
    )
    limit = 1000 * MB + (n - 1) * (212 * MB / 60) + 212 * MB * 3.5  # 3.5 h of growth left
    collected = Collected("host.process_samples", "t", frame)
    findings = find_memory_leaks(collected, limit_bytes=limit, limit_origin="cgroup memory.max")
    api = findings[0]
    assert api.severity == "high"  # under 6 h to the limit
    assert api.summary.startswith("`api` (pid 42) RSS grows 212 MB/h (steady, R²=1.00")
    assert "reached in ~3 h 30 m" in api.summary and "cgroup memory.max" in api.summary
    assert findings[1].severity == "info" and "pid 43" in findings[1].summary
    trends = rank_rss_trends(frame, limit_bytes=limit)
    assert trends["pattern"].tolist() == ["leak", "flat"]


def test_unknown_when_source_failed_or_too_few_samples() -> None:
    down = Collected(
        "host.process_samples",
        "target 'x'",
        empty_frame(PROCESS_SAMPLES_SCHEMA),
        status="unavailable",
        reason="no process matches target 'x'",
    )
    (finding,) = find_memory_leaks(down, limit_bytes=1e9)
    assert finding.severity == "unknown" and "no process matches" in finding.summary
    short = Collected("s", "t", _frame(1, "a", np.arange(3) * MB))
    assert find_memory_leaks(short, limit_bytes=1e9)[0].severity == "unknown"


def test_restart_events_become_a_finding() -> None:
    events = pd.DataFrame(
        {
            "observed_at": _times(2),
            "pid": [10, 11],
            "event": ["exited", "started"],
            "detail": ["api gone", "api appeared"],
        }
    )
    events = events.astype({k: v for k, v in EVENTS_SCHEMA.items()})
    frame = _frame(10, "api", 100 * MB + np.arange(10) * MB)
    out = find_memory_leaks(Collected("s", "t", frame), limit_bytes=1e10, events=Collected("e", "t", events))
    restart = [f for f in out if f.kind == "memory.restarts"]
    assert restart and "11" in restart[0].summary


def test_metrics_reuse_the_trend_and_gc_rate() -> None:
    at = _times(20, 15)
    metrics = pd.DataFrame(
        {
            "sampled_at": list(at) * 2,
            "query": ["process_resident_memory_bytes"] * 20 + ["nodejs_gc_runs_per_s"] * 20,
            "series": ["instance=api:9100"] * 20 + ["instance=api:9100,kind=major"] * 20,
            "value": list(200 * MB + np.arange(20) * MB) + list(np.linspace(0.1, 0.5, 20)),
        }
    )
    as_proc = metric_as_processes(metrics, query="process_resident_memory_bytes")
    trends = rank_rss_trends(as_proc, limit_bytes=4e9)
    assert trends["pattern"].tolist() == ["leak"]
    assert trends["name"].iloc[0] == "instance=api:9100"
    gc = find_gc_activity(Collected("prometheus", "u", metrics))
    assert gc.severity == "medium" and "rising" in gc.summary
    assert gc.numbers["runs_per_min"] == round(metrics["value"].iloc[20:].mean() * 60, 2)
    none = find_gc_activity(Collected("prometheus", "u", metrics.iloc[:20]))
    assert none.severity == "unknown"


def test_format_duration() -> None:
    assert format_duration(13200) == "~3 h 40 m"
    assert format_duration(30) == "~30 s"
    assert format_duration(float("inf")) == "never"
    assert format_duration(3 * 86400 + 7200) == "~3 d 2 h"


def test_memory_lines_and_gc_frequency_from_the_app_log() -> None:
    from runbook_lib.analysis.host_logs import count_gc_runs, find_log_signals

    # Node's --trace-gc output and heap warnings, one line every 6 s over ~2 minutes.
    messages = [
        f"[4242:0x5581]  {1000 + i * 6000} ms: Scavenge {40 + i}.1 (52.3) -> {39 + i}.8 (53.3) MB, "
        "1.2 / 0.0 ms  (average mu = 0.99) allocation failure"
        for i in range(18)
    ]
    messages += [
        "[4242:0x5581]  120000 ms: Mark-sweep 250.1 (260.0) -> 240.2 (261.0) MB",
        "WARN heap usage 91% of max-old-space-size",
        "GET /api 200 4ms",
    ]
    at = T0 + pd.to_timedelta(np.arange(len(messages)) * 6, unit="s")
    app = Collected(
        "app_log",
        "app.log",
        pd.DataFrame({"logged_at": at, "level": "info", "logger": "", "message": messages, "source_file": "a"}),
    )
    gc = count_gc_runs(app.frame)
    assert gc["runs"] == 19
    assert abs(gc["per_min"] - 19 / (18 * 6 / 60)) < 0.01
    found = find_log_signals(app, kind="memory")
    assert found.numbers["lines"] == 20 and found.numbers["gc_runs"] == 19
    assert "GC ran 19 times" in found.summary
    down = Collected("app_log", "x", app.frame.iloc[0:0], status="unavailable", reason="gone")
    assert find_log_signals(down, kind="memory").severity == "unknown"


def test_metric_trends_from_a_captured_prometheus_answer(data_dir: Path) -> None:
    from runbook_lib.analysis.memory_metrics import find_metric_memory_leaks
    from runbook_lib.sources.metrics.prometheus import load_query_range_text

    text = (data_dir / "host_metrics" / "qr_mem_available.json").read_text(encoding="utf-8")
    metrics = load_query_range_text(text, query="process_resident_memory_bytes")
    (finding,) = find_metric_memory_leaks(metrics, limit_bytes=64 * 1024 * MB)
    assert finding.kind == "memory.metrics_trend"
    assert "node_memory_MemAvailable_bytes" in finding.summary
    assert finding.numbers["samples"] == 8
    (missing,) = find_metric_memory_leaks(metrics, limit_bytes=1e9, query="nodejs_heap_size_used_bytes")
    assert missing.severity == "unknown" and "no such series" in missing.summary
    bad = load_query_range_text((data_dir / "host_metrics" / "qr_error_bad_query.json").read_text())
    (down,) = find_metric_memory_leaks(bad, limit_bytes=1e9)
    assert down.severity == "unknown" and "bad_data" in down.summary
