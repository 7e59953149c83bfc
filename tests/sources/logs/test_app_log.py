"""Application logs: real JSON (bunyan, pino, ECS, generic), logfmt and plain-text samples."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.errors import ParameterError
from runbook_lib.sources.logs.app_log import APP_SCHEMA, collect_app_log
from runbook_lib.timewindow import Window

DATA = Path(__file__).resolve().parents[2] / "data" / "app_logs"


def _schema_ok(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(APP_SCHEMA)
    for column, dtype in APP_SCHEMA.items():
        assert str(frame[column].dtype) == dtype, column


def test_bunyan_numeric_levels() -> None:
    got = collect_app_log(str(DATA / "lnav_bunyan.jsonl"))
    assert got.status == "ok" and len(got.frame) == 10
    _schema_ok(got.frame)
    assert got.frame["level"].value_counts().to_dict() == {"debug": 9, "info": 1}  # 20 / 30
    assert (got.frame["logger"] == "renovate").all()
    assert got.frame["logged_at"].iloc[0] == pd.Timestamp("2023-03-24 14:26:16.243", tz="UTC")
    assert got.frame["message"].iloc[0] == "Found gitlabci-include package files"


def test_pino_epoch_milliseconds() -> None:
    f = collect_app_log(str(DATA / "lnav_pino.jsonl")).frame
    assert len(f) == 1
    assert f["logged_at"].iloc[0] == pd.Timestamp(1745532517537, unit="ms", tz="UTC")
    assert (f["level"].iloc[0], f["logger"].iloc[0]) == ("info", "payment")
    assert f["message"].iloc[0] == "Charge request received."


def test_ecs_nested_fields() -> None:
    f = collect_app_log(str(DATA / "lnav_ecs_log.jsonl")).frame
    assert f["level"].tolist() == ["debug", "info", "warning", "error", "critical"]
    assert (f["logger"] == "app").all()
    assert f["message"].iloc[0] == "this is a debug message num=39"


def test_generic_json_odd_levels_and_a_bad_timestamp() -> None:
    got = collect_app_log(str(DATA / "lnav_json.jsonl"))
    assert got.status == "partial" and got.lines_skipped == 1  # {"ts": "xxx", …}
    assert '"ts": "xxx"' in got.samples[0]
    f = got.frame
    assert len(f) == got.lines_read - 1 == 13
    assert f["level"].value_counts().to_dict() == {
        "debug": 5, "info": 2, "critical": 2, "trace": 1, "stats": 1, "warning": 1, "error": 1,
    }  # fmt: skip
    assert f["logger"].iloc[0] == "com.example.foo.bar.bazzer"
    assert "\x1b[0;32m" in f["message"].iloc[1]  # kept as data; escaped when displayed


def test_invalid_json_lines_are_counted() -> None:
    got = collect_app_log(str(DATA / "lnav_invalid_json.jsonl"))
    assert got.status == "partial"
    assert (got.lines_read, got.lines_skipped, len(got.frame)) == (5, 1, 4)
    assert "malformed" in got.reason
    assert got.frame["message"].tolist()[:2] == ["trace test", "Starting up service"]  # @fields


def test_logfmt_samples() -> None:
    k8s = collect_app_log(str(DATA / "lnav_logfmt.0")).frame
    assert k8s["level"].tolist()[:3] == ["error", "warning", "info"]
    assert k8s["message"].iloc[1] == "Failed to DeletePod in the provider"
    live = collect_app_log(str(DATA / "live_logfmt" / "*.log"))
    assert live.status == "ok" and len(live.frame) == live.lines_read
    assert {Path(p).name for p in live.frame["source_file"]} == {
        "alertmanager-0.25.0.logfmt.log", "node_exporter-1.5.0.logfmt.log",
        "prometheus-2.42.0.logfmt.log",
    }  # fmt: skip
    warn = live.frame[live.frame["level"] == "warning"]
    assert warn["message"].str.contains("running as root").any()


def test_plain_text_java_log() -> None:
    f = collect_app_log(str(DATA / "lnav_java.0")).frame
    assert len(f) == 20 and (f["level"] == "info").all()
    assert f["logger"].iloc[0] == "Version"
    assert f["message"].iloc[0] == "HV000001: Hibernate Validator 8.0.1.Final"
    assert f["logged_at"].iloc[0] == pd.Timestamp("2025-01-24 07:00:30.139", tz="UTC")


def test_stack_trace_continues_the_record(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "  orphan line before any record\n"
        "2026-11-27 10:00:00,100 ERROR [main] com.shop.Pay: charge failed\n"
        "java.lang.IllegalStateException: card declined\n"
        "\tat com.shop.Pay.charge(Pay.java:42)\n"
        "\tat com.shop.Api.handle(Api.java:7)\n"
        "2026-11-27 10:00:01.5+01:00 WARN retrying\n"
    )
    got = collect_app_log(str(log))
    assert got.lines_skipped == 1 and got.status == "partial"
    first, second = got.frame.iloc[0], got.frame.iloc[1]
    assert (first["level"], first["logger"]) == ("error", "com.shop.Pay")
    assert first["message"].splitlines() == [
        "charge failed", "java.lang.IllegalStateException: card declined",
        "\tat com.shop.Pay.charge(Pay.java:42)", "\tat com.shop.Api.handle(Api.java:7)",
    ]  # fmt: skip
    assert second["logged_at"] == pd.Timestamp("2026-11-27 09:00:01.5", tz="UTC")
    assert second["level"] == "warning"


def test_user_pattern_and_window(tmp_path: Path) -> None:
    log = tmp_path / "custom.log"
    log.write_text(
        "2026-11-27T10:00:00Z|payments|error|upstream 429 rate limit\n"
        "  detail: retry-after 30\n"
        "2026-11-27T11:00:00Z|payments|info|ok\n"
    )
    pattern = r"(?P<ts>\S+?)\|(?P<logger>\w+)\|(?P<level>\w+)\|(?P<message>.*)"
    got = collect_app_log(str(log), pattern=pattern)
    assert got.status == "ok"
    assert got.frame["message"].iloc[0] == "upstream 429 rate limit\n  detail: retry-after 30"
    window = Window(pd.Timestamp("2026-11-27 10:30", tz="UTC"), pd.Timestamp("2026-11-27 12:00", tz="UTC"))
    inside = collect_app_log(str(log), pattern=pattern, window=window)
    assert inside.frame["message"].tolist() == ["ok"]
    with pytest.raises(ParameterError):
        collect_app_log(str(log), pattern="(?P<ts>")


def test_missing_and_unset() -> None:
    gone = collect_app_log("/nonexistent/app.log")
    assert gone.status == "unavailable" and "file not found" in gone.reason
    _schema_ok(gone.frame)
    assert collect_app_log("").status == "skipped"


def test_nothing_readable_is_unavailable(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("no timestamps here\nnor here\n")
    got = collect_app_log(str(log))
    assert got.status == "unavailable" and got.lines_skipped == 2
    assert "could be read as app_log records" in got.reason


def test_bracketed_component_is_the_logger(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(
        "2026-11-27T06:03:29.143Z ERROR [payments] Payment provider call failed: timeout after 5000ms\n"
        "2026-11-27T06:03:30.000Z INFO [main] com.example.Api: started\n"
    )
    frame = collect_app_log(str(log)).frame
    assert list(frame["logger"]) == ["payments", "com.example.Api"]
    assert frame["message"].iloc[0] == "Payment provider call failed: timeout after 5000ms"
