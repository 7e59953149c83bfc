"""nginx and Apache 2.2/2.4 error logs: real files from nginx 1.22, Apache 2.4.71 and beats."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runbook_lib.sources.logs.error_log import ERROR_SCHEMA, collect_error_log
from runbook_lib.timewindow import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "error_logs"


def _schema_ok(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(ERROR_SCHEMA)
    for column, dtype in ERROR_SCHEMA.items():
        assert str(frame[column].dtype) == dtype, column


def test_live_nginx_error_log() -> None:
    got = collect_error_log(str(DATA / "nginx_live_1.22.1" / "error.log"))
    assert got.status == "ok" and got.lines_skipped == 0
    f = got.frame
    _schema_ok(f)
    text = (DATA / "nginx_live_1.22.1" / "error.log").read_text()
    assert len(f) == sum(1 for line in text.splitlines() if line.strip())
    refused = f[f["message"].str.startswith("connect() failed (111: Connection refused)")]
    assert len(refused) > 0
    first = refused.iloc[0]
    assert (first["level"], first["client_ip"], first["server"]) == ("error", "127.0.0.1", "localhost")
    assert first["request"] == "GET /api/dead HTTP/1.0"
    assert first["upstream"] == "http://127.0.0.1:5999/api/dead"
    assert first["pid"] == 22232
    timeouts = f[f["message"].str.contains("upstream timed out (110", regex=False)]
    assert len(timeouts) > 0 and (timeouts["upstream"].str.contains("5002")).all()
    assert f["logged_at"].iloc[0] == pd.Timestamp("2026-11-27 05:18:49", tz="UTC")
    assert set(f["level"]) <= {"notice", "info", "error", "warning", "critical", "alert", "emerg"}


def test_nginx_multiline_fastcgi_message_is_one_record() -> None:
    got = collect_error_log(str(DATA / "beats_nginx_error.log"))
    assert got.status == "ok" and got.lines_read == 6
    f = got.frame
    assert len(f) == 4
    fastcgi = f.iloc[2]
    assert fastcgi["message"].startswith("FastCGI sent in stderr")
    assert fastcgi["message"].count("\nPHP message:") == 2
    assert f.iloc[3]["request"] == "GET /pysio HTTP/1.1"


def test_apache_24_and_22_formats() -> None:
    live = collect_error_log(str(DATA / "apache_live_2.4.71" / "error.log")).frame
    _schema_ok(live)
    proxy = live[live["message"].str.contains("AH00957", regex=False)]
    assert len(proxy) > 0
    assert proxy.iloc[0]["message"].startswith("[proxy] (111)Connection refused: AH00957")
    assert proxy.iloc[0]["level"] == "error"
    first = live.iloc[0]
    assert first["logged_at"] == pd.Timestamp("2026-11-27 05:21:27.576045", tz="UTC")
    assert first["pid"] == 28728 and first["level"] == "notice"
    missing = live[live["message"].str.contains("AH00128", regex=False)].iloc[0]
    assert missing["client_ip"] == "127.0.0.1"  # "[client 127.0.0.1:59400]" without the port
    old = collect_error_log(str(DATA / "beats_apache_error_ubuntu-2.2.22.log")).frame
    assert len(old) == 7 and old["pid"].isna().all()
    assert old["client_ip"].iloc[1] == "192.168.33.1"
    mixed = collect_error_log(str(DATA / "beats_apache_error_test.log")).frame
    assert mixed["pid"].isna().tolist() == [True, False, False]
    assert mixed["pid"].iloc[1:].tolist() == [11379, 35708]
    trace = collect_error_log(str(DATA / "beats_apache_error_sublevel.log")).frame
    assert trace["level"].tolist() == ["trace"]
    assert trace["message"].iloc[0].startswith("[rewrite] mod_rewrite.c(470)")


def test_window_timezone_and_broken_lines(tmp_path: Path) -> None:
    log = tmp_path / "error.log"
    log.write_text(
        "garbage before any record\n"
        "2026/11/27 10:00:00 [warn] 1#1: *1 a warning, client: 10.0.0.1, server: s\n"
        "2026/11/27 11:00:00 [crit] 1#1: *2 critical thing, client: 10.0.0.2, server: s\n"
        "2026/11/27 12:00:00 [error] 1#1: *3 late, client: 10.0.0.3, server: s\n"
    )
    window = Window(pd.Timestamp("2026-11-27 10:30", tz="UTC"), pd.Timestamp("2026-11-27 11:30", tz="UTC"))
    got = collect_error_log(str(log), window=window)
    assert got.status == "partial" and got.lines_skipped == 1
    assert got.samples == ["garbage before any record"]
    assert got.frame["level"].tolist() == ["critical"]
    assert got.meta["records_outside_window"] == 2
    # The server logs local time: in Tehran (+03:30) 11:00 local is 07:30 UTC.
    tehran = collect_error_log(str(log), tz="Asia/Tehran")
    assert tehran.frame["logged_at"].iloc[1] == pd.Timestamp("2026-11-27 07:30", tz="UTC")
    assert tehran.frame["level"].tolist() == ["warning", "critical", "error"]


def test_missing_and_unset() -> None:
    gone = collect_error_log("/nonexistent/error.log")
    assert gone.status == "unavailable" and "file not found" in gone.reason
    _schema_ok(gone.frame)
    assert collect_error_log("").status == "skipped"
