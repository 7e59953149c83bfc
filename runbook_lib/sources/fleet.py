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
- a worker that dies, a file a worker cannot read, a named worker that is not in the
  cluster or a task that does not finish within ``timeout_s`` make the source ``partial``
  with those files named; a scheduler that does not answer makes it ``unavailable`` at
  once, with one line. The rest of the run goes on.

``meta`` records ``engine`` (``dask``), the scheduler address (credentials redacted), the
number of ``tasks`` and a status per file; :func:`engine_summary` turns that into the
source table's extra columns.
"""

from __future__ import annotations

import glob
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pandas as pd

from runbook_lib.collected import DEFAULT_TIMEOUT_S, MAX_SAMPLES, Collected
from runbook_lib.redact import redact

__all__ = ["CONNECT_TIMEOUT_S", "TASK_TIMEOUT_S", "collect_on_fleet", "engine_summary", "split_spec"]

#: How long the scheduler may take to answer before the source is unavailable: a healthy
#: scheduler answers in milliseconds; an incident must not wait on a dead one.
CONNECT_TIMEOUT_S = DEFAULT_TIMEOUT_S
#: How long one file's task may run (a GB-sized file reads in well under a minute).
TASK_TIMEOUT_S = 300.0
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


def _expand_on_worker(path: str) -> list[str]:
    """Runs on a worker: the files a part names there, oldest first."""
    from runbook_lib.sources._files import expand_paths

    return [str(p) for p in expand_paths(path)]


def _read_on_worker(reader: Reader, path: str, kwargs: Mapping[str, Any]) -> Collected:
    """Runs on a worker: one file through the kit's reader."""
    return reader(_exact(path), **kwargs)


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


def collect_on_fleet(
    reader: Reader,
    spec: str,
    *,
    scheduler: str,
    timeout_s: float = CONNECT_TIMEOUT_S,
    task_timeout_s: float = TASK_TIMEOUT_S,
    progress: Callable[[int, int], None] | None = None,
    **kwargs: Any,
) -> Collected:
    """Read *spec* with *reader* (``collect_access_log``, ``collect_app_log``, …) on the
    cluster at *scheduler*; with an empty *scheduler*, a local read.

    *kwargs* go to the reader unchanged (window, log format, …). Never raises on a broken
    cluster; see the module docstring.
    """
    if not scheduler.strip():
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
            result = _gather(client, reader, split_spec(spec), kwargs, template, meta, task_timeout_s, progress)
    except (OSError, TimeoutError) as err:
        reason = f"dask scheduler {address} did not answer within {timeout_s:g} s ({type(err).__name__})"
        result = _unavailable(template, address, reason, meta)
    result.elapsed_s = time.perf_counter() - t0
    return result


def _workers_by_name(client: Any) -> dict[str, str]:
    info = client.scheduler_info(n_workers=-1) if _accepts_n_workers(client) else client.scheduler_info()
    return {str(w.get("name")): addr for addr, w in info.get("workers", {}).items()}


def _accepts_n_workers(client: Any) -> bool:
    import inspect

    return "n_workers" in inspect.signature(client.scheduler_info).parameters


def _gather(
    client: Any,
    reader: Reader,
    parts: list[_Part],
    kwargs: Mapping[str, Any],
    template: Collected,
    meta: dict[str, Any],
    task_timeout_s: float,
    progress: Callable[[int, int], None] | None,
) -> Collected:
    names = _workers_by_name(client)
    files: list[dict[str, Any]] = meta["files"]
    planned: list[tuple[_Part, str, Any]] = []  # part, file, future
    for part in parts:
        label = f"{part.worker}:{part.path}" if part.worker else part.path
        if part.worker and part.worker not in names:
            files.append({"file": label, "worker": part.worker, "status": "unavailable", "reason": "no such worker"})
            continue
        pin = {"workers": [names[part.worker]], "allow_other_workers": False} if part.worker else {}
        try:
            expanded = client.submit(_expand_on_worker, part.path, pure=False, **pin).result(timeout=task_timeout_s)
        except Exception as err:  # noqa: BLE001 - a worker's failure is evidence, not a crash
            files.append({"file": label, "worker": part.worker, "status": "unavailable", "reason": _why(err)})
            continue
        meta["tasks"] += 1
        if not expanded:
            files.append({"file": label, "worker": part.worker, "status": "unavailable", "reason": "no file matches"})
        for path in expanded:
            future = client.submit(_read_on_worker, reader, path, dict(kwargs), pure=False, **pin)
            planned.append((part, path, future))
    meta["tasks"] += len(planned)
    frames: list[pd.DataFrame] = []
    merged = Collected(template.source, "", template.frame.iloc[:0].copy(), meta=meta)
    for done, (part, path, future) in enumerate(planned, start=1):
        label = f"{part.worker}:{path}" if part.worker else path
        try:
            got: Collected = future.result(timeout=task_timeout_s)
        except Exception as err:  # noqa: BLE001 - a dead worker or a timeout is evidence
            future.cancel()
            files.append({"file": label, "worker": part.worker, "status": "unavailable", "reason": _why(err)})
        else:
            files.append(
                {
                    "file": label,
                    "worker": part.worker,
                    "status": got.status,
                    "reason": got.reason,
                    "rows": len(got.frame),
                }
            )
            if got.usable:
                frames.append(got.frame)
            merged.lines_read += got.lines_read
            merged.lines_skipped += got.lines_skipped
            for sample in got.samples[: MAX_SAMPLES - len(merged.samples)]:
                merged.add_sample(sample)
        if progress is not None:
            progress(done, len(planned))
    if frames:
        merged.frame = pd.concat(frames, ignore_index=True)
    merged.target = ", ".join(str(f["file"]) for f in files)
    return _settle(merged, files)


def _settle(merged: Collected, files: list[dict[str, Any]]) -> Collected:
    """ok when every file read completely; partial when some did; unavailable when none."""
    bad = [f for f in files if f["status"] != "ok"]
    readable = [f for f in files if f["status"] in ("ok", "partial")]
    if not readable:
        merged.status = "unavailable"
    elif bad:
        merged.status = "partial"
    if bad:
        shown = "; ".join(f"{f['file']}: {f['reason'] or f['status']}" for f in bad[:5])
        more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
        merged.reason = redact(f"{len(bad)} of {len(files)} files not read completely: {shown}{more}")
    return merged


def _why(err: BaseException) -> str:
    """One line for a task that failed: a lost worker, a timeout or the worker's error."""
    name = type(err).__name__
    if name == "KilledWorker" or "CommClosed" in name:
        return "the worker running it died"
    if isinstance(err, TimeoutError) or name == "TimeoutError":
        return "no result within the task timeout (worker gone or stuck)"
    return redact(f"{name}: {err}".splitlines()[0][:200])


def engine_summary(collected: Collected) -> dict[str, Any]:
    """The engine facts findings.json keeps for a log source (empty for other sources)."""
    keys = ("engine", "scheduler", "tasks", "files")
    return {k: collected.meta[k] for k in keys if k in collected.meta}
