"""Metrics exported as CSV from Grafana or CloudWatch, in the Prometheus source's frame.

Why: during an incident the on-call often has a dashboard but no API access; "Inspect →
Data → Download CSV" (Grafana) or "Download as .csv" (CloudWatch) gives a file with one
timestamp column and one column per series. We read it into ``METRICS_SCHEMA``
(``sampled_at, query, series, value``) so the CPU and memory analyses take it unchanged.

Timestamp column: the one named like time/timestamp/date (else the first). Values may be
ISO-8601 (UTC if no offset), ``YYYY-MM-DD HH:MM:SS`` or epoch seconds/milliseconds. Series
cells may carry units ("93.1%", "512 MB") that are stripped; unreadable cells are NaN and
counted in ``lines_skipped``. A missing/unreadable file is ``unavailable``; an empty
path is ``skipped``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd

from runbook_lib.collected import Collected, conform, empty_frame, guarded, skipped
from runbook_lib.errors import SourceDataError, SourceDenied, SourceUnavailable
from runbook_lib.paths import resolve
from runbook_lib.sources.metrics.prometheus import METRICS_SCHEMA

_TIME_NAMES = ("time", "timestamp", "date", "datetime", "sampled_at", "ts")
_UNITS = {
    "%": 1.0,
    "b": 1.0,
    "kb": 1024.0,
    "kib": 1024.0,
    "mb": 1024.0**2,
    "mib": 1024.0**2,
    "gb": 1024.0**3,
    "gib": 1024.0**3,
    "ms": 0.001,
    "s": 1.0,
}


def _time_column(columns: list[str]) -> str:
    for col in columns:
        if col.strip().lower() in _TIME_NAMES:
            return col
    return columns[0]


def parse_times(values: pd.Series) -> pd.Series:
    """Timestamps from ISO text or epoch seconds/milliseconds, as UTC."""
    present = values.astype(str).str.strip() != ""
    numeric = pd.to_numeric(values.where(present), errors="coerce")
    if present.any() and numeric[present].notna().all():
        unit: Literal["ms", "s"] = "ms" if float(numeric.abs().max()) > 1e11 else "s"
        return pd.Series(pd.to_datetime(numeric, unit=unit, utc=True))
    text = values.astype(str).str.strip()
    return pd.Series(pd.to_datetime(text, utc=True, errors="coerce", format="mixed"))


def parse_values(values: pd.Series) -> pd.Series:
    """Numbers from cells that may carry a unit suffix ("93.1%", "512 MB")."""
    text = values.astype("string").str.strip()
    parts = text.str.extract(r"^(?P<num>[-+]?[0-9.,]*[0-9](?:[eE][-+]?\d+)?)\s*(?P<unit>[A-Za-z%]*)$")
    number = pd.to_numeric(parts["num"].str.replace(",", "", regex=False), errors="coerce")
    scale = parts["unit"].fillna("").str.lower().map(lambda u: _UNITS.get(u, 1.0 if u == "" else float("nan")))
    return (number * scale.astype(float)).astype("float64")


def read_metrics_csv(path: Path, *, query: str = "csv") -> tuple[pd.DataFrame, int, int]:
    """Read one export; returns (frame, values read, values skipped)."""
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except FileNotFoundError as err:
        raise SourceUnavailable("file not found", source="metrics_csv", target=str(path)) from err
    except PermissionError as err:
        raise SourceDenied("permission denied", source="metrics_csv", target=str(path)) from err
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise SourceDataError(f"not a CSV export: {err}", source="metrics_csv", target=str(path)) from err
    if raw.shape[1] < 2:
        raise SourceDataError(
            "need a time column and at least one series column",
            source="metrics_csv",
            target=str(path),
        )
    tcol = _time_column(list(raw.columns))
    at = parse_times(raw[tcol])
    long = []
    read = bad = 0
    for col in [c for c in raw.columns if c != tcol]:
        cells = raw[col]
        values = parse_values(cells)
        present = cells.str.strip() != ""
        bad += int((present & (values.isna() | at.isna())).sum())
        ok = present & values.notna() & at.notna()
        read += int(present.sum())
        long.append(
            pd.DataFrame(
                {
                    "sampled_at": at[ok],
                    "query": query,
                    "series": str(col).strip(),
                    "value": values[ok],
                }
            )
        )
    frame = pd.concat(long, ignore_index=True) if long else empty_frame(METRICS_SCHEMA)
    return conform(frame, METRICS_SCHEMA).sort_values("sampled_at", ignore_index=True), read, bad


def collect_metrics_csv(path: str, *, query: str = "csv") -> Collected:
    """One CSV export as a :class:`Collected` (``METRICS_SCHEMA``; *query* names the rows).

    Name the rows after the question they answer (``cpu_busy_percent``,
    ``process_resident_memory_bytes``) so the analyses find them.
    """
    source = "metrics_csv"
    if not str(path).strip():
        return skipped(source, METRICS_SCHEMA, "no CSV given")
    full = resolve(path)

    def read() -> Collected:
        frame, read_n, bad = read_metrics_csv(full, query=query)
        result = Collected(source, str(full), frame, lines_read=read_n, lines_skipped=bad)
        if bad:
            result.status = "partial"
            result.reason = f"{bad} cell(s) not readable as a time or a number"
        if frame.empty:
            result.status = "unavailable"
            result.reason = "no readable points"
        return result

    return guarded(source, str(full), METRICS_SCHEMA, read)
