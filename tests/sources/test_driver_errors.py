"""Driver errors are mapped once, by class or SQLSTATE: real errors from the real server,
real files and real sockets, and a guard that fails when a driver grows an unmapped class."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import httpx
import psycopg
import pytest

from runbook_lib.errors import ERROR_CODES, SourceDataError, SourceDenied, SourceError, SourceUnavailable
from runbook_lib.sources.driver_errors import HTTPX_CODES, from_httpx, from_os_error, from_psycopg, pg_code
from runbook_lib.sources.pg.connect import PgTarget, connect, describe
from tests import pg_cluster

LOCAL = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def test_every_httpx_exception_class_is_mapped() -> None:
    exported = [getattr(httpx, n) for n in httpx.__all__]
    classes = [c for c in exported if inspect.isclass(c) and issubclass(c, Exception)]
    assert len(classes) > 20
    missing = [c.__name__ for c in classes if c not in HTTPX_CODES]
    assert not missing, f"map these httpx exceptions in driver_errors.HTTPX_CODES: {missing}"
    assert set(HTTPX_CODES.values()) <= set(ERROR_CODES)


def test_every_psycopg_dbapi_class_gets_a_code() -> None:
    dbapi = [c for c in vars(psycopg).values() if inspect.isclass(c) and issubclass(c, psycopg.Error)]
    assert psycopg.OperationalError in dbapi and psycopg.ProgrammingError in dbapi
    for cls in dbapi:
        assert pg_code(cls("boom")) in ERROR_CODES


def _pg_error(conninfo: str, sql: str = "SELECT 1", **kw: object) -> psycopg.Error:
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3, **kw) as conn:  # type: ignore[arg-type]
            conn.execute(sql)
    except psycopg.Error as err:
        return err
    raise AssertionError("no error raised")


def test_real_server_errors_map_by_sqlstate() -> None:
    timeout = _pg_error(LOCAL, "SELECT pg_sleep(3)", options="-c statement_timeout=100")
    assert timeout.sqlstate == "57014" and from_psycopg(timeout, target="t").code == "timeout"
    nodb = _pg_error("host=127.0.0.1 port=5432 user=postgres dbname=no_such_db_here")
    mapped = from_psycopg(nodb, target="t")
    assert mapped.code == "missing" and isinstance(mapped, SourceUnavailable)
    with psycopg.connect(LOCAL, autocommit=True) as admin:
        pg_cluster.ensure_role(admin, "runbook_nobody")
    denied = _pg_error("host=127.0.0.1 port=5432 user=runbook_nobody dbname=postgres", "SELECT * FROM pg_authid")
    got = from_psycopg(denied, target="t")
    assert denied.sqlstate == "42501" and got.code == "denied" and isinstance(got, SourceDenied)


def test_refused_port_maps_to_refused_and_connect_raises_ours() -> None:
    dsn = f"host=127.0.0.1 port={pg_cluster.closed_port()} user=postgres"
    err = _pg_error(dsn)
    assert err.sqlstate is None and pg_code(err) == "refused"
    with pytest.raises(SourceUnavailable) as raised:
        connect(PgTarget(dsn, describe(dsn)), timeout_s=2)
    assert raised.value.code == "refused" and raised.value.detail and "password" not in str(raised.value)


def test_os_errors_from_real_files(tmp_path: Path) -> None:
    with pytest.raises(OSError) as missing:
        (tmp_path / "gone.log").open()
    assert from_os_error(missing.value, source="s", target="t").code == "missing"
    with pytest.raises(OSError) as folder:
        tmp_path.open()  # type: ignore[attr-defined]
    assert from_os_error(folder.value, source="s", target="t").code == "unsupported_format"


def test_httpx_errors_from_a_real_closed_port() -> None:
    port = pg_cluster.closed_port()
    with pytest.raises(httpx.HTTPError) as raised:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
    mapped = from_httpx(raised.value, source="http", target="x")
    assert mapped.code == "refused" and isinstance(mapped, SourceUnavailable)
    garbled = from_httpx(httpx.RemoteProtocolError("bad"), source="http", target="x")
    assert isinstance(garbled, SourceDataError) and garbled.code == "malformed"


def test_error_codes_are_checked_and_details_carry_no_prefix() -> None:
    err = SourceUnavailable("no file matches", source="access_log", target="/var/log/x")
    assert err.code == "unreachable" and err.detail == "no file matches" and str(err).startswith("access_log (")
    with pytest.raises(ValueError, match="unknown error code"):
        SourceError("x", source="s", code="nonsense")  # type: ignore[arg-type]


def test_httpx_is_imported_only_when_an_http_endpoint_is_called() -> None:
    """httpx costs a run ~0.13 s to import (its CLI pulls in click): the triage and
    db_connections flows import these modules, and most of their runs call no endpoint."""
    code = (
        "import sys\n"
        "import runbook_lib.sources.dependencies, runbook_lib.sources.pg.connect\n"
        "import runbook_lib.sources.driver_errors as d\n"
        "assert 'httpx' not in sys.modules, 'imported at module level'\n"
        "assert d.HTTPX_CODES and 'httpx' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
