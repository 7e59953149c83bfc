"""Event counts and findings from the PostgreSQL log: bursts of refused connections, timeouts."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runbook_lib.analysis.pg_log_events import (
    EVENT_KINDS,
    EVENTS_SCHEMA,
    find_pg_log_findings,
    pg_log_event_rows,
    pg_log_events_per_minute,
)
from runbook_lib.collected import Collected
from runbook_lib.sources.pg.log import PG_LOG_SCHEMA, collect_pg_log

DATA = Path(__file__).resolve().parent.parent / "data" / "pg_log"
PREFIX = "%m [%p] %q%u@%d/%a "
LIVE_PREFIX = "%m [%p] %q%u@%d/%a "  # tests/data/pg_log/postgresql.conf.excerpt
#: refused connections per minute of the burst (14:02 … 14:09)
BURST = {2: 20, 3: 35, 4: 58, 5: 52, 6: 47, 7: 40, 8: 30, 9: 30}


def stamp(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S.") + f"{ts.microsecond // 1000:03d} UTC"


def write_burst_log(path: Path) -> dict[str, int]:
    """A quiet server, then a burst of FATAL 'too many clients'; returns apps' refusal counts."""
    rnd = random.Random(7)
    lines: list[tuple[pd.Timestamp, str]] = []
    t0 = pd.Timestamp("2026-11-27 13:50:00")
    for i in range(0, 30 * 60, 10):
        ts = t0 + pd.Timedelta(seconds=i)
        ms = rnd.uniform(1, 400)
        lines.append((ts, f"{stamp(ts)} [{1000 + i}] app@shop/web LOG:  duration: {ms:.3f} ms  "
                          f"statement: SELECT {i}"))  # fmt: skip
    apps: dict[str, int] = {}
    for minute, count in BURST.items():
        for k in range(count):
            ts = pd.Timestamp(f"2026-11-27 14:{minute:02d}:00") + pd.Timedelta(milliseconds=int(k * 59_000 / count))
            app = "billing-worker" if k % 3 else "web"
            apps[app] = apps.get(app, 0) + 1
            head = f"{stamp(ts)} [{5000 + k}] billing@shop/{app}"
            lines.append((ts, f"{head} FATAL:  sorry, too many clients already"))
    lines.sort(key=lambda item: item[0])
    path.write_text("\n".join(text for _, text in lines) + "\n", encoding="utf-8")
    return apps


def test_burst_of_too_many_clients_per_minute_and_finding(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    apps = write_burst_log(log)
    got = collect_pg_log(str(log), log_line_prefix=PREFIX)
    assert got.status == "ok"
    events = pg_log_events_per_minute(got.frame)
    assert list(events.columns) == list(EVENTS_SCHEMA)
    assert (events["bucket_at"].diff().dropna() == pd.Timedelta(minutes=1)).all()
    per_minute = events.set_index("bucket_at")["too_many_connections"]
    for minute, count in BURST.items():
        assert per_minute[pd.Timestamp(f"2026-11-27 14:{minute:02d}", tz="UTC")] == count
    assert per_minute.sum() == sum(BURST.values())
    assert (events["fatal"] == events["too_many_connections"]).all()

    findings = find_pg_log_findings(got)
    burst = [f for f in findings if f.kind == "pg_log_too_many_connections"]
    assert len(burst) == 1
    f = burst[0]
    assert f.severity == "critical"
    total, peak = sum(BURST.values()), max(BURST.values())
    assert f.summary.startswith(f"{total} FATAL connection refusals")
    assert "between 14:02 and 14:09 UTC" in f.summary
    assert f"peak {peak}/min at 14:04" in f.summary
    assert "`billing-worker`" in f.summary and "`billing`" in f.summary and "`shop`" in f.summary
    assert f.numbers["count"] == total and f.numbers["peak_per_min"] == peak
    assert f.numbers["top_application_name"] == apps
    assert f.evidence and "too many clients" in f.evidence[0]
    assert not [x for x in findings if x.kind == "pg_log_slow_query"]  # all under 1 s


def test_events_on_the_live_log_match_the_raw_text() -> None:
    path = DATA / "postgresql-stderr.log"
    text = path.read_text(encoding="utf-8")
    got = collect_pg_log(str(path), log_line_prefix=LIVE_PREFIX)
    events = pg_log_events_per_minute(got.frame, slow_query_s=0.1)
    durations = [float(ms) for ms in re.findall(r" LOG:  duration: ([0-9.]+) ms", text)]
    assert events["slow_query"].sum() == sum(1 for ms in durations if ms > 100)
    assert events["deadlock"].sum() == text.count("ERROR:  deadlock detected") == 1
    assert events["error"].sum() == text.count(" ERROR:  ")
    assert events["fatal"].sum() == text.count(" FATAL:  ")
    assert events["too_many_connections"].sum() == 0
    coarse = pg_log_events_per_minute(got.frame, freq="5min", slow_query_s=0.1)
    assert (coarse["bucket_at"].dt.minute % 5 == 0).all()
    for kind in EVENT_KINDS:
        assert coarse[kind].sum() == events[kind].sum()
    findings = {f.kind: f for f in find_pg_log_findings(got, slow_query_s=0.1)}
    assert findings["pg_log_deadlock"].severity == "high"
    assert "`psql`" in findings["pg_log_deadlock"].summary
    slow = findings["pg_log_slow_query"]
    assert slow.numbers["max_s"] == pytest.approx(max(durations) / 1000)
    assert slow.numbers["count"] == sum(1 for ms in durations if ms > 100)


def test_timeouts_terminations_and_auth_failures(tmp_path: Path) -> None:
    rows = [
        ("ERROR", "canceling statement due to statement timeout", "reporting"),
        ("ERROR", "canceling statement due to statement timeout", "reporting"),
        ("FATAL", "terminating connection due to idle-in-transaction timeout", "billing-worker"),
        ("WARNING", "terminating connection because of crash of another server process", "web"),
        ("FATAL", 'password authentication failed for user "mallory"', "[unknown]"),
        (
            "FATAL",
            "remaining connection slots are reserved for non-replication superuser connections",
            "web",
        ),  # fmt: skip
        ("ERROR", 'relation "nosuch" does not exist at character 15', "psql"),
    ]
    lines = []
    for i, (level, message, app) in enumerate(rows):
        lines.append(f"2026-11-27 14:0{i}:00.000 UTC [{700 + i}] app@shop/{app} {level}:  {message}")
        if level == "ERROR":
            lines.append(f"2026-11-27 14:0{i}:00.000 UTC [{700 + i}] app@shop/{app} STATEMENT:  "
                         "SELECT pg_sleep(60)")  # fmt: skip
    log = tmp_path / "pg.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = collect_pg_log(str(log), log_line_prefix=PREFIX)
    assert len(got.frame) == len(rows)
    assert got.frame["statement"].notna().sum() == 3
    totals = pg_log_events_per_minute(got.frame).drop(columns="bucket_at").sum()
    assert totals["statement_timeout"] == 2
    assert totals["terminated"] == 2
    assert totals["auth_failed"] == 1
    assert totals["too_many_connections"] == 1
    assert totals["error"] == 3 and totals["fatal"] == 3
    kinds = {f.kind: f for f in find_pg_log_findings(got)}
    assert kinds["pg_log_statement_timeout"].severity == "high"
    assert "`reporting` (2)" in kinds["pg_log_statement_timeout"].summary
    assert kinds["pg_log_auth_failed"].numbers["count"] == 1
    assert kinds["pg_log_too_many_connections"].severity == "critical"
    rows = pg_log_event_rows(got.frame)
    assert rows["event"].tolist() == [
        "statement_timeout", "statement_timeout", "terminated", "terminated", "auth_failed", "too_many_connections",
    ]  # fmt: skip
    assert rows["logged_at"].is_monotonic_increasing and rows["application_name"].iloc[0] == "reporting"
    assert pg_log_event_rows(got.frame, per_kind=1)["event"].tolist() == [
        "statement_timeout", "terminated", "auth_failed", "too_many_connections",
    ]  # fmt: skip
    assert list(pg_log_event_rows(got.frame.head(0)).columns) == list(rows.columns)


def test_quiet_log_says_so_and_missing_data_is_unknown(tmp_path: Path) -> None:
    light = collect_pg_log(
        str(DATA / "light.postgres.log"),
        log_line_prefix="%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    )
    slowest = float(light.frame["duration_s"].max())
    quiet = find_pg_log_findings(light, slow_query_s=slowest + 1)
    assert [f.kind for f in quiet] == ["pg_log_events"]
    assert quiet[0].severity == "info" and str(len(light.frame)) in quiet[0].summary

    empty = tmp_path / "empty.log"
    empty.write_text("", encoding="utf-8")
    nothing = collect_pg_log(str(empty))
    assert nothing.status == "ok" and nothing.frame.empty
    assert [f.severity for f in find_pg_log_findings(nothing)] == ["unknown"]
    events = pg_log_events_per_minute(nothing.frame)
    assert events.empty and list(events.columns) == list(EVENTS_SCHEMA)

    down = Collected("pg_log", "/var/log/x", nothing.frame, status="unavailable", reason="missing")
    unknown = find_pg_log_findings(down)
    assert [f.severity for f in unknown] == ["unknown"] and "missing" in unknown[0].summary
    assert list(nothing.frame.columns) == list(PG_LOG_SCHEMA)


def test_kinds_are_scanned_once_per_frame_and_follow_an_edited_frame(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.analysis import pg_log_events

    log = tmp_path / "pg.log"
    write_burst_log(log)
    frame = collect_pg_log(str(log), log_line_prefix=PREFIX).frame
    scans: list[int] = []
    original = pg_log_events._scan_kinds

    def counting(f: pd.DataFrame) -> np.ndarray:
        scans.append(1)
        return original(f)

    monkeypatch.setattr(pg_log_events, "_scan_kinds", counting)
    per_minute = pg_log_events_per_minute(frame)
    rows = pg_log_event_rows(frame)
    assert len(scans) == 1  # the second analysis reused the first one's scan
    assert int(per_minute["too_many_connections"].sum()) == sum(BURST.values())
    assert "too_many_connections" in set(rows["event"])
    # slow_query follows duration_s, which is never cached: all 180 statements exceed 0 s
    assert int(pg_log_events_per_minute(frame, slow_query_s=0.0)["slow_query"].sum()) == 180
    # an edited message is a new Arrow array: scanned again, and the edit counts
    edited = frame.copy()
    first = edited.index[edited["message"].str.contains("too many clients")][0]
    edited.loc[first, "message"] = "all quiet"
    again = pg_log_events_per_minute(edited)
    assert len(scans) == 2
    assert int(again["too_many_connections"].sum()) == sum(BURST.values()) - 1
