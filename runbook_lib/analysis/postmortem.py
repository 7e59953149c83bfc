"""Post-mortem numbers, defined once: response metrics, response vs targets, error budget,
the merged timeline and the key series. Pure: frames and dicts in, frames and dicts out.

Severity ladder of :func:`find_postmortem_findings` (the meeting's own verdict):

==============  =====================================================================
finding         severity: evidence
==============  =====================================================================
error_budget    high: the incident burnt >= ``BUDGET_ALARM_PCT`` (25 %) of the period's
                error budget; low: less
response        medium: a response or resolution target of the severity was missed;
                info: met
metrics         unknown: a milestone is missing, so that metric cannot be computed
==============  =====================================================================
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from runbook_lib.findings import Finding, Severity
from runbook_lib.incident.severity import POLICIES

#: metric key -> (label, later milestone, earlier milestone). The definitions are printed
#: in the report so nobody argues what "MTTR" means.
METRICS: dict[str, tuple[str, str, str]] = {
    "time_to_detect_s": ("Time to detect", "detected_at", "impact_started_at"),
    "time_to_acknowledge_s": ("Time to acknowledge", "acknowledged_at", "detected_at"),
    "time_to_mitigate_s": ("Time to mitigate", "mitigated_at", "impact_started_at"),
    "time_to_resolve_s": ("Time to resolve", "resolved_at", "impact_started_at"),
    "duration_s": ("Duration (detection to resolution)", "resolved_at", "detected_at"),
}
#: An incident that burns this share of the period's error budget is itself a high finding
#: (a quarter of a month's budget in one incident leaves little room for the rest).
BUDGET_ALARM_PCT = 25.0
_NUMBER_UNIT = re.compile(r"(\d+)(?:-(\d+))?\s*(minute|hour|day)s?")
_UNITS = {"minute": pd.Timedelta(minutes=1), "hour": pd.Timedelta(hours=1), "day": pd.Timedelta(days=1)}


def _ts(milestones: Mapping[str, Any], name: str) -> pd.Timestamp | None:
    value = milestones.get(name)
    return pd.Timestamp(value).tz_convert("UTC") if value else None


def human(seconds: float | None) -> str:
    """``3725`` → ``1 h 02 min 05 s``; None → ``n/a``."""
    if seconds is None:
        return "n/a"
    total = int(round(abs(seconds)))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    text = f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s"
    return f"-{text}" if seconds < 0 else text


def compute_metrics(milestones: Mapping[str, Any]) -> tuple[dict[str, float | None], list[str]]:
    """The five response metrics in seconds (None when a milestone is missing) and, for
    each missing one, a sentence saying which milestone is absent."""
    values: dict[str, float | None] = {}
    missing: list[str] = []
    for key, (label, later, earlier) in METRICS.items():
        a, b = _ts(milestones, later), _ts(milestones, earlier)
        if a is None or b is None:
            absent = " and ".join(n for n, t in ((earlier, b), (later, a)) if t is None)
            verb = "are" if " and " in absent else "is"
            missing.append(f"{label} is unknown: {absent} {verb} not recorded.")
            values[key] = None
        else:
            values[key] = (a - b).total_seconds()
    return values, missing


def metrics_table(values: Mapping[str, float | None]) -> pd.DataFrame:
    rows = [
        {
            "metric": label,
            "definition": f"{later} − {earlier}",
            "seconds": values.get(key),
            "value": human(values.get(key)),
        }
        for key, (label, later, earlier) in METRICS.items()
    ]
    return pd.DataFrame(rows)


def target_delta(text: str) -> pd.Timedelta | None:
    """A runbook target as a duration: ``"1-2 hours"`` → 2 h (the upper bound),
    ``"Immediate (acknowledge within 5 minutes)"`` → 5 min, ``"Next business day"`` → 1 day."""
    if "next business day" in text.lower():
        return pd.Timedelta(days=1)
    match = _NUMBER_UNIT.search(text)
    if not match:
        return None
    return int(match[2] or match[1]) * _UNITS[match[3]]


def response_verdict(level: str | None, values: Mapping[str, float | None]) -> pd.DataFrame:
    """Acknowledged within the response time (from detection)? Resolved within the
    resolution target (from impact start)? Met, or missed by how much."""
    columns = ["target", "promised", "actual", "verdict"]
    if level not in POLICIES:
        return pd.DataFrame([{"target": "severity", "promised": "", "actual": "", "verdict": "no severity recorded"}])
    policy = POLICIES[level]
    rows = []
    for name, text, key in (
        ("Response (acknowledge)", policy.response_time, "time_to_acknowledge_s"),
        ("Resolution", policy.resolution_target, "time_to_resolve_s"),
    ):
        limit, actual = target_delta(text), values.get(key)
        if actual is None or limit is None:
            verdict = "unknown: milestone missing" if actual is None else "no fixed target"
        elif actual <= limit.total_seconds():
            verdict = "met"
        else:
            verdict = f"missed by {human(actual - limit.total_seconds())}"
        rows.append({"target": name, "promised": text, "actual": human(actual), "verdict": verdict})
    return pd.DataFrame(rows, columns=columns)


def error_budget(
    access: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp | None, *, slo_target: float, period_days: float
) -> dict[str, Any]:
    """SLO impact: failed (5xx) requests in [impact start, resolution) ÷ ((1 − slo) ×
    expected requests in the SLO period), expected = the request rate over that interval ×
    the period. *slo_target* is a percentage (99.9)."""
    out: dict[str, Any] = {"requests": 0, "failed": 0, "consumed_pct": None, "sentence": ""}
    if start is None or end is None:
        out["sentence"] = "Error budget unknown: impact start or resolution is not recorded."
        return out
    if access.empty:
        out["sentence"] = "Error budget unknown: no access log lines in the impact interval."
        return out
    in_range = access[(access["requested_at"] >= start) & (access["requested_at"] < end)]
    requests, failed = len(in_range), int((in_range["status"] >= 500).sum())
    seconds = (end - start).total_seconds()
    out.update(requests=requests, failed=failed)
    if requests == 0 or seconds <= 0:
        out["sentence"] = "Error budget unknown: no requests between impact start and resolution."
        return out
    expected = requests / seconds * period_days * 86400
    budget = (1 - slo_target / 100) * expected
    out["consumed_pct"] = 100 * failed / budget
    out["sentence"] = (
        f"{failed} of {requests} requests failed (5xx) between impact start and resolution: "
        f"{out['consumed_pct']:.2f}% of the {period_days:g}-day error budget at a {slo_target:g}% SLO "
        f"(budget {budget:.0f} failed requests)."
    )
    return out


def per_minute(access: pd.DataFrame) -> pd.DataFrame:
    """Requests, 5xx and 429 per minute: the key series for the post-mortem chart."""
    if access.empty:
        return pd.DataFrame(columns=["minute_at", "requests", "errors_5xx", "limited_429"])
    frame = pd.DataFrame(
        {
            "minute_at": access["requested_at"].dt.floor("min"),
            "requests": 1,
            "errors_5xx": (access["status"] >= 500).astype(int),
            "limited_429": (access["status"] == 429).astype(int),
        }
    )
    return frame.groupby("minute_at", as_index=False).sum()


def merge_timeline(
    record: Mapping[str, Any], runs: Sequence[Mapping[str, Any]], deploys: pd.DataFrame, *, top: int = 2
) -> pd.DataFrame:
    """Record events, each run's top findings, deploys: one table in time order (UTC)."""
    rows: list[dict[str, Any]] = [
        {"at": pd.Timestamp(e["at"]), "source": e.get("kind", "record"), "event": str(e.get("event", ""))}
        for e in record.get("timeline") or []
    ]
    for run in runs:
        at = str(run.get("recorded_at") or "")
        for f in [f for f in run.get("findings") or [] if f.get("severity") not in ("info", "unknown")][:top]:
            rows.append({"at": pd.Timestamp(at), "source": f"finding ({run.get('flow')})", "event": f["summary"]})
    for _, d in deploys.iterrows():
        rows.append({"at": d["deployed_at"], "source": "deploy", "event": f"deploy {d['short_sha']}: {d['subject']}"})
    if not rows:
        return pd.DataFrame(columns=["at", "source", "event"])
    frame = pd.DataFrame(rows)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame.sort_values("at", kind="stable").reset_index(drop=True)


def find_postmortem_findings(verdict: pd.DataFrame, budget: Mapping[str, Any], missing: Sequence[str]) -> list[Finding]:
    """Missed targets and a spent error budget as findings; missing milestones as unknown."""
    out: list[Finding] = []
    for row in verdict.to_dict("records"):
        said = f"{row['target']} target {row['verdict']} ({row['actual']} against {row['promised']})."
        if str(row["verdict"]).startswith("missed"):
            out.append(Finding("response", "medium", said, {"target": row["target"]}))
        elif row["verdict"] == "met":
            out.append(Finding("response", "info", said, {"target": row["target"]}))
    pct = budget.get("consumed_pct")
    if pct is not None:
        level: Severity = "high" if pct >= BUDGET_ALARM_PCT else "low"
        numbers = {"consumed_pct": pct, "failed": budget["failed"], "requests": budget["requests"]}
        out.append(Finding("error_budget", level, str(budget["sentence"]), numbers))
    out.extend(Finding("metrics", "unknown", m) for m in missing)
    return out
