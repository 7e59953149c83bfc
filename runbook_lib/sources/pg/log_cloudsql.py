"""Google Cloud SQL for PostgreSQL: Cloud Logging LogEntry exports of ``postgres.log``.

Why a rewrite and not a parser of its own: each LogEntry's ``textPayload`` is one line the
server wrote with Cloud SQL's fixed ``log_line_prefix`` (``%m [%p]: [%l-1] db=%d,user=%u ``;
users cannot set it), so each entry becomes that stderr line with the entry's own
``timestamp`` (RFC 3339, nanoseconds; the payload's ``%m`` has milliseconds) in place of
``%m``, and the one stderr parser reads the result: continuation lines (a multi-line
statement, one entry per line starting with a tab, or one entry holding the newlines) join
their record, DETAIL/HINT/STATEMENT entries attach to the record of the same pid.

What a file may hold: JSON lines (one LogEntry per line: a Logs Explorer download, a sink to
Cloud Storage) or one JSON array (``gcloud logging read --format=json``). gcloud lists newest
first: entries are put back in time order (a stable sort on the timestamp after reversing a
newest-first file; a continuation entry keeps the time of the entry before it, so the lines of
one record stay together whatever time each was given). Set aside, counted, not
errors: entries of other logs (``logName`` not ending in ``postgres.log``, e.g. the audit
log) or resources (``resource.type`` other than ``cloudsql_database``) and entries without a
``textPayload`` (or an empty one). The level is PostgreSQL's own, read from the payload; Cloud Logging's
``severity`` (coarser: LOG is INFO) is counted apart. ``resource.labels.database_id``
(``project:instance``) names the instance(s).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from runbook_lib.collected import MAX_SAMPLES
from runbook_lib.sources.pg.log_structured import json_kind

#: Cloud SQL's fixed log_line_prefix after the time (``%m`` is the LogEntry timestamp here).
CLOUDSQL_PREFIX = "%m [%p]: [%l-1] db=%d,user=%u "
_RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)$")
_PAYLOAD_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? (?:[A-Za-z]{1,6}|[+-]\d\d(?::?\d\d)?) ")


@dataclass
class CloudSqlLines:
    """The stderr lines of a Cloud SQL export, and what the source reports about it."""

    lines: list[str] = field(default_factory=list)
    entries: int = 0  # LogEntries read (set aside and skipped included)
    aside: int = 0  # entries of other logs/resources, or without a textPayload
    skipped: int = 0  # lines that are not LogEntries at all
    samples: list[str] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)
    entry_severity: dict[str, int] = field(default_factory=dict)


def utc_text(stamp: object) -> str | None:
    """RFC 3339 *stamp* -> ``YYYY-MM-DD HH:MM:SS.nnnnnnnnn`` in UTC (sortable), None if unreadable."""
    found = _RFC3339.match(stamp) if isinstance(stamp, str) else None
    if found is None:
        return None
    date, clock, frac, zone = found.groups()
    nanos = (frac or "").ljust(9, "0")[:9]
    if zone not in ("Z", "z", "+00:00", "-00:00"):
        try:
            local = dt.datetime.fromisoformat(f"{date}T{clock}{zone}")
        except ValueError:
            return None
        date, clock = local.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S").split(" ")
    return f"{date} {clock}.{nanos}"


def _entries(text: str) -> tuple[list[Any], list[str]]:
    """Parsed objects of a JSON-lines file or a JSON array, and the lines that are not JSON."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            whole = json.loads(stripped)
        except ValueError:
            whole = None
        if isinstance(whole, list):
            return whole, []
    objects: list[Any] = []
    bad: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            objects.append(json.loads(line))
        except ValueError:
            bad.append(line)
    return objects, bad


def read_cloudsql(text: str) -> CloudSqlLines:
    """The stderr lines (prefix :data:`CLOUDSQL_PREFIX`) of the LogEntries in *text*, in time order."""
    out = CloudSqlLines()
    objects, bad = _entries(text)
    out.entries = len(objects) + len(bad)
    out.skipped = len(bad)
    out.samples = bad[:MAX_SAMPLES]
    keyed: list[tuple[str, list[str]]] = []
    instances: set[str] = set()
    severities: Counter[str] = Counter()
    last_key = ""
    for obj in objects:
        if json_kind(obj) != "cloudsql" or not isinstance(obj, dict):
            out.skipped += 1
            if len(out.samples) < MAX_SAMPLES:
                out.samples.append(json.dumps(obj)[:500])
            continue
        resource = _mapping(obj.get("resource"))
        log_name = unquote(str(obj.get("logName", "postgres.log")))
        payload = obj.get("textPayload")
        if (
            not log_name.endswith("postgres.log")
            or resource.get("type", "cloudsql_database") != "cloudsql_database"
            or not isinstance(payload, str)
            or not payload.strip()
        ):
            out.aside += 1
            continue
        labels = _mapping(resource.get("labels"))
        if labels.get("database_id"):
            instances.add(str(labels["database_id"]))
        severities[str(obj.get("severity", "DEFAULT"))] += 1
        key = utc_text(obj.get("timestamp")) or utc_text(obj.get("receiveTimestamp")) or last_key
        last_key = key
        keyed.append((key, _stderr_lines(payload, key)))
    if len(keyed) > 1 and keyed[0][0] > keyed[-1][0]:
        keyed.reverse()  # newest first (gcloud logging read): back to the order it was written
    for i in range(1, len(keyed)):  # a continuation line stays with the entry before it,
        if keyed[i][1][:1] and keyed[i][1][0].startswith("\t"):  # whatever time it carries
            keyed[i] = (keyed[i - 1][0], keyed[i][1])
    keyed.sort(key=lambda item: item[0])  # stable: the lines of one record keep their order
    out.lines = [line for _, lines in keyed for line in lines]
    out.instances = sorted(instances)
    out.entry_severity = dict(sorted(severities.items()))
    return out


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _stderr_lines(payload: str, key: str) -> list[str]:
    """*payload* as stderr lines: its first line starts with the entry's time (µs, UTC)."""
    lines = payload.rstrip("\n").split("\n")
    head = lines[0]
    if head.startswith("\t") or not key:
        return lines  # a continuation line, or no time to put in: as the server wrote it
    lines[0] = f"{key[:26]} UTC " + _PAYLOAD_TIME.sub("", head, count=1)
    return lines
