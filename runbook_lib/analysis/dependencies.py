"""Which dependency is down or slow: findings from the dependency health-check frame.

Input: a :class:`Collected` whose frame follows ``DEPENDENCY_SCHEMA`` (check, target, ok,
status, latency_s, detail, checked_at), as made by ``collect_dependencies``. Pure: this
module never performs a check itself.

Severity ladder (each check is a direct observation made now, not a statistic: a
dependency that does not answer is down for every request that needs it):

=========  ==========================================================================
severity   evidence
=========  ==========================================================================
high       no answer within the timeout, refused, TLS handshake failed, name does not
           resolve, an HTTP 5xx, any other failure
medium     an HTTP 4xx (the check or the route is wrong), our credentials rejected, or
           an answer slower than ``SLOW_S`` (1 s)
info       every dependency answered in time
unknown    no checks configured or the checks could not run
=========  ==========================================================================
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, Severity, unknown

KIND = "dependency"
#: An answer slower than this is worth a finding: health endpoints and ``SELECT 1`` answer
#: in milliseconds when healthy; a second means queueing, a saturated pool or a slow network.
SLOW_S = 1.0

_NAMES = {"http": "GET", "postgres": "PostgreSQL", "redis": "redis", "dns": "DNS name"}
_TIMEOUTS = {"timeout"}


def find_dependency_findings(collected: Collected, *, slow_s: float = SLOW_S) -> list[Finding]:
    """One finding per failing dependency, one per slow one, or one ``info`` if all answered.

    An unusable source (skipped, unavailable) gives one ``unknown`` finding: we did not
    check, so we cannot say the dependencies are fine.
    """
    if not collected.usable:
        return [unknown(KIND, collected, "whether the dependencies (HTTP, PostgreSQL, Redis, DNS) answer")]
    frame = collected.frame
    if frame.empty:
        return [unknown(KIND, collected, "whether the dependencies answer: no check produced a row")]
    timeout_s = collected.meta.get("timeout_s")
    findings: list[Finding] = []
    rows: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for row in rows:
        if row["status"] == "config error":
            findings.append(_config_finding(row))
        elif not row["ok"]:
            findings.append(_down_finding(row, timeout_s))
        elif float(row["latency_s"]) > slow_s:
            findings.append(_slow_finding(row, slow_s))
    if not findings:
        findings.append(_all_answered(frame))
    return findings


def _subject(row: dict[str, Any]) -> str:
    return f"{_NAMES.get(row['check'], row['check'])} {row['target']}"


def _numbers(row: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "check": row["check"],
        "target": row["target"],
        "status": row["status"],
        "latency_s": round(float(row["latency_s"]), 3),
        **extra,
    }


def _evidence(row: dict[str, Any]) -> list[str]:
    return [f"source:dependencies:{row['check']}:{row['target']}"]


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.0f} s"


def _down_finding(row: dict[str, Any], timeout_s: Any) -> Finding:
    subject, status, detail = _subject(row), str(row["status"]), str(row["detail"])
    latency = float(row["latency_s"])
    severity: Severity = "high"
    if status in _TIMEOUTS:
        waited = float(timeout_s) if isinstance(timeout_s, int | float) else latency
        text = f"{subject} did not answer within {waited:g} s"
    elif status == "refused":
        text = f"{subject} refused connections: {detail}"
    elif status == "tls error":
        text = f"{subject} failed the TLS handshake: {detail}"
    elif status.isdigit():
        code = int(status)
        severity = "high" if code >= 500 else "medium"
        text = f"{subject} returned {code} in {_seconds(latency)}"
    elif row["check"] == "dns":
        text = f"{subject} does not resolve ({status}): {detail}"
    elif status == "auth failed":
        severity = "medium"
        text = f"{subject} rejected our credentials: {detail}"
    else:
        text = f"{subject} failed ({status}): {detail}"
    return Finding(KIND, severity, text, numbers=_numbers(row), evidence=_evidence(row))


def _slow_finding(row: dict[str, Any], slow_s: float) -> Finding:
    latency = float(row["latency_s"])
    text = f"{_subject(row)} answered {row['status']} but took {_seconds(latency)} (over the {slow_s:g} s threshold)"
    return Finding(KIND, "medium", text, numbers=_numbers(row, threshold_s=slow_s), evidence=_evidence(row))


def _config_finding(row: dict[str, Any]) -> Finding:
    return Finding(
        KIND,
        "unknown",
        f"Cannot tell whether {_subject(row)} answers: {row['detail']}",
        numbers=_numbers(row),
        evidence=_evidence(row),
    )


def _all_answered(frame: pd.DataFrame) -> Finding:
    slowest = frame.sort_values("latency_s", ascending=False).iloc[0]
    kinds = ", ".join(sorted(set(frame["check"])))
    text = (
        f"All {len(frame)} dependencies answered ({kinds}); slowest: "
        f"{_NAMES.get(slowest['check'], slowest['check'])} {slowest['target']} "
        f"in {_seconds(float(slowest['latency_s']))}"
    )
    return Finding(
        KIND,
        "info",
        text,
        numbers={
            "checked": int(len(frame)),
            "slowest_target": str(slowest["target"]),
            "slowest_latency_s": round(float(slowest["latency_s"]), 3),
        },
        evidence=["source:dependencies"],
    )
