"""Findings are data: what a flow concluded, written to ``findings.json`` beside its report.

The index, the post-mortem and alert handling read these files, never notebook outputs.
Schema of ``findings.json`` (``FINDINGS_VERSION`` 1)::

    {"version": 1, "flow": "triage", "incident_id": "INC-…", "recorded_at": iso,
     "window": {"start": iso, "end": iso}, "parameters": {…redacted…},
     "sources": [Collected.status_row(), …],
     "findings": [{"kind", "severity", "summary", "numbers", "evidence"}, …],
     "next_steps": ["…"], "extra": {…flow-specific, e.g. the incident report markdown…}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.paths import run_dir
from runbook_lib.redact import redact, redact_obj
from runbook_lib.store import read_json, read_json_object, write_json
from runbook_lib.timewindow import Window, utc_now

__all__ = [
    "FINDINGS_FILE",
    "FINDINGS_VERSION",
    "Finding",
    "PARAMETERS_FILE",
    "SEVERITIES",
    "Severity",
    "jsonable",
    "load_run_parameters",
    "rank",
    "read_findings",
    "record_findings",
    "unknown",
]

FINDINGS_VERSION = 1
FINDINGS_FILE = "findings.json"
PARAMETERS_FILE = "parameters.json"

Severity = Literal["info", "low", "medium", "high", "critical", "unknown"]
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low", "info", "unknown")


@dataclass
class Finding:
    """One conclusion: a sentence naming the culprit, its severity and the numbers behind it."""

    kind: str
    severity: Severity
    summary: str
    numbers: dict[str, Any] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {self.severity!r}")

    def to_dict(self) -> dict[str, Any]:
        return jsonable(asdict(self))  # type: ignore[no-any-return]


def unknown(kind: str, collected: Collected, question: str) -> Finding:
    """The finding for a question we could not answer because *collected* is unusable.

    Missing data is never reported as healthy (STYLE.md).
    """
    why = collected.reason or collected.status
    return Finding(
        kind=kind,
        severity="unknown",
        summary=f"Cannot tell {question}: source `{collected.source}` is {collected.status} ({why}).",
        evidence=[f"source:{collected.source}"],
    )


def rank(findings: Iterable[Finding]) -> list[Finding]:
    """Findings ordered most severe first (unknown last), stable within a severity."""
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return sorted(findings, key=lambda f: order[f.severity])


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars, timestamps and NaN into plain JSON values."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (pd.Timestamp,)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, pd.Timedelta):
        return None if pd.isna(value) else value.total_seconds()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def load_run_parameters(folder: Path) -> dict[str, Any]:
    """The (already redacted) parameters the runner wrote for this run, if any."""
    path = folder / PARAMETERS_FILE
    if not path.exists():
        return {}
    data = read_json(path)
    return dict(data) if isinstance(data, dict) else {}


def record_findings(
    *,
    flow: str,
    incident_id: str = "",
    window: Window | None = None,
    sources: Sequence[Collected] = (),
    findings: Sequence[Finding] = (),
    next_steps: Sequence[str] = (),
    parameters: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
    folder: Path | None = None,
) -> Path:
    """Write ``findings.json`` for this run and return its path.

    *folder* defaults to the runner's run folder (``$RUNBOOK_RUN_DIR``) or a scratch folder.
    *parameters* defaults to what the runner recorded; everything is redacted.
    """
    target = folder if folder is not None else run_dir(flow)
    target.mkdir(parents=True, exist_ok=True)
    params = dict(parameters) if parameters is not None else load_run_parameters(target)
    document = {
        "version": FINDINGS_VERSION,
        "flow": flow,
        "incident_id": incident_id,
        "recorded_at": utc_now().isoformat(),
        "window": window.to_dict() if window else None,
        "parameters": redact_obj(jsonable(params)),
        "sources": [redact_obj(jsonable(c.status_row())) for c in sources],
        "findings": [redact_obj(f.to_dict()) for f in rank(findings)],
        "next_steps": [redact(s) for s in next_steps],
        "extra": redact_obj(jsonable(dict(extra or {}))),
    }
    return write_json(target / FINDINGS_FILE, document)


def read_findings(folder: Path) -> dict[str, Any]:
    """A run folder's findings.json: the one reader (index, runner, post-mortem, alerts).

    Raises :class:`~runbook_lib.store.StoreError` when the file is missing or damaged.
    """
    return read_json_object(Path(folder) / FINDINGS_FILE)
