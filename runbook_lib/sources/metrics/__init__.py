"""sources/metrics"""

from __future__ import annotations

from runbook_lib.sources.metrics.csv_export import collect_metrics_csv
from runbook_lib.sources.metrics.prometheus import collect_prometheus

__all__ = [
    "collect_metrics_csv",
    "collect_prometheus",
]
