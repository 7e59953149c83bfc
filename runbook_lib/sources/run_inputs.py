"""The evidence earlier runs of an incident read, found again from their archived
``inputs.json`` / ``parameters.json``: the post-mortem reads the same access log and repo
the triage run read, with no hand work.
"""

from __future__ import annotations

from pathlib import Path

from runbook_lib.collected import Collected, skipped
from runbook_lib.sources.deploys import DEPLOY_SCHEMA, collect_deploys
from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA, collect_access_log
from runbook_lib.store import StoreError, read_json_object
from runbook_lib.timewindow import Window


def _run_folders(incident_folder: Path) -> list[Path]:
    if not incident_folder.is_dir():
        return []
    return sorted(p for p in incident_folder.iterdir() if p.is_dir() and p.name[:2].isdigit())


def run_parameter(incident_folder: Path, key: str) -> str:
    """The newest non-empty value of parameter *key* among the incident's runs ("" if none)."""
    for folder in reversed(_run_folders(incident_folder)):
        try:
            value = read_json_object(folder / "parameters.json").get(key)
        except StoreError:
            continue
        if isinstance(value, str) and value.strip():
            return value
    return ""


def access_log_files(incident_folder: Path) -> list[str]:
    """Every access log file the runs fingerprinted in their inputs.json, oldest run first."""
    files: dict[str, None] = {}
    for folder in _run_folders(incident_folder):
        try:
            rows = read_json_object(folder / "inputs.json").get("inputs") or []
        except StoreError:
            continue
        for row in rows:
            if row.get("parameter") == "access_log" and row.get("path") and not row.get("error"):
                files[str(row["path"])] = None
    return list(files)


def collect_run_access_log(incident_folder: Path, window: Window) -> Collected:
    """The access log the runs read, limited to *window*; skipped (with why) when no run read one."""
    files = access_log_files(incident_folder)
    if not files:
        return skipped("access_log", ACCESS_SCHEMA, "no run of this incident read an access log (see inputs.json)")
    log_format = run_parameter(incident_folder, "access_log_format") or "combined"
    return collect_access_log(",".join(files), window=window, log_format=log_format)


def collect_run_deploys(incident_folder: Path, window: Window, *, timeout_s: float = 10.0) -> Collected:
    """Deploys from the git checkout the runs read (parameter ``repo``) within *window*."""
    repo = run_parameter(incident_folder, "repo")
    if not repo:
        return skipped("deploys", DEPLOY_SCHEMA, "no run of this incident named a repo")
    return collect_deploys(repo, since=window.start, until=window.end, timeout_s=timeout_s)
