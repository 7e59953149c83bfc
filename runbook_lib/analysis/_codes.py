"""Integer codes for the text columns the web analyses group on, computed once per column.

Why: on millions of access-log rows, hashing the same strings (paths, clients, endpoints,
agents) in every table's group-by or join was most of a flow's analysis time. A column is
factorized once (:func:`factorize`: by 64-bit hashes, checked exactly), the codes are kept
while the column lives (:func:`column_codes`), and each table groups on integers and puts
the names back on the few rows it shows.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa

from ._polars import as_polars

_HASH_SEED = 0x5EED


def factorize(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Each value's code (``UInt32``, in order of first appearance) and the distinct values
    in that order (a null, if any, is one of them).

    Why: polars' ``unique`` on 5M path strings took 1.05 s, and joining the rows back onto
    the distinct values 0.73 s; hashing the strings takes 0.04 s and the same work on the
    64-bit hashes 0.25 s. Exact: every row is compared with the distinct value of its
    code (0.19 s), and a hash collision falls back to grouping the strings themselves.
    """
    hashes = values.hash(seed=_HASH_SEED)
    first = hashes.arg_unique()
    codes = _codes_by(hashes, hashes.gather(first))
    distinct = values.gather(first)
    if bool(distinct.gather(codes).eq_missing(values).all()):
        return codes, distinct
    return _factorize_exact(values)


#: :func:`factorize` of a frame's Arrow-backed column, by the id of its Arrow array. Arrow
#: arrays are immutable and an entry goes when its array does: a hit is exact.
_FACTORIZED: dict[int, tuple[pl.Series, pl.Series]] = {}


def column_codes(frame: pd.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """:func:`factorize` of ``frame[column]``, computed once per column.

    Why: a flow's analyses group on the same columns (the path, the client) again and again.
    """
    native = getattr(frame[column].array, "_pa_array", None)
    if not isinstance(native, pa.ChunkedArray):
        return factorize(as_polars(frame[column]))
    hit = _FACTORIZED.get(id(native))
    if hit is None:
        hit = factorize(as_polars(frame[column]))
        _remember(native, hit)
    return hit


def remember_codes(frame: pd.DataFrame, column: str, codes: pl.Series, distinct: pl.Series) -> None:
    """Record *codes*/*distinct* (as :func:`factorize` gives them) as ``frame[column]``'s,
    for a column its maker derived from codes it already had."""
    native = getattr(frame[column].array, "_pa_array", None)
    if isinstance(native, pa.ChunkedArray):
        _remember(native, (codes.alias(column), distinct))


def _remember(native: pa.ChunkedArray, result: tuple[pl.Series, pl.Series]) -> None:
    key = id(native)
    _FACTORIZED[key] = result
    weakref.finalize(native, _FACTORIZED.pop, key, None)


def renumbered(inner: pl.Series, distinct: pl.Series, outer: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Codes composed: the row's code (*outer*) names a value whose code among *distinct*
    is *inner*; returns each row's code among *distinct*, renumbered in order of first
    appearance as :func:`factorize` numbers them, and *distinct* in that order."""
    composed = inner.gather(outer)
    order = composed.gather(composed.arg_unique())
    remap = np.empty(len(distinct), dtype=np.uint32)
    remap[order.to_numpy()] = np.arange(len(order), dtype=np.uint32)
    codes = pl.Series(outer.name, remap[composed.to_numpy()], dtype=pl.UInt32)
    return codes, distinct.gather(order)


def value_codes(frame: pd.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """:func:`column_codes` with a null code where the value is missing (as a group-by or
    a join on the strings leaves those rows out)."""
    codes, distinct = column_codes(frame, column)
    missing = distinct.is_null().arg_true()
    if missing.is_empty():
        return codes, distinct
    return pl.select(pl.when(codes != missing[0]).then(codes))[:, 0].alias(codes.name), distinct


def missing_as(codes: pl.Series, distinct: pl.Series, text: str) -> tuple[pl.Series, pl.Series]:
    """:func:`factorize`'s result with a missing value counted as *text*: one value with
    *text* itself if that is among *distinct* too (as ``fill_null(text)`` would group)."""
    missing = distinct.is_null().arg_true()
    if missing.is_empty():
        return codes, distinct
    same = (distinct == text).arg_true()
    distinct = distinct.fill_null(text)
    if same.is_empty():
        return codes, distinct
    return codes.replace(missing[0], same[0]), distinct


def ranked_codes(frame: pd.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """Each value of ``frame[column]`` as its rank among the sorted distinct values (null
    where missing), and those values; from the column's cached :func:`column_codes`.

    Why sorted: tables built on these codes list clients in address order, as before."""
    codes, distinct = value_codes(frame, column)
    names = distinct.drop_nulls().sort()
    return _codes_by(distinct, names).gather(codes).alias(codes.name), names


def named(names: pl.Series, code: str, alias: str) -> pl.Expr:
    """The names of the codes in column *code* (positions in *names*), as column *alias*:
    how a table grouped on codes puts the text back on the rows it shows."""
    return pl.lit(names).gather(pl.col(code)).alias(alias)


def _codes_by(keys: pl.Series, distinct: pl.Series) -> pl.Series:
    """Position of each of *keys* in *distinct* (distinct values), as ``UInt32``; null for
    a key not among them."""
    table = pl.DataFrame({"key": distinct, "code": pl.int_range(len(distinct), dtype=pl.UInt32, eager=True)})
    joined = pl.DataFrame({"key": keys}).join(table, on="key", how="left", maintain_order="left", nulls_equal=True)
    return joined["code"].alias(keys.name)


def _factorize_exact(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    distinct = values.unique(maintain_order=True)
    return _codes_by(values, distinct).alias(values.name), distinct
