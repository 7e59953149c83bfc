"""Every flow notebook in JupyterLab, in headless Chromium: Run All Cells without an error,
then move the incident window and pick another drill-down, and see the chart or table change.

Inputs are the demo incident the flow tests also use (``runbook_lib.demo``), generated once
into the server's temporary root; host flows sample this host for a couple of seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.lab.conftest import LAB_PG_DSN_ENV, LabKit
from tests.lab.driver import LabPage, control_cell, move_window, pick_other, view_in

pytestmark = pytest.mark.slow

#: Per flow: the parameter values a user would type into the first cell for the demo incident.
FLOW_VALUES: dict[str, Callable[[LabKit], dict[str, Any]]] = {
    "triage": lambda kit: kit.window(),
    "api_rate_limit": lambda kit: kit.window(),
    "security_alert": lambda kit: kit.window(),
    # The real PostgreSQL, so the drill-down has applications to pick from.
    "db_connections": lambda kit: {**kit.window(), "pg_dsn_env": LAB_PG_DSN_ENV},
    "high_cpu": lambda kit: {**kit.window(), "duration_s": 2.0, "interval_s": 0.5},
    "memory_leak": lambda kit: {**kit.window(), "duration_s": 2.0, "interval_s": 0.25},
    "test_failures": lambda kit: {},
    "plugin_load": lambda kit: kit.window(),
    "post_mortem": lambda kit: {"incident_id": kit.incident_id},
}


def drill_target(page: LabPage) -> tuple[Any, Any] | None:
    """The first drill-down <select> and the output it redraws: the ``rbk-drill`` hook, or
    (before every flow has it) ``explore_by``'s dropdown and its output."""
    p = page.page
    if p.locator(".rbk-drill select").count():
        cell = control_cell(p, "rbk-drill")
        return cell.locator(".rbk-drill select").first, view_in(cell)
    legacy = p.locator(".jp-Notebook .jp-Cell:has(.widget-vbox .widget-dropdown select)")
    if legacy.count():
        cell = legacy.first
        return cell.locator(".widget-dropdown select").first, cell.locator(".widget-vbox .widget-output").first
    return None


@pytest.mark.parametrize("flow", sorted(FLOW_VALUES))
def test_flow_runs_and_its_controls_redraw(
    flow: str, lab: Callable[[str], LabPage], lab_kit: LabKit, request: pytest.FixtureRequest
) -> None:
    values = FLOW_VALUES[flow](lab_kit)
    if flow == "db_connections":  # two applications on the server, so there is another one to pick
        sessions = request.getfixturevalue("sessions")
        for name in ("rbk-flow-billing", "rbk-flow-search"):
            sessions(name)
    page = lab(lab_kit.notebook(flow, f"{flow}_lab", values, interactive=True))
    page.run_all()
    assert page.errors() == []
    page.screenshot("01-ran")
    moved = 0

    if page.page.locator(".rbk-window").count():
        cell = control_cell(page.page, "rbk-window")
        view = view_in(cell)
        before = page.view_state(view)
        page.screenshot("02-window-before", target=cell)
        move_window(page.page, cell)
        after = page.wait_view_change(view, before)
        page.screenshot("03-window-after", target=cell)
        assert after.summary_line() and after.summary_line() != before.summary_line(), (before.text, after.text)
        moved += 1

    target = drill_target(page)
    if target is not None:
        select, view = target
        before = page.view_state(view)
        picked = pick_other(select)
        after = page.wait_view_change(view, before)
        page.screenshot("04-drill-after", target=view)
        assert after.tables != before.tables or after.images != before.images, picked
        moved += 1

    assert page.errors() == []
    assert moved, f"{flow}: no window control (.rbk-window) and no drill-down (.rbk-drill) in the notebook"
