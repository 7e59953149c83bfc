"""pg_stat_activity sampled over time, with the limits that decide how many slots are usable.

Why: "too many connections" is a question about a trend (who is growing, who sits idle),
not a single ``count(*)``. We sample ``pg_stat_activity`` every ``interval_s`` for
``duration_s`` (one snapshot when 0) through one read-only, time-limited session named
``runbook-kit`` (see :mod:`runbook_lib.sources.pg.connect`), and exclude that session's pid.

Each sample is appended to a JSON-lines recording (``pg_activity.jsonl`` in the run
folder) *as it is taken*, so an interrupted run keeps what it saw, and a recording made
earlier (``runbook record pg``) can be analysed instead of sampling:
:func:`read_activity_recording`. A psql export of ``pg_stat_activity`` (CSV from ``\\copy``
or JSON from ``json_agg``) loads into the same frame: :func:`read_activity_export`.

The query is picked by ``server_version_num`` from ``runbook_lib/queries/`` (one file per
minimum server version, pg_activity style); every variant returns the same columns, with
NULL where a server version lacks one (``leader_pid`` < 13, ``query_id`` < 14). Query text
is cut to ``query_chars`` on the server and its literals are masked unless
``show_full_queries`` is set.

When the server is down, hangs, or refuses us because every slot is taken, the result is
``unavailable`` with the reason (``meta["slots_exhausted"]`` is True in the last case);
a sample that fails after others succeeded makes the result ``partial``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, Any

import pandas as pd
import psycopg

from runbook_lib.collected import DEFAULT_TIMEOUT_S, Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import SourceDataError, SourceUnavailable
from runbook_lib.paths import resolve, run_dir
from runbook_lib.sources.pg import connect as pgconn

SOURCE = "postgres"
RECORDING_FILE = "pg_activity.jsonl"
#: Server-side cut of query text: enough to recognise a statement, small on the wire.
DEFAULT_QUERY_CHARS = 300
# What "show_full_queries" sends to left(): longer than any query worth reading.
_FULL_QUERY_CHARS = 1_000_000

ACTIVITY_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "pid": "Int64",
    "leader_pid": "Int64",
    "datname": "string",
    "usename": "string",
    "usesuper": "boolean",
    "application_name": "string",
    "client_addr": "string",
    "backend_type": "string",
    "state": "string",
    "wait_event_type": "string",
    "wait_event": "string",
    "backend_start_at": "datetime64[ns, UTC]",
    "xact_start_at": "datetime64[ns, UTC]",
    "query_start_at": "datetime64[ns, UTC]",
    "state_change_at": "datetime64[ns, UTC]",
    "query_id": "Int64",
    "query": "string",
    "blocked_by": "object",  # list[int] of pids from pg_blocking_pids(), None when not waiting
}

#: Server column -> frame column, where the frame renames (timestamps end in ``_at``).
_RENAMES = {
    "backend_start": "backend_start_at",
    "xact_start": "xact_start_at",
    "query_start": "query_start_at",
    "state_change": "state_change_at",
}
_TIME_COLUMNS = [c for c, t in ACTIVITY_SCHEMA.items() if t.startswith("datetime64")]
#: Minimum server_version_num -> query file; the newest one not above the server wins.
ACTIVITY_QUERIES: dict[int, str] = {
    120000: "pg_stat_activity_post_120000.sql",
    130000: "pg_stat_activity_post_130000.sql",
    140000: "pg_stat_activity_post_140000.sql",
}

_STRING_LITERAL = re.compile(r"[eEbBxXnN]?'(?:[^']|'')*'?")
_DOLLAR_LITERAL = re.compile(r"\$(?P<tag>[A-Za-z_]*)\$.*?(?:\$(?P=tag)\$|$)", re.DOTALL)
_NUMBER_LITERAL = re.compile(r"(?<![\w$.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\b")


def load_query(name: str) -> str:
    """The text of ``runbook_lib/queries/<name>``."""
    return resources.files("runbook_lib.sources.pg.queries").joinpath(name).read_text(encoding="utf-8")


def activity_query_for(server_version_num: int) -> str:
    """The query file name for a server version (12-17 supported; newer use the latest)."""
    eligible = [v for v in ACTIVITY_QUERIES if v <= server_version_num]
    if not eligible:
        raise SourceDataError(
            f"PostgreSQL {server_version_num} is older than 12, which this kit does not read",
            source=SOURCE,
        )
    return ACTIVITY_QUERIES[max(eligible)]


def mask_literals(query: str) -> str:
    """Replace string, dollar-quoted and numeric literals with ``?`` (they may hold secrets)."""
    masked = _DOLLAR_LITERAL.sub("?", query)
    masked = _STRING_LITERAL.sub("?", masked)
    return _NUMBER_LITERAL.sub("?", masked)


def read_limits(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Settings, per-role and per-database limits, as plain JSON-ready data."""
    with conn.cursor() as cur:
        cur.execute(load_query("settings.sql"))
        names = [d.name for d in cur.description or []]
        settings = dict(zip(names, cur.fetchone() or (), strict=True))
        settings["reserved_connections"] = settings.get("reserved_connections") or 0
        cur.execute(load_query("role_limits.sql"))
        roles = [{"rolname": n, "rolconnlimit": lim, "rolsuper": sup} for n, lim, sup in cur.fetchall()]
        cur.execute(load_query("database_limits.sql"))
        databases = [{"datname": n, "datconnlimit": lim} for n, lim in cur.fetchall()]
    settings["usable_connections"] = (
        settings["max_connections"] - settings["superuser_reserved_connections"] - settings["reserved_connections"]
    )
    return {"settings": settings, "role_limits": roles, "database_limits": databases}


def sample_activity(
    conn: psycopg.Connection[Any],
    query: str,
    *,
    show_full_queries: bool = False,
    query_chars: int = DEFAULT_QUERY_CHARS,
) -> list[dict[str, Any]]:
    """One pg_stat_activity sample as JSON-ready rows (ISO timestamps, frame column names)."""
    chars = _FULL_QUERY_CHARS if show_full_queries else query_chars
    with conn.cursor() as cur:
        cur.execute(query, {"query_chars": chars})
        names = [_RENAMES.get(d.name, d.name) for d in cur.description or []]
        rows = cur.fetchall()
    out = []
    for values in rows:
        row = dict(zip(names, values, strict=True))
        for col in _TIME_COLUMNS:
            if row[col] is not None:
                row[col] = row[col].isoformat()
        if row["query"] and not show_full_queries:
            row["query"] = mask_literals(row["query"])
        out.append(row)
    return out


def frame_from_rows(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Build the typed activity frame (:data:`ACTIVITY_SCHEMA`) from JSON-ready rows."""
    if not rows:
        return empty_frame(ACTIVITY_SCHEMA)
    frame = pd.DataFrame.from_records(list(rows))
    for col in _TIME_COLUMNS:
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], utc=True, format="ISO8601").astype("datetime64[ns, UTC]")
    if "blocked_by" not in frame.columns:
        frame["blocked_by"] = None
    frame["blocked_by"] = frame["blocked_by"].map(_pid_list).astype("object")
    for col in ("pid", "leader_pid", "query_id"):
        if col in frame.columns:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("Int64")
    if "usesuper" in frame.columns:
        frame["usesuper"] = frame["usesuper"].map(_boolish).astype("boolean")
    return conform(frame, ACTIVITY_SCHEMA)[list(ACTIVITY_SCHEMA)]


def collect_activity(
    pg_service: str = "",
    pg_dsn_env: str = "",
    *,
    duration_s: float = 0.0,
    interval_s: float = 5.0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    show_full_queries: bool = False,
    query_chars: int = DEFAULT_QUERY_CHARS,
    record_to: Path | None = None,
    from_recording: str = "",
) -> Collected:
    """Sample pg_stat_activity and the connection limits; never raises on a broken server.

    With *from_recording* (a path) nothing is sampled: that recording is read instead.

    ``meta`` holds ``settings`` (max_connections, superuser_reserved_connections,
    reserved_connections, usable_connections, server_version_num, own_pid),
    ``role_limits``, ``database_limits``, ``samples`` (count), ``recording`` (path) and
    ``slots_exhausted`` (True when the server refused us for lack of slots).
    *record_to* defaults to ``pg_activity.jsonl`` in the run folder.
    """
    if from_recording:
        return read_activity_recording(from_recording)
    target = pgconn.resolve_target(pg_service, pg_dsn_env)
    if target is None:
        return skipped(SOURCE, ACTIVITY_SCHEMA, "no pg_service or pg_dsn_env given")
    path = record_to if record_to is not None else run_dir("db_connections") / RECORDING_FILE

    def read() -> Collected:
        return _sample_into(target, path, duration_s, interval_s, timeout_s, show_full_queries, query_chars)

    result = guarded(SOURCE, target.label, ACTIVITY_SCHEMA, read)
    result.meta.setdefault("recording", str(path))
    result.meta["slots_exhausted"] = result.error is not None and result.error.code == "slots_exhausted"
    return result


def _sample_into(
    target: pgconn.PgTarget,
    path: Path,
    duration_s: float,
    interval_s: float,
    timeout_s: float,
    show_full_queries: bool,
    query_chars: int,
) -> Collected:
    samples: list[list[dict[str, Any]]] = []
    failure = ""
    with pgconn.connect(target, timeout_s=timeout_s, statement_timeout_s=timeout_s) as conn:
        try:
            limits = read_limits(conn)
            query = load_query(activity_query_for(int(limits["settings"]["server_version_num"])))
        except psycopg.Error as err:
            raise pgconn.map_error(err, target) from err
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as out:
            _append(out, {"type": "limits", "target": target.label, **limits})
            for _ in _ticks(duration_s, interval_s):
                try:
                    rows = sample_activity(conn, query, show_full_queries=show_full_queries, query_chars=query_chars)
                except psycopg.Error as err:
                    failure = str(pgconn.map_error(err, target))
                    if conn.closed or conn.broken:
                        break
                    continue
                samples.append(rows)
                _append(out, {"type": "sample", "rows": rows})
    if not samples:
        raise SourceUnavailable(failure or "no sample could be taken", source=SOURCE, target=target.label)
    frame = frame_from_rows([r for rows in samples for r in rows])
    result = Collected(
        SOURCE, target.label, frame, status="partial" if failure else "ok", reason=failure, lines_read=len(samples)
    )
    result.meta.update(limits, samples=len(samples), recording=str(path))
    return result


def _ticks(duration_s: float, interval_s: float) -> Iterator[int]:
    """Yield once per sample on a fixed schedule (no drift from the sampling time itself)."""
    start = time.monotonic()
    count = 1 if duration_s <= 0 else max(1, int(duration_s // max(interval_s, 0.05)) + 1)
    for i in range(count):
        delay = start + i * interval_s - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


def _append(out: IO[str], record: dict[str, Any]) -> None:
    out.write(json.dumps(record, default=str) + "\n")
    out.flush()


def read_activity_recording(path: str | Path) -> Collected:
    """Read a JSON-lines recording back into the activity frame (a cut last line is skipped)."""
    file = resolve(path)

    def read() -> Collected:
        result = Collected(SOURCE, str(file), empty_frame(ACTIVITY_SCHEMA))
        rows: list[dict[str, Any]] = []
        samples = 0
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as err:
            raise SourceUnavailable(str(err), source=SOURCE, target=str(file)) from err
        for line in lines:
            result.lines_read += 1
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                result.lines_skipped += 1
                result.add_sample(line)
                continue
            if record.get("type") == "limits":
                result.meta.update({k: v for k, v in record.items() if k != "type"})
            elif record.get("type") == "sample":
                rows.extend(record["rows"])
                samples += 1
        if samples == 0:
            raise SourceDataError("the recording holds no sample", source=SOURCE, target=str(file))
        result.frame = frame_from_rows(rows)
        result.meta.update(samples=samples, recording=str(file), slots_exhausted=False)
        result.status = "partial" if result.lines_skipped else "ok"
        if result.lines_skipped:
            result.reason = f"{result.lines_skipped} unreadable line(s), e.g. a cut last sample"
        return result

    return guarded(SOURCE, str(file), ACTIVITY_SCHEMA, read)


def read_activity_export(path: str | Path) -> Collected:
    """Load a psql export of pg_stat_activity (``\\copy … csv header`` or ``json_agg``).

    The export has no sample time, so ``sampled_at`` is the latest timestamp it holds.
    """
    file = resolve(path)

    def read() -> Collected:
        try:
            if file.suffix == ".json":
                raw = pd.DataFrame(json.loads(file.read_text(encoding="utf-8")), dtype=object)
            else:
                raw = pd.read_csv(file, dtype=str, keep_default_na=False, na_values=[""])
        except (OSError, ValueError) as err:
            raise SourceDataError(str(err), source=SOURCE, target=str(file)) from err
        raw = raw.astype(object).where(raw.notna(), None).rename(columns=_RENAMES)
        frame = frame_from_rows([{str(k): v for k, v in r.items()} for r in raw.to_dict("records")])
        frame["sampled_at"] = frame[_TIME_COLUMNS[1:]].max(axis=1).max()
        return Collected(SOURCE, str(file), frame, lines_read=len(frame), meta={"samples": 1, "slots_exhausted": False})

    return guarded(SOURCE, str(file), ACTIVITY_SCHEMA, read)


def _pid_list(value: object) -> list[int] | None:
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    if isinstance(value, str):
        value = [p for p in value.strip("{}[]").replace(" ", "").split(",") if p]
    return [int(p) for p in value]  # type: ignore[attr-defined]


def _boolish(value: object) -> bool | None:
    if isinstance(value, str):
        return value.strip().lower() in ("t", "true", "1", "on", "yes")
    if value is None or value is pd.NA or (isinstance(value, float) and pd.isna(value)):
        return None
    return bool(value)


__all__ = [
    "ACTIVITY_SCHEMA",
    "activity_query_for",
    "collect_activity",
    "frame_from_rows",
    "mask_literals",
    "read_activity_export",
    "read_activity_recording",
    "read_limits",
    "sample_activity",
]
