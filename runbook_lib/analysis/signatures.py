"""Group error messages by a normalised signature, so 10,000 timeouts are one row.

Masked: quoted values, UUIDs, hex ids, IPs, emails, URLs' query strings, numbers. The
frame returned by :func:`rank_top_errors`::

    signature | level | logger | count | first_seen_at | last_seen_at | example

Severity ladder of :func:`find_top_error_finding`:

=========  ==========================================================================
severity   evidence
=========  ==========================================================================
medium     the top error is new, or at least twice its rate in the hour before the
           window (when no baseline is given, medium: we cannot tell it is old)
low        the same signature ran at a similar rate before the window: background
info       no error lines in the window
unknown    the app log could not be read
=========  ==========================================================================
"""

from __future__ import annotations

import pandas as pd

from runbook_lib.analysis.rates import ERROR_LEVELS
from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown
from runbook_lib.timewindow import Window

#: An error running at under twice its pre-window rate is background, not this incident.
RISE_FACTOR = 2.0

# Order matters: quoted strings before numbers, UUIDs before hex before numbers.
_MASKS: list[tuple[str, str]] = [
    (r"\"[^\"]*\"|'[^']*'", "<str>"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "<uuid>"),
    (r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b", "<email>"),
    (r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b", "<ip>"),
    (r"\b0x[0-9a-fA-F]+\b|\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b", "<hex>"),
    (r"(?<=[=:])\s*[^\s,;)]+", "<val>"),
    (r"\d+(?:\.\d+)?", "<n>"),
    (r"\s+", " "),
]


def normalise(messages: pd.Series) -> pd.Series:
    """The signature of each message (vectorised; first line only, 200 chars max)."""
    out = messages.astype("string").str.split("\n", n=1).str[0].str.slice(0, 400)
    for pattern, repl in _MASKS:
        out = out.str.replace(pattern, repl, regex=True)
    return out.str.strip().str.slice(0, 200)


def error_lines(app: pd.DataFrame, *, levels: tuple[str, ...] = ERROR_LEVELS) -> pd.DataFrame:
    """The error-level lines of an app-log frame with their ``signature`` column added."""
    errors = app[app["level"].astype("string").str.lower().isin(levels).fillna(False)]
    return errors.assign(signature=normalise(errors["message"]) if not errors.empty else pd.Series(dtype="string"))


def rank_top_errors(app: pd.DataFrame, *, levels: tuple[str, ...] = ERROR_LEVELS, top: int = 10) -> pd.DataFrame:
    """The most frequent error signatures with first/last seen and one example."""
    return summarise_errors(error_lines(app, levels=levels), top=top)


def summarise_errors(errors: pd.DataFrame, *, top: int = 10) -> pd.DataFrame:
    """Group :func:`error_lines` output by signature (so the notebook normalises once)."""
    columns = ["signature", "level", "logger", "count", "first_seen_at", "last_seen_at", "example"]
    if errors.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    frame = pd.DataFrame(
        {
            "signature": errors["signature"],
            "level": errors["level"].astype("string").str.lower(),
            "logger": errors["logger"].astype("string").fillna(""),
            "logged_at": errors["logged_at"],
            "message": errors["message"].astype("string"),
        }
    )
    grouped = frame.groupby(["signature", "level", "logger"], dropna=False, sort=False).agg(
        count=("logged_at", "size"),
        first_seen_at=("logged_at", "min"),
        last_seen_at=("logged_at", "max"),
        example=("message", "first"),
    )
    out = grouped.reset_index().sort_values(["count", "first_seen_at"], ascending=[False, True]).head(top)
    out["example"] = out["example"].str.split("\n", n=1).str[0]
    return out[columns].reset_index(drop=True)


def _baseline_rate(app: Collected, signature: str, window: Window) -> tuple[float, float] | None:
    """(errors/min before the window, errors/min in it) for one signature, or None."""
    frame = app.frame
    if frame.empty or "logged_at" not in frame:
        return None
    before = frame[frame["logged_at"] < window.start]
    if before.empty:
        return None
    span_min = (window.start - before["logged_at"].min()).total_seconds() / 60
    inside = frame[window.mask(frame["logged_at"])]
    count_before = int((error_lines(before)["signature"] == signature).sum())
    count_inside = int((error_lines(inside)["signature"] == signature).sum())
    window_min = window.duration.total_seconds() / 60
    return count_before / max(span_min, 1.0), count_inside / max(window_min, 1.0)


def find_top_error_finding(app: Collected, top: pd.DataFrame, *, window: Window | None = None) -> Finding:
    """Name the most frequent error signature in the window (or say the log is clean);
    with *window* (and context before it in *app*), background errors grade low."""
    if not app.usable:
        return unknown("app_errors", app, "which errors the application logs")
    if top.empty:
        return Finding(
            "app_errors", "info", "The application log shows no error lines in the window.", evidence=["source:app_log"]
        )
    first = top.iloc[0]
    others = int(top["count"].iloc[1:].sum())
    rates = _baseline_rate(app, str(first["signature"]), window) if window is not None else None
    background = rates is not None and rates[0] > 0 and rates[1] < RISE_FACTOR * rates[0]
    note = f" It ran at {rates[0]:.2g}/min before the window too: background." if background and rates else ""
    return Finding(
        "app_errors",
        "low" if background else "medium",
        f"Most frequent application error ({int(first['count']):,}×, {first['logger'] or 'no logger'}) since "
        f'{first["first_seen_at"]:%H:%M} UTC: "{first["example"]}"; {len(top) - 1} other signatures, {others:,} lines.'
        + note,
        {
            "count": int(first["count"]),
            "signature": str(first["signature"]),
            "first_seen_at": first["first_seen_at"].isoformat(),
        },
        ["source:app_log"],
    )
