"""Line-aligned byte ranges of one plain file, so a large log can be read as several tasks.

A range ``[start, stop)`` owns every line whose first byte lies in it: a range starting
mid-file skips to the first line that starts at or after ``start`` (the byte before it is
``\\n``), and it reads through the line that crosses ``stop``. Ranges that tile a file
therefore read every line exactly once, whatever the boundaries cut: CRLF stays with its
line (the ``\\n`` ends it), a last line without a newline belongs to the range it starts
in, and a line longer than a range belongs to the one range it starts in.

``stop`` ``None`` means "to the end of the file as it is when read", so the last range of
a live log still sees lines appended after the ranges were planned. Compressed files have
no byte ranges (a gzip member cannot be entered mid-stream): :func:`is_compressed` says
which files must be read whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Protocol

__all__ = ["ByteRange", "is_compressed", "plan_ranges", "range_blocks"]

#: ``(start, stop)`` in bytes of the file on disk; ``stop`` ``None`` = to the end.
ByteRange = tuple[int, int | None]
#: Bytes read at once while looking for a line end around a range boundary.
_SCAN_BYTES = 64 * 1024
_MAGIC = (b"\x1f\x8b", b"BZh")  # gzip, bzip2: the formats the readers decompress


class _ReadState(Protocol):
    damage: str


def is_compressed(path: Path) -> bool:
    """True when *path* starts with gzip or bzip2 magic bytes (no byte ranges then)."""
    with path.open("rb") as fh:
        return fh.read(3).startswith(_MAGIC)


def plan_ranges(size: int, chunk_bytes: int) -> list[ByteRange]:
    """Ranges of about *chunk_bytes* tiling a file of *size* bytes; the last is open-ended."""
    if chunk_bytes <= 0:
        raise ValueError(f"chunk_bytes must be positive, not {chunk_bytes}")
    count = max(1, -(-size // chunk_bytes))
    starts = [i * chunk_bytes for i in range(count)]
    return [(s, starts[i + 1] if i + 1 < count else None) for i, s in enumerate(starts)]


def _line_start_at_or_after(fh: IO[bytes], pos: int) -> int | None:
    """Offset of the first line starting at or after *pos* (``None``: no more lines)."""
    if pos <= 0:
        return 0
    fh.seek(pos - 1)
    while block := fh.read(_SCAN_BYTES):
        cut = block.find(b"\n")
        if cut >= 0:
            return pos + cut
        pos += len(block)
    return None


def _aligned(fh: IO[bytes], byte_range: ByteRange) -> tuple[int, int | None]:
    start, stop = byte_range
    begin = _line_start_at_or_after(fh, start)
    if begin is None:  # no line starts in or after this range
        return start, start
    if stop is None:
        return begin, None
    end = _line_start_at_or_after(fh, stop)
    return begin, None if end is None else max(end, begin)


def range_blocks(fh: IO[bytes], state: _ReadState, block_bytes: int, byte_range: ByteRange) -> Iterator[bytes]:
    """Yield the raw bytes of the lines *byte_range* owns, in blocks of *block_bytes*.

    A read error ends the iteration and is recorded in ``state.damage``, as for a whole file.
    """
    try:
        begin, end = _aligned(fh, byte_range)
        fh.seek(begin)
    except OSError as err:
        state.damage = f"read error: {err.strerror or err}"
        return
    left = None if end is None else end - begin
    while left is None or left > 0:
        try:
            block = fh.read(block_bytes if left is None else min(block_bytes, left))
        except OSError as err:
            state.damage = f"read error: {err.strerror or err}"
            return
        if not block:
            return
        if left is not None:
            left -= len(block)
        yield block
