"""Line-aligned byte ranges: ranges that tile a file read every line exactly once, whatever
the boundaries cut (mid-line, on a newline, inside CRLF, inside a line longer than a range),
and the access-log reader over ranges gives exactly the rows of a whole-file read."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.sources._byte_range import is_compressed, plan_ranges
from runbook_lib.sources._files import iter_chunks
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.timewindow import Window
from tests import weblog

#: Lines that make boundaries interesting: CRLF, blank lines, one line far longer than a
#: range, multi-byte UTF-8, and a last line with no newline at all.
AWKWARD = (
    b"first\r\n"
    b"\n"
    b"second line\n"
    b"\r\n"
    + b"x" * 300
    + b"\n"
    + "caf\u00e9 \u2013 na\u00efve\r\n".encode()
    + b"a\nb\nc\n\n\n"
    + b"last line without newline"
)


def _read_ranges(path: Path, chunk_bytes: int) -> list[bytes]:
    ranges = plan_ranges(path.stat().st_size, chunk_bytes)
    return [b"".join(iter_chunks(path, source="test", chunk_bytes=7, byte_range=r)) for r in ranges]


@pytest.mark.parametrize("chunk_bytes", [1, 2, 3, 5, 8, 13, 64, 299, 301, 10_000])
def test_ranges_tile_the_file_exactly(tmp_path: Path, chunk_bytes: int) -> None:
    path = tmp_path / "awkward.log"
    path.write_bytes(AWKWARD)
    pieces = _read_ranges(path, chunk_bytes)
    assert b"".join(pieces) == AWKWARD
    # each piece is whole lines: it starts at a line start and ends after a newline or at EOF
    offset = 0
    for piece in pieces:
        assert offset == 0 or AWKWARD[offset - 1 : offset] == b"\n" or not piece
        offset += len(piece)
        assert not piece or piece.endswith(b"\n") or offset == len(AWKWARD)


def test_the_last_range_reads_lines_appended_after_planning(tmp_path: Path) -> None:
    path = tmp_path / "live.log"
    path.write_bytes(b"one\ntwo\nthree\n")
    ranges = plan_ranges(path.stat().st_size, 5)
    with path.open("ab") as fh:
        fh.write(b"four\nfive")
    got = b"".join(b"".join(iter_chunks(path, source="test", byte_range=r)) for r in ranges)
    assert got == b"one\ntwo\nthree\nfour\nfive"


def test_plan_ranges_covers_the_size_and_leaves_the_end_open() -> None:
    assert plan_ranges(0, 10) == [(0, None)]
    assert plan_ranges(25, 10) == [(0, 10), (10, 20), (20, None)]
    assert plan_ranges(20, 10) == [(0, 10), (10, None)]
    with pytest.raises(ValueError, match="positive"):
        plan_ranges(10, 0)


def test_compressed_files_have_no_byte_ranges(tmp_path: Path) -> None:
    path = tmp_path / "access.log.1.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"a\nb\n")
    plain = tmp_path / "access.log"
    plain.write_bytes(b"a\nb\n")
    assert is_compressed(path) and not is_compressed(plain)
    with pytest.raises(ValueError, match="compressed"):
        list(iter_chunks(path, source="test", byte_range=(0, 2)))


@pytest.mark.parametrize("chunk_bytes", [4_093, 65_537])
def test_access_log_over_ranges_equals_the_whole_file_read(tmp_path: Path, chunk_bytes: int) -> None:
    log = weblog.generate(minutes=20, clients=40, incidents=("scanner",))
    lines = log.access_lines(request_time=True)
    path = tmp_path / "access.log"
    # CRLF on every third line, a malformed line, and no newline after the last line
    body = [f"{line}\r" if i % 3 == 0 else line for i, line in enumerate(lines)]
    body.insert(len(body) // 2, "GARBAGE not a request line")
    path.write_text("\n".join(body), encoding="utf-8", newline="")
    window = Window(log.start + pd.Timedelta(minutes=5), log.end)
    whole = collect_access_log(str(path), window=window)
    parts = [
        collect_access_log(str(path), window=window, byte_range=r)
        for r in plan_ranges(path.stat().st_size, chunk_bytes)
    ]
    assert len(parts) > 3
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(frame, whole.frame)
    assert sum(p.lines_read for p in parts) == whole.lines_read == len(body)
    assert sum(p.lines_skipped for p in parts) == whole.lines_skipped == 1
    assert len(whole.frame) > 500
