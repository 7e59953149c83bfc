"""The one atomic JSON write and read, for every record the kit keeps on disk.

Run records, findings, parameters, input fingerprints, the incident record and alert
spools all go through here, so they share one guarantee: a reader sees the old file or
the new one, never half of either (write to a temporary sibling, flush, rename). A file
that is missing or does not parse raises ``StoreError`` naming the file, so a caller can
decide whether that is an incident ("unknown") or a user's mistake.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

from runbook_lib.errors import RunbookError

__all__ = ["StoreError", "read_json", "read_json_object", "write_json"]


class StoreError(RunbookError):
    """A record file is missing, unreadable or not the JSON it should be."""

    def __init__(self, message: str, *, path: Path) -> None:
        super().__init__(message)
        self.path = path


def write_json(path: Path, data: Any) -> Path:
    """Write *data* as indented UTF-8 JSON to *path* atomically; return *path*.

    Values JSON cannot hold (timestamps, paths) are written with ``str``. The temporary
    name carries the pid, so two processes writing the same file never share one.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        tmp.replace(path)
    except OSError as err:  # pragma: no cover - only across filesystems
        if err.errno != errno.EXDEV:
            raise
        path.write_text(text, encoding="utf-8")
        tmp.unlink(missing_ok=True)
    return path


def read_json(path: Path) -> Any:
    """The JSON value in *path*; ``StoreError`` if it is missing or does not parse."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise StoreError(f"{path} does not exist", path=Path(path)) from err
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(f"{path} is not readable JSON ({err})", path=Path(path)) from err


def read_json_object(path: Path) -> dict[str, Any]:
    """Like :func:`read_json`, for files that must hold one JSON object."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise StoreError(f"{path} does not hold a JSON object", path=Path(path))
    return data
