"""JSON lines → record fields: pyarrow's (or polars') reader, then the per-line keys.

The keys are looked up in the order :func:`~runbook_lib.sources.logs.app_lines.parse_app_line`
uses (``@timestamp``, ``time``, ``ts``…; ``log.level`` through nesting; ``@fields``), the
first present value per row wins, and values of types not mapped exactly here go to the
per-line parser (their rows are left unsettled).
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from runbook_lib.sources.logs.app_columns import (
    MALFORMED,
    RECORD,
    UTC_NS,
    const,
    kinds,
    levels_from_text,
    times_from_text,
    unsettled,
)
from runbook_lib.sources.logs.app_lines import LEVEL_KEYS, LOGGER_KEYS, MESSAGE_KEYS, NUMERIC_LEVELS, TIME_KEYS

__all__ = ["json_fields"]

#: Below this many lines a failing JSON piece is handed to the per-line parser.
_SMALL_PIECE = 64
# A String column holds a number, object, array or boolean as text when a chunk mixes
# types; the per-line parser's str() of those differs, so such rows go to it.
_MAYBE_TYPED = r"^(?:-?[0-9]|[\[{]|true$|false$)"


def _times_from_numbers(values: pl.Series) -> pl.Series:
    """Epoch numbers → times: seconds, milliseconds (> 1e11) or microseconds (> 1e14)."""
    x = pl.col("x").cast(pl.Float64)
    scale = pl.when(x > 1e14).then(1_000).when(x > 1e11).then(1_000_000).otherwise(1_000_000_000)
    exact = pl.col("x").cast(pl.Int64) * scale if values.dtype.is_integer() else (x * scale).cast(pl.Int64)
    ns = pl.when((x * scale).abs() < 9.2e18).then(exact)  # beyond ±292 years: no time
    return pl.DataFrame({"x": values}).select(ns.cast(UTC_NS)).to_series()


def _levels_from_numbers(values: pl.Series) -> pl.Series:
    """bunyan/pino numbers (10…60) → words; other numbers stay as their digits."""
    whole = values.cast(pl.Int64, strict=False)
    return (whole // 10 * 10).replace_strict(NUMERIC_LEVELS, default=whole.cast(pl.String), return_dtype=pl.String)


def _columns(frame: pl.DataFrame, key: str) -> list[pl.Series]:
    """``obj[key]``, then ``obj[head][rest]`` for ``head.rest`` keys (``log.level``), per row."""
    found = [frame[key]] if key in frame.columns else []
    head, _, rest = key.partition(".")
    if rest and head in frame.columns and isinstance(frame[head].dtype, pl.Struct):
        found += _columns(frame[head].struct.unnest(), rest)
    return found


def _candidates(frame: pl.DataFrame, keys: tuple[str, ...]) -> list[pl.Series]:
    """The columns holding *keys*, in the order the per-line parser looks them up."""
    scopes = [frame]
    if "@fields" in frame.columns and isinstance(frame["@fields"].dtype, pl.Struct):
        scopes.append(frame["@fields"].struct.unnest())
    return [column for scope in scopes for key in keys for column in _columns(scope, key)]


def _typed_in_line(column: pl.Series, present: pl.Series, texts: pl.Series) -> pl.Series:
    """Rows whose String value was not a JSON string in the line (``"level": 30``)."""
    odd = present & column.str.contains(_MAYBE_TYPED).fill_null(False)
    if not odd.any():
        return odd
    key = re.escape(json.dumps(column.name))
    return odd & texts.str.contains(rf"{key}\s*:\s*[-0-9\[{{tfn]").fill_null(False)


def _pick(
    frame: pl.DataFrame, keys: tuple[str, ...], convert: Any, texts: pl.Series | None
) -> tuple[pl.Series, pl.Series]:
    """Per row, the first present (non-null, non-empty) key's value, converted by *convert*.

    *convert(series)* returns the converted series, or ``None`` for a type the vectorised
    path does not map exactly. *texts* (the lines) is given when a String column may hold
    other JSON types as text. Returns (values, rows that need the per-line parser).
    """
    n = len(frame)
    out: pl.Series | None = None
    taken = const(False, n, pl.Boolean)
    fallback = const(False, n, pl.Boolean)
    for column in _candidates(frame, keys):
        present = column.is_not_null()
        if column.dtype == pl.String:
            present = present & (column != "")
        present = present.fill_null(False) & ~taken
        if not present.any():
            continue
        converted = convert(column)
        if converted is None:
            fallback = fallback | present
        else:
            if column.dtype == pl.String and texts is not None:
                fallback = fallback | _typed_in_line(column, present, texts)
            out = converted if out is None else out.zip_with(~present, converted)
        taken = taken | present
    if out is None:
        out = const(None, n, pl.String)
    return out, fallback


def _as_time(column: pl.Series) -> pl.Series | None:
    if column.dtype == pl.String:
        return times_from_text(column)
    if column.dtype.is_numeric():
        return _times_from_numbers(column)
    if column.dtype == pl.Date:
        column = column.cast(pl.Datetime("ns"))
    if isinstance(column.dtype, pl.Datetime):  # pyarrow reads "2026-11-27 10:00:00" as a timestamp
        local = column.dtype.time_zone is None
        utc = column.dt.replace_time_zone("UTC") if local else column.dt.convert_time_zone("UTC")
        return utc.cast(UTC_NS)
    return const(None, len(column), UTC_NS)  # true/false/objects: no time


def _as_level(column: pl.Series) -> pl.Series | None:
    if column.dtype == pl.String:
        return levels_from_text(column)
    if column.dtype.is_numeric():
        return _levels_from_numbers(column)
    if column.dtype == pl.Boolean:
        return const("", len(column), pl.String)
    return None


def _as_text(column: pl.Series) -> pl.Series | None:
    if column.dtype == pl.String:
        return column
    if column.dtype.is_integer():
        return column.cast(pl.String)
    return None  # floats, booleans, objects: Python's str() spelling differs


def _decode(texts: pl.Series) -> tuple[pl.DataFrame | None, bool]:
    """NDJSON → (a frame with one row per line, or None when some line is not valid JSON;
    whether a key's values may have mixed types, read as text).

    pyarrow's reader first (twice as fast as polars' here); it refuses a key whose type
    changes between lines, which polars reads as text, so polars is the second try.
    """
    data = texts.str.join("\n").item().encode("utf-8")
    mixed = False
    try:
        frame = pl.from_arrow(pa_json.read_json(io.BytesIO(data)))
    except (pa.ArrowInvalid, pl.exceptions.PolarsError):
        mixed = True
        try:
            frame = pl.read_ndjson(io.BytesIO(data), infer_schema_length=None)
        except (pl.exceptions.PolarsError, ValueError):
            return None, mixed
    if not isinstance(frame, pl.DataFrame) or len(frame) != len(texts):
        return None, mixed
    return frame, mixed


def json_fields(texts: pl.Series) -> pl.DataFrame:
    """Fields of JSON lines; rows of pieces that would not decode are left unsettled."""
    frame, mixed = _decode(texts)
    if frame is None:
        if len(texts) <= _SMALL_PIECE:
            return unsettled(len(texts))
        half = len(texts) // 2
        return pl.concat([json_fields(texts.slice(0, half)), json_fields(texts.slice(half))])
    if frame.width == 0:
        frame = pl.DataFrame({"_": const(None, len(texts), pl.Null)})
    at, fb_at = _pick(frame, TIME_KEYS, _as_time, texts if mixed else None)
    level, fb_level = _pick(frame, LEVEL_KEYS, _as_level, texts if mixed else None)
    logger, fb_logger = _pick(frame, LOGGER_KEYS, _as_text, texts if mixed else None)
    message, fb_message = _pick(frame, MESSAGE_KEYS, _as_text, texts if mixed else None)
    fallback = fb_at | fb_level | fb_logger | fb_message
    kind = kinds(len(texts), RECORD).zip_with(at.cast(UTC_NS).is_not_null(), pl.Series([MALFORMED], dtype=pl.Int8))
    kind = kind.zip_with(~fallback, pl.Series([None], dtype=pl.Int8))
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at.cast(UTC_NS),
            "level": level.cast(pl.String).fill_null(""),
            "logger": logger.cast(pl.String).fill_null(""),
            "message": message.cast(pl.String).fill_null(""),
            "reason": const("JSON object without a readable time", len(texts), pl.String).zip_with(
                kind == MALFORMED, pl.Series([None], dtype=pl.String)
            ),
        }
    )
