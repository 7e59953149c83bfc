"""What the application log says during a CPU or memory incident (runbook Incidents 1 and 2).

The runbook's ``grep -i "timeout\\|slow\\|performance"`` and ``grep -i "memory\\|heap\\|gc"``,
but counted: matching lines are grouped by message shape (numbers replaced by ``N``) so
one noisy line does not hide the others, and GC lines give a GC frequency.

Input: an app-log frame (``sources.app_log.APP_SCHEMA``: ``logged_at, level, logger,
message, source_file``). An unusable source gives an "unknown" finding.

Severity ladder of :func:`find_log_signals` (``cpu.app_log`` / ``memory.app_log``):
medium at >= ``MANY_SIGNAL_LINES`` (10) matching lines in the window (the app keeps saying
it); low for fewer (a stray "slow" line); info for none; unknown when the log is unreadable.
"""

from __future__ import annotations

import re

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown

SLOW_PATTERN = r"(?i)\b(?:slow|time[d ]?out|timeout|performance|took \d+ ?ms|latency)\b"
MEMORY_PATTERN = r"(?i)\b(?:memory|heap|gc|garbage|out of memory|oom|allocation failed|mark-sweep|scavenge)\b"
#: Lines that record one collector run (Node --trace-gc, JVM, Go gctrace, "GC" messages).
GC_RUN_PATTERN = r"(?i)(?:\bmark-sweep\b|\bscavenge\b|\bmark-compact\b|\bgc\s*\(|^gc \d+ @|\bgc (?:run|pause|cycle))"
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Matching lines from which the app log's complaint is medium, not a stray line.
MANY_SIGNAL_LINES = 10

SHAPES_COLUMNS = ["shape", "lines", "first_at", "last_at", "level", "example"]


def rank_log_shapes(frame: pd.DataFrame, pattern: str, *, top: int = 10) -> pd.DataFrame:
    """Lines whose message matches *pattern*, grouped by shape, most frequent first."""
    hits = frame[frame["message"].astype(str).str.contains(pattern, regex=True, na=False)]
    if hits.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SHAPES_COLUMNS})
    shapes = hits["message"].astype(str).str.replace(_NUMBER, "N", regex=True).str.slice(0, 160)
    grouped = (
        hits.assign(shape=shapes)
        .groupby("shape", sort=False)
        .agg(
            lines=("message", "size"),
            first_at=("logged_at", "min"),
            last_at=("logged_at", "max"),
            level=("level", "last"),
            example=("message", "last"),
        )
    )
    out = grouped.reset_index().sort_values("lines", ascending=False, ignore_index=True)
    return out[SHAPES_COLUMNS].head(top)


def _stamp(at: pd.Timestamp) -> str:
    return at.strftime("%H:%M UTC")


def find_log_signals(app: Collected, *, kind: str) -> Finding:
    """One finding: how many slow/timeout (``kind="cpu"``) or memory/GC (``"memory"``) lines."""
    name = f"{kind}.app_log"
    what = "slow/timeout" if kind == "cpu" else "memory/heap/GC"
    if not app.usable:
        return unknown(name, app, f"whether the app log reports {what} problems")
    pattern = SLOW_PATTERN if kind == "cpu" else MEMORY_PATTERN
    shapes = rank_log_shapes(app.frame, pattern)
    if shapes.empty:
        return Finding(
            name,
            "info",
            f"No {what} lines in the app log ({len(app.frame)} lines read in the window).",
            {"lines": 0, "read": len(app.frame)},
        )
    total = int(shapes["lines"].sum())
    top = shapes.iloc[0]
    numbers: dict[str, object] = {
        "lines": total,
        "shapes": len(shapes),
        "top_shape": top["shape"],
        "first_at": shapes["first_at"].min(),
        "last_at": shapes["last_at"].max(),
    }
    gc = count_gc_runs(app.frame) if kind == "memory" else None
    gc_text = ""
    if gc is not None and gc["runs"]:
        numbers.update(gc_runs=gc["runs"], gc_runs_per_min=gc["per_min"])
        gc_text = f"; GC ran {gc['runs']} times ({gc['per_min']:.1f}/min)"
    return Finding(
        name,
        "medium" if total >= MANY_SIGNAL_LINES else "low",
        f"{total} {what} line(s) in the app log from {_stamp(numbers['first_at'])} to "  # type: ignore[arg-type]
        f"{_stamp(numbers['last_at'])}; most frequent: `{top['shape']}` ×{top['lines']}{gc_text}.",  # type: ignore[arg-type]
        numbers,
        [f"source:{app.source}"],
    )


def count_gc_runs(frame: pd.DataFrame) -> dict[str, float]:
    """How many collector runs the log records and how often (per minute over their span)."""
    runs = frame[frame["message"].astype(str).str.contains(GC_RUN_PATTERN, regex=True, na=False)]
    if runs.empty:
        return {"runs": 0, "per_min": 0.0}
    span_min = max((runs["logged_at"].max() - runs["logged_at"].min()).total_seconds() / 60, 1.0)
    return {"runs": len(runs), "per_min": round(len(runs) / span_min, 2)}
