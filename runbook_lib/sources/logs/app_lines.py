"""One application-log line at a time: the reference parser, and the fallback of the fast one.

:mod:`runbook_lib.sources.logs.app_fields` parses whole chunks with polars; the lines it
cannot settle exactly (logfmt, JSON values of odd types, times in unusual layouts, a user
pattern Rust's regex engine does not accept) come here, so both paths give the same
records. The layouts, keys and level words are listed once, here, for both.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from runbook_lib.sources.logs.line_files import LineResult

__all__ = [
    "APP_SCHEMA",
    "BRACKET_LOGGER",
    "LEVEL_KEYS",
    "LEVEL_WORDS",
    "LOGGER_KEYS",
    "LOGFMT_START",
    "MESSAGE_KEYS",
    "NUMERIC_LEVELS",
    "PLAIN",
    "PLAIN_LOGGER",
    "TIME_KEYS",
    "level_of",
    "parse_app_line",
    "time_of",
]

SOURCE = "app_log"
APP_SCHEMA: dict[str, str] = {
    "logged_at": "datetime64[ns, UTC]",
    "level": "str",
    "logger": "str",
    "message": "str",
    "source_file": "str",
}

TIME_KEYS = ("@timestamp", "timestamp", "time", "ts", "t", "date", "datetime", "logged_at")
LEVEL_KEYS = ("log.level", "level", "lvl", "severity", "loglevel", "levelname", "log_level")
LOGGER_KEYS = (
    "log.logger", "logger", "logger_name", "name", "service.name", "component", "module", "caller",
)  # fmt: skip
MESSAGE_KEYS = ("message", "msg", "@message", "log.original", "text", "event")
NUMERIC_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}
LEVEL_WORDS = {"warn": "warning", "err": "error", "crit": "critical", "fatal": "critical",
                "severe": "critical", "emerg": "critical", "dbg": "debug", "inf": "info",
                "information": "info", "trc": "trace", "verbose": "debug"}  # fmt: skip
KNOWN = r"TRACE|DEBUG\d?|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|SEVERE|CRIT(?:ICAL)?|FATAL|ALERT|EMERG"
PLAIN = re.compile(
    r"^\[?(?P<ts>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z| ?[+-]\d{2}:?\d{2})?)\]?"
    rf"[\s|:-]+\[?(?P<level>{KNOWN})\]?[\s|:-]+(?P<rest>.*)$",
    re.IGNORECASE,
)
# "[thread] logger : message" (logback), "logger: message", "logger - message"
PLAIN_LOGGER = re.compile(r"^(?:\[[^\]]*\]\s*)?(?P<logger>[\w.$/-]+)\s*(?::|-)\s(?P<message>.*)$")
# "[component] message" (many Node/Python apps): the bracket names the logger.
BRACKET_LOGGER = re.compile(r"^\[(?P<logger>[\w.$/-]+)\]\s+(?P<message>.*)$")
LOGFMT_START = re.compile(r"^[A-Za-z_][\w.@-]*=")
_LOGFMT_PAIR = re.compile(r'([A-Za-z_][\w.@/-]*)=("(?:[^"\\]|\\.)*"|\S*)')


def level_of(value: Any) -> str:
    """A level value (word or bunyan/pino number) → the frame's lower-case word."""
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return NUMERIC_LEVELS.get(int(value) // 10 * 10, str(int(value)))
    word = str(value).strip().lower().rstrip("0123456789") or str(value).strip().lower()
    return LEVEL_WORDS.get(word, word)


def time_of(value: Any) -> pd.Timestamp | None:
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
    at = time_of(stamp) if stamp is not None else None
    if at is None:
        return None
    return {
        "logged_at": at,
        "level": level_of(level),
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
        _first(obj, TIME_KEYS),
        _first(obj, LEVEL_KEYS),
        _first(obj, LOGGER_KEYS),
        _first(obj, MESSAGE_KEYS),
    )


def _from_logfmt(line: str) -> dict[str, Any] | None:
    pairs = {k: (v[1:-1].replace('\\"', '"') if v.startswith('"') else v)
             for k, v in _LOGFMT_PAIR.findall(line)}  # fmt: skip
    if not any(k in pairs for k in TIME_KEYS):
        return None
    message = _first(pairs, MESSAGE_KEYS)
    if message is None:  # e.g. "build_context=…": keep the key=value text
        message = " ".join(f"{k}={v}" for k, v in pairs.items() if k not in ("ts", "time", "level", "caller"))
    return _record(_first(pairs, TIME_KEYS), _first(pairs, LEVEL_KEYS),
                   _first(pairs, LOGGER_KEYS), message)  # fmt: skip


def _from_plain(line: str) -> dict[str, Any] | None:
    match = PLAIN.match(line)
    if not match:
        return None
    rest = match["rest"]
    named = PLAIN_LOGGER.match(rest) or BRACKET_LOGGER.match(rest)
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
    if LOGFMT_START.match(line):
        found = _from_logfmt(line)
        if found is not None:
            return found
    found = _from_plain(line)
    if found is not None:
        return found
    return line if has_previous else None
