"""Findings for the security-alert flow (runbook Incident 7), from the ranked tables in
:mod:`runbook_lib.analysis.security`.

Each ``find_*`` returns one :class:`Finding` naming the IPs (``numbers["ips"]`` feeds the
containment text). Thresholds are parameters; the defaults keep a normal day's stray 401s
and 404s quiet. ``unknown`` when the access log could not be read.

Severity ladder, graded by evidence (volume, breadth, success), not by how scary a string
looks: every public site gets a few probes an hour.

=====================  ======================================================================
finding                severity: evidence
=====================  ======================================================================
credential_stuffing    high: >= ``STUFFING_HIGH_FAILURES`` (500) failed logins from the flagged
                       IPs, or one of them then got a 2xx on the login endpoint (success);
                       medium: >= ``STUFFING_MEDIUM_FAILURES`` (100), or failures spread over
                       >= ``STUFFING_MEDIUM_USERS`` (10) user names; low: flagged (>= 20
                       failures, mostly failing) but fewer: one client with a stale password
scanner                high: a probe for secrets (dotfiles, backups, traversal) answered 2xx
                       (data out), or a campaign (>= ``SCANNER_CAMPAIGN_PROBES`` (20) probes
                       or a 404 spray over >= 20 paths) with injection, traversal or shell
                       probes; medium: a campaign of other probes (WordPress, admin panels);
                       low: a handful of probes, none answered 2xx: background noise
unusual_user_agents    see :func:`find_user_agents` (high: exploit payloads in >= 20
                       requests; medium: attack tools in >= 20; low: a handful)
large_transfers        high: an IP downloaded >= 50 MB at a robust z >= 3.5 over everyone
                       else (``rank_transfer``): data out
app_auth_failures      medium: >= ``min_failures`` (20) failures logged by the app; else info
=====================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import polars as pl

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, rank, unknown

from ._polars import to_polars
from .security import probe_labels
from .traffic_findings import name_list

#: Failed logins from the flagged IPs from which stuffing is high / medium.
STUFFING_HIGH_FAILURES = 500
STUFFING_MEDIUM_FAILURES = 100
#: Distinct user names tried from which a smaller stuffing run is medium (breadth).
STUFFING_MEDIUM_USERS = 10
#: Probes from one IP from which it is a campaign, not the background (a few an hour).
SCANNER_CAMPAIGN_PROBES = 20
#: Probe kinds whose 2xx answer means data left (a secret file, a backup, a traversal).
SECRET_PROBES = ("dotfile", "backup_file", "traversal")
#: Probe kinds that try to run something: high when sent as a campaign.
EXPLOIT_PROBES = ("sql_injection", "traversal", "shell")


def _answered_to(frame: pd.DataFrame, ips: list[str]) -> pl.DataFrame:
    """The 2xx answers to *ips*: ``path`` and ``status``, in frame order (in polars: a row
    mask over the whole Arrow-backed frame took ~0.6 s per column on 5M rows)."""
    rows = to_polars(frame, ["client_ip", "status", "path"])
    return rows.filter(
        pl.col("client_ip").is_in(pl.Series(ips, dtype=pl.String).implode()) & pl.col("status").is_between(200, 299)
    )


def _login_successes(frame: pd.DataFrame, ips: list[str], endpoint: str) -> int:
    """2xx answers on *endpoint* to the flagged IPs: a stuffed password that worked."""
    answered = _answered_to(frame, ips)
    return int((answered["path"].fill_null("nan").str.split("?").list.first() == endpoint).sum())


def _secret_hits(frame: pd.DataFrame, ips: list[str]) -> list[str]:
    """Secret-file probes from *ips* that were answered 2xx (the paths, first 5)."""
    paths = _answered_to(frame, ips)["path"].fill_null("nan").unique(maintain_order=True)
    labels = probe_labels(paths)
    return paths.filter(labels.is_in(list(SECRET_PROBES))).head(5).to_list()


def find_credential_stuffing(
    collected: Collected, ranked: pd.DataFrame, *, min_failures: int = 20, min_share: float = 0.5
) -> Finding:
    """IPs with many failed logins that mostly fail: credential stuffing or brute force."""
    kind = "credential_stuffing"
    if not collected.usable:
        return unknown(kind, collected, "whether anyone is brute-forcing logins")
    bad = ranked[(ranked["failures"] >= min_failures) & (ranked["failure_share"] >= min_share)]
    total = int(ranked["failures"].sum()) if not ranked.empty else 0
    if bad.empty:
        return Finding(
            kind,
            "info",
            f"{total} failed authentications, none concentrated on one IP "
            f"(threshold {min_failures} failures at ≥{min_share:.0%} of its requests).",
            numbers={"failures": total},
        )
    top = bad.iloc[0]
    failures, users = int(bad["failures"].sum()), int(bad["users"].max())
    successes = _login_successes(collected.frame, bad["client_ip"].astype("str").tolist(), str(top["top_endpoint"]))
    severity: Severity = (
        "high"
        if failures >= STUFFING_HIGH_FAILURES or successes
        else "medium"
        if failures >= STUFFING_MEDIUM_FAILURES or users >= STUFFING_MEDIUM_USERS
        else "low"
    )
    summary = (
        f"Credential stuffing suspected from {name_list(bad['client_ip'].tolist())}: "
        f"{failures} failed authentications, mostly on `{top['top_endpoint']}` "
        f"({top['failure_share']:.0%} of `{top['client_ip']}`'s requests failed)"
        + (f"; {successes} login(s) from them succeeded (2xx)." if successes else ".")
    )
    return Finding(
        kind,
        severity,
        summary,
        numbers={
            "ips": bad["client_ip"].tolist()[:20],
            "failures": failures,
            "users": users,
            "successes": successes,
            "endpoint": top["top_endpoint"],
        },
        evidence=[f"client_ip:{ip}" for ip in bad["client_ip"].head(10)],
    )


def find_scanners(
    collected: Collected,
    ranked: pd.DataFrame,
    *,
    min_probes: int = 3,
    min_404_paths: int = 20,
    min_404_share: float = 0.3,
) -> Finding:
    """IPs probing for secrets/admin panels/injection, or spraying 404s."""
    kind = "scanner"
    if not collected.usable:
        return unknown(kind, collected, "whether anyone is scanning the site")
    bad = ranked[
        (ranked["probes"] >= min_probes)
        | ((ranked["distinct_404_paths"] >= min_404_paths) & (ranked["not_found_share"] >= min_404_share))
    ]
    if bad.empty:
        return Finding(kind, "info", "No IP probed for known-sensitive paths or sprayed 404s.")
    top = bad.iloc[0]
    ips = bad["client_ip"].astype("str").tolist()
    leaked = _secret_hits(collected.frame, ips)
    campaign = bad[
        (bad["probes"] >= SCANNER_CAMPAIGN_PROBES)
        | ((bad["distinct_404_paths"] >= min_404_paths) & (bad["not_found_share"] >= min_404_share))
    ]
    exploits = any(k in str(kinds) for kinds in campaign["kinds"] for k in EXPLOIT_PROBES)
    severity: Severity = "high" if leaked or (len(campaign) and exploits) else "medium" if len(campaign) else "low"
    lead = (
        f"Scanners {name_list(bad['client_ip'].tolist())}: `{top['client_ip']}`"
        if len(bad) > 1
        else f"Scanner `{top['client_ip']}`"
    )
    if leaked:
        verdict = f"; answered 2xx on {name_list(leaked, 2)}: check what was served."
    elif len(campaign):
        verdict = "."
    else:
        verdict = ": a handful, none answered 2xx (background probing)."
    summary = (
        f"{lead} sent {top['probes']} probes ({top['kinds'] or '404 spray'}) and hit "
        f"{top['distinct_404_paths']} distinct 404 paths{verdict}"
    )
    return Finding(
        kind,
        severity,
        summary,
        numbers={
            "ips": bad["client_ip"].tolist()[:20],
            "probes": int(bad["probes"].sum()),
            "campaign_ips": len(campaign),
            "answered_2xx": leaked,
        },
        evidence=[f"client_ip:{ip}" for ip in bad["client_ip"].head(10)],
    )


#: Requests with exploit-looking or attack-tool user agents from which it is a campaign, not
#: the background noise every public site gets all day (a few probes an hour, issue 15).
PERSISTENT_AGENT_REQUESTS = 20


def find_user_agents(collected: Collected, ranked: pd.DataFrame) -> Finding:
    """Unusual user agents, graded by evidence, not by how scary the string looks.

    ======================================  ========
    evidence                                severity
    ======================================  ========
    exploit payloads, >= 20 requests        high
    attack tools, >= 20 requests            medium
    payloads or tools, a handful            low
    only script or empty agents             low
    none                                    info
    ======================================  ========
    """
    kind = "unusual_user_agents"
    if not collected.usable:
        return unknown(kind, collected, "whether unusual user agents are present")
    tools = ranked[ranked["category"].isin(["payload", "tool"])]
    if tools.empty:
        others = ranked[ranked["category"].isin(["empty", "script"])]
        if others.empty:
            return Finding(kind, "info", "No attack-tool, script or empty user agents.")
        return Finding(
            kind,
            "low",
            f"{len(others)} script/empty user agent(s), busiest from "
            f"{name_list(others.iloc[0]['evidence'].split(' | '))}.",
            numbers={"agents": len(others)},
        )
    ips = [ip for ev in tools["evidence"] for ip in ev.split(" | ")]
    payloads = tools[tools["category"] == "payload"]
    payload = not payloads.empty
    requests = int(tools["requests"].sum())
    persistent = requests >= PERSISTENT_AGENT_REQUESTS
    severity: Severity = ("high" if payload else "medium") if persistent else "low"
    what = "Exploit payload(s) in the user agent" if payload else "Attack-tool user agent(s)"
    volume = f"{requests} request(s)" + ("" if persistent else ", a handful: background probing")
    return Finding(
        kind,
        severity,
        f"{what} from {name_list(ips)} ({volume}): {name_list(tools['user_agent'].str.slice(0, 60).tolist(), 2)}.",
        numbers={"agents": len(tools), "ips": ips[:20], "payload": payload, "requests": requests},
        evidence=[f"client_ip:{ip}" for ip in ips[:10]],
    )


def find_exfiltration(collected: Collected, ranked: pd.DataFrame) -> Finding:
    """IPs that downloaded far more than everyone else (possible data exfiltration)."""
    kind = "large_transfers"
    if not collected.usable:
        return unknown(kind, collected, "whether any IP downloaded unusually much")
    bad = ranked[ranked["flagged"]]
    if bad.empty:
        return Finding(kind, "info", "No IP downloaded unusually many bytes.")
    top = bad.iloc[0]
    summary = (
        f"Unusually large downloads by {name_list(bad['client_ip'].tolist())}: "
        f"`{top['client_ip']}` "
        f"received {top['response_bytes'] / 1e6:.0f} MB in {top['requests']} requests, "
        f"mostly `{top['top_endpoint']}` (robust z {top['zscore']})."
    )
    return Finding(
        kind,
        "high",
        summary,
        numbers={"ips": bad["client_ip"].tolist()[:20], "bytes": int(bad["response_bytes"].sum())},
        evidence=[f"client_ip:{ip}" for ip in bad["client_ip"].head(10)],
    )


def suspicious_ips(*findings: Finding) -> list[str]:
    """IPs named by the findings (``numbers['ips']``), most severe finding first, for the
    timeline and the containment text."""
    seen: dict[str, None] = {}
    for finding in rank(findings):
        for ip in finding.numbers.get("ips", []):
            seen.setdefault(str(ip), None)
    return list(seen)


def security_next_steps(findings: Sequence[Finding]) -> list[str]:
    """Runbook Incident 7 resolution steps, filled in with what this run found."""
    steps = []
    ips = suspicious_ips(*findings)
    if ips:
        steps.append(
            f"Immediate: review and apply the containment rules for {', '.join(ips[:10])} "
            "(nginx deny / iptables, shown as text in the report)."
        )
    if any(f.kind == "credential_stuffing" and f.severity not in ("info", "unknown") for f in findings):
        steps.append(
            "Short-term: force password resets / revoke sessions for accounts that logged in "
            "from the stuffing IPs; add login rate limiting and MFA."
        )
    vulnerable = [f for f in findings if f.kind.startswith("vulnerabilities_") and f.numbers.get("packages")]
    if vulnerable:
        steps.append(
            "Medium-term: patch vulnerable dependencies (npm audit fix / upgrade to the fix "
            "versions listed), test, deploy to staging, then production."
        )
    if any(f.severity == "unknown" for f in findings):
        steps.append("Some evidence could not be read (see the source table): fix the source and re-run.")
    steps.append("Long-term: security hardening per the runbook (allow-lists, MFA, monitoring, audits).")
    return steps


def find_app_auth_failures(collected: Collected, failures: pd.DataFrame, *, min_failures: int = 20) -> Finding:
    """Failed authentications the application logged (``detect_app_auth_failures`` rows)."""
    kind = "app_auth_failures"
    if collected.status == "skipped":
        return Finding(kind, "info", "No app log given; app-level authentication failures not checked.")
    if not collected.usable:
        return unknown(kind, collected, "how many logins the application rejected")
    if len(failures) < min_failures:
        return Finding(
            kind,
            "info",
            f"{len(failures)} authentication failure(s) in the app log (threshold {min_failures}).",
            numbers={"failures": len(failures)},
        )
    ips = failures.loc[failures["client_ip"] != "", "client_ip"].value_counts()
    named = f" from {name_list(ips.index.tolist())}" if len(ips) else ""
    return Finding(
        kind,
        "medium",
        f"The application logged {len(failures)} authentication failures{named}.",
        numbers={"failures": len(failures), "ips": ips.index.tolist()[:20]},
        evidence=[f"client_ip:{ip}" for ip in ips.index[:10]],
    )
