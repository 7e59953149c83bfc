"""Charts for the database-connection flow: slots by state against the limits, by application.

Pure: they take the frames of :mod:`runbook_lib.analysis.connections` and return a
Figure with the shared look (:mod:`runbook_lib.charts.style`). A single snapshot is drawn as
one stacked bar, since an area needs two samples.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure
from runbook_lib.timewindow import Window

#: The state columns of the utilisation frame, in stacking order, with their colours.
STATE_COLORS = {"active": "#1b9e77", "idle": "#7570b3", "idle_in_transaction": "#d95f02", "other": "#999999"}
STATE_COLUMNS = list(STATE_COLORS)
# A bar for a lone snapshot: wide enough to see on an axis of a few minutes.
_BAR_DAYS = 10 / 86400


def _title(util: pd.DataFrame) -> str:
    if util.empty:
        return "Connections: no sample"
    last = util.iloc[-1]
    return (
        f"{int(last['connections'])} of {int(last['usable_connections'])} usable slots in use "
        f"({last['utilisation_pct']:.0f}%)"
    )


def plot_connections_by_state(util: pd.DataFrame, *, window: Window | None = None) -> Figure:
    """Client connections by state (stacked) against max_connections and the usable slots.

    *util* is ``detect_utilisation``'s frame (UTILISATION_SCHEMA).
    """
    fig, (ax,) = new_figure(_title(util))
    thresholds: dict[str, float] = {}
    if util.empty:
        ax.text(0.5, 0.5, "no sample", ha="center", va="center", transform=ax.transAxes)
    else:
        thresholds = {
            "max_connections": float(util["max_connections"].iloc[-1]),
            "usable slots": float(util["usable_connections"].iloc[-1]),
        }
        values = [util[c].to_numpy(dtype=float) for c in STATE_COLUMNS]
        colors = [STATE_COLORS[c] for c in STATE_COLUMNS]
        if len(util) == 1:
            bottom = 0.0
            for name, value, color in zip(STATE_COLUMNS, values, colors, strict=True):
                ax.bar(util["sampled_at"], value, width=_BAR_DAYS, bottom=bottom, color=color, label=name)
                bottom += float(value[0])
        else:
            ax.stackplot(util["sampled_at"], *values, labels=STATE_COLUMNS, colors=colors, alpha=0.85)
    decorate_time_axis(ax, window=None if util.empty else window, thresholds=thresholds, ylabel="connections")
    if not util.empty:
        add_legend(ax, loc="upper left", fontsize=8, ncols=3)
    return fig


def plot_connections_by_application(counts: pd.DataFrame, *, top: int = 6, window: Window | None = None) -> Figure:
    """Connections per application over time (``count_by(frame, "application_name")``).

    The *top* applications by their latest count are drawn; the rest are summed as "other".
    """
    title = "Connections by application"
    if not counts.empty:
        leader = counts.iloc[-1].idxmax()
        title = f"Connections by application: {leader} holds {int(counts.iloc[-1].max())}"
    fig, (ax,) = new_figure(title)
    if counts.empty:
        ax.text(0.5, 0.5, "no sample", ha="center", va="center", transform=ax.transAxes)
    else:
        order = counts.iloc[-1].sort_values(ascending=False).index
        shown = counts[order[:top]].copy()
        if len(order) > top:
            shown["other"] = counts[order[top:]].sum(axis=1)
        for name in shown.columns:
            ax.plot(shown.index, shown[name], marker="o" if len(shown) < 3 else None, lw=1.4, label=str(name))
        add_legend(ax, loc="upper left", fontsize=8, ncols=3)
    decorate_time_axis(ax, window=None if counts.empty else window, ylabel="connections")
    return fig
