"""The memory_leak notebook, executed for real against leaking, flat and sawtooth children."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from tests import hostprocs

MB = 1024 * 1024
RATE_MB_S = 8.0
LIMIT_MB = 4096.0


def test_flow_measures_the_leak_and_spares_flat_and_sawtooth(run_flow: Any, tmp_path: Path) -> None:
    now = pd.Timestamp.now(tz="UTC")
    app_log = tmp_path / "app.log"
    app_log.write_text(
        "".join(
            f"{(now - pd.Timedelta(seconds=120 - 6 * i)).isoformat()} INFO [gc] [77:0x55]  {i * 6000} ms: "
            f"Scavenge {40 + i}.1 (52.3) -> {39 + i}.8 (53.3) MB, 1.2 / 0.0 ms  allocation failure\n"
            for i in range(20)
        ),
        encoding="utf-8",
    )
    leaker = hostprocs.memory_leaker(RATE_MB_S, 60, marker="rb-memflow-leak")
    flat = hostprocs.flat_memory(40, marker="rb-memflow-flat")
    saw = hostprocs.sawtooth_memory(5, 6, 0.1, marker="rb-memflow-saw")
    try:
        findings = run_flow(
            "memory_leak",
            {
                "target": "rb-memflow",
                "duration_s": 4.0,
                "interval_s": 0.25,
                "memory_limit_mb": LIMIT_MB,
                "app_log": str(app_log),
            },
        )
    finally:
        for proc in (leaker, flat, saw):
            hostprocs.stop(proc)
    trends = {t["pid"]: t for t in findings["extra"]["trends"]}
    assert set(trends) == {leaker.pid, flat.pid, saw.pid}
    assert trends[flat.pid]["pattern"] == "flat"
    assert trends[saw.pid]["pattern"] == "sawtooth"
    leak = trends[leaker.pid]
    assert leak["pattern"] == "leak"
    expected = RATE_MB_S * 3600
    assert abs(leak["growth_mb_per_h"] - expected) <= 0.2 * expected
    assert leak["r2"] > 0.9
    # Projection: what is left below the limit at the measured rate, and sane against the truth.
    left_s = (LIMIT_MB * MB - leak["last_rss_bytes"]) / (RATE_MB_S * MB)
    assert abs(leak["time_to_limit_s"] - left_s) <= 0.25 * left_s

    by_pid = {f["numbers"].get("pid"): f for f in findings["findings"] if f["kind"] == "memory.trend"}
    assert by_pid[leaker.pid]["severity"] == "critical"  # < 1 h to the limit
    assert f"pid {leaker.pid}" in by_pid[leaker.pid]["summary"]
    assert "MB/h" in by_pid[leaker.pid]["summary"] and "limit" in by_pid[leaker.pid]["summary"]
    assert "configured limit" in by_pid[leaker.pid]["summary"]
    for pid in (flat.pid, saw.pid):
        assert by_pid[pid]["severity"] == "info" and "not a leak" in by_pid[pid]["summary"]
    assert findings["extra"]["memory_limit_bytes"] == LIMIT_MB * MB
    gc = next(f for f in findings["findings"] if f["kind"] == "memory.app_log")
    assert gc["numbers"]["gc_runs"] == 20 and "GC ran 20 times" in gc["summary"]
    remedy = findings["extra"]["remedy"]
    assert remedy["command"] == f"kill -TERM {leaker.pid}" and remedy["executed"] is False
    assert f"sudo py-spy dump --pid {leaker.pid}" in findings["next_steps"]  # a Python leaker
    sources = {s["source"]: s for s in findings["sources"]}
    assert sources["host.process_samples"]["status"] == "ok"
    assert sources["prometheus"]["status"] == "skipped"
