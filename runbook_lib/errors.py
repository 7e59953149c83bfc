"""One exception tree for the kit.

    RunbookError
    ├── ParameterError        bad parameter value/key (names the file and key)
    └── SourceError           a source of evidence failed (names source and target)
        ├── SourceUnavailable down, refused, timed out, file missing
        ├── SourceDenied      permission denied (file mode, pg privileges, psutil)
        └── SourceDataError   the source answered but its data is garbled

Every ``SourceError`` carries a ``code`` from :data:`ERROR_CODES` (what went wrong, for
code to decide on) and a ``detail`` (the one-line reason without the source prefix, for
people), so nobody parses a message back. Only ``runbook_lib.sources`` catch driver
exceptions, and they map them once, in :mod:`runbook_lib.sources.driver_errors`, with
``raise ... from err``. ``target`` never carries credentials: it is redacted here.
"""

from __future__ import annotations

from typing import Literal

from runbook_lib.redact import redact

#: What went wrong with a source, as code can test it.
ErrorCode = Literal[
    "missing",  # no such file, no match for a glob, nothing configured where something must be
    "denied",  # permission or privilege refused (file mode, pg role, psutil)
    "auth_failed",  # credentials refused (password, token)
    "timeout",  # no answer within the timeout (connect, read, statement)
    "refused",  # nothing listens there (connection refused)
    "unreachable",  # network or server down for another reason (DNS, reset, shutting down)
    "slots_exhausted",  # the server is up but has no connection slot left for us
    "malformed",  # it answered, but what it said cannot be read
    "unsupported_format",  # the data is of a kind this reader does not read
    "failed",  # anything else the source reported
]
ERROR_CODES: tuple[str, ...] = ErrorCode.__args__  # type: ignore[attr-defined]

__all__ = [
    "ERROR_CODES",
    "ErrorCode",
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

    #: The code an error of this class has unless the raiser says better.
    default_code: ErrorCode = "failed"

    def __init__(self, message: str, *, source: str, target: str = "", code: ErrorCode | None = None) -> None:
        self.source = source
        self.target = redact(target)
        self.detail = " ".join(redact(message).split())
        self.code: ErrorCode = code or self.default_code
        if self.code not in ERROR_CODES:
            raise ValueError(f"unknown error code {self.code!r}")
        where = f"{source} ({self.target})" if self.target else source
        super().__init__(f"{where}: {redact(message)}")


class SourceUnavailable(SourceError):
    """The source is down, refused, timed out or missing."""

    default_code: ErrorCode = "unreachable"


class SourceDenied(SourceError):
    """The source refused us for lack of privileges."""

    default_code: ErrorCode = "denied"


class SourceDataError(SourceError):
    """The source answered, but what it said cannot be read."""

    default_code: ErrorCode = "malformed"
