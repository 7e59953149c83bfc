"""Live sampling with real child processes: targets, children, exits, restarts, denial, files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import psutil

from runbook_lib.sources.host import (
    PROCESS_SAMPLES_SCHEMA,
    SYSTEM_SAMPLES_SCHEMA,
    read_samples,
    sample_host,
)
from tests import hostprocs


def _dtypes(frame) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: str(v) for k, v in frame.dtypes.items()}


def test_target_by_cmdline_pattern_includes_children(tmp_path: Path) -> None:
    parent, grandchild = hostprocs.parent_with_child(marker="rb-family")
    try:
        got = sample_host(1.0, 0.25, "rb-family", folder=tmp_path / "s")
    finally:
        hostprocs.stop_tree(parent, grandchild)
    assert got.processes.status == "ok"
    assert set(got.processes.frame["pid"]) == {parent.pid, grandchild}
    assert _dtypes(got.processes.frame) == PROCESS_SAMPLES_SCHEMA
    assert _dtypes(got.system.frame) == SYSTEM_SAMPLES_SCHEMA
    assert len(got.system.frame) == 4
    assert len(got.cores.frame) == 4 * psutil.cpu_count()
    row = got.processes.frame[got.processes.frame["pid"] == grandchild].iloc[-1]
    assert row["ppid"] == parent.pid
    assert row["uss_bytes"] > 0 and row["rss_bytes"] >= row["uss_bytes"]
    assert row["num_fds"] >= 3 and row["num_threads"] >= 1
    # By pid and by name too.
    by_pid = sample_host(0, 0.5, str(os.getpid()))
    assert by_pid.processes.status == "unavailable"  # the sampler never samples itself
    burner = hostprocs.cpu_burner(10, marker="rb-by-pid")
    try:
        got = sample_host(0.6, 0.3, str(burner.pid))
    finally:
        hostprocs.stop(burner)
    assert set(got.processes.frame["pid"]) == {burner.pid}
    assert got.processes.frame["cpu_percent"].max() > 20


def test_untargeted_samples_top_processes_and_threads() -> None:
    burner = hostprocs.cpu_burner(10, marker="rb-top")
    try:
        got = sample_host(1.5, 0.5, "", top_n=10)
    finally:
        hostprocs.stop(burner)
    frame = got.processes.frame
    assert frame.groupby("sampled_at").size().max() <= 10
    assert burner.pid in set(frame["pid"])
    threads = got.threads.frame
    assert burner.pid in set(threads["pid"])
    assert threads[threads["pid"] == burner.pid]["cpu_percent"].max() > 15


def test_process_exits_mid_sampling_is_recorded(tmp_path: Path) -> None:
    child = hostprocs.until_released(marker="rb-exit-mid")
    timer = threading.Timer(0.9, hostprocs.release, args=(child,))
    timer.start()
    try:
        got = sample_host(2.0, 0.25, "rb-exit-mid", folder=tmp_path / "s")
    finally:
        timer.join()
        hostprocs.stop(child)
    assert got.processes.status == "partial"
    events = got.events.frame
    exited = events[events["event"] == "exited"]
    assert exited["pid"].tolist() == [child.pid]
    samples = got.processes.frame
    assert 1 <= len(samples) < len(got.system.frame)
    assert samples["sampled_at"].max() < exited["observed_at"].iloc[0]


def test_restart_shows_as_new_pid() -> None:
    first = hostprocs.until_released(marker="rb-restart")
    second: list[subprocess.Popen[bytes]] = []

    def restart() -> None:
        hostprocs.release(first)
        second.append(hostprocs.until_released(marker="rb-restart"))

    timer = threading.Timer(0.8, restart)
    timer.start()
    try:
        got = sample_host(2.0, 0.25, "rb-restart")
    finally:
        timer.join()
        hostprocs.stop(first)
        for p in second:
            hostprocs.stop(p)
    events = got.events.frame
    assert events[events["event"] == "exited"]["pid"].tolist() == [first.pid]
    assert events[events["event"] == "started"]["pid"].tolist() == [second[0].pid]
    assert set(got.processes.frame["pid"]) == {first.pid, second[0].pid}


def test_nonexistent_pid_is_unavailable_not_a_crash() -> None:
    pid = 4_000_000  # above pid_max on Linux (4194304 is the ceiling, never reached here)
    assert not psutil.pid_exists(pid)
    got = sample_host(0.5, 0.25, str(pid))
    assert got.processes.status == "unavailable"
    assert str(pid) in got.processes.reason
    assert got.processes.frame.empty
    assert list(got.processes.frame.columns) == list(PROCESS_SAMPLES_SCHEMA)
    assert got.events.frame["event"].tolist() == ["not_found"]
    assert len(got.system.frame) == 2  # the host itself was still sampled


def test_access_denied_is_recorded(tmp_path: Path) -> None:
    # An unprivileged sampler watching this (root) test process: fds/USS denied -> NA + event.
    # Everything is imported first, then the child drops to `nobody` (it cannot exec the
    # venv's interpreter, which lives under /root).
    program = (
        "import json, os; from runbook_lib.sources.host import sample_host\n"
        "import pandas, psutil, encodings.ascii\n"
        "if os.geteuid() == 0:\n"
        "    os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        f"got = sample_host(0.5, 0.25, '{os.getpid()}')\n"
        f"f = got.processes.frame[got.processes.frame['pid'] == {os.getpid()}]\n"
        "print(json.dumps({'status': got.processes.status, 'rows': len(f),"
        " 'fds_na': bool(f['num_fds'].isna().all()), 'rss': int(f['rss_bytes'].iloc[0]),"
        " 'events': got.events.frame['event'].tolist(),"
        " 'detail': got.events.frame['detail'].tolist()}))\n"
    )
    cmd = [sys.executable, "-c", program]
    out = subprocess.run(cmd, capture_output=True, timeout=60, cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    got = json.loads(out.stdout)
    assert got["rows"] == 2 and got["rss"] > 0
    assert got["fds_na"]
    assert got["events"][0] == "denied"
    assert "num_fds" in got["detail"][0]
    assert got["status"] == "partial"


def test_samples_are_appended_as_taken_and_survive_a_kill(tmp_path: Path) -> None:
    folder = tmp_path / "host_samples"
    program = (
        "import sys; from pathlib import Path; from runbook_lib.sources.host import sample_host\n"
        f"sample_host(60, 0.2, '', top_n=2, folder=Path({str(folder)!r}))\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", program])
    try:
        deadline = 20.0
        import time

        t0 = time.monotonic()
        while time.monotonic() - t0 < deadline:
            system = folder / "system.csv"
            if system.exists() and system.read_text().count("\n") >= 6:
                break
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    back = read_samples(folder)
    assert len(back.system.frame) >= 5
    assert _dtypes(back.system.frame) == SYSTEM_SAMPLES_SCHEMA
    assert _dtypes(back.processes.frame) == PROCESS_SAMPLES_SCHEMA
    assert back.processes.frame.groupby("sampled_at").size().max() <= 2
    assert back.system.frame["sampled_at"].is_monotonic_increasing


def test_progress_callback_is_called_per_sample() -> None:
    from runbook_lib.notebook.progress import progress_bar

    seen: list[tuple[int, int]] = []
    sample_host(0.6, 0.2, "", top_n=1, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert progress_bar(False) is None
    bar = progress_bar(True)
    assert bar is not None
    bar(1, 2)
    bar(2, 2)
