"""Everything the post-mortem notebook reads, gathered in one call: the record, every
archived run's findings, the access log and deploys the runs read. With no incident id it
returns an empty set with a clear "no incident given", so the notebook still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected, skipped
from runbook_lib.findings import read_findings
from runbook_lib.incident.record import incident_dir, load_incident
from runbook_lib.sources.deploys import DEPLOY_SCHEMA
from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA
from runbook_lib.sources.run_inputs import collect_run_access_log, collect_run_deploys
from runbook_lib.store import StoreError
from runbook_lib.timewindow import Window, utc_now

#: Deploys this long before impact started are shown (a bad deploy precedes its errors).
DEPLOY_LOOKBACK = pd.Timedelta(hours=2)
#: Context around the impact interval on the chart.
CHART_MARGIN = pd.Timedelta(minutes=15)


@dataclass
class PostmortemInputs:
    incident_id: str
    record: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)
    access: Collected | None = None
    deploys: Collected | None = None
    impact: Window | None = None  # [impact started (or detected), resolved (or now))
    note: str = ""

    @property
    def sources(self) -> list[Collected]:
        return [c for c in (self.access, self.deploys) if c is not None]

    def milestone(self, name: str) -> pd.Timestamp | None:
        value = (self.record.get("milestones") or {}).get(name)
        return pd.Timestamp(value).tz_convert("UTC") if value else None

    @property
    def severity_history(self) -> pd.DataFrame:
        return pd.DataFrame(self.record.get("severity_history") or [], columns=["from", "to", "at", "by", "why"])

    @staticmethod
    def frame_of(findings: list[Any]) -> pd.DataFrame:
        rows = [{"kind": f.get("kind"), "severity": f.get("severity"), "summary": f.get("summary")} for f in findings]
        return pd.DataFrame(rows, columns=["kind", "severity", "summary"])

    @property
    def chart_window(self) -> Window | None:
        return None if self.impact is None else self.impact.widen(CHART_MARGIN, CHART_MARGIN)


def gather(incident_id: str, root: Path | None = None) -> PostmortemInputs:
    """Read what the post-mortem needs; raises ParameterError only for a bad/unknown id."""
    if not incident_id.strip():
        none = "no incident given (set incident_id or use `runbook run post_mortem --incident ID`)"
        return PostmortemInputs(
            "",
            {},
            access=skipped("access_log", ACCESS_SCHEMA, none),
            deploys=skipped("deploys", DEPLOY_SCHEMA, none),
            note="No incident given: this report is empty. Run it with an incident id.",
        )
    record = load_incident(incident_id, root)
    folder = incident_dir(incident_id, root)
    runs = []
    for run in sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:2].isdigit()):
        try:
            data = read_findings(run)
        except StoreError:
            continue
        if data.get("flow") != "post_mortem":
            runs.append({**data, "folder": run.name})
    out = PostmortemInputs(incident_id, record, runs)
    start = out.milestone("impact_started_at") or out.milestone("detected_at")
    end = out.milestone("resolved_at") or utc_now()
    if start is None or end <= start:
        out.note = "The impact interval is unknown (no impact start/detection before resolution)."
        out.access = skipped("access_log", ACCESS_SCHEMA, out.note)
        out.deploys = skipped("deploys", DEPLOY_SCHEMA, out.note)
        return out
    out.impact = Window(start, end)
    out.access = collect_run_access_log(folder, out.impact.widen(CHART_MARGIN, CHART_MARGIN))
    out.deploys = collect_run_deploys(folder, Window(start - DEPLOY_LOOKBACK, end))
    if not out.milestone("resolved_at"):
        out.note = "Not resolved yet: the impact interval runs until now."
    return out


def write_postmortem(markdown: str, folder: Path) -> Path:
    """``postmortem.md`` in the run folder (each re-run is a new folder; earlier ones stay)."""
    path = folder / "postmortem.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(markdown, encoding="utf-8")
    tmp.replace(path)
    return path


def metrics_extra(metrics: dict[str, float | None], budget: dict[str, Any]) -> dict[str, float | None]:
    """``extra.metrics``: exactly the issue's six keys."""
    return {**metrics, "error_budget_consumed_pct": budget.get("consumed_pct")}
