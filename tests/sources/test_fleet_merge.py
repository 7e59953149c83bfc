"""One status per file over its chunks: real access-log reads of byte ranges merged as the
kernel merges a chunked fleet read (the cluster itself is in test_fleet_chunks.py)."""

from __future__ import annotations

from pathlib import Path

from runbook_lib.sources._byte_range import plan_ranges
from runbook_lib.sources.fleet_merge import ChunkResult, FileTasks, merge_files
from runbook_lib.sources.logs.access_log import collect_access_log
from tests import weblog


def _chunked(path: Path, chunk_bytes: int) -> FileTasks:
    chunks = [
        ChunkResult(r, result=collect_access_log(str(path), byte_range=r))
        for r in plan_ranges(path.stat().st_size, chunk_bytes)
    ]
    return FileTasks(str(path), "", path=str(path), chunks=chunks)


def _meta() -> dict[str, object]:
    return {"engine": "dask", "tasks": 0, "files": []}


def test_a_lost_chunk_makes_its_file_partial_with_the_range_named(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_text("\n".join(weblog.generate(minutes=10, clients=30).access_lines()) + "\n", encoding="utf-8")
    whole = collect_access_log(str(path))
    entry = _chunked(path, 50_000)
    lost = entry.chunks[1]
    lost_rows = len(lost.result.frame) if lost.result is not None else 0
    lost.result, lost.failure = None, "the worker running it died"
    merged = merge_files(collect_access_log(""), [entry], _meta())
    row = merged.meta["files"][0]
    start, stop = lost.byte_range or (0, None)
    assert row["status"] == "partial" and row["reason"] == f"bytes {start}-{stop}: the worker running it died"
    assert merged.status == "partial" and str(path) in merged.reason
    assert row["rows"] == len(merged.frame) == len(whole.frame) - lost_rows > 0
    assert row["chunks"] == len(entry.chunks) > 2


def test_a_file_of_nothing_but_garbage_is_unavailable_over_all_its_chunks(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    path.write_bytes(b"\x00\xff binary garbage, not a request line\n" * 3000)
    whole = collect_access_log(str(path))
    merged = merge_files(collect_access_log(""), [_chunked(path, 10_000)], _meta())
    row = merged.meta["files"][0]
    assert whole.status == row["status"] == merged.status == "unavailable"
    assert row["reason"] == whole.reason and "none of 3000 line(s)" in row["reason"]
    assert merged.lines_read == merged.lines_skipped == 3000
