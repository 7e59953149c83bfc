"""The per-row work of the web analyses in polars, on the columns each analysis needs.

Why: on millions of access-log rows, pandas group-bys over Arrow strings and per-group
Python lambdas (mode, evidence, distinct counts) were most of a flow's time. The analyses
keep taking and returning pandas frames (what notebooks show and tests read); inside, they
hand the few columns they group on to polars, whose group-bys run in Rust on both cores,
and convert only the aggregated result back.

Ties are broken by first appearance in the frame, as pandas' stable group order does, so
the tables are the same as the pandas versions they replace.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

#: Row position in the input frame, used to break ties by first appearance.
ROW = "_row"


def _column(series: pd.Series) -> pl.Series:
    name = str(series.name)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        ns = series.dt.as_unit("ns").dt.tz_convert("UTC") if series.dt.tz is not None else series.dt.as_unit("ns")
        values = ns.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
        return pl.Series(name, values).dt.replace_time_zone("UTC")
    if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        array = series.array
        native = getattr(array, "_pa_array", None)
        if isinstance(native, pa.ChunkedArray):  # Arrow-backed strings: no Python objects
            return pl.Series(name, pl.from_arrow(native)).cast(pl.String)
        text = [v if isinstance(v, str) else None for v in series.astype("str").tolist()]
        return pl.Series(name, text, dtype=pl.String)
    return pl.Series(name, series.to_numpy())


def to_polars(frame: pd.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """The *columns* of *frame* as a polars frame (strings stay Arrow, times UTC ns), plus
    :data:`ROW`, each row's position."""
    data = {c: _column(frame[c]) for c in dict.fromkeys(columns)}
    return pl.DataFrame(data).with_row_index(ROW)


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """An aggregated polars result as pandas with the kit's dtypes (``str``, UTC times)."""
    out = frame.to_pandas(use_pyarrow_extension_array=False)
    for name, dtype in frame.schema.items():
        if dtype == pl.String:
            out[name] = out[name].astype("str")
    return out


def numbered(frame: pl.DataFrame, column: str, *, alias: str) -> tuple[pl.DataFrame, pl.Series]:
    """*frame* with *alias*: the rank of *column*'s value among its sorted distinct values
    (one hash join), and those values; grouping and sorting on the number is far cheaper
    than on the strings."""
    names = frame[column].drop_nulls().unique().sort()
    codes = pl.DataFrame({column: names}).with_row_index(alias)
    return frame.join(codes, on=column, how="inner", maintain_order="left"), names


def mode_by(frame: pl.DataFrame, keys: Sequence[str], value: str, *, alias: str) -> pl.DataFrame:
    """The most frequent *value* per *keys* (ties: the value seen first), as *alias*."""
    counted = (
        frame.filter(pl.col(value).is_not_null())
        .group_by([*keys, value])
        .agg(pl.len().alias("_n"), pl.col(ROW).min().alias("_first"))
    )
    ranked = counted.sort(["_n", "_first"], descending=[True, False])
    return ranked.group_by(keys, maintain_order=True).agg(pl.col(value).first().alias(alias))


def first_distinct(frame: pl.DataFrame, keys: Sequence[str], value: str, *, alias: str, limit: int = 3) -> pl.DataFrame:
    """Up to *limit* distinct non-null *value*s per *keys* in first-seen order, joined by
    ``" | "`` (the ``evidence`` column of the security tables)."""
    firsts = (
        frame.filter(pl.col(value).is_not_null())
        .group_by([*keys, value])
        .agg(pl.col(ROW).min().alias("_first"))
        .sort("_first")
    )
    return firsts.group_by(keys, maintain_order=True).agg(pl.col(value).head(limit).str.join(" | ").alias(alias))
