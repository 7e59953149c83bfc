"""Foreign errors mapped once into the kit's tree (httpx's ``_exceptions.py`` is the model).

Sources catch what the drivers raise (``OSError``, psycopg, httpx) and raise
``from_*(err, …) from err``: one place decides the class (unavailable, denied, data) and
the :data:`~runbook_lib.errors.ErrorCode`, by exception class or SQLSTATE first and by
message only where the driver gives nothing better (libpq's client-side failures have no
SQLSTATE; ``from_os_error`` lives in :mod:`runbook_lib.sources.os_errors`, re-exported here).
``tests/sources/test_driver_errors.py`` fails when a driver grows an exception
class these tables do not name.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from runbook_lib.errors import ErrorCode, SourceDataError, SourceDenied, SourceError, SourceUnavailable
from runbook_lib.redact import redact
from runbook_lib.sources.os_errors import from_os_error

__all__ = [
    "HTTPX_CODES",
    "PG_CLASS_CODES",
    "PG_SQLSTATE_CODES",
    "from_httpx",
    "from_os_error",
    "from_psycopg",
    "pg_code",
]

if TYPE_CHECKING:
    import httpx
    import psycopg

    #: Every exception class httpx exports, with what it means for a source. Checked most
    #: specific first (the order of ``type(err).__mro__``). Built on first use (:func:`_httpx_codes`):
    #: importing httpx costs a run ~0.13 s, and most runs call no HTTP endpoint.
    HTTPX_CODES: dict[type[Exception], ErrorCode]


def __getattr__(name: str) -> Any:
    if name == "HTTPX_CODES":
        return _httpx_codes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _httpx_codes() -> dict[type[Exception], ErrorCode]:
    import httpx

    return {
        httpx.HTTPError: "failed",
        httpx.RequestError: "failed",
        httpx.TransportError: "unreachable",
        httpx.TimeoutException: "timeout",
        httpx.ConnectTimeout: "timeout",
        httpx.ReadTimeout: "timeout",
        httpx.WriteTimeout: "timeout",
        httpx.PoolTimeout: "timeout",
        httpx.NetworkError: "unreachable",
        httpx.ConnectError: "refused",
        httpx.ReadError: "unreachable",
        httpx.WriteError: "unreachable",
        httpx.CloseError: "unreachable",
        httpx.ProtocolError: "malformed",
        httpx.LocalProtocolError: "malformed",
        httpx.RemoteProtocolError: "malformed",
        httpx.ProxyError: "unreachable",
        httpx.UnsupportedProtocol: "unsupported_format",
        httpx.DecodingError: "malformed",
        httpx.TooManyRedirects: "malformed",
        httpx.HTTPStatusError: "failed",
        httpx.InvalidURL: "unsupported_format",
        httpx.CookieConflict: "failed",
        httpx.StreamError: "failed",
        httpx.StreamConsumed: "failed",
        httpx.StreamClosed: "failed",
        httpx.ResponseNotRead: "failed",
        httpx.RequestNotRead: "failed",
    }


#: SQLSTATEs that mean something particular to us (PostgreSQL "Appendix A. Error Codes").
PG_SQLSTATE_CODES: dict[str, ErrorCode] = {
    "53300": "slots_exhausted",  # too_many_connections (also "remaining slots are reserved")
    "28P01": "auth_failed",  # invalid_password
    "28000": "auth_failed",  # invalid_authorization_specification (pg_hba, no such role)
    "42501": "denied",  # insufficient_privilege
    "57014": "timeout",  # query_canceled: our statement_timeout fired
    "3D000": "missing",  # invalid_catalog_name: no such database
}
#: The rest by SQLSTATE class (first two characters).
PG_CLASS_CODES: dict[str, ErrorCode] = {
    "08": "unreachable",  # connection exception
    "28": "auth_failed",  # invalid authorization specification
    "53": "unreachable",  # insufficient resources (disk full, out of memory)
    "57": "unreachable",  # operator intervention (shutting down, cannot connect now)
    "58": "unreachable",  # system error
    "42": "failed",  # syntax error or access rule violation
    "XX": "failed",  # internal error
}
#: libpq's client-side failures have no SQLSTATE: their message is all there is.
_PG_MESSAGES: tuple[tuple[str, ErrorCode], ...] = (
    ("too many clients", "slots_exhausted"),
    ("remaining connection slots are reserved", "slots_exhausted"),
    ("password authentication failed", "auth_failed"),
    ("no password supplied", "auth_failed"),
    ("permission denied", "denied"),
    ("connection refused", "refused"),
    ("timeout expired", "timeout"),
    ("could not translate host name", "unreachable"),
    ('role "', "auth_failed"),  # FATAL: role "x" does not exist
    ("does not exist", "missing"),  # FATAL: database "x" does not exist
)


def pg_code(err: psycopg.Error) -> ErrorCode:
    """What a psycopg error means: its SQLSTATE (exact, then class); without one (libpq's
    client side, and failures while connecting), its message."""
    state = err.sqlstate or ""
    if state:
        return PG_SQLSTATE_CODES.get(state) or PG_CLASS_CODES.get(state[:2], "failed")
    lowered = str(err).lower()
    for needle, code in _PG_MESSAGES:
        if needle in lowered:
            return code
    import psycopg  # the caller caught a psycopg error: it is imported already

    if isinstance(err, psycopg.OperationalError | psycopg.InterfaceError):
        return "unreachable"
    return "failed"


def from_psycopg(err: psycopg.Error, *, target: str, source: str = "postgres") -> SourceError:
    """A psycopg error as ours, with a one-line, password-free reason."""
    text = " ".join(redact(str(err)).split())
    code = pg_code(err)
    if code in ("auth_failed", "denied"):
        return SourceDenied(text, source=source, target=target, code=code)
    if code == "slots_exhausted":
        message = f"server refuses new connections, all slots are taken: {text}"
        return SourceUnavailable(message, source=source, target=target, code=code)
    return SourceUnavailable(text, source=source, target=target, code=code)


def from_httpx(err: httpx.HTTPError | httpx.InvalidURL, *, source: str, target: str) -> SourceError:
    """An httpx error as ours: timeouts and refusals are unavailable, garble is data."""
    codes = _httpx_codes()
    code: ErrorCode = next((codes[k] for k in type(err).__mro__ if k in codes), "failed")
    text = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
    if code in ("malformed", "unsupported_format"):
        return SourceDataError(text, source=source, target=target, code=code)
    return SourceUnavailable(text, source=source, target=target, code=code)
