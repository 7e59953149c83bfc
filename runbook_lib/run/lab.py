"""What ``runbook lab`` prepares: the incident's parameters per flow, and JupyterLab's quiet setup.

Per flow, the parameters of the newest archived run of that flow (its ``parameters.json``,
already redacted, the effective values), else the parameters the alert route gave the flow
when the incident came from an alert (``alerts/state.json``). ``interactive`` is never
carried over: the notebooks are interactive in JupyterLab.

JupyterLab 4 shows an announcements pop-up ("Would you like to receive official Jupyter
news?") on first start and fetches news from the internet; the settings override in an
isolated application settings folder answers it once (``fetchNews: "false"``,
``checkForUpdates: false``) without touching the user's own settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runbook_lib.errors import RunbookError
from runbook_lib.incident import record as incident
from runbook_lib.run.params import merge_parameters, notebook_path, read_parameters
from runbook_lib.store import StoreError, read_json_object

#: JupyterLab settings that keep first-run noise away (plugin id -> settings).
QUIET_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


def _run_folders(incident_id: str, root: Path | None) -> list[Path]:
    folder = incident.incident_dir(incident_id, root)
    return sorted(p for p in folder.iterdir() if p.is_dir() and (p / "parameters.json").is_file())


def _flow_of(folder: Path) -> str:
    try:
        return str(read_json_object(folder / "run.json").get("flow") or "")
    except StoreError:
        return ""


def _route_parameters(incident_id: str, root: Path | None) -> dict[str, dict[str, Any]]:
    path = incident.incident_dir(incident_id, root) / "alerts" / "state.json"
    if not path.is_file():
        return {}
    out: dict[str, dict[str, Any]] = {}
    for trigger in (read_json_object(path).get("entries") or {}).values():
        for run in (trigger or {}).get("runs", []):
            try:
                declared = read_parameters(notebook_path(run["flow"]))
                values, _ = merge_parameters(declared, overrides=[(str(k), str(v)) for k, v in run["overrides"]])
            except RunbookError:
                continue
            out[notebook_path(run["flow"]).stem] = values
    return out


def incident_parameters(incident_id: str, root: Path | None = None) -> dict[str, Any]:
    """``{"incident_id", "flows": {flow: values}, "from": {flow: where}}`` for *incident_id*."""
    incident.load_incident(incident_id, root)  # an unknown incident is an error, early
    flows: dict[str, dict[str, Any]] = {}
    origin: dict[str, str] = {}
    for flow, values in _route_parameters(incident_id, root).items():
        flows[flow], origin[flow] = values, "alert route"
    for folder in _run_folders(incident_id, root):  # oldest first: the newest run wins
        flow = _flow_of(folder)
        if not flow:
            continue
        flows[flow] = read_json_object(folder / "parameters.json")
        origin[flow] = f"run {folder.name}"
    for values in flows.values():
        values.pop("interactive", None)
        values["incident_id"] = incident_id
    return {"incident_id": incident_id, "flows": flows, "from": origin}


def write_lab_files(folder: Path, incident_id: str = "", root: Path | None = None) -> dict[str, Path]:
    """Write ``parameters.json`` (when *incident_id*) and the quiet settings under *folder*."""
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    settings = folder / "settings" / "overrides.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(QUIET_SETTINGS, indent=1), encoding="utf-8")
    written["settings"] = settings.parent
    if incident_id:
        params = folder / "parameters.json"
        params.write_text(json.dumps(incident_parameters(incident_id, root), indent=1, default=str), encoding="utf-8")
        written["parameters"] = params
    return written
