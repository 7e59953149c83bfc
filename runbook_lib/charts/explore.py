"""The chart behind every explore view: how many rows per time bucket, split by one column.

Pure: frames in, a Figure out. The explore views (``runbook_lib.notebook.explore``) redraw
it for the rows the window, filters and drill-down kept, so the picture always matches the
table under it.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure

#: More lines than this make the legend unreadable; the rest are summed as "other".
MAX_SERIES = 6
#: About this many buckets across the span, whatever its length.
TARGET_BUCKETS = 120
_STEPS = ("1min", "2min", "5min", "10min", "15min", "30min", "1h", "2h", "6h", "12h", "1D")


def bucket_for(span: pd.Timedelta) -> str:
    """The smallest round bucket giving at most :data:`TARGET_BUCKETS` buckets over *span*."""
    for step in _STEPS:
        if span / pd.Timedelta(step) <= TARGET_BUCKETS:
            return step
    return _STEPS[-1]


def counts_over_time(frame: pd.DataFrame, at: str, *, by: str = "", value: str = "") -> pd.DataFrame:
    """Rows per bucket (index: bucket start, UTC), one column per top *by* value (or
    ``rows``); with *value*, the mean of that column per bucket instead of the count."""
    if frame.empty:
        return pd.DataFrame(columns=["rows"])
    times = pd.to_datetime(frame[at], utc=True)
    step = bucket_for(times.max() - times.min())
    buckets = times.dt.floor(step)
    measure = pd.to_numeric(frame[value], errors="coerce").astype(float) if value in frame.columns else None
    if not by or by not in frame.columns:
        if measure is not None:
            return measure.groupby(buckets).mean().to_frame(value)
        return buckets.value_counts().sort_index().to_frame("rows")
    keys = frame[by].astype("string").fillna("(none)")
    top = keys.value_counts().index[:MAX_SERIES]
    keys = keys.where(keys.isin(top), "other")
    table = measure.groupby([buckets, keys]).mean().unstack() if measure is not None else pd.crosstab(buckets, keys)
    return table[[c for c in [*top, "other"] if c in table.columns]]


def plot_rows_over_time(frame: pd.DataFrame, at: str, *, by: str = "", value: str = "", title: str = "") -> Figure:
    """Rows per bucket over time (one line per top *by* value; the mean of *value* when
    given); *at* empty: a bar per *by* value."""
    fig, (ax,) = new_figure(title)
    if frame.empty:
        ax.text(0.5, 0.5, "no rows selected", ha="center", va="center", transform=ax.transAxes)
        return fig
    if not at:
        counts = frame[by].astype("string").fillna("(none)").value_counts().head(15)[::-1]
        ax.barh([str(k)[:40] for k in counts.index], counts.to_numpy())
        ax.set_xlabel("rows")
        ax.grid(True, axis="x", alpha=0.3)
        return fig
    series = counts_over_time(frame, at, by=by, value=value)
    for column in series.columns:
        ax.plot(series.index, series[column], lw=1.3, marker="." if len(series) < 30 else "", label=str(column)[:40])
    decorate_time_axis(ax, ylabel=f"mean {value}" if value in frame.columns else "rows per bucket")
    add_legend(ax, loc="upper left", fontsize=8, ncols=min(4, len(series.columns)))
    return fig
