"""Dependency checks against real servers on loopback: HTTP(S), PostgreSQL, Redis, DNS."""

from __future__ import annotations

import http.server
import json
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.dependencies import find_dependency_findings
from runbook_lib.errors import ParameterError
from runbook_lib.sources.dependencies.checks import (
    DEPENDENCY_SCHEMA,
    GRACE_S,
    check_dns,
    check_http,
    check_postgres,
    check_redis,
    collect_dependencies,
)
from tests.net import free_loopback_port

PG_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SECRET = "Sup3rSecretPW"
TOKEN = "tok123SECRETtok"
# Time allowed beyond a check's own timeout for thread start-up and scheduling noise.
MARGIN_S = 1.0

Server = dict[str, object]


class _Handler(http.server.BaseHTTPRequestHandler):
    release: threading.Event

    def do_GET(self) -> None:
        if self.path.startswith("/ok"):
            self._answer(200, b"ok")
        elif self.path == "/fail":
            self._answer(500, b"boom")
        elif self.path == "/teapot":
            self._answer(418, b"short and stout")
        elif self.path == "/slow":
            self.release.wait(15)  # longer than any timeout under test
            self._answer(200, b"late")
        elif self.path == "/trickle":
            # Each byte arrives well within httpx's read timeout, so only our own deadline
            # ends the check.
            self.wfile.write(b"HTTP/1.1 200 OK\r\n")
            self.wfile.flush()
            while not self.release.wait(0.2):
                self.wfile.write(b"X")
                self.wfile.flush()
        elif self.path == "/redirect":
            self._redirect("/ok")
        elif self.path.startswith("/loop"):
            self._redirect("/loop")
        else:
            self._answer(404, b"no")

    def _answer(self, code: int, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, to: str) -> None:
        self.send_response(302)
        self.send_header("Location", to)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that give up on /slow and /trickle break the pipe: expected


def _serve(context: ssl.SSLContext | None = None) -> Iterator[Server]:
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    server = _QuietServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    port = server.server_address[1]
    scheme = "https" if context else "http"
    try:
        yield {"base": f"{scheme}://127.0.0.1:{port}", "port": port}
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture(scope="module")
def web() -> Iterator[Server]:
    yield from _serve()


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server-side TLS context with a certificate generated here (no CA trusts it)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


@pytest.fixture(scope="module")
def tls_web(self_signed: ssl.SSLContext) -> Iterator[Server]:
    yield from _serve(self_signed)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    return free_loopback_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener whose backlog completes TCP handshakes, but which never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


def _one_shot_server(
    reply: bytes, context: ssl.SSLContext | None = None
) -> tuple[int, list[bytes], Callable[[], None]]:
    """A TCP server that answers *reply* to each request (TLS when *context* is given)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.1)
    received: list[bytes] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                if context is not None:
                    conn.settimeout(2)
                    conn = context.wrap_socket(conn, server_side=True)
            except TimeoutError:
                continue
            except ssl.SSLError as err:  # the client rejected our certificate
                received.append(repr(err).encode())
                continue
            with conn:
                conn.settimeout(2)
                try:
                    data = conn.recv(4096)
                    received.append(data)
                    conn.sendall(reply)
                    while data and not stop.is_set():
                        data = conn.recv(4096)  # until the client hangs up
                        received.append(data)
                        if data:
                            conn.sendall(reply)
                except OSError:
                    pass

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def close() -> None:
        stop.set()
        thread.join(5)
        listener.close()

    return int(listener.getsockname()[1]), received, close


def _timed(call: Callable[[], pd.DataFrame]) -> tuple[pd.DataFrame, float]:
    t0 = time.perf_counter()
    frame = call()
    return frame, time.perf_counter() - t0


def _by_target(frame: pd.DataFrame) -> dict[str, dict[str, object]]:
    return {str(r["target"]): r for r in frame.to_dict("records")}


def _assert_schema(frame: pd.DataFrame) -> None:
    assert {c: str(t) for c, t in frame.dtypes.items()} == DEPENDENCY_SCHEMA


# --------------------------------------------------------------------------------- HTTP
def test_http_statuses_latency_and_bounded_time(web: Server, closed_port: int) -> None:
    base = web["base"]
    paths = ["ok", "fail", "slow", "teapot", "redirect", "loop"]
    urls = [f"{base}/{p}" for p in paths] + [f"http://127.0.0.1:{closed_port}/health"]
    frame, elapsed = _timed(lambda: check_http(urls, timeout_s=1.0))
    _assert_schema(frame)
    assert list(frame["target"]) == urls
    rows = _by_target(frame)
    ok = rows[f"{base}/ok"]
    assert (ok["ok"], ok["status"], ok["check"]) == (True, "200", "http")
    assert 0 < float(ok["latency_s"]) < 1.0 and ok["detail"] == "HTTP 200 OK"
    assert (rows[f"{base}/fail"]["ok"], rows[f"{base}/fail"]["status"]) == (False, "500")
    assert (rows[f"{base}/teapot"]["ok"], rows[f"{base}/teapot"]["status"]) == (False, "418")
    slow = rows[f"{base}/slow"]
    assert (slow["ok"], slow["status"]) == (False, "timeout")
    assert 0.9 <= float(slow["latency_s"]) < 1.0 + MARGIN_S
    redirected = rows[f"{base}/redirect"]
    assert (redirected["ok"], redirected["status"]) == (True, "200")
    assert "after 1 redirect" in str(redirected["detail"])
    assert rows[f"{base}/loop"]["status"] == "too many redirects"
    refused = rows[f"http://127.0.0.1:{closed_port}/health"]
    assert (refused["ok"], refused["status"]) == (False, "refused")
    # All URLs are checked concurrently: the slow one bounds the call, not the sum.
    assert elapsed < 1.0 + MARGIN_S
    assert frame["checked_at"].dt.tz is not None


def test_http_accepts_comma_string(web: Server) -> None:
    base = web["base"]
    frame = check_http(f" {base}/ok , ,{base}/fail ", timeout_s=2)
    assert list(frame["status"]) == ["200", "500"]
    assert check_http("", timeout_s=1).empty


def test_http_self_signed_certificate_is_a_tls_error(tls_web: Server) -> None:
    frame, elapsed = _timed(lambda: check_http(f"{tls_web['base']}/ok", timeout_s=2))
    row = frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "tls error")
    assert "certificate" in row["detail"].lower()
    assert elapsed < 2 + MARGIN_S


def test_http_credentials_never_reach_the_frame(web: Server) -> None:
    port = web["port"]
    urls = [
        f"http://admin:{SECRET}@127.0.0.1:{port}/ok?token={TOKEN}&region=eu",
        f"http://{TOKEN}@127.0.0.1:{port}/ok",
        f"http://127.0.0.1:{port}/ok?sig={TOKEN}",
    ]
    frame = check_http(urls, timeout_s=2)
    assert list(frame["status"]) == ["200", "200", "200"]
    assert frame["target"].iloc[0] == f"http://127.0.0.1:{port}/ok?token=***&region=***"
    dump = frame.to_json(date_format="iso")
    assert SECRET not in dump and TOKEN not in dump


def test_http_trickling_server_is_cut_at_the_collection_deadline(web: Server) -> None:
    t0 = time.perf_counter()
    got = collect_dependencies(health_urls=f"{web['base']}/trickle", timeout_s=1.0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0 + GRACE_S + MARGIN_S
    assert got.status == "partial"
    row = got.frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "timeout")
    assert str(row["detail"]).startswith("check did not finish")
    assert "could not check: http" in got.reason


# --------------------------------------------------------------------------- PostgreSQL
def test_postgres_select_1_on_the_real_server(monkeypatch: pytest.MonkeyPatch) -> None:
    # Trust auth ignores the password, which must still never show.
    monkeypatch.setenv("RUNBOOK_TEST_DSN", f"{PG_DSN} password={SECRET}")
    frame = check_postgres(pg_dsn_env="RUNBOOK_TEST_DSN", timeout_s=3)
    _assert_schema(frame)
    row = frame.iloc[0]
    assert (row["check"], row["ok"], row["status"]) == ("postgres", True, "SELECT 1")
    assert "host=127.0.0.1" in row["target"] and "port=5432" in row["target"]
    assert float(row["latency_s"]) < 3
    assert SECRET not in frame.to_json(date_format="iso")


def test_postgres_closed_port_is_refused_quickly(monkeypatch: pytest.MonkeyPatch, closed_port: int) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_DSN", f"host=127.0.0.1 port={closed_port} user=postgres "
                                           f"password={SECRET} dbname=postgres")  # fmt: skip
    frame, elapsed = _timed(lambda: check_postgres(pg_dsn_env="RUNBOOK_TEST_DSN", timeout_s=3))
    row = frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "refused")
    assert "refused" in str(row["detail"]).lower()
    assert elapsed < 3
    assert SECRET not in frame.to_json(date_format="iso")


def test_postgres_silent_listener_is_bounded_by_connect_timeout(
    monkeypatch: pytest.MonkeyPatch, silent_port: int
) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_DSN", f"host=127.0.0.1 port={silent_port} user=postgres")
    frame, elapsed = _timed(lambda: check_postgres(pg_dsn_env="RUNBOOK_TEST_DSN", timeout_s=2))
    row = frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "timeout")
    assert 1.5 <= elapsed < 2 + MARGIN_S


def test_postgres_unknown_database_and_configuration_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=nope_db")
    missing_db = check_postgres(pg_dsn_env="RUNBOOK_TEST_DSN", timeout_s=3).iloc[0]
    assert (missing_db["ok"], missing_db["status"]) == (False, "no such database")
    monkeypatch.setenv("RUNBOOK_TEST_DSN", "host=127.0.0.1 port=5432 user=no_such_role_rb")
    missing_role = check_postgres(pg_dsn_env="RUNBOOK_TEST_DSN", timeout_s=3).iloc[0]
    assert (missing_role["ok"], missing_role["status"]) == (False, "auth failed")
    assert "no_such_role_rb" in missing_role["detail"]
    monkeypatch.delenv("RUNBOOK_UNSET_DSN", raising=False)
    unset = check_postgres(pg_dsn_env="RUNBOOK_UNSET_DSN").iloc[0]
    assert (unset["ok"], unset["status"]) == (False, "config error")
    assert "RUNBOOK_UNSET_DSN" in unset["detail"]
    assert check_postgres().empty  # nothing configured: no row


# -------------------------------------------------------------------------------- Redis
def test_redis_ping_on_the_real_server() -> None:
    for address in ("127.0.0.1:6379", "redis://127.0.0.1:6379/0"):
        row = check_redis(address, timeout_s=2).iloc[0]
        assert (row["check"], row["ok"], row["status"]) == ("redis", True, "PONG")
        assert row["target"] == "127.0.0.1:6379"
    assert check_redis("").empty


def test_redis_closed_port_and_silent_listener(closed_port: int, silent_port: int) -> None:
    refused, elapsed = _timed(lambda: check_redis(f"127.0.0.1:{closed_port}", timeout_s=1))
    assert (refused.iloc[0]["ok"], refused.iloc[0]["status"]) == (False, "refused")
    assert elapsed < 1 + MARGIN_S
    silent, elapsed = _timed(lambda: check_redis(f"127.0.0.1:{silent_port}", timeout_s=0.5))
    assert (silent.iloc[0]["ok"], silent.iloc[0]["status"]) == (False, "timeout")
    assert 0.45 <= elapsed < 0.5 + MARGIN_S


@pytest.mark.parametrize(
    ("reply", "ok", "status"),
    [
        (b"-NOAUTH Authentication required.\r\n", True, "NOAUTH"),
        (b"-LOADING Redis is loading the dataset in memory\r\n", False, "LOADING"),
        (b"$5\r\nhello\r\n", False, "bad answer"),
    ],
)
def test_redis_error_replies_are_answers(reply: bytes, ok: bool, status: str) -> None:
    port, received, close = _one_shot_server(reply)
    try:
        row = check_redis(f"127.0.0.1:{port}", timeout_s=2).iloc[0]
    finally:
        close()
    assert (row["ok"], row["status"]) == (ok, status)
    assert received[0] == b"*1\r\n$4\r\nPING\r\n"


def test_rediss_with_an_untrusted_certificate_is_a_tls_error(
    self_signed: ssl.SSLContext,
) -> None:
    port, received, close = _one_shot_server(b"+PONG\r\n", self_signed)
    try:
        row = check_redis(f"rediss://127.0.0.1:{port}", timeout_s=2).iloc[0]
    finally:
        close()
    assert (row["ok"], row["status"], row["target"]) == (
        False,
        "tls error",
        f"rediss://127.0.0.1:{port}",
    )
    assert "certificate" in row["detail"].lower()


def test_redis_url_password_is_sent_as_auth_and_never_shown() -> None:
    port, received, close = _one_shot_server(b"-WRONGPASS invalid username-password pair\r\n")
    try:
        frame = check_redis(f"redis://default:{SECRET}@127.0.0.1:{port}/2", timeout_s=2)
    finally:
        close()
    row = frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "auth failed")
    assert row["target"] == f"127.0.0.1:{port}/2"
    assert received[0] == f"*3\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n$13\r\n{SECRET}\r\n".encode()
    assert SECRET not in frame.to_json(date_format="iso")


# ---------------------------------------------------------------------------------- DNS
def test_dns_resolves_localhost_and_rejects_invalid_names() -> None:
    frame = check_dns("localhost, does-not-exist.invalid, bad..name", timeout_s=2)
    _assert_schema(frame)
    rows = _by_target(frame)
    assert (rows["localhost"]["ok"], rows["localhost"]["status"]) == (True, "resolved")
    assert "127.0.0.1" in str(rows["localhost"]["detail"])
    invalid = rows["does-not-exist.invalid"]
    assert (invalid["ok"], invalid["status"]) == (False, "NXDOMAIN")
    assert (rows["bad..name"]["ok"], rows["bad..name"]["status"]) == (False, "invalid name")


# ---------------------------------------------------------------------- collect + findings
def test_collect_nothing_configured_is_skipped() -> None:
    got = collect_dependencies()
    assert got.status == "skipped" and got.frame.empty
    assert list(got.frame.columns) == list(DEPENDENCY_SCHEMA)


def test_collect_runs_everything_concurrently_and_down_is_data(
    web: Server, closed_port: int, silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNBOOK_TEST_DSN", f"host=127.0.0.1 port={closed_port} user=postgres "
                                           f"password={SECRET} dbname=postgres")  # fmt: skip
    base, port = web["base"], web["port"]
    t0 = time.perf_counter()
    got = collect_dependencies(
        health_urls=[f"{base}/ok", f"{base}/slow", f"http://u:{SECRET}@127.0.0.1:{port}/fail"],
        pg_dsn_env="RUNBOOK_TEST_DSN",
        redis=f"127.0.0.1:{silent_port}",
        dns_names="localhost",
        timeout_s=1.0,
    )
    elapsed = time.perf_counter() - t0
    # Five checks that each wait up to ~1 s (PostgreSQL refuses at once): run concurrently.
    assert elapsed < 1.0 + MARGIN_S
    assert got.status == "ok", got.reason
    assert got.reason == "2 of 6 dependencies answered"
    assert got.target == "http×3, postgres, redis, dns"
    statuses = dict(zip(got.frame["target"], got.frame["status"], strict=True))
    assert statuses[f"{base}/slow"] == "timeout"
    assert statuses[f"http://127.0.0.1:{port}/fail"] == "500"
    assert statuses[f"127.0.0.1:{silent_port}"] == "timeout"
    findings = find_dependency_findings(got)
    summaries = [f.summary for f in findings]
    assert f"GET {base}/slow did not answer within 1 s" in summaries
    assert f"redis 127.0.0.1:{silent_port} did not answer within 1 s" in summaries
    assert any(s.startswith("PostgreSQL host=127.0.0.1") and "refused connections" in s
               for s in summaries)  # fmt: skip
    assert any(s.startswith(f"GET http://127.0.0.1:{port}/fail returned 500 in ") for s in summaries)
    serialized = json.dumps(
        [got.status_row(), got.frame.to_json(date_format="iso"), [f.to_dict() for f in findings]],
        default=str,
    )
    assert SECRET not in serialized


def test_collect_with_broken_configuration_is_partial(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RUNBOOK_UNSET_DSN", raising=False)
    got = collect_dependencies(pg_dsn_env="RUNBOOK_UNSET_DSN", dns_names=["localhost"])
    assert got.status == "partial"
    assert "could not check: postgres env RUNBOOK_UNSET_DSN" in got.reason
    assert list(got.frame["status"]) == ["config error", "resolved"]


def test_forgiving_parameter_forms(web: Server) -> None:
    port = web["port"]
    frame = check_http(f"127.0.0.1:{port}/ok", timeout_s=2)
    assert (frame.iloc[0]["target"], frame.iloc[0]["status"]) == (
        f"http://127.0.0.1:{port}/ok",
        "200",
    )
    dns = check_dns(["localhost:5432", "https://localhost/health", "[::1]:80"], timeout_s=2)
    assert list(dns["target"]) == ["localhost", "localhost", "::1"]
    assert dns["ok"].all()
    bad = check_redis("127.0.0.1:notaport", timeout_s=1).iloc[0]
    assert (bad["ok"], bad["status"]) == (False, "bad address")


def test_a_dsn_given_as_pg_service_is_refused_and_never_shown() -> None:
    got = collect_dependencies(pg_service=f"host=127.0.0.1 password={SECRET}")
    assert got.status == "partial"
    row = got.frame.iloc[0]
    assert (row["ok"], row["status"]) == (False, "config error")
    assert "not a DSN" in row["detail"]
    findings = find_dependency_findings(got)
    assert [f.severity for f in findings] == ["unknown"]
    serialized = json.dumps([got.status_row(), got.frame.to_json(date_format="iso"), [f.to_dict() for f in findings]])
    assert SECRET not in serialized


def test_postgres_through_a_libpq_service_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = tmp_path / "pg_service.conf"
    services.write_text(
        "[runbook_test]\nhost=127.0.0.1\nport=5432\nuser=postgres\ndbname=postgres\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    row = check_postgres(pg_service="runbook_test", timeout_s=3).iloc[0]
    assert (row["ok"], row["status"]) == (True, "SELECT 1")
    assert row["target"] == "service=runbook_test"


@pytest.mark.parametrize("bad", [0, -1.0, float("nan")])
def test_a_timeout_that_is_not_positive_is_a_parameter_error(bad: float) -> None:
    with pytest.raises(ParameterError, match="timeout_s"):
        collect_dependencies(dns_names="localhost", timeout_s=bad)
    with pytest.raises(ParameterError, match="timeout_s"):
        check_http("http://127.0.0.1:1/", timeout_s=bad)
