"""sources/metrics"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.sources.metrics.csv_export import collect_metrics_csv
    from runbook_lib.sources.metrics.prometheus import collect_prometheus

__all__ = [
    "collect_metrics_csv",
    "collect_prometheus",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
