"""The durable spool: every accepted POST is on disk (temp file + fsync + rename) before
the 202 goes out, and stays there until its runs have ended.

An entry moves ``received`` → ``triggered`` (incident chosen, runs decided) and is removed
once the runs finished (or ended interrupted/timed out: recorded in their run folders).
On restart :func:`entries` lists what is left, oldest first, so nothing is silently dropped.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from runbook_lib.paths import reports_root
from runbook_lib.redact import redact
from runbook_lib.store import read_json_object, write_json


def spool_dir() -> Path:
    folder = reports_root() / "_spool"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def quarantine_dir() -> Path:
    folder = reports_root() / "_quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _stamp() -> str:
    now = pd.Timestamp.now(tz="UTC")
    return f"{now.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:8]}"


def accept(payload: dict[str, Any], *, source: str = "http") -> Path:
    """Spool *payload*; return the entry path (durable when this returns)."""
    entry_id = _stamp()
    path = spool_dir() / f"{entry_id}.json"
    record = {
        "id": entry_id,
        "stage": "received",
        "received_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "source": source,
        "payload": payload,
    }
    return write_json(path, record)


def entries() -> list[Path]:
    """Spooled entries left to finish, oldest first (names sort by arrival time)."""
    return sorted(spool_dir().glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    return read_json_object(path)


def update(path: Path, **changes: Any) -> dict[str, Any]:
    record = read_json_object(path)
    record.update(changes)
    write_json(path, record)
    return record


def finish(path: Path) -> None:
    path.unlink(missing_ok=True)


def quarantine(body: bytes, reason: str) -> Path:
    """Keep a refused body (secrets redacted) with its reason beside it
    (``<stamp>.body`` + ``<stamp>.reason.json``)."""
    stamp = _stamp()
    folder = quarantine_dir()
    body = redact(body.decode("utf-8", errors="replace")).encode()  # never keep a secret at rest
    target = folder / f"{stamp}.body"
    tmp = folder / f".{stamp}.{os.getpid()}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(body)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(target)
    write_json(
        folder / f"{stamp}.reason.json",
        {"reason": reason, "received_at": pd.Timestamp.now(tz="UTC").isoformat(), "bytes": len(body)},
    )
    return target
