"""Sources: I/O only. Each ``collect_*`` returns a :class:`~runbook_lib.collected.Collected`
and never raises because the world is broken; driver errors are mapped once in
:mod:`runbook_lib.sources.driver_errors`; network calls default to
:data:`runbook_lib.collected.DEFAULT_TIMEOUT_S`."""
