"""A fleet's logs read through a real Dask cluster: a scheduler and two named workers
started here on loopback, four hosts' access logs (one rotated and gzipped), compared
with a local read of the same files; then a worker killed mid-read and a dead scheduler."""

from __future__ import annotations

import gzip
import os
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from runbook_lib.analysis.security import rank_scanners
from runbook_lib.analysis.security_findings import find_scanners
from runbook_lib.analysis.traffic_findings import find_rate_limiting
from runbook_lib.sources.fleet import collect_on_fleet
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.timewindow import Window
from tests import pg_cluster, weblog
from tests.daskfleet import Fleet, running_fleet

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with running_fleet(("web-1", "web-2")) as running:
        yield running


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Window]:
    """Four hosts' logs: traffic split by client, host 4 rotated with its older half gzipped."""
    log = weblog.generate(minutes=40, clients=80, incidents=("storm", "scanner"))
    lines = log.access_lines(request_time=True)
    root = tmp_path_factory.mktemp("fleet")
    files: list[Path] = []
    for n in range(4):
        mine = [
            line
            for i, line in enumerate(lines)
            if zlib.crc32(line.split(" ", 1)[0].encode()) % 4 == n or (n == 0 and i == 0)
        ]
        folder = root / f"web{n + 1}"
        folder.mkdir()
        path = folder / "access.log"
        if n == 3:
            half = len(mine) // 2
            with gzip.open(folder / "access.log.1.gz", "wt", encoding="utf-8") as fh:
                fh.write("\n".join(mine[:half]) + "\n")
            mine = mine[half:]
        path.write_text("\n".join(mine) + "\n", encoding="utf-8")
        files.append(path)
    return files, Window(log.start, log.end)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    keys = ["requested_at", "client_ip", "path", "status", "response_bytes"]
    return frame.sort_values(keys, kind="stable").reset_index(drop=True)


def test_fleet_read_matches_the_local_read(fleet: Fleet, hosts: tuple[list[Path], Window]) -> None:
    files, window = hosts
    local = collect_access_log(",".join(str(f) for f in files), window=window)
    spec = f"web-1:{files[0]}, web-2:{files[1]}, {files[2]}, web-2:{files[3]}"
    remote = collect_on_fleet(collect_access_log, spec, scheduler=fleet.scheduler, window=window)
    assert local.status == remote.status == "ok", remote.reason
    assert remote.lines_read == local.lines_read and len(remote.frame) == len(local.frame) > 1000
    pd.testing.assert_frame_equal(_sorted(remote.frame), _sorted(local.frame))
    assert find_rate_limiting(remote).summary == find_rate_limiting(local).summary
    scanners = find_scanners(remote, rank_scanners(remote.frame))
    assert scanners.summary == find_scanners(local, rank_scanners(local.frame)).summary and scanners.severity != "info"
    # one task per part to expand it where the files are, one per file read (host 4 has two)
    assert remote.meta["engine"] == "dask" and remote.meta["tasks"] == 4 + 5
    assert {f["worker"] for f in remote.meta["files"]} == {"web-1", "web-2", ""}
    assert sum(1 for f in remote.meta["files"] if f["file"].endswith(".gz")) == 1


def test_a_named_worker_that_is_not_there_is_partial(fleet: Fleet, hosts: tuple[list[Path], Window]) -> None:
    files, window = hosts
    got = collect_on_fleet(
        collect_access_log, f"web-1:{files[0]},web-9:{files[1]}", scheduler=fleet.scheduler, window=window
    )
    assert got.status == "partial" and "web-9" in got.reason and "no such worker" in got.reason
    assert len(got.frame) > 0


def test_scheduler_that_does_not_answer_fails_fast(hosts: tuple[list[Path], Window]) -> None:
    files, window = hosts
    t0 = time.monotonic()
    got = collect_on_fleet(
        collect_access_log, str(files[0]), scheduler=f"tcp://127.0.0.1:{pg_cluster.closed_port()}", timeout_s=2
    )
    assert time.monotonic() - t0 < 10
    assert got.status == "unavailable" and "did not answer within 2 s" in got.reason
    assert "\n" not in got.reason and list(got.frame.columns) == list(collect_access_log("").frame.columns)


def test_a_flow_on_the_cluster_finds_what_the_local_run_finds(fleet: Fleet, run_flow: Any, tmp_path: Path) -> None:
    log = weblog.generate(minutes=30, clients=60, incidents=("storm",))
    params = log.flow_params(tmp_path / "logs")
    local = run_flow("api_rate_limit", params)
    remote = run_flow("api_rate_limit", {**params, "dask_scheduler": fleet.scheduler})

    def summaries(findings: dict[str, Any]) -> list[tuple[str, str, str]]:
        return [(f["kind"], f["severity"], f["summary"]) for f in findings["findings"]]

    assert summaries(remote) == summaries(local)
    assert any(f["kind"] == "rate_limited_requests" and f["severity"] != "info" for f in local["findings"])
    access = next(s for s in remote["sources"] if s["source"] == "access_log")
    assert access["engine"] == "dask" and access["tasks"] == 2 and access["status"] == "ok"
    assert next(s for s in local["sources"] if s["source"] == "access_log")["engine"] == "local"


def test_worker_killed_mid_read_makes_the_source_partial(
    fleet: Fleet, hosts: tuple[list[Path], Window], tmp_path: Path
) -> None:
    """Runs last in this module: it kills web-2."""
    from distributed import Client

    files, window = hosts
    big = tmp_path / "big" / "access.log"
    big.parent.mkdir()
    text = files[1].read_text(encoding="utf-8")
    with big.open("w", encoding="utf-8") as fh:
        for _ in range(max(1, 1_500_000 // max(text.count("\n"), 1))):
            fh.write(text)
    result: dict[str, object] = {}

    def read() -> None:
        result["got"] = collect_on_fleet(
            collect_access_log,
            f"web-1:{files[0]}, web-2:{big}",
            scheduler=fleet.scheduler,
            task_timeout_s=5,
            window=window,
        )

    reader = threading.Thread(target=read)
    reader.start()
    with Client(fleet.scheduler, timeout=10) as client:
        web2 = next(a for a, w in client.scheduler_info(n_workers=-1)["workers"].items() if w["name"] == "web-2")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any("_read_on_worker" in str(k) for k in client.processing().get(web2, ())):
                break
            time.sleep(0.01)
        os.kill(fleet.workers["web-2"].pid, signal.SIGKILL)
    reader.join(timeout=60)
    got = result["got"]
    assert not reader.is_alive()
    assert got.status == "partial", got.reason  # type: ignore[attr-defined]
    assert str(big) in got.reason and str(files[0]) not in got.reason  # type: ignore[attr-defined]
    assert len(got.frame) > 0  # type: ignore[attr-defined]


def test_postgresql_log_facts_add_up_over_the_fleet(fleet: Fleet, tmp_path: Path) -> None:
    """Two hosts' PostgreSQL logs: the format and the records per severity the report
    states (details of the pg_log source) are those of one local read of both files."""
    from runbook_lib.sources.pg import collect_pg_log

    sample = Path(__file__).resolve().parents[1] / "data" / "pg_log" / "postgresql-jsonlog.json"
    files = []
    for host in ("db1", "db2"):
        (tmp_path / host).mkdir()
        files.append(tmp_path / host / "postgresql.json")
        files[-1].write_bytes(sample.read_bytes())
    local = collect_pg_log(",".join(str(f) for f in files))
    # web-1 only: an earlier test of this module kills web-2.
    remote = collect_on_fleet(collect_pg_log, f"web-1:{files[0]}, web-1:{files[1]}", scheduler=fleet.scheduler)
    assert local.status == remote.status == "ok", remote.reason
    assert len(remote.frame) == len(local.frame) > 0
    assert remote.details["format"] == local.details["format"] == "jsonlog"
    assert remote.details["by_severity"] == local.details["by_severity"]
    assert sum(local.details["by_severity"].values()) == len(local.frame)
