"""Application logs as one typed frame: JSON lines, logfmt, plain text, or your own regex.

Frame schema (:data:`APP_SCHEMA`), one row per record:

============  ===================  ==========================================================
column        dtype                meaning
============  ===================  ==========================================================
logged_at     datetime64[ns, UTC]  record time (a time without offset is read as UTC)
level         str                  lower-case: trace, debug, info, warning, error, critical,
                                   or the log's own word (``stats``); ``warn`` → ``warning``,
                                   ``fatal``/``crit`` → ``critical``, ``debug5`` → ``debug``,
                                   bunyan/pino numbers (10…60) mapped; ``""`` if none
logger        str                  logger / component / app name, ``""`` if none
message       str                  the text; continuation lines (stack traces) appended
                                   after ``\\n``
source_file   str                  the file the record came from
============  ===================  ==========================================================

Each line is recognised on its own, so one file may mix layouts:

- JSON objects (bunyan, pino with epoch-ms ``time``, Elastic ECS ``@timestamp`` /
  ``log.level``, generic ``ts``/``lvl``/``msg``, fields nested under ``@fields``);
- logfmt (``ts=… level=info msg="…"``, ``time="…" level=error msg=…``);
- plain text starting with an ISO-8601 timestamp and a level word (log4j/logback/Python);
- with ``pattern``: a regex with named groups ``logged_at`` (or ``ts``/``time``),
  ``level``, ``logger``, ``message`` (or ``msg``) — other lines continue the previous record.

A line that is none of these continues the previous record (stack traces); before any
record, or when it is a broken JSON object or a record whose time cannot be read, it is
counted as malformed and sampled (status ``partial``). Missing file → ``unavailable``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected, skipped
from runbook_lib.errors import ParameterError
from runbook_lib.sources._files import expand_paths
from runbook_lib.sources.logs.line_files import LineResult, collect_line_files
from runbook_lib.timewindow import Window

__all__ = ["APP_SCHEMA", "collect_app_log", "parse_app_line"]

SOURCE = "app_log"
APP_SCHEMA: dict[str, str] = {
    "logged_at": "datetime64[ns, UTC]",
    "level": "str",
    "logger": "str",
    "message": "str",
    "source_file": "str",
}

_TIME_KEYS = ("@timestamp", "timestamp", "time", "ts", "t", "date", "datetime", "logged_at")
_LEVEL_KEYS = ("log.level", "level", "lvl", "severity", "loglevel", "levelname", "log_level")
_LOGGER_KEYS = (
    "log.logger", "logger", "logger_name", "name", "service.name", "component", "module", "caller",
)  # fmt: skip
_MESSAGE_KEYS = ("message", "msg", "@message", "log.original", "text", "event")
_NUMERIC_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}
_LEVEL_WORDS = {"warn": "warning", "err": "error", "crit": "critical", "fatal": "critical",
                "severe": "critical", "emerg": "critical", "dbg": "debug", "inf": "info",
                "information": "info", "trc": "trace", "verbose": "debug"}  # fmt: skip
_KNOWN = r"TRACE|DEBUG\d?|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|SEVERE|CRIT(?:ICAL)?|FATAL|ALERT|EMERG"
_PLAIN = re.compile(
    r"^\[?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| ?[+-]\d{2}:?\d{2})?)\]?"
    rf"[\s|:-]+\[?(?P<level>{_KNOWN})\]?[\s|:-]+(?P<rest>.*)$",
    re.IGNORECASE,
)
# "[thread] logger : message" (logback), "logger: message", "logger - message"
_PLAIN_LOGGER = re.compile(r"^(?:\[[^\]]*\]\s*)?(?P<logger>[\w.$/-]+)\s*(?::|-)\s(?P<message>.*)$")
# "[component] message" (many Node/Python apps): the bracket names the logger.
_BRACKET_LOGGER = re.compile(r"^\[(?P<logger>[\w.$/-]+)\]\s+(?P<message>.*)$")
_LOGFMT_START = re.compile(r"^[A-Za-z_][\w.@-]*=")
_LOGFMT_PAIR = re.compile(r'([A-Za-z_][\w.@/-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def _level(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return _NUMERIC_LEVELS.get(int(value) // 10 * 10, str(int(value)))
    word = str(value).strip().lower().rstrip("0123456789") or str(value).strip().lower()
    return _LEVEL_WORDS.get(word, word)


def _time(value: Any) -> pd.Timestamp | None:
    """Epoch s/ms/µs numbers or an ISO-ish string → UTC timestamp, else None."""
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            unit = "ms" if value > 1e11 else "s"
            unit = "us" if value > 1e14 else unit
            return pd.Timestamp(value, unit=unit, tz="UTC")
        text = str(value).strip().replace(",", ".")
        if not text or not text[:4].isdigit():
            return None
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _lookup(obj: dict[str, Any], key: str) -> Any:
    """``obj[key]``, also through nesting (``log.level`` → ``obj["log"]["level"]``)."""
    if key in obj:
        return obj[key]
    head, _, rest = key.partition(".")
    if rest and isinstance(obj.get(head), dict):
        return _lookup(obj[head], rest)
    return None


def _first(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    nested = obj.get("@fields")
    sources: list[dict[str, Any]] = [obj, nested] if isinstance(nested, dict) else [obj]
    for source in sources:
        for key in keys:
            value = _lookup(source, key)
            if value is not None and value != "":
                return value
    return None


def _record(stamp: Any, level: Any, logger: Any, message: Any) -> dict[str, Any] | None:
    at = _time(stamp) if stamp is not None else None
    if at is None:
        return None
    return {
        "logged_at": at,
        "level": _level(level),
        "logger": "" if logger is None else str(logger),
        "message": "" if message is None else str(message),
    }


def _from_json(line: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return _record(
        _first(obj, _TIME_KEYS),
        _first(obj, _LEVEL_KEYS),
        _first(obj, _LOGGER_KEYS),
        _first(obj, _MESSAGE_KEYS),
    )


def _from_logfmt(line: str) -> dict[str, Any] | None:
    pairs = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v)
             for k, v in _LOGFMT_PAIR.findall(line)}  # fmt: skip
    if not any(k in pairs for k in _TIME_KEYS):
        return None
    message = _first(pairs, _MESSAGE_KEYS)
    if message is None:  # e.g. "build_context=…": keep the key=value text
        message = " ".join(f"{k}={v}" for k, v in pairs.items() if k not in ("ts", "time", "level", "caller"))
    return _record(_first(pairs, _TIME_KEYS), _first(pairs, _LEVEL_KEYS),
                   _first(pairs, _LOGGER_KEYS), message)  # fmt: skip


def _from_plain(line: str) -> dict[str, Any] | None:
    match = _PLAIN.match(line)
    if not match:
        return None
    rest = match["rest"]
    named = _PLAIN_LOGGER.match(rest) or _BRACKET_LOGGER.match(rest)
    logger, message = (named["logger"], named["message"]) if named else ("", rest)
    return _record(match["ts"], match["level"], logger, message.rstrip())


def parse_app_line(line: str, has_previous: bool, pattern: re.Pattern[str] | None = None) -> LineResult:
    """One app-log line → a record dict, continuation text, or ``None`` (malformed)."""
    if pattern is not None:
        match = pattern.match(line)
        if not match:
            return line if has_previous else None
        groups = {k: v for k, v in match.groupdict().items() if v is not None}
        return _record(
            groups.get("logged_at", groups.get("ts", groups.get("time"))),
            groups.get("level"),
            groups.get("logger"),
            groups.get("message", groups.get("msg", "")),
        )
    stripped = line.lstrip()
    if stripped.startswith("{"):
        return _from_json(stripped)
    if _LOGFMT_START.match(line):
        found = _from_logfmt(line)
        if found is not None:
            return found
    found = _from_plain(line)
    if found is not None:
        return found
    return line if has_previous else None


def collect_app_log(paths: str, *, window: Window | None = None, pattern: str = "") -> Collected:
    """Collect application log(s) named by *paths* (path, glob or rotated set).

    *pattern* (optional) is a regex with named groups ``logged_at``/``ts``/``time``,
    ``level``, ``logger``, ``message``/``msg``. Never raises on a broken world; a bad
    *pattern* is a :class:`ParameterError` (the caller's mistake, not the world's).
    """
    if not str(paths).strip():
        return skipped(SOURCE, APP_SCHEMA, "no application log configured (app_log is empty)")
    compiled: re.Pattern[str] | None = None
    if pattern:
        try:
            compiled = re.compile(pattern)
        except re.error as err:
            raise ParameterError(f"not a valid regular expression: {err}", key="pattern") from err
    files = expand_paths(str(paths))

    def parse(line: str, has_previous: bool) -> LineResult:
        return parse_app_line(line, has_previous, compiled)

    return collect_line_files(str(paths), files, parse, source=SOURCE, schema=APP_SCHEMA, window=window)
