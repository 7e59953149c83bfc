"""Scheduled health runs (``runbook run FLOW --incident auto``): page only on evidence.

The run is archived under the day's health record (one per UTC day, ``kind: health``).
When a finding is medium or worse, an incident is opened and the run folder moves into it
(renumbered ``01-…``), with a timeline entry on both records; otherwise it stays where it
is, and the health record keeps the day's calm runs together.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from runbook_lib import store
from runbook_lib.findings import FINDINGS_FILE, read_findings
from runbook_lib.incident import record as incident
from runbook_lib.paths import reports_root
from runbook_lib.run import archive
from runbook_lib.run.runner import DEFAULT_CELL_TIMEOUT_S, RunResult, run_flow
from runbook_lib.run.verdict import top_findings, verdict_sentence
from runbook_lib.timewindow import utc_now

#: A finding at or above this opens an incident (the issue: "medium or worse").
OPEN_AT = ("critical", "high", "medium")
HEALTH_KIND = "health"


def daily_health_record(root: Path | None = None) -> str:
    """The id of today's health record, created on first use."""
    base = reports_root() if root is None else root
    day = utc_now().strftime("%Y-%m-%d")
    if base.exists():
        for folder in sorted(base.iterdir()):
            path = folder / incident.INCIDENT_FILE
            if incident.INCIDENT_ID.match(folder.name) and path.exists():
                record = store.read_json_object(path)
                if record.get("kind") == HEALTH_KIND and record.get("health_day") == day:
                    return folder.name
    created = incident.create_incident(f"Daily health {day}", root=base, reporter="scheduled")

    def mark(r: dict[str, Any]) -> None:
        r.update(kind=HEALTH_KIND, health_day=day, status="health")

    incident.update_incident(str(created["id"]), mark, base)
    return str(created["id"])


def run_scheduled(
    flow: str,
    *,
    files: Sequence[Path] = (),
    overrides: Iterable[tuple[str, str]] = (),
    cell_timeout_s: int = DEFAULT_CELL_TIMEOUT_S,
    root: Path | None = None,
) -> RunResult:
    """Run *flow* under the health record; promote it to a new incident on evidence."""
    base = reports_root() if root is None else root
    health_id = daily_health_record(base)
    result = run_flow(flow, health_id, files=files, overrides=overrides, cell_timeout_s=cell_timeout_s, root=base)
    try:
        doc = read_findings(result.run_dir)
    except store.StoreError:
        return result
    worst = top_findings(doc, 1)
    if not worst or worst[0].get("severity") not in OPEN_AT:
        return result
    title = f"{result.flow}: {verdict_sentence(doc)}"[:160]
    new_id = str(incident.create_incident(title, root=base, reporter="scheduled")["id"])
    target = incident.incident_dir(new_id, base) / f"01-{result.run_dir.name[3:]}"
    result.run_dir.rename(target)
    for name in (FINDINGS_FILE, archive.RUN_FILE):
        if (target / name).exists():
            data = store.read_json_object(target / name)
            data["incident_id"] = new_id
            store.write_json(target / name, data)
    moved = f"run {result.run_dir.name} moved to {new_id} ({worst[0].get('severity')} finding)"

    def forget(r: dict[str, Any]) -> None:
        r["runs"] = [x for x in r.get("runs", []) if x.get("folder") != result.run_dir.name]

    def adopt(r: dict[str, Any]) -> None:
        r.setdefault("runs", []).append({"folder": target.name, "flow": result.flow, "status": result.status})
        r["opened_from"] = health_id

    incident.update_incident(health_id, forget, base)
    incident.update_incident(new_id, adopt, base)
    incident.add_timeline_event(health_id, moved, root=base, kind="promoted")
    incident.add_timeline_event(new_id, f"opened by a scheduled {result.flow} run: {moved}", root=base, kind="run")
    archive.render_index(health_id, base)
    index = archive.render_index(new_id, base)
    return replace(result, incident_id=new_id, run_dir=target, index=index)
