"""One probe per kind of dependency, each returning one row of DEPENDENCY_SCHEMA.

Used by :mod:`runbook_lib.sources.dependencies.checks`, which runs them concurrently and owns the
schema. Every probe has its own timeout and maps every driver/socket failure into a row
(``ok=False`` with a short ``status`` and a one-line, redacted ``detail``); only bugs raise.
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

import pandas as pd

from runbook_lib.errors import SourceError
from runbook_lib.redact import redact

if TYPE_CHECKING:  # psycopg is imported by the PostgreSQL probe only, when a run checks one
    from runbook_lib.sources.pg import connect as pgconn

#: Redirects followed: a health URL that redirects more than this is misconfigured.
MAX_REDIRECTS = 3
_MAX_DETAIL = 200

Row = dict[str, Any]


def safe_url(url: str) -> str:
    """A URL for display: no userinfo, query values masked, no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return redact(url.split("?")[0].rsplit("@", 1)[-1])
    netloc = (f"[{host}]" if ":" in host else host) + (f":{port}" if port else "")
    query = "&".join(f"{kv.split('=', 1)[0]}=***" for kv in parts.query.split("&") if kv)
    return redact(SplitResult(parts.scheme, netloc, parts.path, query, "").geturl())


def row(status: str, ok: bool, latency_s: float, detail: str, at: pd.Timestamp | None = None) -> Row:
    """One result row (without check/target): *detail* redacted, on one line, truncated."""
    line = " ".join(redact(str(detail)).split())
    if len(line) > _MAX_DETAIL:
        line = line[:_MAX_DETAIL] + "…"
    return {
        "ok": ok,
        "status": status,
        "latency_s": round(float(latency_s), 4),
        "detail": line,
        "checked_at": at if at is not None else pd.Timestamp.now(tz="UTC"),
    }


def _chain(err: BaseException) -> Iterable[BaseException]:
    seen: BaseException | None = err
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__


def _classify_os_error(err: BaseException) -> str:
    for e in _chain(err):
        if isinstance(e, ssl.SSLError | ssl.CertificateError):
            return "tls error"
        if isinstance(e, ConnectionRefusedError):
            return "refused"
        if isinstance(e, TimeoutError | socket.timeout):
            return "timeout"
        if isinstance(e, socket.gaierror):
            return "dns error"
        if isinstance(e, ConnectionResetError):
            return "reset"
    text = str(err).lower()
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "tls error"
    if "refused" in text:
        return "refused"
    if "name or service not known" in text or "nodename nor servname" in text:
        return "dns error"
    return "error"


def probe_http(url: str, timeout_s: float) -> Row:
    """GET *url*, following up to MAX_REDIRECTS; ``ok`` for a final 2xx/3xx.

    Latency is the time to the response headers (the body is not read). httpx's usual
    environment applies (``SSL_CERT_FILE``, ``HTTPS_PROXY``/``NO_PROXY``), as for curl.
    """
    import httpx  # here, not at the top: httpx costs a run ~0.13 s to import (its CLI's click)

    at, t0 = pd.Timestamp.now(tz="UTC"), time.perf_counter()
    timeout = httpx.Timeout(timeout_s, connect=timeout_s)
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, max_redirects=MAX_REDIRECTS) as client,
            client.stream("GET", url, headers={"User-Agent": "runbook-kit health check"}) as resp,
        ):
            latency = time.perf_counter() - t0
            code = resp.status_code
            hops = len(resp.history)
    except httpx.TimeoutException as err:
        return row(
            "timeout",
            False,
            time.perf_counter() - t0,
            f"no answer within {timeout_s:g} s ({type(err).__name__})",
            at,
        )
    except httpx.TooManyRedirects:
        return row(
            "too many redirects",
            False,
            time.perf_counter() - t0,
            f"more than {MAX_REDIRECTS} redirects",
            at,
        )
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as err:
        return row("bad url", False, 0.0, _strip_url(str(err), url), at)
    except httpx.TransportError as err:
        return row(
            _classify_os_error(err),
            False,
            time.perf_counter() - t0,
            _strip_url(str(err), url) or type(err).__name__,
            at,
        )
    via = f" after {hops} redirect{'s' if hops > 1 else ''}" if hops else ""
    return row(str(code), 200 <= code < 400, latency, f"HTTP {code} {resp.reason_phrase}{via}", at)


def _strip_url(message: str, url: str) -> str:
    return message.replace(url, safe_url(url))


def probe_postgres(target: pgconn.PgTarget, timeout_s: float) -> Row:
    """``SELECT 1`` on a read-only session; connect and statement time-limited by *timeout_s*."""
    import psycopg

    from runbook_lib.sources.pg import connect as pgconn

    at, t0 = pd.Timestamp.now(tz="UTC"), time.perf_counter()
    try:
        with pgconn.connect(target, timeout_s=timeout_s, statement_timeout_s=timeout_s) as conn:
            answer = conn.execute("SELECT 1").fetchone()
    except SourceError as err:
        return row(_pg_status(err), False, time.perf_counter() - t0, err.detail, at)
    except psycopg.Error as err:
        mapped = pgconn.map_error(err, target)
        return row(_pg_status(mapped), False, time.perf_counter() - t0, mapped.detail, at)
    latency = time.perf_counter() - t0
    if answer != (1,):
        return row("bad answer", False, latency, f"SELECT 1 returned {answer!r}", at)
    return row("SELECT 1", True, latency, "SELECT 1 answered", at)


#: A check row's status for an error code (the check table's own short words).
_PG_STATUS = {
    "slots_exhausted": "too many clients",
    "auth_failed": "auth failed",
    "denied": "auth failed",
    "timeout": "timeout",
    "refused": "refused",
    "missing": "no such database",
}


def _pg_status(err: SourceError) -> str:
    if err.code in _PG_STATUS:
        return _PG_STATUS[err.code]
    lowered = err.detail.lower()  # libpq says these only in words
    for needle, status in (("could not translate host name", "dns error"), ("ssl", "tls error")):
        if needle in lowered:
            return status
    return "error"


def _redis_parts(address: str) -> tuple[str, int, bool, str, str, int]:
    """host, port, tls, user, password, db from ``host:port`` or a redis URL."""
    if "://" not in address:
        address = "redis://" + address
    parts = urlsplit(address)
    host = parts.hostname or "127.0.0.1"
    port = parts.port or 6379
    db = int(parts.path.strip("/") or 0) if parts.path.strip("/").isdigit() else 0
    return (
        host,
        port,
        parts.scheme == "rediss",
        unquote(parts.username or ""),
        unquote(parts.password or ""),
        db,
    )


def redis_label(address: str) -> str:
    """``host:port[/db]`` (``rediss://`` kept) for display: never the password."""
    try:
        host, port, tls, _, _, db = _redis_parts(address)
    except ValueError:
        return safe_url(address)
    return f"{'rediss://' if tls else ''}{host}:{port}" + (f"/{db}" if db else "")


def _resp(*words: str) -> bytes:
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def probe_redis(address: str, timeout_s: float) -> Row:
    """PING (after AUTH when the URL carries a password); the whole exchange within *timeout_s*."""
    at, t0 = pd.Timestamp.now(tz="UTC"), time.perf_counter()
    try:
        host, port, tls, user, password, _ = _redis_parts(address)
    except ValueError as err:
        return row("bad address", False, 0.0, str(err), at)
    deadline = time.monotonic() + timeout_s
    try:
        sock = socket.create_connection((host, port), timeout=timeout_s)
        try:
            if tls:  # wrap_socket takes over the descriptor; close what we end up holding
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
            if password:
                sock.sendall(_resp("AUTH", *([user] if user else []), password))
                reply = _read_line(sock, deadline)
                if not reply.startswith("+"):
                    return row("auth failed", False, time.perf_counter() - t0, reply[1:], at)
            sock.sendall(_resp("PING"))
            reply = _read_line(sock, deadline)
        finally:
            sock.close()
    except TimeoutError:
        return row("timeout", False, time.perf_counter() - t0, f"no answer within {timeout_s:g} s", at)
    except (OSError, ssl.SSLError) as err:
        return row(_classify_os_error(err), False, time.perf_counter() - t0, str(err), at)
    latency = time.perf_counter() - t0
    if reply == "+PONG":
        return row("PONG", True, latency, "PING answered PONG", at)
    if reply.startswith("-"):
        word = reply[1:].split(" ", 1)[0] or "ERR"
        return row(word, word == "NOAUTH", latency, f"PING answered {reply[1:]}", at)
    return row("bad answer", False, latency, f"PING answered {reply!r}", at)


def _read_line(sock: socket.socket, deadline: float) -> str:
    """Read one RESP line (up to CRLF); raise TimeoutError past *deadline*."""
    data = b""
    while not data.endswith(b"\r\n") and len(data) < 4096:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionResetError("connection closed before an answer")
        data += chunk
    return data.split(b"\r\n", 1)[0].decode("utf-8", errors="replace")


def probe_dns(name: str, timeout_s: float) -> Row:
    """Resolve *name* in a daemon thread: ``getaddrinfo`` itself has no timeout."""
    at, t0 = pd.Timestamp.now(tz="UTC"), time.perf_counter()
    if name.rstrip(".").lower().endswith(".invalid") or name.lower() == "invalid":
        return row("NXDOMAIN", False, 0.0, "special-use name under .invalid (RFC 6761)", at)
    box: dict[str, Any] = {}

    def resolve() -> None:
        try:
            box["infos"] = socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as err:
            box["error"] = err

    worker = threading.Thread(target=resolve, daemon=True)
    worker.start()
    worker.join(timeout_s)
    latency = time.perf_counter() - t0
    if worker.is_alive():
        return row("timeout", False, latency, f"resolver did not answer within {timeout_s:g} s", at)
    err = box.get("error")
    if isinstance(err, UnicodeError):
        return row("invalid name", False, latency, f"not a valid host name: {err}", at)
    if isinstance(err, socket.gaierror):
        status = {socket.EAI_NONAME: "NXDOMAIN", socket.EAI_AGAIN: "temporary failure"}.get(err.errno or 0, "dns error")
        return row(status, False, latency, str(err), at)
    if err is not None:
        return row("error", False, latency, str(err), at)
    addresses = sorted({str(info[4][0]) for info in box["infos"]})
    shown = ", ".join(addresses[:4]) + (f" (+{len(addresses) - 4})" if len(addresses) > 4 else "")
    return row("resolved", True, latency, shown, at)
