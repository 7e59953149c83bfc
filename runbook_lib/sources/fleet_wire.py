"""How a task's frame travels from a worker to the kernel: as an Arrow table.

A whole-span read ships every row back. Pickling a pandas frame with Arrow-backed strings
copies every string column on the worker (measured: 0.23 s CPU per 625k access-log rows),
and ``pd.concat`` in the kernel copies the numeric columns of every piece once more. An
Arrow table pickles its buffers out of band, without a copy, and the kernel builds the
pandas frame once, from the concatenated tables (the way a local read builds it).

:data:`WIRES` names the formats :func:`runbook_lib.sources.fleet.collect_on_fleet` offers:

- ``arrow`` (default): plain Arrow tables, the cheapest in CPU;
- ``dict``: string columns dictionary-encoded when that makes them smaller (an index per
  row plus each distinct value once: ``source_file`` is one value per file, user agents a
  few thousand) — about 3x fewer bytes on the wire for access logs, for slow links between
  the workers and the kernel, at ~0.7 s CPU per 625k rows to encode and decode;
- ``pandas``: the reader's pandas frame as it is (the old way; kept to measure against).

Only frames whose dtypes survive the Arrow round trip exactly (``str``, tz-aware UTC
timestamps, ``int64``, ``float64``, ``bool``, and ``category`` of strings, which travels as
plain strings and is rebuilt in the kernel with the sorted distinct values as categories,
the readers' own rule) travel as Arrow; any other frame travels as
it is, so a reader with an unusual column never reads differently on the cluster.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from runbook_lib.collected import Collected

__all__ = ["WIRES", "Packed", "frame_of", "pack", "unpack"]

#: The wire formats, cheapest in CPU first.
WIRES = ("arrow", "dict", "pandas")

_CATEGORIES = b"categories"  # field metadata of a category column sent as codes
_EXACT = {"str", "datetime64[ns, UTC]", "int64", "float64", "bool", "category"}
_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # what pandas >= 3 calls "str"
_TO_PANDAS = {pa.string(): _TEXT, pa.large_string(): _TEXT, pa.string_view(): _TEXT}


@dataclass
class Packed:
    """A reader's result with its frame moved into ``table`` (the result's frame is empty)."""

    result: Collected
    table: pa.Table


def pack(got: Collected, wire: str = "arrow") -> Collected | Packed:
    """On the worker: the result with its frame as an Arrow table (see :data:`WIRES`)."""
    if wire not in WIRES:
        raise ValueError(f"wire must be one of {', '.join(WIRES)}, not {wire!r}")
    frame = got.frame
    if wire == "pandas" or not len(frame) or any(str(t) not in _EXACT for t in frame.dtypes):
        return got
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for i, name in enumerate(table.column_names if wire == "arrow" else ()):
        if pa.types.is_dictionary(table.column(i).type):  # a category: its codes, values once
            column = table.column(i).combine_chunks()
            meta = {_CATEGORIES: json.dumps(column.dictionary.to_pylist())}
            table = table.set_column(i, pa.field(name, pa.int32(), metadata=meta), column.indices.cast(pa.int32()))
    for i, name in enumerate(table.column_names if wire == "dict" else ()):
        column = table.column(i)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            encoded = pc.dictionary_encode(column)
            if encoded.nbytes < column.nbytes:
                table = table.set_column(i, name, encoded)
    return Packed(replace(got, frame=frame.iloc[:0]), table)


def unpack(sent: Collected | Packed) -> tuple[Collected, pa.Table | None]:
    """In the kernel: the result and its rows as a plain Arrow table (dictionaries decoded)."""
    if isinstance(sent, Collected):
        return sent, None
    table = sent.table
    for i, name in enumerate(table.column_names):
        if pa.types.is_dictionary(table.column(i).type):
            table = table.set_column(i, name, table.column(i).cast(table.column(i).type.value_type))
    return sent.result, table


def frame_of(pieces: list[pd.DataFrame | pa.Table], template: pd.DataFrame) -> pd.DataFrame:
    """One frame from the pieces in order; runs of Arrow tables become pandas once."""
    frames: list[pd.DataFrame] = []
    run: list[pa.Table] = []

    def flush() -> None:
        if run:
            table = pa.concat_tables([_categories(t) for t in run], promote_options="permissive")
            run.clear()
            frame = table.to_pandas(types_mapper=_TO_PANDAS.get, self_destruct=True, split_blocks=True)
            del table
            frames.append(_typed(frame, template))

    for piece in pieces:
        if isinstance(piece, pa.Table):
            run.append(piece)
        else:
            flush()
            frames.append(piece)
    flush()
    if not frames:
        return template.iloc[:0].copy()
    return frames[0] if len(frames) == 1 else _typed(pd.concat(frames, ignore_index=True), template)


def _categories(table: pa.Table) -> pa.Table:
    """Category columns sent as codes (see :func:`pack`) back as dictionary columns."""
    for i, item in enumerate(table.schema):
        if item.metadata and _CATEGORIES in item.metadata:
            values = pa.array(json.loads(item.metadata[_CATEGORIES]), pa.string())
            codes = table.column(i).combine_chunks()
            table = table.set_column(i, item.name, pa.DictionaryArray.from_arrays(codes, values))
    return table


def _typed(frame: pd.DataFrame, template: pd.DataFrame) -> pd.DataFrame:
    """*frame* with the template's dtypes; a category gets its own sorted distinct values
    (the template's empty categories would turn every value into NaN)."""
    off: dict[str, Any] = {}
    for name, dtype in template.dtypes.items():
        if name not in frame.columns or frame[name].dtype == dtype:
            continue
        if not isinstance(dtype, pd.CategoricalDtype):
            off[str(name)] = dtype
        elif not isinstance(frame[name].dtype, pd.CategoricalDtype):
            off[str(name)] = "category"
        else:  # categories in order of appearance: sorted, as the readers give them
            frame[name] = frame[name].cat.reorder_categories(sorted(frame[name].cat.categories))
    return frame.astype(off) if off else frame
