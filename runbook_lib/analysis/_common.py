"""Shared analysis helpers: the one per-minute bucketing.

Every per-minute table (status rates, 429s, auth failures, PostgreSQL log events) is built
here so that all of them agree on one rule: the axis covers the span the *data* covers
inside the window, not the window itself. A window far wider than the log (a user asking
for "everything", 2000-2100) then costs nothing extra: 100 years of minutes are 52 million
rows, and reindexing each series onto them used to take gigabytes. Reports still state the
window asked for (the notebook shows it) and the span found (the first and last minute).
"""

from __future__ import annotations

import pandas as pd

from runbook_lib.timewindow import Window

#: The bucket every per-minute table uses.
MINUTE = "1min"
#: MAD × 1.4826 estimates the standard deviation of normally distributed data (1 / Φ⁻¹(3/4)).
MAD_TO_SIGMA = 1.4826


def minute_axis(
    times: pd.Series, window: Window | None = None, *, freq: str = MINUTE, name: str = "minute_at"
) -> pd.DatetimeIndex:
    """Every *freq* bucket from the first to the last of *times* inside *window* (UTC).

    Empty when no time falls inside the window. Minutes without data between the first and
    the last are present, so a silent outage is a run of zeros, not missing rows.
    """
    valid = times.dropna()
    if window is not None and not valid.empty:
        valid = valid[window.mask(valid)]
    if valid.empty:
        return pd.DatetimeIndex([], tz="UTC", name=name)
    lo, hi = valid.min().floor(freq), valid.max().floor(freq)
    return pd.date_range(lo, hi, freq=freq, name=name)


def count_per_minute(times: pd.Series, index: pd.DatetimeIndex, *, freq: str = MINUTE) -> pd.Series:
    """How many of *times* fall in each bucket of *index* (zeros where none; int64)."""
    counts: pd.Series = times.dt.floor(freq).value_counts().reindex(index, fill_value=0)
    return counts.astype("int64")


def sum_per_minute(
    times: pd.Series, columns: dict[str, pd.Series], *, freq: str = MINUTE, name: str = "minute_at"
) -> pd.DataFrame:
    """Sum the int64 *columns* per *freq* bucket of *times*, every bucket of the covered span
    present (zeros); without rows, an empty frame with *name* and those columns, typed."""
    frame = pd.DataFrame({name: times.dt.floor(freq), **columns}).dropna(subset=[name])
    out = frame.groupby(name).sum()
    if out.empty:
        return pd.DataFrame(
            {name: pd.Series(dtype="datetime64[ns, UTC]"), **{c: pd.Series(dtype="int64") for c in columns}}
        )
    full = pd.date_range(out.index.min(), out.index.max(), freq=freq, name=name)
    return out.reindex(full, fill_value=0).reset_index()
