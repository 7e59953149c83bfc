"""Where the access reader's CPU goes, stage by stage, in ns of one core per line.

Usage::

    python benchmarks/prof_access_stages.py [LOG] [--chunks 20]

Reads the first ``--chunks`` chunks of *LOG* (default: the 5M-line benchmark log that
``bench_access_log.py`` generates) in one thread and times each stage of what a worker does
with a chunk, with the process CPU clock (other processes on a shared machine slow the
wall clock, not this one). Stages: reading, splitting into lines (``line_series``),
choosing the strict variant, the strict pattern's capture (``str.extract_groups``), the
same pattern as a plain match (``str.contains``, the floor of any validate-then-cut path),
the whole ``extract_fields`` (captures + conversions) and ``to_arrow`` (the copy that
frees the chunk). Not a test: it prints figures (issue 13).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from runbook_lib.sources._files import iter_chunks, line_series
from runbook_lib.sources.logs.access_fields import extract_fields
from runbook_lib.sources.logs.logformat import Layout, combined_layout

DEFAULT_LOG = Path("/tmp/runbook-bench/access-5000000.log")


def pick_variant(lines: pl.Series, layout: Layout) -> int | None:
    """The strict variant the reader would pick for this chunk (as ``access_fields`` does)."""
    probe = lines.head(200)
    hits = [int(probe.str.contains(v).sum()) for v in layout.variants]
    return None if not hits or max(hits) == 0 else hits.index(max(hits))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("log", nargs="?", type=Path, default=DEFAULT_LOG)
    parser.add_argument("--chunks", type=int, default=20)
    args = parser.parse_args()
    layout = combined_layout()
    spent: dict[str, float] = {}

    def timed(stage: str, fn: Callable[[], Any]) -> Any:
        start = time.process_time()
        out = fn()
        spent[stage] = spent.get(stage, 0.0) + time.process_time() - start
        return out

    lines_total = 0
    chunks = iter(iter_chunks(args.log, source="access_log"))
    for _ in range(args.chunks):
        chunk = timed("read", lambda: next(chunks, None))
        if chunk is None:
            break
        lines: pl.Series = timed("line_series", lambda c=chunk: line_series(c))
        lines_total += len(lines)
        variant = timed("pick_variant", lambda s=lines: pick_variant(s, layout))
        if variant is not None:
            pattern = layout.variants[variant]
            timed("extract_groups (strict variant)", lambda s=lines, p=pattern: s.str.extract_groups(p))
            timed("contains (strict variant)", lambda s=lines, p=pattern: s.str.contains(p))
        frame, _ = timed("extract_fields (whole)", lambda s=lines: extract_fields(s, layout))
        timed("to_arrow", lambda f=frame: f.to_arrow())
    print(f"{args.log}: {lines_total:,} lines in {args.chunks} chunks, one thread")
    for stage, seconds in spent.items():
        print(f"{stage:34s} {seconds / max(lines_total, 1) * 1e9:8.0f} ns/line")
    probes = ("extract_groups (strict variant)", "contains (strict variant)")
    per_line = sum(v for k, v in spent.items() if k not in probes)
    print(f"{'reader total (read..to_arrow)':34s} {per_line / max(lines_total, 1) * 1e9:8.0f} ns/line")


if __name__ == "__main__":
    main()
