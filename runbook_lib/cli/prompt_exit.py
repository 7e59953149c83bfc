"""Leaving the ``runbook`` process promptly once its work is done and flushed.

Why: after a flow run the interpreter's own teardown (freeing the pandas, nbconvert and
jupyter modules the CLI loaded) took 0.25-0.35 s on a 2-core machine, time the user waits
for and nothing needs. The exit handlers still run (``logging.shutdown``, ``weakref.finalize``
clean-ups such as temporary directories), then stdout and stderr are flushed, then the
process ends. With another thread still alive the ordinary exit is taken, which waits for it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

__all__ = ["exit_promptly"]


def exit_promptly(code: int) -> NoReturn:
    """End the process with *code* after the exit handlers ran and the output is flushed."""
    run_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's own, as at a normal exit
    if threading.active_count() > 1 or run_handlers is None:
        raise SystemExit(code)
    run_handlers()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more can be said there
            stream.flush()
    os._exit(code)
