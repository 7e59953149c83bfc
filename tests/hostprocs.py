"""Real child processes with known behaviour, for the host flows' tests and benchmark.

Each helper starts ``python -c <program>`` and returns the :class:`subprocess.Popen`;
the ``children`` fixture pattern (see the tests) kills them in a finalizer. Programs
write "ready" on stdout once they run, so tests do not race the interpreter start.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

_BURN = """
import sys, time
print("ready", flush=True)
time.sleep({delay})
{wait}
end = time.time() + {seconds}
x = 0
while time.time() < end:
    x += 1
"""

_LEAK = """
import sys, time
hold = []
print("ready", flush=True)
step = {interval}
chunk = int({rate_bytes_per_s} * step)
end = time.time() + {seconds}
while time.time() < end:
    hold.append(bytearray(chunk))
    for i in range(0, chunk, 4096):
        hold[-1][i] = 1
    time.sleep(step)
time.sleep(3600)
"""

_FLAT = """
import time
block = bytearray({size})
for i in range(0, len(block), 4096):
    block[i] = 1
print("ready", flush=True)
time.sleep(3600)
"""

_SAWTOOTH = """
import time
print("ready", flush=True)
hold = []
chunk = {chunk}
while True:
    for _ in range({steps}):
        b = bytearray(chunk)
        for i in range(0, chunk, 4096):
            b[i] = 1
        hold.append(b)
        time.sleep({interval})
    hold.clear()
    time.sleep({interval})
"""

_SLEEP = """
import time
print("ready", flush=True)
time.sleep({seconds})
"""


_WAIT_STDIN = """
import sys
print("ready", flush=True)
sys.stdin.read()
"""


def _spawn(program: str, *, marker: str, stdin: int = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    # The marker is a harmless argv entry so a cmdline pattern can find this child.
    proc = subprocess.Popen([sys.executable, "-c", program, marker], stdout=subprocess.PIPE, stdin=stdin)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line.strip() != b"ready":
        proc.kill()
        raise RuntimeError(f"child {marker} did not start: {line!r}")
    return proc


def cpu_burner(
    seconds: float = 30.0, *, delay_s: float = 0.0, marker: str = "rb-cpu-burner"
) -> subprocess.Popen[bytes]:
    """A child that idles *delay_s*, then keeps one core busy for *seconds*, then exits."""
    return _spawn(_BURN.format(seconds=seconds, delay=delay_s, wait=""), marker=marker)


def cpu_burner_on_release(seconds: float = 30.0, *, marker: str = "rb-cpu-burner") -> subprocess.Popen[bytes]:
    """A child that idles until :func:`release_burner`, then burns one core for *seconds*."""
    program = _BURN.format(seconds=seconds, delay=0, wait="sys.stdin.read()")
    return _spawn(program, marker=marker, stdin=subprocess.PIPE)


def release_burner(proc: subprocess.Popen[bytes]) -> None:
    """Start an :func:`cpu_burner_on_release` child burning (closes its stdin)."""
    if proc.stdin is not None and not proc.stdin.closed:
        proc.stdin.close()


def memory_leaker(
    rate_mb_per_s: float,
    seconds: float = 60.0,
    *,
    interval: float = 0.1,
    marker: str = "rb-mem-leaker",
) -> subprocess.Popen[bytes]:
    """A child whose RSS grows by *rate_mb_per_s* (touched pages, so it is resident)."""
    program = _LEAK.format(rate_bytes_per_s=rate_mb_per_s * 1024 * 1024, interval=interval, seconds=seconds)
    return _spawn(program, marker=marker)


def flat_memory(size_mb: float = 50.0, *, marker: str = "rb-mem-flat") -> subprocess.Popen[bytes]:
    """A child holding a fixed, resident block: the RSS stays flat."""
    return _spawn(_FLAT.format(size=int(size_mb * 1024 * 1024)), marker=marker)


def sawtooth_memory(
    chunk_mb: float = 5.0, steps: int = 6, interval: float = 0.1, *, marker: str = "rb-mem-sawtooth"
) -> subprocess.Popen[bytes]:
    """A child that grows by *steps* chunks then frees them all, like a GC cycle."""
    program = _SAWTOOTH.format(chunk=int(chunk_mb * 1024 * 1024), steps=steps, interval=interval)
    return _spawn(program, marker=marker)


def sleeper(seconds: float = 3600.0, *, marker: str = "rb-sleeper") -> subprocess.Popen[bytes]:
    """A child that just sleeps (the benchmark spawns hundreds)."""
    return _spawn(_SLEEP.format(seconds=seconds), marker=marker)


def until_released(*, marker: str = "rb-waiter") -> subprocess.Popen[bytes]:
    """A child that exits as soon as its stdin is closed (:func:`release`): exact exit times."""
    return _spawn(_WAIT_STDIN, marker=marker, stdin=subprocess.PIPE)


def release(proc: subprocess.Popen[bytes]) -> None:
    """Let an :func:`until_released` child exit, and reap it so it does not linger as a zombie."""
    if proc.stdin is not None and not proc.stdin.closed:
        proc.stdin.close()
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Kill and reap a child (safe if it already exited)."""
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdout, proc.stdin):
        if pipe is not None and not pipe.closed:
            pipe.close()


@contextmanager
def running(*procs: subprocess.Popen[bytes]) -> Iterator[tuple[subprocess.Popen[bytes], ...]]:
    """Context manager that stops the given children on exit."""
    try:
        yield procs
    finally:
        for proc in procs:
            stop(proc)


_PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)", "{marker}-child"])
print("ready", child.pid, flush=True)
child.wait()
"""


def parent_with_child(*, marker: str = "rb-parent") -> tuple[subprocess.Popen[bytes], int]:
    """A child that itself runs a grandchild; returns (parent, grandchild pid)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _PARENT.format(marker=marker), marker],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    words = proc.stdout.readline().split()
    if not words or words[0] != b"ready":
        proc.kill()
        raise RuntimeError(f"parent {marker} did not start")
    return proc, int(words[1])


def stop_tree(proc: subprocess.Popen[bytes], child_pid: int) -> None:
    """Stop a :func:`parent_with_child` pair."""
    import os
    import signal

    with suppress(ProcessLookupError):
        os.kill(child_pid, signal.SIGKILL)
    stop(proc)
