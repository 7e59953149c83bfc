"""Column helpers shared by the chunk parsers of :mod:`.app_fields` and :mod:`.app_json`."""

from __future__ import annotations

from typing import Any

import polars as pl

from runbook_lib.sources.logs import app_lines
from runbook_lib.sources.logs.iso_times import iso_times

__all__ = [
    "CONTINUES",
    "MALFORMED",
    "RECORD",
    "UTC_NS",
    "const",
    "kinds",
    "levels_from_text",
    "nanoseconds",
    "times_from_text",
    "unsettled",
]

#: What a line is: a new record, text continuing the previous one, or malformed.
RECORD, CONTINUES, MALFORMED = 0, 1, 2
UTC_NS = pl.Datetime("ns", "UTC")


def const(value: Any, n: int, dtype: Any) -> pl.Series:
    """*n* copies of *value* (built by polars: a Python list of a chunk's length is slow)."""
    out = pl.repeat(value, n, dtype=dtype, eager=True)
    assert isinstance(out, pl.Series)
    return out


def kinds(n: int, kind: int | None) -> pl.Series:
    """*n* copies of a line kind."""
    return const(kind, n, pl.Int8)


def unsettled(n: int) -> pl.DataFrame:
    """*n* rows of "not settled yet": no kind, no fields."""
    return pl.DataFrame(
        {
            "kind": const(None, n, pl.Int8),
            "logged_at": const(None, n, UTC_NS),
            "level": const(None, n, pl.String),
            "logger": const(None, n, pl.String),
            "message": const(None, n, pl.String),
            "reason": const(None, n, pl.String),
        }
    )


def times_from_text(values: pl.Series) -> pl.Series:
    """Strings → times: ISO layouts vectorised, the rest once per distinct value in Python."""
    out = iso_times(values)
    left = out.is_null() & values.is_not_null()
    if left.any():
        known = {v: app_lines.time_of(v) for v in values.filter(left).unique().to_list()}
        table = pl.DataFrame(
            {"v": list(known), "at": [nanoseconds(t) for t in known.values()]},
            schema={"v": pl.String, "at": pl.Int64},
        )
        looked = pl.DataFrame({"v": values}).join(table, on="v", how="left", maintain_order="left")["at"]
        out = out.fill_null(looked.cast(UTC_NS))
    return out


def nanoseconds(stamp: Any) -> int | None:
    """Epoch ns of a pandas timestamp; None beyond what datetime64[ns] holds (year 1600)."""
    try:
        return None if stamp is None else int(stamp.value)
    except (OverflowError, ValueError):
        return None


def levels_from_text(values: pl.Series) -> pl.Series:
    """Level words → the frame's words (``WARN`` → ``warning``, ``debug5`` → ``debug``).

    A log has a handful of distinct level words: each is mapped once by the per-line rule.
    """
    words = values.unique().drop_nulls().to_list()
    mapping = {word: app_lines.level_of(word) for word in words}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)
