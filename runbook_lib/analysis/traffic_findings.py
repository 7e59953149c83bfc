"""Findings for the API rate-limiting flow (runbook Incident 4), from the tables in
:mod:`runbook_lib.analysis.traffic`.

Each ``find_*`` returns one :class:`Finding` whose summary names the endpoint and client
IPs. Severities: ``info`` when the evidence shows nothing worth acting on (a stray 429 is
normal life), ``unknown`` when the source could not be read.

Severity ladder, graded by volume and persistence (a client that meets its limit for a
minute and backs off is the limiter working, not an incident):

=====================  ======================================================================
finding                severity: evidence
=====================  ======================================================================
rate_limited_requests  high: >= ``HIGH_LIMITED_SHARE`` (10 %) of requests, or >= 1,000,
                       answered 429 (a client hammering without backing off, even for
                       seconds, is refused that often); medium: >= 2 % or >= 100; low:
                       >= 0.5 %; info: below (a well-behaved client meeting its limit for a
                       minute and backing off is a handful of 429s among thousands)
request_bursts         medium: a client's rate jumped above its own baseline
                       (``detect_bursts``) and it was limited (429s), or
                       >= ``BURST_MEDIUM_CLIENTS`` (3) clients burst; low: one or two clients
                       burst and were served (capacity used, nobody refused); info: none
retry_storm            high: >= ``RETRY_STORM_HIGH`` (1,000) retries within ``within_s`` of a
                       429; medium: fewer (``detect_retry_storms`` already ignores a few)
upstream_quota         high: >= ``UPSTREAM_HIGH_ERRORS`` (50) upstream rate-limit errors in
                       the app log; medium: >= ``UPSTREAM_MEDIUM_ERRORS`` (5); low: 1-4, stray
                       ones (retried); info: none; unknown: no app log
=====================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown
from runbook_lib.timewindow import Window

from .endpoints import with_endpoints
from .traffic import LIMITED, limited_per_minute, rank_limited

#: Share / count of 429s from which limiting is high, medium, low.
HIGH_LIMITED_SHARE, HIGH_LIMITED = 0.10, 1000
MEDIUM_LIMITED_SHARE, MEDIUM_LIMITED = 0.02, 100
LOW_LIMITED_SHARE = 0.005
#: Clients bursting at once from which bursts are medium even when all were served.
BURST_MEDIUM_CLIENTS = 3
#: Retries after a 429 from which a storm is high.
RETRY_STORM_HIGH = 1000
#: Upstream rate-limit errors from which being limited is high / medium.
UPSTREAM_HIGH_ERRORS = 50
UPSTREAM_MEDIUM_ERRORS = 5


def name_list(values: Sequence[object], limit: int = 3) -> str:
    """Up to *limit* values as Markdown code spans, then "and N more"."""
    shown = [f"`{v}`" for v in list(values)[:limit]]
    more = len(values) - limit
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


#: Rows of the rank_limited tables the finding reads (drivers are found among 50 clients).
RANKED_ENDPOINTS, RANKED_CLIENTS = 3, 50


def find_rate_limiting(
    collected: Collected,
    requests: pd.DataFrame | None = None,
    *,
    window: Window | None = None,
    ranked: tuple[pd.DataFrame, pd.DataFrame] | None = None,
) -> Finding:
    """How many requests we answered 429, and which endpoint and clients drive them.

    *requests* is ``collected.frame`` with endpoints (``with_endpoints``) when the caller
    has it already: templating millions of paths twice is the cost worth avoiding. Likewise
    *ranked*: the caller's ``rank_limited`` tables by endpoint and by client, with at least
    :data:`RANKED_ENDPOINTS` / :data:`RANKED_CLIENTS` rows asked for (``top``), so that the
    notebook's tables and the finding group millions of rows once, not twice.
    """
    kind = "rate_limited_requests"
    if not collected.usable:
        return unknown(kind, collected, "whether clients are being rate limited")
    frame = with_endpoints(collected.frame if requests is None else requests)
    total = len(frame)
    limited = int((frame["status"] == LIMITED).sum())
    if limited == 0:
        return Finding(
            kind,
            "info",
            f"No 429 responses among {total} requests in the window.",
            numbers={"requests": total, "limited": 0},
        )
    share = limited / max(total, 1)
    if ranked is None:
        ranked = (
            rank_limited(frame, by="endpoint", top=RANKED_ENDPOINTS),
            rank_limited(frame, by="client_ip", top=RANKED_CLIENTS),
        )
    endpoints, clients = ranked[0].head(RANKED_ENDPOINTS), ranked[1].head(RANKED_CLIENTS)
    # The clients that together hold 80% of the 429s are the drivers worth naming.
    drivers = clients[clients["share_of_all_429"].cumsum().shift(fill_value=0) < 0.8]
    minutes = int(frame.loc[frame["status"] == LIMITED, "requested_at"].dt.floor("min").nunique())
    severity: Severity = "info"
    if share >= HIGH_LIMITED_SHARE or limited >= HIGH_LIMITED:
        severity = "high"
    elif share >= MEDIUM_LIMITED_SHARE or limited >= MEDIUM_LIMITED:
        severity = "medium"
    elif share >= LOW_LIMITED_SHARE:
        severity = "low"
    top = endpoints.iloc[0]
    per_minute = limited_per_minute(frame, window=window, top=0)
    if len(drivers) <= 5:
        who = (
            f"driven by {name_list(drivers['client_ip'].tolist())} (top client got "
            f"{clients.iloc[0]['limited_share']:.0%} of its requests limited)"
        )
    else:
        who = f"spread over {int(clients['client_ip'].nunique())}+ clients, no single driver"
        drivers = drivers.head(0)
    summary = (
        f"{limited} requests ({share:.1%}) were answered 429 over {minutes} minute(s), "
        f"{top['share_of_all_429']:.0%} of them on "
        f"`{top['endpoint']}`; {who}."
    )
    return Finding(
        kind,
        severity,
        summary,
        numbers={
            "requests": total,
            "limited": limited,
            "limited_share": round(share, 4),
            "limited_minutes": minutes,
            "top_endpoint": top["endpoint"],
            "top_endpoint_limited": int(top["limited"]),
            "driving_clients": drivers["client_ip"].tolist()[:20],
            "peak_limited_per_minute": int(per_minute["limited"].max()) if len(per_minute) else 0,
        },
        evidence=[f"endpoint:{e}" for e in endpoints["endpoint"]]
        + [f"client_ip:{ip}" for ip in drivers["client_ip"].head(10)],
    )


def find_bursts(collected: Collected, bursts: pd.DataFrame) -> Finding:
    """A finding for :func:`detect_bursts` output."""
    kind = "request_bursts"
    if not collected.usable:
        return unknown(kind, collected, "whether any client burst above its baseline")
    if bursts.empty:
        return Finding(kind, "info", "No client's request rate jumped above its own baseline.")
    top = bursts.iloc[0]
    summary = (
        f"{len(bursts)} client(s) burst above their baseline: "
        f"{name_list(bursts['client_ip'].tolist())}; "
        f"`{top['client_ip']}` peaked at {top['peak_per_minute']} requests/min "
        f"(baseline {top['baseline_per_minute']}) mostly on `{top['top_endpoint']}`."
    )
    limited = int(bursts["limited"].sum())
    severity: Severity = "medium" if limited or len(bursts) >= BURST_MEDIUM_CLIENTS else "low"
    return Finding(
        kind,
        severity,
        summary + ("" if limited else " All of it was served (no 429)."),
        numbers={
            "clients": bursts["client_ip"].tolist()[:20],
            "peak_per_minute": int(top["peak_per_minute"]),
            "limited": limited,
        },
        evidence=[f"client_ip:{ip}" for ip in bursts["client_ip"].head(10)],
    )


def find_retry_storms(collected: Collected, storms: pd.DataFrame, *, within_s: float = 5.0) -> Finding:
    """A finding for :func:`detect_retry_storms` output."""
    kind = "retry_storm"
    if not collected.usable:
        return unknown(kind, collected, "whether clients retry after 429 without backing off")
    if storms.empty:
        return Finding(kind, "info", f"No client retried a limited endpoint within {within_s:g}s at scale.")
    top = storms.iloc[0]
    endpoints = storms["endpoint"].unique().tolist()
    retries = int(storms["retries"].sum())
    summary = (
        f"Retry storm: {name_list(storms['client_ip'].unique().tolist())} retried "
        f"{name_list(endpoints, 2)} "
        f"{retries} times within {within_s:g}s of a 429 (median gap {top['median_gap_s']}s): "
        "clients are not backing off."
    )
    severity: Severity = "high" if retries >= RETRY_STORM_HIGH else "medium"
    return Finding(
        kind,
        severity,
        summary,
        numbers={
            "retries": retries,
            "clients": storms["client_ip"].unique().tolist()[:20],
            "endpoints": endpoints[:10],
        },
        evidence=[f"client_ip:{ip}" for ip in storms["client_ip"].unique()[:10]]
        + [f"endpoint:{e}" for e in endpoints[:5]],
    )


def find_upstream_quota(collected: Collected, upstream: pd.DataFrame) -> Finding:
    """Are *we* being limited by an upstream API (as opposed to limiting our clients)?"""
    kind = "upstream_quota"
    if collected.status == "skipped":
        return unknown(kind, collected, "whether an upstream API is limiting us (no app log given)")
    if not collected.usable:
        return unknown(kind, collected, "whether an upstream API is limiting us")
    if upstream.empty:
        return Finding(kind, "info", "No upstream rate-limit or quota errors in the application log.")
    by_host = upstream["upstream"].value_counts()
    severity: Severity = (
        "high"
        if len(upstream) >= UPSTREAM_HIGH_ERRORS
        else "medium"
        if len(upstream) >= UPSTREAM_MEDIUM_ERRORS
        else "low"  # a stray upstream 429, retried
    )
    summary = (
        f"We are being limited: {len(upstream)} upstream rate-limit/quota errors in the app log, "
        f"{by_host.iloc[0]} from {name_list(by_host.index.tolist(), 1)}"
        f"{' (also ' + name_list(by_host.index[1:].tolist()) + ')' if len(by_host) > 1 else ''}; "
        f"first {upstream['logged_at'].min():%H:%M:%S}, "
        f"last {upstream['logged_at'].max():%H:%M:%S} UTC."
    )
    return Finding(
        kind,
        severity,
        summary,
        numbers={"errors": len(upstream), "by_upstream": by_host.head(10).to_dict()},
        evidence=[f"upstream:{h}" for h in by_host.index[:5]],
    )


def rate_limit_next_steps(findings: Sequence[Finding]) -> list[str]:
    """Runbook Incident 4 resolution steps, filled in with what this run found."""
    by_kind = {f.kind: f for f in findings}
    steps = []
    limited = by_kind.get("rate_limited_requests")
    if limited is not None and limited.severity not in ("info", "unknown"):
        clients = ", ".join(limited.numbers.get("driving_clients", [])[:5]) or "the top clients"
        steps.append(
            f"Immediate: check whether {clients} on `{limited.numbers.get('top_endpoint')}` are "
            "legitimate; if abusive, apply the suggested limit_req (or block); if legitimate, "
            "raise their limit or allow-list them."
        )
    storm = by_kind.get("retry_storm")
    if storm is not None and storm.severity not in ("info", "unknown"):
        steps.append("Ask the owners of the retrying clients to back off exponentially on 429 (honour Retry-After).")
    quota = by_kind.get("upstream_quota")
    if quota is not None and quota.severity not in ("info", "unknown"):
        steps.append(
            "Short-term: we are limited by an upstream API: check its quota dashboard, "
            "request a quota increase, and queue/cache calls to it."
        )
    if any(f.severity == "unknown" for f in findings):
        steps.append("Some evidence could not be read (see the source table): fix the source and re-run.")
    steps.append("Long-term: cache, batch, and alert at 80% of quotas (runbook prevention measures).")
    return steps
