"""CSV exports from Grafana/CloudWatch load into the metrics frame; broken files are reported."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from runbook_lib.sources.metrics.csv_export import collect_metrics_csv
from runbook_lib.sources.metrics.prometheus import METRICS_SCHEMA


def test_grafana_export_with_units_and_na(data_dir: Path) -> None:
    got = collect_metrics_csv(str(data_dir / "host_metrics" / "grafana_cpu_export.csv"), query="cpu_busy_percent")
    assert got.status == "partial" and got.lines_skipped == 1
    assert {k: str(v) for k, v in got.frame.dtypes.items()} == METRICS_SCHEMA
    api1 = got.frame[got.frame["series"] == "api-1 cpu"]
    assert api1["value"].tolist() == [12.5, 14.0, 85.2, 91.7, 93.1]
    assert api1["sampled_at"].iloc[2] == pd.Timestamp("2026-11-27 05:02:00", tz="UTC")
    assert set(got.frame["query"]) == {"cpu_busy_percent"}
    assert len(got.frame[got.frame["series"] == "api-2 cpu"]) == 4


def test_cloudwatch_export_epoch_ms_and_mb(data_dir: Path) -> None:
    got = collect_metrics_csv(str(data_dir / "host_metrics" / "cloudwatch_memory_export.csv"))
    rss = got.frame[got.frame["series"] == "RSS"].reset_index(drop=True)
    assert rss["value"].iloc[0] == 512 * 1024 * 1024
    assert rss["sampled_at"].iloc[0] == pd.Timestamp(1795755600, unit="s", tz="UTC")
    assert len(rss) == 3  # the row without a timestamp is counted, not kept
    assert got.lines_skipped == 2


def test_missing_unreadable_and_not_configured(tmp_path: Path) -> None:
    gone = collect_metrics_csv(str(tmp_path / "nope.csv"))
    assert gone.status == "unavailable" and "not found" in gone.reason
    assert list(gone.frame.columns) == list(METRICS_SCHEMA)
    one_col = tmp_path / "one.csv"
    one_col.write_text("time\n2026-01-01\n", encoding="utf-8")
    assert "at least one series" in collect_metrics_csv(str(one_col)).reason
    assert collect_metrics_csv("").status == "skipped"
