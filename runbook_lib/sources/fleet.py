"""Read a fleet's logs where they lie: the kit's own readers as tasks on a Dask cluster.

During an incident a platform's logs sit on shared storage or on the hosts themselves, and
copying tens of GB to one laptop is the slow part. With a ``dask_scheduler`` address the
log sources run on the cluster's workers (``dask.distributed``, a well-kept engine people
already run; no home-made scheduler, no ssh loops):

- the spec is the reader's usual comma-separated list of paths and globs; a part may name
  the worker that can see it by its ``--name``: ``web-3:/var/log/nginx/access.log*``
  (unnamed parts go to any worker: shared storage);
- each part is expanded on its worker (rotations and globs are resolved where the files
  are), then each file is read by one task with the same reader and window as a local
  read, so only window-filtered, typed frames come back and the kernel concatenates them;
- a plain file larger than ``chunk_bytes`` (:data:`CHUNK_TASK_BYTES` by default) is read
  by several tasks, one per line-aligned byte range (:mod:`._byte_range`: every line read
  exactly once), when the reader takes a ``byte_range`` — the access-log reader does.
  Compressed files are one task (a gzip stream cannot be entered mid-way), and so is every
  file of a reader whose records span lines (application-log tracebacks, PostgreSQL
  stderr continuation lines, multi-line error-log records): a range boundary could cut a
  record, so those readers take no ``byte_range``;
- the kernel concatenates the partial frames in file order (each rotated set oldest
  first, the same order as a local read of a shared-storage spec) and byte order, so the
  result equals the local read: same rows, same order, same counts;
- a worker that dies, a file a worker cannot read, a named worker that is not in the
  cluster or a task that does not finish within ``timeout_s`` make the source ``partial``
  with those files named; a scheduler that does not answer makes it ``unavailable`` at
  once, with one line. The rest of the run goes on.

``meta`` records ``engine`` (``dask``), the scheduler address (credentials redacted), the
number of ``tasks`` (expansions and reads, each chunk counted) and a status per file,
aggregated over its chunks (a chunk that was lost makes its file ``partial``, named with
the byte range); :func:`engine_summary` turns that into the source table's extra columns.
"""

from __future__ import annotations

import glob
import inspect
import queue
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.collected import DEFAULT_TIMEOUT_S, Collected
from runbook_lib.redact import redact
from runbook_lib.sources._byte_range import ByteRange, plan_ranges
from runbook_lib.sources._files import expand_paths
from runbook_lib.sources._progress import reporting_bytes
from runbook_lib.sources.fleet_merge import ChunkResult, FileTasks, merge_files, why
from runbook_lib.sources.fleet_wire import WIRES, Packed, pack, unpack

__all__ = [
    "CHUNK_TASK_BYTES",
    "CONNECT_TIMEOUT_S",
    "TASK_TIMEOUT_S",
    "collect_on_fleet",
    "engine_summary",
    "split_spec",
]

#: How long the scheduler may take to answer before the source is unavailable: a healthy
#: scheduler answers in milliseconds; an incident must not wait on a dead one.
CONNECT_TIMEOUT_S = DEFAULT_TIMEOUT_S
#: How long the cluster may go without finishing any task before the unfinished ones are
#: given up (a GB-sized file reads in well under a minute).
TASK_TIMEOUT_S = 300.0
#: Plain files larger than this are read as several tasks: large enough that the ~30 ms
#: per-task overhead vanishes, small enough that a GB file keeps a few workers busy.
CHUNK_TASK_BYTES = 256 << 20
#: ``name:/path``: a worker name (no slash, no colon) before an absolute path.
_PINNED = re.compile(r"^(?P<worker>[A-Za-z0-9_.\-]+):(?P<path>/.*)$")

Reader = Callable[..., Collected]


@dataclass(frozen=True)
class _Part:
    worker: str  # "" = any worker
    path: str


def split_spec(spec: str) -> list[_Part]:
    """The spec's comma-separated parts, each with the worker it names (or none)."""
    parts: list[_Part] = []
    for raw in (p.strip() for p in spec.split(",")):
        if not raw:
            continue
        match = _PINNED.match(raw)
        parts.append(_Part(match["worker"], match["path"]) if match else _Part("", raw))
    return parts


def _exact(path: str) -> str:
    """A spec that names exactly *path*: readers add rotations to a plain path, not to a
    glob, and this glob matches only the file itself (it was expanded already)."""
    escaped = glob.escape(path)
    if escaped != path:
        return escaped
    return f"{path[:-1]}[{path[-1]}]" if path else path


def _expand_on_worker(path: str) -> list[tuple[str, int, bool]]:
    """Runs on a worker: the files a part names there, oldest first, with their sizes and
    whether they are compressed (a missing one is kept: its read reports it)."""
    from runbook_lib.sources._byte_range import is_compressed
    from runbook_lib.sources._files import expand_paths

    found: list[tuple[str, int, bool]] = []
    for p in expand_paths(path):
        try:
            found.append((str(p), p.stat().st_size, is_compressed(p)))
        except OSError:
            found.append((str(p), 0, True))
    return found


def _read_on_worker(
    reader: Reader, path: str, byte_range: ByteRange | None, kwargs: Mapping[str, Any], wire: str
) -> Collected | Packed:
    """Runs on a worker: one file, or one byte range of it, through the kit's reader; the
    frame travels back in the *wire* format (:mod:`.fleet_wire`)."""
    got = (
        reader(_exact(path), **kwargs) if byte_range is None else reader(_exact(path), byte_range=byte_range, **kwargs)
    )
    return pack(got, wire)


def _splittable(reader: Reader) -> bool:
    """Readers that take ``byte_range`` can read a large file as several tasks."""
    return "byte_range" in inspect.signature(reader).parameters


@contextmanager
def _client(scheduler: str, timeout_s: float) -> Iterator[Any]:
    from distributed import Client

    client = Client(scheduler, timeout=timeout_s, set_as_default=False)
    try:
        yield client
    finally:
        client.close(timeout=timeout_s)


def _unavailable(template: Collected, target: str, reason: str, meta: dict[str, Any]) -> Collected:
    return Collected(
        template.source, target, template.frame.iloc[:0].copy(), status="unavailable", reason=reason, meta=meta
    )


def _local_bytes(spec: str) -> int:
    """The bytes on disk a local read of *spec* goes through (0 when it names nothing)."""
    total = 0
    for path in expand_paths(spec):
        with suppress(OSError):  # missing or unreadable: the reader itself reports it
            total += path.stat().st_size
    return total


def collect_on_fleet(
    reader: Reader,
    spec: str,
    *,
    scheduler: str,
    timeout_s: float = CONNECT_TIMEOUT_S,
    task_timeout_s: float = TASK_TIMEOUT_S,
    chunk_bytes: int = CHUNK_TASK_BYTES,
    wire: str = "arrow",
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> Collected:
    """Read *spec* with *reader* (``collect_access_log``, ``collect_app_log``, …) on the
    cluster at *scheduler*; with an empty *scheduler*, a local read.

    *kwargs* go to the reader unchanged (window, log format, …). Plain files larger than
    *chunk_bytes* are read in line-aligned byte ranges by readers that take ``byte_range``.
    *wire* is how frames travel back: ``arrow`` (default), ``dict`` (dictionary-encoded
    strings, for slow links) or ``pandas`` (:mod:`.fleet_wire`).
    Never raises on a broken cluster; see the module docstring.
    """
    if wire not in WIRES:
        raise ValueError(f"wire must be one of {', '.join(WIRES)}, not {wire!r}")
    if not scheduler.strip():
        with reporting_bytes(_local_bytes(spec), progress):
            local = reader(spec, **kwargs)
        local.meta.setdefault("engine", "local")
        return local
    # A progress callback cannot travel to a worker: on the cluster it counts finished tasks.
    progress = progress or kwargs.pop("progress", None)
    kwargs.pop("progress", None)
    template = reader("", **kwargs)  # the reader's own empty, typed result ("not configured")
    if template.status != "skipped":  # pragma: no cover - every log reader skips an empty spec
        raise TypeError(f"{reader.__name__} does not answer an empty spec with 'skipped'")
    address = redact(scheduler.strip())
    meta: dict[str, Any] = {"engine": "dask", "scheduler": address, "tasks": 0, "files": []}
    if not spec.strip():
        template.meta.update(meta)
        return template
    t0 = time.perf_counter()
    try:
        with _client(scheduler.strip(), timeout_s) as client:
            plan = _Plan(reader, kwargs, task_timeout_s, chunk_bytes if _splittable(reader) else 0, wire)
            files = _plan_files(client, split_spec(spec), plan, meta)
            _run(client, files, plan, meta, progress)
            result = merge_files(template, files, meta)
    except (OSError, TimeoutError) as err:
        reason = f"dask scheduler {address} did not answer within {timeout_s:g} s ({type(err).__name__})"
        result = _unavailable(template, address, reason, meta)
    result.elapsed_s = time.perf_counter() - t0
    return result


def _workers_by_name(client: Any) -> dict[str, str]:
    info = client.scheduler_info(n_workers=-1) if _accepts_n_workers(client) else client.scheduler_info()
    return {str(w.get("name")): addr for addr, w in info.get("workers", {}).items()}


def _accepts_n_workers(client: Any) -> bool:
    return "n_workers" in inspect.signature(client.scheduler_info).parameters


@dataclass(frozen=True)
class _Plan:
    reader: Reader
    kwargs: Mapping[str, Any]
    task_timeout_s: float
    chunk_bytes: int  # 0: this reader reads whole files only
    wire: str  # how frames travel back (fleet_wire.WIRES)


def _plan_files(client: Any, parts: list[_Part], plan: _Plan, meta: dict[str, Any]) -> list[FileTasks]:
    """Expand every part on its worker (one task each), then list the files to read in
    reading order: per worker (first named first) each rotated set oldest first."""
    from runbook_lib.sources._files import oldest_first

    names = _workers_by_name(client)
    files: list[FileTasks] = []
    expanding: list[tuple[_Part, dict[str, Any], Any]] = []
    for part in parts:
        if part.worker and part.worker not in names:
            files.append(FileTasks(_label(part.worker, part.path), part.worker, failure="no such worker"))
            continue
        pin = {"workers": [names[part.worker]], "allow_other_workers": False} if part.worker else {}
        expanding.append((part, pin, client.submit(_expand_on_worker, part.path, pure=False, **pin)))
    meta["tasks"] += len(expanding)
    found: dict[tuple[str, str], tuple[int, bool, dict[str, Any]]] = {}
    for part, pin, future in expanding:
        try:
            expanded = future.result(timeout=plan.task_timeout_s)
        except Exception as err:  # noqa: BLE001 - a worker's failure is evidence, not a crash
            files.append(FileTasks(_label(part.worker, part.path), part.worker, failure=why(err)))
            continue
        if not expanded:
            files.append(FileTasks(_label(part.worker, part.path), part.worker, failure="no file matches"))
        for path, size, compressed in expanded:
            found.setdefault((part.worker, path), (size, compressed, pin))
    workers = list(dict.fromkeys(worker for worker, _ in found))
    for worker in workers:
        for path in map(str, oldest_first([Path(p) for w, p in found if w == worker])):
            size, compressed, pin = found[(worker, path)]
            split = plan.chunk_bytes and not compressed and size > plan.chunk_bytes
            ranges: list[ByteRange | None] = [*plan_ranges(size, plan.chunk_bytes)] if split else [None]
            tasks = [ChunkResult(r) for r in ranges]
            files.append(FileTasks(_label(worker, path), worker, path=path, pin=pin, chunks=tasks))
    return files


def _label(worker: str, path: str) -> str:
    return f"{worker}:{path}" if worker else path


def _run(
    client: Any, files: list[FileTasks], plan: _Plan, meta: dict[str, Any], progress: Callable[[int, int], None] | None
) -> None:
    """Submit every read, keep each result as it finishes (its future released at once, so
    workers free its memory), and give up on the unfinished ones when no task at all has
    finished for ``task_timeout_s``: a dead worker costs one timeout, not one per task."""
    finished: queue.Queue[Any] = queue.Queue()
    pending: dict[Any, ChunkResult] = {}
    for entry in files:
        for chunk in entry.chunks:
            future = client.submit(
                _read_on_worker,
                plan.reader,
                entry.path,
                chunk.byte_range,
                dict(plan.kwargs),
                plan.wire,
                pure=False,
                **entry.pin,
            )
            pending[future.key] = chunk
            future.add_done_callback(finished.put)
            chunk.future = future
    total = len(pending)
    meta["tasks"] += total
    while pending:
        try:
            future = finished.get(timeout=plan.task_timeout_s)
        except queue.Empty:
            break
        if future.key not in pending:
            continue
        chunk = pending.pop(future.key)
        try:
            chunk.result, chunk.table = unpack(future.result(timeout=plan.task_timeout_s))
        except Exception as err:  # noqa: BLE001 - a dead worker or a failed task is evidence
            chunk.failure = why(err)
        chunk.future = None
        if progress is not None:
            progress(total - len(pending), total)
    for chunk in pending.values():
        chunk.failure = "no result within the task timeout (worker gone or stuck)"
        chunk.future.cancel()
        chunk.future = None


def engine_summary(collected: Collected) -> dict[str, Any]:
    """The engine facts findings.json keeps for a log source (empty for other sources)."""
    keys = ("engine", "scheduler", "tasks", "files")
    return {k: collected.meta[k] for k in keys if k in collected.meta}
