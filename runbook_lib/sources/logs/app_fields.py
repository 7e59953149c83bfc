"""A chunk of application-log lines → record fields, with polars instead of a Python loop.

:func:`parse_lines` takes a chunk's lines (a polars String series) and returns one row per
line: ``kind`` (:data:`RECORD`, :data:`CONTINUES` — text that continues the previous
record, :data:`MALFORMED`), ``logged_at`` (Datetime ns UTC), ``level``, ``logger``,
``message`` and, for malformed lines, a ``reason``. Which layout a line has is decided
per line, as :func:`~runbook_lib.sources.logs.app_lines.parse_app_line` does:

- JSON lines go through pyarrow's JSON reader in one call per chunk (polars' when a key
  changes type between lines). A chunk holding a broken line makes that call fail; the
  chunk is halved until the failing pieces are a few lines, which the per-line parser
  settles (one bad line costs about two more reads of the chunk, not a Python loop over
  it). Values of types the vectorised path does not map exactly (objects as messages,
  floats as loggers, numbers read as text) are sent to the per-line parser too.
- Plain text: the same layout as the per-line regex, matched by polars' Rust engine as
  whole matches of the line's head only (captures and ``.*`` tails are its slow path);
  time, level and logger are cut out of that short head, the message is the rest.
  Lines the ASCII head pattern misses (continuations, other layouts) go to the per-line
  parser, which decides between a record, a continuation and a malformed line.
- logfmt lines, and a user pattern the Rust engine rejects (look-arounds, back-references),
  go to the per-line parser.

Times in ISO-8601 layouts are read from their bytes (:mod:`.iso_times`); anything else
goes through :func:`~runbook_lib.sources.logs.app_lines.time_of` once per distinct value.
"""

from __future__ import annotations

import json
import re
from typing import Any

import polars as pl

from runbook_lib.sources.logs import app_lines
from runbook_lib.sources.logs.app_columns import (
    CONTINUES,
    MALFORMED,
    RECORD,
    UTC_NS,
    const,
    kinds,
    levels_from_text,
    nanoseconds,
    times_from_text,
    unsettled,
)
from runbook_lib.sources.logs.app_json import json_fields
from runbook_lib.sources.logs.app_lines import KNOWN

__all__ = ["CONTINUES", "MALFORMED", "RECORD", "parse_lines"]

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
_FIELDS = ("logged_at", "level", "logger", "message")


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
    at = times_from_text(stamp.str.strip_prefix("["))
    matched = head.is_not_null()
    kind = kinds(len(texts), RECORD).zip_with(at.is_not_null(), kinds(1, MALFORMED))
    kind = kind.zip_with(matched, kinds(1, None))  # the per-line parser decides the rest
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at,
            "level": levels_from_text(level_word).fill_null(""),
            "logger": logger.fill_null(""),
            "message": message.fill_null(""),
            "reason": const("timestamp not readable", len(texts), pl.String).zip_with(
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
    none = const(None, n, pl.String)

    def group(*options: str) -> pl.Series:
        out = none
        for name in reversed([name for name in options if name in names]):
            out = parts[name].fill_null(out)
        return out

    matched = parts["rbkwhole"].is_not_null()
    at = times_from_text(group("logged_at", "ts", "time"))
    record = kinds(n, RECORD).zip_with(at.is_not_null(), pl.Series([MALFORMED], dtype=pl.Int8))
    kind = kinds(n, CONTINUES).zip_with(~matched, record)
    return pl.DataFrame(
        {
            "kind": kind,
            "logged_at": at,
            "level": levels_from_text(group("level")).fill_null(""),
            "logger": group("logger").fill_null(""),
            "message": group("message", "msg").fill_null(""),
            "reason": const("timestamp not readable", n, pl.String).zip_with(kind == MALFORMED, none),
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
        rows["logged_at"].append(nanoseconds(at))
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
        parts.append((got if got is not None else unsettled(n)).with_columns(index))
    else:
        is_json = texts.str.contains(r"^\s*\{")
        is_logfmt = ~is_json & texts.str.contains(app_lines.LOGFMT_START.pattern)
        is_plain = ~is_json & ~is_logfmt
        for rows, parse in ((is_json, json_fields), (is_plain, _plain_fields)):
            if rows.any():
                parts.append(parse(texts.filter(rows)).with_columns(index.filter(rows)))
        if is_logfmt.any():
            parts.append(unsettled(int(is_logfmt.sum())).with_columns(index.filter(is_logfmt)))
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
