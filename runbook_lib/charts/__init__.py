"""Charts: pure functions from frames to matplotlib Figures, with one shared look (style.py).

A chart draws what it is given; it never decides (no analysis imports). Notebooks import
from here; the names below are the public surface (pinned by tests/test_exported_members.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.charts.ci import plot_failures_per_run, plot_test_heatmap
    from runbook_lib.charts.db import plot_connections_by_application, plot_connections_by_state
    from runbook_lib.charts.host import plot_cpu, plot_metrics, plot_process_cpu, plot_rss
    from runbook_lib.charts.incident import plot_incident_series
    from runbook_lib.charts.style import decorate_time_axis, new_figure, plot_series
    from runbook_lib.charts.triage import plot_app_errors, plot_error_rates
    from runbook_lib.charts.web import (
        plot_auth_failures,
        plot_ip_timeline,
        plot_limited_per_minute,
        plot_limiting_vs_limited,
    )

__all__ = [
    "decorate_time_axis",
    "new_figure",
    "plot_app_errors",
    "plot_auth_failures",
    "plot_connections_by_application",
    "plot_connections_by_state",
    "plot_cpu",
    "plot_error_rates",
    "plot_incident_series",
    "plot_failures_per_run",
    "plot_ip_timeline",
    "plot_limited_per_minute",
    "plot_limiting_vs_limited",
    "plot_metrics",
    "plot_process_cpu",
    "plot_rss",
    "plot_series",
    "plot_test_heatmap",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
