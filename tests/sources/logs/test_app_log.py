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


# The chunked polars reader against the per-line reference parser (issue 13).


def _per_line(spec: str, window: Window | None = None) -> pd.DataFrame:
    """The reference: every line through parse_app_line, in a Python loop."""
    from runbook_lib.sources._files import expand_paths
    from runbook_lib.sources.logs.app_lines import parse_app_line
    from runbook_lib.sources.logs.line_files import collect_line_files

    return collect_line_files(
        spec, expand_paths(spec), lambda line, prev: parse_app_line(line, prev),
        source="app_log", schema=APP_SCHEMA, window=window,
    ).frame  # fmt: skip


@pytest.mark.parametrize(
    "name",
    ["lnav_bunyan.jsonl", "lnav_pino.jsonl", "lnav_ecs_log.jsonl", "lnav_json.jsonl", "lnav_invalid_json.jsonl",
     "lnav_logfmt.0", "lnav_java.0", "live_logfmt/*.log"],
)  # fmt: skip
def test_fast_reader_gives_the_per_line_records(name: str) -> None:
    spec = str(DATA / name)
    pd.testing.assert_frame_equal(collect_app_log(spec).frame, _per_line(spec))


def _mixed_log(path: Path, lines: int) -> None:
    """Every layout at once, in time order, with stack traces and odd values mixed in."""
    base = pd.Timestamp("2026-11-27 00:00", tz="UTC")
    out = []
    for i in range(lines):
        at = base + pd.Timedelta(seconds=i)
        iso = at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{i % 1000:03d}Z"
        kind = i % 9
        if kind == 0:
            out.append(f'{{"time": "{iso}", "level": "warn", "logger": "api", "msg": "slow {i}"}}')
        elif kind == 1:
            out.append(f'{{"time": {int(at.value // 10**6)}, "level": 50, "name": "pay", "msg": "fail {i}"}}')
        elif kind == 2:
            out.append(f'{{"@timestamp": "{iso}", "log": {{"level": "ERROR", "logger": "db"}}, "message": "x {i}"}}')
        elif kind == 3:
            out.append(f'ts={iso} level=info msg="logfmt {i}" caller=main.go:{i}')
        elif kind == 4:
            out.append(f"{at.strftime('%Y-%m-%d %H:%M:%S')},{i % 1000:03d} ERROR [main] com.shop.Pay: boom {i}")
            out.append("java.lang.IllegalStateException: card declined")
            out.append("\tat com.shop.Pay.charge(Pay.java:42)")
        elif kind == 5:
            out.append(f"{iso} DEBUG5 [worker-{i % 3}] tick {i}   ")
        elif kind == 6:
            out.append(f'{{"ts": "{iso}", "lvl": "FATAL", "msg": {{"nested": {i}}}, "component": 7}}')
        elif kind == 7:
            out.append(f"[{at.strftime('%Y-%m-%d %H:%M:%S')}+01:00] notice: cron - ran {i}")
        else:
            out.append(f"{iso} WARN retry {i}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def test_mixed_layouts_and_the_window_match_the_per_line_reader(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    _mixed_log(log, 4000)
    got = collect_app_log(str(log))
    assert got.status == "ok" and len(got.frame) == 4000
    pd.testing.assert_frame_equal(got.frame, _per_line(str(log)))
    window = Window(pd.Timestamp("2026-11-27 00:20", tz="UTC"), pd.Timestamp("2026-11-27 00:45", tz="UTC"))
    inside = collect_app_log(str(log), window=window)
    pd.testing.assert_frame_equal(inside.frame, _per_line(str(log), window))
    # one line a second; the "+01:00" lines (every 9th) fall an hour earlier, before it
    assert len(inside.frame) == sum(1 for i in range(20 * 60, 45 * 60) if i % 9 != 7)


def test_window_skips_chunks_before_it_and_gives_the_rows_of_a_full_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runbook_lib.sources.logs import app_log

    monkeypatch.setattr(app_log, "APP_CHUNK_BYTES", 64 * 1024)  # many chunks from a small file
    log = tmp_path / "day.log"
    base = pd.Timestamp("2026-11-27 00:00", tz="UTC")
    with log.open("w", encoding="utf-8") as fh:
        for i in range(40_000):  # one line every 2 s over ~22 h, a stack trace now and then
            at = (base + pd.Timedelta(seconds=2 * i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            fh.write(f"{at} {'ERROR' if i % 50 == 0 else 'INFO'} [api] request {i}\n")
            if i % 50 == 0:
                fh.write("    at handler (/srv/api.js:1:1)\n")
    window = Window(pd.Timestamp("2026-11-27 12:00", tz="UTC"), pd.Timestamp("2026-11-27 13:00", tz="UTC"))
    windowed = collect_app_log(str(log), window=window)
    full = collect_app_log(str(log)).frame
    expected = full[(full["logged_at"] >= window.start) & (full["logged_at"] < window.end)].reset_index(drop=True)
    pd.testing.assert_frame_equal(windowed.frame, expected)
    assert len(windowed.frame) == 1800
    assert windowed.frame["message"].str.contains("\n    at handler").sum() == 36
    assert windowed.meta["lines_skipped_before_window"] > 10_000  # read past, never parsed
    assert windowed.lines_read < 40_800  # the chunks after the window were not read at all
    assert windowed.status == "ok" and windowed.lines_skipped == 0


def test_malformed_json_in_the_middle_is_counted_by_reason(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    rows = [
        f'{{"time": "2026-11-27T10:{i // 60:02d}:{i % 60:02d}Z", "level": "info", "msg": "ok {i}"}}'
        for i in range(3000)
    ]
    rows[1500] = '{"time": "2026-11-27T10:25:00Z", "level": "info", "msg": "cut off'
    rows[2100] = '{"time": "soon", "level": "info", "msg": "no time"}'
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = collect_app_log(str(log))
    assert (got.lines_read, got.lines_skipped, len(got.frame)) == (3000, 2, 2998)
    assert got.status == "partial"
    assert got.meta["malformed_by_reason"] == {"not valid JSON": 1, "JSON object without a readable time": 1}
    assert "1 not valid JSON" in got.reason and "cut off" in got.samples[0]
    assert "ok 1499" in set(got.frame["message"]) and "ok 1501" in set(got.frame["message"])
    pd.testing.assert_frame_equal(got.frame, _per_line(str(log)))


def test_lines_before_the_first_record_are_malformed_not_dropped(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("starting up...\n\n   \n2026-11-27T10:00:00Z INFO [main] ready\n  detail\n")
    got = collect_app_log(str(log))
    assert (got.lines_read, got.lines_skipped) == (3, 1)
    assert got.meta["malformed_by_reason"] == {"text before the first record": 1}
    assert got.frame["message"].tolist() == ["ready\n  detail"]


def test_json_times_pyarrow_would_read_as_timestamps(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    rows = [f'{{"timestamp": "2026-11-27 10:00:{i:02d}", "severity": "WARN", "message": "m{i}"}}' for i in range(50)]
    rows += [f'{{"timestamp": "2026-11-27", "severity": 40, "message": "{i}"}}' for i in range(3)]
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    got = collect_app_log(str(log))
    assert got.status == "ok" and len(got.frame) == 53
    assert got.frame["logged_at"].iloc[1] == pd.Timestamp("2026-11-27 10:00:01", tz="UTC")
    assert got.frame["level"].tolist()[-3:] == ["warning"] * 3  # 40 → warning
    pd.testing.assert_frame_equal(got.frame, _per_line(str(log)))


def test_invalid_utf8_is_replaced_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"2026-11-27T10:00:00Z ERROR [pay] caf\xe9 declined\n2026-11-27T10:00:01Z INFO [pay] ok\n")
    got = collect_app_log(str(log))
    assert got.status == "ok" and got.meta["lines_with_replaced_bytes"] == 1
    assert got.frame["message"].tolist() == ["caf\ufffd declined", "ok"]
