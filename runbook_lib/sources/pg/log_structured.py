"""Read PostgreSQL csvlog and jsonlog records (one record per row / per line).

csvlog columns are positional. The first 23 are the same from PostgreSQL 9.0 to 17
(log_time … application_name); PG 13 appended ``backend_type`` (24), PG 14 ``leader_pid``
and ``query_id`` (26). We read the first 23 by position, so every version parses, and a
row with fewer than 23 fields (a truncated write, not a csvlog line) is skipped.
jsonlog (PG 15+) is one JSON object per line with named keys; keys a record lacks are
NULL. A JSON line is a jsonlog record only with jsonlog's own fields (``timestamp`` and
``error_severity``): a Cloud Logging export also has a ``timestamp``. CloudNativePG's
operator writes JSON lines whose ``record`` holds the csvlog fields by their csvlog names
(``log_time``, ``error_severity``, ``user_name``, …, per CloudNativePG's logging docs); its
other loggers' lines are counted in ``aside`` and set aside, not errors. All produce the text columns of
``pg_log_stderr.RECORD_COLUMNS``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from runbook_lib.collected import MAX_SAMPLES
from runbook_lib.sources.pg.log_stderr import RECORD_COLUMNS

CSV_MIN_COLUMNS = 23
#: csvlog position -> our column (the positions every PostgreSQL version shares).
_CSV_POSITIONS = {
    "ts": 0, "user": 1, "database": 2, "pid": 3, "client_addr": 4, "session_id": 5,
    "severity": 11, "sqlstate": 12, "message": 13, "detail": 14, "hint": 15,
    "context": 18, "statement": 19, "application_name": 22,
}  # fmt: skip
#: jsonlog key -> our column.
_JSON_KEYS = {
    "ts": "timestamp", "user": "user", "database": "dbname", "pid": "pid",
    "client_addr": "remote_host", "session_id": "session_id", "severity": "error_severity",
    "sqlstate": "state_code", "message": "message", "detail": "detail", "hint": "hint",
    "context": "context", "statement": "statement", "application_name": "application_name",
}  # fmt: skip
#: CloudNativePG ``record`` key (csvlog column names) -> our column.
_CNPG_KEYS = {
    "ts": "log_time", "user": "user_name", "database": "database_name", "pid": "process_id",
    "client_addr": "connection_from", "session_id": "session_id", "severity": "error_severity",
    "sqlstate": "sql_state_code", "message": "message", "detail": "detail", "hint": "hint",
    "context": "context", "statement": "query", "application_name": "application_name",
}  # fmt: skip


@dataclass
class StructuredResult:
    records: pl.DataFrame
    read: int = 0
    skipped: int = 0
    aside: int = 0  # CloudNativePG lines of other loggers: not PostgreSQL records, not errors
    samples: list[str] = field(default_factory=list)


def _frame(columns: dict[str, list[str | None]]) -> pl.DataFrame:
    return pl.DataFrame({c: pl.Series(c, columns[c], dtype=pl.String) for c in RECORD_COLUMNS})


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _host(connection_from: str | None) -> str | None:
    # csvlog writes "host:port" ("[local]" for a Unix socket); IPv6 hosts contain colons too
    if connection_from is None or connection_from.startswith("["):
        return connection_from
    host, sep, port = connection_from.rpartition(":")
    return host if sep and port.isdigit() else connection_from


def read_csvlog(text: str) -> StructuredResult:
    """Parse csvlog *text* (quoted fields may span lines)."""
    columns: dict[str, list[str | None]] = {c: [] for c in RECORD_COLUMNS}
    result = StructuredResult(records=pl.DataFrame())
    reader = csv.reader(io.StringIO(text, newline=""), strict=False)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. a field over the size limit: skip it, read on
            result.read += 1
            result.skipped += 1
            if len(result.samples) < MAX_SAMPLES:
                result.samples.append(f"csv error at record {result.read}: {err}")
            continue
        if not row:
            continue
        result.read += 1
        if len(row) < CSV_MIN_COLUMNS or not row[0][:4].isdigit():
            result.skipped += 1
            if len(result.samples) < MAX_SAMPLES:
                result.samples.append(",".join(row))
            continue
        for name in RECORD_COLUMNS:
            columns[name].append(_text(row[_CSV_POSITIONS[name]]))
        columns["client_addr"][-1] = _host(columns["client_addr"][-1])
    result.records = _frame(columns)
    return result


def read_jsonlog(lines: Iterable[str]) -> StructuredResult:
    """Parse jsonlog *lines* (one object per line; blank lines ignored)."""
    columns: dict[str, list[str | None]] = {c: [] for c in RECORD_COLUMNS}
    result = StructuredResult(records=pl.DataFrame())
    for line in lines:
        if not line.strip():
            continue
        result.read += 1
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        kind = json_kind(obj)
        if kind == "cloudnativepg" and isinstance(obj, dict):
            record = obj.get("record")
            if not isinstance(record, dict) or "error_severity" not in record:
                result.aside += 1
                continue
            for name in RECORD_COLUMNS:
                columns[name].append(_text(record.get(_CNPG_KEYS[name])))
            columns["client_addr"][-1] = _host(columns["client_addr"][-1])
            continue
        if kind != "jsonlog" or not isinstance(obj, dict):
            result.skipped += 1
            if len(result.samples) < MAX_SAMPLES:
                result.samples.append(line)
            continue
        for name in RECORD_COLUMNS:
            columns[name].append(_text(obj.get(_JSON_KEYS[name])))
    result.records = _frame(columns)
    return result


def looks_like_csvlog(head: str) -> bool:
    """True when the first record of *head* (a file's first kilobytes) is a csvlog record."""
    try:
        row = next(csv.reader(io.StringIO(head, newline=""), strict=False))
    except (csv.Error, StopIteration):
        return False
    return len(row) >= CSV_MIN_COLUMNS and row[0][:4].isdigit() and row[0][4:5] == "-"


def json_kind(obj: object) -> str:
    """What a parsed JSON line is: jsonlog, cloudnativepg, cloudsql (a LogEntry) or json."""
    if not isinstance(obj, dict):
        return "json"
    if "timestamp" in obj and "error_severity" in obj:
        return "jsonlog"
    if "logger" in obj and ("record" in obj or "msg" in obj):
        return "cloudnativepg"
    if "textPayload" in obj or "logName" in obj or "jsonPayload" in obj:
        return "cloudsql"
    return "json"
