"""Prometheus as a source: ``/api/v1/query_range`` over httpx, for hosts we cannot sample live.

Why: beyond one machine the evidence already lives in Prometheus (DESIGN.md "Scale"), so
the CPU and memory flows ask it for the incident window instead of sampling. Every call has
a connect and a read timeout (``timeout_s``). A server that is down, slow, or answers
``{"status": "error", "errorType": "bad_data", …}`` gives an ``unavailable`` (every query
failed) or ``partial`` (some failed) :class:`Collected` with the reason; a query with no
series (e.g. no Node.js metrics on this host) is simply empty. The query, step and window
of every request are in ``Collected.meta["queries"]`` for the report.

Frame (``METRICS_SCHEMA``), one row per point: ``sampled_at`` (UTC), ``query`` (our name for
the query), ``series`` (the series' labels as ``k=v,…``), ``value`` (float).
CSV exports from Grafana/CloudWatch load into the same frame (``sources.metrics_csv``).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from typing import Any

import httpx
import pandas as pd

from runbook_lib.collected import DEFAULT_TIMEOUT_S, Collected, Status, conform, empty_frame, skipped
from runbook_lib.errors import SourceDataError, SourceUnavailable
from runbook_lib.sources.driver_errors import from_httpx
from runbook_lib.timewindow import Window

METRICS_SCHEMA: dict[str, str] = {
    "sampled_at": "datetime64[ns, UTC]",
    "query": "string",
    "series": "string",
    "value": "float64",
}

#: The host flows' questions in PromQL. Names are what analyses look for
#: (``analysis.cpu.CPU_QUERY`` is ``cpu_busy_percent``).
HOST_QUERIES: dict[str, str] = {
    "cpu_busy_percent": ('100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[1m])))'),
    "cpu_by_mode": "sum by (instance, mode) (rate(node_cpu_seconds_total[1m]))",
    "load1": "node_load1",
    "mem_available_bytes": "node_memory_MemAvailable_bytes",
    "mem_total_bytes": "node_memory_MemTotal_bytes",
    "process_resident_memory_bytes": "process_resident_memory_bytes",
    "process_cpu_percent": "100 * rate(process_cpu_seconds_total[1m])",
    "nodejs_heap_used_bytes": "nodejs_heap_size_used_bytes",
    "nodejs_gc_runs_per_s": "sum by (instance, kind) (rate(nodejs_gc_duration_seconds_count[1m]))",
}
#: Prometheus refuses more than 11,000 points per series; stay well below.
MAX_POINTS = 10_000


def series_label(metric: Mapping[str, str]) -> str:
    """Stable ``k=v,…`` text for a series' labels (``__name__`` first)."""
    items = sorted(metric.items(), key=lambda kv: (kv[0] != "__name__", kv[0]))
    return ",".join(f"{k}={v}" for k, v in items)


def parse_query_range(document: Mapping[str, Any], *, query: str, target: str = "") -> pd.DataFrame:
    """Turn a ``query_range``/``query`` JSON answer into ``METRICS_SCHEMA`` rows.

    Raises :class:`SourceDataError` for an ``error`` answer (e.g. ``bad_data``) or a shape
    we do not know.
    """
    if document.get("status") != "success":
        kind = document.get("errorType", "error")
        raise SourceDataError(f"{kind}: {document.get('error', 'no error text')}", source="prometheus", target=target)
    data = document.get("data")
    if not isinstance(data, Mapping) or "result" not in data:
        raise SourceDataError("answer has no data.result", source="prometheus", target=target)
    rows = []
    for item in data["result"]:
        label = series_label(item.get("metric", {}))
        points = item.get("values") or ([item["value"]] if "value" in item else [])
        for stamp, text in points:
            value = float(text)  # Prometheus encodes NaN/+Inf as strings float() reads
            rows.append(
                {
                    "sampled_at": float(stamp),
                    "query": query,
                    "series": label,
                    "value": value if math.isfinite(value) else math.nan,
                }
            )
    if not rows:
        return empty_frame(METRICS_SCHEMA)
    frame = pd.DataFrame(rows)
    frame["sampled_at"] = pd.to_datetime(frame["sampled_at"], unit="s", utc=True)
    return conform(frame, METRICS_SCHEMA)


def load_query_range_text(text: str, *, query: str = "query", target: str = "") -> Collected:
    """A saved ``query_range`` answer (e.g. from ``curl``) as a :class:`Collected`."""
    source = "prometheus"
    try:
        document = json.loads(text)
        frame = parse_query_range(document, query=query, target=target)
    except (ValueError, SourceDataError) as err:
        reason = str(err) if isinstance(err, SourceDataError) else f"not JSON: {err}"
        return Collected(source, target, empty_frame(METRICS_SCHEMA), status="unavailable", reason=reason)
    return Collected(source, target, frame, lines_read=len(frame))


def auto_step(window: Window, *, min_step_s: float = 15.0) -> float:
    """A step that keeps each series under ``MAX_POINTS`` (at least *min_step_s*)."""
    return max(min_step_s, math.ceil(window.duration.total_seconds() / MAX_POINTS))


def fetch_query_range(
    client: httpx.Client, base_url: str, query: str, window: Window, step_s: float, *, name: str
) -> pd.DataFrame:
    """One ``query_range`` request; maps transport failures to :class:`SourceUnavailable`."""
    url = base_url.rstrip("/") + "/api/v1/query_range"
    params = {
        "query": query,
        "start": f"{window.start.timestamp():.3f}",
        "end": f"{window.end.timestamp():.3f}",
        "step": f"{step_s:g}",
    }
    try:
        response = client.get(url, params=params)
    except httpx.TimeoutException as err:
        raise SourceUnavailable(
            f"timed out ({type(err).__name__})", source="prometheus", target=base_url, code="timeout"
        ) from err
    except httpx.HTTPError as err:
        mapped = from_httpx(err, source="prometheus", target=base_url)
        raise SourceUnavailable(mapped.detail, source="prometheus", target=base_url, code=mapped.code) from err
    try:
        document = response.json()
    except ValueError as err:
        raise SourceDataError(f"HTTP {response.status_code}, not JSON", source="prometheus", target=base_url) from err
    return parse_query_range(document, query=name, target=base_url)


def collect_prometheus(
    prometheus_url: str,
    window: Window,
    *,
    queries: Mapping[str, str] | None = None,
    step_s: float = 0.0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
) -> Collected:
    """Run each named PromQL query over *window*; ``skipped`` when no URL is configured.

    A transport failure on the first query stops the run (the server is down; waiting a
    timeout per query would multiply the delay). A query the server rejects is recorded and
    the others still run.
    """
    source = "prometheus"
    if not str(prometheus_url).strip():
        return skipped(source, METRICS_SCHEMA, "prometheus_url not set")
    t0 = time.perf_counter()
    queries = dict(queries or HOST_QUERIES)
    step = step_s if step_s > 0 else auto_step(window)
    timeout = httpx.Timeout(timeout_s, connect=timeout_s)
    frames, record, failures = [], [], []
    with httpx.Client(timeout=timeout, follow_redirects=False) as client:
        for name, promql in queries.items():
            entry: dict[str, Any] = {
                "name": name,
                "query": promql,
                "step_s": step,
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
            }
            try:
                frame = fetch_query_range(client, prometheus_url, promql, window, step, name=name)
            except SourceUnavailable as err:
                entry["error"] = str(err)
                record.append(entry)
                failures.append(str(err))
                break
            except SourceDataError as err:
                entry["error"] = str(err)
                record.append(entry)
                failures.append(f"{name}: {err}")
                continue
            entry["series"] = int(frame["series"].nunique())
            entry["points"] = len(frame)
            record.append(entry)
            frames.append(frame)
    data = [f for f in frames if not f.empty]
    frame = conform(pd.concat(data, ignore_index=True), METRICS_SCHEMA) if data else empty_frame(METRICS_SCHEMA)
    status: Status = "ok"
    if failures:
        status = "unavailable" if not frames else "partial"
    result = Collected(
        source,
        prometheus_url,
        frame,
        status=status,
        reason="; ".join(failures)[:500],
        lines_read=len(frame),
        lines_skipped=len(failures),
    )
    result.meta = {"queries": record, "step_s": step, "window": window.to_dict()}
    result.elapsed_s = time.perf_counter() - t0
    return result
