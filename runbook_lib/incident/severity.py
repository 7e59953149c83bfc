"""The runbook's severity model: P0-P3 definitions, targets, notification and escalation.

Everything the runbook says about severities (definitions, response and resolution
targets, notification rules, escalation times) is encoded here once; the triage flow,
the comms texts, the post-mortem and the index read it from here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pandas as pd

from runbook_lib.findings import Finding

Level = Literal["P0", "P1", "P2", "P3"]


@dataclass(frozen=True)
class SeverityPolicy:
    """What the runbook promises for one severity level."""

    level: Level
    name: str
    impact: str
    response_time: str
    resolution_target: str
    communication: str
    notify: str
    escalation: dict[str, str]
    update_every: str


POLICIES: dict[Level, SeverityPolicy] = {
    "P0": SeverityPolicy(
        "P0",
        "Critical",
        "Complete system outage, data loss, or security breach",
        "Immediate (acknowledge within 5 minutes)",
        "1-2 hours",
        "Immediate notification to all stakeholders",
        "Engineering Lead, Product Owner, Support Lead: immediately",
        {"L1 → L2": "15 minutes", "L2 → L3": "30 minutes", "L3 → Management": "Immediate"},
        "30 minutes",
    ),
    "P1": SeverityPolicy(
        "P1",
        "High",
        "Major functionality broken, significant user impact",
        "15 minutes",
        "4 hours",
        "Notify key stakeholders within 30 minutes",
        "Engineering Lead, Product Owner, Support Lead: within 30 minutes",
        {"L1 → L2": "30 minutes", "L2 → L3": "1 hour", "L3 → Management": "2 hours"},
        "30 minutes",
    ),
    "P2": SeverityPolicy(
        "P2",
        "Medium",
        "Degraded performance, workarounds available",
        "1 hour",
        "24 hours",
        "Status update in team channels",
        "Post a summary in the team Slack/Teams channel within 1 hour",
        {"L1 → L2": "2 hours", "L2 → L3": "4 hours", "L3 → Management": "Next business day"},
        "2 hours",
    ),
    "P3": SeverityPolicy(
        "P3",
        "Low",
        "Minor issues, minimal user impact",
        "Next business day",
        "7 days",
        "Tracked in issue tracker",
        "Create an issue in the tracker; no immediate notification",
        {"L1 → L2": "Next day", "L2 → L3": "As needed", "L3 → Management": "Not required"},
        "—",
    ),
}

#: 5xx share of requests at which the platform counts as unavailable (runbook P0 example).
OUTAGE_ERROR_RATE = 0.90
#: 5xx share that means major functionality is broken for many users (P1).
MAJOR_ERROR_RATE = 0.10
#: 5xx share that counts as "elevated error rates" (P2).
ELEVATED_ERROR_RATE = 0.01


@dataclass
class Assessment:
    """The runbook's initial-assessment checklist, as parameters, plus what we measured."""

    users_affected_pct: float | None = None
    data_loss: bool = False
    security_breach: bool = False
    core_functionality: bool = False
    revenue_impact: bool = False
    workaround: bool = False
    error_rate: float | None = None  # measured share of 5xx responses in the window (0..1)

    @classmethod
    def from_parameters(
        cls,
        users_affected_pct: float,
        data_loss: bool,
        security_breach: bool,
        core_functionality: bool,
        revenue_impact: bool,
        workaround: bool,
        *,
        error_rate: float | None = None,
    ) -> Assessment:
        """From notebook parameters, where a negative ``users_affected_pct`` means unknown."""
        return cls(
            None if users_affected_pct is None or users_affected_pct < 0 else float(users_affected_pct),
            bool(data_loss),
            bool(security_breach),
            bool(core_functionality),
            bool(revenue_impact),
            bool(workaround),
            error_rate,
        )


@dataclass
class SeverityDecision:
    level: Level
    reasons: list[str] = field(default_factory=list)

    @property
    def policy(self) -> SeverityPolicy:
        return POLICIES[self.level]

    def to_dict(self) -> dict[str, Any]:
        return {"level": self.level, "reasons": list(self.reasons), "policy": asdict(self.policy)}

    def as_frame(self) -> pd.DataFrame:
        """The decision and the runbook's promises for it, as a two-column table."""
        p = self.policy
        rows = [
            ("Suggested severity", f"{p.level} ({p.name}): {p.impact}"),
            *[("Reason", r) for r in self.reasons],
            ("Response time", p.response_time),
            ("Resolution target", p.resolution_target),
            ("Communication", p.communication),
            ("Notify", p.notify),
            *[(f"Escalate {k}", v) for k, v in p.escalation.items()],
            ("Status updates every", p.update_every),
        ]
        return pd.DataFrame(rows, columns=["item", "value"])


def suggest_severity(a: Assessment) -> SeverityDecision:
    """Map the checklist answers and the measured error rate to P0-P3, with the reasons.

    The highest level any rule reaches wins; every rule that fired is listed.
    """
    hits: list[tuple[Level, str]] = []
    users = a.users_affected_pct
    if a.data_loss:
        hits.append(("P0", "data loss or corruption risk"))
    if a.security_breach:
        hits.append(("P0", "security breach or vulnerability exploitation"))
    if users is not None and users > 25:
        hits.append(("P0", f"{users:g}% of users affected (>25%)"))
    if a.error_rate is not None and a.error_rate >= OUTAGE_ERROR_RATE:
        hits.append(("P0", f"{a.error_rate:.0%} of requests fail: platform effectively unavailable"))
    if users is not None and 10 <= users <= 25:
        hits.append(("P1", f"{users:g}% of users affected (10-25%)"))
    if a.core_functionality and not a.workaround:
        hits.append(("P1", "core functionality unavailable with no workaround"))
    if a.revenue_impact:
        hits.append(("P1", "revenue is impacted"))
    if a.error_rate is not None and MAJOR_ERROR_RATE <= a.error_rate < OUTAGE_ERROR_RATE:
        hits.append(("P1", f"{a.error_rate:.1%} of requests fail (≥{MAJOR_ERROR_RATE:.0%})"))
    if a.core_functionality and a.workaround:
        hits.append(("P2", "core functionality degraded but a workaround exists"))
    if users is not None and 0 < users < 10:
        hits.append(("P2", f"{users:g}% of users affected (<10%)"))
    if a.error_rate is not None and ELEVATED_ERROR_RATE <= a.error_rate < MAJOR_ERROR_RATE:
        hits.append(("P2", f"elevated error rate: {a.error_rate:.1%} of requests fail"))
    if not hits:
        return SeverityDecision("P3", ["minimal measured or reported user impact"])
    level = min(level for level, _ in hits)  # "P0" < "P1" < …
    return SeverityDecision(level, [f"{lvl}: {why}" for lvl, why in sorted(hits)])


_FINDING_SEVERITY = {"P0": "critical", "P1": "high", "P2": "medium", "P3": "low"}


def severity_finding(decision: SeverityDecision) -> Finding:
    """The severity suggestion as a finding (its severity mirrors the P-level)."""
    p = decision.policy
    return Finding(
        "severity",
        _FINDING_SEVERITY[decision.level],  # type: ignore[arg-type]
        f"Suggested severity {p.level} ({p.name}) because {'; '.join(decision.reasons)}. "
        f"Acknowledge within {p.response_time.lower()}, resolve within {p.resolution_target}; "
        f"{p.communication.lower()}.",
        {"level": p.level},
    )


# --- the incident record ------------------------------------------------------------------
