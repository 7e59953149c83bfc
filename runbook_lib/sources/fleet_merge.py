"""The kernel's side of a fleet read: partial results merged into one source result.

:mod:`runbook_lib.sources.fleet` plans one :class:`FileTasks` per file (one
:class:`ChunkResult` per task: the whole file, or one byte range of it) and fills in what
each task returned or why it failed. :func:`merge_files` concatenates the frames in file
and byte order, adds up the counts, and gives each file one status over its chunks — so a
file read as eight tasks reads, in findings.json, like a file read as one:

- ``ok`` when every chunk read completely;
- ``partial`` when some chunk skipped malformed lines, met damage, or was lost (its byte
  range named in the reason);
- ``unavailable`` when no chunk could be read, or every line read was malformed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyarrow as pa

from runbook_lib.collected import MAX_SAMPLES, Collected
from runbook_lib.redact import redact
from runbook_lib.sources._byte_range import ByteRange
from runbook_lib.sources.fleet_wire import frame_of

__all__ = ["ChunkResult", "FileTasks", "merge_details", "merge_files", "why"]

#: How :func:`runbook_lib.collected.settle` opens a reason when lines were skipped: the
#: file-level reason states the file's total instead of each chunk's.
_MALFORMED = re.compile(r"^\d+ malformed line\(s\) skipped(?:; )?")
_NONE_OF = re.compile(r"^none of \d+ ")
#: Metadata counts a reader returns that add up over chunks and files.
_COUNTS = ("lines_outside_window", "records_outside_window", "lines_with_replaced_bytes")


@dataclass
class ChunkResult:
    """One read task: the whole file (``byte_range`` ``None``) or one range of it."""

    byte_range: ByteRange | None
    result: Collected | None = None
    failure: str = ""  # why the task gave nothing (worker died, timeout, error)
    future: Any = None  # the distributed Future while it runs
    table: pa.Table | None = None  # the rows, when they travelled as Arrow (fleet_wire)

    @property
    def rows(self) -> int:
        if self.table is not None:
            return int(self.table.num_rows)
        return len(self.result.frame) if self.result is not None else 0

    @property
    def lost(self) -> bool:
        """No evidence at all: the task failed, or the reader could not open the file."""
        got = self.result
        return got is None or (got.status == "unavailable" and got.lines_read == 0)

    def why_lost(self) -> str:
        return self.failure or (self.result.reason if self.result is not None else "") or "no result"


@dataclass
class FileTasks:
    """One file of the spec (``worker:path``), the tasks reading it, or why it has none."""

    label: str
    worker: str
    path: str = ""
    pin: dict[str, Any] = field(default_factory=dict)
    chunks: list[ChunkResult] = field(default_factory=list)
    failure: str = ""


def why(err: BaseException) -> str:
    """One line for a task that failed: a lost worker, a timeout or the worker's error."""
    name = type(err).__name__
    if name == "KilledWorker" or "CommClosed" in name:
        return "the worker running it died"
    if isinstance(err, TimeoutError) or name == "TimeoutError":
        return "no result within the task timeout (worker gone or stuck)"
    return redact(f"{name}: {err}".splitlines()[0][:200])


def _span(byte_range: ByteRange | None) -> str:
    if byte_range is None:
        return "whole file"
    start, stop = byte_range
    return f"bytes {start}-{'end' if stop is None else stop}"


def _file_row(entry: FileTasks) -> dict[str, Any]:
    """The file's findings.json entry, one status over its chunks."""
    row: dict[str, Any] = {"file": entry.label, "worker": entry.worker}
    if entry.failure:
        return {**row, "status": "unavailable", "reason": entry.failure}
    read = [c.result for c in entry.chunks if not c.lost and c.result is not None]
    lost = [c for c in entry.chunks if c.lost]
    row["chunks"] = len(entry.chunks)
    if not read:
        reasons = dict.fromkeys(c.why_lost() for c in lost)
        return {**row, "status": "unavailable", "reason": "; ".join(reasons)}
    rows = sum(c.rows for c in entry.chunks if not c.lost)
    if len(entry.chunks) == 1:
        return {**row, "status": read[0].status, "reason": read[0].reason, "rows": rows}
    lines = sum(got.lines_read for got in read)
    skipped = sum(got.lines_skipped for got in read)
    problems = [f"{_span(c.byte_range)}: {c.why_lost()}" for c in lost]
    for got in read:
        rest = _MALFORMED.sub("", got.reason) if got.status == "partial" else ""
        if rest and rest not in problems:
            problems.append(rest)
    if lines and skipped == lines:
        unreadable = next((g.reason for g in read if g.status == "unavailable"), "no line could be read")
        return {**row, "status": "unavailable", "reason": _NONE_OF.sub(f"none of {lines} ", unreadable), "rows": 0}
    if skipped:
        problems.insert(0, f"{skipped} malformed line(s) skipped")
    status = "partial" if problems else "ok"
    return {**row, "status": status, "reason": redact("; ".join(problems)), "rows": rows}


def merge_files(template: Collected, files: list[FileTasks], meta: dict[str, Any]) -> Collected:
    """One result from every file's chunks, frames concatenated in file and byte order."""
    merged = Collected(template.source, "", template.frame.iloc[:0].copy(), meta=meta)
    pieces: list[pd.DataFrame | pa.Table] = []
    rows: list[dict[str, Any]] = meta["files"]
    for entry in files:
        rows.append(_file_row(entry))
        for chunk in entry.chunks:
            got = chunk.result
            if got is None:
                continue
            if got.usable and chunk.rows:
                pieces.append(chunk.table if chunk.table is not None else got.frame)
            merged.lines_read += got.lines_read
            merged.lines_skipped += got.lines_skipped
            for sample in got.samples[: MAX_SAMPLES - len(merged.samples)]:
                merged.add_sample(sample)
            for key in _COUNTS:
                if isinstance(got.meta.get(key), int):
                    meta[key] = meta.get(key, 0) + got.meta[key]
            merge_details(merged.details, got.details)
            chunk.result = chunk.table = None  # the merged frame is all the kernel keeps
    if pieces:
        merged.frame = frame_of(pieces, template.frame)
    merged.target = ", ".join(str(f["file"]) for f in rows)
    return _settle(merged, rows)


def merge_details(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Add one file's source facts (pg_log: ``format``, ``by_severity``) to the merged ones,
    as one local read of all the files would state them: counts add up, names are listed."""
    for key, value in more.items():
        have = into.get(key)
        if have is None:
            into[key] = dict(value) if isinstance(value, dict) else list(value) if isinstance(value, list) else value
        elif isinstance(value, dict) and isinstance(have, dict):
            merge_details(have, value)
        elif isinstance(value, bool) or isinstance(have, bool):
            into[key] = bool(have) or bool(value)
        elif isinstance(value, int | float) and isinstance(have, int | float):
            into[key] = have + value
        elif isinstance(value, list) and isinstance(have, list):
            have.extend(v for v in value if v not in have)
        elif str(value) not in str(have).split(", "):
            into[key] = f"{have}, {value}"  # two formats in one spec: both named


def _settle(merged: Collected, files: list[dict[str, Any]]) -> Collected:
    """ok when every file read completely; partial when some did; unavailable when none."""
    bad = [f for f in files if f["status"] != "ok"]
    readable = [f for f in files if f["status"] in ("ok", "partial")]
    if not readable:
        merged.status = "unavailable"
    elif bad:
        merged.status = "partial"
    if bad:
        shown = "; ".join(f"{f['file']}: {f['reason'] or f['status']}" for f in bad[:5])
        more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
        merged.reason = redact(f"{len(bad)} of {len(files)} files not read completely: {shown}{more}")
    return merged
