"""Connection charts on recorded frames: a series, a lone snapshot, and no sample at all."""

from __future__ import annotations

from pathlib import Path

from runbook_lib.analysis import connections as cx
from runbook_lib.charts.db import plot_connections_by_application, plot_connections_by_state
from runbook_lib.collected import empty_frame
from runbook_lib.notebook.display import figure_png
from runbook_lib.sources.pg.activity import ACTIVITY_SCHEMA, frame_from_rows, read_activity_export

SETTINGS = {"max_connections": 20, "usable_connections": 17}


def _series() -> tuple:  # type: ignore[type-arg]
    rows = []
    for i in range(4):
        at = f"2026-11-27T05:00:{i * 10:02d}+00:00"
        rows += [
            {
                "sampled_at": at,
                "pid": 100 + n,
                "backend_type": "client backend",
                "state": "idle",
                "application_name": "billing-worker",
            }
            for n in range(3 + 2 * i)
        ]
        rows.append(
            {
                "sampled_at": at,
                "pid": 99,
                "backend_type": "client backend",
                "state": "active",
                "application_name": "checkout-api",
            }
        )
    frame = frame_from_rows(rows)
    return frame, cx.detect_utilisation(frame, SETTINGS)


def test_state_chart_title_states_the_utilisation() -> None:
    frame, util = _series()
    fig = plot_connections_by_state(util)
    assert fig._suptitle.get_text() == "10 of 17 usable slots in use (59%)"
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "max_connections (20)" in labels and "usable slots (17)" in labels
    assert figure_png(fig).startswith(b"\x89PNG")


def test_application_chart_names_the_leader() -> None:
    frame, _ = _series()
    fig = plot_connections_by_application(cx.count_by(frame, "application_name"))
    assert fig._suptitle.get_text() == "Connections by application: billing-worker holds 9"
    assert len(fig.axes[0].get_lines()) == 2


def test_snapshot_and_empty_frames_draw(data_dir: Path) -> None:
    snap = read_activity_export(data_dir / "postgres_activity" / "pg_stat_activity_during_pgbench.json").frame
    util = cx.detect_utilisation(snap, SETTINGS)
    fig = plot_connections_by_state(util)
    assert len(fig.axes[0].patches) == 4  # one stacked bar per state group
    empty = empty_frame(ACTIVITY_SCHEMA)
    fig = plot_connections_by_state(cx.detect_utilisation(empty, SETTINGS))
    assert fig._suptitle.get_text() == "Connections: no sample"
    fig = plot_connections_by_application(cx.count_by(empty, "application_name"))
    assert figure_png(fig).startswith(b"\x89PNG")
