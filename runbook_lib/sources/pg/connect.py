"""Opening a PostgreSQL session the safe way, shared by every flow that reads the database.

Secrets are never parameters: a flow names a libpq service (``pg_service``, resolved by
libpq from ``pg_service.conf``) or the *name* of an environment variable holding a DSN
(``pg_dsn_env``); passwords then come from the DSN, ``PGPASSWORD`` or ``.pgpass``.

Every session we open is read-only (``default_transaction_read_only``), autocommit (we
never sit idle in transaction on a server that is already in trouble), has a
``connect_timeout`` and a ``statement_timeout``, and names itself with
``application_name`` so it is visible, and excludable, in ``pg_stat_activity``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from runbook_lib.collected import DEFAULT_TIMEOUT_S
from runbook_lib.errors import ParameterError, SourceError
from runbook_lib.sources.driver_errors import from_psycopg

#: What our own sessions call themselves in pg_stat_activity.
APPLICATION_NAME = "runbook-kit"
# libpq rounds connect_timeout to whole seconds and treats < 2 as 2.
_MIN_CONNECT_TIMEOUT_S = 2


@dataclass(frozen=True)
class PgTarget:
    """Where to connect: the conninfo (may hold a password: never print it) and a safe label."""

    conninfo: str
    label: str


def describe(conninfo: str) -> str:
    """A printable label for a conninfo: host, port, dbname, user, service; never the password."""
    try:
        parts = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "(unparsable DSN)"
    keys = ("service", "host", "hostaddr", "port", "dbname", "user")
    return " ".join(f"{k}={parts[k]}" for k in keys if parts.get(k)) or "(libpq defaults)"


def resolve_target(pg_service: str = "", pg_dsn_env: str = "") -> PgTarget | None:
    """Turn the ``pg_service`` / ``pg_dsn_env`` parameters into a target; None if neither is set.

    Raises :class:`ParameterError` when both are set, or when the env var is empty/unset.
    """
    service, env_name = (pg_service or "").strip(), (pg_dsn_env or "").strip()
    if service and env_name:
        raise ParameterError("give pg_service or pg_dsn_env, not both", key="pg_service")
    if service:
        if "=" in service or "://" in service:
            raise ParameterError(
                "pg_service is a libpq service name, not a DSN (put DSNs in an env var "
                "and pass its name as pg_dsn_env)",
                key="pg_service",
            )
        conninfo = make_conninfo(service=service)
        return PgTarget(conninfo, describe(conninfo))
    if env_name:
        dsn = os.environ.get(env_name, "")
        if not dsn:
            raise ParameterError(f"environment variable {env_name} is not set or empty", key="pg_dsn_env")
        return PgTarget(dsn, describe(dsn))
    return None


def connect(
    target: PgTarget,
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    statement_timeout_s: float = DEFAULT_TIMEOUT_S,
    application_name: str = APPLICATION_NAME,
    read_only: bool = True,
) -> psycopg.Connection[tuple[object, ...]]:
    """Open an autocommit session with timeouts; map driver failures to SourceError.

    ``read_only=False`` is only for opt-in remediation (``pg_terminate_backend`` runs in a
    read-only transaction too, but callers may want to be explicit).
    """
    options = f"-c statement_timeout={int(statement_timeout_s * 1000)}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    try:
        conn = psycopg.connect(
            target.conninfo,
            autocommit=True,
            connect_timeout=max(_MIN_CONNECT_TIMEOUT_S, math.ceil(timeout_s)),
            application_name=application_name,
            options=options,
        )
    except psycopg.OperationalError as err:
        raise map_error(err, target) from err
    return conn


def map_error(err: psycopg.Error, target: PgTarget) -> SourceError:
    """Map a psycopg error to our tree (by SQLSTATE first; see :mod:`..driver_errors`)."""
    return from_psycopg(err, target=target.label)
