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
import polars as pl

from runbook_lib.errors import ParameterError
from runbook_lib.frames import select_rows
from runbook_lib.timewindow import Window

from ._codes import named, ranked_codes, value_codes
from ._common import count_per_minute, minute_axis
from ._polars import NS_PER_MINUTE, ROW, count_pairs, mode_by, to_pandas, to_polars
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
    Grouped in polars (:mod:`._polars`); ties keep first-appearance order.
    """
    frame = with_endpoints(frame)
    empty = pd.DataFrame(columns=[by, "limited", "requests", "limited_share", "share_of_all_429"])
    if frame.empty:
        return empty
    other = "client_ip" if by != "client_ip" else "endpoint"
    other_name = "top_client" if other == "client_ip" else "top_endpoint"
    distinct = "clients" if other == "client_ip" else "endpoints"
    # Grouped on the columns' shared codes (:func:`value_codes`); names are put back last.
    (key, names), (value, values) = value_codes(frame, by), value_codes(frame, other)
    rows = to_polars(frame, ["status", "requested_at"]).with_columns(key.alias(by), value.alias(other))
    rows = rows.filter(pl.col(by).is_not_null())
    is_limited = pl.col("status") == LIMITED
    stats = (
        rows.group_by(by)
        .agg(pl.len().alias("requests"), is_limited.sum().alias("limited"), pl.col(ROW).min().alias("_first"))
        .filter(pl.col("limited") > 0)
    )
    if stats.is_empty():
        return empty
    total_limited = int(stats["limited"].sum())
    stats = stats.sort(["limited", "requests", "_first"], descending=[True, True, False]).head(top)
    hits = rows.filter(is_limited & pl.col(by).is_in(stats[by].implode()))
    detail = hits.group_by(by).agg(
        pl.col(other).drop_nulls().n_unique().alias(distinct),
        pl.col("requested_at").min().alias("first_at"),
        pl.col("requested_at").max().alias("last_at"),
    )
    stats = stats.join(mode_by(hits, [by], other, alias=other_name), on=by, how="left", maintain_order="left")
    stats = stats.join(detail, on=by, how="left", maintain_order="left").with_columns(
        named(names, by, by), named(values, other_name, other_name)
    )
    out = to_pandas(stats.with_columns(pl.col("requests", "limited", distinct).cast(pl.Int64)))
    out["limited_share"] = (out["limited"] / out["requests"]).round(3)
    out["share_of_all_429"] = (out["limited"] / max(total_limited, 1)).round(3)
    cols = [by, "limited", "requests", "limited_share", "share_of_all_429", other_name, distinct, "first_at", "last_at"]
    return out[cols]


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
    cols = ["client_ip", "peak_per_minute", "baseline_per_minute", "ratio", "peak_at", "requests", "limited",
            "top_endpoint"]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=cols)
    n_minutes = max(len(minute_axis(frame["requested_at"], window)), 1)
    client, names = ranked_codes(frame, "client_ip")
    endpoint, endpoints = value_codes(frame, "endpoint")
    rows = to_polars(frame, ["requested_at", "status"]).with_columns(client.alias("client"), endpoint.alias("endpoint"))
    minutes = (rows["requested_at"].dt.epoch("ns") // NS_PER_MINUTE).alias("minute")
    counts = count_pairs(client, minutes, names=("client", "minute", "n"))
    counts = counts.with_columns((pl.col("minute") * NS_PER_MINUTE).cast(pl.Datetime("ns", "UTC")))
    peaks = counts.group_by("client", maintain_order=True).agg(
        pl.col("n").max().alias("peak"),
        pl.col("minute").get(pl.col("n").arg_max()).alias("peak_at"),
        pl.col("n").alias("per_minute"),
    )
    peaks = peaks.filter(pl.col("peak") >= min_per_minute)
    peaks = peaks.with_columns(names.gather(peaks["client"]).alias("client_ip"))
    found, codes = [], []
    for code, ip, peak, peak_at, per_minute in peaks.select(
        "client", "client_ip", "peak", "peak_at", "per_minute"
    ).iter_rows():
        # Zero-filled median without building the full matrix: minutes with no request count 0.
        values = np.concatenate([np.asarray(per_minute, dtype=float), np.zeros(max(n_minutes - len(per_minute), 0))])
        baseline = float(np.median(values))
        if peak >= max(min_per_minute, factor * baseline):
            found.append((ip, int(peak), round(baseline, 2), round(peak / max(baseline, 1.0), 1), peak_at))
            codes.append(code)
    if not found:
        return pd.DataFrame(columns=cols)
    bursting = pl.DataFrame(
        found, schema=["client_ip", "peak_per_minute", "baseline_per_minute", "ratio", "peak_at"], orient="row"
    )
    mine = rows.filter(pl.col("client").is_in(pl.Series(codes, dtype=pl.UInt32).implode())).with_columns(
        named(names, "client", "client_ip"), named(endpoints, "endpoint", "endpoint")
    )
    totals = mine.group_by("client_ip").agg(
        pl.len().cast(pl.Int64).alias("requests"), (pl.col("status") == LIMITED).sum().cast(pl.Int64).alias("limited")
    )
    table = (
        bursting.join(totals, on="client_ip", how="left", maintain_order="left")
        .join(
            mode_by(mine, ["client_ip"], "endpoint", alias="top_endpoint"),
            on="client_ip",
            how="left",
            maintain_order="left",
        )  # fmt: skip
        .sort(["peak_per_minute", "client_ip"], descending=[True, False])
    )
    out = to_pandas(table.with_columns(pl.col("peak_at").dt.convert_time_zone("UTC").dt.cast_time_unit("ns")))
    return out[cols]


def detect_retry_storms(frame: pd.DataFrame, *, within_s: float = 5.0, min_retries: int = 10) -> pd.DataFrame:
    """Clients retrying the same endpoint within *within_s* seconds after a 429.

    A retry is a request from the same client to the same endpoint template that follows
    a 429 by at most *within_s*. Columns: ``client_ip``, ``endpoint``, ``retries``,
    ``limited``, ``median_gap_s``, ``first_at``, ``last_at``, ``user_agent``; only pairs
    with at least *min_retries* retries, most retries first.
    """
    frame = with_endpoints(frame)
    cols = ["client_ip", "endpoint", "retries", "limited", "median_gap_s", "first_at", "last_at", "user_agent"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    keys = ["client_ip", "endpoint"]
    # Grouped on (client, endpoint) codes packed into one integer (:func:`value_codes`,
    # shared with the flow's other tables); the names come back for the pairs shown only.
    # user_agent is fetched for the retries only: as a polars column it is the biggest copy
    # of the frame (436 MB of 5M rows) and only the retries' mode is wanted.
    (client, clients), (endpoint, endpoints) = value_codes(frame, "client_ip"), value_codes(frame, "endpoint")
    pair = client.cast(pl.Int64) * len(endpoints) + endpoint.cast(pl.Int64)
    rows = to_polars(frame, ["requested_at", "status"]).with_columns(pair.alias("pair"))
    # Only pairs with a 429 can hold a retry.
    limited = (
        rows.filter((pl.col("status") == LIMITED) & pl.col("pair").is_not_null())
        .group_by("pair")
        .agg(pl.len().cast(pl.Int64).alias("limited"))
    )
    ordered = (
        rows.filter(pl.col("pair").is_in(limited["pair"].implode()))
        .sort(["pair", "requested_at", ROW])
        .rename({ROW: _SOURCE_ROW})
        .with_row_index(ROW)
    )
    same = pl.col("pair") == pl.col("pair").shift()
    gap = (pl.col("requested_at") - pl.col("requested_at").shift()).dt.total_nanoseconds() / 1e9
    retry = same & (pl.col("status").shift() == LIMITED) & (gap <= within_s)
    hits = ordered.with_columns(gap.alias("gap_s")).filter(retry.fill_null(False))
    if hits.is_empty():
        return pd.DataFrame(columns=cols)
    stats = hits.group_by("pair").agg(
        pl.len().cast(pl.Int64).alias("retries"),
        pl.col("gap_s").median().alias("median_gap_s"),
        pl.col("requested_at").min().alias("first_at"),
        pl.col("requested_at").max().alias("last_at"),
    )
    stats = stats.filter(pl.col("retries") >= min_retries)
    if stats.is_empty():
        return pd.DataFrame(columns=cols)
    hits = _with_column(hits.filter(pl.col("pair").is_in(stats["pair"].implode())), frame, "user_agent")
    stats = (
        stats.join(limited, on="pair", how="left")
        .join(mode_by(hits, ["pair"], "user_agent", alias="user_agent"), on="pair", how="left")
        .with_columns(
            (pl.col("pair") // len(endpoints)).alias("client"),
            (pl.col("pair") % len(endpoints)).alias("endpoint"),
            pl.col("limited").fill_null(0),
        )
        .with_columns(named(clients, "client", "client_ip"), named(endpoints, "endpoint", "endpoint"))
        .sort(["retries", *keys], descending=[True, False, False])
    )
    out = to_pandas(stats)
    out["median_gap_s"] = out["median_gap_s"].round(2)
    return out[cols]


_SOURCE_ROW = "_source_row"


def _with_column(rows: pl.DataFrame, frame: pd.DataFrame, column: str) -> pl.DataFrame:
    """*rows* (with ``_source_row``: positions in *frame*) plus *frame*'s *column* for them,
    selected by a mask (Arrow filters chunk by chunk; taking positions joins the chunks)."""
    keep = np.zeros(len(frame), dtype=bool)
    keep[rows[_SOURCE_ROW].to_numpy()] = True
    values = to_polars(select_rows(frame[[column]], keep), [column]).drop(ROW)
    values = values.with_columns(pl.Series(_SOURCE_ROW, np.flatnonzero(keep), dtype=rows.schema[_SOURCE_ROW]))
    return rows.join(values, on=_SOURCE_ROW, how="left", maintain_order="left")


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
