"""Security alert (runbook Incident 7): failed logins, scanners, odd clients, big downloads.

Input: the access-log frame (``runbook_lib.sources.logs.access_log``: ``requested_at`` UTC,
``client_ip``, ``remote_user``, ``method``, ``path`` (raw target), ``status``,
``response_bytes``, ``user_agent``…) and optionally the app-log frame (``logged_at``,
``level``, ``logger``, ``message``). Every ``rank_*`` returns a ranked frame with an
``evidence`` column (example paths, user agents); every ``find_*`` returns a
:class:`Finding` naming the IPs. Thresholds are parameters with defaults chosen so a
normal day's stray 401s and 404s stay quiet (see tests/analysis/test_security.py).
An unusable source gives ``unknown``, never "nothing suspicious".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import unquote

import numpy as np
import pandas as pd
import polars as pl

from runbook_lib.frames import equal_to, select_rows
from runbook_lib.timewindow import Window

from ._codes import column_codes, missing_as, named, value_codes
from ._common import MAD_TO_SIGMA, count_per_minute, minute_axis
from ._polars import ROW, first_distinct, mode_by, to_pandas, to_polars
from .endpoints import with_endpoints
from .traffic import compile_pattern

AUTH_FAILED = (401, 403)
#: Default app-log pattern for failed authentication (case-insensitive).
AUTH_PATTERN = (
    r"failed (?:login|password|authentication)|authentication failed"
    r"|invalid (?:password|credentials)|login failed|unauthori[sz]ed|forbidden|bad credentials"
)
_IP = re.compile(r"(?<![\w.:])(?P<ip>(?:\d{1,3}\.){3}\d{1,3}|[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{0,4}){2,7})(?![\w.:])")

# What scanners look for: (label, pattern on the percent-decoded, lower-cased target).
PROBES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("dotfile", re.compile(r"/\.(?:env|git|svn|hg|htaccess|htpasswd|aws|ssh|ds_store|docker)")),
    ("wordpress", re.compile(r"/wp-|/wordpress|xmlrpc\.php")),
    (
        "admin_panel",
        re.compile(r"phpmyadmin|/pma/|/adminer|/manager/html|/actuator|/solr/|/cgi-bin/|\.php\b"),
    ),
    ("traversal", re.compile(r"\.\./|\.\.\\|/etc/passwd|win\.ini|boot\.ini")),
    (
        "sql_injection",
        re.compile(
            r"union(?:\s|\+|/\*.*?\*/)+(?:all\s+)?select|'\s*or\s*'?\d|\bor\s+1\s*=\s*1|"
            r"sleep\(\s*\d|benchmark\(|information_schema|';--|\bwaitfor\s+delay"
        ),
    ),
    ("xss", re.compile(r"<script|javascript:|onerror\s*=|%3cscript")),
    ("shell", re.compile(r";\s*(?:wget|curl|cat|id|uname)\b|\$\(|`|/bin/(?:sh|bash)")),
    ("backup_file", re.compile(r"\.(?:bak|old|sql|tar|tgz|zip|7z|swp)(?:$|\?)")),
)
#: User agents of attack and recon tools (medium) and of scripts (low, often legitimate).
TOOL_AGENTS = re.compile(
    r"sqlmap|nikto|nmap|masscan|zgrab|gobuster|dirbuster|dirb|wpscan|hydra|nuclei|"
    r"acunetix|nessus|openvas|w3af|fuzz|ffuf|feroxbuster|jaeles|censys|shodan",
    re.I,
)
#: A user agent carrying an exploit payload (Log4Shell, Shellshock, XSS, SQLi, traversal).
PAYLOAD_AGENTS = re.compile(
    r"\$\{jndi:|\$\{\$\{|\(\)\s*\{\s*:;\s*\}|<script|javascript:|onerror\s*=|union\s+(?:all\s+)?select"
    r"|\bor\s+1\s*=\s*1|\.\./\.\./|/etc/passwd",
    re.I,
)
SCRIPT_AGENTS = re.compile(
    r"^(?:curl|wget|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|"
    r"java/|okhttp|libwww-perl|ruby|php/|axios|node-fetch|scrapy)",
    re.I,
)


def _decoded(target: str) -> str:
    text = str(target)
    for _ in range(2):  # double-encoded payloads (%252e) are common in scanners
        if "%" not in text:
            break
        decoded = unquote(text)
        if decoded == text:
            break
        text = decoded
    return text.replace("+", " ").lower()


#: Any probe at all: one search rejects the ordinary target instead of one per label.
_ANY_PROBE = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern in PROBES))


def classify_probe(target: object) -> str:
    """The first scanner probe label matching a raw request target, or ``""``."""
    text = _decoded(str(target))
    if not _ANY_PROBE.search(text):
        return ""
    for label, pattern in PROBES:
        if pattern.search(text):
            return label
    return ""


def auth_failures_per_minute(
    frame: pd.DataFrame, *, window: Window | None = None, app_failures: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Failed authentications per minute: ``status_401``, ``status_403``, ``app_log``."""
    times = frame["requested_at"]
    index = minute_axis(times, window)
    out = pd.DataFrame(index=index)
    for status in AUTH_FAILED:
        out[f"status_{status}"] = count_per_minute(times[frame["status"] == status], index)
    if app_failures is not None:
        out["app_log"] = count_per_minute(app_failures["logged_at"], index)
    return out.astype("int64").reset_index()


def detect_app_auth_failures(app: pd.DataFrame, *, pattern: str = "") -> pd.DataFrame:
    """App-log lines matching *pattern* (default :data:`AUTH_PATTERN`), with ``client_ip``
    = the first IP address in the message (``""`` when none)."""
    regex = compile_pattern(pattern, AUTH_PATTERN, key="auth_pattern")
    if app.empty:
        return app.assign(client_ip=pd.Series(dtype="str", index=app.index))
    hit = app["message"].astype("str").str.contains(regex, regex=True, na=False)
    rows = app[hit].copy()
    rows["client_ip"] = rows["message"].astype("str").str.extract(_IP)["ip"].fillna("").astype("str")
    return rows


#: Targets whose decoded, lower-cased text polars can compute itself: printable ASCII
#: without ``%`` (``unquote`` leaves them alone; Rust and Python regexes agree on them).
_PLAIN_TARGET = r"^[\x20-\x24\x26-\x7e]*$"


def probe_labels(targets: pl.Series) -> pl.Series:
    """:func:`classify_probe` of every target, vectorised: plain targets are matched by
    polars' regex engine on all cores; the rest (percent-encoded, non-ASCII) once per
    distinct value in Python."""
    plain = targets.fill_null("").str.contains(_PLAIN_TARGET)
    # Plain targets are ASCII, so a case-insensitive match equals matching the lower-cased
    # text; one combined pattern finds the few rows worth labelling.
    text = pl.col("t").str.replace_all("+", " ", literal=True)
    label: pl.Expr = pl.lit("")
    for name, pattern in reversed(PROBES):
        label = pl.when(text.str.contains(f"(?i){pattern.pattern}")).then(pl.lit(name)).otherwise(label)
    candidates = pl.col("t").str.contains("(?i)" + "|".join(f"(?:{p.pattern})" for _, p in PROBES) + "|\\+")
    texts = pl.DataFrame({"t": targets.fill_null("")})
    hit = texts.select(candidates.fill_null(False))[:, 0]
    found = texts.filter(hit).select(label)[:, 0]
    fast = pl.Series("label", [""], dtype=pl.String).extend_constant("", len(targets) - 1) if len(targets) else found
    fast = fast.scatter(hit.arg_true(), found) if len(found) else fast
    odd_at = (~plain).arg_true()
    if odd_at.is_empty():
        return fast
    # Only the odd rows are looked up: a lookup over every row hashed millions of plain
    # targets to throw their results away (0.6 of probe_labels' 1.4 s on 5M rows).
    odd_rows = targets.gather(odd_at)
    odd = odd_rows.unique()
    lookup = dict(zip(odd.to_list(), [classify_probe(v) for v in odd.to_list()], strict=True))
    return fast.scatter(odd_at, odd_rows.replace_strict(lookup, default="", return_dtype=pl.String))


def rank_auth_failures(frame: pd.DataFrame, *, top: int = 20) -> pd.DataFrame:
    """IPs by failed authentications (401/403): ``failures``, ``requests``,
    ``failure_share``, ``endpoints`` (distinct), ``top_endpoint``, ``users`` (distinct
    ``remote_user``), ``first_at``, ``last_at``, ``evidence`` (user agents)."""
    frame = with_endpoints(frame)
    cols = ["client_ip", "failures", "requests", "failure_share", "endpoints", "top_endpoint", "users", "first_at",
            "last_at", "evidence"]  # fmt: skip
    # Clients by their shared codes (:func:`value_codes`); the text of the failed requests
    # only (a few percent of the rows) is fetched.
    client, clients = value_codes(frame, "client_ip")
    failing = frame["status"].isin(AUTH_FAILED).to_numpy(dtype=bool) & client.is_not_null().to_numpy()
    if not failing.any():
        return pd.DataFrame(columns=cols)
    at = np.flatnonzero(failing)
    text = ["endpoint", "remote_user", "requested_at", "user_agent"]
    failed = to_polars(select_rows(frame[text], failing), text).with_columns(
        pl.Series(ROW, at, dtype=pl.UInt32), client.gather(at).alias("client")
    )  # ROW: the position in the whole frame, which ties are broken by
    user = pl.col("remote_user")
    stats = (
        failed.group_by("client")
        .agg(
            pl.len().cast(pl.Int64).alias("failures"),
            pl.col("endpoint").drop_nulls().n_unique().cast(pl.Int64).alias("endpoints"),
            user.filter(user.is_not_null() & ~user.is_in(["", "-"])).n_unique().cast(pl.Int64).alias("users"),
            pl.col("requested_at").min().alias("first_at"),
            pl.col("requested_at").max().alias("last_at"),
        )
        .with_columns(named(clients, "client", "client_ip"))
        .sort(["failures", "client_ip"], descending=[True, False])
        .head(top)
    )
    per_client = np.bincount(client.drop_nulls().to_numpy(), minlength=len(clients))
    stats = stats.with_columns(pl.Series("requests", per_client[stats["client"].to_numpy()], dtype=pl.Int64))
    ours = failed.filter(pl.col("client").is_in(stats["client"].implode()))
    for part in (
        mode_by(ours, ["client"], "endpoint", alias="top_endpoint"),
        first_distinct(ours, ["client"], "user_agent", alias="evidence"),
    ):
        stats = stats.join(part, on="client", how="left", maintain_order="left")
    out = to_pandas(stats)
    out["failure_share"] = (out["failures"] / out["requests"]).round(3)
    return out[cols]


def rank_scanners(frame: pd.DataFrame, *, top: int = 20) -> pd.DataFrame:
    """IPs probing the site: ``probes`` (requests matching :data:`PROBES`), ``kinds``,
    ``not_found`` (404s), ``distinct_404_paths``, ``distinct_paths``, ``requests``,
    ``not_found_share``, ``evidence`` (example probe targets). Ranked by probes, then 404s."""
    cols = ["client_ip", "probes", "kinds", "distinct_404_paths", "not_found", "distinct_paths", "requests",
            "not_found_share", "first_at", "last_at", "evidence"]  # fmt: skip
    if frame.empty:
        return pd.DataFrame(columns=cols)
    # Each distinct target is labelled once and counted by its code (:func:`column_codes`):
    # regexes and distinct counts over 5M strings were most of this table's time.
    codes, paths = column_codes(frame, "path")
    codes, paths = missing_as(codes, paths, "nan")  # what pandas' str made of a missing target
    client, clients = value_codes(frame, "client_ip")
    rows = to_polars(frame, ["status", "requested_at"]).with_columns(
        client.alias("client"), codes.alias("path"), probe_labels(paths).gather(codes).alias("label")
    )
    rows = rows.filter(pl.col("client").is_not_null())
    probe, nf = pl.col("label") != "", pl.col("status") == 404
    stats = rows.group_by("client").agg(
        probe.sum().cast(pl.Int64).alias("probes"),
        nf.sum().cast(pl.Int64).alias("not_found"),
        pl.col("path").n_unique().cast(pl.Int64).alias("distinct_paths"),
        pl.len().cast(pl.Int64).alias("requests"),
        pl.col("requested_at").min().alias("first_at"),
        pl.col("requested_at").max().alias("last_at"),
        pl.col("path").filter(nf).n_unique().cast(pl.Int64).alias("distinct_404_paths"),
        pl.col("label").filter(probe).unique().sort().str.join(",").alias("kinds"),
    )
    # One missing favicon is not a scan: keep IPs with a probe or a handful of distinct 404s.
    stats = (
        stats.filter((pl.col("probes") > 0) | (pl.col("distinct_404_paths") >= 5))
        .with_columns(named(clients, "client", "client_ip"))
        .sort(["probes", "distinct_404_paths", "client_ip"], descending=[True, True, False])
        .head(top)
    )
    probes = rows.filter(probe & pl.col("client").is_in(stats["client"].implode()))
    evidence = first_distinct(probes.with_columns(named(paths, "path", "path")), ["client"], "path", alias="evidence")
    stats = stats.join(evidence, on="client", how="left", maintain_order="left")
    out = to_pandas(stats.with_columns(pl.col("evidence").fill_null("")))
    out["not_found_share"] = (out["not_found"] / out["requests"]).round(3)
    return out[cols]


def rank_user_agents(frame: pd.DataFrame, *, top: int = 20) -> pd.DataFrame:
    """User agents worth a look: exploit payloads, attack tools, empty, scripts; then the
    rarest busy ones.

    Columns: ``user_agent``, ``category`` (payload|tool|empty|script|rare), ``requests``,
    ``clients``, ``failures`` (401/403/404), ``evidence`` (IPs).
    """
    cols = ["user_agent", "category", "requests", "clients", "failures", "evidence"]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    # Grouped on the columns' shared codes (:func:`value_codes`); a missing agent is "".
    agent, agents = missing_as(*column_codes(frame, "user_agent"), "")
    client, clients = value_codes(frame, "client_ip")
    rows = to_polars(frame, ["status"]).with_columns(agent.alias("agent"), client.alias("client"))
    totals = rows.group_by("agent").agg(
        pl.len().cast(pl.Int64).alias("requests"),
        pl.col("client").drop_nulls().n_unique().cast(pl.Int64).alias("clients"),
        pl.col("status").is_in((401, 403, 404)).sum().cast(pl.Int64).alias("failures"),
    )
    totals = totals.with_columns(named(agents, "agent", "user_agent"))
    out = to_pandas(totals.sort("user_agent"))
    name = out["user_agent"]
    out["category"] = np.select(
        [
            name.str.contains(PAYLOAD_AGENTS),
            name.str.contains(TOOL_AGENTS),
            name.str.contains(SCRIPT_AGENTS),
            name.isin(["", "-"]),
        ],
        ["payload", "tool", "script", "empty"],
        default="rare",
    )
    # "rare": one client only and busier than typical per-agent volume: a custom bot.
    typical = float(out["requests"].median())
    rare = (out["category"] == "rare") & (out["clients"] == 1) & (out["requests"] >= max(50.0, 5 * typical))
    out = out[(out["category"] != "rare") | rare]
    order = {"payload": 0, "tool": 1, "empty": 2, "script": 3, "rare": 4}
    out = out.assign(_o=out["category"].map(order)).sort_values(["_o", "requests"], ascending=[True, False])
    out = out.head(top).reset_index(drop=True)
    # evidence for the agents shown only: per (agent, client) pair it is most of the cost
    shown = rows.filter(pl.col("agent").is_in(pl.Series(out["agent"].to_numpy(), dtype=pl.UInt32).implode()))
    shown = shown.with_columns(named(clients, "client", "client_ip"))
    evidence = to_pandas(first_distinct(shown, ["agent"], "client_ip", alias="evidence"))
    out = out.merge(evidence, on="agent", how="left")
    out["evidence"] = out["evidence"].fillna("").astype("str")
    return out[cols]


def _robust_z(values: pd.Series) -> pd.Series:
    logs = pd.Series(np.log10(values.clip(lower=1).astype(float)), index=values.index)
    center = float(np.median(logs))
    mad = float(np.median(np.abs(logs - center))) or 0.1
    return ((logs - center) / (MAD_TO_SIGMA * mad)).round(1)


def rank_transfer(frame: pd.DataFrame, *, top: int = 20, z: float = 3.5, min_bytes: int = 50_000_000) -> pd.DataFrame:
    """IPs by response bytes, flagged when unusually large (possible exfiltration).

    ``flagged`` when the IP's total is at least *min_bytes*, its robust z-score (median
    and MAD of log10 per-IP totals) is at least *z*, and its bytes per request are unusual
    too (robust z >= 2): a busy NAT or partner integration moves many bytes in many
    ordinary responses, an export dump moves them in few huge ones. (Scraping page by page
    shows up as a burst in the rate-limit flow instead.) Columns: ``client_ip``,
    ``response_bytes``, ``requests``, ``bytes_per_request``, ``zscore``, ``flagged``,
    ``top_endpoint``, ``evidence`` (largest targets).
    """
    frame = with_endpoints(frame)
    cols = [
        "client_ip",
        "response_bytes",
        "requests",
        "bytes_per_request",
        "zscore",
        "flagged",
        "top_endpoint",
        "evidence",
    ]
    if frame.empty:
        return pd.DataFrame(columns=cols)
    (client, clients), (endpoint, endpoints) = value_codes(frame, "client_ip"), value_codes(frame, "endpoint")
    path, paths = column_codes(frame, "path")
    rows = to_polars(frame, ["response_bytes"]).with_columns(
        client.alias("client"), endpoint.alias("endpoint"), path.alias("path")
    )
    totals = (
        rows.filter(pl.col("client").is_not_null())
        .group_by("client")
        .agg(
            pl.col("response_bytes").sum().cast(pl.Int64).alias("response_bytes"),
            pl.len().cast(pl.Int64).alias("requests"),
        )
    )
    totals = totals.with_columns(named(clients, "client", "client_ip"))
    out = to_pandas(totals.sort("client_ip")).set_index("client_ip")
    out["bytes_per_request"] = (out["response_bytes"] / out["requests"]).round(0).astype("int64")
    out["zscore"] = _robust_z(out["response_bytes"])
    out["flagged"] = (
        (out["response_bytes"] >= min_bytes) & (out["zscore"] >= z) & (_robust_z(out["bytes_per_request"]) >= 2)
    )
    out = out.sort_values("response_bytes", ascending=False, kind="stable").head(top)
    # The top IPs' largest responses first: their endpoint and example targets.
    mine = rows.filter(pl.col("client").is_in(pl.Series(out["client"].to_numpy(), dtype=pl.UInt32).implode()))
    mine = mine.with_columns(
        named(clients, "client", "client_ip"), named(endpoints, "endpoint", "endpoint"), named(paths, "path", "path")
    )
    big = mine.sort(["response_bytes", ROW], descending=[True, False]).drop(ROW).with_row_index(ROW)
    detail = to_pandas(
        mode_by(big, ["client_ip"], "endpoint", alias="top_endpoint").join(
            first_distinct(big, ["client_ip"], "path", alias="evidence"), on="client_ip", how="left"
        )
    ).set_index("client_ip")
    out = out.join(detail)
    return out.rename_axis("client_ip").reset_index()[cols]


def ip_timeline(frame: pd.DataFrame, ip: str, *, limit: int = 500) -> pd.DataFrame:
    """Every request of one IP in time order (first *limit*), with the probe label."""
    cols = [
        "requested_at",
        "method",
        "path",
        "status",
        "response_bytes",
        "user_agent",
        "referer",
        "probe",
    ]
    mine = (
        select_rows(frame, equal_to(frame["client_ip"], str(ip))).sort_values("requested_at", kind="stable").head(limit)
    )
    return mine.assign(probe=mine["path"].map(classify_probe))[cols].reset_index(drop=True)


def choose_suspect(suspect_ip: str, candidates: Sequence[str]) -> str:
    """The IP to show a timeline for: the parameter if given, else the first candidate
    (the IPs the findings named, most severe first), else ``""``."""
    if str(suspect_ip).strip():
        return str(suspect_ip).strip()
    return str(candidates[0]) if len(candidates) else ""
