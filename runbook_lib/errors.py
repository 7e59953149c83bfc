"""One exception tree for the kit.

    RunbookError
    ├── ParameterError        bad parameter value/key (names the file and key)
    └── SourceError           a source of evidence failed (names source and target)
        ├── SourceUnavailable down, refused, timed out, file missing
        ├── SourceDenied      permission denied (file mode, pg privileges, psutil)
        └── SourceDataError   the source answered but its data is garbled

Only ``runbook_lib.sources`` catch driver exceptions and map them here with
``raise ... from err``. ``target`` never carries credentials: pass it through
:func:`runbook_lib.redact.redact` first.
"""

from __future__ import annotations

__all__ = [
    "ParameterError",
    "RunbookError",
    "SourceDataError",
    "SourceDenied",
    "SourceError",
    "SourceUnavailable",
]


class RunbookError(Exception):
    """Base of every error the kit raises on purpose."""


class ParameterError(RunbookError):
    """A parameter is unknown, malformed or unsafe (e.g. carries a password)."""

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None) -> None:
        self.key = key
        self.file = file
        where = ""
        if file and key:
            where = f"{file}: {key}: "
        elif key:
            where = f"{key}: "
        elif file:
            where = f"{file}: "
        super().__init__(f"{where}{message}")


class SourceError(RunbookError):
    """A source of evidence could not deliver."""

    def __init__(self, message: str, *, source: str, target: str = "") -> None:
        from runbook_lib.redact import redact

        self.source = source
        self.target = redact(target)
        where = f"{source} ({self.target})" if self.target else source
        super().__init__(f"{where}: {redact(message)}")


class SourceUnavailable(SourceError):
    """The source is down, refused, timed out or missing."""


class SourceDenied(SourceError):
    """The source refused us for lack of privileges."""


class SourceDataError(SourceError):
    """The source answered, but what it said cannot be read."""
