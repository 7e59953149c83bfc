"""Findings for the database-connection flow: sentences that name the app, pid and numbers.

Input: the :class:`~runbook_lib.collected.Collected` from ``sources.postgres`` (its frame
and ``meta``). When that source could not be read, the answer is "unknown", except when
the server refused us because every slot is taken: that *is* the incident, and is stated
as a critical finding.

Severity ladder (volume and persistence: one report query running long, one psql left in a
transaction, one session waiting a moment on a row lock are ordinary life on a busy server):

===========================  =================================================================
finding                      severity: evidence
===========================  =================================================================
connections_exhausted        critical: the server refused us, every slot taken
connection_utilisation       critical: >= ``UTIL_CRITICAL_PCT`` (90 %) of usable slots in use
                             at the last sample; high: >= 75 %; medium: >= 50 %; info: below
connection_leak              critical: an app's idle connections grow so slots run out in
                             < ``LEAK_CRITICAL_MIN`` (15) minutes; high: growing, later
long_running_queries         high: >= ``LISTING_HIGH_SESSIONS`` (3) queries over the threshold
idle_in_transaction          (300 s / 60 s), or the longest over ``LISTING_HIGH_FACTOR`` (10)x
                             the threshold; medium: one or two, not that old
idle_terminate_candidates    medium: connections idle longer than ``idle_s`` (terminate them)
blocking_chain               high: a root blocks >= ``BLOCKED_HIGH_SESSIONS`` (2) sessions, or
                             one waits >= ``BLOCK_WAIT_HIGH_S`` (60 s); medium: one session
                             waiting briefly (lock contention)
connection_limit_pressure    high: a role or database at 100 % of its CONNECTION LIMIT;
                             medium: near it
===========================  =================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from runbook_lib.analysis import connections as cx
from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

KIND = "db_connections"
#: Share of usable slots in use (last sample) from which utilisation is critical/high/medium.
UTIL_CRITICAL_PCT, UTIL_HIGH_PCT, UTIL_MEDIUM_PCT = 90.0, 75.0, 50.0
#: Minutes to exhaustion below which a leak is critical.
LEAK_CRITICAL_MIN = 15.0
#: Sessions over the threshold from which long queries / idle transactions are high.
LISTING_HIGH_SESSIONS = 3
#: A session this many times past its threshold is high on its own (a 50-min query).
LISTING_HIGH_FACTOR = 10.0
#: Sessions blocked by one root, or the longest wait, from which a chain is high.
BLOCKED_HIGH_SESSIONS = 2
BLOCK_WAIT_HIGH_S = 60.0


def _pids(frame: pd.DataFrame, limit: int = 8) -> str:
    pids = [f"{int(p)}" for p in frame["pid"].head(limit)]
    more = f" and {len(frame) - limit} more" if len(frame) > limit else ""
    return ", ".join(pids) + more


def _apps(frame: pd.DataFrame) -> str:
    names = cx._label(frame["application_name"]).value_counts()
    return ", ".join(f"`{name}` ({count})" for name, count in names.head(4).items())


def _age_text(seconds: float) -> str:
    return f"{seconds / 60:g} min" if seconds >= 60 else f"{seconds:g} s"


def _minutes_text(minutes: float) -> str:
    if not np.isfinite(minutes):
        return "not at this rate"
    if minutes <= 0:
        return "already"
    return f"in ~{minutes:.0f} min" if minutes >= 1 else f"in ~{minutes * 60:.0f} s"


def find_connection_findings(
    activity: Collected,
    *,
    long_query_s: float = 300.0,
    idle_in_transaction_s: float = 60.0,
    idle_s: float = cx.IDLE_TERMINATE_S,
) -> list[Finding]:
    """Every connection finding: exhaustion, utilisation, leaks, long queries, idle, locks."""
    if not activity.usable:
        if activity.meta.get("slots_exhausted"):
            return [
                Finding(
                    "connections_exhausted",
                    "critical",
                    f"PostgreSQL ({activity.target}) refuses new connections: every slot is "
                    "taken, so pg_stat_activity could not be read; see the server log evidence.",
                    numbers={"refused": True},
                    evidence=[f"source:{activity.source}", activity.reason],
                )
            ]
        return [unknown(KIND, activity, "how the database's connection slots are used")]
    frame, meta = activity.frame, activity.meta
    settings: dict[str, Any] = dict(meta.get("settings") or {})
    found = [_utilisation(frame, settings, idle_s)]
    found += _leaks(frame, settings, idle_s)
    found += _long_running(cx.detect_long_running(frame, threshold_s=long_query_s), long_query_s)
    found += _idle_in_tx(cx.detect_idle_in_transaction(frame, threshold_s=idle_in_transaction_s), idle_in_transaction_s)
    found += _idle(cx.detect_idle_candidates(frame, min_idle_s=idle_s), idle_s)
    found += _blocking(cx.detect_blocking_tree(frame))
    found += _limits(cx.detect_limit_pressure(frame, meta))
    return found


def _utilisation(frame: pd.DataFrame, settings: dict[str, Any], idle_s: float) -> Finding:
    util = cx.detect_utilisation(frame, settings)
    last = util.iloc[-1]
    pct = float(last["utilisation_pct"])
    severity: Severity = (
        "critical"
        if pct >= UTIL_CRITICAL_PCT
        else "high"
        if pct >= UTIL_HIGH_PCT
        else "medium"
        if pct >= UTIL_MEDIUM_PCT
        else "info"
    )
    top = cx.breakdown(frame, "application_name").head(1)
    holder = ""
    if not top.empty:
        app = top.iloc[0]["application_name"]
        old = cx.detect_idle_candidates(frame, min_idle_s=idle_s)
        n_old = int((cx._label(old["application_name"]) == app).sum())
        holder = f"; app `{app}` holds {int(top.iloc[0]['connections'])}"
        if n_old:
            holder += f", {n_old} idle > {_age_text(idle_s)}"
    return Finding(
        "connection_utilisation",
        severity,
        f"{int(last['connections'])} of {int(last['usable_connections'])} usable connection "
        f"slots in use ({pct:.0f}%, max_connections {int(last['max_connections'])}){holder}.",
        numbers={
            "connections": int(last["connections"]),
            "usable_connections": int(last["usable_connections"]),
            "max_connections": int(last["max_connections"]),
            "utilisation_pct": pct,
            "peak_utilisation_pct": float(util["utilisation_pct"].max()),
            "samples": len(util),
        },
        evidence=["source:postgres"],
    )


def _leaks(frame: pd.DataFrame, settings: dict[str, Any], idle_s: float) -> list[Finding]:
    leaks = cx.detect_leaks(frame, settings)
    usable = int(settings.get("usable_connections") or 0)
    old = cx.detect_idle_candidates(frame, min_idle_s=idle_s)
    out = []
    for row in leaks[leaks["leak_suspected"]].to_dict("records"):
        app = str(row["application_name"])
        n_old = int((cx._label(old["application_name"]) == app).sum())
        minutes = float(row["projected_exhaustion_min"])
        severity: Severity = "critical" if np.isfinite(minutes) and minutes < LEAK_CRITICAL_MIN else "high"
        out.append(
            Finding(
                "connection_leak",
                severity,
                f"app `{app}` holds {row['connections']} of {usable} usable slots, {n_old} idle > "
                f"{_age_text(idle_s)}, growing {row['idle_per_min']:.1f}/min: connection leak likely; "
                f"slots exhausted {_minutes_text(minutes)}.",
                numbers={
                    "application_name": app,
                    "connections": int(row["connections"]),
                    "idle": int(row["idle"]),
                    "idle_per_min": float(row["idle_per_min"]),
                    "active_per_min": float(row["active_per_min"]),
                    "projected_exhaustion_min": minutes,
                    "usable_connections": usable,
                },
                evidence=["source:postgres", f"application_name:{app}"],
            )
        )
    return out


def _listing(
    kind: str, rows: pd.DataFrame, age: str, what: str, severity: Severity, numbers_extra: dict[str, Any] | None = None
) -> list[Finding]:
    if rows.empty:
        return []
    worst = rows.iloc[0]
    return [
        Finding(
            kind,
            severity,
            f"{len(rows)} {what}: pid {_pids(rows)} (apps {_apps(rows)}); longest pid "
            f"{int(worst['pid'])} at {float(worst[age]):.0f} s.",
            numbers={
                "count": len(rows),
                "pids": [int(p) for p in rows["pid"]],
                "applications": sorted(set(cx._label(rows["application_name"]))),
                f"max_{age}": float(worst[age]),
                **(numbers_extra or {}),
            },
            evidence=["source:postgres"] + [f"pid:{int(p)}" for p in rows["pid"].head(20)],
        )
    ]


def _by_volume(rows: pd.DataFrame, age: str, threshold_s: float) -> Severity:
    """High for several sessions or one far past its threshold; one or two: medium."""
    if rows.empty:
        return "info"
    oldest = float(rows[age].max())
    many = len(rows) >= LISTING_HIGH_SESSIONS
    return "high" if many or oldest >= LISTING_HIGH_FACTOR * threshold_s else "medium"


def _long_running(rows: pd.DataFrame, threshold_s: float) -> list[Finding]:
    return _listing(
        "long_running_queries",
        rows,
        "age_s",
        f"queries running longer than {threshold_s:g} s",
        _by_volume(rows, "age_s", threshold_s),
    )


def _idle_in_tx(rows: pd.DataFrame, threshold_s: float) -> list[Finding]:
    return _listing(
        "idle_in_transaction",
        rows,
        "idle_s",
        f"sessions idle in transaction for more than {threshold_s:g} s",
        _by_volume(rows, "idle_s", threshold_s),
    )


def _idle(rows: pd.DataFrame, idle_s: float) -> list[Finding]:
    return _listing(
        "idle_terminate_candidates",
        rows,
        "idle_s",
        f"connections idle longer than {idle_s:g} s (terminate candidates)",
        "medium",
    )


def _blocking(tree: pd.DataFrame) -> list[Finding]:
    out = []
    for root_key, chain in tree.groupby("root_pid", sort=False):
        root = int(str(root_key))
        head = chain.iloc[0]
        blocked = chain[chain["depth"] > 0].drop_duplicates("pid")
        edges = [[int(b), int(p)] for p, bs in zip(chain["pid"], chain["blocked_by"], strict=True) for b in bs]
        longest = float(blocked["wait_s"].max()) if blocked["wait_s"].notna().any() else np.nan
        wide = len(blocked) >= BLOCKED_HIGH_SESSIONS
        out.append(
            Finding(
                "blocking_chain",
                "high" if wide or (np.isfinite(longest) and longest >= BLOCK_WAIT_HIGH_S) else "medium",
                f"pid {root} (`{head['application_name']}`, {head['state']}) blocks "
                f"{len(blocked)} session(s): pid {_pids(blocked)}; chain depth "
                f"{int(chain['depth'].max())}, longest wait {longest:.0f} s.",
                numbers={
                    "root_pid": root,
                    "blocked_pids": [int(p) for p in blocked["pid"]],
                    "depth": int(chain["depth"].max()),
                    "longest_wait_s": longest,
                    "edges": sorted(map(list, {tuple(e) for e in edges})),
                },
                evidence=["source:postgres", f"pid:{root}"],
            )
        )
    return out


def _limits(rows: pd.DataFrame) -> Sequence[Finding]:
    return [
        Finding(
            "connection_limit_pressure",
            "high" if row["used_pct"] >= 100 else "medium",
            f"{row['kind']} `{row['name']}` uses {row['connections']} of its {row['limit']} "
            f"connection limit ({row['used_pct']:.0f}%).",
            numbers={
                "kind": row["kind"],
                "name": row["name"],
                "connections": int(row["connections"]),
                "limit": int(row["limit"]),
            },
            evidence=["source:postgres"],
        )
        for row in rows.to_dict("records")
    ]


def connection_next_steps(findings: Sequence[Finding]) -> list[str]:
    """The runbook's resolution steps that the findings call for, most urgent first."""
    kinds = {f.kind for f in findings}
    steps = []
    if kinds & {"connections_exhausted", "connection_leak", "pg_log_too_many_connections"}:
        steps.append(
            "Immediate: terminate idle connections older than 10 minutes from the "
            "leaking application (rerun with remediate=True and terminate_application)."
        )
        steps.append(
            "Short-term: restart the application to reset its connection pool, then "
            "find where it checks connections out without returning them."
        )
    if "pg_log_deadlock" in kinds:
        steps.append(
            "Deadlocks: make the application take its row locks in one consistent "
            "order (see the DETAIL lines of the deadlock reports)."
        )
    if "blocking_chain" in kinds:
        steps.append(
            "Terminate the blocking pid if its transaction cannot finish (terminate_pids=<root pid>, remediate=True)."
        )
    if kinds & {"long_running_queries", "idle_in_transaction", "pg_log_statement_timeout", "pg_log_slow_query"}:
        steps.append(
            "Set statement_timeout / idle_in_transaction_session_timeout for the "
            "application role; review the long-running queries' plans."
        )
    if kinds & {"connection_utilisation", "connections_exhausted"}:
        steps.append("Medium-term: put a pooler (PgBouncer) in front, or raise max_connections with memory to match.")
    if "db_connections" in kinds:
        steps.append(
            "Sample the live server (pg_service or pg_dsn_env) to see who holds the "
            "slots; if it refuses connections, use a superuser reserved slot."
        )
    if not steps or all(f.severity in ("info", "unknown") for f in findings):
        steps.append("Check the application's DB health endpoint and connection pool metrics.")
    return steps
