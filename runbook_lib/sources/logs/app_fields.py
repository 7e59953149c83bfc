"""A chunk of application-log lines → record fields, with polars instead of a Python loop.

:func:`parse_lines` takes a chunk's lines (a polars String series) and returns one row per
line: ``kind`` (:data:`RECORD`, :data:`CONTINUES` — text that continues the previous
record, :data:`MALFORMED`), ``logged_at`` (Datetime ns UTC), ``level``, ``logger``,
``message`` and, for malformed lines, a ``reason``. Which layout a line has is decided
per line, as :func:`~runbook_lib.sources.logs.app_lines.parse_app_line` does:

- JSON lines go through polars' NDJSON reader in one call per chunk. A chunk holding a
  broken line makes that call fail; the chunk is halved until the failing pieces are a few
  lines, which the per-line parser settles (so one bad line costs two extra reads, not a
  Python loop over the chunk). Values of types the vectorised path does not map exactly
  (nested objects as messages, floats as loggers, numbers written as strings) are sent to
  the per-line parser too.
- Plain text is matched with the same regexes, run by polars' Rust engine.
- logfmt lines, and a user pattern the Rust engine rejects (look-arounds, back-references),
  go to the per-line parser.

Times in ISO-8601 layouts are parsed from their parts (date, time, fraction, offset);
anything else goes through :func:`~runbook_lib.sources.logs.app_lines.time_of` once per
distinct value.
"""

from __future__ import annotations

import io
import json
import re
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from runbook_lib.sources.logs import app_lines
from runbook_lib.sources.logs.app_lines import (
    KNOWN,
    LEVEL_KEYS,
    LOGGER_KEYS,
    MESSAGE_KEYS,
    NUMERIC_LEVELS,
    TIME_KEYS,
)
from runbook_lib.sources.logs.iso_times import iso_times

__all__ = ["CONTINUES", "MALFORMED", "RECORD", "parse_lines"]

RECORD, CONTINUES, MALFORMED = 0, 1, 2
UTC_NS = pl.Datetime("ns", "UTC")
#: Below this many lines a failing JSON piece is handed to the per-line parser.
_SMALL_PIECE = 64
# app_lines.PLAIN without its "(?P<rest>.*)$" (ASCII: the Python regex settles other lines).
_PLAIN_TIME = (
    r"(?i-u)^\[?[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(?:[.,][0-9]+)?(?:Z| ?[+-][0-9]{2}:?[0-9]{2})?"
)
_PLAIN_HEAD = _PLAIN_TIME + rf"\]?[\s|:-]+\[?(?:{KNOWN})\]?[\s|:-]+"
_SEPARATORS = " \t\n\r\x0b\x0c|:-[]"
# app_lines.PLAIN_LOGGER and BRACKET_LOGGER without their "(?P<message>.*)$".
_LOGGER_HEAD = r"^(?:\[[^\]]*\]\s*)?[\w.$/-]+\s*(?::|-)\s"
_BRACKET_HEAD = r"^\[[\w.$/-]+\]\s+"
# A String column holds a number, object, array or boolean as text when a chunk mixes
# types; the per-line parser's str() of those differs, so such rows go to it.
_MAYBE_TYPED = r"^(?:-?[0-9]|[\[{]|true$|false$)"
_FIELDS = ("logged_at", "level", "logger", "message")


def _const(value: Any, n: int, dtype: Any) -> pl.Series:
    """*n* copies of *value* (built by polars: a Python list of a chunk's length is slow)."""
    out = pl.repeat(value, n, dtype=dtype, eager=True)
    assert isinstance(out, pl.Series)
    return out


def _kinds(n: int, kind: int | None) -> pl.Series:
    return _const(kind, n, pl.Int8)


def _frame(n: int) -> pl.DataFrame:
    """*n* rows of "not settled yet": no kind, no fields."""
    return pl.DataFrame(
        {
            "kind": _const(None, n, pl.Int8),
            "logged_at": _const(None, n, UTC_NS),
            "level": _const(None, n, pl.String),
            "logger": _const(None, n, pl.String),
            "message": _const(None, n, pl.String),
            "reason": _const(None, n, pl.String),
        }
    )


def _times_from_text(values: pl.Series) -> pl.Series:
    """Strings → times: ISO layouts vectorised, the rest once per distinct value in Python."""
    out = iso_times(values)
    left = out.is_null() & values.is_not_null()
    if left.any():
        known = {v: app_lines.time_of(v) for v in values.filter(left).unique().to_list()}
        table = pl.DataFrame(
            {"v": list(known), "at": [None if t is None else t.value for t in known.values()]},
            schema={"v": pl.String, "at": pl.Int64},
        )
        looked = pl.DataFrame({"v": values}).join(table, on="v", how="left", maintain_order="left")["at"]
        out = out.fill_null(looked.cast(UTC_NS))
    return out


def _times_from_numbers(values: pl.Series) -> pl.Series:
    """Epoch numbers → times: seconds, milliseconds (> 1e11) or microseconds (> 1e14)."""
    x = pl.col("x").cast(pl.Float64)
    scale = pl.when(x > 1e14).then(1_000).when(x > 1e11).then(1_000_000).otherwise(1_000_000_000)
    exact = pl.col("x").cast(pl.Int64) * scale if values.dtype.is_integer() else (x * scale).cast(pl.Int64)
    ns = pl.when((x * scale).abs() < 9.2e18).then(exact)  # beyond ±292 years: no time
    return pl.DataFrame({"x": values}).select(ns.cast(UTC_NS)).to_series()


def levels_from_text(values: pl.Series) -> pl.Series:
    """Level words → the frame's words (``WARN`` → ``warning``, ``debug5`` → ``debug``).

    A log has a handful of distinct level words: each is mapped once by the per-line rule.
    """
    words = values.unique().drop_nulls().to_list()
    mapping = {word: app_lines.level_of(word) for word in words}
    return values.replace_strict(mapping, default=None, return_dtype=pl.String)


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
    taken = _const(False, n, pl.Boolean)
    fallback = _const(False, n, pl.Boolean)
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
        out = _const(None, n, pl.String)
    return out, fallback


def _as_time(column: pl.Series) -> pl.Series | None:
    if column.dtype == pl.String:
        return _times_from_text(column)
    if column.dtype.is_numeric():
        return _times_from_numbers(column)
    if column.dtype == pl.Date:
        column = column.cast(pl.Datetime("ns"))
    if isinstance(column.dtype, pl.Datetime):  # pyarrow reads "2026-11-27 10:00:00" as a timestamp
        local = column.dtype.time_zone is None
        utc = column.dt.replace_time_zone("UTC") if local else column.dt.convert_time_zone("UTC")
        return utc.cast(UTC_NS)
    return _const(None, len(column), UTC_NS)  # true/false/objects: no time


def _as_level(column: pl.Series) -> pl.Series | None:
    if column.dtype == pl.String:
        return levels_from_text(column)
    if column.dtype.is_numeric():
        return _levels_from_numbers(column)
    if column.dtype == pl.Boolean:
        return _const("", len(column), pl.String)
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


def _json_fields(texts: pl.Series) -> pl.DataFrame:
    """Fields of JSON lines; rows of pieces that would not decode are left unsettled."""
    frame, mixed = _decode(texts)
    if frame is None:
        if len(texts) <= _SMALL_PIECE:
            return _frame(len(texts))
        half = len(texts) // 2
        return pl.concat([_json_fields(texts.slice(0, half)), _json_fields(texts.slice(half))])
    if frame.width == 0:
        frame = pl.DataFrame({"_": _const(None, len(texts), pl.Null)})
    at, fb_at = _pick(frame, TIME_KEYS, _as_time, texts if mixed else None)
    level, fb_level = _pick(frame, LEVEL_KEYS, _as_level, texts if mixed else None)
    logger, fb_logger = _pick(frame, LOGGER_KEYS, _as_text, texts if mixed else None)
    message, fb_message = _pick(frame, MESSAGE_KEYS, _as_text, texts if mixed else None)
    fallback = fb_at | fb_level | fb_logger | fb_message
    kind = _kinds(len(texts), RECORD).zip_with(at.cast(UTC_NS).is_not_null(), pl.Series([MALFORMED], dtype=pl.Int8))
    kind = kind.zip_with(~fallback, pl.Series([None], dtype=pl.Int8))
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at.cast(UTC_NS),
            "level": level.cast(pl.String).fill_null(""),
            "logger": logger.cast(pl.String).fill_null(""),
            "message": message.cast(pl.String).fill_null(""),
            "reason": _const("JSON object without a readable time", len(texts), pl.String).zip_with(
                kind == MALFORMED, pl.Series([None], dtype=pl.String)
            ),
        }
    )


def _plain_fields(texts: pl.Series) -> pl.DataFrame:
    """Fields of ``<ISO time> <LEVEL> [logger] message`` lines; others are left unsettled.

    Only whole matches are extracted (the regex engine's fast path); the time, the level
    and the logger are then cut out of the short matched heads, the message is the rest.
    """
    head = texts.str.extract(_PLAIN_HEAD, 0)
    stamp = head.str.extract(_PLAIN_TIME, 0)
    level_word = head.str.slice(stamp.str.len_chars()).str.strip_chars(_SEPARATORS)
    rest = texts.str.slice(head.str.len_chars())
    named = rest.str.extract(_LOGGER_HEAD, 0)
    bracket = rest.str.extract(_BRACKET_HEAD, 0).zip_with(named.is_null(), pl.Series([None], dtype=pl.String))
    # "[thread] logger : " → "logger": drop the blank, the ':'/'-', blanks, then the [thread].
    named_logger = named.str.slice(0, named.str.len_chars() - 2).str.strip_chars_end()
    named_logger = named_logger.str.replace(r"^\[[^\]]*\]\s*", "")
    logger = named_logger.fill_null(bracket.str.strip_chars_end().str.slice(1).str.strip_suffix("]"))
    taken = named.fill_null(bracket).str.len_chars().fill_null(0)
    message = rest.str.slice(taken).str.strip_chars_end()
    at = _times_from_text(stamp.str.strip_prefix("["))
    matched = head.is_not_null()
    kind = _kinds(len(texts), RECORD).zip_with(at.is_not_null(), _kinds(1, MALFORMED))
    kind = kind.zip_with(matched, _kinds(1, None))  # the per-line parser decides the rest
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at,
            "level": levels_from_text(level_word).fill_null(""),
            "logger": logger.fill_null(""),
            "message": message.fill_null(""),
            "reason": _const("timestamp not readable", len(texts), pl.String).zip_with(
                kind == MALFORMED, pl.Series([None], dtype=pl.String)
            ),
        }
    )


def _pattern_fields(texts: pl.Series, pattern: str) -> pl.DataFrame | None:
    """Fields from a user regex run by polars; None if the Rust engine rejects it."""
    names = re.compile(pattern).groupindex
    try:
        parts = texts.str.extract_groups(f"^(?P<rbkwhole>(?:{pattern}))").struct.unnest()
    except pl.exceptions.PolarsError:
        return None
    n = len(texts)
    none = _const(None, n, pl.String)

    def group(*options: str) -> pl.Series:
        out = none
        for name in reversed([name for name in options if name in names]):
            out = parts[name].fill_null(out)
        return out

    matched = parts["rbkwhole"].is_not_null()
    at = _times_from_text(group("logged_at", "ts", "time"))
    record = _kinds(n, RECORD).zip_with(at.is_not_null(), pl.Series([MALFORMED], dtype=pl.Int8))
    kind = _kinds(n, CONTINUES).zip_with(~matched, record)
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at,
            "level": levels_from_text(group("level")).fill_null(""),
            "logger": group("logger").fill_null(""),
            "message": group("message", "msg").fill_null(""),
            "reason": _const("timestamp not readable", n, pl.String).zip_with(kind == MALFORMED, none),
        }
    )


def _per_line(texts: list[str], compiled: re.Pattern[str] | None) -> pl.DataFrame:
    """The per-line parser over *texts* (the lines the vectorised paths left)."""
    rows: dict[str, list[Any]] = {name: [] for name in ("kind", *_FIELDS, "reason")}
    for text in texts:
        got = app_lines.parse_app_line(text, True, compiled)
        record = got if isinstance(got, dict) else {}
        kind = RECORD if record else CONTINUES if isinstance(got, str) else MALFORMED
        rows["kind"].append(kind)
        at = record.get("logged_at")
        rows["logged_at"].append(None if at is None else at.value)
        for name in ("level", "logger", "message"):
            rows[name].append(record.get(name))
        rows["reason"].append(_reason(text) if kind == MALFORMED else None)
    frame = pl.DataFrame(rows, schema_overrides={"kind": pl.Int8, "logged_at": pl.Int64}, strict=False)
    return frame.with_columns(pl.col("logged_at").cast(UTC_NS), *(pl.col(c).cast(pl.String) for c in _FIELDS[1:]))


def _reason(text: str) -> str:
    """Why the per-line parser found *text* malformed, in words for the report."""
    if text.lstrip().startswith("{"):
        try:
            json.loads(text)
        except ValueError:
            return "not valid JSON"
        return "JSON object without a readable time"
    return "timestamp not readable"


def parse_lines(texts: pl.Series, *, pattern: str = "") -> pl.DataFrame:
    """One row of ``kind``, fields and ``reason`` per line of *texts* (no line endings), in order."""
    n = len(texts)
    index = pl.Series("_i", range(n), dtype=pl.UInt32)
    parts: list[pl.DataFrame] = []
    if pattern:
        got = _pattern_fields(texts, pattern)
        parts.append((got if got is not None else _frame(n)).with_columns(index))
    else:
        is_json = texts.str.contains(r"^\s*\{")
        is_logfmt = ~is_json & texts.str.contains(app_lines.LOGFMT_START.pattern)
        is_plain = ~is_json & ~is_logfmt
        for rows, parse in ((is_json, _json_fields), (is_plain, _plain_fields)):
            if rows.any():
                parts.append(parse(texts.filter(rows)).with_columns(index.filter(rows)))
        if is_logfmt.any():
            parts.append(_frame(int(is_logfmt.sum())).with_columns(index.filter(is_logfmt)))
    out = pl.concat(parts) if len(parts) > 1 else parts[0]
    left = out["kind"].is_null()
    if left.any():
        rows = out.filter(left)["_i"]
        compiled = re.compile(pattern) if pattern else None
        settled = _per_line(texts.gather(rows).to_list(), compiled).with_columns(rows)
        out = pl.concat([out.filter(~left), settled])
    if len(parts) > 1 or left.any():
        out = out.sort("_i")
    return out.drop("_i")
