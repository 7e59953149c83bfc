"""Incidents: ids, the runbook's severity model, and the incident record on disk.

Everything the runbook says about severities (definitions, response and resolution
targets, notification rules, escalation times) is encoded here once; the triage flow,
the comms texts and the index read it from here.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from runbook_lib.errors import ParameterError
from runbook_lib.findings import Finding
from runbook_lib.paths import reports_root
from runbook_lib.redact import redact, redact_obj
from runbook_lib.store import read_json, write_json
from runbook_lib.timewindow import utc_now

INCIDENT_ID = re.compile(r"^INC-(\d{4})-(\d{2})-(\d{2})-(\d{3})$")
INCIDENT_FILE = "incident.json"
Level = Literal["P0", "P1", "P2", "P3"]


# --- ids -------------------------------------------------------------------------------


def validate_incident_id(value: str) -> str:
    """Return *value* if it is ``INC-YYYY-MM-DD-NNN`` with a real date, else raise."""
    match = INCIDENT_ID.match(value or "")
    if not match:
        raise ParameterError(f"{value!r} is not an incident id like INC-2025-10-24-001", key="incident_id")
    try:
        pd.Timestamp(f"{match[1]}-{match[2]}-{match[3]}")
    except ValueError as err:
        raise ParameterError(f"{value!r} has an impossible date", key="incident_id") from err
    return value


def allocate_incident_id(root: Path | None = None, *, now: pd.Timestamp | None = None) -> str:
    """Reserve the next ``INC-<UTC date>-NNN`` by creating its folder.

    ``mkdir`` is atomic, so two concurrent callers can never get the same id: the loser
    sees ``FileExistsError`` and takes the next number.
    """
    root = reports_root() if root is None else root
    root.mkdir(parents=True, exist_ok=True)
    day = (utc_now() if now is None else now).strftime("%Y-%m-%d")
    taken = [int(p.name[-3:]) for p in root.glob(f"INC-{day}-[0-9][0-9][0-9]")]
    number = max(taken, default=0) + 1
    while number <= 999:
        candidate = f"INC-{day}-{number:03d}"
        try:
            (root / candidate).mkdir()
        except FileExistsError:
            number += 1
            continue
        return candidate
    raise ParameterError(f"no incident ids left for {day} (999 used)", key="incident_id")


# --- severity model (runbook "Incident Severity Definitions" and "Escalation Matrix") ----


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


def incident_dir(incident_id: str, root: Path | None = None) -> Path:
    return (reports_root() if root is None else root) / validate_incident_id(incident_id)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise read-modify-write of incident.json across processes."""
    with open(path.parent / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def create_incident(
    title: str,
    *,
    root: Path | None = None,
    severity: str = "",
    reporter: str = "",
    now: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Allocate an id and write ``reports/<id>/incident.json``; return the record."""
    if not title.strip():
        raise ParameterError("an incident needs a title", key="title")
    if severity and severity not in POLICIES:
        raise ParameterError(f"{severity!r} is not one of P0, P1, P2, P3", key="severity")
    root = reports_root() if root is None else root
    when = utc_now() if now is None else now
    incident_id = allocate_incident_id(root, now=when)
    record: dict[str, Any] = {
        "id": incident_id,
        "title": redact(title.strip()),
        "created_at": when.isoformat(),
        "reporter": redact(reporter or os.environ.get("USER", "")),
        "severity": severity or None,
        "status": "Investigating",
        "timeline": [{"at": when.isoformat(), "event": "incident opened", "kind": "opened"}],
        "runs": [],
    }
    write_json(root / incident_id / INCIDENT_FILE, record)
    return record


def load_incident(incident_id: str, root: Path | None = None) -> dict[str, Any]:
    path = incident_dir(incident_id, root) / INCIDENT_FILE
    if not path.exists():
        raise ParameterError(f"no incident {incident_id} (create it with `runbook new --title …`)", key="incident")
    data = read_json(path)
    if not isinstance(data, dict):
        raise ParameterError(f"{path} is not an incident record", key="incident")
    return data


def update_incident(incident_id: str, change: Any, root: Path | None = None) -> dict[str, Any]:
    """Apply ``change(record)`` under a file lock and write the record back atomically."""
    path = incident_dir(incident_id, root) / INCIDENT_FILE
    with _locked(path):
        record = load_incident(incident_id, root)
        change(record)
        write_json(path, record)
    return record


def add_timeline_event(
    incident_id: str, event: str, *, kind: str = "note", root: Path | None = None, **data: Any
) -> dict[str, Any]:
    """Append an event (a run, a remediation, a note) to the incident timeline."""
    entry = {"at": utc_now().isoformat(), "event": redact(event), "kind": kind, **redact_obj(data)}
    return update_incident(incident_id, lambda r: r.setdefault("timeline", []).append(entry), root)


def record_remediation(incident_id: str, summary: str, **data: Any) -> bool:
    """Put an action that changed the world on the incident timeline (DESIGN: remediation
    is logged in the report and the timeline). False for a scratch run with no incident."""
    if not incident_id or not (incident_dir(incident_id) / INCIDENT_FILE).exists():
        return False
    add_timeline_event(incident_id, summary, kind="remediation", **data)
    return True
