"""The post-mortem chart: the key series with the incident's milestones and deploys."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.dates as mdates
import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure
from runbook_lib.timewindow import Window

MILESTONE_COLOR = "#6e7781"


def plot_incident_series(
    series: pd.DataFrame,
    *,
    x: str,
    columns: Sequence[str],
    milestones: Mapping[str, str],
    deploys: pd.DataFrame | None = None,
    window: Window | None = None,
    title: str = "Key series with milestones and deploys",
) -> Figure:
    """*columns* of *series* over time, a dotted line and label at each milestone."""
    fig, (ax,) = new_figure(title)
    if series.empty:
        ax.text(0.5, 0.5, "no series collected by the runs", ha="center", va="center", transform=ax.transAxes)
    for col in columns:
        if col in series and not series.empty:
            ax.plot(series[x], series[col], lw=1.3, label=col)
    for name, at in milestones.items():
        stamp = pd.Timestamp(at)
        ax.axvline(float(mdates.date2num(stamp)), color=MILESTONE_COLOR, ls=":", lw=1.2)
        ax.annotate(name.removesuffix("_at"), xy=(stamp, 0.98), xycoords=("data", "axes fraction"), fontsize=7,
                    rotation=90, va="top", ha="right", color=MILESTONE_COLOR)  # fmt: skip
    decorate_time_axis(ax, deploys=deploys, ylabel="per minute")
    if window is not None:
        ax.set_xlim(window.start, window.end)  # type: ignore[arg-type]
    add_legend(ax, loc="upper left", fontsize=8)
    return fig
