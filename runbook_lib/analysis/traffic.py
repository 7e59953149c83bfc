"""API rate limiting (runbook Incident 4): who gets 429s, where, and why.

Two different incidents hide behind "rate limiting", and this module keeps them apart:

- **we are limiting**: our edge (nginx ``limit_req``, the app) answers 429 to clients.
  Evidence: the access log (``runbook_lib.sources.logs.access_log`` frame: ``requested_at``
  UTC, ``client_ip``, ``method``, ``path``, ``status``, ``user_agent``, ``response_bytes``…).
- **we are limited**: an upstream API answers 429 / "rate limit" / "quota" to us.
  Evidence: the application log (``logged_at``, ``level``, ``logger``, ``message``), see
  :func:`detect_upstream_quota`.

Tables are frames; conclusions are :class:`Finding` naming the endpoint and client IPs.
An unusable source gives an ``unknown`` finding, never "no 429s".
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from runbook_lib.errors import ParameterError
from runbook_lib.timewindow import Window

from ._common import MINUTE, count_per_minute, minute_axis
from .endpoints import with_endpoints

LIMITED = 429
#: Default app-log pattern for upstream quota errors (case-insensitive).
#: A bare "429" is too loose (ids, amounts: "/api/products/429", "got 429.00"): the number
#: must follow a word saying it is a status.
UPSTREAM_PATTERN = (
    r"too many requests|rate[ _-]?limit|quota (?:exceeded|exhausted)|throttl"
    r"|(?:status|code|returned|responded|response|http|error)[\s:=]{0,3}429\b"
)
_OWN_REQUEST = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+/\S*\s+\d{3}\b")
_HOST = re.compile(r"https?://(?P<host>[^/\s:'\"]+)")


def limited_per_minute(frame: pd.DataFrame, *, window: Window | None = None, top: int = 5) -> pd.DataFrame:
    """Requests and 429s per minute, plus 429s per minute for the *top* limited endpoints.

    Columns: ``minute_at`` (UTC), ``requests``, ``limited``, then one column per endpoint
    template (the endpoints with the most 429s), zero-filled over the window.
    """
    frame = with_endpoints(frame)
    index = minute_axis(frame["requested_at"], window)
    times = frame["requested_at"]
    limited = frame["status"] == LIMITED
    out = pd.DataFrame(index=index)
    out["requests"] = count_per_minute(times, index)
    out["limited"] = count_per_minute(times[limited], index)
    hot = frame.loc[limited, "endpoint"].value_counts().head(top).index
    for endpoint in hot:
        sel = limited & (frame["endpoint"] == endpoint)
        out[str(endpoint)] = count_per_minute(times[sel], index)
    return out.astype("int64").reset_index()


def rank_limited(frame: pd.DataFrame, *, by: str = "endpoint", top: int = 20) -> pd.DataFrame:
    """Who/what drives the 429s, ranked by count of 429s.

    *by* is ``endpoint``, ``client_ip`` or ``user_agent``. Columns: *by*, ``limited``,
    ``requests``, ``limited_share`` (share of that group's own requests answered 429),
    ``share_of_all_429`` and the other side (``top_endpoint`` or ``top_client``),
    ``clients``/``endpoints`` (distinct counts), ``first_at``/``last_at`` of its 429s.
    """
    frame = with_endpoints(frame)
    if frame.empty:
        return pd.DataFrame(columns=[by, "limited", "requests", "limited_share", "share_of_all_429"])
    is_limited = frame["status"] == LIMITED
    total_limited = int(is_limited.sum())
    groups = frame.groupby(by, sort=False, observed=True)
    stats = pd.DataFrame(
        {
            "requests": groups.size(),
            "limited": is_limited.groupby(frame[by], sort=False, observed=True).sum(),
        }
    )
    stats = stats[stats["limited"] > 0]
    if stats.empty:
        return pd.DataFrame(columns=[by, "limited", "requests", "limited_share", "share_of_all_429"])
    stats["limited_share"] = (stats["limited"] / stats["requests"]).round(3)
    stats["share_of_all_429"] = (stats["limited"] / max(total_limited, 1)).round(3)
    hits = frame[is_limited]
    other = "client_ip" if by != "client_ip" else "endpoint"
    other_name = "top_client" if other == "client_ip" else "top_endpoint"
    stats[other_name] = hits.groupby(by, observed=True)[other].agg(_mode)
    stats["clients" if other == "client_ip" else "endpoints"] = hits.groupby(by, observed=True)[other].nunique()
    stats["first_at"] = hits.groupby(by, observed=True)["requested_at"].min()
    stats["last_at"] = hits.groupby(by, observed=True)["requested_at"].max()
    stats = stats.sort_values(["limited", "requests"], ascending=False).head(top)
    cols = [
        "limited",
        "requests",
        "limited_share",
        "share_of_all_429",
        other_name,
        "clients" if other == "client_ip" else "endpoints",
        "first_at",
        "last_at",
    ]
    return stats[cols].rename_axis(by).reset_index()


def _mode(values: pd.Series) -> str:
    counts = values.value_counts()
    return str(counts.index[0]) if len(counts) else ""


def detect_bursts(
    frame: pd.DataFrame,
    *,
    factor: float = 5.0,
    min_per_minute: int = 60,
    window: Window | None = None,
) -> pd.DataFrame:
    """Clients whose request rate jumps above their own baseline.

    Baseline: the client's median requests per minute over the window (zero-filled, so a
    client that appears only to hammer has a baseline near 0). A burst is a peak minute
    with at least ``max(min_per_minute, factor × baseline)`` requests. Columns:
    ``client_ip``, ``peak_per_minute``, ``baseline_per_minute``, ``ratio``, ``peak_at``,
    ``requests``, ``limited``, ``top_endpoint``.
    """
    frame = with_endpoints(frame)
    cols = [
        "client_ip",
        "peak_per_minute",
        "baseline_per_minute",
        "ratio",
        "peak_at",
        "requests",
        "limited",
        "top_endpoint",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    index = minute_axis(frame["requested_at"], window)
    minutes = frame["requested_at"].dt.floor(MINUTE)
    counts = frame.groupby([frame["client_ip"], minutes], observed=True).size()
    peaks = counts.groupby(level=0).max()
    candidates = peaks[peaks >= min_per_minute].index
    rows = []
    n_minutes = max(len(index), 1)
    for ip in candidates:
        per_minute = counts.loc[ip]
        # Zero-filled median without building the full matrix: minutes with no request count 0.
        values = np.sort(np.concatenate([per_minute.to_numpy(), np.zeros(max(n_minutes - len(per_minute), 0))]))
        baseline = float(np.median(values))
        peak = int(per_minute.max())
        if peak < max(min_per_minute, factor * baseline):
            continue
        mine = frame[frame["client_ip"] == ip]
        rows.append(
            {
                "client_ip": ip,
                "peak_per_minute": peak,
                "baseline_per_minute": round(baseline, 2),
                "ratio": round(peak / max(baseline, 1.0), 1),
                "peak_at": per_minute.idxmax(),
                "requests": len(mine),
                "limited": int((mine["status"] == LIMITED).sum()),
                "top_endpoint": _mode(mine["endpoint"]),
            }
        )
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values("peak_per_minute", ascending=False, ignore_index=True)


def detect_retry_storms(frame: pd.DataFrame, *, within_s: float = 5.0, min_retries: int = 10) -> pd.DataFrame:
    """Clients retrying the same endpoint within *within_s* seconds after a 429.

    A retry is a request from the same client to the same endpoint template that follows
    a 429 by at most *within_s*. Columns: ``client_ip``, ``endpoint``, ``retries``,
    ``limited``, ``median_gap_s``, ``first_at``, ``last_at``, ``user_agent``; only pairs
    with at least *min_retries* retries, most retries first.
    """
    frame = with_endpoints(frame)
    cols = [
        "client_ip",
        "endpoint",
        "retries",
        "limited",
        "median_gap_s",
        "first_at",
        "last_at",
        "user_agent",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    ordered = frame.sort_values(["client_ip", "endpoint", "requested_at"], kind="stable")
    same = ordered["client_ip"].eq(ordered["client_ip"].shift()) & ordered["endpoint"].eq(ordered["endpoint"].shift())
    gap = (ordered["requested_at"] - ordered["requested_at"].shift()).dt.total_seconds()
    retry = same & ordered["status"].shift().eq(LIMITED) & (gap <= within_s)
    hits = ordered[retry].assign(gap_s=gap[retry])
    if hits.empty:
        return pd.DataFrame(columns=cols)
    groups = hits.groupby(["client_ip", "endpoint"], observed=True)
    limited = ordered[ordered["status"] == LIMITED].groupby(["client_ip", "endpoint"], observed=True).size()
    out = pd.DataFrame(
        {
            "retries": groups.size(),
            "median_gap_s": groups["gap_s"].median().round(2),
            "first_at": groups["requested_at"].min(),
            "last_at": groups["requested_at"].max(),
            "user_agent": groups["user_agent"].agg(_mode),
        }
    )
    out["limited"] = limited.reindex(out.index, fill_value=0)
    out = out[out["retries"] >= min_retries].reset_index()
    return out[cols].sort_values("retries", ascending=False, ignore_index=True)


def compile_pattern(pattern: str, default: str, *, key: str) -> re.Pattern[str]:
    """A user-supplied regex parameter (empty = *default*), case-insensitive.

    A broken regex is the caller's parameter mistake, reported as :class:`ParameterError`.
    """
    try:
        return re.compile(pattern.strip() or default, re.IGNORECASE)
    except re.error as err:
        raise ParameterError(f"not a valid regular expression: {err}", key=key) from err


def detect_upstream_quota(app: pd.DataFrame, *, pattern: str = "") -> pd.DataFrame:
    """App-log lines saying an upstream limited *us* (429, "rate limit", quota).

    Input: the app-log frame (``logged_at``, ``level``, ``logger``, ``message``); *pattern*
    defaults to :data:`UPSTREAM_PATTERN`. Lines that are the app's own request log
    (``GET /api/x 429 3ms``: a relative path and a status) are left out, since those 429s
    are ours. Output: the matching rows plus ``upstream``: the host of the first URL in the
    message, else the logger.
    """
    regex = compile_pattern(pattern, UPSTREAM_PATTERN, key="upstream_pattern")
    if app.empty:
        return app.assign(upstream=pd.Series(dtype="str", index=app.index))
    messages = app["message"].astype("str")
    # The app's own request log ("GET /api/x 429 3ms") is us limiting, not an upstream.
    own = messages.str.contains(_OWN_REQUEST, regex=True, na=False)
    rows = app[messages.str.contains(regex, regex=True, na=False) & ~own].copy()
    hosts = rows["message"].astype("str").str.extract(_HOST)["host"]
    rows["upstream"] = hosts.fillna(rows["logger"].astype("str")).astype("str")
    return rows


def quota_per_minute(requests: pd.DataFrame, upstream: pd.DataFrame, *, window: Window | None = None) -> pd.DataFrame:
    """Side by side per minute: 429s we served vs upstream quota errors we received."""
    times = pd.concat([requests["requested_at"], upstream["logged_at"]], ignore_index=True)
    index = minute_axis(times, window)
    ours = requests.loc[requests["status"] == LIMITED, "requested_at"]
    return pd.DataFrame(
        {
            "minute_at": index,
            "we_limit_429": count_per_minute(ours, index).to_numpy(),
            "upstream_limits_us": count_per_minute(upstream["logged_at"], index).to_numpy(),
        }
    )
