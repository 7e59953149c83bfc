"""Charts for the host flows (high CPU, memory leak), in the shared look of :mod:`charts`.

Pure: frames in, :class:`~matplotlib.figure.Figure` out (no pyplot, no display).
Inputs are the frames of ``sources.host`` (system/process samples), the analyses'
derived frames (``analysis.cpu.process_share_over_time``, ``analysis.memory.rank_rss_trends``)
and the metrics frame (``sampled_at, query, series, value``).
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure, plot_series
from runbook_lib.timewindow import Window

MB = 1024 * 1024
_SPLIT = ["user_percent", "system_percent", "iowait_percent", "steal_percent"]


def plot_cpu(
    system: pd.DataFrame,
    *,
    threshold_percent: float,
    title: str,
    window: Window | None = None,
    deploys: pd.DataFrame | None = None,
) -> Figure:
    """Whole-host CPU: stacked user/system/iowait/steal when sampled, else total CPU %."""
    columns = _SPLIT if set(_SPLIT) <= set(system.columns) else ["cpu_percent"]
    return plot_series(
        system,
        x="sampled_at",
        columns=columns,
        title=title,
        window=window,
        deploys=deploys,
        thresholds={"threshold": threshold_percent},
        ylabel="CPU % (all cores)",
        stacked=len(columns) > 1,
    )


def plot_process_cpu(share: pd.DataFrame, *, title: str) -> Figure:
    """CPU % (of one core) over time for the top processes (``process_share_over_time``)."""
    columns = [c for c in share.columns if c != "sampled_at"]
    return plot_series(share, x="sampled_at", columns=columns, title=title, ylabel="CPU % of one core")


def plot_rss(processes: pd.DataFrame, trends: pd.DataFrame, *, title: str, top: int = 5) -> Figure:
    """RSS (MB) over time for the processes with a trend row; leaks drawn with their fit."""
    fig, (ax,) = new_figure(title)
    pids = trends["pid"].head(top).tolist() if not trends.empty else []
    if not pids:
        ax.text(0.5, 0.5, "not enough samples for a trend", ha="center", va="center", transform=ax.transAxes)
    for pid in pids:
        one = processes[processes["pid"] == pid].sort_values("sampled_at")
        row = trends[trends["pid"] == pid].iloc[0]
        label = f"{row['name']} ({pid}) {row['pattern']}"
        ax.plot(one["sampled_at"], one["rss_bytes"].astype(float) / MB, lw=1.3, label=label)
        if row["pattern"] == "leak" and len(one) >= 2:
            at = one["sampled_at"]
            slope_mb_s = float(row["growth_mb_per_h"]) / 3600.0
            secs = (at - at.iloc[0]).dt.total_seconds()
            mid = float(secs.median())
            base = float((one["rss_bytes"].astype(float) / MB).median())
            ax.plot(
                at, base + slope_mb_s * (secs - mid), ls="--", lw=1, label=f"trend {row['growth_mb_per_h']:.0f} MB/h"
            )
    decorate_time_axis(ax, ylabel="RSS (MB)")
    if pids:
        add_legend(ax, loc="upper left", fontsize=8)
    return fig


def plot_metrics(
    metrics: pd.DataFrame,
    *,
    query: str,
    title: str,
    window: Window | None = None,
    ylabel: str = "",
) -> Figure:
    """One metrics query (Prometheus or CSV): one line per series."""
    rows = metrics[metrics["query"] == query]
    wide = rows.pivot_table(index="sampled_at", columns="series", values="value", aggfunc="mean")
    wide = wide.iloc[:, :8].reset_index()
    columns = [c for c in wide.columns if c != "sampled_at"]
    return plot_series(wide, x="sampled_at", columns=columns, title=title, window=window, ylabel=ylabel or query)
