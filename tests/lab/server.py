"""A real JupyterLab server for browser tests: loopback, a token, a temporary root, its own
Jupyter config/data/runtime folders, and the test's own Python as the ``python3`` kernel."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.net import free_loopback_port

CHECKOUT = Path(__file__).resolve().parents[2]
#: A cold JupyterLab on a loaded 2-core box takes ~5-15 s to answer; 90 s means it is broken.
START_TIMEOUT_S = 90.0

#: Settings that keep first-run noise (news pop-up, update check) out of the screenshots.
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
#: Every cell stays in the DOM (no windowing), so the tests see what a scrolled-to cell shows.
NOTEBOOK_SETTINGS = {"windowingMode": "none"}


@dataclass
class LabServer:
    """One ``jupyter lab`` process; :meth:`start` waits for ``/api/status``, :meth:`stop` ends it."""

    root: Path
    home: Path
    env_extra: dict[str, str] = field(default_factory=dict)
    port: int = 0
    token: str = ""
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, relpath: str) -> str:
        # reset: start from an empty workspace, not with the previous test's tabs restored.
        return f"{self.url}/lab/tree/{relpath}?reset&token={self.token}"

    def _prepare_dirs(self) -> dict[str, str]:
        dirs = {name: self.home / name for name in ("config", "data", "runtime", "settings", "workspaces")}
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        kernel_dir = dirs["data"] / "kernels" / "python3"
        kernel_dir.mkdir(parents=True, exist_ok=True)
        # The kernel is this interpreter (it has ipykernel and the kit); PYTHONPATH makes the
        # checkout under test win over any installed copy of runbook_lib.
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (runbook kit under test)",
            "language": "python",
            "env": {"PYTHONPATH": str(CHECKOUT), "RUNBOOK_HOME": str(self.root), **self.env_extra},
        }
        (kernel_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
        notif = dirs["settings"] / "@jupyterlab" / "apputils-extension"
        notif.mkdir(parents=True, exist_ok=True)
        (notif / "notification.jupyterlab-settings").write_text(json.dumps(NOTIFICATION_SETTINGS))
        tracker = dirs["settings"] / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True, exist_ok=True)
        (tracker / "tracker.jupyterlab-settings").write_text(json.dumps(NOTEBOOK_SETTINGS))
        return {k: str(v) for k, v in dirs.items()}

    def start(self) -> None:
        dirs = self._prepare_dirs()
        self.port = free_loopback_port()
        self.token = secrets.token_hex(16)
        env = {
            **os.environ,
            **self.env_extra,
            "JUPYTER_CONFIG_DIR": dirs["config"],
            "JUPYTER_DATA_DIR": dirs["data"],
            "JUPYTER_RUNTIME_DIR": dirs["runtime"],
            "JUPYTERLAB_SETTINGS_DIR": dirs["settings"],
            "JUPYTERLAB_WORKSPACES_DIR": dirs["workspaces"],
            "RUNBOOK_HOME": str(self.root),
            "JUPYTER_PLATFORM_DIRS": "1",
            # In a venv Jupyter looks in the venv's share/ first; our data dir must win so the
            # ``python3`` kernel is the spec written above.
            "JUPYTER_PREFER_ENV_PATH": "0",
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            "--KernelSpecManager.ensure_native_kernel=False",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={dirs['settings']}",
            f"--LabApp.workspaces_dir={dirs['workspaces']}",
            # The tests drive the app object too (kernel status), as galata does.
            "--LabApp.expose_app_in_browser=True",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log_path = self.home / "jupyter.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                cmd, cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                r = httpx.get(f"{self.url}/api/status", params={"token": self.token}, timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code}"
            except httpx.TransportError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise RuntimeError(f"jupyter lab not ready after {START_TIMEOUT_S} s ({last}): {self.log_tail()}")

    def api(self, path: str) -> object:
        r = httpx.get(f"{self.url}{path}", params={"token": self.token}, timeout=10.0)
        r.raise_for_status()
        return r.json()

    def delete(self, path: str) -> None:
        httpx.delete(f"{self.url}{path}", params={"token": self.token}, timeout=10.0).raise_for_status()

    def log_tail(self, chars: int = 3000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        """SIGTERM the server's process group (it shuts its kernels down), SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
