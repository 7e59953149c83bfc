"""What a PostgreSQL log file is, from its first kilobytes, and what a stranger looks like.

Why from the content: people hand over what they have (a Cloud Logging export, a syslog
file, a csvlog, a PgBouncer log by mistake) under any name. A JSON line is jsonlog only with
jsonlog's fields, CloudNativePG with ``logger``/``record``, a Cloud SQL LogEntry with
``textPayload``/``logName`` (one JSON array of them too: ``gcloud logging read
--format=json``); 23+ CSV fields are csvlog; a syslog (BSD or RFC 5424) or Heroku logplex
header is read by ``log_syslog``; else stderr. A file that no prefix reads is named by what
it looks like (:func:`looks_like`), not blamed on ``log_line_prefix``.
"""

from __future__ import annotations

import json
import re

from runbook_lib.sources.pg.log_structured import json_kind, looks_like_csvlog
from runbook_lib.sources.pg.log_syslog import detect_syslog

_LOG_ENTRY_ARRAY = re.compile(r'^\[\s*\{.*?"(?:textPayload|logName|insertId)"\s*:', re.S)


def detect(head: str) -> str:
    """The format of a file whose first kilobytes are *head*."""
    first = head.lstrip()
    if first.startswith("{"):
        try:
            return json_kind(json.loads(first.split("\n", 1)[0]))
        except ValueError:
            return "json"
    if first.startswith("[") and _LOG_ENTRY_ARRAY.match(first[:65536]):
        return "cloudsql"
    if looks_like_csvlog(first[:65536]):
        return "csvlog"
    return detect_syslog(first[:65536].split("\n")) or "stderr"


#: What a text file that is not a PostgreSQL log looks like (first match wins).
_LOOKS_LIKE = (
    (re.compile(r"\b(?:LOG|WARNING|ERROR|FATAL) [CS]-0x[0-9a-f]+:|pgbouncer", re.I), "a PgBouncer log"),
    (re.compile(r'"(?:GET|POST|PUT|DELETE|HEAD) \S+ HTTP/'), "an HTTP access log"),
    (re.compile(r"^\s*[{\[]"), "JSON"),
    (re.compile(r"\b(?:INFO|DEBUG|WARN|Traceback)\b"), "an application log"),
)


#: PostgreSQL writes the level, a colon and two spaces: "ERROR:  ", "LOG:  ".
_LEVEL = re.compile(r"^(.{1,200}?)\b(?:LOG|ERROR|FATAL|PANIC|WARNING|NOTICE|INFO|DETAIL|STATEMENT|HINT):  ")


def level_heads(lines: list[str]) -> list[str]:
    """What precedes the level in *lines* that read like a server's (at least half of
    them): the output of an unknown ``log_line_prefix``; empty when they do not."""
    sample = [line for line in lines[:200] if line.strip() and not line.startswith("\t")]
    heads = [m[1] for m in map(_LEVEL.match, sample) if m]
    return heads if sample and len(heads) * 2 >= len(sample) else []


def looks_like(lines: list[str]) -> str:
    """What *lines* (a file's unmatched lines) look like, for the reason of ``unavailable``."""
    text = "\n".join(lines[:50])
    for pattern, what in _LOOKS_LIKE:
        if pattern.search(text):
            return what
    return "text that is not a PostgreSQL log"
