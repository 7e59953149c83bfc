"""Next steps for a hot or leaking process: the exact commands, and an opt-in, recorded signal.

Why a separate module: analyses are pure and never touch the world; this is the one place
in the host flows that can (DESIGN.md "Remediation is explicit"). Diagnostics are only
*shown* (``py-spy dump``, ``node --prof``, ``strace -c -f -p PID``, ``kill -USR2``).
A restart/kill is a :class:`RemedyPlan` whose command is shown; :func:`apply_remedy`
sends the signal only when ``remediate=True``, refuses a pid that was reused by another
process since it was sampled, and returns a record of what it did for ``findings.json``.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import psutil

from runbook_lib.incident.record import record_remediation
from runbook_lib.timewindow import utc_now

#: Never signal these: the kit itself, init, and the kernel's threads.
_PROTECTED = {0, 1, 2}


def diagnostic_commands(pid: int, name: str = "", cmdline: str = "", *, kind: str = "cpu") -> pd.DataFrame:
    """The runbook's diagnosis commands for *pid*, to copy and run (nothing is executed).

    Columns: ``step``, ``command``, ``why``. Runtime-specific commands (py-spy for Python,
    ``node --prof`` / ``kill -USR2`` for Node.js) are chosen from *name* and *cmdline*.
    """
    text = f"{name} {cmdline}".lower()
    is_python, is_node = "python" in text, "node" in text
    rows = [("threads", f"top -H -b -n 1 -p {pid}", "which threads of the process are busy")]
    if kind == "cpu":
        rows.append(
            (
                "syscalls",
                f"sudo timeout 30 strace -c -f -p {pid}",
                "syscall summary: a busy loop shows few syscalls, I/O waits many",
            )
        )
        if is_python or not is_node:
            rows.append(("stack (Python)", f"sudo py-spy dump --pid {pid}", "where each Python thread is right now"))
        if is_node or not is_python:
            script = next((w for w in cmdline.split() if w.endswith((".js", ".mjs", ".cjs"))), "server.js")
            rows.append(
                (
                    "profile (Node.js)",
                    f"node --prof {shlex.quote(script)}",
                    "start a copy with the V8 profiler, reproduce the load",
                )
            )
            rows.append(
                ("profile report", "node --prof-process isolate-*.log > profile.txt", "hot functions from the V8 log")
            )
    else:
        rows.append(("memory map", f"sudo pmap -x {pid} | tail -n 20", "largest mappings"))
        if is_node or not is_python:
            rows.append(
                (
                    "heap snapshot (Node.js)",
                    f"kill -USR2 {pid}",
                    "writes /tmp/heapsnapshot-*.heapsnapshot when the app handles USR2",
                )
            )
        if is_python or not is_node:
            rows.append(("stack (Python)", f"sudo py-spy dump --pid {pid}", "what the process is doing while it grows"))
    return pd.DataFrame(rows, columns=["step", "command", "why"])


@dataclass(frozen=True)
class RemedyPlan:
    """A proposed action on one process: the exact command and what identifies the process."""

    action: str  # "signal" or "systemctl restart"
    pid: int
    name: str
    create_time: float | None  # guards against pid reuse between sampling and acting
    signal_name: str = "TERM"
    service: str = ""

    @property
    def command(self) -> str:
        if self.action == "systemctl restart":
            return f"sudo systemctl restart {shlex.quote(self.service)}"
        return f"kill -{self.signal_name} {self.pid}"


def plan_restart(pid: int, *, service: str = "", signal_name: str = "TERM") -> RemedyPlan:
    """Plan ``systemctl restart SERVICE`` when a unit is named, else ``kill -SIG PID``."""
    try:
        proc = psutil.Process(pid)
        name, created = proc.name(), proc.create_time()
    except psutil.Error:
        name, created = "?", None
    if service.strip():
        return RemedyPlan("systemctl restart", pid, name, created, service=service.strip())
    return RemedyPlan("signal", pid, name, created, signal_name=signal_name.upper().removeprefix("SIG"))


def diagnostic_commands_for(culprits: pd.DataFrame, *, kind: str = "cpu") -> pd.DataFrame:
    """:func:`diagnostic_commands` for the first culprit row (``pid``, ``name``, ``cmdline``)."""
    if culprits.empty:
        return pd.DataFrame(columns=["step", "command", "why"])
    top = culprits.iloc[0]
    cmdline = str(top["cmdline"]) if "cmdline" in culprits.columns else ""
    return diagnostic_commands(int(top["pid"]), str(top["name"]), cmdline, kind=kind)


def plan_restart_for(culprits: pd.DataFrame, *, service: str = "", signal_name: str = "TERM") -> RemedyPlan | None:
    """:func:`plan_restart` for the first culprit row; ``None`` when there is no culprit."""
    if culprits.empty:
        return None
    return plan_restart(int(culprits.iloc[0]["pid"]), service=service, signal_name=signal_name)


def apply_remedy(
    plan: RemedyPlan | None, *, remediate: bool = False, timeout_s: float = 30.0, incident_id: str = ""
) -> dict[str, Any]:
    """Do *plan* only when *remediate*; always return a record (for ``findings.json`` extra).

    What was executed also goes on the incident timeline when *incident_id* names one.
    """
    record = _apply(plan, remediate=remediate, timeout_s=timeout_s)
    if record["executed"]:
        record_remediation(incident_id, f"{record['command']}: {record['result']}", command=record["command"])
    return record


def _apply(plan: RemedyPlan | None, *, remediate: bool, timeout_s: float) -> dict[str, Any]:
    if plan is None:
        return {
            "action": "none",
            "command": "",
            "executed": False,
            "result": "nothing to do: no culprit process identified",
        }
    record: dict[str, Any] = {**asdict(plan), "command": plan.command, "executed": False, "at": utc_now().isoformat()}
    if not remediate:
        record["result"] = "dry run: not executed (set remediate=True to run it)"
        return record
    if plan.action == "systemctl restart":
        try:
            done = subprocess.run(
                ["systemctl", "restart", plan.service], capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as err:
            record["result"] = f"failed: {type(err).__name__}: {err}"
            return record
        record["executed"] = True
        record["result"] = (
            f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[:300]}" if done.returncode else "restarted"
        )
        return record
    if plan.pid in _PROTECTED or plan.pid == os.getpid():
        record["result"] = f"refused: pid {plan.pid} is protected"
        return record
    try:
        proc = psutil.Process(plan.pid)
        if plan.create_time is not None and abs(proc.create_time() - plan.create_time) > 0.01:
            record["result"] = f"refused: pid {plan.pid} now belongs to another process"
            return record
        proc.send_signal(getattr(signal, f"SIG{plan.signal_name}"))
    except psutil.NoSuchProcess:
        record["result"] = f"not needed: pid {plan.pid} had already exited"
        return record
    except psutil.AccessDenied:
        record["result"] = f"failed: not allowed to signal pid {plan.pid}"
        return record
    record["executed"] = True
    record["result"] = f"sent SIG{plan.signal_name} to pid {plan.pid} ({plan.name})"
    return record
