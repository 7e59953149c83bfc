"""Cheap per-process readings straight from ``/proc``, for sampling hundreds of processes.

Why not psutil here: psutil reads the same files, but its per-call bookkeeping costs more
than the reads themselves; sampling 200 processes every second through it takes ~8 % of a
core, over the kit's 5 % budget (``benchmarks/bench_host_sampling.py``). One read of
``/proc/PID/stat`` gives state, ppid, CPU time, threads, RSS and start time; ``fd/`` links
give the fd count and the sockets. Off Linux, :func:`read_stat` falls back to psutil.

All functions return ``None`` for what they cannot read (gone, denied) and never raise.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

import psutil

PROC = Path("/proc")
_HAS_PROC = (PROC / "self" / "stat").exists()
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_BOOT_TIME = psutil.boot_time()


class ProcStat(NamedTuple):
    """One reading of a process."""

    state: str  # R, S, D, Z, X…
    ppid: int
    cpu_s: float  # user + system CPU seconds since start
    num_threads: int
    rss_bytes: int
    create_time: float  # epoch seconds


def read_stat(pid: int) -> ProcStat | None:
    """``/proc/PID/stat`` (or psutil off Linux); ``None`` when the process is gone."""
    if not _HAS_PROC:
        return _psutil_stat(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ")".
    fields = data[data.rfind(b")") + 2 :].split()
    try:
        return ProcStat(
            state=fields[0].decode("ascii", "replace"),
            ppid=int(fields[1]),
            cpu_s=(int(fields[11]) + int(fields[12])) / _CLK_TCK,
            num_threads=int(fields[17]),
            rss_bytes=int(fields[21]) * _PAGE,
            create_time=_BOOT_TIME + int(fields[19]) / _CLK_TCK,
        )
    except (IndexError, ValueError):
        return None


def _psutil_stat(pid: int) -> ProcStat | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            times = proc.cpu_times()
            return ProcStat(
                state=proc.status()[:1].upper(),
                ppid=proc.ppid(),
                cpu_s=times.user + times.system,
                num_threads=proc.num_threads(),
                rss_bytes=proc.memory_info().rss,
                create_time=proc.create_time(),
            )
    except psutil.Error:
        return None


def read_uss(pid: int) -> int | None:
    """Unique set size (private pages) from ``smaps_rollup``; ``None`` if gone or denied."""
    if not _HAS_PROC:
        try:
            return int(psutil.Process(pid).memory_full_info().uss)
        except (psutil.Error, AttributeError):
            return None
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            text = fh.read()
    except OSError:
        return None
    total = 0
    for line in text.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:", "Private_Hugetlb:")):
            total += int(line.split()[1]) * 1024
    return total


def fd_links(pid: int) -> list[str] | None:
    """Targets of ``/proc/PID/fd/*`` (``socket:[123]``, paths…); ``None`` when not readable.

    One readlink per fd gives both the fd count and the sockets, without psutil's
    system-wide connection scan (which reads every fd of every process).
    """
    if not _HAS_PROC:
        try:
            return ["?"] * psutil.Process(pid).num_fds()
        except (psutil.Error, AttributeError):
            return None
    base = f"/proc/{pid}/fd"
    try:
        names = os.listdir(base)
    except OSError:
        return None
    links = []
    for name in names:
        try:
            links.append(os.readlink(f"{base}/{name}"))
        except OSError:
            continue  # closed between listdir and readlink
    return links


def inet_socket_inodes() -> set[str] | None:
    """Inodes of this host's TCP/UDP sockets (``/proc/net/{tcp,tcp6,udp,udp6}``), Linux only."""
    inodes: set[str] = set()
    found = False
    for table in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = (PROC / "net" / table).read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        found = True
        for line in lines:
            fields = line.split()
            if len(fields) > 9:
                inodes.add(fields[9])
    return inodes if found else None


def count_sockets(fds: list[str] | None, inodes: set[str] | None) -> int | None:
    """How many of *fds* are TCP/UDP sockets (``None`` when either side is unknown)."""
    if fds is None or inodes is None:
        return None
    return sum(1 for link in fds if link.startswith("socket:[") and link[8:-1] in inodes)
