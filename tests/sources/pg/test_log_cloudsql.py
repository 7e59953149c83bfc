"""Issue 14: Google Cloud SQL LogEntry exports read like the stderr log they carry."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.pg_log_events import count_pg_log_events, find_pg_log_findings
from runbook_lib.collected import Collected
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.sources.pg.log_cloudsql import CLOUDSQL_PREFIX, utc_text
from runbook_lib.timewindow import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "pg_log"
EXPORT = DATA / "cloudsql_postgres.json"
TWIN = DATA / "cloudsql_stderr_twin.log"
SEVERITIES = {"ERROR": 2, "FATAL": 3, "LOG": 8, "WARNING": 1}


def _same_records(got: pd.DataFrame, want: pd.DataFrame) -> None:
    columns = [c for c in want.columns if c not in ("logged_at", "source_file")]
    pd.testing.assert_frame_equal(got[columns], want[columns])
    # the LogEntry timestamp has nanoseconds, the payload's %m milliseconds
    assert (got["logged_at"] - want["logged_at"]).abs().max() < pd.Timedelta(milliseconds=1)


@pytest.mark.parametrize("log_format", ["auto", "cloudsql"])
def test_cloud_sql_export_reads_like_its_stderr_twin(log_format: str) -> None:
    got = collect_pg_log(str(EXPORT), log_format=log_format)
    twin = collect_pg_log(str(TWIN), log_line_prefix=CLOUDSQL_PREFIX)
    assert got.status == "ok", got.reason
    assert got.details == {"format": "cloudsql", "by_severity": SEVERITIES, "instances": ["demo:pg-main"]}
    assert twin.details["by_severity"] == SEVERITIES
    assert "1 LogEntry of other logs (not postgres.log) set aside" in got.reason
    assert got.meta["files"][0]["entry_severity"]["CRITICAL"] == 3
    row = got.status_row()  # the sources entry of findings.json
    assert row["format"] == "cloudsql" and row["instances"] == ["demo:pg-main"] and row["by_severity"] == SEVERITIES
    _same_records(got.frame, twin.frame)
    frame = got.frame
    # the multi-line statement (one entry per line) and the DETAIL entry holding its newline
    slow = frame[frame["duration_s"] > 1].iloc[0]
    assert slow["statement"] == "SELECT o.id, o.total\nFROM orders o\nWHERE o.customer_id = 42"
    assert slow["logged_at"] == pd.Timestamp("2026-11-27 05:00:02.500123", tz="UTC")
    assert sorted(frame["duration_s"].dropna().tolist()) == pytest.approx([0.25, 1.520331])
    deadlock = frame[frame["message"] == "deadlock detected"].iloc[0]
    assert deadlock["detail"].count("\n") == 1 and deadlock["hint"] == "See server log for query details."
    assert deadlock["statement"] == "UPDATE stock SET n = n - 1 WHERE sku = 'A'"
    timeout = frame[frame["message"].str.startswith("canceling statement")].iloc[0]
    assert timeout["statement"] == "UPDATE orders SET status = 'paid'\nWHERE id = 42"
    # sessions: the FATALs name their client from the connection lines of their pid
    fatal = frame[frame["severity"] == "FATAL"]
    assert fatal["client_addr"].tolist()[:2] == ["10.0.0.8", "10.0.0.8"]
    assert frame.loc[frame["pid"] == 27, "user"].isna().all()  # the checkpointer's empty db=,user=
    assert count_pg_log_events(frame) == count_pg_log_events(twin.frame)
    mine, theirs = _findings(got), _findings(twin)
    assert mine == theirs and "pg_log_too_many_connections" in mine


def _findings(collected: Collected) -> dict[str, tuple[str, str, dict[str, object]]]:
    """Kind -> (severity, summary, numbers), times to the millisecond (the twin's %m)."""

    def ms(value: object) -> object:
        return value.floor("ms") if isinstance(value, pd.Timestamp) else value

    found = find_pg_log_findings(collected)
    return {f.kind: (f.severity, f.summary, {k: ms(v) for k, v in f.numbers.items()}) for f in found}


def test_newest_first_json_array_and_a_window(tmp_path: Path) -> None:
    """``gcloud logging read --format=json`` writes one array, newest entry first."""
    entries = [json.loads(line) for line in EXPORT.read_text(encoding="utf-8").splitlines()]
    array = tmp_path / "gcloud.json"
    array.write_text(json.dumps(entries[::-1], indent=2), encoding="utf-8")
    whole = collect_pg_log(str(EXPORT))
    got = collect_pg_log(str(array))
    assert got.details["format"] == "cloudsql" and got.status == "ok", got.reason
    pd.testing.assert_frame_equal(got.frame.drop(columns="source_file"), whole.frame.drop(columns="source_file"))
    window = Window(pd.Timestamp("2026-11-27 05:01", tz="UTC"), pd.Timestamp("2026-11-27 05:02", tz="UTC"))
    part = collect_pg_log(str(array), window=window)
    assert part.details["by_severity"] == {"ERROR": 2, "WARNING": 1}


def test_rfc3339_times_with_nanoseconds_and_offsets() -> None:
    assert utc_text("2026-11-27T05:00:02.500123456Z") == "2026-11-27 05:00:02.500123456"
    assert utc_text("2026-11-27T06:00:02.5+01:00") == "2026-11-27 05:00:02.500000000"
    assert utc_text("2026-11-27T05:00:02Z") == "2026-11-27 05:00:02.000000000"
    assert utc_text("27/Nov/2026") is None and utc_text(None) is None


def test_a_json_line_with_only_a_timestamp_is_not_a_pg_record(tmp_path: Path) -> None:
    log = tmp_path / "app.json"
    log.write_text('{"timestamp": "2026-11-27T05:00:00Z", "level": "error", "msg": "db down"}\n' * 3, encoding="utf-8")
    got = collect_pg_log(str(log))
    assert got.status == "unavailable"
    assert "neither PostgreSQL jsonlog nor Cloud Logging LogEntries" in got.reason
    assert "log_line_prefix" not in got.reason


def test_an_export_of_other_logs_only_is_named(tmp_path: Path) -> None:
    audit = [json.loads(line) for line in EXPORT.read_text(encoding="utf-8").splitlines() if "cloudaudit" in line]
    log = tmp_path / "audit.json"
    log.write_text("\n".join(json.dumps(e) for e in audit * 2) + "\n", encoding="utf-8")
    got = collect_pg_log(str(log))
    assert got.status == "unavailable"
    assert "holds 2 Cloud Logging LogEntries, none of postgres.log" in got.reason


def test_payloads_without_the_cloud_sql_prefix_are_loud(tmp_path: Path) -> None:
    entry = {"logName": "projects/p/logs/cloudsql.googleapis.com%2Fpostgres.log", "timestamp": "2026-11-27T05:00:00Z"}
    lines = [json.dumps({**entry, "textPayload": 'ERROR:  relation "x" does not exist'})] * 3
    lines.append(json.dumps({**entry, "textPayload": "2026-11-27 05:00:00.000 UTC [7]: [1-1] db=a,user=b LOG:  ok"}))
    log = tmp_path / "noprefix.json"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    got = collect_pg_log(str(log))
    assert got.status == "partial"
    assert got.meta["lost_errors"] == 3 and got.details["by_severity"] == {"LOG": 1}


def test_cloudsql_named_for_a_stderr_file_says_wrong_format() -> None:
    got = collect_pg_log(str(TWIN), log_format="cloudsql")
    assert got.status == "partial" and len(got.frame) == 0
    assert "22 of 22 records are not cloudsql (wrong log_format?)" in got.reason


def test_a_continuation_entry_stays_with_its_record_whatever_its_time(tmp_path: Path) -> None:
    entry = {"logName": "projects/p/logs/cloudsql.googleapis.com%2Fpostgres.log"}
    rows = [
        ("2026-11-27T05:00:00.000Z", "2026-11-27 05:00:00.000 UTC [7]: [1-1] db=a,user=b LOG:  statement: SELECT 1,"),
        ("2026-11-27T05:00:00.002Z", "\t2"),  # right after its head, as written, but a later time
        ("2026-11-27T05:00:00.001Z", "2026-11-27 05:00:00.001 UTC [8]: [1-1] db=a,user=b ERROR:  boom"),
    ]
    log = tmp_path / "cont.json"
    entries = [json.dumps({**entry, "timestamp": t, "textPayload": x}) for t, x in rows]
    log.write_text("\n".join(entries), encoding="utf-8")
    got = collect_pg_log(str(log))
    assert got.status == "ok", got.reason
    assert got.frame["message"].tolist() == ["statement: SELECT 1,\n2", "boom"]
