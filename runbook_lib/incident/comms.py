"""The runbook's texts, filled from what a flow found: incident report and notifications.

Values are escaped for Markdown/HTML here (they may come from logs), so the result can be
shown with ``IPython.display.Markdown`` and stored in findings.json as-is.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runbook_lib.findings import Finding, rank
from runbook_lib.incident.severity import SeverityDecision
from runbook_lib.notebook.display import escape_md


def incident_report_markdown(
    *,
    incident_id: str,
    reported_at: pd.Timestamp,
    reporter: str,
    decision: SeverityDecision,
    symptoms: Sequence[str],
    users_affected_pct: float,
    functionality: str,
    findings: Sequence[Finding],
) -> str:
    """The runbook's "Incident Report Template" (Initial Assessment), filled in."""
    e = escape_md
    observations = [f"- {e(f.summary, 600)}" for f in rank(findings) if f.severity != "info"][:6]
    if not observations:
        observations = ["- No anomaly found in the sources that could be read."]
    symptom_lines = [f"- {e(s, 300)}" for s in symptoms if s] or ["- (none reported yet)"]
    lines = [
        "## Incident Report",
        "",
        f"**Incident ID:** {e(incident_id or '(scratch run)')}  ",
        f"**Reported:** {e(reported_at.strftime('%Y-%m-%d %H:%M UTC'))}  ",
        f"**Reporter:** {e(reporter or 'runbook kit (automated triage)')}  ",
        f"**Severity:** {decision.level} (suggested; {e(decision.policy.name)})",
        "",
        "**Symptoms:**",
        *symptom_lines,
        "",
        "**Impact:**",
        f"- Users affected: {e(f'{users_affected_pct:g}%' if users_affected_pct >= 0 else 'unknown (not assessed)')}",
        f"- Functionality: {e(functionality)}",
        "",
        "**Initial Assessment:**",
        *observations,
        "",
        "**Why this severity:**",
        *[f"- {e(r)}" for r in decision.reasons],
        "",
        f"**Response time:** {e(decision.policy.response_time)} · **Resolution target:** "
        f"{e(decision.policy.resolution_target)} · **Communication:** {e(decision.policy.communication)}",
    ]
    return "\n".join(lines)


def notification_text(
    *, incident_id: str, decision: SeverityDecision, impact: str, actions: Sequence[str], commander: str = "[name]"
) -> str:
    """The runbook's stakeholder notification (section 3), as plain text to paste."""
    policy = decision.policy
    return "\n".join(
        [
            f"Subject: [{decision.level}] Production Incident - {impact}",
            "",
            f"Incident ID: {incident_id or 'INC-YYYY-MM-DD-NNN'}",
            f"Severity: {decision.level}",
            "Status: Investigating",
            "",
            "Impact:",
            f"- {impact}",
            "",
            "Current Actions:",
            *[f"- {a}" for a in actions],
            "",
            f"Next Update: {policy.update_every}",
            f"Notify: {policy.notify}",
            "",
            f"Incident Commander: {commander}",
        ]
    )


def triage_next_steps(decision: SeverityDecision, deploy: Finding, findings: Sequence[Finding]) -> list[str]:
    """The runbook's next steps (notification, mitigation options) for what triage found."""
    steps = [f"Notify per {decision.level}: {decision.policy.notify}."]
    sha = str(deploy.numbers.get("sha") or "")
    if deploy.severity == "high" and sha:
        steps.append(
            f"Mitigation option 1 (rollback): the errors started after {sha[:12]}; roll back to its parent "
            f"(`git log --oneline -3 {sha[:12]}`; `./deploy/rollback.sh production {sha[:12]}^`), then watch the "
            "error rate for 15 minutes."
        )
    kinds = {f.kind for f in findings if f.severity in ("high", "critical", "medium")}
    if "cpu" in kinds or "load" in kinds:
        steps.append("Run the high_cpu flow (runbook Incident 1) on this host.")
    if "memory" in kinds or "swap" in kinds:
        steps.append("Run the memory_leak flow (runbook Incident 2) on the biggest process.")
    if any(k.startswith("dependency") or k in ("postgres", "redis", "http", "dns") for k in kinds):
        steps.append(
            "A dependency is down or slow: check it first (runbook Step 5), then db_connections if it is PostgreSQL."
        )
    if "app_errors" in kinds:
        steps.append("Read the top application error's first occurrence and stack trace in the app log.")
    steps.append("Keep the incident timeline current; schedule the post-mortem within 24-48 h of resolution.")
    return steps
