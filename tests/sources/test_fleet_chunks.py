"""Large files read as several tasks on a real Dask cluster (a scheduler and two named
worker processes on loopback): each task reads a line-aligned byte range, the kernel merges
them in file and byte order, and the result equals the local read exactly; a worker killed
while its chunks run makes that file partial, named, within one task timeout."""

from __future__ import annotations

import gzip
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from runbook_lib.analysis.security import rank_scanners
from runbook_lib.analysis.security_findings import find_scanners
from runbook_lib.analysis.traffic_findings import find_rate_limiting
from runbook_lib.collected import Collected
from runbook_lib.sources._byte_range import plan_ranges
from runbook_lib.sources.fleet import collect_on_fleet
from runbook_lib.sources.fleet_wire import WIRES
from runbook_lib.sources.logs.access_log import collect_access_log
from runbook_lib.sources.logs.app_log import collect_app_log
from runbook_lib.timewindow import Window
from tests import weblog
from tests.daskfleet import Fleet, running_fleet

pytestmark = pytest.mark.slow
CHUNK = 100_003  # a prime: boundaries land mid-line, on newlines and inside CRLF alike


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with running_fleet(("web-1", "web-2")) as running:
        yield running


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Window]:
    """A few MB of access log (CRLF on some lines, a malformed line, no final newline)
    with an older gzipped rotation beside it."""
    log = weblog.generate(minutes=60, clients=150, incidents=("storm", "scanner"))
    lines = log.access_lines(request_time=True)
    folder = tmp_path_factory.mktemp("big")
    old, live = lines[:2000], lines[2000:]
    with gzip.open(folder / "access.log.1.gz", "wt", encoding="utf-8") as fh:
        fh.write("\n".join(old) + "\n")
    body = [f"{line}\r" if i % 7 == 0 else line for i, line in enumerate(live)]
    body.insert(len(body) // 3, 'GARBAGE "not a request"')
    path = folder / "access.log"
    path.write_text("\n".join(body), encoding="utf-8", newline="")
    return path, Window(log.start + pd.Timedelta(minutes=10), log.end)


@pytest.mark.parametrize("wire", WIRES)
def test_chunked_read_equals_the_local_read(fleet: Fleet, big_log: tuple[Path, Window], wire: str) -> None:
    path, window = big_log
    data = path.read_bytes()
    ranges = plan_ranges(len(data), CHUNK)
    assert len(ranges) > 30
    assert sum(1 for start, _ in ranges[1:] if data[start - 1 : start] != b"\n") > 20  # mid-line cuts
    local = collect_access_log(str(path), window=window)
    remote = collect_on_fleet(
        collect_access_log, str(path), scheduler=fleet.scheduler, window=window, chunk_bytes=CHUNK
    )
    assert local.status == remote.status == "partial"  # the one malformed line
    # same rows in the same order: the rotation first, then the live file's chunks in byte order
    pd.testing.assert_frame_equal(remote.frame, local.frame)
    assert len(remote.frame) > 20_000
    assert (remote.lines_read, remote.lines_skipped) == (local.lines_read, 1)
    assert remote.meta["lines_outside_window"] == local.meta["lines_outside_window"] > 0
    assert find_rate_limiting(remote).summary == find_rate_limiting(local).summary
    scanners = find_scanners(remote, rank_scanners(remote.frame))
    assert scanners.summary == find_scanners(local, rank_scanners(local.frame)).summary
    # one expansion, one task for the gzip (it cannot be split), one per range of the live file
    assert remote.meta["tasks"] == 1 + 1 + len(ranges) == remote.status_row()["tasks"]
    rotated, live = remote.meta["files"]
    assert rotated["file"].endswith(".gz") and rotated["chunks"] == 1 and rotated["status"] == "ok"
    assert live["chunks"] == len(ranges) and live["rows"] == (local.frame["source_file"] == str(path)).sum()
    assert live["status"] == "partial" and live["reason"] == "1 malformed line(s) skipped"


def test_small_files_stay_one_task_each(fleet: Fleet, big_log: tuple[Path, Window]) -> None:
    path, window = big_log
    remote = collect_on_fleet(collect_access_log, str(path), scheduler=fleet.scheduler, window=window)
    assert remote.meta["tasks"] == 1 + 2 and [f["chunks"] for f in remote.meta["files"]] == [1, 1]
    pd.testing.assert_frame_equal(remote.frame, collect_access_log(str(path), window=window).frame)


def test_readers_whose_records_span_lines_read_whole_files(fleet: Fleet, tmp_path: Path) -> None:
    """An application log's traceback must not be cut by a range: one task per file."""
    log = weblog.generate(minutes=30, clients=40, incidents=("upstream",))
    app = tmp_path / "app.log"
    traceback = "\n".join(
        ["2026-11-20 10:05:00,000 ERROR checkout: payment failed", "Traceback (most recent call last):"]
        + [f'  File "/srv/app/mod{i}.py", line {i}, in handler' for i in range(1500)]
        + ["ValueError: card declined"]
    )
    app.write_text("\n".join(log.app_lines()) + "\n" + traceback + "\n", encoding="utf-8")
    local = collect_app_log(str(app))
    remote = collect_on_fleet(collect_app_log, str(app), scheduler=fleet.scheduler, chunk_bytes=4096)
    assert app.stat().st_size > 10 * 4096
    assert remote.meta["tasks"] == 2 and remote.meta["files"][0]["chunks"] == 1
    pd.testing.assert_frame_equal(remote.frame, local.frame)
    assert remote.frame["message"].str.contains("card declined").sum() == 1


def test_worker_killed_while_its_chunks_run_makes_that_file_partial(fleet: Fleet, tmp_path: Path) -> None:
    """Runs last in this module: it kills web-2."""
    log = weblog.generate(minutes=30, clients=60, incidents=("storm",))
    text = "\n".join(log.access_lines(request_time=True)) + "\n"
    small, big = tmp_path / "web1" / "access.log", tmp_path / "web2" / "access.log"
    small.parent.mkdir()
    big.parent.mkdir()
    small.write_text(text, encoding="utf-8")
    with big.open("w", encoding="utf-8") as fh:
        for _ in range(max(1, 60_000_000 // len(text))):
            fh.write(text)
    chunk = 2_000_000
    chunks = len(plan_ranges(big.stat().st_size, chunk))
    some_done = threading.Event()
    result: dict[str, Collected] = {}

    def progress(done: int, total: int) -> None:
        if done >= 3:
            some_done.set()

    def read() -> None:
        result["got"] = collect_on_fleet(
            collect_access_log,
            f"web-1:{small}, web-2:{big}",
            scheduler=fleet.scheduler,
            task_timeout_s=5,
            chunk_bytes=chunk,
            progress=progress,
        )

    t0 = time.monotonic()
    reader = threading.Thread(target=read)
    reader.start()
    assert some_done.wait(timeout=120)
    os.kill(fleet.workers["web-2"].pid, signal.SIGKILL)
    reader.join(timeout=120)
    assert not reader.is_alive()
    # one task timeout for all the lost chunks, not one per chunk (that would be minutes)
    assert time.monotonic() - t0 < 60
    got = result["got"]
    assert got.status == "partial", got.reason
    assert str(big) in got.reason and str(small) not in got.reason
    assert got.meta["tasks"] == 2 + 1 + chunks > 20
    rows = {f["file"]: f for f in got.meta["files"]}
    assert rows[f"web-1:{small}"]["status"] == "ok"
    lost = rows[f"web-2:{big}"]
    assert lost["status"] == "partial" and lost["chunks"] == chunks and "bytes " in lost["reason"]
    assert lost["rows"] > 0 and len(got.frame) == lost["rows"] + rows[f"web-1:{small}"]["rows"]
