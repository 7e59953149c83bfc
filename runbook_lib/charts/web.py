"""Charts for the web-traffic flows (rate limiting, security alert).

Pure: frames in (from :mod:`runbook_lib.analysis.traffic` and
:mod:`runbook_lib.analysis.security`), a :class:`~matplotlib.figure.Figure` out, with the
shared look of :mod:`runbook_lib.charts.style` (UTC axis, window shaded, titles that state the
finding). Labels that come from logs (endpoints, IPs) are cleaned and cut first.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, new_figure
from runbook_lib.text import clean_text
from runbook_lib.timewindow import Window

_STATUS_COLORS = {
    "2xx": "#4d9221",
    "3xx": "#80cdc1",
    "4xx": "#fdb863",
    "429": "#b2182b",
    "5xx": "#542788",
}
_BASE_COLUMNS = ("minute_at", "requests", "limited")


def _empty(ax: object, window: Window | None) -> None:
    ax.text(0.5, 0.5, "no data in the window", ha="center", va="center", transform=ax.transAxes)  # type: ignore[attr-defined]
    if window is not None:
        ax.set_xlim(window.start, window.end)  # type: ignore[attr-defined]


def plot_limited_per_minute(series: pd.DataFrame, *, window: Window | None = None) -> Figure:
    """Requests and 429s per minute (top), 429s per endpoint template (bottom).

    *series* is :func:`runbook_lib.analysis.traffic.limited_per_minute` output.
    """
    total = int(series["limited"].sum()) if not series.empty else 0
    if total:
        peak = series.iloc[int(series["limited"].to_numpy().argmax())]
        at = pd.Timestamp(peak["minute_at"]).strftime("%H:%M")
        title = f"{total} responses were 429; peak {int(peak['limited'])}/min at {at} UTC"
    else:
        title = "No 429 responses in the window"
    fig, (top, bottom) = new_figure(title, nrows=2, height=6.0)
    if series.empty:
        _empty(top, window)
    else:
        top.plot(series["minute_at"], series["requests"], lw=1.2, color="#4d4d4d", label="requests")
        top.plot(series["minute_at"], series["limited"], lw=1.4, color=_STATUS_COLORS["429"], label="429")
        endpoints = [c for c in series.columns if c not in _BASE_COLUMNS]
        for col in endpoints:
            bottom.plot(series["minute_at"], series[col], lw=1.3, label=clean_text(col, 40))
        if endpoints:
            add_legend(bottom, loc="upper left", fontsize=8)
        add_legend(top, loc="upper left", fontsize=8)
    decorate_time_axis(top, window=window, ylabel="per minute")
    decorate_time_axis(bottom, window=window, ylabel="429 per endpoint")
    return fig


def plot_limiting_vs_limited(side_by_side: pd.DataFrame, *, window: Window | None = None) -> Figure:
    """ "We are limiting" (429s we served) above "we are limited" (upstream quota errors).

    *side_by_side* is :func:`runbook_lib.analysis.traffic.quota_per_minute` output.
    """
    ours = int(side_by_side["we_limit_429"].sum()) if not side_by_side.empty else 0
    theirs = int(side_by_side["upstream_limits_us"].sum()) if not side_by_side.empty else 0
    fig, (top, bottom) = new_figure(
        f"We limited clients {ours} times; upstreams limited us {theirs} times", nrows=2, height=5.5
    )
    if side_by_side.empty:
        _empty(top, window)
    else:
        top.plot(
            side_by_side["minute_at"],
            side_by_side["we_limit_429"],
            color=_STATUS_COLORS["429"],
            lw=1.3,
        )
        bottom.plot(side_by_side["minute_at"], side_by_side["upstream_limits_us"], color="#2166ac", lw=1.3)
    decorate_time_axis(top, window=window, ylabel="we limit (429/min)")
    decorate_time_axis(bottom, window=window, ylabel="upstream limits us /min")
    return fig


def plot_auth_failures(series: pd.DataFrame, *, window: Window | None = None) -> Figure:
    """Failed authentications per minute (401, 403 and app-log matches), stacked."""
    columns = [c for c in series.columns if c != "minute_at"]
    total = int(series[columns].to_numpy().sum()) if not series.empty else 0
    fig, (ax,) = new_figure(f"{total} failed authentications in the window")
    if series.empty:
        _empty(ax, window)
    else:
        ax.stackplot(
            series["minute_at"],
            *[series[c].to_numpy(dtype=float) for c in columns],
            labels=columns,
            alpha=0.85,
        )
        add_legend(ax, loc="upper left", fontsize=8)
    decorate_time_axis(ax, window=window, ylabel="failures per minute")
    return fig


def _status_class(status: int) -> str:
    return "429" if status == 429 else f"{status // 100}xx"


def plot_ip_timeline(timeline: pd.DataFrame, ip: str, *, window: Window | None = None) -> Figure:
    """One IP's requests over time: each request a dot at its status code, by status class.

    *timeline* is :func:`runbook_lib.analysis.security.ip_timeline` output.
    """
    who = clean_text(ip, 60) or "no suspect IP"
    fig, (ax,) = new_figure(f"{len(timeline)} requests from {who}")
    if timeline.empty:
        _empty(ax, window)
    else:
        classes = timeline["status"].map(_status_class)
        for label, color in _STATUS_COLORS.items():
            rows = timeline[classes == label]
            if not rows.empty:
                ax.scatter(rows["requested_at"], rows["status"], s=12, color=color, label=label, alpha=0.8)
        probes = timeline[timeline["probe"].astype("str") != ""]
        if not probes.empty:
            ax.scatter(
                probes["requested_at"],
                probes["status"],
                s=40,
                facecolors="none",
                edgecolors="black",
                label="scanner probe",
            )
        add_legend(ax, loc="upper left", fontsize=8)
    decorate_time_axis(ax, window=window, ylabel="HTTP status")
    return fig
