"""Report folders: one per run, never overwritten, plus the incident's index page.

Layout (DESIGN.md)::

    reports/<INC-…>/incident.json          the record and its timeline
    reports/<INC-…>/index.html             every run, its outcome and top findings
    reports/<INC-…>/<NN>-<flow>-<UTC ts>/  report.ipynb, report.html, findings.json,
                                           parameters.json, inputs.json, run.json
"""

from __future__ import annotations

import glob
import hashlib
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib import store
from runbook_lib.findings import FINDINGS_FILE, read_findings
from runbook_lib.incident.record import INCIDENT_FILE, incident_dir, load_incident
from runbook_lib.paths import resolve
from runbook_lib.redact import redact, redact_obj
from runbook_lib.run.catalog import render_catalog
from runbook_lib.run.html import CSP
from runbook_lib.timewindow import utc_now

RUN_FILE = "run.json"
INPUTS_FILE = "inputs.json"
INDEX_FILE = "index.html"
#: Parameters whose values name input files worth fingerprinting.
_PATH_HINTS = ("log", "repo", "file", "path", "audit", "junit", "csv", "recording")
_HASH_LIMIT_BYTES = 512 * 1024 * 1024


def allocate_run_dir(incident_folder: Path, flow: str, *, now: pd.Timestamp | None = None) -> Path:
    """Create ``<NN>-<flow>-<UTC timestamp>`` atomically; a run never reuses a folder."""
    stamp = (utc_now() if now is None else now).strftime("%Y%m%dT%H%M%SZ")
    number = len([p for p in incident_folder.iterdir() if p.is_dir() and p.name[:2].isdigit()]) + 1
    while True:
        candidate = incident_folder / f"{number:02d}-{flow}-{stamp}"
        try:
            candidate.mkdir()
        except FileExistsError:
            number += 1
            continue
        return candidate


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """A run record (run.json, parameters.json, inputs.json), redacted, written atomically."""
    store.write_json(path, redact_obj(dict(data)))


def fingerprint_inputs(parameters: Mapping[str, Any]) -> list[dict[str, Any]]:
    """sha256, size and mtime of every input file a parameter names (so a report can be
    matched with the evidence it saw, even after logs rotate)."""
    rows: list[dict[str, Any]] = []
    for key, value in parameters.items():
        if not isinstance(value, str) or not value or not any(h in key for h in _PATH_HINTS):
            continue
        for spec in [v.strip() for v in value.split(",") if v.strip()]:
            base = resolve(spec)
            matches = sorted(glob.glob(str(base))) or ([str(base)] if base.exists() else [])
            for match in matches:
                rows.append(_fingerprint(key, Path(match)))
    return rows


def _fingerprint(key: str, path: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"parameter": key, "path": str(path)}
    try:
        stat = path.stat()
    except OSError as err:
        return {**row, "error": err.strerror or str(err)}
    row.update(size_bytes=stat.st_size, modified_at=pd.Timestamp(stat.st_mtime, unit="s", tz="UTC").isoformat())
    if path.is_dir():
        row["kind"] = "directory"
        return row
    if stat.st_size > _HASH_LIMIT_BYTES:
        row["sha256"] = None
        row["note"] = "too large to hash during an incident"
        return row
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as err:
        return {**row, "error": err.strerror or str(err)}
    row["sha256"] = digest.hexdigest()
    return row


def list_runs(incident_folder: Path) -> list[dict[str, Any]]:
    """Every run folder's run.json (+ its top findings), oldest first."""
    runs: list[dict[str, Any]] = []
    for folder in sorted(p for p in incident_folder.iterdir() if p.is_dir() and p.name[:2].isdigit()):
        run_file = folder / RUN_FILE
        if not run_file.exists():
            runs.append({"folder": folder.name, "status": "unknown", "flow": folder.name[3:]})
            continue
        run = store.read_json_object(run_file)
        run["folder"] = folder.name
        if (folder / FINDINGS_FILE).exists():
            try:
                run["findings"] = read_findings(folder).get("findings", [])
            except store.StoreError:
                run["findings"] = []
        runs.append(run)
    return runs


_STATUS_COLOR = {"ok": "#1a7f37", "failed": "#cf222e", "timed out": "#bc4c00", "interrupted": "#8250df"}


def render_index(incident_id: str, root: Path | None = None) -> Path:
    """(Re)write ``index.html`` for the incident: record, timeline and every run."""
    folder = incident_dir(incident_id, root)
    record = load_incident(incident_id, root)
    runs = list_runs(folder)
    e = html.escape
    rows = []
    for run in reversed(runs):
        status = str(run.get("status", "unknown"))
        color = _STATUS_COLOR.get(status, "#57606a")
        top = "".join(
            f"<li><b>{e(str(f.get('severity', '')).upper())}</b> {e(redact(str(f.get('summary', ''))))}</li>"
            for f in (run.get("findings") or [])[:3]
        )
        error = f"<div class='err'>{e(redact(str(run.get('error', ''))))}</div>" if run.get("error") else ""
        if (folder / run["folder"] / "report.html").exists():
            name = f"<a href='{e(run['folder'])}/report.html'>{e(run['folder'])}</a>"
        else:  # purged by retention, or the export failed (``runbook rebuild``)
            name = f"{e(run['folder'])} <small>(no report.html)</small>"
        rows.append(
            f"<tr><td>{name}</td><td>{e(str(run.get('flow', '')))}</td>"
            f"<td>{e(str(run.get('started_at', '')))}</td><td>{e(str(run.get('elapsed_s', '')))}</td>"
            f"<td style='color:{color};font-weight:bold'>{e(status)}</td><td><ul>{top}</ul>{error}</td></tr>"
        )
    timeline = "".join(
        f"<tr><td>{e(str(t.get('at', '')))}</td><td>{e(str(t.get('event', '')))}</td></tr>"
        for t in record.get("timeline", [])
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>{e(incident_id)}: {e(str(record.get("title", "")))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #24292f; }}
table {{ border-collapse: collapse; width: 100%; margin-bottom: 2em; }}
td, th {{ border: 1px solid #d0d7de; padding: 4px 8px; vertical-align: top; text-align: left; }}
th {{ background: #f6f8fa; }} ul {{ margin: 0; padding-left: 1.2em; }}
.err {{ color: #cf222e; font-family: monospace; white-space: pre-wrap; }}
</style></head><body>
<h1>{e(incident_id)}: {e(str(record.get("title", "")))}</h1>
<p><b>Severity:</b> {e(str(record.get("severity") or "not assessed"))} &nbsp;
<b>Status:</b> {e(str(record.get("status", "")))} &nbsp;
<b>Opened:</b> {e(str(record.get("created_at", "")))} &nbsp;
<b>Reporter:</b> {e(str(record.get("reporter", "")))}</p>
<h2>Runs</h2>
<table><tr><th>run</th><th>flow</th><th>started (UTC)</th><th>seconds</th><th>outcome</th><th>top findings</th></tr>
{"".join(rows) or "<tr><td colspan=6>no runs yet</td></tr>"}
</table>
<h2>Timeline</h2>
<table><tr><th>time (UTC)</th><th>event</th></tr>{timeline}</table>
<p><a href='../index.html'>all incidents</a></p>
<p><small>Generated {e(utc_now().isoformat())} by runbook kit. Incident record: {e(INCIDENT_FILE)}.</small></p>
</body></html>
"""
    path = folder / INDEX_FILE
    path.write_text(page, encoding="utf-8")
    render_catalog(folder.parent)  # the archive-wide index follows every incident change
    return path
