"""Reading a stderr log in pieces parsed side by side gives what reading it whole gives."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from runbook_lib.sources import _files as files
from runbook_lib.sources.pg.log import collect_pg_log
from runbook_lib.sources.pg.log_blocks import parse_stderr_file
from runbook_lib.sources.pg.log_frame import FinishState
from runbook_lib.sources.pg.log_prefix import translate_prefix

PREFIX = "%m [%p] %q%u@%d "


def _messy_log(path: Path, seed: int) -> int:
    """A log with every shape a block edge can cut: continuations, DETAIL/STATEMENT lines,
    pids taking turns, blank and foreign lines, CRLF and NUL bytes."""
    rng = random.Random(seed)
    rows: list[bytes] = []
    start = pd.Timestamp("2026-11-27 13:00", tz="UTC")
    for i in range(700):
        at = f"{start + pd.Timedelta(milliseconds=250 * i):%Y-%m-%d %H:%M:%S.%f}"[:-3] + " UTC"
        pid = 100 + rng.randrange(5)
        who = "" if pid == 100 else "app@shop "
        kind = rng.choice(["LOG", "LOG", "ERROR", "FATAL", "WARNING"])
        rows.append(f"{at} [{pid}] {who}{kind}:  event {i}".encode())
        for j in range(rng.choice([0, 0, 1, 3])):
            rows.append(f"\tcontinued {i}.{j}".encode())
        if kind != "LOG":  # the server writes a report's lines at once: nobody in between
            rows.append(f"{at} [{pid}] {who}DETAIL:  detail of {i}".encode())
            rows.append(f"\tcontinued detail {i}".encode())
            rows.append(f"{at} [{pid}] {who}STATEMENT:  SELECT {i}".encode())
        roll = rng.random()
        if roll < 0.03:
            rows.append(b"")
        elif roll < 0.05:
            rows.append(b"pg_ctl: server is running (PID: 100)")
        elif roll < 0.06:
            rows[-1] += b"\r"
        elif roll < 0.065:
            rows[-1] += b" \x00 nul"
    path.write_bytes(b"\n".join(rows) + b"\n")
    return len(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pieces_read_like_the_whole_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int) -> None:
    log = tmp_path / "postgresql.log"
    lines = _messy_log(log, seed)
    whole = collect_pg_log(str(log), log_line_prefix=PREFIX)
    assert whole.lines_read == lines and len(whole.frame) == 700
    for block in (173, 900, 5000):
        monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", block)
        monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 64)
        got = collect_pg_log(str(log), log_line_prefix=PREFIX)
        pd.testing.assert_frame_equal(got.frame, whole.frame)
        assert (got.lines_read, got.lines_skipped, got.status) == (whole.lines_read, whole.lines_skipped, whole.status)
        assert got.meta["lost_errors"] == whole.meta["lost_errors"]


def test_pieces_and_block_after_block_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two readings of a stderr file (side by side, and one block after another as for
    syslog's rewrite) find the same records."""
    log = tmp_path / "postgresql.log"
    _messy_log(log, 7)
    monkeypatch.setattr(files, "BLOCK_CHUNK_BYTES", 700)
    monkeypatch.setattr(files, "_BLOCK_READ_BYTES", 64)
    pattern = translate_prefix(PREFIX)
    side_by_side = parse_stderr_file(files.Blocks(log).texts(), pattern, None, log, FinishState())
    one_by_one = parse_stderr_file(files.Blocks(log).texts(), pattern, None, log, FinishState(), lambda lines: lines)
    assert side_by_side.frame is not None and one_by_one.frame is not None
    assert side_by_side.frame.equals(one_by_one.frame)
    assert (side_by_side.read, side_by_side.matched) == (one_by_one.read, one_by_one.matched)
    assert isinstance(side_by_side.frame, pl.DataFrame)


@pytest.mark.parametrize("data", [b"a", b"a\n", b"a\n\n", b"\na", b"a\n\nb", b"a\r\nb\r\n"])
def test_lines_are_the_split_of_the_text(data: bytes) -> None:
    """A blank last line counts as a line, as it does when the block is read whole."""
    from runbook_lib.sources.pg.log_stderr import lines_of

    assert lines_of(data).to_list() == data.decode().replace("\r\n", "\n").split("\n")
