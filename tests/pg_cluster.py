"""A throwaway PostgreSQL cluster for tests that must exhaust, flood or lock a server.

Why not the shared server on 5432: the incident needs a *low* ``max_connections`` (so a
test can fill it) and the server log in a known file. ``initdb``/``pg_ctl`` refuse root,
so they run through ``runuser -u postgres``; the cluster listens on 127.0.0.1 on a free
port in 54320-54339 and is stopped (immediate) and deleted by :meth:`PgCluster.stop`,
which the fixtures call in a finalizer.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PORTS = range(54320, 54340)
BIN_DIRS = tuple(f"/usr/lib/postgresql/{v}/bin" for v in (17, 16, 15, 14, 13, 12))


def _bin(name: str) -> str:
    for folder in BIN_DIRS:
        path = Path(folder) / name
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL server binaries")
    return found


def free_port() -> int:
    """A port of our range that nothing listens on now."""
    for port in PORTS:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 54320-54339")


def _as_postgres(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=120)


@dataclass
class PgCluster:
    """A running throwaway cluster: ``dsn`` for psycopg/libpq, ``log_path`` its server log."""

    root: Path
    port: int
    max_connections: int
    log_path: Path
    conns: list[psycopg.Connection[Any]] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.root / "data"

    def dsn(self, user: str = "postgres", dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={user} dbname={dbname}"

    def connect(
        self, application_name: str = "pytest", *, user: str = "postgres", autocommit: bool = True
    ) -> psycopg.Connection[Any]:
        """A client session that the cluster closes on stop (kept in ``conns``)."""
        conn = psycopg.connect(
            self.dsn(user), application_name=application_name, autocommit=autocommit, connect_timeout=5
        )
        self.conns.append(conn)
        return conn

    def close_clients(self, *, settle_s: float = 5.0) -> None:
        """Close our sessions and wait until the server has no client backend left.

        Backends exit asynchronously after their client goes, and a test that counts
        connections must not see the previous test's sessions.
        """
        for conn in self.conns:
            conn.close()
        self.conns.clear()
        if not (self.data / "postmaster.pid").exists():
            return
        deadline = time.monotonic() + settle_s
        with psycopg.connect(self.dsn(), autocommit=True) as admin:
            while time.monotonic() < deadline:
                row = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                    " AND pid <> pg_backend_pid()"
                ).fetchone()
                if row == (0,):
                    return
                time.sleep(0.02)

    def stop(self) -> None:
        self.close_clients()
        if (self.data / "postmaster.pid").exists():
            _as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(
    max_connections: int = 20, *, superuser_reserved: int = 3, settings: dict[str, str] | None = None
) -> PgCluster:
    """initdb + start a cluster; its stderr log goes to ``log_path`` with prefix ``%m [%p] ``."""
    root = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o755)
    data, log = root / "data", root / "postgresql.log"
    _as_postgres(
        _bin("initdb"),
        "-D",
        str(data),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
    )
    port = free_port()
    conf = {
        "port": str(port),
        "listen_addresses": "'127.0.0.1'",
        "unix_socket_directories": f"'{root}'",
        "max_connections": str(max_connections),
        "superuser_reserved_connections": str(superuser_reserved),
        "fsync": "off",
        "shared_buffers": "'16MB'",
        "log_line_prefix": "'%m [%p] '",
        "log_min_duration_statement": "'1s'",
        "log_timezone": "'UTC'",
        **(settings or {}),
    }
    with (data / "postgresql.conf").open("a") as out:
        out.writelines(f"{k} = {v}\n" for k, v in conf.items())
    cluster = PgCluster(root, port, max_connections, log)
    try:
        _as_postgres(_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start")
    except BaseException:
        cluster.stop()
        raise
    return cluster


_SHARED: dict[str, PgCluster] = {}


def shared_cluster(config: Any, max_connections: int = 40) -> PgCluster:
    """One cluster for every test module that can share it (starting one costs seconds).

    Stopped at the end of the pytest session (``config.add_cleanup``).
    """
    key = str(max_connections)
    if key not in _SHARED:
        cluster = start_cluster(max_connections)
        _SHARED[key] = cluster

        def stop() -> None:
            _SHARED.pop(key, None)
            cluster.stop()

        config.add_cleanup(stop)
    return _SHARED[key]


def cluster_fixture(max_connections: int = 20, **kw: Any) -> Iterator[PgCluster]:
    """Body for a module-scoped pytest fixture: yields a cluster, stops it afterwards."""
    cluster = start_cluster(max_connections, **kw)
    try:
        yield cluster
    finally:
        cluster.stop()


def dsn_env_fixture(cluster: PgCluster, env: str) -> Iterator[str]:
    """Body for a pytest fixture: the environment variable *env* holds the cluster's DSN
    during the test (yields *env*); afterwards it is unset and the test's sessions closed."""
    os.environ[env] = cluster.dsn()
    yield env
    os.environ.pop(env, None)
    cluster.close_clients()


def closed_port() -> int:
    """A port nothing listens on (an ephemeral one, bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def silent_listener(backlog: int) -> Iterator[tuple[int, list[socket.socket]]]:
    """A listener that accepts connections and never says a word, as a hung server does.

    Yields its port and the list of the connections it accepted; on exit it stops
    accepting and closes them all (the list stays filled, for assertions).
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(backlog)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1]), accepted
    finally:
        stop.set()
        thread.join(2)
        for conn in accepted:
            conn.close()
        listener.close()


@dataclass
class Incident:
    """Real sessions reproducing Incident 3 on a cluster; pids by role for assertions."""

    idle: list[int]
    idle_in_tx: list[int]
    sleeper: int
    lock_root: int
    lock_waiters: list[int]
    threads: list[Any]
    release: list[Any]

    @property
    def all_pids(self) -> list[int]:
        return [*self.idle, *self.idle_in_tx, self.sleeper, self.lock_root, *self.lock_waiters]

    def stop(self) -> None:
        for undo in self.release:
            undo()
        for thread in self.threads:
            thread.join(10)


def stage_incident(
    cluster: PgCluster, *, idle: int = 24, app: str = "billing-worker", sleep_s: float = 60.0, user: str = "postgres"
) -> Incident:
    """Open *idle* idle sessions from *app*, 2 idle in transaction (``checkout-api``), one
    ``pg_sleep`` (``report-job``) and a lock chain: ``migrate`` holds an ACCESS EXCLUSIVE
    lock in an open transaction, ``orders-writer`` waits on it, ``orders-reader`` waits on
    both. Sessions log in as *user*. Returns once every waiter is seen waiting."""
    setup = psycopg.connect(cluster.dsn(), autocommit=True)
    setup.execute("CREATE TABLE IF NOT EXISTS orders (id int)")
    setup.execute("GRANT ALL ON orders TO PUBLIC")
    idle_pids = [cluster.connect(app, user=user).info.backend_pid for _ in range(idle)]
    tx = [cluster.connect("checkout-api", user=user, autocommit=False) for _ in range(2)]
    for conn in tx:
        conn.execute("SELECT 1")
    sleeper = cluster.connect("report-job", user=user)
    holder = cluster.connect("migrate", user=user, autocommit=False)
    holder.execute("LOCK TABLE orders IN ACCESS EXCLUSIVE MODE")
    writer = cluster.connect("orders-writer", user=user, autocommit=False)
    reader = cluster.connect("orders-reader", user=user)
    sleep_pid = sleeper.info.backend_pid

    def run(conn: psycopg.Connection[Any], sql: str) -> threading.Thread:
        def target() -> None:
            # cancelled or terminated when the test cleans up
            with contextlib.suppress(psycopg.Error):
                conn.execute(sql)

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        return thread

    threads = [run(sleeper, f"SELECT pg_sleep({sleep_s})")]
    _wait_for(setup, sleep_pid, "PgSleep")  # so the sleep is the oldest active query
    threads.append(run(writer, "LOCK TABLE orders IN ACCESS EXCLUSIVE MODE"))
    _wait_for(setup, writer.info.backend_pid)
    threads.append(run(reader, "SELECT count(*) FROM orders"))
    _wait_for(setup, reader.info.backend_pid)
    setup.close()

    def release() -> None:
        with psycopg.connect(cluster.dsn(), autocommit=True) as admin:
            admin.execute("SELECT pg_cancel_backend(%s)", [sleep_pid])
        if not holder.closed:
            holder.rollback()
        for conn in (*tx, writer):
            if not conn.closed:
                conn.rollback()

    return Incident(
        idle_pids,
        [c.info.backend_pid for c in tx],
        sleep_pid,
        holder.info.backend_pid,
        [writer.info.backend_pid, reader.info.backend_pid],
        threads,
        [release],
    )


def _wait_for(admin: psycopg.Connection[Any], pid: int, event: str = "") -> None:
    """Until *pid* waits on a heavyweight lock (or on the wait_event *event*)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        row = admin.execute("SELECT wait_event_type, wait_event FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        if row and (row[1] == event if event else row[0] == "Lock"):
            return
        time.sleep(0.02)
    raise RuntimeError(f"pid {pid} never waited on {event or 'a lock'}")


LEAKER = """
import sys, time, psycopg
dsn, app, rate, limit, after = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if after:  # wait until a session named `after` shows up (e.g. the kit starting to look)
    with psycopg.connect(dsn, application_name="leak-starter", autocommit=True) as watch:
        while not watch.execute(
            "SELECT 1 FROM pg_stat_activity WHERE application_name = %s", [after]
        ).fetchone():
            time.sleep(0.05)
held = []
start = time.monotonic()
while len(held) < limit:
    held.append(psycopg.connect(dsn, application_name=app, autocommit=True))
    delay = start + len(held) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
time.sleep(3600)
"""


def start_leaker(
    cluster: PgCluster,
    *,
    app: str = "billing-worker",
    per_s: float = 3.0,
    limit: int = 30,
    user: str = "postgres",
    after: str = "",
) -> subprocess.Popen[bytes]:
    """A child process that opens *per_s* connections a second and never closes them.

    With *after*, it starts leaking once a session with that application_name appears, so
    a notebook whose kernel takes a while to start still samples the leak as it happens.
    """
    argv = [sys.executable, "-c", LEAKER, cluster.dsn(user), app, str(per_s), str(limit), after]
    return subprocess.Popen(argv)


def ensure_role(admin: psycopg.Connection[Any], name: str) -> None:
    """CREATE ROLE … LOGIN unless it exists (clusters are shared between test modules)."""
    exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [name]).fetchone()
    if not exists:
        admin.execute(f'CREATE ROLE "{name}" LOGIN')
