"""Retention in the style of pgBadger's ``--retention``, pinning, and rebuilding reports.

What a purge drops, for *resolved* (or closed) incidents only, counted from resolution:

=====================  ==========================================================
resolved before        dropped from each run folder
=====================  ==========================================================
``--keep-heavy`` ago   the heavy files: ``report.ipynb`` and ``report.html``
``--older-than`` ago   also everything else but the kept records (raw recordings,
                       ``inputs.json``, ``parameters.json``, samples)
=====================  ==========================================================

Always kept: ``incident.json``, every ``findings.json`` and ``run.json`` (the index
and the post-mortem read them) and the post-mortem (``post*mortem*``). Never touched:
open incidents, incidents with an open action item (``actions``/``action_items`` with a
status other than done), and pinned incidents (``runbook pin``). A lock file keeps two
purges from running at once; every purge appends a line to ``reports/purge.log`` and an
event to the incident's timeline.
"""

from __future__ import annotations

import fcntl
import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib import store
from runbook_lib.errors import ParameterError, RunbookError
from runbook_lib.findings import FINDINGS_FILE
from runbook_lib.incident import record as incident
from runbook_lib.paths import reports_root
from runbook_lib.run import archive
from runbook_lib.run.catalog import DONE_STATUSES, render_catalog, resolved_at
from runbook_lib.run.html import export_html
from runbook_lib.timewindow import utc_now

LOCK_FILE = ".purge.lock"
LOG_FILE = "purge.log"
HEAVY_FILES = ("report.ipynb", "report.html")
KEPT_FILES = (FINDINGS_FILE, archive.RUN_FILE)
_POSTMORTEM = re.compile(r"post.?mortem", re.I)
_DONE_ACTIONS = {"done", "closed", "complete", "completed", "cancelled", "canceled", "wontfix", "resolved"}
_AGE = re.compile(r"^(\d+)\s*([dhw])$")


class PurgeLocked(RunbookError):
    """Another purge holds the lock."""


def parse_age(text: str, *, key: str) -> pd.Timedelta:
    """``90d``, ``12h``, ``2w`` → a Timedelta (ParameterError naming *key* otherwise)."""
    match = _AGE.match(text.strip().lower())
    if not match:
        raise ParameterError(f"--{key} must look like 90d, 12h or 2w, not {text!r}", key=key)
    number, unit = int(match.group(1)), match.group(2)
    hours = {"w": 7 * 24, "d": 24, "h": 1}[unit]
    return pd.Timedelta(hours=number * hours)


def open_actions(record: dict[str, Any]) -> list[str]:
    """Open action items of a record (read defensively: the schema is still growing)."""
    items = record.get("actions", record.get("action_items", []))
    if not isinstance(items, list):
        return []
    open_items = []
    for item in items:
        status = str(item.get("status", "open")) if isinstance(item, dict) else "open"
        if status.lower() not in _DONE_ACTIONS:
            open_items.append(str(item.get("title", item.get("text", item)) if isinstance(item, dict) else item))
    return open_items


@dataclass
class PurgePlan:
    incident_id: str
    files: list[Path] = field(default_factory=list)
    bytes: int = 0
    kept_because: str = ""


def _droppable(run_folder: Path, *, everything: bool) -> Iterator[Path]:
    for path in sorted(run_folder.rglob("*")):
        if not path.is_file():
            continue
        if path.name in KEPT_FILES or _POSTMORTEM.search(path.name):
            continue
        if everything or path.name in HEAVY_FILES:
            yield path


def plan_purge(
    older_than: pd.Timedelta, keep_heavy: pd.Timedelta | None = None, *, root: Path | None = None, now: Any = None
) -> list[PurgePlan]:
    """What a purge would drop, incident by incident (nothing is touched)."""
    base = reports_root() if root is None else root
    heavy = older_than if keep_heavy is None else keep_heavy
    if heavy > older_than:
        raise ParameterError("--keep-heavy must not be longer than --older-than", key="keep-heavy")
    at = utc_now() if now is None else pd.Timestamp(now)
    plans = []
    for folder in sorted(p for p in base.iterdir() if incident.INCIDENT_ID.match(p.name)) if base.exists() else []:
        if not (folder / incident.INCIDENT_FILE).exists():
            continue
        record = store.read_json_object(folder / incident.INCIDENT_FILE)
        plan = PurgePlan(folder.name)
        plans.append(plan)
        done = resolved_at(record)
        if str(record.get("status", "")).lower() not in DONE_STATUSES or done is None:
            plan.kept_because = "not resolved"
        elif record.get("pinned"):
            plan.kept_because = "pinned"
        elif open_actions(record):
            plan.kept_because = f"{len(open_actions(record))} open action item(s)"
        elif at - done < heavy:
            plan.kept_because = "resolved recently"
        if plan.kept_because or done is None:
            continue
        everything = at - done >= older_than
        for run in sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:2].isdigit()):
            for path in _droppable(run, everything=everything):
                plan.files.append(path)
                plan.bytes += path.stat().st_size
    return plans


@contextmanager
def _purge_lock(base: Path) -> Iterator[None]:
    base.mkdir(parents=True, exist_ok=True)
    with (base / LOCK_FILE).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            raise PurgeLocked(f"another purge is running (lock {base / LOCK_FILE})") from err
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def purge(
    older_than: pd.Timedelta,
    keep_heavy: pd.Timedelta | None = None,
    *,
    dry_run: bool = False,
    root: Path | None = None,
    now: Any = None,
) -> list[PurgePlan]:
    """Apply :func:`plan_purge` under the lock; log it; refresh the indexes. Returns the plan."""
    base = reports_root() if root is None else root
    with _purge_lock(base):
        plans = plan_purge(older_than, keep_heavy, root=base, now=now)
        for plan in plans:
            if not plan.files:
                continue
            if not dry_run:
                for path in plan.files:
                    path.unlink(missing_ok=True)
                for run in (p for p in (base / plan.incident_id).iterdir() if p.is_dir()):
                    for sub in sorted((d for d in run.rglob("*") if d.is_dir()), reverse=True):
                        if not any(sub.iterdir()):
                            shutil.rmtree(sub)
                text = f"purge: dropped {len(plan.files)} file(s), {plan.bytes} bytes (retention)"
                incident.add_timeline_event(plan.incident_id, text, root=base, kind="purge")
                archive.render_index(plan.incident_id, base)
            entry = {
                "at": utc_now().isoformat(),
                "incident": plan.incident_id,
                "dry_run": dry_run,
                "files": [str(p.relative_to(base)) for p in plan.files],
                "bytes": plan.bytes,
            }
            with (base / LOG_FILE).open("a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")
        render_catalog(base)
    return plans


def pin(incident_id: str, *, pinned: bool = True, root: Path | None = None) -> dict[str, Any]:
    """Keep an incident out of every purge (or release it)."""

    def change(record: dict[str, Any]) -> None:
        record["pinned"] = pinned

    record = incident.update_incident(incident_id, change, root)
    incident.add_timeline_event(incident_id, "pinned" if pinned else "unpinned", root=root, kind="pin")
    archive.render_index(incident_id, root)
    return record


def rebuild(incident_id: str, run: str = "", *, root: Path | None = None) -> list[Path]:
    """Re-render ``report.html`` (and the indexes) from archived ``report.ipynb`` + findings."""
    folder = incident.incident_dir(incident_id, root)
    incident.load_incident(incident_id, root)
    runs = sorted(p for p in folder.iterdir() if p.is_dir() and p.name[:2].isdigit())
    if run:
        runs = [p for p in runs if p.name == run or p.name.startswith(f"{run}-")]
        if not runs:
            raise ParameterError(f"{incident_id} has no run {run!r}", key="run")
    written = []
    for path in runs:
        notebook = path / "report.ipynb"
        if not notebook.exists():
            if run:
                raise ParameterError(f"{path.name} has no report.ipynb (purged?)", key="run")
            continue
        written.append(export_html(notebook, path / "report.html", title=f"{incident_id} {path.name[3:]}"))
    archive.render_index(incident_id, root)
    return written
