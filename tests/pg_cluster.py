"""A throwaway PostgreSQL cluster for tests that must exhaust, flood or lock a server.

Why not the shared server on 5432: the incident needs a *low* ``max_connections`` (so a
test can fill it) and the server log in a known file. ``initdb``/``pg_ctl`` refuse root,
so they run through ``runuser -u postgres``; the cluster listens on 127.0.0.1 on a free
port in 54320-54339 and is stopped (immediate) and deleted by :meth:`PgCluster.stop`,
which the fixtures call in a finalizer.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
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
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True,
                   capture_output=True, timeout=120)


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

    def connect(self, application_name: str = "pytest", *, user: str = "postgres",
                autocommit: bool = True) -> psycopg.Connection[Any]:
        """A client session that the cluster closes on stop (kept in ``conns``)."""
        conn = psycopg.connect(self.dsn(user), application_name=application_name,
                               autocommit=autocommit, connect_timeout=5)
        self.conns.append(conn)
        return conn

    def close_clients(self) -> None:
        for conn in self.conns:
            conn.close()
        self.conns.clear()

    def stop(self) -> None:
        self.close_clients()
        if (self.data / "postmaster.pid").exists():
            _as_postgres(_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def start_cluster(max_connections: int = 20, *, superuser_reserved: int = 3,
                  settings: dict[str, str] | None = None) -> PgCluster:
    """initdb + start a cluster; its stderr log goes to ``log_path`` with prefix ``%m [%p] ``."""
    root = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
    shutil.chown(root, "postgres", "postgres")
    os.chmod(root, 0o755)
    data, log = root / "data", root / "postgresql.log"
    _as_postgres(_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                 "-E", "UTF8", "--no-sync", "--no-instructions")
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


def cluster_fixture(max_connections: int = 20, **kw: Any) -> Iterator[PgCluster]:
    """Body for a module-scoped pytest fixture: yields a cluster, stops it afterwards."""
    cluster = start_cluster(max_connections, **kw)
    try:
        yield cluster
    finally:
        cluster.stop()
