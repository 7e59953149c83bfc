"""The archive as a whole: ``reports/index.html`` over every incident, newest first.

One row per incident: id, title, severity, status, opened, duration (when resolved), the
last run and its verdict. The page is rewritten whenever an incident's own index is
(:func:`runbook_lib.run.archive.render_index`: incident created, run archived, rebuild,
pin, purge), and like the reports it is offline and script-free (same CSP). ``runbook
list-incidents`` prints the same rows.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib import store
from runbook_lib.findings import FINDINGS_FILE, read_findings
from runbook_lib.incident.record import INCIDENT_FILE, INCIDENT_ID
from runbook_lib.notebook.tables import human_duration
from runbook_lib.paths import reports_root
from runbook_lib.run.verdict import verdict_sentence
from runbook_lib.timewindow import utc_now

CATALOG_FILE = "index.html"
#: Statuses after which an incident counts as finished (retention may purge it).
DONE_STATUSES = ("resolved", "closed")
_SEVERITY_COLOR = {"P0": "#a40e26", "P1": "#cf222e", "P2": "#bf8700", "P3": "#0969da"}
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@dataclass
class IncidentRow:
    id: str
    title: str
    severity: str
    status: str
    opened_at: pd.Timestamp | None
    duration_s: float | None
    last_run: str
    last_run_status: str
    verdict: str
    pinned: bool

    @property
    def is_open(self) -> bool:
        return self.status.lower() not in DONE_STATUSES


def _stamp(value: Any) -> pd.Timestamp | None:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if pd.isna(ts):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def resolved_at(record: dict[str, Any]) -> pd.Timestamp | None:
    """When the incident was resolved (or closed), from its milestones."""
    milestones = record.get("milestones") if isinstance(record.get("milestones"), dict) else {}
    assert isinstance(milestones, dict)
    return _stamp(milestones.get("resolved_at") or milestones.get("closed_at"))


def _duration_s(record: dict[str, Any]) -> float | None:
    end = resolved_at(record)
    milestones = record.get("milestones") if isinstance(record.get("milestones"), dict) else {}
    assert isinstance(milestones, dict)
    start = _stamp(milestones.get("impact_started_at") or milestones.get("detected_at") or record.get("created_at"))
    if end is None or start is None:
        return None
    return max(0.0, (end - start).total_seconds())


def _last_run(folder: Path) -> tuple[str, str, str]:
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:2].isdigit())
    if not runs:
        return "", "", ""
    last = runs[-1]
    status = ""
    try:
        status = str(store.read_json_object(last / "run.json").get("status", ""))
    except store.StoreError:
        status = "unknown"
    verdict = ""
    if (last / FINDINGS_FILE).exists():
        try:
            verdict = verdict_sentence(read_findings(last))
        except store.StoreError:
            verdict = "findings.json is damaged"
    return last.name, status, verdict


def incident_rows(root: Path | None = None) -> list[IncidentRow]:
    """Every incident under *root*, newest first (by opening time, then id)."""
    base = reports_root() if root is None else root
    rows: list[IncidentRow] = []
    if not base.exists():
        return rows
    for folder in base.iterdir():
        if not (folder.is_dir() and INCIDENT_ID.match(folder.name) and (folder / INCIDENT_FILE).exists()):
            continue
        try:
            record = store.read_json_object(folder / INCIDENT_FILE)
        except store.StoreError:
            record = {"title": "(incident.json is damaged)", "status": "unknown"}
        run, run_status, verdict = _last_run(folder)
        rows.append(
            IncidentRow(
                id=folder.name,
                title=str(record.get("title", "")),
                severity=str(record.get("severity") or ""),
                status=str(record.get("status", "")),
                opened_at=_stamp(record.get("created_at")),
                duration_s=_duration_s(record),
                last_run=run,
                last_run_status=run_status,
                verdict=verdict,
                pinned=bool(record.get("pinned")),
            )
        )
    epoch = pd.Timestamp(0, tz="UTC")
    rows.sort(key=lambda r: (r.opened_at or epoch, r.id), reverse=True)
    return rows


def row_text(row: IncidentRow) -> str:
    """One line of ``runbook list-incidents``."""
    opened = row.opened_at.strftime("%Y-%m-%d %H:%M") if row.opened_at is not None else "?"
    duration = human_duration(row.duration_s) if row.duration_s is not None else "-"
    pin = " [pinned]" if row.pinned else ""
    run = f"{row.last_run} ({row.last_run_status})" if row.last_run else "no runs"
    return (
        f"{row.id}  {row.severity or '--':3}  {row.status:<13} opened {opened} UTC  duration {duration}"
        f"  {row.title}{pin}\n    last run {run}: {row.verdict or '-'}"
    )


def render_catalog(root: Path | None = None) -> Path:
    """(Re)write ``reports/index.html`` over every incident."""
    base = reports_root() if root is None else root
    e = html.escape
    body = []
    for r in incident_rows(base):
        color = _SEVERITY_COLOR.get(r.severity, "#57606a")
        opened = r.opened_at.strftime("%Y-%m-%d %H:%M:%S") if r.opened_at is not None else ""
        duration = human_duration(r.duration_s) if r.duration_s is not None else ""
        run = (
            f"<a href='{e(r.id)}/{e(r.last_run)}/report.html'>{e(r.last_run)}</a> ({e(r.last_run_status)})"
            if r.last_run and (base / r.id / r.last_run / "report.html").exists()
            else e(f"{r.last_run} ({r.last_run_status})" if r.last_run else "no runs")
        )
        body.append(
            f"<tr><td><a href='{e(r.id)}/index.html'>{e(r.id)}</a>"
            f"{' <small>pinned</small>' if r.pinned else ''}</td><td>{e(r.title)}</td>"
            f"<td><span class='sev' style='background:{color}'>{e(r.severity or '—')}</span></td>"
            f"<td>{e(r.status)}</td><td>{e(opened)}</td><td>{e(duration)}</td>"
            f"<td>{run}</td><td>{e(r.verdict)}</td></tr>"
        )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<meta name="referrer" content="no-referrer">
<title>runbook kit: incidents</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #24292f; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }}
th {{ background: #f6f8fa; }} td:first-child, td:nth-child(5) {{ white-space: nowrap; }}
.sev {{ color: #fff; font-weight: bold; padding: 0 .5em; border-radius: 3px; }}
</style></head><body>
<h1>Incidents</h1>
<table id="incidents"><thead><tr><th>incident</th><th>title</th><th>severity</th><th>status</th>
<th>opened (UTC)</th><th>duration</th><th>last run</th><th>verdict</th></tr></thead><tbody>
{"".join(body) or "<tr><td colspan=8>no incidents yet</td></tr>"}
</tbody></table>
<p><small>Generated {e(utc_now().strftime("%Y-%m-%d %H:%M:%S"))} UTC by runbook kit.</small></p>
</body></html>
"""
    path = base / CATALOG_FILE
    path.write_text(page, encoding="utf-8")
    return path
