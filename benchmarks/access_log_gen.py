"""Write a seeded, realistic nginx ``combined`` + ``$request_time`` access log for benchmarks.

Usage::

    python benchmarks/access_log_gen.py OUT.log [--lines 5000000] [--seed 7]

The log spans one day (2026-11-20, +0000), time-ordered, with a realistic mix: a few
heavy clients and a long tail, IPv4 and IPv6, GET-heavy methods, templated API paths with
ids and query strings, percent-encoded UTF-8, 2xx/3xx/4xx/5xx including 429 bursts,
browser/bot/CLI user agents (some holding an escaped ``\\"``), referers, optional
``X-Forwarded-For`` chains. About 0.1% of lines are malformed in ways real logs are:
truncated mid-quote (disk full / crash), binary garbage, missing fields, non-UTF-8 bytes in
the request line with a broken layout.

It prints (and writes to ``OUT.log.count.json``) its own count of valid lines, which the
parser must reproduce exactly.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

DAY_START = 1_795_132_800  # 2026-11-20T00:00:00Z
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

PATHS = [
    "/",
    "/index.html",
    "/static/app.js",
    "/static/app.css",
    "/favicon.ico",
    "/api/users/{id}",
    "/api/users/{id}/orders?page={n}",
    "/api/orders/{id}",
    "/api/search?q=caf%C3%A9+cr%C3%A8me&page={n}",
    "/api/login",
    "/health",
    "/produkt/%D9%85%D8%AF%D9%84-{id}",
    "/images/{id}/200x200",
    "/.env",
    "/wp-login.php",
]
PATH_P = [8, 4, 10, 9, 3, 14, 6, 8, 5, 4, 10, 4, 12, 1, 2]
METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"]
METHOD_P = [86, 8, 2, 1, 2, 1]
STATUSES = [200, 201, 204, 301, 302, 304, 400, 401, 403, 404, 429, 499, 500, 502, 503, 504]
STATUS_P = [7000, 200, 100, 80, 150, 600, 60, 90, 40, 700, 500, 40, 120, 160, 80, 60]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
    "python-requests/2.31.0",
    'Mozilla/5.0 (compatible; \\"quoted\\" scanner/1.0)',
    "-",
]
AGENT_P = [35, 20, 15, 10, 8, 8, 2, 2]
REFERERS = [
    "-",
    "https://shop.example.com/",
    "https://www.google.com/",
    "https://shop.example.com/cart",
]
REFERER_P = [60, 25, 10, 5]


def _ips(rng: np.random.Generator, n: int) -> list[str]:
    out = []
    for i in range(n):
        if i % 17 == 0:
            out.append(f"2001:db8:{rng.integers(0, 0xFFFF):x}::{rng.integers(1, 0xFFFF):x}")
        else:
            a, b, c, d = rng.integers(1, 255, size=4)
            out.append(f"{a}.{b}.{c}.{d}")
    return out


def _malformed(rng: np.random.Generator, good: str, kind: int) -> bytes:
    if kind == 0:  # truncated inside the quoted user agent (crash / disk full)
        ua_open = good.rindex(' "') + 2
        ua_len = good.rindex('"') - ua_open
        return good[: ua_open + int(rng.integers(0, max(ua_len, 1)))].encode()
    if kind == 1:  # binary garbage
        return bytes(rng.integers(0, 256, size=int(rng.integers(10, 80)), dtype=np.uint8)).replace(b"\n", b" ")
    if kind == 2:  # missing ident/user fields
        return good.replace(" - - [", " [", 1).encode()
    # non-UTF-8 bytes and a stray quote that break the layout
    return good.replace('" ', '\xff" "', 1).encode("latin-1", errors="replace") + b' "'


def generate(out: Path, lines: int, seed: int) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    pool = _ips(rng, 20_000)
    # A few heavy hitters plus a long tail (Zipf-like).
    weights = 1.0 / np.arange(1, len(pool) + 1) ** 0.9
    weights /= weights.sum()
    valid = 0
    malformed = 0
    status_counts: dict[int, int] = {}
    chunk = 200_000
    t0 = DAY_START
    step = 86_400 / lines
    with out.open("wb") as fh:
        for base in range(0, lines, chunk):
            n = min(chunk, lines - base)
            ips = rng.choice(len(pool), size=n, p=weights)
            paths = rng.choice(len(PATHS), size=n, p=np.array(PATH_P) / sum(PATH_P))
            methods = rng.choice(len(METHODS), size=n, p=np.array(METHOD_P) / sum(METHOD_P))
            statuses = rng.choice(len(STATUSES), size=n, p=np.array(STATUS_P) / sum(STATUS_P))
            agents = rng.choice(len(AGENTS), size=n, p=np.array(AGENT_P) / sum(AGENT_P))
            refs = rng.choice(len(REFERERS), size=n, p=np.array(REFERER_P) / sum(REFERER_P))
            ids = rng.integers(1, 99_999, size=n)
            sizes = rng.integers(0, 80_000, size=n)
            rts = rng.gamma(1.5, 0.04, size=n)
            bad = rng.random(n) < 0.001
            bad_kind = rng.integers(0, 4, size=n)
            buf = []
            last_sec = -1
            stamp = ""
            for i in range(n):
                sec = int(t0 + (base + i) * step)
                if sec != last_sec:
                    ts = time.gmtime(sec)
                    stamp = (
                        f"{ts.tm_mday:02d}/{MONTHS[ts.tm_mon - 1]}/{ts.tm_year}:"
                        f"{ts.tm_hour:02d}:{ts.tm_min:02d}:{ts.tm_sec:02d} +0000"
                    )
                    last_sec = sec
                status = STATUSES[statuses[i]]
                size = 0 if status in (204, 304) else int(sizes[i])
                path = PATHS[paths[i]].replace("{id}", str(ids[i])).replace("{n}", str(ids[i] % 9))
                line = (
                    f'{pool[ips[i]]} - - [{stamp}] "{METHODS[methods[i]]} {path} HTTP/1.1" '
                    f'{status} {size if size or status != 200 else "-"} "{REFERERS[refs[i]]}" '
                    f'"{AGENTS[agents[i]]}" {rts[i]:.3f}'
                )
                if bad[i]:
                    buf.append(_malformed(rng, line, int(bad_kind[i])))
                    malformed += 1
                else:
                    buf.append(line.encode())
                    valid += 1
                    status_counts[status] = status_counts.get(status, 0) + 1
            fh.write(b"\n".join(buf) + b"\n")
    return {
        "lines": lines,
        "valid": valid,
        "malformed": malformed,
        **{f"status_{k}": v for k, v in sorted(status_counts.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    t0 = time.perf_counter()
    counts = generate(args.out, args.lines, args.seed)
    counts["seconds"] = round(time.perf_counter() - t0, 1)
    Path(f"{args.out}.count.json").write_text(json.dumps(counts, indent=1), encoding="utf-8")
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
