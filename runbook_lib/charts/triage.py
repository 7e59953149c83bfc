"""Triage charts: error rates from the access log and errors from the application log."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure, plot_series
from runbook_lib.timewindow import Window


def plot_error_rates(
    rates: pd.DataFrame, *, window: Window | None = None, deploys: pd.DataFrame | None = None
) -> Figure:
    """Requests and 5xx/4xx/429 per minute from the access log, 5xx share on top."""
    peak = float(rates["error_rate"].max()) if not rates.empty else 0.0
    title = "No 5xx responses in the access log"
    if peak > 0:
        peak_at = rates["minute_at"].iloc[int(rates["error_rate"].to_numpy().argmax())]
        title = f"5xx share peaked at {peak:.1%} at {peak_at:%H:%M} UTC"
    fig, (top, bottom) = new_figure(title, nrows=2, height=5.2)
    if not rates.empty:
        top.plot(rates["minute_at"], rates["error_rate"] * 100, color="#b2182b", lw=1.3, label="5xx %")
        for col, color in (("status_5xx", "#b2182b"), ("status_4xx", "#e08214"), ("status_429", "#542788")):
            bottom.plot(rates["minute_at"], rates[col], lw=1.1, color=color, label=col.replace("status_", ""))
        twin = bottom.twinx()
        twin.plot(rates["minute_at"], rates["requests"], color="#999999", lw=0.8, alpha=0.6, label="requests")
        twin.set_ylabel("requests/min", color="#777777")
    decorate_time_axis(top, window=window, deploys=deploys, ylabel="5xx % of requests")
    decorate_time_axis(bottom, window=window, deploys=deploys, ylabel="responses/min")
    add_legend(top, loc="upper left", fontsize=8)
    add_legend(bottom, loc="upper left", fontsize=8)
    return fig


def plot_app_errors(
    rates: pd.DataFrame, *, window: Window | None = None, deploys: pd.DataFrame | None = None
) -> Figure:
    """Application-log errors and warnings per minute."""
    total = int(rates["errors"].sum()) if not rates.empty else 0
    title = f"{total:,} application errors logged" + (
        f", most at {rates['minute_at'].iloc[int(rates['errors'].to_numpy().argmax())]:%H:%M} UTC" if total else ""
    )
    return plot_series(
        rates,
        x="minute_at",
        columns=["errors", "warnings"],
        title=title,
        window=window,
        deploys=deploys,
        ylabel="lines/min",
    )
