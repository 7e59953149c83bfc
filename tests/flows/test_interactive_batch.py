"""Batch runs stay batch: the runner injects ``interactive=False`` whatever was asked, the
archived HTML carries no widget state, and the findings equal those of the same flow run
with its controls on (apart from times)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat

from runbook_lib.incident.record import create_incident
from runbook_lib.run.runner import execute_papermill, run_flow

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def without_times(value: Any) -> Any:
    """*value* with every time, duration and run-specific field dropped."""
    if isinstance(value, dict):
        return {
            k: without_times(v)
            for k, v in value.items()
            if not (k.endswith("_at") or k in {"at", "elapsed_s", "parameters", "recording", "folder"})
        }
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def test_batch_run_is_never_interactive_and_finds_the_same(
    kit_home: Path, demo: dict[str, Any], tmp_path: Path
) -> None:
    incident = create_incident("429s", started_at=demo["param_values"]["start"])["id"]
    values = {k: v for k, v in demo["param_values"].items() if k in {"access_log", "app_log", "start", "end"}}
    overrides = [*values.items(), ("interactive", "true")]  # asked for, and ignored in batch
    batch = run_flow("api_rate_limit", incident, overrides=overrides)
    assert batch.status == "ok", batch.error

    report = nbformat.read(str(batch.run_dir / "report.ipynb"), as_version=4)
    injected = next(c for c in report.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "interactive = False" in injected.source
    assert "widgets" not in report.metadata
    html = (batch.run_dir / "report.html").read_text(encoding="utf-8")
    assert WIDGET_MIME not in html and "widget-state" not in html
    assert html.count("<img") >= 4, "the explore views' charts are in the static report"
    assert "rows, " in html, "the explore views' text line is in the static report"

    live_dir = tmp_path / "interactive"
    live_dir.mkdir()
    status, error, _ = execute_papermill(
        kit_home / "notebooks" / "api_rate_limit.ipynb",
        live_dir / "report.ipynb",
        {**values, "incident_id": incident, "interactive": True},
        run_dir=live_dir,
    )
    assert status == "ok", error
    interactive = nbformat.read(str(live_dir / "report.ipynb"), as_version=4)
    shown = [o for c in interactive.cells if c.cell_type == "code" for o in c.outputs]
    assert any(WIDGET_MIME in o.get("data", {}) for o in shown), "interactive runs do show controls"

    batch_findings = json.loads((batch.run_dir / "findings.json").read_text())
    live_findings = json.loads((live_dir / "findings.json").read_text())
    assert without_times(batch_findings) == without_times(live_findings)
