"""Generate a seeded PostgreSQL stderr log for the log-parsing benchmark.

The mix looks like a busy OLTP server with ``log_min_duration_statement = 0`` and
``log_connections``: statements with durations (some multi-line, tab-continued), connection
chatter, ERRORs with DETAIL/HINT/STATEMENT, deadlocks, statement timeouts, and a burst of
FATAL "sorry, too many clients already". Timestamps advance ~3 ms per line from a fixed
start, so a million lines cover about 50 minutes.

    python benchmarks/pg_log_gen.py OUT.log [--lines 1000000] [--seed 42]
"""

from __future__ import annotations

import argparse
import random
from datetime import datetime, timedelta
from pathlib import Path

PREFIX = "%m [%p] %q%u@%d/%a "
START = datetime(2026, 11, 27, 13, 30, 0)
USERS = ["app", "billing", "report", "postgres"]
DBS = ["shop", "billing", "analytics"]
APPS = ["web", "billing-worker", "psql", "reporting", "pgbench"]
STATEMENTS = [
    "SELECT * FROM orders WHERE id = {n}",
    "UPDATE accounts SET balance = balance - {n} WHERE id = {m}",
    "INSERT INTO events (kind, payload) VALUES ('click', '{{\"n\": {n}}}')",
    "SELECT count(*) FROM line_items WHERE order_id IN ({n}, {m})",
    "DELETE FROM sessions WHERE expires_at < now() - interval '{n} minutes'",
]


def generate(out: Path, *, lines: int = 1_000_000, seed: int = 42) -> int:
    """Write *lines* lines (exactly) to *out*; return the number written."""
    rnd = random.Random(seed)
    written = 0
    t = START
    burst_at = lines * 6 // 10  # the FATAL burst sits in the middle of the file
    with out.open("w", encoding="utf-8") as fh:
        while written < lines:
            t += timedelta(microseconds=rnd.randint(500, 5500))
            stamp = t.strftime("%Y-%m-%d %H:%M:%S.") + f"{t.microsecond // 1000:03d} UTC"
            pid = rnd.randint(20000, 20400)
            who = f"{rnd.choice(USERS)}@{rnd.choice(DBS)}/{rnd.choice(APPS)}"
            head = f"{stamp} [{pid}] {who} "
            r = rnd.random()
            block: list[str]
            if burst_at <= written < burst_at + 6000 and r < 0.5:
                block = [
                    f"{stamp} [{pid}] {who} FATAL:  sorry, too many clients already",
                ]
            elif r < 0.62:
                sql = rnd.choice(STATEMENTS).format(n=rnd.randint(1, 99999), m=rnd.randint(1, 999))
                ms = rnd.expovariate(1 / 8.0) if rnd.random() < 0.98 else rnd.uniform(1000, 9000)
                block = [f"{head}LOG:  duration: {ms:.3f} ms  statement: {sql}"]
            elif r < 0.70:
                ms = rnd.expovariate(1 / 30.0)
                block = [
                    f"{head}LOG:  duration: {ms:.3f} ms  statement: SELECT o.id, o.total",
                    "\tFROM orders o",
                    f"\tJOIN customers c ON c.id = o.customer_id WHERE c.id = {rnd.randint(1, 9999)}",
                ]
            elif r < 0.80:
                port = rnd.randint(30000, 60000)
                block = [
                    f"{stamp} [{pid}] [unknown]@[unknown]/[unknown] LOG:  connection received: "
                    f"host=10.0.{rnd.randint(0, 9)}.{rnd.randint(1, 250)} port={port}",
                    f"{head}LOG:  connection authorized: user=app database=shop",
                ]
            elif r < 0.88:
                block = [
                    f"{head}LOG:  disconnection: session time: 0:00:0{rnd.randint(0, 9)}.{rnd.randint(100, 999)} "
                    f"user=app database=shop host=10.0.0.{rnd.randint(1, 250)} port={rnd.randint(30000, 60000)}"
                ]
            elif r < 0.93:
                block = [
                    f'{head}ERROR:  duplicate key value violates unique constraint "orders_pkey"',
                    f"{head}DETAIL:  Key (id)=({rnd.randint(1, 99999)}) already exists.",
                    f"{head}STATEMENT:  INSERT INTO orders (id, total)",
                    f"\tVALUES ({rnd.randint(1, 99999)}, 10)",
                ]
            elif r < 0.95:
                block = [
                    f"{head}ERROR:  canceling statement due to statement timeout",
                    f"{head}STATEMENT:  SELECT pg_sleep(30)",
                ]
            elif r < 0.96:
                other = rnd.randint(20000, 20400)
                block = [
                    f"{head}ERROR:  deadlock detected",
                    f"{head}DETAIL:  Process {pid} waits for ShareLock on transaction 901; blocked by process {other}.",
                    f"\tProcess {other} waits for ShareLock on transaction 902; blocked by process {pid}.",
                    f"{head}HINT:  See server log for query details.",
                    f'{head}CONTEXT:  while updating tuple (0,1) in relation "accounts"',
                    f"{head}STATEMENT:  UPDATE accounts SET balance = 0 WHERE id = 1",
                ]
            elif r < 0.98:
                block = [
                    f"{stamp} [{pid}] LOG:  checkpoint complete: wrote {rnd.randint(10, 9000)} buffers "
                    "(0.1%); 0 WAL file(s) added, 0 removed, 1 recycled; write=0.101 s, sync=0.002 s, "
                    "total=0.110 s; sync files=9, longest=0.001 s, average=0.001 s; distance=123 kB, "
                    "estimate=456 kB"
                ]
            elif r < 0.99:
                block = [
                    f'{head}FATAL:  password authentication failed for user "app"',
                    f'{head}DETAIL:  Connection matched pg_hba.conf line 99: "host all all 0.0.0.0/0 scram-sha-256"',
                ]
            else:
                block = [f"{head}FATAL:  terminating connection due to administrator command"]
            block = block[: lines - written]
            fh.write("\n".join(block) + "\n")
            written += len(block)
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    n = generate(args.out, lines=args.lines, seed=args.seed)
    print(f"wrote {n} lines ({args.out.stat().st_size / 1e6:.1f} MB) to {args.out}")


if __name__ == "__main__":
    main()
