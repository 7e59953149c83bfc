"""runbook kit: the library behind the incident-investigation notebooks.

Layers, in the direction data flows (STYLE.md):
``sources`` (I/O, return :class:`Collected`) -> frames -> ``analysis`` (pure, return
:class:`Finding`) -> ``charts`` (pure, return a Figure) -> ``archive`` (reports).
"""

from __future__ import annotations

from runbook_lib.collected import Collected
from runbook_lib.errors import (
    ParameterError,
    RunbookError,
    SourceDataError,
    SourceDenied,
    SourceError,
    SourceUnavailable,
)
from runbook_lib.findings import Finding
from runbook_lib.timewindow import Window, parse_time, parse_window

__version__ = "0.1.0"

__all__ = [
    "Collected",
    "Finding",
    "ParameterError",
    "RunbookError",
    "SourceDataError",
    "SourceDenied",
    "SourceError",
    "SourceUnavailable",
    "Window",
    "__version__",
    "parse_time",
    "parse_window",
]
