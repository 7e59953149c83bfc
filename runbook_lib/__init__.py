"""runbook kit: the library behind the incident-investigation notebooks.

Layers, in the direction data flows (STYLE.md):
``sources`` (I/O, return :class:`Collected`) -> frames -> ``analysis`` (pure, return
:class:`Finding`) -> ``charts`` (pure, return a Figure) -> ``archive`` (reports).

The exports are lazy (:mod:`runbook_lib.lazy`): ``runbook run`` imports this package on
its way to the runner, which needs no pandas; an eager ``Collected`` cost it 0.5 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__, __dir__ = lazy_exports(__name__, __file__)
