"""nginx / Apache access logs as one typed frame, read exactly and fast.

Frame schema (:data:`ACCESS_SCHEMA`), one row per request line:

=================  ==========================  ==============================================
column             dtype                       meaning
=================  ==========================  ==============================================
requested_at       datetime64[ns, UTC]         ``$time_local`` / ``$time_iso8601`` / ``$msec``
client_ip          str                         ``$remote_addr`` (the address nginx saw)
remote_user        str                         ``$remote_user``; ``""`` for ``-``
method             str                         ``GET``…; ``""`` when the request line is not
                                               ``METHOD target [HTTP/x]`` (``-``, ``GARBAGE``)
path               str                         raw request target incl. query string (still
                                               percent-encoded); the whole request line when
                                               it does not split
protocol           str                         ``HTTP/1.1``…, ``""`` if absent
referer            str                         ``""`` for ``-`` or when the layout lacks it
user_agent         str                         ``""`` for ``-`` or when the layout lacks it
forwarded_for      str                         ``X-Forwarded-For`` chain, ``""`` when absent
status             int64                       HTTP status (0 if the layout lacks it)
response_bytes     int64                       ``$body_bytes_sent``/``$bytes_sent``; ``-`` → 0
request_time_s     float64                     ``$request_time`` (NaN if absent / ``-``)
upstream_time_s    float64                     sum over ``$upstream_response_time`` attempts
source_file        category                    the file the line came from (one code per
                                               row, each distinct path stored once)
=================  ==========================  ==============================================

String columns use pandas' ``"str"`` dtype (Arrow-backed in pandas ≥ 3), never ``object``;
``source_file`` is a ``category`` whose categories are the sorted distinct paths of the rows
(of the files asked for when there are none), so that a fleet read gives the same dtype:
as ``str`` it repeated the path on every row, 214 MiB of a 5M-line frame (issue 13).
A custom ``log_format`` may capture more variables (``$host``, ``$upstream_addr``…): they
follow the schema columns as ``str`` columns named after the variable.

Engine, chosen by measurement (issue 4): each chunk's lines become one Arrow string array
without copying, and polars' Rust regex extracts every field with one anchored pattern
translated from the log format (:mod:`runbook_lib.sources.logs.logformat`). A line matches
completely or is malformed — row counts are exact, unlike quote-aware CSV readers. Lines
the fast pattern misses get one more, tolerant pattern (virtual-host or X-Forwarded-For
lead) before they are counted as malformed.

Where the time goes (issue 13; 5M-line benchmark log, one core, CPU ns per line, from
``benchmarks/prof_access_stages.py``): reading 160, splitting into lines 150-290, the strict
variant's 11-group capture ~880 of ``extract_fields``' ~1200, ``to_arrow`` 110; ~1.8 µs a
line in all, ~9 s CPU and ~5.3 s wall for the 5M lines on two cores (~940k lines/s).
Validating with a plain match (``str.contains``, ~355) and cutting the fields at the quotes
with numpy was built and is exact, but the cut, the conversions and the merge in file order
cost what the capture saves (1.79 vs 1.72 µs a line; branch ``access-fast-cut``); polars'
CSV reader on pre-validated lines alone costs ~430.

The window is applied per chunk while reading, so memory follows the window, not the
file; chunks entirely before the window are skipped after peeking at their first and last
lines, and a file stops being read once a chunk starts after the window (allowing
:data:`LOG_DISORDER` for lines written out of order). With ``byte_range`` only the lines
that range of one plain file owns are read (:mod:`runbook_lib.sources._byte_range`): a
cluster reads a large file as several tasks, and their rows and counts, concatenated in
byte order, are exactly the whole-file read's (one record per line makes this safe).

When the source is down: a missing/unreadable file gives status ``unavailable`` with a
one-line reason (other files of a set are still read → ``partial``); malformed, truncated
or binary lines and truncated gzip files give ``partial`` with counts and samples.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from runbook_lib.collected import MAX_SAMPLES, Collected, conform, empty_frame, guarded, settle, skipped
from runbook_lib.errors import SourceError, SourceUnavailable
from runbook_lib.sources import _files as logfiles
from runbook_lib.sources._byte_range import ByteRange
from runbook_lib.sources._files import FileRead, expand_paths, iter_chunks, line_series
from runbook_lib.sources._progress import reporting_bytes
from runbook_lib.sources.logs.access_fields import extract_fields
from runbook_lib.sources.logs.logformat import Layout, layout_for
from runbook_lib.timewindow import Window

__all__ = ["ACCESS_SCHEMA", "LOG_DISORDER", "collect_access_log", "read_access_frame"]

SOURCE = "access_log"
ACCESS_SCHEMA: dict[str, str] = {
    "requested_at": "datetime64[ns, UTC]",
    "client_ip": "str",
    "remote_user": "str",
    "method": "str",
    "path": "str",
    "protocol": "str",
    "referer": "str",
    "user_agent": "str",
    "forwarded_for": "str",
    "status": "int64",
    "response_bytes": "int64",
    "request_time_s": "float64",
    "upstream_time_s": "float64",
    "source_file": "category",
}
#: How far out of time order lines may be written (nginx logs a request when it ends).
LOG_DISORDER = pd.Timedelta(minutes=15)
_PEEK = 32  # lines looked at on each end of a chunk to decide whether to parse it
_WORKERS = 2  # chunks parsed at once (each also splits its regex work across polars' pool)


@dataclass
class _Parsed:
    lines: int
    samples: list[str]
    bad: int
    outside: int
    table: pa.Table | None


@dataclass
class _Tally:
    lines_read: int = 0
    lines_skipped: int = 0
    outside_window: int = 0
    replaced: int = 0
    samples: list[str] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    tables: list[pa.Table] = field(default_factory=list)
    files: list[str] = field(default_factory=list)  # the file of each table


def _peek_span(lines: pl.Series, layout: Layout) -> tuple[Any, Any]:
    """Earliest/latest time among the chunk's first and last few parseable lines."""
    n = len(lines)
    probe = lines.head(_PEEK) if n <= 2 * _PEEK else pl.concat([lines.head(_PEEK), lines.tail(_PEEK)])
    stamps = extract_fields(probe, layout)[0]["requested_at"].drop_nulls()
    if stamps.is_empty():
        return None, None
    return stamps.min(), stamps.max()


def _parse_chunk(lines: pl.Series, layout: Layout, window: Window | None) -> _Parsed:
    """Parse one chunk and keep the rows inside *window* (runs in a worker thread)."""
    frame, bad = extract_fields(lines, layout)
    outside = 0
    if window is not None:
        inside = frame.filter(
            (pl.col("requested_at") >= window.start.to_pydatetime())
            & (pl.col("requested_at") < window.end.to_pydatetime())
        )
        outside, frame = len(frame) - len(inside), inside
    # Arrow copies out just these rows' bytes; polars' string views would keep the whole
    # chunk's text alive for as long as the frame lives.
    table = frame.to_arrow() if len(frame) else None
    return _Parsed(len(lines), bad.head(MAX_SAMPLES).to_list(), len(bad), outside, table)


def _collect(parsed: _Parsed, tally: _Tally, path: str) -> None:
    tally.lines_read += parsed.lines
    tally.lines_skipped += parsed.bad
    tally.outside_window += parsed.outside
    tally.samples.extend(line.rstrip("\r\n") for line in parsed.samples[: MAX_SAMPLES - len(tally.samples)])
    if parsed.table is not None:
        tally.tables.append(parsed.table)
        tally.files.append(path)


def _read_file(
    path: Path,
    layout: Layout,
    window: Window | None,
    tally: _Tally,
    byte_range: ByteRange | None = None,
) -> None:
    state = FileRead(path)
    start = end = None
    if window is not None:
        start = (window.start - LOG_DISORDER).to_pydatetime()
        end = (window.end + LOG_DISORDER).to_pydatetime()
    # polars releases the GIL while it works, so a second worker parses the next chunk
    # while this thread reads and splits the one after: both cores stay busy. Results are
    # collected in file order.
    in_flight: deque[Future[_Parsed]] = deque()
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        chunks = iter_chunks(path, source=SOURCE, state=state, chunk_bytes=logfiles.CHUNK_BYTES, byte_range=byte_range)
        for chunk in chunks:
            lines = line_series(chunk, state)
            del chunk
            if start is not None and end is not None:
                first, last = _peek_span(lines, layout)
                if first is not None and last is not None and last < start:
                    _collect(_Parsed(len(lines), [], 0, len(lines), None), tally, str(path))
                    continue
                if first is not None and first > end:
                    break  # the rest of this file is after the window
            in_flight.append(pool.submit(_parse_chunk, lines, layout, window))
            while len(in_flight) >= _WORKERS:
                _collect(in_flight.popleft().result(), tally, str(path))
        while in_flight:
            _collect(in_flight.popleft().result(), tally, str(path))
    tally.replaced += state.replaced_lines
    if state.damage:
        tally.damaged.append(f"{path.name}: {state.damage}")


def _source_files(tally: _Tally) -> pd.Categorical:
    """The ``source_file`` column: one code per row, each path stored once."""
    names = sorted(set(tally.files))
    code = {name: i for i, name in enumerate(names)}
    codes = np.repeat([code[f] for f in tally.files], [len(t) for t in tally.tables])
    return pd.Categorical.from_codes(
        codes.astype(np.int8 if len(names) < 128 else np.int32), pd.Index(names, dtype="str")
    )


def _to_pandas(tally: _Tally) -> pd.DataFrame:
    """One pandas frame from the chunks' Arrow tables, strings staying Arrow-backed."""
    files = _source_files(tally)
    table = pa.concat_tables(tally.tables, promote_options="permissive")
    tally.tables.clear()
    names = [c for c in ACCESS_SCHEMA if c in table.column_names]
    table = table.select(names + [c for c in table.column_names if c not in ACCESS_SCHEMA])  # zero-copy
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas >= 3 calls "str"
    mapping = {pa.string(): text, pa.large_string(): text, pa.string_view(): text}
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapping.get, self_destruct=True, split_blocks=True)
    frame.insert(len(names), "source_file", pd.Series(files, index=frame.index))
    return frame


def _empty(files: list[str]) -> pd.DataFrame:
    """No rows: ``source_file``'s categories are the files asked for, so that the empty
    parts of a byte-range read concatenate with the others as a category still."""
    frame = empty_frame(ACCESS_SCHEMA)
    frame["source_file"] = pd.Categorical([], categories=pd.Index(sorted(set(files)), dtype="str"))
    return frame


def read_access_frame(
    files: list[Path],
    *,
    window: Window | None = None,
    log_format: str = "combined",
    progress: Callable[[int, int], None] | None = None,
    byte_range: ByteRange | None = None,
) -> Collected:
    """Read *files* in order into a :class:`Collected` (raises ``SourceError`` if none reads).

    *byte_range* reads only the lines that range of the one plain file in *files* owns
    (:mod:`runbook_lib.sources._byte_range`): one chunk task of a large file on a cluster.
    """
    if byte_range is not None and len(files) != 1:
        raise ValueError(f"a byte range names one file, not {len(files)}")
    layout = layout_for(log_format)
    tally = _Tally()
    sizes = {p: (p.stat().st_size if p.is_file() else 0) for p in files}
    last_error: SourceError | None = None
    with reporting_bytes(sum(sizes.values()), progress):  # the file layer reports the bytes
        for path in files:
            try:
                _read_file(path, layout, window, tally, byte_range)
            except SourceError as err:
                last_error = err
                tally.missing.append(f"{path.name}: {err.detail}")
    if last_error is not None and len(tally.missing) == len(files):
        raise last_error
    frame = _to_pandas(tally) if tally.tables else _empty([str(p) for p in files])
    tally.tables.clear()
    head = frame.columns[: len(ACCESS_SCHEMA)]
    if list(head) != list(ACCESS_SCHEMA) or [str(frame[c].dtype) for c in head] != list(ACCESS_SCHEMA.values()):
        frame = conform(frame, ACCESS_SCHEMA)  # copies: only when something is off
    target = ", ".join(str(p) for p in files)
    result = Collected(SOURCE, target, frame, lines_read=tally.lines_read, lines_skipped=tally.lines_skipped)
    for sample in tally.samples:
        result.add_sample(sample)
    unreadable = (
        f"none of {tally.lines_read} line(s) matches the log format {log_format[:80]!r} "
        "(set access_log_format to the server's log_format)"
    )
    settle(result, [*tally.damaged, *tally.missing], unreadable=unreadable)
    result.meta.update(
        files=[str(p) for p in files],
        layout=layout.name,
        lines_outside_window=tally.outside_window,
        lines_with_replaced_bytes=tally.replaced,
    )
    return result


def collect_access_log(
    paths: str,
    *,
    window: Window | None = None,
    log_format: str = "combined",
    progress: Callable[[int, int], None] | None = None,
    byte_range: ByteRange | None = None,
) -> Collected:
    """Collect the access log(s) named by *paths* (path, glob or rotated set), in time order.

    ``log_format`` is ``combined`` (tolerant: common, vhost/X-Forwarded-For lead, trailing
    ``"$http_x_forwarded_for"``, ``$request_time``, ``$upstream_response_time``) or an nginx
    ``log_format`` string. Rows are limited to *window* while reading. *byte_range* (one
    plain file only) reads the lines that range owns, so that a cluster can read a large
    file as several tasks (:mod:`runbook_lib.sources.fleet`). Never raises on a broken
    world; see the module docstring for statuses.
    """
    if not str(paths).strip():
        return skipped(SOURCE, ACCESS_SCHEMA, "no access log configured (access_log is empty)")
    files = expand_paths(str(paths))
    target = ", ".join(str(p) for p in files) or str(paths)

    def read() -> Collected:
        if not files:
            raise SourceUnavailable("no file matches", source=SOURCE, target=str(paths))
        return read_access_frame(files, window=window, log_format=log_format, progress=progress, byte_range=byte_range)

    return guarded(SOURCE, target, ACCESS_SCHEMA, read)
