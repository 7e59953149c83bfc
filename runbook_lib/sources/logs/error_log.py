"""nginx and Apache (2.2 / 2.4) error logs as one typed frame.

Frame schema (:data:`ERROR_SCHEMA`), one row per logged event:

============  ===================  ===========================================================
column        dtype                meaning
============  ===================  ===========================================================
logged_at     datetime64[ns, UTC]  event time; error logs carry no offset, so the server's
                                   local time is read in ``tz`` (default UTC)
level         str                  lower-case: debug, info, notice, warning, error, critical,
                                   alert, emerg, trace (Apache ``trace1-8``); nginx ``warn`` →
                                   ``warning``, ``crit`` → ``critical``
pid           Int64                worker process id (NA when the line has none, Apache 2.2)
message       str                  the event text; nginx's trailing ``, client: …`` context is
                                   split off into the columns below; continuation lines
                                   (FastCGI ``PHP message:`` output) are appended after ``\\n``
client_ip     str                  ``client: X`` / ``[client X:port]`` without the port
server        str                  nginx ``server:`` (the virtual server), else ``""``
request       str                  nginx ``request: "GET /x HTTP/1.1"``, else ``""``
upstream      str                  nginx ``upstream: "http://…"``, else ``""``
source_file   str                  the file the event came from
============  ===================  ===========================================================

Apache's module (``proxy``, ``core``) and ``AH`` code stay at the start of ``message``
(``[proxy] AH00957: …``) so one column holds the whole story.

When the source is down: a missing/unreadable file → ``unavailable`` with a one-line
reason; lines that are neither an event nor a continuation → counted, sampled,
``partial``.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from runbook_lib.collected import Collected, skipped
from runbook_lib.sources._files import expand_paths
from runbook_lib.sources.logs.line_files import LineResult, collect_line_files
from runbook_lib.timewindow import Window

__all__ = ["ERROR_SCHEMA", "collect_error_log", "parse_error_line"]

SOURCE = "error_log"
ERROR_SCHEMA: dict[str, str] = {
    "logged_at": "datetime64[ns, UTC]",
    "level": "str",
    "pid": "Int64",
    "message": "str",
    "client_ip": "str",
    "server": "str",
    "request": "str",
    "upstream": "str",
    "source_file": "str",
}

_NGINX = re.compile(
    r"^(?P<ts>\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>[a-z]+)\] "
    r"(?P<pid>\d+)#\d+: (?:\*\d+ )?(?P<message>.*)$"
)
_NGINX_CONTEXT = re.compile(
    r", (?P<key>client|server|request|upstream|host|referrer|subrequest): "
    r'(?P<value>"(?:[^"\\]|\\.)*"|[^,]*)'
)
_APACHE = re.compile(
    r"^\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] "
    r"\[(?:(?P<module>[\w-]+):)?(?P<level>[a-z]+\d?)\]"
    r"(?: \[pid (?P<pid>\d+)(?::tid \d+)?\])?"
    r"(?: \[client (?P<client>[^\]]+)\])?"
    r" ?(?P<message>.*)$"
)
_LEVELS = {"warn": "warning", "crit": "critical", "err": "error"}
_PORT = re.compile(r"^(?P<host>.+?):(?P<port>\d+)$")


def _level(raw: str) -> str:
    raw = raw.lower()
    if raw.startswith("trace"):
        return "trace"
    return _LEVELS.get(raw, raw)


def _stamp(text: str, fmt: str, tz: ZoneInfo) -> pd.Timestamp:
    return pd.Timestamp(datetime.strptime(text, fmt).replace(tzinfo=tz)).tz_convert("UTC")


def _strip_port(client: str, apache24: bool) -> str:
    client = client.strip()
    match = _PORT.match(client)
    if not match:
        return client
    host = match["host"]
    # IPv4 "1.2.3.4:5678"; Apache 2.4 always appends the port, also to IPv6 ("::1:52546").
    if host.count(":") == 0 or apache24:
        return host
    return client


def parse_error_line(line: str, has_previous: bool, tz: ZoneInfo | None = None) -> LineResult:
    """One error-log line → a record dict, continuation text, or ``None`` (malformed)."""
    zone = tz or ZoneInfo("UTC")
    match = _NGINX.match(line)
    if match:
        message = match["message"]
        context: dict[str, str] = {}
        first = _NGINX_CONTEXT.search(message)
        if first:
            for item in _NGINX_CONTEXT.finditer(message, first.start()):
                context[item["key"]] = item["value"].strip('"')
            message = message[: first.start()]
        return {
            "logged_at": _stamp(match["ts"], "%Y/%m/%d %H:%M:%S", zone),
            "level": _level(match["level"]),
            "pid": int(match["pid"]),
            "message": message,
            "client_ip": context.get("client", ""),
            "server": context.get("server", ""),
            "request": context.get("request", ""),
            "upstream": context.get("upstream", ""),
        }
    match = _APACHE.match(line)
    if match:
        ts = match["ts"]
        fmt = "%a %b %d %H:%M:%S.%f %Y" if "." in ts else "%a %b %d %H:%M:%S %Y"
        message = match["message"]
        if match["module"]:
            message = f"[{match['module']}] {message}"
        pid = match["pid"]
        return {
            "logged_at": _stamp(ts, fmt, zone),
            "level": _level(match["level"]),
            "pid": int(pid) if pid else None,
            "message": message,
            "client_ip": _strip_port(match["client"], "." in ts) if match["client"] else "",
            "server": "",
            "request": "",
            "upstream": "",
        }
    if has_previous and not line.startswith(("[", "20")):
        return line  # continuation of a multi-line message (FastCGI stderr, PHP output)
    return None


def collect_error_log(paths: str, *, window: Window | None = None, tz: str = "UTC") -> Collected:
    """Collect nginx/Apache error log(s) named by *paths* (path, glob or rotated set).

    *tz* is the server's local time zone (error logs carry none). Never raises on a
    broken world; see the module docstring for statuses.
    """
    if not str(paths).strip():
        return skipped(SOURCE, ERROR_SCHEMA, "no error log configured (error_log is empty)")
    files = expand_paths(str(paths))
    zone = ZoneInfo(tz)

    def parse(line: str, has_previous: bool) -> LineResult:
        return parse_error_line(line, has_previous, zone)

    return collect_line_files(str(paths), files, parse, source=SOURCE, schema=ERROR_SCHEMA, window=window)
