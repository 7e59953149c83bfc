"""A seeded generator of web access logs (nginx combined) with injected incidents.

Normal traffic: ``clients`` browsers at their own steady rate over a realistic mix of
pages, API routes with ids, static assets, a login endpoint with the odd mistyped
password, and favicon 404s. Injected incidents (each optional, all recorded in the
returned :class:`WebLog` so tests assert on the truth, not on a copy of the code):

- ``storm``: a few IPs hammer one endpoint with a script; most answers are 429 and the
  script retries within a second;
- ``stuffing``: IPs POST to the login endpoint, nearly all 401;
- ``scanner``: one IP probes ``/.env``, ``/wp-*``, traversal and SQL injection, plus a
  404 spray and hostile strings (a script tag, an ANSI escape in its user agent);
- ``exfil``: one IP downloads very large exports;
- ``upstream``: the app log reports an upstream API answering 429 (we are limited).

The frame from :meth:`WebLog.frame` has the access-log reader's columns and dtypes, so
analysis tests do not need the reader; :meth:`WebLog.write` writes the real file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from runbook_lib.sources.logs.access_log import ACCESS_SCHEMA

ALL = ("storm", "stuffing", "scanner", "exfil", "upstream")
START = pd.Timestamp("2026-11-20T10:00:00Z")
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
)
SCANNER_PROBES = (
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/wp-admin/install.php",
    "/phpmyadmin/index.php",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/api/products?id=1%27%20OR%20%271%27%3D%271",
    "/api/search?q=1%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/search?q=%3Cscript%3Ealert(1)%3C/script%3E",
    "/backup.sql",
    "/.aws/credentials",
    "/xmlrpc.php",
)

RECORD_COLUMNS = (
    "requested_at",
    "client_ip",
    "remote_user",
    "method",
    "path",
    "protocol",
    "status",
    "response_bytes",
    "referer",
    "user_agent",
    "request_time_s",
    "upstream_time_s",
    "forwarded_for",
)
#: The access-log reader's frame schema, which :meth:`WebLog.frame` follows.
FRAME_SCHEMA = ACCESS_SCHEMA


@dataclass
class WebLog:
    """Generated records plus the truth about what was injected."""

    records: list[dict[str, Any]]
    app_records: list[dict[str, Any]]
    start: pd.Timestamp
    minutes: int
    storm_endpoint: str = "/api/search"
    storm_ips: list[str] = field(default_factory=list)
    stuffing_ips: list[str] = field(default_factory=list)
    login_endpoint: str = "/api/login"
    scanner_ip: str = ""
    exfil_ip: str = ""
    upstream_host: str = ""
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def end(self) -> pd.Timestamp:
        return self.start + pd.Timedelta(minutes=self.minutes)

    def frame(self, source_file: str = "generated.log") -> pd.DataFrame:
        """A copy of :meth:`build_frame` (built once per source name: tests share fixtures)."""
        if source_file not in self._frames:
            self._frames[source_file] = self.build_frame(source_file)
        return self._frames[source_file].copy()

    def build_frame(self, source_file: str = "generated.log") -> pd.DataFrame:
        """The records as the access-log reader gives them back from :meth:`write`'s file:
        same columns and dtypes, ``-`` as ``""``, quotes and control bytes ``\\xHH``-escaped
        as nginx writes them."""
        df = pd.DataFrame(self.records, columns=list(RECORD_COLUMNS))
        df["source_file"] = source_file
        for col in ("remote_user", "referer", "user_agent", "forwarded_for"):
            df[col] = df[col].map(lambda v: "" if v == "-" else _esc(v))
        df["requested_at"] = pd.to_datetime(df["requested_at"], utc=True).astype("datetime64[ns, UTC]")
        return df.astype({k: v for k, v in FRAME_SCHEMA.items() if k != "requested_at"})[list(FRAME_SCHEMA)]

    def app_frame(self) -> pd.DataFrame:
        """The app-log records as the app-log reader's frame."""
        df = pd.DataFrame(self.app_records, columns=["logged_at", "level", "logger", "message"])
        df["logged_at"] = pd.to_datetime(df["logged_at"], utc=True).astype("datetime64[ns, UTC]")
        df["source_file"] = "app.log"
        df["level"] = df["level"].str.lower()  # the app-log reader lower-cases levels
        return df.astype({"level": "str", "logger": "str", "message": "str", "source_file": "str"})

    def access_lines(self, *, request_time: bool = False) -> list[str]:
        """nginx ``combined`` lines (optionally with a trailing ``$request_time``)."""
        lines = []
        for r in self.records:
            at = r["requested_at"].strftime("%d/%b/%Y:%H:%M:%S +0000")
            request = f"{r['method']} {r['path']} {r['protocol']}"
            line = (
                f'{r["client_ip"]} - {r["remote_user"]} [{at}] "{request}" '
                f"{r['status']} {r['response_bytes']} "
                f'"{_esc(r["referer"])}" "{_esc(r["user_agent"])}"'
            )
            if request_time:
                line += f" {r['request_time_s']:.3f}"
            lines.append(line)
        return lines

    def app_lines(self) -> list[str]:
        """App log as JSON lines (``time``, ``level``, ``logger``, ``message``)."""
        return [
            json.dumps(
                {
                    "time": r["logged_at"].isoformat(),
                    "level": r["level"],
                    "logger": r["logger"],
                    "message": r["message"],
                }
            )
            for r in self.app_records
        ]

    def write(self, folder: Path, *, request_time: bool = False) -> tuple[Path, Path]:
        """Write ``access.log`` and ``app.log`` into *folder*; return their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        access, app = folder / "access.log", folder / "app.log"
        access.write_text("\n".join(self.access_lines(request_time=request_time)) + "\n", encoding="utf-8")
        app.write_text("\n".join(self.app_lines()) + "\n", encoding="utf-8")
        return access, app

    def flow_params(self, folder: Path, **extra: object) -> dict[str, object]:
        """Write the logs into *folder* (with request times) and return flow notebook
        parameters that read them over the generated window; *extra* adds or overrides."""
        access, app = self.write(folder, request_time=True)
        return {
            "access_log": str(access),
            "app_log": str(app),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            **extra,
        }


def _esc(text: str) -> str:
    # nginx escapes '"', '\' and non-printable bytes as \xHH in the combined format.
    out = []
    for ch in text:
        if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02X}")
        else:
            out.append(ch)
    return "".join(out)


def _normal_request(rng: np.random.Generator) -> tuple[str, str, int, int]:
    """(method, target, status, bytes) of one ordinary request."""
    roll = rng.random()
    if roll < 0.25:
        return "GET", f"/api/products/{rng.integers(1, 5000)}", 200, int(rng.lognormal(8, 0.5))
    if roll < 0.40:
        return (
            "GET",
            f"/api/users/{rng.integers(1, 90000)}/orders?page={rng.integers(1, 4)}",
            200,
            int(rng.lognormal(8.5, 0.6)),
        )
    if roll < 0.52:
        # A stray 429 now and then (1% of searches) is normal life, not an incident.
        limited = rng.random() < 0.01
        return (
            "GET",
            f"/api/search?q=item{rng.integers(1, 300)}",
            429 if limited else 200,
            int(rng.lognormal(8.8, 0.4)) if not limited else 169,
        )
    if roll < 0.72:
        return (
            "GET",
            f"/static/app.{rng.integers(16**7, 16**8):08x}.js",
            200,
            int(rng.lognormal(11, 0.3)),
        )
    if roll < 0.80:
        return "GET", "/", 200, int(rng.lognormal(9.5, 0.2))
    if roll < 0.86:
        return "POST", "/api/cart", 201, int(rng.lognormal(6, 0.3))
    if roll < 0.90:
        # A person mistyping a password now and then.
        ok = rng.random() > 0.15
        return "POST", "/api/login", 200 if ok else 401, 180 if ok else 60
    if roll < 0.93:
        return "GET", "/favicon.ico", 404, 153
    return "GET", f"/products/{rng.integers(1, 5000)}", 200, int(rng.lognormal(10, 0.3))


def generate(
    *,
    seed: int = 7,
    minutes: int = 60,
    clients: int = 150,
    incidents: tuple[str, ...] = ALL,
    start: pd.Timestamp = START,
) -> WebLog:
    """Generate a log of *minutes* with *clients* normal clients and the given *incidents*."""
    rng = np.random.default_rng(seed)
    records: list[dict[str, Any]] = []
    span = minutes * 60.0

    def add(
        offset_s: float,
        ip: str,
        method: str,
        path: str,
        status: int,
        size: int,
        ua: str,
        referer: str = "-",
        user: str = "-",
    ) -> None:
        records.append(
            {
                # The combined format has 1-second resolution; the frame matches what a reader sees.
                "requested_at": float(offset_s) // 1,  # whole seconds; a Timestamp at the end
                "client_ip": ip,
                "remote_user": user,
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "status": int(status),
                "response_bytes": int(size),
                "referer": referer,
                "user_agent": ua,
                "request_time_s": float(round(rng.gamma(2.0, 0.02), 3)),
                "upstream_time_s": float("nan"),
                "forwarded_for": "-",
            }
        )

    for i in range(clients):
        ip = f"198.51.100.{i % 200 + 1}" if i < 200 else f"203.0.113.{i - 199}"
        ua = BROWSERS[int(rng.integers(len(BROWSERS)))]
        rate = float(rng.uniform(0.3, 4.0))  # requests per minute
        n = int(rng.poisson(rate * minutes))
        for t in np.sort(rng.uniform(0, span, n)):
            method, path, status, size = _normal_request(rng)
            add(t, ip, method, path, status, size, ua, referer="https://shop.example/")
    # One steady heavy client (a partner's integration behind NAT): busy but not a burst.
    for t in np.sort(rng.uniform(0, span, 45 * minutes)):
        method, path, status, size = _normal_request(rng)
        add(
            t,
            "192.0.2.200",
            method,
            path,
            status,
            size,
            "PartnerSync/2.3 (+https://partner.example)",
        )

    log = WebLog(records, [], start, minutes)
    if "storm" in incidents:
        log.storm_ips = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
        t0, t1 = span * 0.33, span * 0.58
        for ip in log.storm_ips:
            # A quiet baseline (about 1/min), then a retrying script at ~5 r/s.
            for t in np.sort(rng.uniform(0, span, minutes)):
                add(
                    t,
                    ip,
                    "GET",
                    f"/api/search?q=warm{rng.integers(100)}",
                    200,
                    6000,
                    "python-requests/2.31.0",
                )
            t = t0
            while t < t1:
                limited = rng.random() < 0.8
                add(
                    t,
                    ip,
                    "GET",
                    f"/api/search?q=sku{rng.integers(10**6)}&page=1",
                    429 if limited else 200,
                    169 if limited else 6500,
                    "python-requests/2.31.0",
                )
                t += float(rng.uniform(0.05, 0.35)) if limited else float(rng.uniform(0.2, 0.5))
    if "stuffing" in incidents:
        log.stuffing_ips = ["203.0.113.66", "203.0.113.67"]
        t0, t1 = span * 0.66, span * 0.83
        for ip in log.stuffing_ips:
            t = t0 + float(rng.uniform(0, 5))
            while t < t1:
                ok = rng.random() < 0.01
                add(
                    t,
                    ip,
                    "POST",
                    "/api/login",
                    200 if ok else 401,
                    180 if ok else 60,
                    BROWSERS[0],
                    referer="-",
                    user=f"user{rng.integers(10**5)}",
                )
                t += float(rng.uniform(0.6, 2.0))
    if "scanner" in incidents:
        log.scanner_ip = "198.51.100.250"
        ua = "Mozilla/5.0 zgrab/0.x \x1b[31m<script>alert('ua')</script>"
        t = span * 0.16
        for probe in SCANNER_PROBES:
            add(t, log.scanner_ip, "GET", probe, 404 if "api" not in probe else 400, 153, ua)
            t += float(rng.uniform(0.2, 1.0))
        for k in range(60):
            add(
                t,
                log.scanner_ip,
                "GET",
                f"/{rng.choice(['admin', 'old', 'test', 'dev'])}{k}/",
                404,
                153,
                ua,
            )
            t += float(rng.uniform(0.2, 1.0))
    if "exfil" in incidents:
        log.exfil_ip = "203.0.113.99"
        t = span * 0.85
        for k in range(40):
            add(
                t,
                log.exfil_ip,
                "GET",
                f"/api/export/{1000 + k}?format=csv",
                200,
                int(rng.uniform(8e6, 2e7)),
                BROWSERS[2],
            )
            t += float(rng.uniform(3, 8))
    records.sort(key=lambda r: r["requested_at"])  # stable: same-second order is kept
    stamps = start + pd.to_timedelta([r["requested_at"] for r in records], unit="s")
    for record, stamp in zip(records, stamps, strict=True):
        record["requested_at"] = stamp

    app: list[dict[str, Any]] = []
    for t in np.sort(rng.uniform(0, span, 4 * minutes)):
        app.append(
            {
                "logged_at": start + pd.Timedelta(seconds=float(t)),
                "level": "INFO",
                "logger": "shop.web",
                "message": f"order {rng.integers(10**6)} placed in {rng.integers(20, 300)} ms",
            }
        )
    if "upstream" in incidents:
        log.upstream_host = "api.payments.example"
        for t in np.sort(rng.uniform(span * 0.4, span * 0.55, 80)):
            app.append(
                {
                    "logged_at": start + pd.Timedelta(seconds=float(t)),
                    "level": "WARNING",
                    "logger": "shop.payments",
                    "message": f"POST https://{log.upstream_host}/v1/charges returned 429 "
                    "Too Many Requests; retrying in 2s",
                }
            )
    app.sort(key=lambda r: r["logged_at"])
    log.app_records = app
    return log
