"""The compiled scanner of ``combined`` lines against the regex path, line shape by line shape.

The scanner may only *accept* a line whose values the regex path would give identically;
everything else it hands to the regex. So every frame, count and sample must be equal, and
the ordinary shapes must really be accepted (or the fast path would be a slow no-op).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from runbook_lib.sources import _files as logfiles
from runbook_lib.sources.logs import access_fast
from runbook_lib.sources.logs.access_log import read_access_frame
from runbook_lib.sources.logs.combined_scan import ACCEPTED, scan_combined
from runbook_lib.sources.logs.logformat import layout_for
from runbook_lib.timewindow import Window

T = "20/Nov/2026:10:00:00 +0000"
REQ = '"GET /api/users/7?x=1 HTTP/1.1"'
#: Lines the scanner must accept (ordinary shapes nginx and Apache write).
ORDINARY = [
    f'192.0.2.1 - - [{T}] {REQ} 200 512 "-" "curl/8.4.0"',
    f'192.0.2.2 - alice [{T}] {REQ} 429 0 "https://example.com/" "Mozilla/5.0 (X11)"',
    f"192.0.2.3 - - [{T}] {REQ} 304 -",  # common: no referer / agent
    f'2001:db8::1 - - [{T}] "POST /login HTTP/2.0" 401 17 "-" "python-requests/2.31" "10.0.0.1, 10.0.0.2" 0.012',
    f'192.0.2.4 - - [{T}] "HEAD / HTTP/2" 200 0 "-" "x" "-" 0.000 0.001',
    f'192.0.2.5 - - [{T}] "GET / HTTP/1.0" 200 1 "" "" - -',
    f'192.0.2.6 - - [{T}] "DELETE /a HTTP/1.1" 500 9 "-" "ua" 1532',  # Apache %D: microseconds
    f'192.0.2.7 - - [{T}] "GET /a HTTP/1.1" 200 9 "-" "ua \\"quoted\\" agent"',
    '192.0.2.8 - - [29/Feb/2024:23:59:59 -0930] "GET /leap HTTP/1.1" 200 9 "-" "ua" 0.5  ',
    f'192.0.2.9 - - [{T}] "M-SEARCH * HTTP/1.1" 200 9 "-" "ua"\r',
]
#: Lines it must hand to the regex (which parses some of them and rejects the others).
UNUSUAL = [
    f'192.0.2.10 - - [{T}] "-" 400 0 "-" "-"',
    f'192.0.2.11 - - [{T}] "GARBAGE" 400 0 "-" "-"',
    f'192.0.2.12 - - [{T}] "GET /a b HTTP/1.1" 400 0 "-" "-"',
    f'192.0.2.13 - - [{T}] "get /a HTTP/1.1" 200 0 "-" "-"',
    f'192.0.2.14 - - [{T}] "GET /caf\u00e9 HTTP/1.1" 200 0 "-" "Mozilla \u00e9"',
    f'192.0.2.15 - - [{T}] "GET /a HTTP/1.1" 200 0 "-" "ua" "-" 0.1 0.2, 0.3 : 0.4',
    '192.0.2.16 - - [20/nov/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 0 "-" "-"',
    '192.0.2.17 - - [30/Feb/2026:10:00:00 +0000] "GET /a HTTP/1.1" 200 0 "-" "-"',
    '192.0.2.18 - - [20/Nov/2026:23:59:60 +0000] "GET /a HTTP/1.1" 200 0 "-" "-"',
    '192.0.2.19 - - [20/Nov/1969:10:00:00 +0000] "GET /a HTTP/1.1" 200 0 "-" "-"',
    f'192.0.2.20 - - [{T}] "GET /a HTTP/1.1" 200 123456789012345678901 "-" "-"',
    f'192.0.2.21 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-" 0.1234567890123456789',
    f'192.0.2.22 - - [{T}] "GET /a HTTP/1.1" 20 5 "-" "-"',
    f'192.0.2.23 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "truncated',
    f'vhost.example.com 192.0.2.24 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-"',
    f'10.0.0.2, 10.0.0.1 192.0.2.25 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-"',
    f'192.0.2.26 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-" 0.1 0.2 0.3',
    f'192.0.2.27 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-" "xff"  "two spaces"',
    f'192.0.2.28 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-" 0.',
    f'192.0.2.29 - - [{T}]\t"GET /a HTTP/1.1" 200 5 "-" "-"',
    f'192.0.2.30 - - [{T}] "GET /a HTTP/1.1" 200 5 "-" "-"\r\r',
    "\x00\x01\x02 binary",
    "\r",
    "",  # a blank line: not a record
]


def _read(path: Path, window: Window | None = None) -> tuple[pd.DataFrame, tuple[object, ...]]:
    got = read_access_frame([path], window=window)
    return got.frame, (got.lines_read, got.lines_skipped, got.status, got.meta, got.samples)


def _both(path: Path, monkeypatch: pytest.MonkeyPatch, window: Window | None = None) -> pd.DataFrame:
    monkeypatch.setattr(access_fast, "FAST_MIN_BYTES", 1 << 62)
    slow, slow_counts = _read(path, window)
    monkeypatch.setattr(access_fast, "FAST_MIN_BYTES", 0)
    fast, fast_counts = _read(path, window)
    pd.testing.assert_frame_equal(fast, slow)
    assert fast_counts == slow_counts
    return fast


def test_every_line_shape_gives_what_the_regex_gives(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "access.log"
    last = f'192.0.2.31 - - [{T}] "GET /'.encode() + b'\xff HTTP/1.1" 200 1'
    body = "\n".join(ORDINARY + UNUSUAL).encode() + b"\n" + last
    log.write_bytes(body)  # an invalid UTF-8 byte, and a last line without its newline
    frame = _both(log, monkeypatch)
    assert len(frame) > len(ORDINARY)  # the regex path took some of the unusual lines too
    state = scan_combined(np.frombuffer(body, dtype=np.uint8)).state
    assert (state[: len(ORDINARY)] == ACCEPTED).all()
    assert not (state[len(ORDINARY) :] == ACCEPTED).any()
    first = frame.iloc[0]
    assert (first["client_ip"], first["method"], first["status"]) == ("192.0.2.1", "GET", 200)
    assert first["path"] == "/api/users/7?x=1" and first["referer"] == "" and first["user_agent"] == "curl/8.4.0"
    assert frame.loc[frame["client_ip"] == "192.0.2.6", "request_time_s"].item() == pytest.approx(0.001532)


def test_real_logs_are_accepted_and_equal(monkeypatch: pytest.MonkeyPatch) -> None:
    logs = sorted((Path(__file__).parents[2] / "data" / "access").glob("*/*.log*"))
    combined = [p for p in logs if "json" not in p.name and "goaccess" not in p.name]
    accepted = 0
    for log in combined:
        _both(log, monkeypatch)
        state = scan_combined(np.frombuffer(log.read_bytes(), dtype=np.uint8)).state
        accepted += int((state == ACCEPTED).sum())
    assert accepted > 1000


@pytest.mark.parametrize("hours", [(0, 24), (6, 7), (23, 30), (-5, 0)])
def test_windows_over_many_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hours: tuple[int, int]) -> None:
    # Chunks before the window are skipped, the first after it stops the read: same counts.
    monkeypatch.setattr(logfiles, "CHUNK_BYTES", 8 * 1024)
    start = pd.Timestamp("2026-11-20", tz="UTC")
    lines = []
    for i in range(3000):
        at = (start + pd.Timedelta(seconds=29 * i)).strftime("%d/%b/%Y:%H:%M:%S +0000")
        lines.append(f'192.0.2.{i % 250} - - [{at}] "GET /{i} HTTP/1.1" {200 + i % 3} {i} "-" "ua"')
        if i % 97 == 0:
            lines.append(f'192.0.2.1 - - [{at}] "-" 400 0 "-" "-"')  # regex-only rows between
        if i % 389 == 0:
            lines.append("garbage \xe9")
    log = tmp_path / "access.log"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    window = Window(start + pd.Timedelta(hours=hours[0]), start + pd.Timedelta(hours=hours[1]))
    frame = _both(log, monkeypatch, window)
    assert len(frame) == 0 or frame["requested_at"].is_monotonic_increasing


def test_small_files_and_other_layouts_stay_on_the_regex_path(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    log.write_text(ORDINARY[0] + "\n")
    assert not access_fast.uses_fast_path(layout_for("combined"), log)
    assert not access_fast.uses_fast_path(layout_for("$remote_addr [$time_local] $status"), log)
    assert not access_fast.uses_fast_path(layout_for("combined"), tmp_path / "missing.log")
