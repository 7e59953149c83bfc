"""Application logs as one typed frame: JSON lines, logfmt, plain text, or your own regex.

Frame schema (:data:`APP_SCHEMA`), one row per record:

============  ===================  ==========================================================
column        dtype                meaning
============  ===================  ==========================================================
logged_at     datetime64[ns, UTC]  record time (a time without offset is read as UTC)
level         str                  lower-case: trace, debug, info, warning, error, critical,
                                   or the log's own word (``stats``); ``warn`` → ``warning``,
                                   ``fatal``/``crit`` → ``critical``, ``debug5`` → ``debug``,
                                   bunyan/pino numbers (10…60) mapped; ``""`` if none
logger        str                  logger / component / app name, ``""`` if none
message       str                  the text; continuation lines (stack traces) appended
                                   after ``\\n``
source_file   str                  the file the record came from
============  ===================  ==========================================================

Each line is recognised on its own, so one file may mix layouts:

- JSON objects (bunyan, pino with epoch-ms ``time``, Elastic ECS ``@timestamp`` /
  ``log.level``, generic ``ts``/``lvl``/``msg``, fields nested under ``@fields``);
- logfmt (``ts=… level=info msg="…"``, ``time="…" level=error msg=…``);
- plain text starting with an ISO-8601 timestamp and a level word (log4j/logback/Python);
- with ``pattern``: a regex with named groups ``logged_at`` (or ``ts``/``time``),
  ``level``, ``logger``, ``message`` (or ``msg``) — other lines continue the previous record.

A line that is none of these continues the previous record (stack traces); before any
record, or when it is a broken JSON object or a record whose time cannot be read, it is
counted as malformed, by reason (``meta["malformed_by_reason"]``, and in the reason line)
and sampled (status ``partial``). Missing file → ``unavailable``.

Engine (issue 13): the file is read in chunks ending at line ends
(:func:`~runbook_lib.sources._files.iter_chunks`); each chunk's lines become one Arrow
string array without copying, and :mod:`~runbook_lib.sources.logs.app_fields` parses
the chunk with polars (the per-line parser in
:mod:`~runbook_lib.sources.logs.app_lines` settles what polars cannot map exactly).
With a window, a chunk whose first and last lines are all before it is counted and
skipped unparsed, and a file stops being read once a chunk starts after it (both
allowing :data:`APP_LOG_DISORDER`), so memory follows the window, not the file.
"""

from __future__ import annotations

import re
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from runbook_lib.collected import MAX_SAMPLES, Collected, conform, empty_frame, guarded, settle, skipped
from runbook_lib.errors import ParameterError, SourceError, SourceUnavailable
from runbook_lib.sources._files import FileRead, expand_paths, iter_chunks, line_series
from runbook_lib.sources.logs.app_fields import CONTINUES, MALFORMED, RECORD, parse_lines
from runbook_lib.sources.logs.app_lines import APP_SCHEMA, parse_app_line
from runbook_lib.timewindow import Window

__all__ = ["APP_LOG_DISORDER", "APP_SCHEMA", "collect_app_log", "parse_app_line", "read_app_frame"]

SOURCE = "app_log"
#: How far out of time order records may be written (threads and processes sharing a file).
APP_LOG_DISORDER = pd.Timedelta(minutes=15)
_PEEK = 32  # lines looked at on each end of a chunk to decide whether to parse it
_WORKERS = 2  # chunks parsed at once
#: Text parsed at once: small enough that the demo's 8 MB log is two chunks for two workers.
APP_CHUNK_BYTES = 4 << 20
_BEFORE_FIRST = "text before the first record"


@dataclass
class _Reading:
    """What one read carries from chunk to chunk and from file to file."""

    window: Window | None
    pattern: str
    tables: list[pa.Table] = field(default_factory=list)
    #: The latest record: the next chunk may still hold its continuation lines.
    pending: pl.DataFrame | None = None
    pending_extra: list[str] = field(default_factory=list)
    seen_record: bool = False
    lines_read: int = 0
    outside: int = 0
    unparsed: int = 0
    malformed: Counter[str] = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)

    def _bad(self, reason: str, texts: pl.Series) -> None:
        self.malformed[reason] += len(texts)
        self.samples.extend(texts.head(MAX_SAMPLES - len(self.samples)).to_list())

    def _emit(self, records: pl.DataFrame) -> None:
        if self.window is not None:
            at = pl.col("logged_at")
            inside = records.filter((at >= self.window.start.to_pydatetime()) & (at < self.window.end.to_pydatetime()))
            self.outside += len(records) - len(inside)
            records = inside
        if len(records):
            # Arrow copies out just these rows' text, not the chunk's whole buffer.
            self.tables.append(records.select(list(APP_SCHEMA)).to_arrow())

    def flush(self) -> None:
        """Emit the pending record with the continuation lines gathered for it."""
        if self.pending is None:
            return
        record = self.pending
        if self.pending_extra:
            extra = "\n".join(self.pending_extra)
            record = record.with_columns(pl.col("message") + "\n" + extra)
        self.pending, self.pending_extra = None, []
        self._emit(record)

    def skip(self, lines: int) -> None:
        """A chunk before the window: counted, not parsed; its records cannot continue."""
        self.flush()
        self.lines_read += lines
        self.unparsed += lines
        self.seen_record = True

    def add(self, parsed: pl.DataFrame, texts: pl.Series, path: str) -> None:
        """Take one parsed chunk, in file order, and join continuation lines to their records."""
        self.lines_read += len(texts)
        parsed = parsed.with_columns(texts.alias("text"))
        for (reason,), bad in parsed.filter(pl.col("kind") == MALFORMED).group_by("reason", maintain_order=True):
            self._bad(str(reason), bad["text"])
        rows = parsed.filter(pl.col("kind") != MALFORMED).with_columns(
            rid=(pl.col("kind") == RECORD).cum_sum().cast(pl.UInt32)
        )
        head = rows.filter(pl.col("rid") == 0)["text"]
        if len(head):
            if self.pending is not None:
                self.pending_extra.extend(head.to_list())
            elif not self.seen_record:
                self._bad(_BEFORE_FIRST, head)
            # else: the lines continue a record of a chunk skipped before the window
        records = rows.filter(pl.col("kind") == RECORD)
        if not len(records):
            return
        self.flush()
        self.seen_record = True
        extra = rows.filter((pl.col("kind") == CONTINUES) & (pl.col("rid") > 0))
        if len(extra):
            joined = extra.group_by("rid", maintain_order=True).agg(pl.col("text").str.join("\n").alias("extra"))
            records = records.join(joined, on="rid", how="left", maintain_order="left").with_columns(
                message=pl.when(pl.col("extra").is_not_null())
                .then(pl.concat_str(["message", "extra"], separator="\n"))
                .otherwise(pl.col("message"))
            )
        records = records.with_columns(source_file=pl.lit(path))
        self._emit(records.head(len(records) - 1))
        self.pending = records.tail(1)


def _texts(chunk: bytes, state: FileRead) -> pl.Series:
    """The chunk's non-blank lines without line endings (an Arrow view, then one copy)."""
    texts = line_series(chunk, state).str.strip_chars_end("\r\n")
    return texts.filter(~texts.str.contains(r"^\s*$"))


def _ends(chunk: bytes) -> bytes:
    """The chunk's first and last :data:`_PEEK` lines (the whole chunk if it is short)."""
    head = -1
    for _ in range(_PEEK):
        head = chunk.find(b"\n", head + 1)
        if head < 0:
            return chunk
    tail = len(chunk) - 1  # the chunk ends with its last line's "\n"
    for _ in range(_PEEK):
        tail = chunk.rfind(b"\n", 0, tail)
        if tail < 0:
            return chunk
    return chunk if tail <= head else chunk[: head + 1] + chunk[tail + 1 :]


def _span(chunk: bytes, pattern: str) -> tuple[object, object]:
    """Earliest/latest record time among the chunk's first and last few lines."""
    probe = _texts(_ends(chunk), FileRead(Path("")))
    stamps = parse_lines(probe, pattern=pattern).filter(pl.col("kind") == RECORD)["logged_at"]
    if stamps.is_empty():
        return None, None
    return stamps.min(), stamps.max()


def _parse_chunk(chunk: bytes, pattern: str) -> tuple[pl.DataFrame, pl.Series, int]:
    """Split and parse one chunk (in a worker thread): (parsed rows, texts, repaired lines)."""
    state = FileRead(Path(""))
    texts = _texts(chunk, state)
    return parse_lines(texts, pattern=pattern), texts, state.replaced_lines


def _read_file(path: Path, reading: _Reading, state: FileRead) -> None:
    window = reading.window
    start = end = None
    if window is not None:
        start = (window.start - APP_LOG_DISORDER).to_pydatetime()
        end = (window.end + APP_LOG_DISORDER).to_pydatetime()
    # polars and numpy release the GIL while they work: two workers split and parse chunks
    # while this thread reads the file and stitches, so both cores stay busy. Parsed
    # chunks are taken in file order (continuation lines and the window depend on it).
    in_flight: deque[Future[tuple[pl.DataFrame, pl.Series, int]]] = deque()

    def take(limit: int) -> None:
        while len(in_flight) > limit:
            parsed, texts, replaced = in_flight.popleft().result()
            state.replaced_lines += replaced
            reading.add(parsed, texts, str(path))

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for chunk in iter_chunks(path, source=SOURCE, state=state, chunk_bytes=APP_CHUNK_BYTES):
            if start is not None and end is not None:
                first, last = _span(chunk, reading.pattern)
                if first is not None and last is not None and last < start:  # type: ignore[operator]
                    take(0)
                    reading.skip(len(_texts(chunk, state)))
                    continue
                if first is not None and first > end:  # type: ignore[operator]
                    take(0)
                    reading.flush()
                    reading.seen_record = True
                    return  # the rest of this file is after the window
            in_flight.append(pool.submit(_parse_chunk, chunk, reading.pattern))
            take(_WORKERS)
        take(0)


def _to_pandas(tables: list[pa.Table]) -> pd.DataFrame:
    """One pandas frame from the chunks' Arrow tables, strings staying Arrow-backed."""
    table = pa.concat_tables(tables)
    tables.clear()
    text = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas >= 3 calls "str"
    mapping = {pa.string(): text, pa.large_string(): text, pa.string_view(): text}
    frame: pd.DataFrame = table.to_pandas(types_mapper=mapping.get, self_destruct=True)
    if [str(frame[c].dtype) for c in frame.columns] != list(APP_SCHEMA.values()):
        frame = conform(frame, APP_SCHEMA)
    return frame


def read_app_frame(files: list[Path], *, window: Window | None = None, pattern: str = "") -> Collected:
    """Read *files* in order into a :class:`Collected` (raises ``SourceError`` if none opens)."""
    reading = _Reading(window, pattern)
    problems: list[str] = []
    last_error: SourceError | None = None
    opened = replaced = 0
    for path in files:
        state = FileRead(path)
        try:
            _read_file(path, reading, state)
            opened += 1
        except SourceError as err:
            last_error = err
            problems.append(f"{path.name}: {err.detail}")
            continue
        replaced += state.replaced_lines
        if state.damage:
            problems.append(f"{path.name}: {state.damage}")
    reading.flush()
    if opened == 0 and last_error is not None:
        raise last_error
    frame = _to_pandas(reading.tables) if reading.tables else empty_frame(APP_SCHEMA)
    result = Collected(SOURCE, ", ".join(str(p) for p in files), frame)
    result.lines_read, result.lines_skipped = reading.lines_read, sum(reading.malformed.values())
    for sample in reading.samples:
        result.add_sample(sample)
    if reading.malformed:
        problems.insert(0, "by reason: " + ", ".join(f"{n} {why}" for why, n in reading.malformed.most_common()))
    settle(result, problems, unreadable=f"none of {reading.lines_read} line(s) could be read as {SOURCE} records")
    result.meta.update(
        files=[str(p) for p in files],
        records_outside_window=reading.outside,
        lines_skipped_before_window=reading.unparsed,
        malformed_by_reason=dict(reading.malformed),
        lines_with_replaced_bytes=replaced,
    )
    return result


def collect_app_log(paths: str, *, window: Window | None = None, pattern: str = "") -> Collected:
    """Collect application log(s) named by *paths* (path, glob or rotated set).

    *pattern* (optional) is a regex with named groups ``logged_at``/``ts``/``time``,
    ``level``, ``logger``, ``message``/``msg``. Never raises on a broken world; a bad
    *pattern* is a :class:`ParameterError` (the caller's mistake, not the world's).
    """
    if not str(paths).strip():
        return skipped(SOURCE, APP_SCHEMA, "no application log configured (app_log is empty)")
    if pattern:
        try:
            re.compile(pattern)
        except re.error as err:
            raise ParameterError(f"not a valid regular expression: {err}", key="pattern") from err
    files = expand_paths(str(paths))
    target = ", ".join(str(p) for p in files) or str(paths)

    def read() -> Collected:
        if not files:
            raise SourceUnavailable("no file matches", source=SOURCE, target=str(paths))
        return read_app_frame(files, window=window, pattern=pattern)

    return guarded(SOURCE, target, APP_SCHEMA, read)
