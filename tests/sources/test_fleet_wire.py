"""The wire formats of fleet tasks: a real access-log read packed as a worker packs it,
pickled as Dask pickles it, and unpacked in the kernel gives the identical frame (the
``dict`` format far smaller on the wire); frames whose dtypes would not survive Arrow
travel unchanged."""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from runbook_lib.collected import Collected
from runbook_lib.sources.fleet_wire import Packed, frame_of, pack, unpack
from runbook_lib.sources.logs.access_log import collect_access_log
from tests import weblog


@pytest.mark.parametrize("wire", ["arrow", "dict"])
def test_packed_read_round_trips_exactly(tmp_path: Path, wire: str) -> None:
    log = weblog.generate(minutes=20, clients=60, incidents=("scanner", "storm"))
    access, _ = log.write(tmp_path, request_time=True)
    got = collect_access_log(str(access))
    assert got.status == "ok" and len(got.frame) > 5000
    sent = pack(got, wire)
    assert isinstance(sent, Packed) and len(sent.result.frame) == 0
    encoded = {f.name for f in sent.table.schema if pa.types.is_dictionary(f.type)}
    wire_bytes, plain_bytes = _pickled_bytes(sent), _pickled_bytes(got)
    if wire == "dict":  # the repetitive columns shrink; the wire carries far fewer bytes
        assert {"source_file", "method", "user_agent"} <= encoded
        assert wire_bytes < 0.7 * plain_bytes
    else:  # plain Arrow: nothing encoded, no bigger than the pandas frame
        assert not encoded and wire_bytes <= 1.05 * plain_bytes
    result, table = unpack(pickle.loads(pickle.dumps(sent, protocol=5)))
    assert table is not None and not any(pa.types.is_dictionary(t) for t in table.schema.types)
    assert (result.lines_read, result.status) == (got.lines_read, got.status)
    half = len(got.frame) // 2
    pieces = [unpack(pack(_part(got, 0, half), wire))[1], unpack(pack(_part(got, half, None), wire))[1]]
    merged = frame_of([p for p in pieces if p is not None], got.frame.iloc[:0])
    pd.testing.assert_frame_equal(merged, got.frame)


def _pickled_bytes(obj: object) -> int:
    """Bytes on the wire as Dask sends them: pickle 5, buffers out of band."""
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    return len(head) + sum(memoryview(b).nbytes for b in buffers)


def _part(got: Collected, start: int, stop: int | None) -> Collected:
    frame = got.frame.iloc[start:stop].reset_index(drop=True)
    return Collected(got.source, got.target, frame, lines_read=len(frame))


def test_frames_arrow_would_change_travel_as_they_are() -> None:
    frame = pd.DataFrame({"pid": pd.array([1, None], dtype="Int64"), "name": pd.array(["a", "b"], dtype="str")})
    got = Collected("x", "t", frame)
    assert pack(got) is got and pack(got, "dict") is got
    with pytest.raises(ValueError, match="wire must be one of"):
        pack(got, "json")
    result, table = unpack(got)
    assert result is got and table is None
    # pandas frames and Arrow tables mixed keep their order
    table = pa.table({"pid": pa.array([3], pa.int64()), "name": pa.array(["c"])})
    template = pd.DataFrame({"pid": pd.Series(dtype="int64"), "name": pd.Series(dtype="str")})
    merged = frame_of(
        [pd.DataFrame({"pid": [1, 2], "name": ["a", "b"]}).astype(template.dtypes.to_dict()), table], template
    )
    assert merged["pid"].tolist() == [1, 2, 3] and str(merged["name"].dtype) == "str"


@pytest.mark.parametrize("wire", ["arrow", "dict"])
def test_category_columns_of_several_files_merge_with_sorted_categories(tmp_path: Path, wire: str) -> None:
    # Two files read separately (each frame knows only its own path), merged newest first:
    # the kernel's frame holds every path once, sorted, and each row keeps its own file.
    log = weblog.generate(minutes=5, clients=10)
    access, _ = log.write(tmp_path, request_time=True)
    other = tmp_path / "a-first.log"
    other.write_bytes(access.read_bytes())
    reads = [collect_access_log(str(access)), collect_access_log(str(other))]
    sent = [pack(got, wire) for got in reads]
    assert all(isinstance(s, Packed) for s in sent)
    if wire == "arrow":  # codes on the wire, not a string per row
        assert all(s.table.schema.field("source_file").type == pa.int32() for s in sent if isinstance(s, Packed))
    tables = [unpack(pickle.loads(pickle.dumps(s, protocol=5)))[1] for s in sent]
    merged = frame_of([t for t in tables if t is not None], reads[0].frame.iloc[:0])
    files = merged["source_file"]
    assert isinstance(files.dtype, pd.CategoricalDtype)
    assert list(files.cat.categories) == sorted([str(access), str(other)])
    n = len(reads[0].frame)
    assert files.iloc[:n].eq(str(access)).all() and files.iloc[n:].eq(str(other)).all()
    pd.testing.assert_frame_equal(merged.drop(columns="source_file").iloc[n:].reset_index(drop=True),
                                  reads[1].frame.drop(columns="source_file"))  # fmt: skip
