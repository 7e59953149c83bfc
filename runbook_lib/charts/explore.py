"""The chart behind every explore view: how many rows per time bucket, split by one column.

Pure: frames in, a Figure out. The explore views (``runbook_lib.notebook.explore``) redraw
it for the rows the window, filters and drill-down kept, so the picture always matches the
table under it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, hide_scale, new_figure

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


def _keys(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes and their labels (text, ``(none)`` for missing), in order of first
    appearance: a category's codes or one hash pass, never a string per row."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy().astype(np.int64)
        labels = [str(c) for c in column.cat.categories]
    else:
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        labels = [str(u) for u in uniques]
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append("(none)")
    return codes, labels


def counts_over_time(frame: pd.DataFrame, at: str, *, by: str = "", value: str = "") -> pd.DataFrame:
    """Rows per bucket (index: bucket start, UTC), one column per top *by* value (or
    ``rows``); with *value*, the mean of that column per bucket instead of the count.

    Counted with ``bincount`` over bucket and key codes: a crosstab of 5M rows took 0.8 s.
    """
    if frame.empty:
        return pd.DataFrame(columns=["rows"])
    times = pd.to_datetime(frame[at], utc=True)
    timed = times.notna().to_numpy()
    nanos = times.to_numpy(dtype="datetime64[ns]").view("int64")[timed]
    if nanos.size == 0:
        return pd.DataFrame(columns=["rows"])
    step = pd.Timedelta(bucket_for(pd.Timedelta(int(nanos.max() - nanos.min()), "ns"))).value
    first = nanos.min() // step * step
    bucket = (nanos - first) // step
    n_buckets = int(bucket.max()) + 1
    measure = None
    if value in frame.columns:
        measure = pd.to_numeric(frame[value], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[timed]
    split = bool(by) and by in frame.columns
    codes, labels = _keys(frame[by]) if split else (np.zeros(timed.size, dtype=np.int64), [value or "rows"])
    codes = codes[timed]
    if split:
        totals = np.bincount(codes, minlength=len(labels))
        order = sorted((k for k in range(len(labels)) if totals[k]), key=lambda k: -totals[k])
        top = order[:MAX_SERIES]
        column_of = np.full(len(labels), len(top), dtype=np.int64)
        column_of[top] = np.arange(len(top))
        names = [labels[k] for k in top] + (["other"] if len(order) > len(top) else [])
        codes = column_of[codes]
    else:
        names = labels
    cell = bucket * len(names) + codes
    rows = np.bincount(cell, minlength=n_buckets * len(names)).reshape(n_buckets, len(names))
    present = rows.sum(axis=1) > 0
    if measure is not None:
        seen = ~np.isnan(measure)
        sums = np.bincount(cell[seen], weights=measure[seen], minlength=rows.size).reshape(rows.shape)
        hits = np.bincount(cell[seen], minlength=rows.size).reshape(rows.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            table = np.where(hits > 0, sums / np.maximum(hits, 1), np.nan)
    else:
        table = rows
    index = pd.DatetimeIndex(first + np.flatnonzero(present) * step, tz="UTC")
    return pd.DataFrame(table[present], index=index, columns=pd.Index(names, dtype=object))


def plot_rows_over_time(frame: pd.DataFrame, at: str, *, by: str = "", value: str = "", title: str = "") -> Figure:
    """Rows per bucket over time (one line per top *by* value; the mean of *value* when
    given); *at* empty: a bar per *by* value."""
    fig, (ax,) = new_figure(title)
    if frame.empty:
        ax.text(0.5, 0.5, "no rows selected", ha="center", va="center", transform=ax.transAxes)
        hide_scale(ax)
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
