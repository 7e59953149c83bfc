"""Memory evidence from metrics (Prometheus, CSV exports): RSS series and GC rates.

The same trend test as :mod:`runbook_lib.analysis.memory` (Theil-Sen, leak vs plateau vs
sawtooth, time to the limit), applied to each series of a metrics frame
(``sampled_at, query, series, value``) as if it were a process; plus the GC frequency
from Node.js ``nodejs_gc_duration_seconds_count`` rates. Unusable sources give
"unknown" findings.

Severity ladder: ``memory.metrics_trend`` grades as :mod:`runbook_lib.analysis.memory`
(time to the limit). ``memory.gc_rate``: medium when the collector runs at least
``GC_RISE_FACTOR`` (1.5x) as often in the later half of the window as in the earlier half
(the heap fights growth); info otherwise (a rate that drifts by a few percent is noise).
"""

from __future__ import annotations

import pandas as pd

from runbook_lib.analysis.memory import find_memory_leaks
from runbook_lib.collected import Collected
from runbook_lib.findings import Finding, unknown

#: The later half's GC rate over the earlier half's from which GC is "rising".
GC_RISE_FACTOR = 1.5


def metric_as_processes(metrics: pd.DataFrame, *, query: str) -> pd.DataFrame:
    """A metrics query (e.g. ``process_resident_memory_bytes``) shaped like process samples.

    Each series becomes a pseudo-process (``pid`` = its index, ``name`` = its labels) so
    :func:`rank_rss_trends` can judge remote processes exactly like sampled ones.
    """
    rows = metrics[metrics["query"] == query].dropna(subset=["value"])
    codes = {s: i for i, s in enumerate(sorted(rows["series"].unique()))}
    return pd.DataFrame(
        {
            "sampled_at": rows["sampled_at"],
            "pid": rows["series"].map(codes).astype("int64"),
            "name": rows["series"].astype("string"),
            "rss_bytes": rows["value"].astype("float64"),
        }
    )


def find_gc_activity(metrics: Collected, *, query: str = "nodejs_gc_runs_per_s") -> Finding:
    """GC frequency per series from a rate query (Node.js ``nodejs_gc_duration_seconds_count``)."""
    kind = "memory.gc_rate"
    if not metrics.usable:
        return unknown(kind, metrics, "how often the garbage collector runs")
    rows = metrics.frame[metrics.frame["query"] == query]
    if rows.empty:
        return Finding(
            kind,
            "unknown",
            f"Cannot tell how often GC runs: `{metrics.source}` has "
            f"no `{query}` series (no Node.js GC metrics exported).",
        )
    per = rows.groupby("series")["value"].agg(["mean", "max"]).sort_values("mean", ascending=False)
    top = per.index[0]
    half = len(rows) // 2
    ordered = rows.sort_values("sampled_at")["value"]
    early = float(ordered.iloc[:half].mean()) if half else 0.0
    late = float(ordered.iloc[half:].mean()) if half else 0.0
    # From no GC at all to some is a rise of its own (the ratio is infinite).
    ratio = late / early if early > 0 else (float("inf") if late > 0 else 1.0)
    rising = round(ratio, 2) >= GC_RISE_FACTOR  # graded on the ratio the summary states
    return Finding(
        kind,
        "medium" if rising else "info",
        f"GC runs {per['mean'].iloc[0] * 60:.1f} times/min on average for `{top}`"
        f" ({'rising' if rising else 'not rising'} over the window: x{ratio:.2f}, half to half).",
        {
            "runs_per_min": round(float(per["mean"].iloc[0]) * 60, 2),
            "rising": rising,
            "rise_ratio": round(ratio, 2),
            "series": str(top),
        },
    )


def find_metric_memory_leaks(
    metrics: Collected,
    *,
    limit_bytes: float,
    limit_origin: str = "host total",
    query: str = "process_resident_memory_bytes",
    min_samples: int = 5,
    min_growth_mb_per_h: float = 1.0,
) -> list[Finding]:
    """:func:`find_memory_leaks` for a metrics source (Prometheus, CSV): one trend per series."""
    kind = "memory.metrics_trend"
    if not metrics.usable:
        return [unknown(kind, metrics, f"whether `{query}` grows")]
    frame = metric_as_processes(metrics.frame, query=query)
    if frame.empty:
        return [
            Finding(
                kind,
                "unknown",
                f"Cannot tell whether `{query}` grows: `{metrics.source}` has no such series.",
                evidence=[f"source:{metrics.source}"],
            )
        ]
    as_processes = Collected(metrics.source, metrics.target, frame)
    return find_memory_leaks(
        as_processes,
        limit_bytes=limit_bytes,
        limit_origin=limit_origin,
        min_samples=min_samples,
        min_growth_mb_per_h=min_growth_mb_per_h,
        kind=kind,
    )
