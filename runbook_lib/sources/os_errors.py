"""OS errors mapped into the kit's tree: the part of :mod:`runbook_lib.sources.driver_errors`
the file readers need, kept apart so reading a log does not import psycopg and httpx
(about a quarter of a second at every flow's start)."""

from __future__ import annotations

import errno
import socket

from runbook_lib.errors import SourceDenied, SourceError, SourceUnavailable

__all__ = ["from_os_error"]


def from_os_error(err: OSError, *, source: str, target: str) -> SourceError:
    """A file or socket error as ours (the reasons read as before: "file not found", …)."""
    if isinstance(err, FileNotFoundError):
        return SourceUnavailable("file not found", source=source, target=target, code="missing")
    if isinstance(err, PermissionError):
        return SourceDenied("permission denied", source=source, target=target, code="denied")
    if isinstance(err, IsADirectoryError):
        return SourceUnavailable("is a directory", source=source, target=target, code="unsupported_format")
    if isinstance(err, TimeoutError | socket.timeout):
        return SourceUnavailable("timed out", source=source, target=target, code="timeout")
    if isinstance(err, ConnectionRefusedError) or err.errno == errno.ECONNREFUSED:
        return SourceUnavailable("connection refused", source=source, target=target, code="refused")
    return SourceUnavailable(err.strerror or str(err), source=source, target=target, code="unreachable")
