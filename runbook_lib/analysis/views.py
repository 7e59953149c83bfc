"""Cross-tabulated views of the access log that GoAccess users ask for and GoAccess lacks:
status × endpoint (× time) and status × client, over whatever window the frame covers.

Input: the access frame (``requested_at``, ``status``, ``client_ip``…) with an ``endpoint``
column (``analysis.endpoints.with_endpoints``). Output of :func:`status_matrix`::

    [bucket_at] | <by> | requests | 2xx | 3xx | 4xx | 429 | 5xx | error_share
"""

from __future__ import annotations

import pandas as pd
import polars as pl

from ._codes import named, value_codes
from ._polars import ROW, to_pandas, to_polars

STATUS_COLUMNS = ["2xx", "3xx", "4xx", "429", "5xx"]


def status_matrix(frame: pd.DataFrame, *, by: str = "endpoint", freq: str = "", top: int = 20) -> pd.DataFrame:
    """Requests by status class for the *top* values of *by* (most requests first; ties by
    first appearance). Counted in polars: pandas group-bys over 5M Arrow strings took 1.9 s.

    With *freq* (e.g. ``"5min"``) the table has one row per time bucket and value, for the
    same top values, so a status × endpoint × time question is one filter away.
    """
    keys = (["bucket_at"] if freq else []) + [by]
    columns = [*keys, "requests", *STATUS_COLUMNS, "error_share"]
    if frame.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    # Grouped on the column's shared codes (:func:`value_codes`); names are put back last.
    key, names = value_codes(frame, by)
    rows = to_polars(frame, ["status", *(["requested_at"] if freq else [])]).with_columns(key.alias(by))
    rows = rows.filter(pl.col(by).is_not_null())
    leaders = (
        rows.group_by(by)
        .agg(pl.len().alias("requests"), pl.col(ROW).min().alias("first"))
        .sort(["requests", "first"], descending=[True, False])
        .head(top)[by]
    )
    rows = rows.filter(pl.col(by).is_in(leaders.implode()))
    if freq:
        step = f"{pd.Timedelta(freq).value}ns"
        rows = rows.with_columns(pl.col("requested_at").dt.truncate(step).alias("bucket_at"))
    status = pl.col("status")
    table = (
        rows.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            status.is_between(200, 299).sum().cast(pl.Int64).alias("2xx"),
            status.is_between(300, 399).sum().cast(pl.Int64).alias("3xx"),
            status.is_between(400, 499).sum().cast(pl.Int64).alias("4xx"),
            (status == 429).sum().cast(pl.Int64).alias("429"),
            (status >= 500).sum().cast(pl.Int64).alias("5xx"),
            pl.col(ROW).min().alias("first"),
        )
        .with_columns((pl.col("5xx") / pl.col("requests")).round(4).alias("error_share"))
        .sort([*(["bucket_at"] if freq else []), "requests", "first"], descending=[False] * bool(freq) + [True, False])
    )
    return to_pandas(table.with_columns(named(names, by, by)).select(columns))
