"""CI charts: failures per run over time (commit changes marked) and a tests × runs heatmap."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure

from runbook_lib.charts.style import add_legend, decorate_time_axis, hide_scale, new_figure

#: Outcome codes of the heatmap (see analysis.tests_history.detect_outcome_matrix).
_COLORS = ["#1a9850", "#d73027", "#7b3294", "#bdbdbd", "#000000"]


def plot_failures_per_run(runs: pd.DataFrame) -> Figure:
    """Failed, errored and suite-error counts per run against its start time; a marker where the commit changes."""
    worst = runs.assign(bad=runs["failed"] + runs["errors"] + runs["suite_errors"]) if len(runs) else runs
    title = "No CI runs in the window"
    if len(runs):
        pos = int(worst["bad"].to_numpy().argmax())
        most, run_id = int(worst["bad"].iloc[pos]), str(worst["run_id"].iloc[pos])
        title = f"{most} failing tests at most, in run {run_id}" if most else "Every run green"
    fig, (ax,) = new_figure(title)
    if len(runs):
        timed = runs[runs["started_at"].notna()]
        ax.plot(timed["started_at"], timed["failed"], marker="o", lw=1.2, label="failed", color="#d73027")
        ax.plot(timed["started_at"], timed["errors"], marker="s", lw=1.0, label="errors", color="#7b3294")
        ax.plot(timed["started_at"], timed["suite_errors"], marker="^", lw=1.0, label="suite errors", color="#000000")
        changes = timed[timed["commit"] != timed["commit"].shift()]
        deploys = pd.DataFrame({"deployed_at": changes["started_at"], "sha": changes["commit"]})
        decorate_time_axis(ax, deploys=deploys[deploys["sha"] != ""], ylabel="tests per run")
        add_legend(ax, loc="upper left", fontsize=8)
    return fig


def plot_test_heatmap(matrix: pd.DataFrame, runs: pd.DataFrame) -> Figure:
    """Outcomes of the chosen tests (rows) across runs (columns labelled with short shas)."""
    fig, (ax,) = new_figure(
        f"Outcomes of {len(matrix)} tests over the last {matrix.shape[1]} runs", height=1.2 + 0.3 * max(len(matrix), 1)
    )
    if matrix.empty:
        ax.text(0.5, 0.5, "no failing test to show", ha="center", va="center", transform=ax.transAxes)
        hide_scale(ax)
        return fig
    values = np.ma.masked_invalid(matrix.to_numpy(dtype=float))
    ax.imshow(values, aspect="auto", cmap=ListedColormap(_COLORS), vmin=-0.5, vmax=4.5, interpolation="nearest")
    shas = runs.set_index("run_index")["short_sha"].reindex(matrix.columns).fillna("").astype(str)
    ax.set_xticks(range(matrix.shape[1]), [s[:7] for s in shas], rotation=90, fontsize=7)
    ax.set_yticks(range(len(matrix)), [str(t)[-60:] for t in matrix.index], fontsize=7)
    ax.set_xlabel("run (commit)")
    return fig
