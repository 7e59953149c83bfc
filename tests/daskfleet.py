"""A real Dask cluster for tests: ``dask scheduler`` and named ``dask worker`` processes on
loopback, started by the test and killed afterwards (no LocalCluster: a worker must be a
process a test can SIGKILL mid-read)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.net import free_loopback_port

DASK = str(Path(sys.executable).with_name("dask"))


@dataclass
class Fleet:
    scheduler: str
    workers: dict[str, subprocess.Popen[bytes]]


@contextmanager
def running_fleet(names: tuple[str, ...] = ("web-1", "web-2")) -> Iterator[Fleet]:
    """A scheduler and one single-threaded worker per name, ready when entered."""
    from distributed import Client

    port = free_loopback_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [
        subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet)
    ]
    workers: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name in names:
            workers[name] = subprocess.Popen(
                [DASK, "worker", address, "--name", name, "--nthreads", "1", "--no-nanny", "--no-dashboard"]
                + ["--host", "127.0.0.1"],
                **quiet,
            )
        with Client(address, timeout=30) as client:
            client.wait_for_workers(len(names), timeout=60)
        yield Fleet(address, workers)
    finally:
        for proc in [*workers.values(), *procs]:
            proc.kill()
            proc.wait(timeout=10)
