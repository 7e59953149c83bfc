"""``runbook lab``: the jupyter command it builds, the incident's parameters it prepares, and
how a notebook's first cell loads them (only when interactive)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from runbook_lib.cli.lab import lab_command
from runbook_lib.incident.record import create_incident
from runbook_lib.notebook.lab import LAB_PARAMS_ENV, load_lab_parameters
from runbook_lib.run.runner import prepare_run


def args(**kw: object) -> argparse.Namespace:
    base = {"incident": None, "port": None, "no_browser": False, "jupyter_args": []}
    return argparse.Namespace(**{**base, **kw})


def test_command_without_incident_is_quiet_and_has_no_parameter_file(kit_home: Path, tmp_path: Path) -> None:
    cmd, env = lab_command(
        args(port=8899, no_browser=True, jupyter_args=["--", "--ServerApp.token=abc"]), tmp_path / "w"
    )
    assert cmd[1:4] == ["-m", "jupyter", "lab"]
    assert f"--notebook-dir={kit_home}" in cmd and "--port=8899" in cmd and "--no-browser" in cmd
    assert "--ServerApp.token=abc" in cmd and "--" not in cmd
    settings = next(a.split("=", 1)[1] for a in cmd if a.startswith("--LabApp.app_settings_dir="))
    quiet = json.loads((Path(settings) / "overrides.json").read_text())
    assert quiet["@jupyterlab/apputils-extension:notification"]["fetchNews"] == "false"
    assert LAB_PARAMS_ENV not in env and env["RUNBOOK_HOME"] == str(kit_home)


def test_incident_parameters_come_from_its_newest_run(kit_home: Path, tmp_path: Path) -> None:
    incident = create_incident("5xx after deploy", started_at="2026-11-27T13:50Z")["id"]
    prepare_run("triage", incident, overrides=[("start", "2026-11-27T13:00Z"), ("access_log", "a.log")])
    prepare_run("triage", incident, overrides=[("start", "2026-11-27T13:30Z"), ("interactive", "true")])
    cmd, env = lab_command(args(incident=incident), tmp_path / "w")
    data = json.loads(Path(env[LAB_PARAMS_ENV]).read_text())
    triage = data["flows"]["triage"]
    assert triage["start"] == "2026-11-27T13:30Z" and triage["incident_id"] == incident
    assert "interactive" not in triage and data["from"]["triage"].startswith("run 02-triage")

    # The notebook's first cell, in JupyterLab (interactive) and in batch:
    namespace = {"interactive": True, "start": "-2h", "incident_id": "", "timeout_s": 5.0, "access_log": "x"}
    import os

    os.environ[LAB_PARAMS_ENV] = env[LAB_PARAMS_ENV]
    try:
        assert load_lab_parameters("triage", dict(namespace, interactive=False)) == []
        changed = load_lab_parameters("triage", namespace)
        assert set(changed) >= {"start", "incident_id"}
        assert namespace["start"] == "2026-11-27T13:30Z" and namespace["incident_id"] == incident
        assert namespace["interactive"] is True and isinstance(namespace["timeout_s"], float)
        assert load_lab_parameters("memory_leak", {"interactive": True, "incident_id": ""}) == ["incident_id"]
    finally:
        os.environ.pop(LAB_PARAMS_ENV)


def test_batch_runs_record_interactive_false(kit_home: Path) -> None:
    incident = create_incident("x", started_at="2026-11-27T13:50Z")["id"]
    run = prepare_run("high_cpu", incident, overrides=[("interactive", "true")])
    assert run.values["interactive"] is False
    params = json.loads((run.run_dir / "parameters.json").read_text())
    assert params["interactive"] is False


def test_unknown_incident_is_an_error(kit_home: Path, tmp_path: Path) -> None:
    from runbook_lib.errors import RunbookError

    with pytest.raises(RunbookError):
        lab_command(args(incident="INC-2026-01-01-099"), tmp_path / "w")
