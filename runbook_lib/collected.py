"""What every source returns: a typed frame plus an honest account of how it was read.

A source never raises because the world is broken (DESIGN.md). It returns a
:class:`Collected` whose ``status`` says how much we can trust the frame:

- ``ok``: read completely;
- ``partial``: read, but some input was skipped (malformed lines, a sample that failed);
- ``unavailable``: nothing could be read (down, refused, timed out, missing, denied);
- ``skipped``: the source is not configured for this run (empty parameter).

``frame`` always has the source's documented columns and dtypes, even when empty, so
analyses can run on it unchanged and say "unknown" instead of "healthy".
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from runbook_lib.errors import SourceError
from runbook_lib.redact import redact

__all__ = [
    "Collected",
    "MAX_SAMPLES",
    "MAX_SAMPLE_CHARS",
    "Status",
    "conform",
    "empty_frame",
    "guarded",
    "settle",
    "skipped",
]

Status = Literal["ok", "partial", "unavailable", "skipped"]

#: How many malformed inputs a source keeps as examples for the report.
MAX_SAMPLES = 5
#: How long a network call (connect, query, HTTP probe) waits before the source says
#: ``unavailable``: an on-call run must not hang on a dead dependency.
DEFAULT_TIMEOUT_S = 5.0
#: Longest sample line kept (hostile logs have megabyte lines).
MAX_SAMPLE_CHARS = 300


@dataclass
class Collected:
    """A source's result: the frame and how it was obtained."""

    source: str
    target: str
    frame: pd.DataFrame
    status: Status = "ok"
    reason: str = ""
    lines_read: int = 0
    lines_skipped: int = 0
    elapsed_s: float = 0.0
    samples: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    #: The error that made the source unavailable (its ``code`` says what went wrong).
    error: SourceError | None = None
    #: Source-specific facts for the report's sources entry (pg_log: format, by_severity).
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.target = redact(self.target)
        self.reason = redact(self.reason)

    @property
    def usable(self) -> bool:
        """True when the frame holds evidence we can reason about (ok or partial)."""
        return self.status in ("ok", "partial")

    def add_sample(self, line: str) -> None:
        """Keep a few malformed inputs (truncated, redacted) to show in the report."""
        if len(self.samples) < MAX_SAMPLES:
            text = line if len(line) <= MAX_SAMPLE_CHARS else line[:MAX_SAMPLE_CHARS] + "…"
            self.samples.append(redact(text))

    def status_row(self) -> dict[str, Any]:
        """One row of the report's source-status table (also stored in findings.json)."""
        return {
            **self.details,
            "source": self.source,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "rows": int(len(self.frame)),
            "lines_read": int(self.lines_read),
            "lines_skipped": int(self.lines_skipped),
            "elapsed_s": round(float(self.elapsed_s), 3),
            "samples": list(self.samples),
            **({"error_code": self.error.code} if self.error is not None else {}),
            # how a log source was read: locally, or on a Dask cluster (sources/fleet.py)
            **{k: self.meta[k] for k in ("engine", "scheduler", "tasks", "files") if k in self.meta},
        }


def empty_frame(schema: Mapping[str, str]) -> pd.DataFrame:
    """An empty frame with the given ``{column: dtype}`` schema."""
    return pd.DataFrame({name: pd.Series(dtype=dtype) for name, dtype in schema.items()})


def conform(frame: pd.DataFrame, schema: Mapping[str, str]) -> pd.DataFrame:
    """Return *frame* with exactly the schema's columns, in order, cast to its dtypes.

    Missing columns are added empty (NA); extra columns are kept after the schema's.
    """
    out = frame.copy()
    for name, dtype in schema.items():
        if name not in out.columns:
            out[name] = pd.Series(pd.NA, index=out.index, dtype=dtype)
        elif str(out[name].dtype) != dtype:
            out[name] = out[name].astype(dtype)  # type: ignore[call-overload]
    extra = [c for c in out.columns if c not in schema]
    return out[[*schema, *extra]]


def settle(result: Collected, problems: list[str], *, unreadable: str) -> Collected:
    """The one rule for a line-oriented source's status, from its counts and problems.

    ``ok`` when every line read became a record; ``partial`` when malformed lines were
    skipped or a file was missing or damaged (*problems*); ``unavailable`` when lines were
    read but not one became a record — the wrong file or the wrong layout, which must not
    read as "no errors, no traffic" — with the *unreadable* reason.
    """
    if result.lines_skipped:
        problems = [f"{result.lines_skipped} malformed line(s) skipped", *problems]
    if problems:
        result.status = "partial"
        result.reason = redact("; ".join(problems))
    if result.lines_read and result.lines_skipped == result.lines_read:
        result.status = "unavailable"
        result.reason = redact(unreadable)
    return result


def skipped(source: str, schema: Mapping[str, str], reason: str = "not configured") -> Collected:
    """The result for a source the run was not asked to read."""
    return Collected(source, "", empty_frame(schema), status="skipped", reason=reason)


def guarded(
    source: str,
    target: str,
    schema: Mapping[str, str],
    read: Callable[[], Collected],
) -> Collected:
    """Run *read*; turn a :class:`SourceError` into an ``unavailable`` result, and time it.

    Programming errors (``KeyError``, ``TypeError``…) propagate: they are bugs, not incidents.
    """
    t0 = time.perf_counter()
    try:
        result = read()
    except SourceError as err:
        result = Collected(source, target, empty_frame(schema), status="unavailable", reason=str(err), error=err)
    result.elapsed_s = time.perf_counter() - t0
    return result
