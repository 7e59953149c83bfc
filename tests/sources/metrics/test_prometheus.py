"""Prometheus source: captured answers, a real Debian Prometheus, and a dead server."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from runbook_lib.sources.metrics.prometheus import (
    METRICS_SCHEMA,
    collect_prometheus,
    load_query_range_text,
)
from runbook_lib.timewindow import Window, utc_now

PORT = 19091


def _read(data_dir: Path, name: str) -> str:
    return (data_dir / "host_metrics" / name).read_text(encoding="utf-8")


def test_captured_matrices_load(data_dir: Path) -> None:
    load = load_query_range_text(_read(data_dir, "qr_node_load1.json"), query="load1")
    assert load.status == "ok"
    assert {k: str(v) for k, v in load.frame.dtypes.items()} == METRICS_SCHEMA
    assert len(load.frame) == 19
    assert load.frame["value"].iloc[0] == 1.4
    assert load.frame["sampled_at"].iloc[0] == pd.Timestamp(1795756676, unit="s", tz="UTC")
    assert load.frame["series"].iloc[0] == "__name__=node_load1,instance=127.0.0.1:9100,job=node"

    cpu = load_query_range_text(_read(data_dir, "qr_cpu_rate_by_mode.json"), query="cpu_by_mode")
    modes = {s.split("=", 1)[1] for s in cpu.frame["series"]}
    assert {"idle", "user", "system"} <= modes
    mem = load_query_range_text(_read(data_dir, "qr_mem_available.json"))
    assert mem.frame["value"].min() > 2e10

    up = load_query_range_text(_read(data_dir, "q_up.json"), query="up")
    assert sorted(up.frame["value"]) == [1.0, 1.0]


def test_captured_bad_data_is_unavailable_with_reason(data_dir: Path) -> None:
    bad = load_query_range_text(_read(data_dir, "qr_error_bad_query.json"))
    assert bad.status == "unavailable"
    assert "bad_data" in bad.reason and "unclosed left parenthesis" in bad.reason
    assert bad.frame.empty and list(bad.frame.columns) == list(METRICS_SCHEMA)


def test_unreachable_prometheus_within_timeout() -> None:
    # A listening socket that never accepts: the connect succeeds (backlog), reads time out.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 19098))
    silent.listen(0)
    window = Window(utc_now() - pd.Timedelta(minutes=5), utc_now())
    try:
        t0 = time.monotonic()
        got = collect_prometheus("http://127.0.0.1:19098", window, timeout_s=1.0)
        took = time.monotonic() - t0
    finally:
        silent.close()
    assert got.status == "unavailable" and "timed out" in got.reason
    assert took < 3.0
    t0 = time.monotonic()
    closed = collect_prometheus("http://127.0.0.1:19099", window, timeout_s=1.0)
    assert time.monotonic() - t0 < 3.0
    assert closed.status == "unavailable" and "ConnectError" in closed.reason
    assert closed.meta["queries"][0]["error"]
    assert collect_prometheus("", window).status == "skipped"


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Debian prometheus on 127.0.0.1:19091 scraping itself every second."""
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: self\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{PORT}']\n",
        encoding="utf-8",
    )
    log = (folder / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{PORT}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{PORT}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"{url}/api/v1/query", params={"query": "up"}, timeout=1).json()
                if answer["data"]["result"]:
                    break
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.3)
        else:
            raise RuntimeError("prometheus did not start: " + (folder / "prometheus.log").read_text())
        time.sleep(3)  # a few scrapes, so rate() has two points
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


def test_real_prometheus_query_range(prometheus: str) -> None:
    now = utc_now()
    window = Window(now - pd.Timedelta(seconds=60), now)
    queries = {
        "process_resident_memory_bytes": "process_resident_memory_bytes",
        "process_cpu_percent": "100 * rate(process_cpu_seconds_total[5s])",
        "nodejs_heap_used_bytes": "nodejs_heap_size_used_bytes",
        "broken": "sum(rate(up[1m]",
    }
    got = collect_prometheus(prometheus, window, queries=queries, step_s=1, timeout_s=5)
    assert got.status == "partial"
    assert "broken" in got.reason and "bad_data" in got.reason
    rss = got.frame[got.frame["query"] == "process_resident_memory_bytes"]
    assert len(rss) >= 2
    assert rss["value"].min() > 1_000_000  # a Go server's RSS is megabytes
    assert "job=self" in rss["series"].iloc[0]
    assert (got.frame["sampled_at"] >= window.start - pd.Timedelta(seconds=1)).all()
    recorded = {q["name"]: q for q in got.meta["queries"]}
    assert recorded["nodejs_heap_used_bytes"]["series"] == 0  # absent metric: empty, not an error
    assert recorded["process_resident_memory_bytes"]["step_s"] == 1
    assert recorded["process_resident_memory_bytes"]["query"] == "process_resident_memory_bytes"
    assert got.meta["window"]["start"] == window.start.isoformat()
