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

from typing import Any

import pandas as pd
import psutil

_CHEAP_ATTRS = ["ppid", "name", "cmdline"]


def _event(at: pd.Timestamp, pid: int | None, event: str, detail: str) -> dict[str, Any]:
    return {"observed_at": at, "pid": pid, "event": event, "detail": detail}


class TargetSelector:
    """Resolve the ``target`` parameter to processes and read them at each sample."""

    def __init__(self, target: str = "", *, exclude: set[int] | None = None) -> None:
        self.target = str(target).strip()
        self.exclude = set(exclude or ())
        self._seen: set[int] = set()  # pids ever sampled
        self._baseline: set[int] = set()  # pids whose CPU counter has a previous reading
        self._current: dict[int, str] = {}  # pid -> name, in the previous sample
        self._denied: set[int] = set()
        self._threads: dict[tuple[int, int], float] = {}
        self._cpu_total: dict[int, float] = {}  # pid -> sum of its CPU % samples
        self._primed = False

    def describe(self) -> str:
        return f"target {self.target!r}" if self.target else "top processes"

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
        return [p for p in psutil.process_iter(_CHEAP_ATTRS, ad_value=None) if p.pid not in self.exclude]

    def prime(self, at: pd.Timestamp) -> list[dict[str, Any]]:
        """Start the CPU counters of every candidate; report a target that matches nothing."""
        chosen = self._matches(self._scan())
        for p in chosen:
            try:
                p.cpu_percent(None)
            except psutil.Error:
                continue
            self._baseline.add(p.pid)
        self._primed = True
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
        connections: Any,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Rows for the processes, threads and events parts of one sample."""
        events: list[dict[str, Any]] = []
        chosen = self._matches(self._scan())
        cpu: dict[int, float] = {}
        alive: list[psutil.Process] = []
        for p in chosen:
            try:
                value = p.cpu_percent(None)
            except psutil.NoSuchProcess:
                continue
            except psutil.AccessDenied:
                value = float("nan")
            # A pid we never read before has no CPU baseline yet: NA, not a fake 0 %.
            cpu[p.pid] = value if (p.pid in self._baseline or not self.target) else float("nan")
            self._baseline.add(p.pid)
            alive.append(p)
        if not self.target:
            if rank_by == "cpu":
                alive.sort(key=lambda p: -(cpu.get(p.pid) or 0.0))
            else:
                alive.sort(key=lambda p: -_rss(p))
            alive = alive[:top_n]
        rows = []
        for p in alive:
            row = self._read(p, at, cpu[p.pid], uss=uss, connections=connections, events=events)
            if row is not None:
                rows.append(row)
        events.extend(self._changes(at, rows))
        threads = self._thread_rows(at, elapsed_s, rows)
        return rows, threads, events

    def _read(
        self,
        p: psutil.Process,
        at: pd.Timestamp,
        cpu: float,
        *,
        uss: bool,
        connections: Any,
        events: list[dict[str, Any]],
    ) -> dict[str, Any] | None:
        attrs = ["memory_info", "num_threads", "num_fds", "create_time"]
        if uss and self.target:
            attrs.append("memory_full_info")
        info = p.as_dict(attrs=attrs, ad_value=None)
        try:
            running = p.is_running() and p.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            running = False
        if not running:
            return None  # reported as "exited" by _changes
        missing = [a for a in attrs if info.get(a) is None]
        if missing and p.pid not in self._denied:
            self._denied.add(p.pid)
            events.append(_event(at, p.pid, "denied", "no access to " + ", ".join(missing)))
        mem, full = info.get("memory_info"), info.get("memory_full_info")
        created = info.get("create_time")
        return {
            "sampled_at": at,
            "pid": p.pid,
            "ppid": p.info.get("ppid"),
            "name": p.info.get("name") or "?",
            "cmdline": " ".join(p.info.get("cmdline") or []),
            "cpu_percent": cpu,
            "rss_bytes": mem.rss if mem is not None else None,
            "uss_bytes": getattr(full, "uss", None),
            "num_threads": info.get("num_threads"),
            "num_fds": info.get("num_fds"),
            "num_connections": connections.get(p.pid, 0) if connections is not None else None,
            "create_at": pd.Timestamp(created, unit="s", tz="UTC") if created else pd.NaT,
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
        """Per-thread CPU % of the hottest process so far (its threads' CPU time deltas).

        "Hottest so far" (cumulative) rather than "in this sample" keeps following one
        process, so each thread gets a value from its second reading on.
        """
        for r in rows:
            if r["cpu_percent"] == r["cpu_percent"]:  # not NaN
                pid_ = int(r["pid"])
                self._cpu_total[pid_] = self._cpu_total.get(pid_, 0.0) + float(r["cpu_percent"])
        present = {int(r["pid"]) for r in rows} & set(self._cpu_total)
        if not present or elapsed_s <= 0:
            return []
        pid = max(present, key=lambda p: self._cpu_total[p])
        try:
            threads = psutil.Process(pid).threads()
        except psutil.Error:
            return []
        out = []
        for t in threads:
            key, spent = (pid, t.id), t.user_time + t.system_time
            before = self._threads.get(key)
            self._threads[key] = spent
            pct = float("nan") if before is None else 100.0 * (spent - before) / elapsed_s
            out.append({"sampled_at": at, "pid": pid, "tid": t.id, "cpu_percent": round(pct, 2)})
        return out


def _rss(p: psutil.Process) -> int:
    try:
        return int(p.memory_info().rss)
    except psutil.Error:
        return 0
