"""The PostgreSQL log source on real logs: three formats, many prefixes, pgBadger's counts."""

from __future__ import annotations

import gzip
import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.pg_log_events import count_pg_log_events, find_pg_log_findings
from runbook_lib.errors import ParameterError
from runbook_lib.sources import _files as files
from runbook_lib.sources.pg import log as pg_log
from runbook_lib.sources.pg.log import PG_LOG_SCHEMA, collect_pg_log
from runbook_lib.sources.pg.log_prefix import translate_prefix
from runbook_lib.timewindow import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "pg_log"
LIVE = {
    "stderr": DATA / "postgresql-stderr.log",
    "csvlog": DATA / "postgresql-csvlog.csv",
    "jsonlog": DATA / "postgresql-jsonlog.json",
}
ORACLE = {
    "stderr": "pgbadger_stderr.json",
    "csvlog": "pgbadger_csv.json",
    "jsonlog": "pgbadger_jsonlog.json",
}


def live_prefix() -> str:
    """log_line_prefix exactly as the live server's postgresql.conf set it."""
    text = (DATA / "postgresql.conf.excerpt").read_text(encoding="utf-8")
    match = re.search(r"^log_line_prefix\s*=\s*'([^']*)'", text, re.M)
    assert match
    return match[1]


def oracle(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((DATA / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def collect_live(fmt: str, **kw: object) -> pg_log.Collected:
    return collect_pg_log(str(LIVE[fmt]), log_line_prefix=live_prefix(), **kw)  # type: ignore[arg-type]


def assert_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(PG_LOG_SCHEMA)
    assert {c: str(t) for c, t in frame.dtypes.items()} == PG_LOG_SCHEMA


@pytest.mark.parametrize("fmt", ["stderr", "csvlog", "jsonlog"])
def test_live_session_matches_pgbadger_in_every_format(fmt: str) -> None:
    got = collect_live(fmt)
    assert got.status == "ok", got.reason
    assert_schema(got.frame)
    assert got.meta["files"][0]["format"] == fmt
    totals = count_pg_log_events(got.frame)
    stat = oracle(f"pgbadger12_oracle/{ORACLE[fmt]}")["overall_stat"]
    assert totals["queries"] == stat["queries_number"]
    assert totals["errors"] == stat["errors_number"]
    levels = oracle(f"pgbadger12_oracle/{ORACLE[fmt]}")["logs_type"]["postgres"]
    for level in ("ERROR", "FATAL"):
        assert int((got.frame["severity"] == level).sum()) == levels[level]


def test_three_formats_give_the_same_records() -> None:
    # records of the same millisecond reach the destinations in different orders
    frames = {
        fmt: collect_live(fmt).frame.sort_values(["logged_at", "pid", "message"], kind="stable").reset_index(drop=True)
        for fmt in LIVE
    }
    stderr, csv, js = frames["stderr"], frames["csvlog"], frames["jsonlog"]
    assert len(stderr) == len(csv) == len(js) > 0
    for other in (csv, js):
        assert (stderr["logged_at"].to_numpy() == other["logged_at"].to_numpy()).all()
        assert (stderr["pid"].to_numpy() == other["pid"].to_numpy()).all()
        assert stderr["severity"].tolist() == other["severity"].tolist()
        assert stderr["duration_s"].fillna(-1).tolist() == other["duration_s"].fillna(-1).tolist()
        for column in ("user", "database", "detail", "hint"):
            assert stderr[column].fillna("").tolist() == other[column].fillna("").tolist(), column


def test_deadlock_record_folds_detail_hint_context_statement_like_pgbadger() -> None:
    frame = collect_live("stderr").frame
    deadlock = frame[frame["message"] == "deadlock detected"]
    assert len(deadlock) == 1
    row = deadlock.iloc[0]
    info = oracle("pgbadger12_oracle/pgbadger_stderr.json")["error_info"]["postgres"]
    expected = info["ERROR:  deadlock detected"]
    # pgBadger keeps PostgreSQL's continuation tab; we drop it (it is not part of the text)
    assert row["detail"] == expected["detail"][0].replace("\n\t", "\n")
    assert "\n" in row["detail"]
    assert row["hint"] == expected["hint"][0]
    assert row["context"] == expected["context"][0]
    assert row["statement"] == expected["statement"][0]
    assert (row["user"], row["database"], row["application_name"]) == ("postgres", "bench", "psql")


def test_session_fields_and_unknown_values() -> None:
    frame = collect_live("stderr").frame
    received = frame[frame["message"].str.startswith("connection received")]
    assert len(received) > 0
    assert received["user"].isna().all() and received["database"].isna().all()
    startup = frame[frame["message"].str.startswith("starting PostgreSQL")].iloc[0]
    assert pd.isna(startup["user"]) and startup["pid"] == 24940
    assert startup["logged_at"] == pd.Timestamp("2026-11-27 05:19:26.877", tz="UTC")
    missing_db = frame[frame["message"].str.contains('database "nosuchdb" does not exist')]
    assert missing_db["severity"].tolist() == ["FATAL"]
    assert missing_db["database"].tolist() == ["nosuchdb"]
    slow = frame.dropna(subset=["duration_s"])
    first = slow.iloc[0]
    assert first["duration_s"] == pytest.approx(0.059911)
    assert first["statement"] == "CREATE DATABASE bench;"
    assert first["application_name"] == "createdb"


def test_light_log_and_pre13_csvlog_match_their_pgbadger_reports() -> None:
    light = collect_pg_log(
        str(DATA / "light.postgres.log"),
        log_line_prefix="%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ",
    )
    assert light.status == "ok"
    stat = oracle("light.postgres.log.pgbadger12.json")["overall_stat"]
    totals = count_pg_log_events(light.frame)
    assert (totals["queries"], totals["errors"]) == (stat["queries_number"], stat["errors_number"])
    assert set(light.frame["client_addr"].dropna()) == {"172.23.0.1"}

    csv23 = collect_pg_log(str(DATA / "anonymize.log"))  # 23-column csvlog, detected by content
    assert csv23.meta["files"][0]["format"] == "csvlog"
    stat = oracle("anonymize.log.pgbadger12.json")["overall_stat"]
    totals = count_pg_log_events(csv23.frame)
    assert (totals["queries"], totals["errors"]) == (stat["queries_number"], stat["errors_number"])
    assert set(csv23.frame["client_addr"]) == {"127.0.0.1"}
    assert set(csv23.frame["application_name"]) == {"PostgreSQL JDBC Driver"}
    # CET is UTC+1
    assert csv23.frame["logged_at"].max() == pd.Timestamp("2021-01-22 09:03:22.785", tz="UTC")


def test_pg14_csvlog_columns_and_statement_without_duration() -> None:
    got = collect_pg_log(str(DATA / "csv_statement_without_duration.log"))
    assert got.status == "ok" and len(got.frame) == 2
    slow, health = got.frame.iloc[0], got.frame.iloc[1]
    assert slow["duration_s"] == pytest.approx(688.786283)
    assert slow["statement"].startswith("SELECT example_schema.slow_table.id")
    assert (slow["client_addr"], slow["application_name"]) == ("192.0.2.10", "example app")
    assert pd.isna(health["duration_s"])
    assert health["statement"] == "SELECT example_schema.health_check()"


def test_gzip_stderr_and_jsonlog_of_the_same_vacuums_agree() -> None:
    text = collect_pg_log(
        str(DATA / "pg_vacuums.log.gz"),
        log_line_prefix="%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a ",
    )
    js = collect_pg_log(str(DATA / "pg_vacuums.json.gz"))
    assert text.status == js.status == "ok"
    raw = gzip.decompress((DATA / "pg_vacuums.log.gz").read_bytes()).decode()
    headers = sum(1 for line in raw.splitlines() if re.match(r"^\d{4}-\d\d-\d\d ", line))
    assert len(text.frame) == headers == len(js.frame)
    # tab-continued report lines are folded into one multi-line message, as jsonlog has it
    assert text.frame["message"].tolist() == js.frame["message"].tolist()
    assert text.frame["message"].str.contains("\n").sum() > 100
    # %t has whole seconds, jsonlog milliseconds: same instant to the second, CEST -> UTC
    delta = (js.frame["logged_at"] - text.frame["logged_at"]).dt.total_seconds()
    assert delta.between(0, 1).all()
    assert text.frame["logged_at"].iloc[0] == pd.Timestamp("2024-06-26 22:00:07", tz="UTC")


def test_pg_ctl_noise_is_skipped_not_fatal() -> None:
    got = collect_pg_log(str(DATA / "pg_rawcsv.log"), log_line_prefix="%m [%p] %q%u@%d ")
    assert got.status == "ok"
    assert got.lines_skipped == 2
    assert "pg_ctl: could not start server" in got.samples
    assert "skipped" in got.reason
    fatal = got.frame[got.frame["severity"] == "FATAL"]
    assert fatal["message"].str.contains("contains errors").all() and len(fatal) == 1
    error = got.frame[got.frame["message"].str.startswith("conflicting values")].iloc[0]
    assert (error["user"], error["database"]) == ("gilles", "gilles")
    assert error["statement"] == "SELECT TO_DATE('311299999','DDMMYYYYY');"


def test_rotated_set_by_glob_with_zones() -> None:
    got = collect_pg_log(str(DATA / "lnav_postgres.*"), log_line_prefix="%m [%p] ")
    assert got.status == "ok", got.reason
    assert len(got.meta["files"]) == 3
    assert got.frame["source_file"].nunique() == 3
    first = got.frame[got.frame["message"].str.startswith("starting PostgreSQL 15.4")].iloc[0]
    assert first["logged_at"] == pd.Timestamp("2025-08-13 08:45:01.123", tz="UTC")  # PDT = UTC-7
    multi = got.frame[got.frame["message"].str.startswith('syntax error at or near "null"')]
    assert multi["statement"].str.contains("\n").all() and len(multi) >= 1


def test_prefixes_with_unknown_escape_xid_and_tab_continued_detail() -> None:
    stmt = collect_pg_log(str(DATA / "stmt_type.log"), log_line_prefix="%m %z [%p]")
    assert stmt.status == "ok" and stmt.meta["ignored_escapes"] == ["%z"]
    assert len(stmt.frame) == 12 and stmt.frame["duration_s"].notna().all()
    assert stmt.frame["logged_at"].iloc[0] == pd.Timestamp("2019-10-21 09:03:31.311", tz="UTC")

    rng = collect_pg_log(
        str(DATA / "postgresql_param_range.log"),
        log_line_prefix="%t [%p]: [%l-1] [%x] usr=%u,db=%d,appli=%a ",
    )
    assert rng.status == "ok" and len(rng.frame) == 3
    assert "76ae131687c458a8" in set(rng.frame["application_name"])
    assert rng.frame["detail"].str.startswith("parameters: $1 =").all()

    multi = collect_pg_log(str(DATA / "multiline_param.log"), log_line_prefix="%m [%p] user=%u,db=%d ")
    details = multi.frame["detail"].dropna()
    assert details.str.contains("'njchar\nhello'", regex=False).any()

    begin = collect_pg_log(str(DATA / "begin_end.log"), log_line_prefix="%t [%p]: db=%d,user=%u,app=%a,client=%h ")
    assert set(begin.frame["client_addr"]) == {"[local]"}
    assert begin.frame["user"].isna().sum() == (begin.frame["message"].str.startswith("connection received")).sum()


def test_wrong_prefix_is_partial_loud_and_suggests_the_right_one() -> None:
    got = collect_pg_log(str(LIVE["stderr"]), log_line_prefix="%t [%p]: [%l-1] ")
    assert got.status == "partial"
    assert "log_line_prefix" in got.reason and "does not match" in got.reason
    assert got.meta["prefix_mismatch"] is True
    assert got.meta["suggested_prefix"] == live_prefix()
    assert got.samples and got.samples[0].startswith("2026-11-27 05:19:26.877 UTC [24940] LOG:")
    findings = find_pg_log_findings(got)
    loud = [f for f in findings if f.kind == "pg_log_prefix_mismatch"]
    assert loud and loud[0].severity == "high"
    assert live_prefix() in loud[0].summary


def test_truncated_gzip_keeps_what_was_readable(tmp_path: Path) -> None:
    whole = (DATA / "pg_vacuums.log.gz").read_bytes()
    cut = tmp_path / "cut.log.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    prefix = "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a "
    full = collect_pg_log(str(DATA / "pg_vacuums.log.gz"), log_line_prefix=prefix)
    got = collect_pg_log(str(cut), log_line_prefix=prefix)
    assert got.status == "partial"
    assert "truncated" in got.reason
    assert 0 < len(got.frame) < len(full.frame)


def test_missing_file_and_empty_parameter() -> None:
    got = collect_pg_log("/nonexistent/postgresql.log")
    assert got.status == "unavailable"
    assert "missing" in got.reason
    assert_schema(got.frame)
    assert len(got.frame) == 0
    assert [f.severity for f in find_pg_log_findings(got)] == ["unknown"]
    assert collect_pg_log("").status == "skipped"
    with pytest.raises(ParameterError):
        collect_pg_log(str(LIVE["stderr"]), log_format="eventlog")


def test_one_missing_file_among_several_is_partial(tmp_path: Path) -> None:
    got = collect_pg_log(f"{LIVE['stderr']},{tmp_path / 'gone.log'}", log_line_prefix=live_prefix())
    assert got.status == "partial" and "gone.log" in got.reason
    assert len(got.frame) == len(collect_live("stderr").frame)


def test_window_filters_records() -> None:
    full = collect_live("stderr").frame
    window = Window(pd.Timestamp("2026-11-27 05:19:36", tz="UTC"), pd.Timestamp("2026-11-27 05:19:38", tz="UTC"))
    got = collect_live("stderr", window=window)
    assert got.status == "ok"
    expected = full[(full["logged_at"] >= window.start) & (full["logged_at"] < window.end)]
    assert 0 < len(got.frame) < len(full)
    assert got.frame["logged_at"].tolist() == expected["logged_at"].tolist()
    assert got.lines_read == collect_live("stderr").lines_read  # the whole file was read


def test_small_chunks_give_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """Records that straddle a chunk boundary are carried over, not cut in two."""
    prefix = "%t [%p]: [%l-1] user=%u,db=%d,host=%h,app=%a "
    expected_live = collect_live("stderr").frame
    expected_vac = collect_pg_log(str(DATA / "pg_vacuums.log.gz"), log_line_prefix=prefix).frame
    expected_structured = {fmt: collect_live(fmt).frame for fmt in ("csvlog", "jsonlog")}
    monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", 3000)
    monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 1000)
    got_live = collect_live("stderr")
    got_vac = collect_pg_log(str(DATA / "pg_vacuums.log.gz"), log_line_prefix=prefix)
    pd.testing.assert_frame_equal(got_live.frame, expected_live)
    pd.testing.assert_frame_equal(got_vac.frame, expected_vac)
    assert got_live.lines_read == len(LIVE["stderr"].read_text(encoding="utf-8").splitlines())
    for fmt, expected in expected_structured.items():
        pd.testing.assert_frame_equal(collect_live(fmt).frame, expected)


def test_multi_member_gzip_and_explicit_wrong_format(tmp_path: Path) -> None:
    joined = tmp_path / "two.log.gz"
    raw = LIVE["stderr"].read_bytes()
    joined.write_bytes(gzip.compress(raw) + gzip.compress(raw))
    got = collect_pg_log(str(joined), log_line_prefix=live_prefix())
    assert len(got.frame) == 2 * len(collect_live("stderr").frame)
    wrong = collect_pg_log(str(LIVE["stderr"]), log_format="jsonlog")
    assert wrong.status == "partial" and "not jsonlog" in wrong.reason


def test_directory_of_logs(tmp_path: Path) -> None:
    for fmt in ("csvlog", "jsonlog"):
        shutil.copy(LIVE[fmt], tmp_path / LIVE[fmt].name)
    got = collect_pg_log(str(tmp_path))
    assert {f["format"] for f in got.meta["files"]} == {"csvlog", "jsonlog"}
    assert len(got.frame) == 2 * len(collect_live("csvlog").frame)
    assert got.frame["logged_at"].is_monotonic_increasing


def test_prefix_translation_covers_the_escapes() -> None:
    pattern = translate_prefix("%m %t %n [%p] %u %d %a %h %r %c %l %s %v %x %e %% %i %b %q%L ")
    assert {"ts", "epoch", "pid", "user", "database", "application_name", "client_addr",
            "session_id", "sqlstate", "severity"} <= set(pattern.groups)  # fmt: skip
    line = (
        "2026-01-02 03:04:05.678 UTC 2026-01-02 03:04:05 UTC 1767323045.678 [42] alice shop web "
        "10.0.0.1 10.0.0.1(5432) 6b0912de.616c 7 2026-01-02 03:00:00 UTC 3/17 0 57014 % SELECT "
        "client backend 10.0.0.2 ERROR:  canceling statement due to statement timeout"
    )
    match = pattern.compiled().match(line)
    assert match is not None
    assert match["pid"] == "42" and match["sqlstate"] == "57014" and match["session_id"] == "6b0912de.616c"
    assert match["user"] == "alice" and match["application_name"] == "web"


def test_epoch_prefix_and_a_prefix_without_time(tmp_path: Path) -> None:
    log = tmp_path / "epoch.log"
    log.write_text(
        "1767323045.678 [42] ERROR:  boom\n\tsecond line\n1767323046.000 [42] DETAIL:  why\n",
        encoding="utf-8",
    )
    got = collect_pg_log(str(log), log_line_prefix="%n [%p] ")
    assert got.status == "ok" and len(got.frame) == 1
    row = got.frame.iloc[0]
    assert row["logged_at"] == pd.Timestamp(1767323045678, unit="ms", tz="UTC")
    assert (row["message"], row["detail"]) == ("boom\nsecond line", "why")

    bare = tmp_path / "bare.log"
    bare.write_text("[42] ERROR:  boom\n", encoding="utf-8")
    undated = collect_pg_log(str(bare), log_line_prefix="[%p] ")
    assert len(undated.frame) == 1 and undated.frame["logged_at"].isna().all()
    assert "without a readable time" in undated.reason


def test_bzip2_and_garbage_after_a_gzip_member(tmp_path: Path) -> None:
    import bz2

    raw = LIVE["stderr"].read_bytes()
    packed = tmp_path / "postgresql.log.bz2"
    packed.write_bytes(bz2.compress(raw))
    got = collect_pg_log(str(packed), log_line_prefix=live_prefix())
    assert got.status == "ok" and len(got.frame) == len(collect_live("stderr").frame)
    dirty = tmp_path / "dirty.log.gz"
    dirty.write_bytes(gzip.compress(raw) + b"\x1f\x8b\x08garbage")
    broken = collect_pg_log(str(dirty), log_line_prefix=live_prefix())
    assert broken.status == "partial" and "corrupt gzip" in broken.reason
    assert len(broken.frame) == len(got.frame)


def test_plain_path_brings_its_rotations(tmp_path: Path) -> None:
    raw = LIVE["stderr"].read_bytes()
    (tmp_path / "postgresql.log").write_bytes(raw)
    (tmp_path / "postgresql.log.1.gz").write_bytes(gzip.compress(raw))
    got = collect_pg_log(str(tmp_path / "postgresql.log"), log_line_prefix=live_prefix())
    assert [Path(f["path"]).name for f in got.meta["files"]] == ["postgresql.log.1.gz", "postgresql.log"]
    assert len(got.frame) == 2 * len(collect_live("stderr").frame)


def test_one_file_with_another_prefix_is_named(tmp_path: Path) -> None:
    shutil.copy(LIVE["stderr"], tmp_path / "a.log")
    # another server's prefix: '%t [%p]: [%l-1] user=%u,…' has no milliseconds, no user@db/app
    (tmp_path / "b.log").write_text((DATA / "light.postgres.log").read_text(encoding="utf-8"), encoding="utf-8")
    got = collect_pg_log(f"{tmp_path / 'a.log'},{tmp_path / 'b.log'}", log_line_prefix=live_prefix())
    assert got.status == "partial"
    assert got.meta["mismatched_files"] == ["b.log"]
    assert "does not match b.log" in got.reason
    assert got.meta["files"][0]["prefix_match_ratio"] == 1.0


def test_session_fields_come_from_connection_lines_when_the_prefix_lacks_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    got = collect_pg_log(str(DATA / "lnav_postgres.0"), log_line_prefix="%m [%p] ")
    error = got.frame[got.frame["severity"] == "ERROR"].iloc[0]
    assert (error["user"], error["database"], error["client_addr"]) == ("appuser", "maindb", "192.168.1.100")
    admin = got.frame[got.frame["pid"] == 12401]
    assert set(admin["client_addr"]) == {"192.168.1.102"}
    assert admin["user"].isna().sum() == 1  # "connection received" comes before authorization
    assert got.frame[got.frame["pid"] == 12345]["user"].isna().all()  # the postmaster has no session
    # a session that straddles chunks keeps its fields
    expected = got.frame
    monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", 600)
    monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 300)
    again = collect_pg_log(str(DATA / "lnav_postgres.0"), log_line_prefix="%m [%p] ")
    pd.testing.assert_frame_equal(again.frame, expected)


def test_hostile_bytes_and_an_oversized_csv_field_do_not_stop_the_read(tmp_path: Path) -> None:
    raw = LIVE["stderr"].read_bytes()
    cut = raw.index(b"\n", 5000) + 1
    hostile = tmp_path / "hostile.log"
    hostile.write_bytes(
        raw[:cut]
        + b"\xff\xfe binary \x00 garbage\n"
        + b"A" * 1_000_000
        + b"\n2026-11-27 05:19:40.000 UTC [1] postgres@bench/psql ERROR:  caf\xe9 latin-1\n"
        + raw[cut:]
    )
    got = collect_pg_log(str(hostile), log_line_prefix=live_prefix())
    assert got.status == "ok" and got.lines_skipped == 2
    assert len(got.frame) == len(collect_live("stderr").frame) + 1
    assert got.frame[got.frame["pid"] == 1]["message"].tolist() == ["caf\ufffd latin-1"]
    assert all(len(s) <= 301 for s in got.samples)

    csv_raw = LIVE["csvlog"].read_text(encoding="utf-8").splitlines(keepends=True)
    huge = '2026-11-27 05:19:40.000 UTC,,,1,,x.y,1,,,,0,LOG,00000,"' + "B" * 200_000 + '"\n'
    broken = tmp_path / "broken.csv"
    broken.write_text("".join([*csv_raw[:10], huge, *csv_raw[10:]]), encoding="utf-8")
    read = collect_pg_log(str(broken))
    assert len(read.frame) == len(collect_live("csvlog").frame)
    assert read.lines_skipped == 1 and "field larger than field limit" in read.samples[0]


def test_daylight_saving_switch_inside_one_file(tmp_path: Path) -> None:
    log = tmp_path / "dst.log"
    log.write_text(
        "2026-10-25 02:59:59.500 CEST [7] LOG:  before the switch\n"
        "2026-10-25 02:00:00.500 CET [7] LOG:  after the switch\n"
        "2026-10-25 02:00:01.000 XYZ [7] LOG:  unknown zone\n",
        encoding="utf-8",
    )
    got = collect_pg_log(str(log))
    assert got.frame["logged_at"].tolist() == [
        pd.Timestamp("2026-10-25 00:59:59.500", tz="UTC"),
        pd.Timestamp("2026-10-25 01:00:00.500", tz="UTC"),
        pd.Timestamp("2026-10-25 02:00:01", tz="UTC"),
    ]
    assert "XYZ" in got.reason and "read as UTC" in got.reason


def test_continuations_read_the_same_folded_or_line_by_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # chunks of ~200 bytes cut records at every place; a continuation after a blank line and
    # one after a foreign line make their chunks fall back to the line-by-line reading
    rows = []
    for i in range(60):
        rows.append(f"2026-11-27 13:30:{i:02d}.000 UTC [{i % 3}] ERROR:  bad {i}")
        rows.append(f"\tline two of {i}")
        if i % 7 == 0:
            rows.append("" if i % 2 else "pg_ctl: noise")
            rows.append(f"\tafter a gap {i}")
        rows.append(f"2026-11-27 13:30:{i:02d}.001 UTC [{i % 3}] STATEMENT:  SELECT {i}")
        rows.append("\tFROM t")
    log = tmp_path / "postgresql.log"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    whole = collect_pg_log(str(log))
    monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", 200)
    monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 64)
    cut = collect_pg_log(str(log))
    for got in (whole, cut):
        assert got.frame["message"].tolist()[:2] == ["bad 0\nline two of 0\nafter a gap 0", "bad 1\nline two of 1"]
        assert got.frame["statement"].tolist()[1] == "SELECT 1\nFROM t"
        assert (got.lines_read, got.lines_skipped, len(got.frame)) == (len(rows), 5, 60)
    pd.testing.assert_frame_equal(whole.frame, cut.frame)
