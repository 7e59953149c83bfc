"""Open log files the way they exist on servers: globs, rotated sets, gzip, broken bytes.

Every log source (access, error, application, PostgreSQL) reads through here, so the rules
are the same everywhere:

- A spec is a path, a glob (``/var/log/nginx/*.log``) or a comma-separated list of either.
  A plain file path also brings in its rotations (``access.log.1``, ``access.log.2.gz``,
  ``access.log-20261127.gz``) because an incident window often straddles a rotation.
  Relative paths resolve against the project root (:func:`runbook_lib.paths.resolve`).
- Files are returned oldest first (highest rotation number first, the live file last), so
  reading them in order reads the log in time order.
- gzip (and, in :class:`Blocks`, multi-member gzip and bzip2) is detected by its magic
  bytes, not the name. A truncated or corrupt gzip yields
  everything that decompressed before the damage and records the damage (the caller marks
  the source ``partial``); it is never a crash.
- Text is decoded as UTF-8; a chunk holding invalid bytes is decoded with U+FFFD
  replacement and flagged, so binary garbage and Latin-1 bytes cannot stop a read.
- A missing file raises :class:`~runbook_lib.errors.SourceUnavailable`, an unreadable one
  :class:`~runbook_lib.errors.SourceDenied`; the ``collect_*`` functions turn those into a
  source status.

Chunks always end on a line boundary (``\\n``), so a caller can parse each chunk on its own
and drop what falls outside the incident window before reading on: memory follows the
window, not the file; :func:`iter_chunks` can also read one line-aligned byte range of a
plain file (:mod:`._byte_range`), one task of a chunked fleet read. :class:`Blocks` hands
out raw byte blocks of :data:`BLOCK_CHUNK_BYTES` for the PostgreSQL log's polars parser;
it is not yet merged with the access-log reader above (issue 8's "one reader": left to do).
"""

from __future__ import annotations

import bz2
import glob
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import polars as pl
import pyarrow as pa

from runbook_lib.paths import resolve
from runbook_lib.sources._byte_range import ByteRange, is_compressed, range_blocks
from runbook_lib.sources._progress import report_bytes
from runbook_lib.sources.os_errors import from_os_error

__all__ = [
    "CHUNK_BYTES",
    "FileRead",
    "decode",
    "expand_paths",
    "iter_chunks",
    "iter_lines",
    "line_series",
    "oldest_first",
]

#: Text handed to a parser at once. Big enough that per-chunk overhead vanishes, small
#: enough that a chunk's transient columns (several copies of it) stay around 200 MB
#: (measured: 8/16/32 MB chunks → 440/480/570 MB peak for 1M lines, same speed).
CHUNK_BYTES = 16 * 1024 * 1024
_READ_BYTES = 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"
# access.log.1, access.log.2.gz, access.log-20261127, access.log-20261127.gz
_ROTATION = re.compile(r"^(?P<base>.+?)(?:\.(?P<n>\d+)|-(?P<date>\d{8,10}))(?:\.gz)?$")
_GLOB_CHARS = re.compile(r"[*?\[]")


def _sort_key(path: Path) -> tuple[str, int, str]:
    """Sort key putting a rotated set oldest first: dated, …, .2.gz, .1, then the live file."""
    name = path.name
    match = _ROTATION.match(name)
    if match is None:
        base = name[:-3] if name.endswith(".gz") else name
        return (str(path.parent / base), 0, "")
    base = str(path.parent / match["base"])
    if match["n"] is not None:
        return (base, -int(match["n"]), "")
    return (base, -(10**9), match["date"])


def oldest_first(paths: list[Path]) -> list[Path]:
    """*paths* in reading order: each rotated set oldest first, the live file last."""
    return sorted(paths, key=_sort_key)


def expand_paths(spec: str) -> list[Path]:
    """Turn a path / glob / rotated-set spec into existing files, oldest first.

    Parts of *spec* are separated by commas. A part with glob characters expands to what
    matches; a plain path expands to itself plus its rotations in the same folder.
    A plain path that does not exist is still returned (so the reader reports it as
    missing); a glob that matches nothing contributes nothing.
    """
    found: dict[Path, None] = {}
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        path = resolve(raw)
        if _GLOB_CHARS.search(raw):
            for hit in sorted(glob.glob(str(path))):
                if Path(hit).is_file():
                    found[Path(hit)] = None
            continue
        found[path] = None
        if path.parent.is_dir():
            for sibling in path.parent.iterdir():
                match = _ROTATION.match(sibling.name)
                if match and match["base"] == path.name and sibling.is_file():
                    found[sibling] = None
    return oldest_first(list(found))


@dataclass
class FileRead:
    """What happened while reading one file (filled in by :func:`iter_text_chunks`)."""

    path: Path
    size: int = 0
    compressed: bool = False
    damage: str = ""  # why the file ended early (truncated gzip, I/O error), else ""
    chunks: int = 0
    position: int = 0  # bytes of the file on disk consumed so far (for progress bars)
    replaced_lines: int = 0  # lines whose invalid UTF-8 bytes were replaced by U+FFFD


def _open(path: Path, source: str) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as err:
        raise from_os_error(err, source=source, target=str(path)) from err


def _raw_blocks(fh: IO[bytes], state: FileRead, plain_bytes: int) -> Iterator[bytes]:
    """Yield decompressed byte blocks; record damage instead of raising mid-file."""
    first = fh.read(len(_GZIP_MAGIC))
    if not first.startswith(_GZIP_MAGIC):
        yield first
        block = fh.read(plain_bytes)
        while block:
            yield block
            try:
                block = fh.read(plain_bytes)
            except OSError as err:
                state.damage = f"read error: {err.strerror or err}"
                return
        return
    state.compressed = True
    inflater = zlib.decompressobj(wbits=31)
    pending = first + fh.read(_READ_BYTES)
    while True:
        try:
            out = inflater.decompress(pending)
        except zlib.error as err:
            state.damage = f"corrupt gzip data ({err})"
            return
        if out:
            yield out
        if inflater.eof:
            rest = inflater.unused_data
            if rest.startswith(_GZIP_MAGIC):  # concatenated gzip members (logrotate + cat)
                inflater = zlib.decompressobj(wbits=31)
                pending = rest
                continue
            return
        try:
            pending = fh.read(_READ_BYTES)
        except OSError as err:
            state.damage = f"read error: {err.strerror or err}"
            return
        if not pending:
            tail = inflater.flush()
            if tail:
                yield tail
            state.damage = "truncated gzip (the stream ends before its end marker)"
            return


def decode(data: bytes) -> tuple[str, bool]:
    """UTF-8 text of *data*, and whether invalid bytes had to be replaced by U+FFFD."""
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), True


def iter_chunks(
    path: Path,
    *,
    source: str,
    state: FileRead | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    byte_range: ByteRange | None = None,
) -> Iterator[bytes]:
    """Yield the file's (decompressed) bytes in chunks that end on ``\\n`` (the last may not).

    Raises ``SourceUnavailable``/``SourceDenied`` before the first chunk if the file cannot
    be opened. Damage found later (truncated gzip, I/O error) ends the iteration early and
    is recorded in ``state.damage``; ``state.position`` follows the bytes consumed on disk.
    With *byte_range*, only the lines that range owns (:mod:`._byte_range`) of a plain
    file; a compressed file has no byte ranges (``ValueError``).
    """
    state = state if state is not None else FileRead(path)
    fh = _open(path, source)
    with fh:
        try:
            state.size = path.stat().st_size
        except OSError:
            state.size = 0
        if byte_range is not None and is_compressed(path):
            raise ValueError(f"{path} is compressed: it cannot be read by byte range")
        carry = b""
        pending: list[bytes] = []
        pending_bytes = 0
        raw = (
            _raw_blocks(fh, state, chunk_bytes)
            if byte_range is None
            else range_blocks(fh, state, chunk_bytes, byte_range)
        )
        for block in raw:
            pending.append(block)
            pending_bytes += len(block)
            if pending_bytes < chunk_bytes:
                continue
            data = b"".join([carry, *pending]) if carry or len(pending) > 1 else pending[0]
            pending, pending_bytes = [], 0
            cut = data.rfind(b"\n")
            if cut < 0:
                carry = data  # one enormous line: keep reading until it ends
                continue
            carry = data[cut + 1 :]
            report_bytes(fh.tell() - state.position)
            state.position = fh.tell()
            state.chunks += 1
            yield data[: cut + 1] if cut + 1 < len(data) else data
        report_bytes(fh.tell() - state.position)
        state.position = fh.tell()
        data = carry + b"".join(pending)
        if data:
            state.chunks += 1
            yield data


def iter_lines(path: Path, *, source: str, state: FileRead | None = None) -> Iterator[str]:
    """Yield the file's lines as text (without line endings), for small line-by-line parsers.

    Lines with invalid UTF-8 keep their readable part (U+FFFD for bad bytes); the count of
    such lines is added to ``state.replaced_lines``.
    """
    state = state if state is not None else FileRead(path)
    for chunk in iter_chunks(path, source=source, state=state):
        text, replaced = decode(chunk)
        lines = text.split("\n")
        if lines and not lines[-1]:
            lines.pop()
        for line in lines:
            line = line.rstrip("\r")
            if replaced and "\ufffd" in line:
                state.replaced_lines += 1
            yield line


def _broken_utf8(chunk: bytes, starts: np.ndarray, ends: np.ndarray, high: np.ndarray) -> tuple[list[int], list[str]]:
    """Positions of the lines holding invalid UTF-8, and those lines decoded with U+FFFD.

    Only lines with a byte >= 0x80 are decoded (a few per chunk in real logs); the chunk
    itself is never rebuilt, which used to cost two copies of it whenever one line was bad.
    """
    at: list[int] = []
    fixed: list[str] = []
    view = memoryview(chunk)
    for idx in np.unique(np.searchsorted(ends, high)).tolist():
        line = view[int(starts[idx]) : int(ends[idx]) + 1]
        try:
            str(line, "utf-8")
        except UnicodeDecodeError:
            at.append(idx)
            fixed.append(str(line, "utf-8", errors="replace"))
    return at, fixed


def line_series(chunk: bytes, state: FileRead | None = None) -> pl.Series:
    """The chunk's lines as a polars String series, without copying the text.

    Each element keeps its trailing ``\\n`` (patterns end in ``\\r?\\n$``): Arrow strings
    are views into one buffer, so dropping the newline would mean copying every line.
    Blank lines are dropped. Lines holding invalid UTF-8 (binary garbage, Latin-1) are
    re-encoded with U+FFFD replacement, counted in ``state.replaced_lines``, and kept, so
    a line that is otherwise well-formed still counts as a request: they enter the Arrow
    array as nulls (so it stays valid UTF-8) and their repaired text is put in their place.
    """
    if not chunk.endswith(b"\n"):
        chunk += b"\n"
    buf = np.frombuffer(chunk, dtype=np.uint8)
    ends = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], ends[:-1] + 1))
    high = np.flatnonzero(buf >= 0x80)
    at, fixed = _broken_utf8(chunk, starts, ends, high) if high.size else ([], [])
    bitmap = None
    if at:
        valid = np.ones(len(ends), dtype=bool)
        valid[at] = False
        bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
        if state is not None:
            state.replaced_lines += len(at)
    keep = (ends - starts) > 0  # a lone "\n" is a blank line, not a record
    offsets = np.concatenate(([0], ends + 1)).astype(np.int64)
    buffers = [bitmap, pa.py_buffer(offsets), pa.py_buffer(chunk)]
    array = pa.Array.from_buffers(pa.large_string(), len(ends), buffers, null_count=len(at))
    series = pl.Series("line", array)
    if at:
        series = series.scatter(pl.Series(at, dtype=pl.UInt32), pl.Series(fixed, dtype=pl.String))
    return series if bool(keep.all()) else series.filter(pl.Series(keep))


#: Text :class:`Blocks` hands out at once. 4 MB: a 10% window of the 1M-line benchmark log
#: peaks at 294 MB RSS (382 MB with 8 MB blocks, 750 MB with 32 MB), the whole file at the
#: same time and peak (2.7 s, ~740 MB: the records kept, not the block, set it).
BLOCK_CHUNK_BYTES = 4 << 20
#: Bytes :class:`Blocks` reads at once from the (compressed) file.
_BLOCK_READ_BYTES = 4 << 20


class Blocks:
    """Text blocks of one file, ending at line ends; gzip (multi-member) and bzip2 decompressed.

    Used by the PostgreSQL log reader, whose polars parser wants large blocks of bytes.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.truncated = ""

    def _raw(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            first = fh.read(_BLOCK_READ_BYTES)
            kind = "gzip" if first.startswith(b"\x1f\x8b") else "bzip2" if first.startswith(b"BZh") else ""
            report_bytes(len(first))
            if not kind:
                while first:
                    yield first
                    first = fh.read(_BLOCK_READ_BYTES)
                    report_bytes(len(first))
                return
            make: Callable[[], Any] = (lambda: zlib.decompressobj(wbits=47)) if kind == "gzip" else bz2.BZ2Decompressor
            inflater = make()
            data = first
            try:
                while data:
                    yield inflater.decompress(data)
                    while inflater.eof and inflater.unused_data:  # next member (gzip -c a b > c)
                        rest = inflater.unused_data
                        inflater = make()
                        yield inflater.decompress(rest)
                    data = fh.read(_BLOCK_READ_BYTES)
                    report_bytes(len(data))
            except (zlib.error, OSError, EOFError) as err:  # bz2 says OSError("Invalid data stream")
                self.truncated = f"corrupt {kind} data ({err}); read what was there"
                return
            if not inflater.eof:
                self.truncated = f"{kind} stream ends early (truncated file); read what was there"

    def texts(self) -> Iterator[tuple[bytes, bool]]:
        """Yield ``(data, is_last)``; data holds whole lines without the final newline."""
        pending = b""
        ready: list[bytes] = []
        size = 0
        previous: bytes | None = None
        for block in self._raw():
            ready.append(block)
            size += len(block)
            if size < BLOCK_CHUNK_BYTES:
                continue
            data = pending + b"".join(ready)
            cut = data.rfind(b"\n")
            if cut < 0:
                pending, ready, size = data, [], 0
                continue
            pending, ready, size = data[cut + 1 :], [], 0
            if previous is not None:
                yield previous, False
            previous = data[:cut]
        tail = pending + b"".join(ready)
        if tail.endswith(b"\n"):
            tail = tail[:-1]
        if previous is not None:
            yield previous, not tail
        if tail:
            yield tail, True
