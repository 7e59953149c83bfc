"""``postmortem.md``: the runbook's Post-Mortem Template with exactly its headings, filled
from the record and the findings; where only people can answer, a marked prompt."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from runbook_lib.analysis.postmortem import human

#: The template's headings, in order (runbook section 6, "Post-Mortem Template").
HEADINGS = (
    "# Incident Post-Mortem: {id}",
    "## Incident Summary",
    "## Timeline",
    "## Root Cause",
    "## Resolution",
    "## Impact Analysis",
    "## What Went Well",
    "## What Could Be Improved",
    "## Action Items",
    "## Lessons Learned",
)
PROMPT = "> **To discuss in the meeting:** {}"
#: Finding kinds that name a cause (triage's deploy, a blocking chain, a leaking process…).
CAUSE_KINDS = (
    "deploy",
    "blocking_chain",
    "connection_leak",
    "connections_exhausted",
    "leak",
    "memory",
    "cpu",
    "swap",
    "rate_limit",
    "dependency",
)
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#<>])")


def md(value: object, limit: int = 400) -> str:
    """Text from logs/records made inert in Markdown (one line, escaped, bounded)."""
    text = " ".join(str(value).split())[:limit]
    return _MD_SPECIAL.sub(r"\\\1", html.unescape(text))


def cause_findings(runs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """High/critical findings whose kind names a cause, the suspect deploy first."""
    found = [
        f
        for run in runs
        if run.get("flow") != "post_mortem"
        for f in run.get("findings") or []
        if f.get("severity") in ("high", "critical") and str(f.get("kind", "")).startswith(CAUSE_KINDS)
    ]
    return sorted(found, key=lambda f: f.get("kind") != "deploy")


def _severity_line(record: Mapping[str, Any]) -> str:
    history = record.get("severity_history") or []
    steps = [f"{h.get('from') or 'unassessed'} → {h['to']} ({h['at'][:16]}, {h.get('by') or '?'})" for h in history]
    level = record.get("severity") or "not assessed"
    return f"{level}" + (f" (history: {md('; '.join(steps))})" if steps else "")


def postmortem_markdown(
    record: Mapping[str, Any],
    *,
    metrics: Mapping[str, float | None],
    missing: Sequence[str],
    verdict: pd.DataFrame,
    timeline: pd.DataFrame,
    runs: Sequence[Mapping[str, Any]],
    budget: Mapping[str, Any],
) -> str:
    """The filled template (no incident given: a one-paragraph note instead)."""
    if not record:
        return "# Incident Post-Mortem: (no incident given)\n\nNo incident given: run with `--incident INC-…`.\n"
    milestones = record.get("milestones") or {}
    impact = milestones.get("impact_started_at") or milestones.get("detected_at") or record.get("created_at", "")
    users = md(record.get("affected_users") or "[users affected]")
    causes = cause_findings(runs)
    lines = [
        HEADINGS[0].format(id=record["id"]),
        "",
        f"**Date:** {str(impact)[:10]}",
        f"**Severity:** {_severity_line(record)}",
        f"**Duration:** {human(metrics.get('duration_s'))} (detection to resolution)",
        f"**Impact:** {users} users affected; revenue impact: {md(record.get('business_impact') or '[if applicable]')}",
        "",
        HEADINGS[1],
        "",
        f"{md(record.get('title', ''))}. Impact started {str(impact)[:16]} UTC, detected after "
        f"{human(metrics.get('time_to_detect_s'))}, resolved {human(metrics.get('time_to_resolve_s'))} after impact "
        "started." + (f" Suspected cause: {md(causes[0]['summary'])}" if causes else ""),
        "",
        "Response against the severity's targets: "
        + "; ".join(
            f"{r['target']}: {r['verdict']} (promised {r['promised']}, actual {r['actual']})"
            for r in verdict.to_dict("records")
        )
        + ".",
        *([""] + [f"- {m}" for m in missing] if missing else []),
        "",
        HEADINGS[2],
        "",
        "| Time (UTC) | Event |",
        "|------------|-------|",
        *[
            f"| {pd.Timestamp(r['at']):%Y-%m-%d %H:%M:%S} | {md(r['source'])}: {md(r['event'])} |"
            for r in timeline.to_dict("records")
        ],
        "",
        HEADINGS[3],
        "",
        md(causes[0]["summary"], 800) if causes else PROMPT.format("what caused the incident (no finding names one)."),
        "",
        "**Contributing Factors:**",
        *([f"- {md(f['summary'])}" for f in causes[1:5]] or ["- " + PROMPT.format("contributing factors.")[2:]]),
        "",
        HEADINGS[4],
        "",
        *_resolution(record),
        "",
        HEADINGS[5],
        "",
        f"- **Users Affected:** {users}",
        f"- **Duration:** {human(metrics.get('duration_s'))}",
        f"- **Revenue Impact:** {md(record.get('business_impact') or '[if applicable]')}",
        f"- **SLO Impact:** {md(budget.get('sentence', ''), 600)}",
        *[f"- **{k}:** {human(v)}" for k, v in metrics.items()],
        "",
        HEADINGS[6],
        "",
        *_went(verdict, met=True),
        "",
        HEADINGS[7],
        "",
        *_went(verdict, met=False),
        "",
        HEADINGS[8],
        "",
        "| Action | Owner | Due Date | Status |",
        "|--------|-------|----------|--------|",
        *[
            f"| {md(i['action'])} | {md(i['owner'])} | {i['due']} | {i['status']} |"
            for i in record.get("action_items") or []
        ],
        "",
        HEADINGS[9],
        "",
        PROMPT.format("key takeaways for future incidents."),
        "",
    ]
    return "\n".join(lines)


def _resolution(record: Mapping[str, Any]) -> list[str]:
    done = [
        f"- {str(e['at'])[:16]} {md(e['event'])}"
        for e in record.get("timeline") or []
        if e.get("kind") in ("remediation", "note") or e.get("milestone") in ("mitigated_at", "resolved_at")
    ]
    return done or [PROMPT.format("what was done to resolve the incident.")]


def _went(verdict: pd.DataFrame, *, met: bool) -> list[str]:
    rows = [
        r
        for r in verdict.to_dict("records")
        if (r["verdict"] == "met") == met and r["verdict"] != "no severity recorded"
    ]
    lines = [f"- {r['target']} target {r['verdict']} ({r['actual']} against {r['promised']})." for r in rows]
    ask = "what went well." if met else "what could be improved."
    return [*lines, PROMPT.format(ask)]
