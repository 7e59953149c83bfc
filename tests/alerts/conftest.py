"""A kit home whose only flow is a tiny probe notebook, so alert tests run in ~2 s per flow."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "alerts"

ROUTES = """\
routes:
  - name: cpu
    match: {alertname: HighCPU}
    match_re: {instance: "web-.*"}
    flows: [alert_probe]
    severity: P2
    parameters: {sleep_s: 0}
    from_labels: {target: job}
    from_annotations: {symptoms: summary}
    window: {before: 1h}
  - name: slow
    match: {alertname: Slow}
    flows: [alert_probe]
    parameters: {sleep_s: 4}
    from_labels: {target: job}
  - name: default
    flows: [alert_probe]
    from_labels: {severity: severity, target: job}
    on_resolved: [alert_probe]
"""


@pytest.fixture
def alerts_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "kit"
    (home / "notebooks").mkdir(parents=True)
    (home / "parameters").mkdir()
    (home / "reports").mkdir()
    shutil.copy(DATA / "notebooks" / "alert_probe.ipynb", home / "notebooks")
    (home / "parameters" / "routes.yaml").write_text(ROUTES, encoding="utf-8")
    monkeypatch.setenv("RUNBOOK_HOME", str(home))
    monkeypatch.delenv("RUNBOOK_WEBHOOK_TOKEN", raising=False)
    monkeypatch.delenv("RUNBOOK_WEBHOOK_TOKEN_FILE", raising=False)
    return home
