"""Which processes a host flow watches, and reading them once per sample.

A ``target`` parameter is a pid (``"1234"``), a process name (``"node"``) or a cmdline
substring (``"node server.js"``). The match is redone at every sample, so a restarted
service is picked up under its new pid (reported as a ``started`` event, the old pid as
``exited``). Children of matched processes are included (worker pools, ``npm start``).
With no target, the busiest processes at each sample are read instead.

psutil errors never escape: ``NoSuchProcess`` becomes an ``exited`` event,
``AccessDenied`` an NA field plus one ``denied`` event per pid.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import psutil

from runbook_lib.sources.host.procfs import (
    ProcStat,
    count_sockets,
    fd_links,
    inet_socket_inodes,
    read_stat,
    read_uss,
)

#: How many of the hottest processes have their threads read at each sample.
THREAD_PROCESSES = 3
#: Most USS readings per sample (see :meth:`TargetSelector.sample`).
USS_PER_SAMPLE = 50
_CHEAP_ATTRS = ["ppid", "name", "cmdline", "create_time"]
#: A process read this soon after it started may not have exec'd yet (fork, then exec):
#: its name and cmdline are read again at the next sample.
_YOUNG_S = 2.0


def _event(at: pd.Timestamp, pid: int | None, event: str, detail: str) -> dict[str, Any]:
    return {"observed_at": at, "pid": pid, "event": event, "detail": detail}


class TargetSelector:
    """Resolve the ``target`` parameter to processes and read them at each sample."""

    def __init__(self, target: str = "", *, exclude: set[int] | None = None) -> None:
        self.target = str(target).strip()
        self.exclude = set(exclude or ())
        self._seen: set[int] = set()  # pids ever sampled
        self._last_cpu: dict[int, tuple[float, float]] = {}  # pid -> (cpu_s, monotonic)
        self._tick = 0
        self._procs: dict[int, psutil.Process] = {}  # pid -> Process with cached .info
        self._current: dict[int, str] = {}  # pid -> name, in the previous sample
        self._denied: set[int] = set()
        self._threads: dict[tuple[int, int], float] = {}
        self._cpu_total: dict[int, float] = {}  # pid -> sum of its CPU % samples

    def describe(self) -> str:
        return f"target {self.target!r}" if self.target else "top processes"

    def matching_pids(self) -> set[int]:
        """The pids the target names now, with their children (all pids without a target)."""
        return {p.pid for p in self._matches(self._scan())}

    # -- matching -----------------------------------------------------------------------
    def _matches(self, procs: list[psutil.Process]) -> list[psutil.Process]:
        if not self.target:
            return procs
        if self.target.isdigit():
            roots = [p for p in procs if p.pid == int(self.target)]
        else:
            roots = [p for p in procs if p.info.get("name") == self.target]
            if not roots:
                roots = [p for p in procs if self.target in " ".join(p.info.get("cmdline") or [])]
        wanted = {p.pid for p in roots}
        # Children: walk the ppid links we already read (psutil.children() would rescan /proc).
        kids: dict[int, list[int]] = {}
        for p in procs:
            kids.setdefault(p.info.get("ppid") or 0, []).append(p.pid)
        stack = list(wanted)
        while stack:
            for child in kids.get(stack.pop(), []):
                if child not in wanted:
                    wanted.add(child)
                    stack.append(child)
        return [p for p in procs if p.pid in wanted]

    def _scan(self) -> list[psutil.Process]:
        """Every process, with ``.info`` (ppid, name, cmdline) read once per process.

        Re-reading every cmdline each second is most of the sampler's cost on a busy host,
        so only new (and very young) processes are read; vanished pids are dropped.
        """
        live = set(psutil.pids()) - self.exclude
        for pid in [pid for pid in self._procs if pid not in live]:
            del self._procs[pid]
        now = time.time()
        for pid in live:
            known = self._procs.get(pid)
            if known is not None and now - (known.info.get("create_time") or 0) > _YOUNG_S:
                continue
            try:
                proc = known or psutil.Process(pid)
                proc.info = proc.as_dict(_CHEAP_ATTRS, ad_value=None)
            except psutil.NoSuchProcess:
                self._procs.pop(pid, None)
                continue
            self._procs[pid] = proc
        return list(self._procs.values())

    def _cpu(self, pid: int, stat: ProcStat, mono: float) -> float:
        """CPU % of one core since this pid's previous reading (NaN at the first)."""
        before = self._last_cpu.get(pid)
        self._last_cpu[pid] = (stat.cpu_s, mono)
        if before is None or mono <= before[1]:
            return float("nan")
        return round(100.0 * (stat.cpu_s - before[0]) / (mono - before[1]), 2)

    def prime(self, at: pd.Timestamp) -> list[dict[str, Any]]:
        """Start the CPU counters of every candidate; report a target that matches nothing."""
        chosen = self._matches(self._scan())
        mono = time.monotonic()
        for p in chosen:
            stat = read_stat(p.pid)
            if stat is not None:
                self._cpu(p.pid, stat, mono)
        if self.target and not chosen:
            return [_event(at, None, "not_found", f"no process matches {self.target!r}")]
        return []

    # -- one sample ---------------------------------------------------------------------
    def sample(
        self,
        at: pd.Timestamp,
        elapsed_s: float,
        *,
        top_n: int,
        rank_by: str,
        uss: bool,
        connections: bool,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows for the processes, threads and events parts of one sample.

        USS (``smaps_rollup``) is the costliest reading: with more than ``USS_PER_SAMPLE``
        processes, each sample reads it for a rotating subset (the rest are NA that sample).
        Socket tables are read only when a sampled process holds a socket.
        """
        events: list[dict[str, Any]] = []
        self._tick += 1
        chosen = self._matches(self._scan())
        mono = time.monotonic()
        read: list[tuple[psutil.Process, ProcStat, float]] = []
        for p in chosen:
            stat = read_stat(p.pid)
            if stat is None or stat.state in ("Z", "X"):
                continue  # gone: reported as "exited" by _changes
            read.append((p, stat, self._cpu(p.pid, stat, mono)))
        if not self.target:
            if rank_by == "cpu":
                read.sort(key=lambda r: -(r[2] if r[2] == r[2] else 0.0))
            else:
                read.sort(key=lambda r: -r[1].rss_bytes)
            read = read[:top_n]
        stride = max(1, -(-len(read) // USS_PER_SAMPLE))
        sockets = _LazyInodes(connections)
        rows = [
            self._row(
                p,
                stat,
                cpu,
                at,
                uss=uss and (i % stride == self._tick % stride),
                connections=sockets,
                events=events,
            )
            for i, (p, stat, cpu) in enumerate(read)
        ]
        events.extend(self._changes(at, rows))
        threads = self._thread_rows(at, elapsed_s, rows)
        return rows, threads, events

    def _row(
        self,
        p: psutil.Process,
        stat: ProcStat,
        cpu: float,
        at: pd.Timestamp,
        *,
        uss: bool,
        connections: _LazyInodes,
        events: list[dict[str, Any]],
    ) -> dict[str, Any]:
        fds = fd_links(p.pid)
        uss_bytes = read_uss(p.pid) if uss and self.target else None
        missing = (["num_fds"] if fds is None else []) + (["uss"] if uss and self.target and uss_bytes is None else [])
        if missing and p.pid not in self._denied:
            self._denied.add(p.pid)
            events.append(_event(at, p.pid, "denied", "no access to " + ", ".join(missing)))
        return {
            "sampled_at": at,
            "pid": p.pid,
            "ppid": stat.ppid,
            "name": p.info.get("name") or "?",
            "cmdline": " ".join(p.info.get("cmdline") or []),
            "cpu_percent": cpu,
            "rss_bytes": stat.rss_bytes,
            "uss_bytes": uss_bytes,
            "num_threads": stat.num_threads,
            "num_fds": len(fds) if fds is not None else None,
            "num_connections": count_sockets(fds, connections.get(fds)),
            "create_at": pd.Timestamp(stat.create_time, unit="s", tz="UTC"),
        }

    def _changes(self, at: pd.Timestamp, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        now = {int(r["pid"]): str(r["name"]) for r in rows}
        events = []
        if self.target:
            for pid, name in self._current.items():
                if pid not in now:
                    events.append(_event(at, pid, "exited", f"{name} (pid {pid}) is gone"))
            if self._seen:
                for pid, name in now.items():
                    if pid not in self._seen:
                        events.append(_event(at, pid, "started", f"{name} (pid {pid}) appeared"))
        self._current = now
        self._seen.update(now)
        return events

    def _thread_rows(self, at: pd.Timestamp, elapsed_s: float, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Per-thread CPU % of the hottest processes so far (their threads' CPU time deltas).

        The ``THREAD_PROCESSES`` processes with the most cumulative CPU are followed, not just
        this sample's hottest, so a thread has a previous reading (its first one is NaN)
        even when two busy processes swap places between samples.
        """
        for r in rows:
            if r["cpu_percent"] == r["cpu_percent"]:  # not NaN
                pid_ = int(r["pid"])
                self._cpu_total[pid_] = self._cpu_total.get(pid_, 0.0) + float(r["cpu_percent"])
        present = {int(r["pid"]) for r in rows} & set(self._cpu_total)
        if not present or elapsed_s <= 0:
            return []
        out = []
        for pid in sorted(present, key=lambda p: -self._cpu_total[p])[:THREAD_PROCESSES]:
            try:
                threads = psutil.Process(pid).threads()
            except psutil.Error:
                continue
            for t in threads:
                key, spent = (pid, t.id), t.user_time + t.system_time
                before = self._threads.get(key)
                self._threads[key] = spent
                pct = float("nan") if before is None else 100.0 * (spent - before) / elapsed_s
                out.append({"sampled_at": at, "pid": pid, "tid": t.id, "cpu_percent": round(pct, 2)})
        return out


class _LazyInodes:
    """The host's socket inodes, read at most once per sample and only if a process has sockets."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._inodes: set[str] | None = None
        self._read = False

    def get(self, fds: list[str] | None) -> set[str] | None:
        if not self.enabled:
            return None
        if fds is not None and not any(f.startswith("socket:[") for f in fds):
            return set()  # no socket at all: zero connections, no table read needed
        if not self._read:
            self._inodes, self._read = inet_socket_inodes(), True
        return self._inodes
