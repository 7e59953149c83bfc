"""A kit home whose only flow is a tiny probe notebook, so alert tests run in ~2 s per flow."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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


ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-webhook-token-for-tests"


class Receiver:
    """``runbook serve`` as a real child process on a free loopback port."""

    def __init__(self, home: Path, *, token: str = TOKEN, workers: int = 2, extra: tuple[str, ...] = ()) -> None:
        env = {**os.environ, "RUNBOOK_HOME": str(home), "PYTHONPATH": str(ROOT)}
        if token:
            env["RUNBOOK_WEBHOOK_TOKEN"] = token
        cmd = [sys.executable, "-m", "runbook_lib.cli", "-v", "serve", "--port", "0", "--workers", str(workers)]
        self.log_path = home / f"serve-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*cmd, *extra], env=env, stdout=subprocess.PIPE, stderr=self.log)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        assert line.startswith("listening on "), line + self.stderr()
        self.url = line.split()[2]

    def stderr(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.log.close()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return rc


@pytest.fixture
def receiver(alerts_home: Path) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def start(**kw: Any) -> Receiver:
        r = Receiver(alerts_home, **kw)
        started.append(r)
        return r

    yield start
    for r in started:
        if r.proc.poll() is None:
            r.stop(signal.SIGKILL)


def wait_idle(home: Path, timeout: float = 90) -> None:
    """Until the spool is empty and no run folder says running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spooled = list((home / "reports" / "_spool").glob("*.json"))
        running = [p for p in home.glob("reports/INC-*/*/run.json") if '"running"' in p.read_text()]
        if not spooled and not running:
            return
        time.sleep(0.3)
    raise AssertionError(f"not idle after {timeout} s: {spooled} {running}")
