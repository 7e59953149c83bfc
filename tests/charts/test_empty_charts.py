"""A chart with nothing to plot still draws, without a legend warning in the report."""

from __future__ import annotations

import warnings

import pandas as pd

from runbook_lib.charts.incident import plot_incident_series


def test_empty_incident_series_draws_without_legend_warning() -> None:
    empty = pd.DataFrame({"minute": pd.Series([], dtype="datetime64[ns, UTC]"), "errors": pd.Series([], dtype=int)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "No artists with labels" is a UserWarning
        fig = plot_incident_series(
            empty, x="minute", columns=["errors"], milestones={"detected_at": "2026-01-01T00:00Z"}
        )
    assert fig.axes[0].get_legend() is None
    assert any("no series" in t.get_text() for t in fig.axes[0].texts)
