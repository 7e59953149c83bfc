"""Run spooled alerts with bounded concurrency: intake in one thread (incident creation and
dedupe never race), runs in at most ``workers`` child processes.

Runs are child processes (``runbook alert --spooled``) because papermill's kernel
management wants a main thread, a run timeout must be able to stop a stuck run, and SIGTERM
forwarded to a child lets the runner archive its run as interrupted. While an incident
has a run in progress, further triggers for it coalesce into one pending re-run.
"""

from __future__ import annotations

import logging
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from runbook_lib.alerts import spool
from runbook_lib.alerts.incidents import take_in
from runbook_lib.alerts.routes import Route
from runbook_lib.errors import RunbookError
from runbook_lib.incident import record as incident

log = logging.getLogger("runbook.alerts")

#: Seconds a child gets to archive its run as interrupted after SIGTERM before it is killed.
STOP_GRACE_S = 20


class Dispatcher:
    def __init__(self, routes: list[Route], *, workers: int, run_timeout_s: int, routes_file: Path | None) -> None:
        self.routes = routes
        self.routes_file = routes_file
        self.run_timeout_s = run_timeout_s
        self.inbox: queue.Queue[Path | None] = queue.Queue()
        self.slots = threading.Semaphore(max(1, workers))
        self.lock = threading.Lock()
        self.busy: set[str] = set()
        self.pending: dict[str, Path] = {}
        self.children: set[subprocess.Popen[bytes]] = set()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.max_running = 0

    def start(self) -> None:
        for path in spool.entries():  # resume: everything accepted before a restart
            self.inbox.put(path)
        thread = threading.Thread(target=self._intake_loop, name="alert-intake", daemon=True)
        thread.start()
        self.threads.append(thread)

    def submit(self, path: Path) -> None:
        self.inbox.put(path)

    def _intake_loop(self) -> None:
        while not self.stopping.is_set():
            path = self.inbox.get()
            if path is None:
                return
            try:
                trigger = take_in(path, spool.load(path), self.routes)
            except RunbookError as err:  # quarantined with its reason by take_in
                log.warning("alert %s refused: %s", path.stem, err)
                continue
            if not trigger:
                spool.finish(path)
                continue
            self._schedule(str(trigger["incident_id"]), path)

    def _schedule(self, incident_id: str, path: Path) -> None:
        with self.lock:
            if incident_id in self.busy:
                older = self.pending.get(incident_id)
                self.pending[incident_id] = path
                if older is not None:  # one pending re-run covers both triggers
                    spool.finish(older)
                    incident.add_timeline_event(
                        incident_id, "alert trigger coalesced into the pending re-run", kind="alert"
                    )
                return
            self.busy.add(incident_id)
        thread = threading.Thread(target=self._run, args=(incident_id, path), daemon=True)
        thread.start()
        self.threads.append(thread)

    def _run(self, incident_id: str, path: Path) -> None:
        while path is not None and not self.stopping.is_set():
            with self.slots:
                self._run_child(incident_id, path)
            with self.lock:
                nxt = self.pending.pop(incident_id, None)
                if nxt is None or self.stopping.is_set():
                    self.busy.discard(incident_id)
                    return
            path = nxt

    def _run_child(self, incident_id: str, path: Path) -> None:
        if self.stopping.is_set():
            return
        cmd = [sys.executable, "-m", "runbook_lib.cli", "alert", "--spooled", str(path)]
        cmd += ["--run-timeout", str(self.run_timeout_s)]
        if self.routes_file is not None:
            cmd += ["--routes", str(self.routes_file)]
        child = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
        with self.lock:
            self.children.add(child)
            self.max_running = max(self.max_running, len(self.children))
        try:
            child.wait(timeout=self.run_timeout_s + STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._stop_child(child)
            spool.finish(path)  # the run folder says "interrupted"; the timeline says why
            incident.add_timeline_event(incident_id, f"alert run stopped after {self.run_timeout_s} s", kind="alert")
        finally:
            with self.lock:
                self.children.discard(child)

    @staticmethod
    def _stop_child(child: subprocess.Popen[bytes]) -> None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def stop(self) -> None:
        """Stop taking work; in-flight runs are archived as interrupted, the spool is kept."""
        self.stopping.set()
        self.inbox.put(None)
        with self.lock:
            children = list(self.children)
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                child.kill()
