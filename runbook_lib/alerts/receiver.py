"""HTTP receiver: ``POST /alerts`` (202 once spooled), ``GET /healthz``.

Standard library (``http.server.ThreadingHTTPServer``), not starlette + uvicorn: a request
does one small fsync'd file write and no I/O waits worth an event loop, and owning the
server loop keeps SIGTERM handling (stop accepting, interrupt runs, keep the spool) simple
and free of a second framework's lifecycle. Threads keep ``/healthz`` answering while a
POST writes.

Auth: ``Authorization: Bearer <token>`` or HTTP basic (the password is the token), compared
in constant time with ``RUNBOOK_WEBHOOK_TOKEN`` (or the file ``RUNBOOK_WEBHOOK_TOKEN_FILE``
names); optionally Grafana's ``X-Grafana-Alerting-Signature`` HMAC-SHA256 of the body with
``RUNBOOK_WEBHOOK_HMAC_SECRET`` (the plain-body form; Grafana's optional timestamp-prefixed
form is not checked yet). The token is never logged or echoed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import os
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from runbook_lib.alerts import spool
from runbook_lib.alerts.payloads import PayloadError, parse_body
from runbook_lib.errors import ParameterError

log = logging.getLogger("runbook.alerts")

TOKEN_ENV = "RUNBOOK_WEBHOOK_TOKEN"
TOKEN_FILE_ENV = "RUNBOOK_WEBHOOK_TOKEN_FILE"
HMAC_ENV = "RUNBOOK_WEBHOOK_HMAC_SECRET"
HMAC_HEADER = "X-Grafana-Alerting-Signature"
#: Alertmanager caps a notification at max_alerts; 1 MiB holds hundreds of alerts.
MAX_BODY_BYTES = 1 << 20


def read_token() -> str:
    """The configured webhook token ('' when none); a named file that is unreadable is an error."""
    path = os.environ.get(TOKEN_FILE_ENV, "")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ParameterError(f"cannot read the token file: {err.strerror}", key=TOKEN_FILE_ENV) from err
    return os.environ.get(TOKEN_ENV, "").strip()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def authorized(header: str, token: str) -> bool:
    """Constant-time check of a Bearer or Basic credential against *token*."""
    scheme, _, value = header.partition(" ")
    offered = ""
    if scheme.lower() == "bearer":
        offered = value.strip()
    elif scheme.lower() == "basic":
        try:
            offered = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            offered = ""
    return hmac.compare_digest(offered.encode(), token.encode())


def signature_ok(body: bytes, header: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.strip().lower().encode(), expected.encode())


class _Handler(BaseHTTPRequestHandler):
    server: AlertServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # headers (the token) never logged
        log.debug("%s %s", self.command, self.path.split("?")[0])

    def _reply(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.split("?")[0] == "/healthz":
            self._reply(200, {"status": "ok"})
        else:
            self._reply(404, {"error": "not found (POST /alerts, GET /healthz)"})

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/alerts":
            self._reply(404, {"error": "not found (POST /alerts)"})
            return
        srv = self.server
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._reply(411, {"error": "Content-Length required"})
            return
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            if srv.allowed(self.headers, b""):
                spool.quarantine(self.rfile.read(min(length, 4096)), f"body of {length} bytes over {MAX_BODY_BYTES}")
            self._reply(413, {"error": f"body over {MAX_BODY_BYTES} bytes"})
            return
        body = self.rfile.read(length)
        if not srv.allowed(self.headers, body):
            self._reply(401, {"error": "missing or wrong credentials"})
            return
        try:
            _, raw = parse_body(body)
        except PayloadError as err:
            reason = str(err)
            spool.quarantine(body, reason)
            # 400: not JSON at all; 422: JSON, but not a webhook we know.
            code = 400 if reason.startswith(("malformed JSON", "body is not UTF-8")) else 422
            self._reply(code, {"error": reason})
            return
        path = spool.accept(raw)
        srv.on_accepted(path)
        self._reply(202, {"status": "accepted", "id": path.stem})


class AlertServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, token: str, on_accepted: Callable[[Path], None]) -> None:
        if not token and not is_loopback(host):
            raise ParameterError(
                f"no webhook token configured ({TOKEN_ENV} or {TOKEN_FILE_ENV}): refusing to listen on {host}; "
                "use --host 127.0.0.1 or set a token",
                key="--host",
            )
        super().__init__((host, port), _Handler)
        self.token = token
        self.hmac_secret = os.environ.get(HMAC_ENV, "")
        self.on_accepted = on_accepted

    def allowed(self, headers: Any, body: bytes) -> bool:
        signature = headers.get(HMAC_HEADER, "")
        if self.hmac_secret and signature and body:
            return signature_ok(body, signature, self.hmac_secret)
        if not self.token:
            return True  # loopback only, said so at start
        return authorized(headers.get("Authorization", ""), self.token)
