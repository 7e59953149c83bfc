"""What the PostgreSQL server log says happened: connection exhaustion, timeouts, deadlocks.

Pure functions over the ``pg_log`` frame (``sources.pg_log.PG_LOG_SCHEMA``); they never
read files. Event kinds (:data:`EVENT_KINDS`), matched on the message as PostgreSQL writes
it with ``lc_messages = C``:

    too_many_connections  FATAL "sorry, too many clients already", "too many connections
                          for role/database", "remaining connection slots are reserved"
    statement_timeout     "canceling statement due to statement timeout"
    deadlock              "deadlock detected"
    terminated            "terminating connection" (admin command, idle timeout, crash)
    auth_failed           "password authentication failed" / "authentication failed for user"
    error, fatal          every ERROR / every FATAL or PANIC record
    slow_query            a "duration: N ms" record above ``slow_query_s``

:func:`pg_log_events_per_minute` returns one row per interval (``bucket_at`` + one count column
per kind, zero-filled between the first and last record). :func:`count_pg_log_events`
counts queries and errors the way pgBadger does, so the two can be compared.

Severity ladder of :func:`find_pg_log_findings` (a refused connection, a cancelled
statement or a deadlock each failed a real request, so one is enough; terminations,
authentication failures and slow statements happen on every busy server, so they need
volume: ``PG_NOISE_COUNT`` (10) in the window):

=========================  ===================================================================
finding                    severity: evidence
=========================  ===================================================================
pg_log_too_many_connections critical: any FATAL refusal for lack of a free slot
pg_log_statement_timeout   high: any statement cancelled by statement_timeout
pg_log_deadlock            high: any deadlock detected
pg_log_terminated          medium: >= 10 terminated connections; low: fewer
pg_log_auth_failed         medium: >= 10 authentication failures; low: fewer (a stale password)
pg_log_slow_query          medium: >= 10 statements over ``slow_query_s``; low: fewer
pg_log_prefix_mismatch     high: the log_line_prefix matches too few lines (events are missing)
pg_log_events              low: none of the above but ERROR/FATAL records; info: a quiet log;
                           unknown: no records in the window or the log could not be read
=========================  ===================================================================
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

from ._common import MINUTE, sum_per_minute

__all__ = [
    "EVENTS_SCHEMA",
    "EVENT_KINDS",
    "classify_pg_log",
    "pg_log_events_per_minute",
    "find_pg_log_findings",
    "count_pg_log_events",
    "pg_log_event_rows",
]

EVENT_KINDS: tuple[str, ...] = (
    "too_many_connections", "statement_timeout", "deadlock", "terminated", "auth_failed",
    "error", "fatal", "slow_query",
)  # fmt: skip
EVENTS_SCHEMA: dict[str, str] = {
    "bucket_at": "datetime64[ns, UTC]",
    **{kind: "int64" for kind in EVENT_KINDS},
}
_PATTERNS = {
    "too_many_connections": (
        r"sorry, too many clients already|too many connections"
        r"|remaining connection slots are reserved"
    ),
    "statement_timeout": r"canceling statement due to statement timeout",
    "deadlock": r"deadlock detected",
    "terminated": r"terminating connection",
    "auth_failed": r"password authentication failed|authentication failed for user",
}
#: What each kind means for the incident, and how bad it is when present.
_DESCRIBE: dict[str, tuple[str, Severity]] = {
    "too_many_connections": ("FATAL connection refusals (no free slot)", "critical"),
    "statement_timeout": ("statements cancelled by statement_timeout", "high"),
    "deadlock": ("deadlocks", "high"),
    "terminated": ("terminated connections", "medium"),
    "auth_failed": ("authentication failures", "medium"),
    "slow_query": ("slow statements", "medium"),
}
#: Kinds that are background noise in small numbers, and the count from which they are not.
_NEED_VOLUME = ("terminated", "auth_failed", "slow_query")
PG_NOISE_COUNT = 10
# pgBadger (12.0, `change_log_level`) reports these LOG messages among its errors.
_PGBADGER_LOG_ERRORS = (
    r'parameter "[^"]+" changed to "[^"]+"|database system was|recovery has paused'
    r"|ending cancel to blocking autovacuum|skipping analyze of|using stale statistics"
    r"|replication command:|still waiting for|server process.*was terminated by signal"
    r"|could not (?:receive|send) data (?:from|to) client"
)
#: Any kind's phrase: one scan finds the few messages the per-kind patterns then search.
_ANY_PATTERN = "|".join(f"(?:{p})" for p in _PATTERNS.values())
_QUERY = r"^(?:duration: [0-9.]+ ms +)?(?:statement|execute [^:]*): "


def _text(frame: pd.DataFrame, column: str) -> pl.Series:
    # Regex scans run in polars (Rust, vectorised): ~10x faster than pandas on 1M rows.
    return pl.from_arrow(pa.array(frame[column].astype("string"))).fill_null("")  # type: ignore[return-value]


def classify_pg_log(frame: pd.DataFrame, *, slow_query_s: float = 1.0) -> pd.DataFrame:
    """One boolean column per event kind, aligned with *frame*'s rows."""
    return pd.DataFrame(_flags(frame, slow_query_s), index=frame.index, columns=list(EVENT_KINDS))


def _flags(frame: pd.DataFrame, slow_query_s: float) -> np.ndarray:
    """The kinds as one (rows, kinds) boolean array: one pandas block, no per-column copies."""
    out = _text_kinds(frame).copy()
    duration = frame["duration_s"].to_numpy(dtype="float64", na_value=np.nan)
    out[:, EVENT_KINDS.index("slow_query")] = duration > slow_query_s  # NaN compares False
    return out


#: :func:`_scan_kinds` of a frame's Arrow ``message`` and ``severity`` columns, by their ids.
#: Arrow arrays are immutable and an entry goes when either array does: a hit is exact.
_SCANNED: dict[tuple[int, int], np.ndarray] = {}


def _text_kinds(frame: pd.DataFrame) -> np.ndarray:
    """The kinds read from the text columns, scanned once per frame.

    Why: a flow charts the kinds per minute, states findings and lists example rows, three
    scans of the same million messages (0.08 s each) for the same answer.
    """
    arrays = [getattr(frame[c].array, "_pa_array", None) for c in ("message", "severity")]
    if not all(isinstance(a, pa.ChunkedArray) for a in arrays):
        return _scan_kinds(frame)
    key = (id(arrays[0]), id(arrays[1]))
    kinds = _SCANNED.get(key)
    if kinds is None:
        kinds = _SCANNED[key] = _scan_kinds(frame)
        for array in arrays:
            weakref.finalize(array, _SCANNED.pop, key, None)
    return kinds


def _scan_kinds(frame: pd.DataFrame) -> np.ndarray:
    """Every kind but ``slow_query`` (from ``duration_s``, which is mutable: never cached).

    Why one scan first: the kind patterns are rare phrases; one search for any of them picks
    the few messages worth the per-kind searches (five full scans were most of the cost). A
    message matches the alternation exactly when it matches one of its branches.
    """
    out = np.zeros((len(frame), len(EVENT_KINDS)), dtype=bool)
    message = _text(frame, "message")
    severity = _text(frame, "severity")
    fatal = severity.is_in(["FATAL", "PANIC"]).to_numpy()
    column = {kind: i for i, kind in enumerate(EVENT_KINDS)}
    hits = message.str.contains(_ANY_PATTERN).arg_true()
    if hits.len():
        rows, some = hits.to_numpy(), message.gather(hits)
        for kind, pattern in _PATTERNS.items():
            out[rows, column[kind]] = some.str.contains(pattern).to_numpy()
    out[:, column["too_many_connections"]] &= fatal
    out[:, column["error"]] = (severity == "ERROR").to_numpy()
    out[:, column["fatal"]] = fatal
    return out


#: Columns of :func:`pg_log_event_rows`.
EVENT_ROW_COLUMNS = ["logged_at", "event", "severity", "pid", "user", "database", "application_name", "message"]


def pg_log_event_rows(frame: pd.DataFrame, *, slow_query_s: float = 1.0, per_kind: int = 5) -> pd.DataFrame:
    """The first *per_kind* records of each notable event kind (refusals, timeouts, deadlocks,
    terminations, authentication failures, slow statements), in time order: who was refused
    first, and what happened in the same second (``logged_at`` carries milliseconds)."""
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns, UTC]" if c == "logged_at" else "object")
                             for c in EVENT_ROW_COLUMNS})  # fmt: skip
    flags = classify_pg_log(frame, slow_query_s=slow_query_s)
    # the first rows of each kind taken by position: a mask would copy every flagged record first
    parts = [frame.iloc[np.flatnonzero(flags[kind].to_numpy())[:per_kind]].assign(event=kind) for kind in _DESCRIBE]
    rows = pd.concat([p for p in parts if len(p)] or [frame.head(0).assign(event="")])
    return rows.sort_values("logged_at", kind="stable").reset_index(drop=True)[EVENT_ROW_COLUMNS]


def pg_log_events_per_minute(frame: pd.DataFrame, *, freq: str = "1min", slow_query_s: float = 1.0) -> pd.DataFrame:
    """Counts of each event kind per *freq* interval (schema :data:`EVENTS_SCHEMA`)."""
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EVENTS_SCHEMA.items()})
    flags = _flags(frame, slow_query_s)
    columns = {kind: flags[:, i] for i, kind in enumerate(EVENT_KINDS)}
    counts = sum_per_minute(frame["logged_at"], columns, freq=freq, name="bucket_at")
    counts["bucket_at"] = pd.to_datetime(counts["bucket_at"], utc=True).astype("datetime64[ns, UTC]")
    for kind in EVENT_KINDS:
        counts[kind] = counts[kind].astype("int64")
    return counts[list(EVENTS_SCHEMA)]


def count_pg_log_events(frame: pd.DataFrame) -> dict[str, int]:
    """Records, queries and errors counted as pgBadger counts them (``overall_stat``).

    queries: "statement:"/"execute …:" records, with or without a duration (not parse/bind,
    not DEALLOCATE); errors: WARNING/ERROR/FATAL/PANIC records plus the LOG messages
    pgBadger promotes to errors (lock waits, "database system was …").
    """
    message = _text(frame, "message")
    severity = _text(frame, "severity")
    query = message.str.contains(_QUERY) & ~message.str.contains(r"statement: DEALLOCATE")
    errors = severity.is_in(["WARNING", "ERROR", "FATAL", "PANIC"]) | (
        (severity == "LOG") & message.str.contains(_PGBADGER_LOG_ERRORS)
    )
    return {
        "records": len(frame),
        "queries": int(query.sum()),
        "errors": int(errors.sum()),
        "with_duration": int(frame["duration_s"].notna().sum()),
    }


def _when(ts: Any, other: pd.Timestamp) -> str:
    if pd.isna(ts):
        return "an unknown time"
    fmt = "%H:%M" if ts.date() == other.date() else "%Y-%m-%d %H:%M"
    return str(ts.strftime(fmt))


def _top(values: pd.Series, n: int = 3) -> list[tuple[str, int]]:
    counts = values.dropna().astype(str).value_counts().head(n)
    return [(str(k), int(v)) for k, v in counts.items()]


def _who(rows: pd.DataFrame) -> tuple[str, dict[str, Any]]:
    parts: list[str] = []
    numbers: dict[str, Any] = {}
    for column, label in (
        ("application_name", "applications"),
        ("user", "users"),
        ("database", "databases"),
        ("client_addr", "clients"),
    ):
        top = _top(rows[column])
        numbers[f"top_{column}"] = dict(top)
        if top:
            parts.append(f"{label} " + ", ".join(f"`{k}` ({v})" for k, v in top))
    return ("; ".join(parts) if parts else "user/database/application not in the log"), numbers


#: The columns :func:`_event_finding` reads.
_FINDING_COLUMNS = ["logged_at", "pid", "severity", "message", "duration_s", "statement",
                    "application_name", "user", "database", "client_addr"]  # fmt: skip


def _event_finding(kind: str, rows: pd.DataFrame, per_bucket: pd.Series) -> Finding:
    label, severity = _DESCRIBE[kind]
    if kind in _NEED_VOLUME and len(rows) < PG_NOISE_COUNT:
        severity = "low"
    first, last = rows["logged_at"].min(), rows["logged_at"].max()
    # records without a time (prefix without %m/%t) have no minute: no peak to name
    peak_at = pd.Timestamp(per_bucket.index[int(per_bucket.to_numpy().argmax())]) if len(per_bucket) else pd.NaT
    who, numbers = _who(rows)
    sample = str(rows["message"].iloc[0]).split("\n")[0][:120]
    summary = (
        f"{len(rows)} {label} ('{sample}') between {_when(first, last)} and "
        f"{_when(last, first)} UTC, peak {int(per_bucket.max()) if len(per_bucket) else 0}/min at "
        f"{_when(peak_at, first)}; {who}."
    )
    numbers.update(
        count=len(rows), first_at=first, last_at=last,
        peak_per_min=int(per_bucket.max()) if len(per_bucket) else 0, peak_at=peak_at,
    )  # fmt: skip
    if kind == "slow_query":
        numbers.update(max_s=float(rows["duration_s"].max()), p50_s=float(rows["duration_s"].median()))
        at = int(rows["duration_s"].to_numpy(dtype="float64", na_value=0.0).argmax())
        statement = str(rows["statement"].iloc[at])[:100]
        summary = summary[:-1] + (f"; slowest {float(rows['duration_s'].iloc[at]):.1f} s: `{statement}`.")
    head = rows.head(3)
    evidence = [
        f"pg_log {pd.Timestamp(t).isoformat()} [{p}] {s}: {str(m)[:160]}"
        for t, p, s, m in zip(head["logged_at"], head["pid"], head["severity"], head["message"], strict=True)
    ]
    return Finding(f"pg_log_{kind}", severity, summary, numbers, evidence)


def find_pg_log_findings(collected: Collected, *, slow_query_s: float = 1.0) -> list[Finding]:
    """Findings from the PostgreSQL log: each event kind present, and a wrong prefix, loudly."""
    question = "whether the PostgreSQL log shows refused connections, timeouts or deadlocks"
    if not collected.usable:
        return [unknown("pg_log_events", collected, question)]
    out: list[Finding] = []
    meta = collected.meta
    if meta.get("prefix_mismatch"):
        suggestion = meta.get("suggested_prefix") or ""
        out.append(
            Finding(
                "pg_log_prefix_mismatch",
                "high",
                f"log_line_prefix {meta.get('prefix', '')!r} matches only "
                f"{float(meta.get('prefix_match_ratio', 0.0)):.0%} of the PostgreSQL log's lines, "
                "so most of its events are missing here"
                + (f"; the lines look like log_line_prefix={suggestion!r}" if suggestion else "")
                + ". Rerun with the server's log_line_prefix.",
                {"match_ratio": meta.get("prefix_match_ratio"), "suggested_prefix": suggestion},
                [f"unmatched line: {s}" for s in collected.samples[:3]],
            )
        )
    frame = collected.frame
    if frame.empty:
        out.append(
            Finding("pg_log_events", "unknown", f"Cannot tell {question}: the log has no records "
                    "in the window (wrong file, window or prefix?).", {"records": 0})
        )  # fmt: skip
        return out
    flags = classify_pg_log(frame, slow_query_s=slow_query_s)
    for kind in _DESCRIBE:
        mask = flags[kind].to_numpy()
        if mask.any():
            rows = frame.loc[mask, _FINDING_COLUMNS]  # only what a finding reads: each column taken costs
            out.append(_event_finding(kind, rows, rows["logged_at"].dt.floor(MINUTE).value_counts()))
    if not any(f.kind.startswith("pg_log_") and f.kind != "pg_log_prefix_mismatch" for f in out):
        totals = count_pg_log_events(frame)  # a full scan of the messages: only for the quiet log's numbers
        errors, fatals = int(flags["error"].sum()), int(flags["fatal"].sum())
        out.append(
            Finding(
                "pg_log_events",
                "low" if errors or fatals else "info",
                f"No refused connections, statement timeouts, deadlocks, terminations or "
                f"statements over {slow_query_s:g} s in {len(frame)} PostgreSQL log records "
                f"({errors} ERROR, {fatals} FATAL/PANIC).",
                {**totals, "error": errors, "fatal": fatals},
            )
        )
    return out
