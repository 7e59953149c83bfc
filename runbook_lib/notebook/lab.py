"""Parameters ``runbook lab --incident ID`` prepared for the notebooks it opens.

``runbook lab`` writes a JSON file (``{"incident_id": ..., "flows": {flow: {name: value}}}``)
and names it in ``RUNBOOK_LAB_PARAMS``. A flow's first code cell calls
:func:`load_lab_parameters`, which, only when the notebook is interactive and the file
exists, overrides the parameter defaults with the values for that flow. Batch runs inject
``interactive=False`` and so never read it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

LAB_PARAMS_ENV = "RUNBOOK_LAB_PARAMS"


def lab_values(flow: str) -> dict[str, Any]:
    """The values ``runbook lab`` prepared for *flow* (empty when there is no file)."""
    name = os.environ.get(LAB_PARAMS_ENV, "")
    if not name or not Path(name).is_file():
        return {}
    data = json.loads(Path(name).read_text(encoding="utf-8"))
    values = dict((data.get("flows") or {}).get(flow) or {})
    if data.get("incident_id"):
        values["incident_id"] = data["incident_id"]
    return values


def load_lab_parameters(flow: str, namespace: dict[str, Any]) -> list[str]:
    """Override the declared parameters in *namespace* (the notebook's ``globals()``) with
    the lab values for *flow*, when ``namespace["interactive"]`` is True. Only names the
    notebook declares and values of the declared type are taken; returns the names set."""
    if namespace.get("interactive") is not True:
        return []
    changed = []
    for name, value in lab_values(flow).items():
        if name == "interactive" or name not in namespace:
            continue
        old = namespace[name]
        if isinstance(old, bool) != isinstance(value, bool):
            continue
        if isinstance(old, (int, float)) and isinstance(value, (int, float)) and not isinstance(old, bool):
            value = type(old)(value)
        elif not isinstance(value, type(old)):
            continue
        if value != old:
            namespace[name] = value
            changed.append(name)
    return sorted(changed)


def show_lab_parameters(flow: str, namespace: dict[str, Any]) -> None:
    """:func:`load_lab_parameters`, then one line saying what was loaded (nothing in batch)."""
    from runbook_lib.notebook.display import show_md

    changed = load_lab_parameters(flow, namespace)
    if changed:
        show_md("Loaded from `runbook lab`: {names}.", names=", ".join(changed))
