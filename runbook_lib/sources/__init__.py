"""Sources: I/O only. Each ``collect_*`` returns a :class:`~runbook_lib.collected.Collected`
and never raises because the world is broken; driver errors are mapped once in
:mod:`runbook_lib.sources.driver_errors`."""

from __future__ import annotations

__all__ = ["DEFAULT_TIMEOUT_S"]

#: Seconds any network call may wait (connect, read, statement) unless a flow's
#: ``timeout_s`` says otherwise: enough for a loaded server nearby, short enough that a
#: dead one costs the incident one line, not minutes.
DEFAULT_TIMEOUT_S = 5.0
