"""Tables people read: human units, UTC timestamps to the second, no index column.

The frame a flow computes keeps its raw values (they go to ``findings.json`` and to the
``text/plain`` part of the notebook output); only the HTML a person reads is formatted:

- ``*_bytes`` → ``361 MiB``; ``*_s`` → ``2 min 13 s``; ``*_percent``/``*_pct`` → ``8.5 %``;
- datetimes → ``2026-03-14 19:37:53`` UTC, to the second; a column where the order inside a
  second matters (a PostgreSQL log event, requests in a burst, a test's start) is named in
  ``millis=`` and shows ``19:37:53.020`` when its data has sub-second values (rounded to the
  millisecond, never nanosecond noise);
- headers say what and the unit lives in the cell (``rss``, not ``rss_bytes``);
- a long text is cut and its full (cleaned) value is kept in the cell's ``title`` (hover).

Every value is HTML-escaped here: cells come from logs and servers.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from runbook_lib.text import MAX_CELL_CHARS, clean_text

#: Hover text is kept, but a 1 MB query would bloat the report; the drill-down has the rest.
MAX_TITLE_CHARS = 2000
_BYTE_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
#: Suffix → (unit formatter, header without the suffix). Longest suffixes first.
_SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_bytes_per_s", "bytes_per_s"),
    ("_bytes", "bytes"),
    ("_percent", "percent"),
    ("_pct", "percent"),
    ("_ms", "ms"),
    ("_s", "seconds"),
)


def human_bytes(value: float) -> str:
    """``361 MiB``: binary units, three significant digits."""
    size = float(value)
    sign = "-" if size < 0 else ""
    size = abs(size)
    for unit in _BYTE_UNITS:
        if size < 1024 or unit == _BYTE_UNITS[-1]:
            if unit == "B":
                return f"{sign}{size:.0f} B"
            return f"{sign}{size:.3g} {unit}" if size < 1000 else f"{sign}{size:.0f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float) -> str:
    """``2 min 13 s``, ``1 h 5 min``, ``3 d 4 h``; below a minute ``13.2 s`` / ``250 ms``."""
    s = float(seconds)
    sign = "-" if s < 0 else ""
    s = abs(s)
    if s < 1:
        return f"{sign}{s * 1000:.3g} ms" if s > 0 else "0 s"
    if s < 60:
        return f"{sign}{s:.3g} s"
    whole = round(s)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days} d {hours} h"
    if hours:
        return f"{sign}{hours} h {minutes} min"
    return f"{sign}{minutes} min {secs} s"


def human_percent(value: float) -> str:
    """``8.5 %`` (the value is already in percent)."""
    v = float(value)
    return f"{v:.1f} %" if abs(v) < 100 else f"{v:.0f} %"


def human_number(value: Any) -> str:
    """Integers with thousands separators, floats with four significant digits."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    v = float(value)
    if abs(v) >= 1e6:
        return f"{v:,.0f}"
    return f"{v:.4g}"


def utc_stamp(value: pd.Timestamp, *, millis: bool) -> str:
    """``2026-03-14 19:37:53`` (or ``.019``) in UTC, rounded so float noise never shows."""
    ts = value.tz_convert("UTC") if value.tzinfo is not None else value
    ts = ts.round("ms")
    text = ts.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{ts.microsecond // 1000:03d}" if millis else text


def header(column: object) -> str:
    """``rss_bytes`` → ``rss``; ``cpu_percent`` → ``cpu``; ``started_at`` → ``started (UTC)``."""
    name = str(column)
    for suffix, _ in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            name = name[: -len(suffix)]
            break
    else:
        if name.endswith("_at") and len(name) > 3:
            name = name[:-3] + " (UTC)"
    return clean_text(name.replace("_", " "), 60)


#: Integer columns that are identifiers, not quantities: no thousands separators.
_ID_COLUMNS = ("pid", "ppid", "port", "cpu", "core", "sha", "id")


def _kind(column: object, series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    name = str(column)
    if name in _ID_COLUMNS or name.endswith(("_id", "_pid", "_port")):
        return "text"
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        for suffix, kind in _SUFFIXES:
            if name.endswith(suffix):
                return kind
        return "number"
    if name.endswith("_at") and series.map(lambda v: isinstance(v, pd.Timestamp)).all():
        return "datetime"
    return "text"


def _formatter(kind: str, series: pd.Series, *, millis: bool = False) -> Callable[[Any], str]:
    if kind == "bytes":
        return human_bytes
    if kind == "bytes_per_s":
        return lambda v: human_bytes(v) + "/s"
    if kind == "percent":
        return human_percent
    if kind == "seconds":
        return human_duration
    if kind == "ms":
        return lambda v: human_duration(float(v) / 1000)
    if kind == "datetime":
        if millis:  # only when the source has them: ".000" from a log to the second claims too much
            stamps = pd.to_datetime(series, utc=True, errors="coerce").dropna()
            millis = bool((stamps.dt.round("ms") != stamps.dt.floor("s")).any())
        return lambda v: utc_stamp(pd.Timestamp(v), millis=millis)
    if kind == "number":
        return human_number
    return str


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _cell(value: Any, fmt: Callable[[Any], str], *, text: bool, max_chars: int) -> str:
    if _missing(value):
        return "<td class='rb-na'>–</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isinf(value):
        return f"<td class='rb-num'>{'−' if value < 0 else ''}∞</td>"  # e.g. time to limit: never
    if not text:
        return f"<td class='rb-num'>{html.escape(fmt(value))}</td>"
    full = clean_text(value, MAX_TITLE_CHARS)
    shown = clean_text(value, max_chars)
    title = f" title='{html.escape(full, quote=True)}'" if shown != full else ""
    return f"<td{title}>{html.escape(shown)}</td>"


def table_html(
    frame: pd.DataFrame,
    *,
    max_rows: int = 20,
    max_chars: int = MAX_CELL_CHARS,
    millis: Iterable[str] = (),
    total: int | None = None,
) -> str:
    """The HTML of a readable table: formatted cells, no default index, escaped text.

    *total* is the row count the caption names when *frame* holds only the rows shown
    (the newest of millions, picked without sorting them all).

    Timestamps show whole seconds, except in the columns named in *millis*: milliseconds,
    when the column has any (a log written to the second keeps its seconds); naming a
    column the frame does not have is an error, so a renamed column is noticed.
    """
    shown = frame.head(max_rows)
    if shown.index.name is not None or not pd.api.types.is_integer_dtype(shown.index.dtype):
        shown = shown.reset_index()  # a named or meaningful index is a column people read
    # An unnamed integer index is row positions left over from filtering or sorting: dropped.
    precise = set(millis)
    missing = precise - {str(c) for c in shown.columns}
    if missing:
        raise KeyError(f"millis names columns the table does not have: {sorted(missing)}")
    kinds = {c: _kind(c, shown[c]) for c in shown.columns}
    formats = {c: _formatter(kinds[c], shown[c], millis=str(c) in precise) for c in shown.columns}
    head = "".join(
        f"<th title='{html.escape(clean_text(c, 200), quote=True)}'>{html.escape(header(c))}</th>"
        for c in shown.columns
    )
    body = []
    for row in shown.itertuples(index=False, name=None):
        cells = "".join(
            _cell(value, formats[c], text=kinds[c] == "text", max_chars=max_chars)
            for c, value in zip(shown.columns, row, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    count = len(frame) if total is None else total
    caption = f"<caption>first {len(shown)} of {count:,} rows</caption>" if count > len(shown) else ""
    return (
        f"<table class='dataframe rb-table'>{caption}<thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )
