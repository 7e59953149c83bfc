"""Error rates over time from access and application logs.

``status_rates`` takes the access-log frame (``requested_at``, ``status``) and returns one
row per minute::

    minute_at (UTC) | requests | status_5xx | status_4xx | status_429 | error_rate (5xx share)

``app_error_rates`` takes the app-log frame (``logged_at``, ``level``) and returns
``minute_at | lines | errors | warnings | error_share``.
Minutes with no traffic inside the covered span are present with zeros, so a silent
outage shows as a gap in requests, not as a missing row.

Severity ladder of :func:`find_error_spike` (``error_rate``), on the 5xx share smoothed
over ``SMOOTH_MINUTES`` (5) minutes; a spike must be above ``max(min_rate, factor ×
baseline)`` (2 %, 3× the hour before) *and* carry ``MIN_SPIKE_ERRORS`` (10) 5xx in those
five minutes, so two unlucky requests on thin night traffic are not an outage:

=========  ==========================================================================
severity   evidence
=========  ==========================================================================
critical   5-min peak >= ``CRITICAL_RATE`` (50 %) with >= 10 errors: effectively down
high       5-min peak >= ``HIGH_RATE`` (10 %) with >= 10 errors: users notice
medium     above the threshold with >= 10 errors, under 10 %
low        above the threshold, but fewer than 10 errors in every such 5 minutes
info       below the threshold (an occasional 5xx)
unknown    no access log, or no request in the window
=========  ==========================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown
from runbook_lib.timewindow import Window

from ._common import sum_per_minute

ERROR_LEVELS = ("error", "err", "critical", "crit", "fatal", "alert", "emerg", "panic")
WARNING_LEVELS = ("warning", "warn")
#: Minutes the 5xx share is smoothed over, so one bad minute does not start an incident.
SMOOTH_MINUTES = 5
#: Half of all requests failing: the service is effectively down.
CRITICAL_RATE = 0.5
#: One request in ten failing: users notice.
HIGH_RATE = 0.1
#: 5xx in the smoothed five minutes from which a high share is a spike, not thin traffic.
MIN_SPIKE_ERRORS = 10


def status_rates(access: pd.DataFrame, *, freq: str = "1min") -> pd.DataFrame:
    """Requests, 5xx, 4xx and 429 per minute, and the 5xx share."""
    status = access["status"]
    out = sum_per_minute(
        access["requested_at"],
        {
            "requests": pd.Series(1, index=access.index, dtype="int64"),
            "status_5xx": (status >= 500).astype("int64"),
            "status_4xx": ((status >= 400) & (status < 500)).astype("int64"),
            "status_429": (status == 429).astype("int64"),
        },
        freq=freq,
    )
    out["error_rate"] = (out["status_5xx"] / out["requests"].where(out["requests"] > 0)).fillna(0.0)
    return out


def app_error_rates(app: pd.DataFrame, *, freq: str = "1min") -> pd.DataFrame:
    """Log lines, errors and warnings per minute from the application log."""
    level = app["level"].astype("string").str.lower()
    out = sum_per_minute(
        app["logged_at"],
        {
            "lines": pd.Series(1, index=app.index, dtype="int64"),
            "errors": level.isin(ERROR_LEVELS).fillna(False).astype("int64"),
            "warnings": level.isin(WARNING_LEVELS).fillna(False).astype("int64"),
        },
        freq=freq,
    )
    out["error_share"] = (out["errors"] / out["lines"].where(out["lines"] > 0)).fillna(0.0)
    return out


def window_error_rate(rates: pd.DataFrame, window: Window) -> float | None:
    """The 5xx share of all requests inside the window (None when there were none)."""
    inside = rates[window.mask(rates["minute_at"])]
    total = int(inside["requests"].sum())
    return None if total == 0 else float(inside["status_5xx"].sum()) / total


def find_error_spike(
    access: Collected, rates: pd.DataFrame, window: Window, *, min_rate: float = 0.02, factor: float = 3.0
) -> Finding:
    """State the peak 5xx rate in the window, against the baseline before it, and when it began.

    "Began" is the first minute of the last run of minutes above ``max(min_rate,
    factor × baseline)`` that reaches the peak, smoothed over 5 minutes so one bad minute
    does not start an incident.
    """
    if not access.usable:
        return unknown("error_rate", access, "whether the 5xx rate rose")
    before = rates[rates["minute_at"] < window.start]
    inside = rates[window.mask(rates["minute_at"])]
    if inside["requests"].sum() == 0:
        return Finding(
            "error_rate",
            "unknown",
            f"No requests in the access log inside {window}: traffic stopped, or the log is not the one being written.",
            evidence=["source:access_log"],
        )
    base_total = int(before["requests"].sum())
    baseline = float(before["status_5xx"].sum()) / base_total if base_total else 0.0
    smooth = (
        inside["status_5xx"].rolling(SMOOTH_MINUTES, min_periods=1).sum()
        / inside["requests"].rolling(SMOOTH_MINUTES, min_periods=1).sum().where(lambda s: s > 0)
    ).fillna(0.0)
    values = smooth.to_numpy(dtype=float)
    errors_5min = inside["status_5xx"].rolling(SMOOTH_MINUTES, min_periods=1).sum().to_numpy(dtype=float)
    loud = np.where(errors_5min >= MIN_SPIKE_ERRORS, values, 0.0)
    minutes = inside["minute_at"].reset_index(drop=True)
    peak_pos = int(values.argmax())
    peak = float(values[peak_pos])
    overall = float(inside["status_5xx"].sum()) / float(inside["requests"].sum())
    threshold = max(min_rate, factor * baseline)
    numbers = {
        "peak_rate": round(peak, 4),
        "window_rate": round(overall, 4),
        "baseline_rate": round(baseline, 4),
        "threshold": round(threshold, 4),
        "requests": int(inside["requests"].sum()),
        "errors_5xx": int(inside["status_5xx"].sum()),
    }
    if peak < threshold:
        return Finding(
            "error_rate",
            "info",
            f"5xx rate stayed at {overall:.2%} in the window "
            f"(baseline {baseline:.2%}, peak {peak:.2%} over 5 min): no error spike.",
            numbers,
        )
    began_pos = peak_pos
    while began_pos > 0 and values[began_pos - 1] >= threshold:
        began_pos -= 1
    began_at = minutes.iloc[began_pos]
    numbers["began_at"] = began_at.isoformat()
    numbers["peak_errors_5min"] = int(errors_5min[peak_pos])
    graded = float(loud.max())
    if graded < threshold:
        return Finding(
            "error_rate",
            "low",
            f"5xx share reached {peak:.1%} over 5 min (at {minutes.iloc[peak_pos]:%H:%M} UTC) on thin "
            f"traffic: at most {int(errors_5min[values >= threshold].max())} errors in any such 5 minutes "
            f"(fewer than {MIN_SPIKE_ERRORS}); {numbers['errors_5xx']:,} of {numbers['requests']:,} "
            "requests failed in the window, not an outage.",
            numbers,
            ["source:access_log"],
        )
    severity: Severity = "critical" if graded >= CRITICAL_RATE else "high" if graded >= HIGH_RATE else "medium"
    return Finding(
        "error_rate",
        severity,
        f"5xx rate climbed to {peak:.1%} (5-min peak at {minutes.iloc[peak_pos]:%H:%M} UTC) from a "
        f"baseline of {baseline:.2%}, above {threshold:.1%} since {began_at:%H:%M} UTC; "
        f"{numbers['errors_5xx']:,} of {numbers['requests']:,} requests failed in the window.",
        numbers,
        ["source:access_log"],
    )
