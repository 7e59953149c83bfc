"""Who holds the database's connection slots, who is growing, who blocks whom.

Pure functions over the activity frame of :mod:`runbook_lib.sources.pg.activity`
(``ACTIVITY_SCHEMA``: one row per backend per ``sampled_at``) and the limits it records in
``Collected.meta["settings"]`` (``max_connections``, ``usable_connections``…). Only
``client backend`` rows use ``max_connections`` slots (autovacuum, WAL senders and
background workers have their own pools), so every count here is over client backends;
the kit's own session is already excluded by the source. Ages are measured against the
sample time, not the clock, so a recording analysed later gives the same answers.

Findings live in :mod:`runbook_lib.analysis.connection_findings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

CLIENT_BACKEND = "client backend"
IDLE_IN_TX = ("idle in transaction", "idle in transaction (aborted)")
#: The runbook's "idle connections older than 10 minutes".
IDLE_TERMINATE_S = 600.0
NONE_LABEL = "(none)"
# Non-breaking, so the tree keeps its shape in an HTML table (which collapses spaces).
_INDENT = "\u00a0" * 4
STATE_COLUMNS = ["active", "idle", "idle_in_transaction", "other"]

UTILISATION_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "connections": "int64",
    **{state: "int64" for state in STATE_COLUMNS},
    "usable_connections": "int64",
    "max_connections": "int64",
    "utilisation_pct": "float64",
}


def client_backends(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows that occupy ``max_connections`` slots (a missing backend_type counts too)."""
    kind = frame["backend_type"]
    return frame[kind.isna() | (kind == CLIENT_BACKEND)]


def _state_group(state: pd.Series) -> pd.Series:
    group = state.astype("object").map(
        {"active": "active", "idle": "idle", **{s: "idle_in_transaction" for s in IDLE_IN_TX}}
    )
    return group.fillna("other")


def _label(series: pd.Series) -> pd.Series:
    return series.astype("object").where(series.notna() & (series != ""), NONE_LABEL)


def detect_utilisation(frame: pd.DataFrame, settings: Mapping[str, Any]) -> pd.DataFrame:
    """Per sample: client connections by state and % of the slots ordinary roles can use.

    Out: :data:`UTILISATION_SCHEMA`. Superusers may also use the reserved slots, so the
    percentage can pass 100.
    """
    clients = client_backends(frame)
    counts = (
        clients.assign(group=_state_group(clients["state"]))
        .pivot_table(index="sampled_at", columns="group", values="pid", aggfunc="count", fill_value=0)
        .reindex(columns=STATE_COLUMNS, fill_value=0)
    )
    samples = pd.Index(frame["sampled_at"].drop_duplicates().sort_values(), name="sampled_at")
    out = counts.reindex(samples, fill_value=0).astype("int64").reset_index()
    out.columns.name = None
    out.insert(1, "connections", out[STATE_COLUMNS].sum(axis=1).astype("int64"))
    usable = int(settings.get("usable_connections") or 0)
    out["usable_connections"] = usable
    out["max_connections"] = int(settings.get("max_connections") or 0)
    out["utilisation_pct"] = (100.0 * out["connections"] / usable) if usable else np.nan
    typed: pd.DataFrame = out[list(UTILISATION_SCHEMA)].astype(UTILISATION_SCHEMA)
    return typed


def count_by(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """Client connections per sample and value of *key* (wide: one column per value)."""
    clients = client_backends(frame)
    wide = clients.assign(_key=_label(clients[key])).pivot_table(
        index="sampled_at", columns="_key", values="pid", aggfunc="count", fill_value=0
    )
    samples = pd.Index(frame["sampled_at"].drop_duplicates().sort_values(), name="sampled_at")
    wide = wide.reindex(samples, fill_value=0).astype("int64")
    wide.columns.name = key
    return wide


def breakdown(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The latest sample by *key*: connections by state and growth since the first sample.

    Out columns: *key*, connections, active, idle, idle_in_transaction, other, growth.
    """
    clients = client_backends(frame)
    if clients.empty:
        return pd.DataFrame(columns=[key, "connections", *STATE_COLUMNS, "growth"])
    last = clients[clients["sampled_at"] == frame["sampled_at"].max()]
    table = (
        last.assign(_key=_label(last[key]), group=_state_group(last["state"]))
        .pivot_table(index="_key", columns="group", values="pid", aggfunc="count", fill_value=0)
        .reindex(columns=STATE_COLUMNS, fill_value=0)
    )
    table.insert(0, "connections", table.sum(axis=1))
    series = count_by(frame, key)
    growth = series.iloc[-1] - series.iloc[0]
    table["growth"] = growth.reindex(table.index).fillna(0).astype("int64")
    table.columns.name = None
    out: pd.DataFrame = (
        table.rename_axis(key)
        .reset_index()
        .sort_values(["connections", key], ascending=[False, True], ignore_index=True)
    )
    return out


def rank_growth(frame: pd.DataFrame, key: str = "application_name", *, top: int = 5) -> pd.DataFrame:
    """The *key* values whose connection count grew most across the samples.

    Out: *key*, first, last, peak, growth, growth_per_min (least-squares slope).
    """
    series = count_by(frame, key)
    minutes = _minutes(series.index)
    rows = [
        {
            key: name,
            "first": int(col.iloc[0]),
            "last": int(col.iloc[-1]),
            "peak": int(col.max()),
            "growth": int(col.iloc[-1] - col.iloc[0]),
            "growth_per_min": _slope(minutes, col),
        }
        for name, col in series.items()
    ]
    out = pd.DataFrame(rows, columns=[key, "first", "last", "peak", "growth", "growth_per_min"])
    ranked: pd.DataFrame = out.sort_values(["growth_per_min", "last"], ascending=False, ignore_index=True)
    return ranked.head(top)


def _minutes(index: pd.Index) -> np.ndarray:
    times = pd.DatetimeIndex(index)
    if len(times) == 0:
        return np.array([], dtype=float)
    return np.asarray((times - times[0]).total_seconds(), dtype=float) / 60.0


def _slope(minutes: np.ndarray, values: pd.Series) -> float:
    if len(minutes) < 2 or minutes[-1] <= 0:
        return 0.0
    return float(np.polyfit(minutes, values.to_numpy(dtype=float), 1)[0])


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """Client backends in the most recent sample."""
    clients = client_backends(frame)
    last: pd.DataFrame = clients[clients["sampled_at"] == clients["sampled_at"].max()]
    return last


_DETAIL = ["pid", "application_name", "usename", "datname", "client_addr", "state", "wait_event_type", "wait_event"]


def _aged(rows: pd.DataFrame, since: str, name: str, threshold_s: float, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    age = (rows["sampled_at"] - rows[since]).dt.total_seconds()
    out = rows.assign(**{name: age})[[*_DETAIL, name, *extra, "query"]]
    return out[out[name] > threshold_s].sort_values(name, ascending=False, ignore_index=True)


def detect_long_running(frame: pd.DataFrame, *, threshold_s: float = 300.0) -> pd.DataFrame:
    """Active queries in the latest sample that started more than *threshold_s* ago (``age_s``)."""
    last = latest(frame)
    return _aged(last[last["state"] == "active"], "query_start_at", "age_s", threshold_s)


def detect_idle_in_transaction(frame: pd.DataFrame, *, threshold_s: float = 60.0) -> pd.DataFrame:
    """Sessions idle inside an open transaction for more than *threshold_s* (``idle_s``)."""
    last = latest(frame)
    in_tx = last[last["state"].isin(IDLE_IN_TX)]
    xact_age = (in_tx["sampled_at"] - in_tx["xact_start_at"]).dt.total_seconds()
    in_tx = in_tx.assign(xact_age_s=xact_age)
    return _aged(in_tx, "state_change_at", "idle_s", threshold_s, ("xact_age_s",))


def detect_idle_candidates(frame: pd.DataFrame, *, min_idle_s: float = IDLE_TERMINATE_S) -> pd.DataFrame:
    """Idle sessions older than *min_idle_s*: the runbook's terminate candidates (``idle_s``)."""
    last = latest(frame)
    return _aged(last[last["state"] == "idle"], "state_change_at", "idle_s", min_idle_s)


def detect_blocking_tree(frame: pd.DataFrame) -> pd.DataFrame:
    """Who blocks whom in the latest sample, as a depth-first tree.

    Out: root_pid, pid, depth (0 = the root blocker), blocked_by (list), tree (an indented
    label), application_name, usename, state, wait_s (how long this backend has been in
    its state; for a root, how long its transaction is open), blocked_count (pids below
    it), query. Empty when nobody waits on a lock.
    """
    cols = [
        "root_pid",
        "pid",
        "depth",
        "blocked_by",
        "tree",
        "application_name",
        "usename",
        "state",
        "wait_s",
        "blocked_count",
        "query",
    ]
    last = frame[frame["sampled_at"] == frame["sampled_at"].max()]
    waiting = last[last["blocked_by"].map(lambda v: isinstance(v, list) and bool(v))]
    if waiting.empty:
        return pd.DataFrame(columns=cols)
    by_pid = last.set_index("pid")
    waiting_pids = set(int(p) for p in waiting["pid"])
    # A waiter queued behind several backends hangs under the one that waits itself (the
    # queue ahead of it), so each pid appears once and the chain reads top-down.
    children: dict[int, list[int]] = {}
    for pid, blockers in zip(waiting["pid"], waiting["blocked_by"], strict=True):
        queued = [int(b) for b in blockers if int(b) in waiting_pids and int(b) != int(pid)]
        parent = queued[0] if queued else int(blockers[0])
        children.setdefault(parent, []).append(int(pid))
    roots = sorted(p for p in children if p not in waiting_pids)
    rows: list[dict[str, Any]] = []

    def below(pid: int, seen: frozenset[int]) -> int:
        kids = [k for k in children.get(pid, []) if k not in seen]
        return len(kids) + sum(below(k, seen | {k}) for k in kids)

    def walk(root: int, pid: int, depth: int, seen: frozenset[int]) -> None:
        info = by_pid.loc[pid] if pid in by_pid.index else None
        since = "state_change_at" if depth else "xact_start_at"
        wait = np.nan
        if info is not None and pd.notna(info[since]):
            wait = (info["sampled_at"] - info[since]).total_seconds()
        rows.append(
            {
                "root_pid": root,
                "pid": pid,
                "depth": depth,
                "blocked_by": info["blocked_by"] if info is not None and isinstance(info["blocked_by"], list) else [],
                "tree": (_INDENT * (depth - 1) + "└─ " if depth else "") + f"pid {pid}",
                "application_name": None if info is None else info["application_name"],
                "usename": None if info is None else info["usename"],
                "state": None if info is None else info["state"],
                "wait_s": wait,
                "blocked_count": below(pid, seen),
                "query": None if info is None else info["query"],
            }
        )
        for kid in sorted(children.get(pid, [])):
            if kid not in seen:
                walk(root, kid, depth + 1, seen | {kid})

    for root in roots:
        walk(root, root, 0, frozenset({root}))
    # Waiters in a cycle (a deadlock the server has not broken yet) have no root: start
    # each such cycle at its lowest pid so that nobody waiting is left out.
    for pid in sorted(waiting_pids):
        if pid not in {row["pid"] for row in rows}:
            walk(pid, pid, 0, frozenset({pid}))
    return pd.DataFrame(rows, columns=cols)


def detect_leaks(
    frame: pd.DataFrame,
    settings: Mapping[str, Any],
    *,
    min_samples: int = 3,
    min_growth: int = 3,
) -> pd.DataFrame:
    """Applications whose idle connections grow across samples while active ones do not.

    A pool that leaks checks connections out and never returns them: the server sees them
    idle, and their number climbs at the leak's rate. Out, one row per application:
    application_name, connections, idle, active, idle_growth, idle_per_min,
    active_per_min, projected_exhaustion_min (slots left / idle growth rate, from the
    last sample), leak_suspected. Fewer than *min_samples* samples: empty.
    """
    cols = [
        "application_name",
        "connections",
        "idle",
        "active",
        "idle_growth",
        "idle_per_min",
        "active_per_min",
        "projected_exhaustion_min",
        "leak_suspected",
    ]
    clients = client_backends(frame)
    samples = frame["sampled_at"].drop_duplicates().sort_values()
    if len(samples) < min_samples or clients.empty:
        return pd.DataFrame(columns=cols)
    labelled = clients.assign(_app=_label(clients["application_name"]), group=_state_group(clients["state"]))
    minutes = _minutes(pd.Index(samples))
    slots_left = int(settings.get("usable_connections") or 0) - int((clients["sampled_at"] == samples.iloc[-1]).sum())
    rows = []
    for app, rows_app in labelled.groupby("_app"):
        per = rows_app.pivot_table(index="sampled_at", columns="group", values="pid", aggfunc="count", fill_value=0)
        per = per.reindex(index=samples, columns=STATE_COLUMNS, fill_value=0)
        idle_rate, active_rate = _slope(minutes, per["idle"]), _slope(minutes, per["active"])
        growth = int(per["idle"].iloc[-1] - per["idle"].iloc[0])
        suspected = bool(growth >= min_growth and idle_rate > 0 and active_rate <= 0.25 * idle_rate)
        projected = max(slots_left, 0) / idle_rate if idle_rate > 0 else np.nan
        rows.append(
            {
                "application_name": app,
                "connections": int(per.iloc[-1].sum()),
                "idle": int(per["idle"].iloc[-1]),
                "active": int(per["active"].iloc[-1]),
                "idle_growth": growth,
                "idle_per_min": idle_rate,
                "active_per_min": active_rate,
                "projected_exhaustion_min": projected,
                "leak_suspected": suspected,
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["leak_suspected", "idle_per_min"], ascending=False, ignore_index=True)


def detect_limit_pressure(frame: pd.DataFrame, meta: Mapping[str, Any], *, threshold_pct: float = 80.0) -> pd.DataFrame:
    """Roles and databases near their own ``CONNECTION LIMIT`` in the latest sample.

    Out: kind (role|database), name, connections, limit, used_pct.
    """
    last = latest(frame)
    rows = []
    for kind, column, limits, key, limit_key in (
        ("role", "usename", meta.get("role_limits", []), "rolname", "rolconnlimit"),
        ("database", "datname", meta.get("database_limits", []), "datname", "datconnlimit"),
    ):
        counts = last[column].value_counts()
        for item in limits:
            limit = int(item[limit_key])
            used = int(counts.get(item[key], 0))
            if limit > 0 and 100.0 * used / limit >= threshold_pct:
                rows.append(
                    {
                        "kind": kind,
                        "name": item[key],
                        "connections": used,
                        "limit": limit,
                        "used_pct": 100.0 * used / limit,
                    }
                )
    return pd.DataFrame(rows, columns=["kind", "name", "connections", "limit", "used_pct"])
