"""Opening log files as they exist on servers: rotated sets, globs, gzip, broken bytes."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from runbook_lib.errors import SourceUnavailable
from runbook_lib.sources._files import (
    FileRead,
    expand_paths,
    iter_chunks,
    iter_lines,
    line_series,
)


def _touch(folder: Path, *names: str) -> None:
    for name in names:
        (folder / name).write_text(f"{name}\n")


def test_rotated_set_comes_oldest_first(tmp_path: Path) -> None:
    _touch(tmp_path, "access.log", "access.log.1", "access.log.10.gz", "access.log.2.gz",
           "access.log.3.gz", "error.log", "access.log.bak")  # fmt: skip
    got = [p.name for p in expand_paths(str(tmp_path / "access.log"))]
    assert got == ["access.log.10.gz", "access.log.3.gz", "access.log.2.gz", "access.log.1", "access.log"]


def test_dated_rotations_sort_by_date_before_the_live_file(tmp_path: Path) -> None:
    _touch(tmp_path, "app.log", "app.log-20261126.gz", "app.log-20261125", "app.log-20261127.gz")
    got = [p.name for p in expand_paths(str(tmp_path / "app.log"))]
    assert got == ["app.log-20261125", "app.log-20261126.gz", "app.log-20261127.gz", "app.log"]


def test_globs_lists_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path, "b.log", "a.log", "a.log.1", "c.txt")
    got = [p.name for p in expand_paths(str(tmp_path / "*.log*"))]
    assert got == ["a.log.1", "a.log", "b.log"]
    both = [p.name for p in expand_paths(f"{tmp_path / 'c.txt'}, {tmp_path / 'b.log'}")]
    assert both == ["b.log", "c.txt"]
    assert expand_paths(str(tmp_path / "*.nothing")) == []
    assert expand_paths(" , ") == []
    # Relative parameter paths resolve against the project root, not the cwd.
    monkeypatch.setenv("RUNBOOK_HOME", str(tmp_path))
    monkeypatch.chdir("/")
    assert expand_paths("b.log") == [tmp_path / "b.log"]
    # A path that does not exist is kept so the reader reports it.
    assert expand_paths(str(tmp_path / "missing.log")) == [tmp_path / "missing.log"]


def test_plain_and_gzip_chunks_end_on_line_boundaries(tmp_path: Path) -> None:
    lines = [f"line {i} " + "x" * (i % 50) for i in range(5000)]
    text = "\n".join(lines) + "\n"
    plain = tmp_path / "plain.log"
    plain.write_text(text)
    packed = tmp_path / "packed.log.gz"
    # Two gzip members, as `cat a.gz b.gz` or logrotate's delaycompress can leave.
    half = len(text) // 2
    cut = text.index("\n", half) + 1
    packed.write_bytes(gzip.compress(text[:cut].encode()) + gzip.compress(text[cut:].encode()))
    for path in (plain, packed):
        state = FileRead(path)
        chunks = list(iter_chunks(path, source="t", state=state, chunk_bytes=4096))
        assert len(chunks) > (10 if path is plain else 1)
        assert all(c.endswith(b"\n") for c in chunks)
        assert b"".join(chunks).decode() == text
        assert state.damage == ""
        assert state.compressed == (path is packed)


def test_truncated_and_corrupt_gzip_record_damage(tmp_path: Path) -> None:
    data = gzip.compress(("".join(f"row {i}\n" for i in range(20000))).encode())
    truncated = tmp_path / "t.log.gz"
    truncated.write_bytes(data[: len(data) // 2])
    state = FileRead(truncated)
    text = b"".join(iter_chunks(truncated, source="t", state=state)).decode()
    assert "truncated gzip" in state.damage
    assert text.startswith("row 0\nrow 1\n") and 0 < text.count("\n") < 20000
    corrupt = tmp_path / "c.log.gz"
    corrupt.write_bytes(data[:40] + b"\x00" * 64 + data[104:])
    state = FileRead(corrupt)
    list(iter_chunks(corrupt, source="t", state=state))
    assert "corrupt gzip" in state.damage


def test_missing_and_directory_raise_source_unavailable(tmp_path: Path) -> None:
    with pytest.raises(SourceUnavailable, match="file not found"):
        list(iter_chunks(tmp_path / "nope.log", source="t"))
    with pytest.raises(SourceUnavailable, match="is a directory"):
        list(iter_chunks(tmp_path, source="t"))


def test_line_series_keeps_bad_bytes_readable(tmp_path: Path) -> None:
    chunk = b"ok one\n\nbad \xff\xfe bytes\n\xe2\x9c\x93 utf8\nlast without newline"
    state = FileRead(tmp_path / "x")
    series = line_series(chunk, state)
    assert series.to_list() == [
        "ok one\n", "bad \ufffd\ufffd bytes\n", "\u2713 utf8\n", "last without newline\n",
    ]  # fmt: skip
    assert state.replaced_lines == 1


def test_line_series_repairs_bad_lines_in_place_between_blank_lines(tmp_path: Path) -> None:
    # Bad lines first, last and next to blank lines: each repaired line keeps its position.
    chunk = b"\xc3(first bad\n\nfine \xc3\xa9\n\n\nmid \x80\x81\ngood\nlast \xff"
    state = FileRead(tmp_path / "x")
    series = line_series(chunk, state)
    assert series.to_list() == [
        "\ufffd(first bad\n", "fine \u00e9\n", "mid \ufffd\ufffd\n", "good\n", "last \ufffd\n",
    ]  # fmt: skip
    assert series.null_count() == 0 and state.replaced_lines == 3


def test_iter_lines_strips_endings_and_counts_replacements(tmp_path: Path) -> None:
    path = tmp_path / "mixed.log"
    path.write_bytes(b"first\r\nsecond \x80\n\nthird")
    state = FileRead(path)
    assert list(iter_lines(path, source="t", state=state)) == ["first", "second \ufffd", "", "third"]
    assert state.replaced_lines == 1
