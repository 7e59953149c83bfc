"""The access reader's fast path: compiled cutting for ordinary lines, regex for the rest.

:func:`parse_chunk_fast` gives for a chunk of ``combined`` bytes what the regex path gives
(:func:`~runbook_lib.sources.logs.access_fields.extract_fields`, the window filter and the
peek that skips chunks outside the window): the same rows, values, order, malformed lines
and counts. The lines of the ordinary shape are cut by the compiled scanner
(:mod:`runbook_lib.sources.logs.combined_scan`); only the others are split into a polars
series and see the regex. Measured: ``benchmarks/bench_access_log.py``.

numba is imported on first use, and only for files of :data:`FAST_MIN_BYTES` or more: its
import and the load of the compiled scanner cost ~0.7 s, about what the scanner saves on
1.4M lines, so small reads (the demo, a quiet service) stay on the regex path. The install
scripts compile the scanner once (numba caches it on disk), so no incident waits for it.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from runbook_lib.sources._files import FileRead, line_series
from runbook_lib.sources.logs.access_fields import extract_fields, extract_fields_at
from runbook_lib.sources.logs.logformat import Layout

if TYPE_CHECKING:
    from runbook_lib.sources.logs.combined_scan import Scanned

__all__ = ["FAST_MIN_BYTES", "ChunkRows", "parse_chunk_fast", "uses_fast_path"]

#: Files smaller than this are read by the regex path only.
FAST_MIN_BYTES = 256 << 20
_PEEK = 32  # as access_log's peek: lines looked at on each end of a chunk
_ARROW_TIME = pa.timestamp("ns", tz="UTC")
_ORDER = ("client_ip", "remote_user", "referer", "user_agent", "forwarded_for", "method", "path", "protocol")
_NO_LINES = pl.Series("line", [], dtype=pl.String)


@dataclass
class ChunkRows:
    """One chunk parsed: rows inside the window (file order), malformed lines and counts.

    ``skipped``: the chunk lies before the window (every line counts as outside it);
    ``after``: it starts after the window, so it and the rest of the file are not read.
    """

    lines: int
    table: pa.Table | None
    bad: pl.Series
    outside: int
    replaced: int
    skipped: bool = False
    after: bool = False


def uses_fast_path(layout: Layout, path: Path) -> bool:
    """Whether *path* (read with *layout*) is big enough for the compiled scanner, numba is
    installed, and ``RUNBOOK_ACCESS_ENGINE`` is not ``regex`` (a way around the scanner
    should it ever misbehave on a platform; the benchmarks use it to compare)."""
    if layout.name != "combined" or os.environ.get("RUNBOOK_ACCESS_ENGINE", "") == "regex":
        return False
    try:
        big = path.stat().st_size >= FAST_MIN_BYTES
    except OSError:
        return False
    return big and importlib.util.find_spec("numba") is not None


def _rejected_lines(chunk: bytes, bounds: np.ndarray, read: FileRead) -> pl.Series:
    """The lines at *bounds* (start, newline index) as a polars series, as line_series
    makes them (newline kept, invalid UTF-8 repaired and counted in *read*)."""
    if not len(bounds):
        return _NO_LINES
    text = b"".join(chunk[s : e + 1] for s, e in bounds.tolist())
    lines = line_series(text, read)
    if len(lines) != len(bounds):  # cannot happen: the scanner skips the same blank lines
        raise RuntimeError(f"combined scanner handed over {len(bounds)} lines, the splitter made {len(lines)}")
    return lines


def _times(fields: pl.DataFrame) -> np.ndarray:
    return np.asarray(fields["requested_at"].dt.epoch("ns").to_numpy())


def _peek_span(scanned: Scanned, rejected: np.ndarray, lines: pl.Series, layout: Layout) -> tuple[Any, Any]:
    """Earliest/latest time (UTC ns) of the chunk's first and last few parseable lines."""
    n = len(scanned.state)
    rows = np.arange(n) if n <= 2 * _PEEK else np.concatenate([np.arange(_PEEK), np.arange(n - _PEEK, n)])
    odd = np.isin(rows, rejected)
    stamps = [scanned.times[rows[~odd]]]
    if odd.any():
        stamps.append(_times(extract_fields(lines.gather(np.searchsorted(rejected, rows[odd])), layout)[0]))
    found = np.concatenate(stamps)
    return (None, None) if not found.size else (int(found.min()), int(found.max()))


def _inside(times: np.ndarray, window: tuple[int, int] | None) -> np.ndarray:
    if window is None:
        return np.ones(len(times), dtype=bool)
    return np.asarray((times >= window[0]) & (times < window[1]))


def _scanned_table(buf: np.ndarray, rows: np.ndarray, scanned: Scanned) -> pa.Table:
    """The accepted *rows* as an Arrow table in the regex path's column order."""
    from runbook_lib.sources.logs.combined_scan import TEXT_FIELDS, gather_text

    offsets, data = gather_text(buf, rows, scanned.spans)
    text, base, columns = pa.py_buffer(data), 0, {}
    for f, name in enumerate(TEXT_FIELDS):
        # every field's offsets start at 0: its bytes are the slice of *text* from *base*
        size = int(offsets[f, -1])
        buffers = [None, pa.py_buffer(offsets[f]), text.slice(base, size)]
        columns[name] = pa.Array.from_buffers(pa.large_string(), len(rows), buffers)
        base += size
    stamps = pa.py_buffer(np.ascontiguousarray(scanned.times[rows]))
    return pa.table(
        {
            **{name: columns[name] for name in _ORDER},
            "status": scanned.ints[rows, 0],
            "response_bytes": scanned.ints[rows, 1],
            "request_time_s": scanned.seconds[rows, 0],
            "upstream_time_s": scanned.seconds[rows, 1],
            "requested_at": pa.Array.from_buffers(_ARROW_TIME, len(rows), [None, stamps]),
        }
    )


def parse_chunk_fast(
    chunk: bytes, layout: Layout, window: tuple[int, int] | None, peek: tuple[int, int] | None
) -> ChunkRows:
    """Parse one chunk of a ``combined`` file, keeping rows with times in *window*
    (``[start, end)`` UTC ns); *peek* (the window widened by the log's disorder) decides,
    from the chunk's first and last lines, whether it lies before or after the window."""
    from runbook_lib.sources.logs.combined_scan import ACCEPTED, scan_combined

    buf = np.frombuffer(chunk, dtype=np.uint8)
    scanned = scan_combined(buf)
    n = len(scanned.state)
    accepted = scanned.state == ACCEPTED
    rejected = np.flatnonzero(~accepted)
    read = FileRead(Path(""))
    lines = _rejected_lines(chunk, scanned.lines[rejected], read)
    if peek is not None:
        first, last = _peek_span(scanned, rejected, lines, layout)
        if first is not None and last is not None and last < peek[0]:
            return ChunkRows(n, None, _NO_LINES, n, read.replaced_lines, skipped=True)
        if first is not None and first > peek[1]:
            return ChunkRows(n, None, _NO_LINES, 0, read.replaced_lines, after=True)
    rows = np.flatnonzero(accepted & _inside(scanned.times, window))
    outside = int(accepted.sum()) - len(rows)
    table = _scanned_table(buf, rows, scanned)
    if not len(rejected):
        return ChunkRows(n, table if len(rows) else None, _NO_LINES, outside, read.replaced_lines)
    frame, bad, at = extract_fields_at(lines, layout)
    inside = _inside(_times(frame), window)
    outside += len(frame) - int(inside.sum())
    slow = frame.filter(pl.Series(inside)).to_arrow()
    if slow.num_rows:
        where = np.concatenate([rows, rejected[at.to_numpy()[inside]]])
        table = pa.concat_tables([table, slow]).take(pa.array(np.argsort(where, kind="stable")))
    return ChunkRows(n, table if table.num_rows else None, bad, outside, read.replaced_lines)
