"""Access logs: real files from nginx/Apache/beats/lnav, checked against GoAccess, plus
generated logs for the broken cases (binary lines, truncated gzip, rotation, windows)."""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.notebook.progress import reading_bar
from runbook_lib.sources import _files as logfiles
from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA, collect_access_log
from runbook_lib.timewindow import Window

ACCESS = Path(__file__).resolve().parents[2] / "data" / "access"
NGINX = ACCESS / "nginx_live_1.22.1"
APACHE = ACCESS / "apache_live_2.4.71"
COMBINED = ACCESS / "access_combined"
BENCH_GEN = Path(__file__).resolve().parents[3] / "benchmarks" / "access_log_gen.py"


def _nginx_format(name: str) -> str:
    """The log_format directive called *name*, pasted from the real nginx.conf."""
    conf = (NGINX / "nginx.conf").read_text(encoding="utf-8")
    return next(line.strip() for line in conf.splitlines() if f"log_format {name} " in line)


def _goaccess_status_counts(path: Path) -> tuple[dict[str, int], dict[int, int]]:
    report = json.loads(path.read_text(encoding="utf-8"))
    counts = {
        int(item["data"].split(" ", 1)[0]): item["hits"]["count"]
        for group in report["status_codes"]["data"]
        for item in group["items"]
    }
    return report["general"], counts


def _line(ts: str, ip: str = "10.0.0.1", status: int = 200, path: str = "/a", ua: str = "ua/1") -> str:
    return f'{ip} - - [{ts}] "GET {path} HTTP/1.1" {status} 12 "-" "{ua}" 0.005'


def assert_schema(frame: pd.DataFrame) -> None:
    assert list(frame.columns[: len(ACCESS_SCHEMA)]) == list(ACCESS_SCHEMA)
    for column, dtype in ACCESS_SCHEMA.items():
        assert str(frame[column].dtype) == dtype, column


@pytest.mark.parametrize(
    "log",
    [NGINX / "access.log", APACHE / "access.log", COMBINED / "shop_access_log.combined.log"],
    ids=["nginx-1.22", "apache-2.4", "shop-1000"],
)
def test_counts_match_goaccess(log: Path) -> None:
    general, by_status = _goaccess_status_counts(log.with_name(log.name + ".goaccess17.json"))
    got = collect_access_log(str(log))
    assert got.status == "ok", got.reason
    assert_schema(got.frame)
    assert got.lines_read == general["total_requests"]
    assert len(got.frame) == general["valid_requests"]
    assert got.lines_skipped == general["failed_requests"]
    assert got.frame["status"].value_counts().to_dict() == by_status
    assert int(got.frame["response_bytes"].sum()) == general["bandwidth"]


def test_three_nginx_layouts_of_the_same_requests_agree() -> None:
    combined = collect_access_log(str(NGINX / "access.log"))
    timed = collect_access_log(str(NGINX / "access_timed.log"), log_format=_nginx_format("timed"))
    as_json = collect_access_log(str(NGINX / "access_json.log"), log_format=_nginx_format("json_combined"))
    for got in (timed, as_json):
        assert got.status == "ok", got.reason
        assert_schema(got.frame)
        for column in ("requested_at", "client_ip", "method", "status", "response_bytes"):
            assert got.frame[column].tolist() == combined.frame[column].tolist(), column
    # Fields stay as logged: nginx escapes a quote as \x22, escape=json as \".
    assert timed.frame["path"].tolist() == combined.frame["path"].tolist()
    json_paths = as_json.frame["path"].str.replace('\\"', "\\x22", regex=False)
    assert json_paths.tolist() == combined.frame["path"].tolist()
    # The timed layout knows durations: the /api/slow upstream timed out after ~1 s (504).
    slow = timed.frame[timed.frame["status"] == 504]
    assert len(slow) == 6
    assert (slow["upstream_time_s"] >= 1.0).all() and (slow["request_time_s"] >= 1.0).all()
    assert combined.frame["request_time_s"].isna().all()
    # Variables outside the schema follow it as extra string columns.
    assert "upstream_connect_time" in timed.frame.columns
    # "GARBAGE" is not METHOD target HTTP/x: the whole request line lands in path.
    garbage = combined.frame[combined.frame["path"] == "GARBAGE"]
    assert garbage["status"].tolist() == [400] and garbage["method"].tolist() == [""]


def test_forwarded_chains_ipv6_and_empty_requests() -> None:
    got = collect_access_log(str(COMBINED / "beats_nginx_test.log"))
    assert got.status == "ok" and len(got.frame) == 7
    f = got.frame
    assert f["client_ip"].tolist() == [
        "127.0.0.1", "172.17.0.1", "85.181.35.98", "85.181.35.98", "10.2.1.185", "10.2.2.121",
        "127.0.0.1",
    ]  # fmt: skip
    assert f["forwarded_for"].tolist() == [
        "10.0.0.2, 10.0.0.1", "", "10.0.0.2, 10.0.0.1", "", "10.5.102.222, 199.96.1.1, 204.246.1.1",
        "2a03:0000:10ff:f00f:0000:0000:0:8000, 10.225.192.17", "",
    ]  # fmt: skip
    empty = f.iloc[-1]
    assert (empty["status"], empty["method"], empty["path"], empty["response_bytes"]) == (
        400,
        "",
        "",
        0,
    )
    assert f["requested_at"].iloc[0] == pd.Timestamp("2016-12-07 10:05:07", tz="UTC")


def test_common_log_dash_request_and_offsets() -> None:
    got = collect_access_log(str(COMBINED / "beats_apache_access_darwin-2.4.23.log"))
    f = got.frame
    assert got.status == "ok" and len(f) == 6
    assert f["client_ip"].iloc[0] == "::1"
    assert f["requested_at"].iloc[0] == pd.Timestamp("2016-12-26 14:16:28", tz="UTC")  # +0200
    dash = f[f["status"] == 408].iloc[0]
    assert (dash["path"], dash["method"], dash["response_bytes"]) == ("-", "", 0)
    assert (f["referer"] == "").all() and (f["user_agent"] == "").all()
    vhost = collect_access_log(str(COMBINED / "beats_apache_access_test.log")).frame
    assert "123.123.123.123" in vhost["client_ip"].tolist()
    assert "monitoring-server" in vhost["client_ip"].tolist()


def test_shop_log_tehran_offset_and_percent_encoded_paths() -> None:
    f = collect_access_log(str(COMBINED / "shop_access_log.combined.log")).frame
    assert f["requested_at"].iloc[0] == pd.Timestamp("2019-01-22 00:26:14", tz="UTC")  # +0330
    assert f["path"].iloc[0].startswith("/filter/27|13%20%D9%85")  # raw, not decoded
    assert f["requested_at"].is_monotonic_increasing
    # Trailing "$http_x_forwarded_for": "-" on 987 lines, a real client on 13.
    assert f["forwarded_for"].value_counts().to_dict() == {"": 987, "103.28.132.65": 13}


def test_apache_duration_is_microseconds() -> None:
    f = collect_access_log(str(APACHE / "access_with_duration.log")).frame
    assert len(f) == 375
    assert f["request_time_s"].iloc[0] == pytest.approx(1470e-6)  # "%D" = 1470
    assert f["request_time_s"].notna().all()


def test_malformed_line_is_counted_and_sampled() -> None:
    got = collect_access_log(str(COMBINED / "lnav_bad_access_log.0"))
    assert got.status == "partial"
    assert (got.lines_read, got.lines_skipped, len(got.frame)) == (3, 1, 2)
    assert "malformed" in got.reason
    assert got.samples and got.samples[0].startswith("192.168.202.254 [20/Jul/2009")


def test_binary_garbage_and_non_utf8_bytes(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    good = _line("20/Nov/2026:10:00:00 +0000")
    latin1_ua = _line("20/Nov/2026:10:00:01 +0000").replace("ua/1", "Caf\xe9").encode("latin-1")
    lines = [
        good.encode(),
        b"\x00\x01\x02\xff\xfe binary \x80\x81",
        latin1_ua,
        good[:70].encode(),  # truncated inside the quoted request
        b"",
        good.encode() + b"\r",  # CRLF
    ]
    log.write_bytes(b"\n".join(lines) + b"\n")
    got = collect_access_log(str(log))
    assert got.status == "partial"
    assert (got.lines_read, got.lines_skipped, len(got.frame)) == (5, 2, 3)
    assert got.frame["user_agent"].tolist() == ["ua/1", "Caf\ufffd", "ua/1"]
    assert got.meta["lines_with_replaced_bytes"] == 2
    assert len(got.samples) == 2


def test_rotated_set_is_read_in_time_order(tmp_path: Path) -> None:
    day = "20/Nov/2026"
    with gzip.open(tmp_path / "access.log.2.gz", "wt") as fh:
        fh.write(_line(f"{day}:01:00:00 +0000", path="/oldest") + "\n")
    (tmp_path / "access.log.1").write_text(_line(f"{day}:02:00:00 +0000", path="/older") + "\n")
    (tmp_path / "access.log").write_text(_line(f"{day}:03:00:00 +0000", path="/live") + "\n")
    (tmp_path / "other.log").write_text(_line(f"{day}:04:00:00 +0000") + "\n")
    got = collect_access_log(str(tmp_path / "access.log"))
    assert got.status == "ok"
    assert got.frame["path"].tolist() == ["/oldest", "/older", "/live"]
    assert [Path(p).name for p in got.frame["source_file"]] == [
        "access.log.2.gz", "access.log.1", "access.log",
    ]  # fmt: skip


def test_source_file_is_one_code_per_row_with_the_sorted_paths(tmp_path: Path) -> None:
    # Many chunks per file (small chunk size), two files, and a window keeping rows of only
    # one of them: each row names its file, each path is stored once, categories sorted.
    day = "20/Nov/2026"
    old = [_line(f"{day}:01:{i // 60:02d}:{i % 60:02d} +0000", path="/old") for i in range(3000)]
    live = [_line(f"{day}:03:{i // 60:02d}:{i % 60:02d} +0000", path="/live") for i in range(2000)]
    (tmp_path / "access.log.1").write_text("\n".join(old) + "\n")
    (tmp_path / "access.log").write_text("\n".join(live) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(logfiles, "CHUNK_BYTES", 16_384)
        got = collect_access_log(str(tmp_path / "access.log"))
        late = Window(pd.Timestamp("2026-11-20T03:00:00Z"), pd.Timestamp("2026-11-20T06:00:00Z"))
        after = Window(pd.Timestamp("2026-11-21T00:00:00Z"), pd.Timestamp("2026-11-21T01:00:00Z"))
        in_late = collect_access_log(str(tmp_path / "access.log"), window=late)
        none = collect_access_log(str(tmp_path / "access.log"), window=after)
    files = got.frame["source_file"]
    assert str(files.dtype) == "category" and files.memory_usage(deep=True) < 100_000
    assert list(files.cat.categories) == sorted([str(tmp_path / "access.log.1"), str(tmp_path / "access.log")])
    assert (files == str(tmp_path / "access.log.1")).sum() == 3000 and len(files) == 5000
    assert (files.eq(str(tmp_path / "access.log")) == got.frame["path"].eq("/live")).all()
    assert list(in_late.frame["source_file"].cat.categories) == [str(tmp_path / "access.log")]
    assert len(in_late.frame) == 2000
    assert none.frame.empty and str(none.frame["source_file"].dtype) == "category"


def test_truncated_gzip_is_partial_not_a_crash(tmp_path: Path) -> None:
    body = "\n".join(_line(f"20/Nov/2026:10:{i // 60:02d}:{i % 60:02d} +0000") for i in range(3000))
    packed = gzip.compress(body.encode() + b"\n")
    log = tmp_path / "access.log.1.gz"
    log.write_bytes(packed[: len(packed) * 2 // 3])
    got = collect_access_log(str(log))
    assert got.status == "partial"
    assert "truncated gzip" in got.reason
    assert 0 < len(got.frame) < 3000
    # Every complete line before the damage is kept; at most the cut line is malformed.
    assert got.lines_skipped <= 1
    assert len(got.frame) + got.lines_skipped == got.lines_read


def test_custom_log_format_with_extra_variables(tmp_path: Path) -> None:
    fmt = (
        '$remote_addr $host [$time_iso8601] "$request" $status $bytes_sent '
        'rt=$request_time ua="$http_user_agent" up=$upstream_addr urt=$upstream_response_time'
    )
    log = tmp_path / "custom.log"
    log.write_text(
        '192.0.2.7 api.example.com [2026-11-20T10:00:00+01:00] "POST /v1/pay?x=1 HTTP/2.0" 201 '
        '512 rt=0.250 ua="curl/8" up=10.0.0.5:8080, 10.0.0.6:8080 urt=0.100, 0.120\n'
        '192.0.2.8 api.example.com [2026-11-20T10:00:01+01:00] "GET /v1/x HTTP/2.0" 200 '
        '- rt=0.001 ua="-" up=- urt=-\n'
    )
    got = collect_access_log(str(log), log_format=fmt)
    assert got.status == "ok", (got.reason, got.samples)
    first, second = got.frame.iloc[0], got.frame.iloc[1]
    assert first["requested_at"] == pd.Timestamp("2026-11-20 09:00:00", tz="UTC")
    assert (first["method"], first["path"], first["protocol"]) == (
        "POST",
        "/v1/pay?x=1",
        "HTTP/2.0",
    )
    assert first["upstream_time_s"] == pytest.approx(0.22)  # two upstream attempts
    assert first["host"] == "api.example.com"
    assert second["response_bytes"] == 0 and pd.isna(second["upstream_time_s"])
    assert second["user_agent"] == ""


def test_window_filters_while_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logfiles, "CHUNK_BYTES", 8 * 1024)  # many chunks from a small file
    start = pd.Timestamp("2026-11-20 00:00:00", tz="UTC")
    stamps = [start + pd.Timedelta(seconds=20 * i) for i in range(4320)]  # one day
    log = tmp_path / "access.log"
    log.write_text(
        "\n".join(_line(t.strftime("%d/%b/%Y:%H:%M:%S +0000"), path=f"/{i}") for i, t in enumerate(stamps)) + "\n"
    )
    window = Window(pd.Timestamp("2026-11-20 06:00", tz="UTC"), pd.Timestamp("2026-11-20 07:00", tz="UTC"))
    got = collect_access_log(str(log), window=window)
    expected = [t for t in stamps if window.start <= t < window.end]
    assert got.status == "ok"
    assert got.frame["requested_at"].tolist() == expected
    # Chunks after the window were never parsed: reading stopped early.
    assert got.lines_read < len(stamps)
    assert got.meta["lines_outside_window"] == got.lines_read - len(expected)


def test_exact_counts_against_the_benchmark_generator(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("access_log_gen", BENCH_GEN)
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    log = tmp_path / "gen.log"
    counts = gen.generate(log, 30_000, 3)
    got = collect_access_log(str(log))
    assert counts["malformed"] > 0
    assert len(got.frame) == counts["valid"]
    assert got.lines_skipped == counts["malformed"]
    by_status = got.frame["status"].value_counts().to_dict()
    assert by_status == {int(k[7:]): v for k, v in counts.items() if k.startswith("status_")}


def test_missing_unset_and_unmatched_sources(tmp_path: Path) -> None:
    missing = collect_access_log(str(tmp_path / "nope.log"))
    assert missing.status == "unavailable"
    assert "file not found" in missing.reason and "\n" not in missing.reason
    assert list(missing.frame.columns) == list(ACCESS_SCHEMA) and missing.frame.empty
    assert collect_access_log("").status == "skipped"
    nothing = collect_access_log(str(tmp_path / "*.log"))
    assert nothing.status == "unavailable" and "no file matches" in nothing.reason
    folder = collect_access_log(str(tmp_path))
    assert folder.status == "unavailable"
    (tmp_path / "a.log").write_text(_line("20/Nov/2026:10:00:00 +0000") + "\n")
    some = collect_access_log(f"{tmp_path / 'a.log'}, {tmp_path / 'gone.log'}")
    assert some.status == "partial" and len(some.frame) == 1 and "gone.log" in some.reason


def test_progress_bar_does_not_change_the_result() -> None:
    plain = collect_access_log(str(NGINX / "access.log"))
    shown = collect_access_log(str(NGINX / "access.log"), progress=reading_bar(True))
    pd.testing.assert_frame_equal(plain.frame, shown.frame)


def test_wrong_layout_is_unavailable_not_empty(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_bytes(bytes(range(256)) * 40)  # a binary file given as the access log
    got = collect_access_log(str(log))
    assert got.status == "unavailable" and "matches the log format 'combined'" in got.reason
    assert got.lines_skipped == got.lines_read > 0 and got.samples
    json_as_combined = collect_access_log(str(NGINX / "access_json.log"))
    assert json_as_combined.status == "unavailable" and json_as_combined.lines_read == 917
