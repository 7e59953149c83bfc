"""A chart with nothing to plot still draws, without a legend warning in the report."""

from __future__ import annotations

import warnings

import pandas as pd

from runbook_lib.charts import plot_series
from runbook_lib.charts.incident import plot_incident_series
from runbook_lib.timewindow import parse_window


def test_empty_incident_series_draws_without_legend_warning() -> None:
    empty = pd.DataFrame({"minute": pd.Series([], dtype="datetime64[ns, UTC]"), "errors": pd.Series([], dtype=int)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib's "No artists with labels" is a UserWarning
        fig = plot_incident_series(
            empty, x="minute", columns=["errors"], milestones={"detected_at": "2026-01-01T00:00Z"}
        )
    assert fig.axes[0].get_legend() is None
    assert any("no series" in t.get_text() for t in fig.axes[0].texts)


def test_empty_chart_without_window_has_no_scale_and_with_one_keeps_the_window() -> None:
    empty = pd.DataFrame({"minute": pd.Series([], dtype="datetime64[ns, UTC]"), "errors": pd.Series([], dtype=int)})
    bare = plot_series(empty, x="minute", columns=["errors"], title="Errors", ylabel="errors").axes[0]
    assert not bare.get_xticks().size and not bare.get_yticks().size
    assert bare.get_ylabel() == "errors"
    window = parse_window("2026-01-01T00:00Z", "2026-01-01T01:00Z")
    framed = plot_series(empty, x="minute", columns=["errors"], title="Errors", window=window).axes[0]
    assert framed.get_xticks().size  # the window is drawn on a time scale
    drawn = pd.DataFrame({"minute": pd.date_range("2026-01-01", periods=3, freq="min", tz="UTC"), "errors": [1, 2, 3]})
    assert plot_series(drawn, x="minute", columns=["errors"], title="Errors").axes[0].get_xticks().size


def test_explore_chart_of_no_rows_has_no_scale() -> None:
    from runbook_lib.charts.explore import plot_rows_over_time

    ax = plot_rows_over_time(pd.DataFrame({"at": pd.Series([], dtype="datetime64[ns, UTC]")}), "at").axes[0]
    assert not ax.get_xticks().size and not ax.get_yticks().size
    assert any("no rows" in t.get_text() for t in ax.texts)
