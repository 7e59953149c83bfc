"""Issue 14: PostgreSQL logs as people have them, and the silent failures that must be loud."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from runbook_lib.analysis.pg_log_events import find_pg_log_findings
from runbook_lib.errors import ParameterError
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.sources.pg.log_prefix import translate_prefix
from runbook_lib.sources.pg.log_syslog import SyslogState, effective_prefix, rewrite
from runbook_lib.timewindow import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "pg_log"
WINDOW = Window(pd.Timestamp("2026-11-27 04:00", tz="UTC"), pd.Timestamp("2026-11-27 06:00", tz="UTC"))


def test_records_without_time_are_reported_when_a_window_is_given() -> None:
    got = collect_pg_log(str(DATA / "empty_prefix.log"), log_line_prefix="", window=WINDOW)
    assert got.status == "partial"
    assert "4 records without a readable time, not placed in the window" in got.reason
    assert got.meta["undated_outside"] == 4


def test_findings_do_not_crash_on_records_without_time() -> None:
    got = collect_pg_log(str(DATA / "empty_prefix.log"), log_line_prefix="")
    assert len(got.frame) == 4 and got.frame["logged_at"].isna().all()
    findings = find_pg_log_findings(got)
    kinds = {f.kind: f for f in findings}
    assert kinds["pg_log_too_many_connections"].numbers["count"] == 2
    assert kinds["pg_log_too_many_connections"].numbers["peak_per_min"] == 0


def test_a_cloud_logging_export_is_not_taken_for_jsonlog() -> None:
    """It has a "timestamp" too; it was once read as jsonlog with 0 rows and status ok."""
    got = collect_pg_log(str(DATA / "cloudsql_logentry.json"))
    assert got.status == "ok" and got.details["format"] == "cloudsql"
    assert got.details["by_severity"] == {"ERROR": 1}
    assert got.frame["message"].tolist() == ["canceling statement due to statement timeout"]


def test_a_pgbouncer_log_is_named_not_blamed_on_the_prefix() -> None:
    got = collect_pg_log(str(DATA / "pgbouncer.log"))
    assert got.status == "unavailable"
    assert "looks like a PgBouncer log" in got.reason and "log_line_prefix" not in got.reason


def test_a_half_matching_prefix_does_not_hide_errors() -> None:
    wrong = collect_pg_log(str(DATA / "prefix_q_user_db.log"), log_line_prefix="%m [%p] ")
    assert wrong.status == "partial"
    assert wrong.meta["lost_errors"] == 2
    assert "2 unmatched line(s) read like ERROR/FATAL/PANIC" in wrong.reason
    right = collect_pg_log(str(DATA / "prefix_q_user_db.log"), log_line_prefix="%m [%p] %q%u@%d ")
    assert right.status == "ok", right.reason
    assert right.details["by_severity"] == {"ERROR": 2, "LOG": 4}


def test_cloudnativepg_records_are_read_and_other_loggers_set_aside() -> None:
    got = collect_pg_log(str(DATA / "cloudnativepg.json"), window=WINDOW)
    assert got.status == "ok", got.reason
    assert got.details == {"format": "cloudnativepg", "by_severity": {"ERROR": 1, "FATAL": 2, "LOG": 2, "WARNING": 1}}
    assert got.meta["cnpg_other_lines"] == 2 and got.lines_skipped == 0
    row = got.status_row()
    assert row["format"] == "cloudnativepg" and row["by_severity"]["FATAL"] == 2
    fatal = got.frame[got.frame["severity"] == "FATAL"]
    assert fatal["client_addr"].tolist() == ["10.0.0.7", "10.0.0.7"]
    assert got.frame["logged_at"].min() == pd.Timestamp("2026-11-27 05:00:01", tz="UTC")
    timeout = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert timeout["statement"] == "SELECT * FROM orders"
    slow = got.frame.dropna(subset=["duration_s"])
    assert slow["duration_s"].tolist() == [1.5]


def test_zone_less_times_follow_pg_log_timezone(tmp_path: Path) -> None:
    log = tmp_path / "cnpg.json"
    text = (DATA / "cloudnativepg.json").read_text(encoding="utf-8").replace(' UTC"', '"')
    log.write_text(text, encoding="utf-8")
    utc = collect_pg_log(str(log))
    paris = collect_pg_log(str(log), timezone="Europe/Paris")
    assert utc.frame["logged_at"].min() == pd.Timestamp("2026-11-27 05:00:01", tz="UTC")
    assert paris.frame["logged_at"].min() == pd.Timestamp("2026-11-27 04:00:01", tz="UTC")


def test_a_bad_time_zone_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError, match="timezone"):
        collect_pg_log(str(DATA / "cloudnativepg.json"), timezone="Mars/Olympus")


def test_stderr_entry_carries_format_and_severities() -> None:
    got = collect_pg_log(str(DATA / "postgresql-stderr.log"), log_line_prefix="%m [%p] %q%u@%d ")
    assert got.details["format"] == "stderr"
    assert sum(got.details["by_severity"].values()) == len(got.frame)


SYSLOG_PREFIX = "user=%u,db=%d,app=%a "


def test_syslog_across_new_year_joins_parts_and_infers_the_year() -> None:
    got = collect_pg_log(str(DATA / "syslog_newyear.log"), log_line_prefix=SYSLOG_PREFIX)
    assert got.status == "ok", got.reason
    assert got.details == {
        "format": "syslog",
        "by_severity": {"ERROR": 1, "FATAL": 2, "LOG": 2, "WARNING": 1},
    }
    year = pd.Timestamp.now(tz="UTC").year  # January is never in the future: the last line is this year
    assert got.frame["logged_at"].min() == pd.Timestamp(f"{year - 1}-12-31 23:59:58", tz="UTC")
    assert got.frame["logged_at"].max() == pd.Timestamp(f"{year}-01-01 00:00:03", tz="UTC")
    error = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert error["message"].split("\n") == [
        'duplicate key value violates unique constraint "orders_pkey"',
        "Key (id)=(42) already exists.",
        "second continuation line",
    ]
    assert error["user"] == "app" and error["pid"] == 4003


def test_syslog_year_parameter_overrides_the_inference() -> None:
    got = collect_pg_log(str(DATA / "syslog_newyear.log"), log_line_prefix=SYSLOG_PREFIX, syslog_year=2019)
    assert got.frame["logged_at"].min() == pd.Timestamp("2019-12-31 23:59:58", tz="UTC")
    assert got.frame["logged_at"].max() == pd.Timestamp("2020-01-01 00:00:03", tz="UTC")
    with pytest.raises(ParameterError, match="syslog_year"):
        collect_pg_log(str(DATA / "syslog_newyear.log"), syslog_year=26)


def test_rfc5424_syslog() -> None:
    got = collect_pg_log(str(DATA / "syslog_rfc5424.log"), log_line_prefix=SYSLOG_PREFIX, log_format="syslog")
    assert got.status == "ok", got.reason
    assert got.details["by_severity"] == {"ERROR": 1, "FATAL": 1, "LOG": 1}
    assert got.frame["logged_at"].tolist() == [
        pd.Timestamp("2026-11-27 04:00:01.120", tz="UTC"),
        pd.Timestamp("2026-11-27 04:00:02", tz="UTC"),
        pd.Timestamp("2026-11-27 05:00:03", tz="UTC"),
    ]
    assert got.frame["duration_s"].dropna().tolist() == [2.5]
    auto = collect_pg_log(str(DATA / "syslog_rfc5424.log"), log_line_prefix=SYSLOG_PREFIX)
    assert auto.details["format"] == "syslog"


def test_syslog_from_a_server_prefix_with_its_own_time_and_pid() -> None:
    """rsyslog in front of a server that kept %m [%p]: the server's time is read, not the header's."""
    got = collect_pg_log(str(DATA / "syslog_server_prefix.log"), log_line_prefix="%m [%p] %q%u@%d ")
    assert got.status == "ok", got.reason
    assert got.details == {"format": "syslog", "by_severity": {"ERROR": 1, "FATAL": 1, "LOG": 2}}
    assert got.frame["logged_at"].min() == pd.Timestamp("2026-11-27 05:00:01.250", tz="UTC")
    error = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert error["message"].split("\n") == [
        "deadlock detected",
        "Process 4003 waits for ShareLock on transaction 901; blocked by process 4004.",
        "Process 4004 waits for ShareLock on transaction 900; blocked by process 4003.",
    ]
    assert error["statement"] == "UPDATE orders SET paid = true WHERE id = 8" and error["user"] == "app"
    assert got.frame["duration_s"].dropna().tolist() == [1.2505]


def test_syslog_with_rfc3339_headers(tmp_path: Path) -> None:
    """rsyslog's RSYSLOG_FileFormat (Debian 12) and journalctl's short-iso: the same reading."""
    got = collect_pg_log(str(DATA / "syslog_rfc3339.log"), log_line_prefix="%m [%p] %q%u@%d ")
    assert got.status == "ok", got.reason
    assert got.details == {"format": "syslog", "by_severity": {"ERROR": 1, "FATAL": 1, "LOG": 2}}
    assert got.frame["logged_at"].iloc[-1] == pd.Timestamp("2026-11-27 05:00:04.500", tz="UTC")
    error = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert error["message"].endswith("blocked by process 4004.") and error["statement"].endswith("id = 8")
    # a server prefix without a time: the header's time, its offset applied
    log = tmp_path / "syslog"
    log.write_text(
        "2026-11-27T06:00:01.250311+01:00 db1 postgres[812]: [7-1] app@shop FATAL:  too many\n", encoding="utf-8"
    )
    header = collect_pg_log(str(log), log_line_prefix="%q%u@%d ")
    assert header.frame["logged_at"].tolist() == [pd.Timestamp("2026-11-27 05:00:01.250311", tz="UTC")]
    assert header.frame["user"].tolist() == ["app"]


def test_syslog_with_the_default_prefix_is_read(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text(
        "Nov 27 05:19:26 db1 postgres[1234]: [3-1] 2026-11-27 05:19:26.123 UTC [1234] LOG:  checkpoint starting: time\n"
        "Nov 27 05:19:28 db1 postgres[1237]: [6-1] 2026-11-27 05:19:28.000 UTC [1237] FATAL:  sorry, too many clients"
        " already\n",
        encoding="utf-8",
    )
    got = collect_pg_log(str(log))  # log_line_prefix left at its default, '%m [%p] '
    assert got.status == "ok", got.reason
    assert got.details == {"format": "syslog", "by_severity": {"FATAL": 1, "LOG": 1}}
    assert got.frame["pid"].tolist() == [1234, 1237]


def test_amazon_rds_is_read_with_its_fixed_prefix_when_the_given_one_does_not_read_it() -> None:
    got = collect_pg_log(str(DATA / "rds_postgresql.log"))  # the kit's default prefix, '%m [%p] '
    assert got.status == "ok", got.reason
    assert got.details == {"format": "rds", "by_severity": {"ERROR": 1, "FATAL": 1, "LOG": 4}}
    assert "read as Amazon RDS" in got.reason
    refused = got.frame[got.frame["severity"] == "FATAL"].iloc[0]
    assert (refused["user"], refused["database"], refused["client_addr"], refused["pid"]) == (
        "app",
        "shop",
        "10.0.3.17",
        8812,
    )
    timeout = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert timeout["statement"] == "SELECT count(*)\nFROM orders o JOIN order_lines l ON l.order_id = o.id"
    assert got.frame["duration_s"].dropna().tolist() == [3.00125]
    # the server's own prefix given: plain stderr; stderr forced with a wrong prefix: still loud
    assert (
        collect_pg_log(str(DATA / "rds_postgresql.log"), log_line_prefix="%t:%r:%u@%d:[%p]:").details["format"]
        == "stderr"
    )
    forced = collect_pg_log(str(DATA / "rds_postgresql.log"), log_format="stderr")
    assert forced.status == "partial" and forced.meta["suggested_prefix"] == "%t:%r:%u@%d:[%p]:"


def test_heroku_logplex() -> None:
    got = collect_pg_log(str(DATA / "heroku_logplex.log"))
    assert got.details["format"] == "heroku"
    assert got.details["by_severity"] == {"ERROR": 1, "FATAL": 1, "LOG": 1}
    timeout = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert timeout["sqlstate"] == "57014" and timeout["statement"] == "SELECT * FROM orders"
    assert got.lines_skipped == 1  # the router line is not PostgreSQL's


def test_a_century_window_is_the_log_itself() -> None:
    century = Window(pd.Timestamp("1970-01-01", tz="UTC"), pd.Timestamp("2070-01-01", tz="UTC"))
    whole = collect_pg_log(str(DATA / "cloudnativepg.json"))
    windowed = collect_pg_log(str(DATA / "cloudnativepg.json"), window=century)
    pd.testing.assert_frame_equal(windowed.frame, whole.frame)
    assert windowed.status == whole.status == "ok"


@pytest.mark.parametrize(
    ("line", "prefix"),
    [
        ("2026-11-27 05:00:01 UTC [4003]: [1-1] user=app,db=shop LOG:  connection authorized",
         "%t [%p]: [%l-1] user=%u,db=%d "),
        ("2026-11-27 05:00:01 UTC [4003]: [1-1] user=app,db=shop,host=10.0.0.7,app=psql ERROR:  boom",
         "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a "),
        ("2026-11-27 05:00:01.123 UTC [4003] [queryid=-8234] app@shop ERROR:  boom", "%m [%p] [queryid=%Q] %q%u@%d "),
        ("2026-11-27 05:00:01 UTC:10.0.0.7(51234):app@shop:[4003]:ERROR:  boom", "%t:%r:%u@%d:[%p]:"),
        ("2026-11-27 05:00:01 UTC-6566b1f2.1a2b-ERROR:  boom user=app", "%t-%c-"),  # Azure's default
    ],
)  # fmt: skip
def test_common_layouts_are_suggested(tmp_path: Path, line: str, prefix: str) -> None:
    """Amazon RDS/Aurora's fixed '%t:%r:%u@%d:[%p]:' among them (RDS parameter group default;
    with log_format auto it is read as ``rds`` outright)."""
    log = tmp_path / "postgresql.log"
    log.write_text((line + "\n") * 3, encoding="utf-8")
    got = collect_pg_log(str(log), log_line_prefix="%m [%p] ", log_format="stderr")
    assert got.status == "partial"
    assert got.meta["suggested_prefix"] == prefix
    right = collect_pg_log(str(log), log_line_prefix=prefix)
    assert right.status == "ok" and len(right.frame) == 3
    if "%u" in prefix:
        assert right.frame["user"].tolist() == ["app"] * 3


def test_a_server_log_with_an_unknown_prefix_is_not_called_a_stranger(tmp_path: Path) -> None:
    """No known prefix reads it, but its lines carry PostgreSQL's "LEVEL:  ": the prefix is
    wrong (partial, loud, what the server printed quoted), the file is not a stranger."""
    log = tmp_path / "postgresql.log"
    log.write_text(
        "2026-11-27 05:00:01 UTC|db1|LOG:  connection received: host=10.1.0.4 port=50000\n"
        "2026-11-27 05:00:02 UTC|db1|FATAL:  sorry, too many clients already\n",
        encoding="utf-8",
    )
    got = collect_pg_log(str(log))
    assert got.status == "partial" and got.meta["prefix_mismatch"]
    assert "not a PostgreSQL log" not in got.reason
    assert "'2026-11-27 05:00:01 UTC|db1|' before each level" in got.reason
    assert got.meta["lost_errors"] == 1


def test_chunks_outside_the_window_are_skipped_unparsed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from runbook_lib.sources import _files

    log = tmp_path / "postgresql.log"
    start = pd.Timestamp("2026-11-25 00:00", tz="UTC")
    rows = []
    for i in range(3000):  # three days, one record a 86.4 s
        at = start + pd.Timedelta(seconds=86.4 * i)
        rows.append(f"{at:%Y-%m-%d %H:%M:%S}.000 UTC [{100 + i % 7}] ERROR:  boom {i}")
        rows.append("\tsecond line")
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    window = Window(pd.Timestamp("2026-11-26 00:00", tz="UTC"), pd.Timestamp("2026-11-27 00:00", tz="UTC"))
    whole = collect_pg_log(str(log))
    monkeypatch.setattr(_files, "BLOCK_CHUNK_BYTES", 4000)
    monkeypatch.setattr(_files, "_BLOCK_READ_BYTES", 1000)
    got = collect_pg_log(str(log), window=window)
    assert got.meta["files"][0]["chunks_outside_window"] > 20
    assert got.lines_read == whole.lines_read == 6000
    expected = whole.frame[(whole.frame["logged_at"] >= window.start) & (whole.frame["logged_at"] < window.end)]
    pd.testing.assert_frame_equal(got.frame, expected.reset_index(drop=True))
    assert len(got.frame) == 1000 and got.status == "ok"


@pytest.mark.parametrize("block", [997, 1500, 4000])
def test_chunks_starting_inside_a_record_are_skipped_and_the_record_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    """Records of four physical lines: most blocks start inside one (a continuation or a
    DETAIL). Such a block is still skipped, and the record it continues keeps every line."""
    from runbook_lib.sources import _files

    log = tmp_path / "postgresql.log"
    start = pd.Timestamp("2026-11-25 00:00", tz="UTC")
    rows = []
    for i in range(1500):
        at = f"{start + pd.Timedelta(seconds=172.8 * i):%Y-%m-%d %H:%M:%S}.000 UTC [{100 + i % 7}]"
        rows += [f"{at} ERROR:  boom {i}", "\tsecond line", f"{at} DETAIL:  detail {i}", f"{at} STATEMENT:  SELECT {i}"]
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    whole = collect_pg_log(str(log))
    monkeypatch.setattr(_files, "BLOCK_CHUNK_BYTES", block)
    monkeypatch.setattr(_files, "_BLOCK_READ_BYTES", 100)
    blocks = sum(1 for _ in _files.Blocks(log).texts())
    for hours in (0, 5, 13):
        window_start = pd.Timestamp("2026-11-26 00:00", tz="UTC") + pd.Timedelta(hours=hours, seconds=1)
        window = Window(window_start, window_start + pd.Timedelta(hours=7))
        got = collect_pg_log(str(log), window=window)
        assert got.meta["files"][0]["chunks_outside_window"] >= 0.85 * blocks  # 7 h of 72 h read
        assert got.lines_read == whole.lines_read == 6000
        inside = (whole.frame["logged_at"] >= window.start) & (whole.frame["logged_at"] < window.end)
        pd.testing.assert_frame_equal(got.frame, whole.frame[inside].reset_index(drop=True))
        assert got.frame["detail"].notna().all() and got.frame["statement"].notna().all()
        assert got.frame["message"].str.endswith("\nsecond line").all() and got.status == "ok"


def test_an_application_log_given_by_mistake_is_named(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    rows = [
        "2026-11-27 05:00:01,123 INFO [api] request 42 handled in 12 ms",
        "2026-11-27 05:00:02,456 ERROR [api] could not connect to database: connection refused",
        "Traceback (most recent call last):",
        '  File "app.py", line 3, in <module>',
    ]
    log.write_text("\n".join(rows * 5) + "\n", encoding="utf-8")
    got = collect_pg_log(str(log))
    assert got.status == "unavailable"
    assert "looks like an application log, not a PostgreSQL log" in got.reason
    assert "log_line_prefix" not in got.reason


@pytest.mark.parametrize(
    ("today", "year"),
    [(dt.date(2027, 1, 5), 2026), (dt.date(2026, 12, 31), 2026), (dt.date(2026, 6, 1), 2025)],
)
def test_syslog_year_is_this_year_unless_that_is_in_the_future(today: dt.date, year: int) -> None:
    lines = pl.Series(["Dec 30 23:59:58 db1 postgres[4003]: [1-1] LOG:  checkpoint starting: time"])
    pattern = translate_prefix(effective_prefix("syslog", "")).pattern
    out = rewrite(lines, "syslog", pattern, SyslogState(), today=today)
    assert out.to_list() == [f"{year}-12-30 23:59:58.000 [4003] LOG:  checkpoint starting: time"]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("postgresql-stderr.log", {"log_line_prefix": "%m [%p] %q%u@%d "}),
        ("syslog_rfc5424.log", {"log_line_prefix": SYSLOG_PREFIX}),
        ("cloudsql_postgres.json", {}),
        ("heroku_logplex.log", {}),
    ],
)
def test_a_century_window_behaves_like_the_logs_own_span(name: str, kwargs: dict[str, str]) -> None:
    whole = collect_pg_log(str(DATA / name), **kwargs)
    times = whole.frame["logged_at"]
    own = Window(times.min(), times.max() + pd.Timedelta(seconds=1))
    century = Window(pd.Timestamp("2000-01-01", tz="UTC"), pd.Timestamp("2100-01-01", tz="UTC"))
    spanned = collect_pg_log(str(DATA / name), window=own, **kwargs)
    wide = collect_pg_log(str(DATA / name), window=century, **kwargs)
    assert len(whole.frame) > 0
    pd.testing.assert_frame_equal(wide.frame, spanned.frame)
    pd.testing.assert_frame_equal(wide.frame, whole.frame)
    assert (wide.status, wide.details, wide.lines_read) == (spanned.status, spanned.details, spanned.lines_read)
