"""Opt-in remediation for Incident 3: terminate idle (or blocking) PostgreSQL backends.

The runbook's "kill idle connections older than 10 minutes" and "terminate a blocking
pid". By default this is a **dry run**: it lists, from the live server, the exact pids the
SQL would touch and shows that SQL, rendered with its literals. Only with
``remediate=True`` *and* a filter (``application_name``, ``usename``, explicit ``pids`` or
a minimum idle age) does it call ``pg_terminate_backend``, and then only on the pids the
listing just showed that still match the filter (no surprise pid from a race).

Never touched, whatever the filter: our own backend and every ``runbook-kit`` session,
anything that is not a ``client backend`` (WAL senders, autovacuum, background and
parallel workers), and superuser-owned sessions unless ``include_superusers=True``.

Everything is returned as data (:class:`RemedyResult`): the notebook puts
``result.to_dict()`` into findings.json ``extra`` and ``result.timeline_entry()`` into the
incident timeline. A server that cannot be reached is recorded in ``error``, not raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from runbook_lib.collected import DEFAULT_TIMEOUT_S
from runbook_lib.errors import ParameterError, SourceError
from runbook_lib.findings import jsonable
from runbook_lib.incident.record import record_remediation
from runbook_lib.redact import redact
from runbook_lib.sources.pg import connect as pgconn
from runbook_lib.timewindow import utc_now

CANDIDATE_COLUMNS = [
    "pid",
    "application_name",
    "usename",
    "datname",
    "client_addr",
    "state",
    "idle_s",
    "usesuper",
    "query",
]

_SELECT = """SELECT a.pid, a.application_name, a.usename, a.datname, host(a.client_addr),
       a.state, extract(epoch FROM clock_timestamp() - a.state_change)::float8 AS idle_s,
       coalesce(r.rolsuper, false), left(a.query, 200)"""
_FROM = """
FROM pg_stat_activity a
LEFT JOIN pg_roles r ON r.oid = a.usesysid
WHERE a.backend_type = 'client backend'
  AND a.pid <> pg_backend_pid()
  AND a.application_name <> {kit}"""


@dataclass
class RemedyResult:
    """What a remediation would do (dry run) or did: SQL, candidates, outcome."""

    action: str
    dry_run: bool
    sql: str
    filters: dict[str, Any]
    candidates: pd.DataFrame
    terminated: list[int] = field(default_factory=list)
    not_terminated: list[int] = field(default_factory=list)
    error: str = ""
    at: pd.Timestamp = field(default_factory=utc_now)
    #: In a dry run, the statement a confirmed run would execute for these candidates.
    would_run: str = ""

    @property
    def pids(self) -> list[int]:
        return [int(p) for p in self.candidates["pid"]]

    def summary(self) -> str:
        if self.error:
            return f"{self.action}: not done: {self.error}"
        if self.dry_run:
            return f"dry run: {self.action} would terminate {len(self.pids)} backend(s): pids {self.pids}"
        return f"{self.action}: terminated {len(self.terminated)} backend(s): pids {self.terminated}" + (
            f"; not terminated {self.not_terminated}" if self.not_terminated else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, for findings.json ``extra``."""
        record: dict[str, Any] = jsonable(
            {
                "action": self.action,
                "dry_run": self.dry_run,
                "sql": self.sql,
                "would_run": self.would_run,
                "filters": self.filters,
                "candidates": self.candidates.to_dict("records"),
                "terminated": self.terminated,
                "not_terminated": self.not_terminated,
                "error": self.error,
                "at": self.at,
                "summary": self.summary(),
            }
        )
        return record

    def timeline_entry(self) -> dict[str, Any]:
        """One event for the incident timeline."""
        return {
            "at": self.at.isoformat(),
            "kind": "remediation" if not self.dry_run else "remediation_dry_run",
            "summary": self.summary(),
        }


def build_filter(
    *,
    application_name: str = "",
    usename: str = "",
    state: str = "idle",
    min_idle_s: float = 600.0,
    pids: Sequence[int] = (),
    include_superusers: bool = False,
) -> sql.Composed:
    """The FROM/WHERE clause (with literals) shared by the listing and the action."""
    parts: list[sql.Composable] = [sql.SQL(_FROM).format(kit=sql.Literal(pgconn.APPLICATION_NAME))]
    if not include_superusers:
        parts.append(sql.SQL("\n  AND NOT coalesce(r.rolsuper, false)"))
    if state:
        parts.append(sql.SQL("\n  AND a.state = {}").format(sql.Literal(state)))
    if min_idle_s > 0:
        parts.append(
            sql.SQL("\n  AND a.state_change < clock_timestamp() - make_interval(secs => {})").format(
                sql.Literal(float(min_idle_s))
            )
        )
    if application_name:
        parts.append(sql.SQL("\n  AND a.application_name = {}").format(sql.Literal(application_name)))
    if usename:
        parts.append(sql.SQL("\n  AND a.usename = {}").format(sql.Literal(usename)))
    if pids:
        parts.append(sql.SQL("\n  AND a.pid = ANY({})").format(sql.Literal([int(p) for p in pids])))
    return sql.Composed(parts)


def terminate_backends(
    pg_service: str = "",
    pg_dsn_env: str = "",
    *,
    application_name: str = "",
    usename: str = "",
    state: str = "idle",
    min_idle_s: float = 600.0,
    pids: Sequence[int] = (),
    include_superusers: bool = False,
    remediate: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> RemedyResult:
    """List (dry run) or terminate the client backends matching the filter.

    To terminate a blocking pid: ``pids=[pid], state="", min_idle_s=0``.
    Raises :class:`ParameterError` when ``remediate=True`` comes without any filter.
    """
    filters = {
        "application_name": application_name,
        "usename": usename,
        "state": state,
        "min_idle_s": min_idle_s,
        "pids": [int(p) for p in pids],
        "include_superusers": include_superusers,
    }
    if remediate and not (application_name or usename or pids or min_idle_s > 0):
        raise ParameterError(
            "remediate=True needs a filter: application_name, usename, pids or a minimum idle age", key="remediate"
        )
    where = build_filter(
        application_name=application_name,
        usename=usename,
        state=state,
        min_idle_s=min_idle_s,
        pids=pids,
        include_superusers=include_superusers,
    )
    listing = sql.Composed([sql.SQL(_SELECT), where, sql.SQL("\nORDER BY a.pid")])
    result = RemedyResult("terminate_backends", not remediate, "", filters, pd.DataFrame(columns=CANDIDATE_COLUMNS))
    target = pgconn.resolve_target(pg_service, pg_dsn_env)
    if target is None:
        result.sql = _render(listing)
        result.error = "no pg_service or pg_dsn_env given"
        return result
    try:
        with pgconn.connect(target, timeout_s=timeout_s, statement_timeout_s=timeout_s) as conn:
            result.sql = listing.as_string(conn)
            rows = conn.execute(listing).fetchall()
            result.candidates = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
            action = sql.Composed(
                [
                    sql.SQL("SELECT a.pid, pg_terminate_backend(a.pid)"),
                    where,
                    sql.SQL("\n  AND a.pid = ANY({})").format(sql.Literal(result.pids)),
                ]
            )
            if not remediate and rows:
                result.would_run = action.as_string(conn)  # shown before anyone confirms
            if remediate and rows:
                result.sql = action.as_string(conn)
                done = conn.execute(action).fetchall()
                result.terminated = sorted(int(str(row[0])) for row in done if row[1])
                result.not_terminated = sorted(set(result.pids) - set(result.terminated))
    except SourceError as err:
        result.error = str(err)
        result.sql = result.sql or _render(listing)
    except psycopg.Error as err:
        result.error = str(pgconn.map_error(err, target))
    result.error = redact(result.error)
    return result


def parse_pids(text: str | Sequence[int]) -> list[int]:
    """Pids from a parameter: ``"123, 456"`` or a list."""
    if isinstance(text, str):
        return [int(p) for p in text.replace(",", " ").split()]
    return [int(p) for p in text]


def remediate_connections(
    pg_service: str = "",
    pg_dsn_env: str = "",
    *,
    application_name: str = "",
    usename: str = "",
    pids: str | Sequence[int] = "",
    min_idle_s: float = 600.0,
    remediate: bool = False,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    incident_id: str = "",
) -> RemedyResult:
    """The flow's remediation step: blocking *pids* (any state) or idle sessions.

    With *pids*, those backends are the target whatever their state (the runbook's
    "terminate a blocking pid"); otherwise idle sessions older than *min_idle_s*, narrowed
    by *application_name* / *usename*. A real run is added to the incident timeline when
    *incident_id* names an existing incident.
    """
    chosen = parse_pids(pids)
    result = terminate_backends(
        pg_service,
        pg_dsn_env,
        application_name=application_name,
        usename=usename,
        state="" if chosen else "idle",
        min_idle_s=0.0 if chosen else min_idle_s,
        pids=chosen,
        remediate=remediate,
        timeout_s=timeout_s,
    )
    if incident_id and not result.dry_run:
        record_in_timeline(incident_id, result)
    return result


def record_in_timeline(incident_id: str, result: RemedyResult) -> bool:
    """Append *result* to the incident timeline; False when the incident has no record."""

    return record_remediation(
        incident_id,
        result.timeline_entry()["summary"],
        sql=result.sql,
        terminated=result.terminated,
        error=result.error,
    )


def _render(query: sql.Composed) -> str:
    """SQL text without a server (literals quoted the standard way)."""
    return query.as_string()
