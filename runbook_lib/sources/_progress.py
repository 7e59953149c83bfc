"""Progress of a read, reported by the file layer rather than by each reader.

:func:`reporting_bytes` is what a caller (the fleet's local read, a notebook) wraps a read
in; :mod:`._files` calls :func:`report_bytes` as it consumes bytes. Readers stay free of a
progress parameter, and nothing is reported outside such a block (batch runs, workers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["report_bytes", "reporting_bytes"]

#: Where the reads of this context report the bytes they consume on disk (None: nowhere).
_ON_BYTES: ContextVar[Callable[[int], None] | None] = ContextVar("runbook_read_bytes", default=None)


@contextmanager
def reporting_bytes(total: int, progress: Callable[[int, int], None] | None) -> Iterator[None]:
    """Within the block, every file read through :mod:`._files` reports to *progress(done, total)*.

    One progress bar for any reader (access, application, PostgreSQL logs) without a
    parameter threaded through each; the reading thread is the caller's, so a context
    variable reaches it. *done* counts bytes on disk, so gzip files advance in step too.
    """
    if progress is None or total <= 0:
        yield
        return
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done = min(total, done + n)
        progress(done, total)

    token = _ON_BYTES.set(advance)
    try:
        yield
    finally:
        _ON_BYTES.reset(token)
        progress(total, total)  # close the bar even when the reader stopped early (a window)


def report_bytes(n: int) -> None:
    """Called by the file readers of :mod:`._files` as they consume *n* more bytes on disk."""
    hook = _ON_BYTES.get()
    if hook is not None and n > 0:
        hook(n)
