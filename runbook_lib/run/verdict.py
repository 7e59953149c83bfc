"""The summary block every report opens with, rendered from the run's own ``findings.json``.

A person at 3 a.m. reads this and nothing else: the verdict (the most severe finding's
summary), the severity the run suggests with the runbook's response and resolution
targets, the top findings with text badges, the next steps the flow chose and one line on
source health. Every value is escaped: summaries quote logs.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from runbook_lib.findings import SEVERITIES
from runbook_lib.incident.severity import POLICIES
from runbook_lib.text import clean_text

#: Enough to read in one glance; the sections below have the rest.
TOP_FINDINGS = 5
MAX_NEXT_STEPS = 6
#: A finding's grade implies the incident level when the flow did not assess one itself.
_LEVEL_FOR = {"critical": "P0", "high": "P1", "medium": "P2", "low": "P3"}
_STATUS_ORDER = ("ok", "partial", "unavailable", "skipped")


def badge(severity: str) -> str:
    name = severity if severity in SEVERITIES else "unknown"
    return f"<span class='rb-sev rb-sev-{name}'>{name.upper()}</span>"


def suggested_level(doc: Mapping[str, Any]) -> str:
    """The P-level the run recorded (``extra.severity.level``), else the one its worst
    finding implies; "" when nothing is low or worse."""
    extra = doc.get("extra") or {}
    level = (extra.get("severity") or {}).get("level") if isinstance(extra, Mapping) else None
    if level in POLICIES:
        return str(level)
    worst = top_findings(doc, 1)
    return _LEVEL_FOR.get(str(worst[0].get("severity")), "") if worst else ""


def top_findings(doc: Mapping[str, Any], limit: int = TOP_FINDINGS) -> list[dict[str, Any]]:
    order: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}
    items = [f for f in doc.get("findings") or [] if isinstance(f, Mapping)]
    return [dict(f) for f in sorted(items, key=lambda f: order.get(str(f.get("severity")), len(order)))][:limit]


def verdict_sentence(doc: Mapping[str, Any]) -> str:
    worst = top_findings(doc, 1)
    if not worst:
        return "No findings were recorded for this run."
    return str(worst[0].get("summary", ""))


def source_health(doc: Mapping[str, Any]) -> str:
    """``4 sources: 3 ok, 1 unavailable (pg_log: missing)``."""
    sources = [s for s in doc.get("sources") or [] if isinstance(s, Mapping)]
    if not sources:
        return "no sources recorded"
    counts = Counter(str(s.get("status", "unknown")) for s in sources)
    parts = [f"{counts[k]} {k}" for k in _STATUS_ORDER if counts.get(k)]
    parts += [f"{n} {k}" for k, n in counts.items() if k not in _STATUS_ORDER]
    broken = [f"{s.get('source')}: {s.get('reason') or s.get('status')}" for s in sources if s.get("status") != "ok"]
    detail = f" ({'; '.join(broken)})" if broken else ""
    return f"{len(sources)} sources: {', '.join(parts)}{detail}"


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def code_spans(escaped: str) -> str:
    """Markdown's inline code in already-escaped text: findings and next steps quote
    commands and endpoints in backticks, which the HTML summary showed literally."""
    return _CODE_SPAN.sub(r"<code>\1</code>", escaped)


def verdict_html(doc: Mapping[str, Any]) -> str:
    """The summary block (escaped HTML, classes styled by the report template)."""

    def e(value: object, limit: int = 1000) -> str:
        return html.escape(clean_text(value, limit))

    def prose(value: object) -> str:
        return code_spans(e(value))

    worst = top_findings(doc, 1)
    worst_sev = str(worst[0].get("severity")) if worst else "info"
    level = suggested_level(doc)
    if level:
        policy = POLICIES[level]  # type: ignore[index]
        severity = (
            f"<p class='rb-level'><b>Suggested severity: {e(level)} ({e(policy.name)})</b> — "
            f"respond: {e(policy.response_time)}; resolve within: {e(policy.resolution_target)}.</p>"
        )
    else:
        severity = "<p class='rb-level'><b>Suggested severity: none</b> — nothing medium or worse.</p>"
    items = "".join(
        f"<li>{badge(str(f.get('severity')))} {prose(str(f.get('summary', '')))}</li>" for f in top_findings(doc)
    )
    steps = [str(s) for s in doc.get("next_steps") or [] if str(s).strip()][:MAX_NEXT_STEPS]
    steps_html = "".join(f"<li>{prose(s)}</li>" for s in steps) or "<li>No steps suggested.</li>"
    return (
        f"<div class='rb-verdict rb-verdict-{e(worst_sev)}' id='verdict'>"
        f"<h2>Verdict</h2><p class='rb-verdict-line'>{badge(worst_sev)} {prose(verdict_sentence(doc))}</p>"
        f"{severity}<h3>Top findings</h3><ul>{items or '<li>none</li>'}</ul>"
        f"<h3>Next steps</h3><ol>{steps_html}</ol>"
        f"<p class='rb-health'><b>Sources:</b> {e(source_health(doc))}</p></div>"
    )
