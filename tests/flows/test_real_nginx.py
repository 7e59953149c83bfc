"""A real nginx rate-limits a real client; the api_rate_limit flow must name both.

nginx (Debian package, see scripts/apt-packages.txt) runs as a child on 127.0.0.1 with
its own prefix and config in a temporary folder (``daemon off``), a ``limit_req`` zone on
``/api/search`` and a location answering 401. The load comes from this test: httpx
clients in threads, each bound to its own loopback source address (127.0.0.x), so nginx
logs distinct client IPs. Everything stays on loopback and is bounded (a few hundred
requests). nginx writes the traffic twice: in ``combined`` (read by the notebook) and in
a ``log_format`` with ``$http_x_forwarded_for`` (read with that format string, clients
attributed through X-Forwarded-For). nginx is stopped in a finalizer.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pandas as pd
import pytest

from runbook_lib.analysis.endpoints import with_forwarded_clients
from runbook_lib.analysis.traffic_findings import find_rate_limiting
from runbook_lib.sources.logs.access_log import collect_access_log

PORTS = range(18080, 18090)
HAMMER_IP = "127.0.0.5"
PROBER_IP = "127.0.0.7"
NORMAL_IPS = [f"127.0.0.{i}" for i in range(11, 17)]
LIMITED_PATH = "/api/search"
FORWARDED_CLIENT = "85.181.35.98"
PROXIED_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" "$http_x_forwarded_for"'
)

CONFIG = """
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format proxied '$remote_addr - $remote_user [$time_local] "$request" $status '
                       '$body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for"';
    access_log {prefix}/access.log combined;
    access_log {prefix}/proxied.log proxied;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    limit_req_zone $binary_remote_addr zone=api:1m rate=5r/s;
    limit_req_status 429;
    server {{
        listen 127.0.0.1:{port};
        location {limited} {{
            # A content handler (not "return", which runs before limit_req's phase).
            limit_req zone=api burst=5 nodelay;
            default_type application/json;
            alias {html}/search.json;
        }}
        location /admin {{ return 401; }}
        location /api/ {{ return 200 "{{\\"ok\\": true}}\\n"; }}
        location / {{ return 200 "home\\n"; }}
    }}
}}
"""


@dataclass
class Nginx:
    port: int
    access_log: Path
    proxied_log: Path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    prefix = tmp_path / "nginx"
    (prefix / "tmp").mkdir(parents=True)
    # Workers drop root for "nobody": the served file lives outside pytest's 0700 tmp tree.
    html = Path(tempfile.mkdtemp(prefix="runbook-nginx-html-"))
    html.chmod(0o755)
    (html / "search.json").write_text('{"results": []}\n', encoding="utf-8")
    (html / "search.json").chmod(0o644)
    port = _free_port()
    conf = prefix / "nginx.conf"
    conf.write_text(CONFIG.format(prefix=prefix, port=port, limited=LIMITED_PATH, html=html), encoding="utf-8")
    proc = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
                raise RuntimeError(f"nginx exited with {proc.returncode}: {out}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield Nginx(port, prefix / "access.log", prefix / "proxied.log")
    finally:
        proc.terminate()  # SIGTERM: fast shutdown; the master flushes and closes its logs
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
        shutil.rmtree(html, ignore_errors=True)


def _client(source_ip: str) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source_ip)
    return httpx.Client(transport=transport, timeout=httpx.Timeout(5.0, connect=2.0))


def _hammer(server: Nginx, requests: int) -> list[int]:
    """A script retrying the search without backing off."""
    statuses = []
    with _client(HAMMER_IP) as client:
        client.headers["User-Agent"] = "python-httpx-hammer/1.0"
        # As if 127.0.0.5 were a proxy in front of nginx, forwarding one public client.
        client.headers["X-Forwarded-For"] = f"1.2.3.4, {FORWARDED_CLIENT}"
        for i in range(requests):
            statuses.append(client.get(server.url(f"{LIMITED_PATH}?q=sku{i}&page=1")).status_code)
    return statuses


def _browse(server: Nginx, ip: str, requests: int, statuses: list[int]) -> None:
    """A person: a page, an item, a search now and then, with think time."""
    with _client(ip) as client:
        client.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0"
        for i in range(requests):
            path = ("/", f"/api/items/{100 + i}", f"{LIMITED_PATH}?q=lamp{i}")[i % 3]
            statuses.append(client.get(server.url(path)).status_code)
            time.sleep(0.25)


def drive(server: Nginx) -> dict[str, list[int]]:
    """Bounded load: 1 hammering client, 6 browsing clients, 1 prober of /admin."""
    results: dict[str, list[int]] = {ip: [] for ip in [*NORMAL_IPS, PROBER_IP]}
    threads = [threading.Thread(target=_browse, args=(server, ip, 12, results[ip])) for ip in NORMAL_IPS]
    for thread in threads:
        thread.start()
    results[HAMMER_IP] = _hammer(server, 300)
    with _client(PROBER_IP) as client:
        results[PROBER_IP] = [client.get(server.url(f"/admin?try={i}")).status_code for i in range(25)]
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_api_rate_limit_flow_names_the_limited_endpoint_and_client(nginx: Nginx, run_flow) -> None:  # type: ignore[no-untyped-def]
    started = pd.Timestamp.now(tz="UTC").floor("s") - pd.Timedelta(seconds=5)
    sent = drive(nginx)
    assert sent[HAMMER_IP].count(429) > 200  # nginx really limited the hammer
    assert set(sent[PROBER_IP]) == {401}
    assert all(429 not in sent[ip] for ip in NORMAL_IPS)  # people browsing stay under the limit
    lines = nginx.access_log.read_text(encoding="utf-8").splitlines()
    logged_429 = sum(1 for line in lines if line.split('"')[2].split()[0] == "429")
    assert logged_429 == sent[HAMMER_IP].count(429)

    findings = run_flow(
        "api_rate_limit",
        {
            "access_log": str(nginx.access_log),
            "app_log": "",
            "start": started.isoformat(),
            "end": (pd.Timestamp.now(tz="UTC") + pd.Timedelta(minutes=1)).isoformat(),
        },
    )
    access = next(s for s in findings["sources"] if s["source"] == "access_log")
    assert access["status"] == "ok" and access["rows"] == len(lines)
    by_kind = {f["kind"]: f for f in findings["findings"]}
    limited = by_kind["rate_limited_requests"]
    assert limited["severity"] == "high"
    assert limited["numbers"]["limited"] == logged_429
    assert limited["numbers"]["top_endpoint"] == LIMITED_PATH
    assert limited["numbers"]["driving_clients"] == [HAMMER_IP]
    assert f"`{LIMITED_PATH}`" in limited["summary"] and f"`{HAMMER_IP}`" in limited["summary"]
    storm = by_kind["retry_storm"]
    assert storm["numbers"]["clients"] == [HAMMER_IP] and storm["numbers"]["endpoints"] == [LIMITED_PATH]
    # No app log was given: "are we limited by an upstream?" is unknown, not "no".
    assert by_kind["upstream_quota"]["severity"] == "unknown"
    assert "limit_req_zone $binary_remote_addr" in findings["extra"]["limit_req_suggestion"]

    # The same traffic in nginx's second log, with X-Forwarded-For: read with the nginx
    # log_format string and attributed to the forwarded client on request.
    proxied = collect_access_log(str(nginx.proxied_log), log_format=PROXIED_FORMAT)
    assert proxied.status == "ok" and len(proxied.frame) == len(lines)
    assert find_rate_limiting(proxied).numbers["driving_clients"] == [HAMMER_IP]
    forwarded = find_rate_limiting(with_forwarded_clients(proxied))
    assert forwarded.numbers["driving_clients"] == [FORWARDED_CLIENT]
    assert forwarded.numbers["limited"] == logged_429
