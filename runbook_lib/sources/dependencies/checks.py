"""Dependency health checks: HTTP endpoints, PostgreSQL, Redis and DNS, run concurrently.

Why: the first question after "what changed?" is "is something we depend on down?". Each
check answers in a bounded time and returns rows of one schema, so a down dependency is a
row of data (``ok=False``), not a broken source.

Frame schema (:data:`DEPENDENCY_SCHEMA`), one row per checked target::

    check       string               http | postgres | redis | dns
    target      string               what was checked, without credentials or query values
    ok          bool                 the dependency answered as a healthy one does
    status      string               "200", "refused", "timeout", "tls error", "PONG",
                                     "NXDOMAIN", "resolved", "auth failed", "config error", ...
    latency_s   float64              time until the answer (or until we gave up)
    detail      string               one line: the error or what the answer said
    checked_at  datetime64[ns, UTC]  when the check started

When a dependency is down the row says so; the checks themselves never raise on a broken
world. :func:`collect_dependencies` bounds the whole call to about ``timeout_s`` (plus a
short grace): a check still running then is reported as ``timeout`` and the result is
``partial``. Nothing configured gives a ``skipped`` result.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from runbook_lib.collected import DEFAULT_TIMEOUT_S, Collected, conform, empty_frame, skipped
from runbook_lib.errors import ParameterError
from runbook_lib.redact import redact
from runbook_lib.sources.dependencies.probes import (
    Row,
    probe_dns,
    probe_http,
    probe_postgres,
    probe_redis,
    redis_label,
    row,
    safe_url,
)

__all__ = [
    "DEPENDENCY_SCHEMA",
    "GRACE_S",
    "check_dns",
    "check_http",
    "check_postgres",
    "check_redis",
    "collect_dependencies",
    "dns_host",
    "safe_url",
    "split_list",
]

SOURCE = "dependencies"

DEPENDENCY_SCHEMA: dict[str, str] = {
    "check": "string",
    "target": "string",
    "ok": "bool",
    "status": "string",
    "latency_s": "float64",
    "detail": "string",
    "checked_at": "datetime64[ns, UTC]",
}

#: Extra time the whole collection may take beyond ``timeout_s`` (thread start-up, libpq's
#: whole-second connect_timeout rounding) before unfinished checks are reported as timeouts.
GRACE_S = 1.5
_UNFINISHED = "check did not finish"


@dataclass(frozen=True)
class _Task:
    check: str
    target: str
    run: Callable[[], Row]


# --------------------------------------------------------------------------- public checks
def check_http(urls: list[str] | str, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """GET each URL (a list or a comma-separated string); status code, latency, errors.

    HEAD is not used: many frameworks answer it differently from GET. The body is not read:
    latency is the time to the response headers.
    """
    _check_timeout(timeout_s)
    return _run(_http_tasks(urls, timeout_s), timeout_s + GRACE_S)


#: A Redis PING or a DNS lookup answers in milliseconds; two seconds is already a failure.
QUICK_TIMEOUT_S = 2.0


def check_postgres(pg_service: str = "", pg_dsn_env: str = "", *, timeout_s: float = DEFAULT_TIMEOUT_S) -> pd.DataFrame:
    """``SELECT 1`` on a read-only session with ``connect_timeout``; no row if not configured."""
    _check_timeout(timeout_s)
    return _run(_postgres_tasks(pg_service, pg_dsn_env, timeout_s), _pg_budget(timeout_s))


def check_redis(address: str = "", *, timeout_s: float = QUICK_TIMEOUT_S) -> pd.DataFrame:
    """PING a Redis at ``host:port`` or ``redis://[user:pass@]host:port/db`` (``rediss://`` = TLS).

    RESP over a plain socket: an error reply (``-NOAUTH``, ``-LOADING``…) is an answer.
    NOAUTH counts as ``ok`` (the server is alive and answering; our PING carried no password).
    """
    _check_timeout(timeout_s)
    return _run(_redis_tasks(address, timeout_s), timeout_s + GRACE_S)


def check_dns(names: list[str] | str, *, timeout_s: float = QUICK_TIMEOUT_S) -> pd.DataFrame:
    """Resolve each name with the system resolver (``getaddrinfo``) within ``timeout_s``.

    Names under ``.invalid`` are answered NXDOMAIN without asking the resolver (RFC 6761).
    """
    _check_timeout(timeout_s)
    return _run(_dns_tasks(names, timeout_s), timeout_s + GRACE_S)


def collect_dependencies(
    *,
    health_urls: list[str] | str = "",
    pg_service: str = "",
    pg_dsn_env: str = "",
    redis: str = "",
    dns_names: list[str] | str = "",
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Collected:
    """Run every configured check concurrently; the call returns within about ``timeout_s``.

    Status: ``skipped`` when nothing is configured; ``ok`` when every check ran (even if
    targets are down); ``partial`` when a check did not finish in time or its configuration
    is broken (e.g. ``pg_dsn_env`` names an unset variable).
    """
    _check_timeout(timeout_s)
    tasks = [
        *_http_tasks(health_urls, timeout_s),
        *_postgres_tasks(pg_service, pg_dsn_env, timeout_s),
        *_redis_tasks(redis, timeout_s),
        *_dns_tasks(dns_names, timeout_s),
    ]
    if not tasks:
        return skipped(SOURCE, DEPENDENCY_SCHEMA, "no dependencies configured")
    t0 = time.perf_counter()
    budget = _pg_budget(timeout_s) if any(t.check == "postgres" for t in tasks) else 0.0
    frame = _run(tasks, max(timeout_s + GRACE_S, budget))
    counts: dict[str, int] = {}
    for check in frame["check"]:
        counts[check] = counts.get(check, 0) + 1
    target = ", ".join(f"{c}×{n}" if n > 1 else c for c, n in counts.items())
    result = Collected(SOURCE, target, frame, lines_read=len(frame))
    result.meta["timeout_s"] = timeout_s
    unfinished = frame[frame["detail"].str.startswith(_UNFINISHED).fillna(False)]
    broken = frame[frame["status"] == "config error"]
    down = int((~frame["ok"]).sum())
    result.reason = f"{len(frame) - down} of {len(frame)} dependencies answered"
    if len(unfinished) or len(broken):
        result.status = "partial"
        named = ", ".join(f"{r.check} {r.target}" for r in pd.concat([unfinished, broken]).itertuples())
        result.reason += f"; could not check: {named}"
    result.elapsed_s = time.perf_counter() - t0
    return result


# --------------------------------------------------------------------------- task builders
def split_list(value: list[str] | str) -> list[str]:
    """A list parameter given as a list or a comma-separated string, blanks dropped."""
    items = value.split(",") if isinstance(value, str) else list(value)
    return [item.strip() for item in items if item and item.strip()]


def _http_tasks(urls: list[str] | str, timeout_s: float) -> list[_Task]:
    # "localhost:8080/health" is what people type: it means http://.
    full = [u if "://" in u else f"http://{u}" for u in split_list(urls)]
    return [_Task("http", safe_url(u), _bind(probe_http, u, timeout_s)) for u in full]


def _postgres_tasks(pg_service: str, pg_dsn_env: str, timeout_s: float) -> list[_Task]:
    if not (pg_service or "").strip() and not (pg_dsn_env or "").strip():
        return []  # before importing psycopg: most runs check no database
    from runbook_lib.sources.pg import connect as pgconn

    try:
        target = pgconn.resolve_target(pg_service, pg_dsn_env)
    except ParameterError as err:
        label = redact(f"service={pg_service}" if pg_service else f"env {pg_dsn_env}")
        broken = row("config error", False, 0.0, str(err))
        return [_Task("postgres", label, lambda: broken)]
    if target is None:
        return []
    return [_Task("postgres", target.label, _bind(probe_postgres, target, timeout_s))]


def _redis_tasks(address: str, timeout_s: float) -> list[_Task]:
    address = (address or "").strip()
    if not address:
        return []
    return [_Task("redis", redis_label(address), _bind(probe_redis, address, timeout_s))]


def _dns_tasks(names: list[str] | str, timeout_s: float) -> list[_Task]:
    hosts = [dns_host(n) for n in split_list(names)]
    return [_Task("dns", redact(h), _bind(probe_dns, h, timeout_s)) for h in hosts]


def dns_host(name: str) -> str:
    """The host name in a DNS parameter that may be a URL or ``host:port``."""
    if "://" in name:
        try:
            return urlsplit(name).hostname or name
        except ValueError:
            return name
    if name.startswith("[") and "]" in name:  # [::1]:80
        return name[1 : name.index("]")]
    host, sep, port = name.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else name


def _bind(fn: Callable[[Any, float], Row], arg: Any, timeout_s: float) -> Callable[[], Row]:
    return lambda: fn(arg, timeout_s)


def _check_timeout(timeout_s: float) -> None:
    if not (isinstance(timeout_s, int | float) and math.isfinite(timeout_s) and timeout_s > 0):
        raise ParameterError(f"must be a positive number of seconds, not {timeout_s!r}", key="timeout_s")


def _pg_budget(timeout_s: float) -> float:
    # libpq waits whole seconds, at least 2, per connection attempt.
    return max(2.0, math.ceil(timeout_s)) + GRACE_S


# --------------------------------------------------------------------------- running
def _run(tasks: Iterable[_Task], budget_s: float) -> pd.DataFrame:
    """Run tasks in daemon threads; a task still running after *budget_s* becomes a timeout.

    Daemon threads because a stuck ``getaddrinfo`` or socket cannot be cancelled: it must
    neither delay the answer nor keep the interpreter alive.
    """
    tasks = list(tasks)
    if not tasks:
        return empty_frame(DEPENDENCY_SCHEMA)
    results: list[Row | None] = [None] * len(tasks)
    errors: list[BaseException] = []
    started = pd.Timestamp.now(tz="UTC")

    def work(i: int, task: _Task) -> None:
        try:
            results[i] = task.run()
        except BaseException as err:  # re-raised in the caller: bugs must still crash
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i, t), daemon=True) for i, t in enumerate(tasks)]
    deadline = time.monotonic() + budget_s
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if errors:
        raise errors[0]
    rows = []
    for task, result in zip(tasks, results, strict=True):
        if result is None:
            result = row("timeout", False, budget_s, f"{_UNFINISHED} within {budget_s:g} s")
            result["checked_at"] = started
        rows.append({"check": task.check, "target": task.target, **result})
    return conform(pd.DataFrame(rows), DEPENDENCY_SCHEMA)
