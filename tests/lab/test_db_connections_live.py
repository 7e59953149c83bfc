"""db_connections in JupyterLab against the real PostgreSQL on 127.0.0.1:5432: the live panel
sees a session opened after it started and stops when asked; the remediation buttons show a
dry run, then terminate only the backend the user selected, and the timeline records it."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests import pg_cluster
from tests.lab.conftest import LAB_PG_DSN, LAB_PG_DSN_ENV, LabKit
from tests.lab.driver import REDRAW_TIMEOUT_MS, LabPage

pytestmark = pytest.mark.slow

#: The live panel's refresh period (live_activity's default); "stopped" means no new
#: "refreshed" time over two periods after one period of grace for a refresh under way.
INTERVAL_S = 3.0
APP_ROLE = "rbk_lab_app"
REFRESHED = re.compile(r"refreshed (\d\d:\d\d:\d\d)")


def alive(pids: list[int]) -> set[int]:
    with psycopg.connect(LAB_PG_DSN, autocommit=True, connect_timeout=5) as admin:
        rows = admin.execute("SELECT pid FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchall()
    return {int(r[0]) for r in rows}


def refreshed(page: LabPage) -> str:
    match = REFRESHED.search(page.page.locator(".rbk-live").first.inner_text())
    return match.group(1) if match else ""


def db_notebook(kit: LabKit, name: str, **values: Any) -> str:
    base = {**kit.window(), "pg_dsn_env": LAB_PG_DSN_ENV, "duration_s": 0.0}
    return kit.notebook("db_connections", name, {**base, **values}, interactive=True)


def test_live_panel_shows_a_new_session_and_stops(lab: Callable[[str], LabPage], lab_kit: LabKit, sessions) -> None:  # type: ignore[no-untyped-def]
    page = lab(db_notebook(lab_kit, "db_live"))
    page.run_all()
    assert page.errors() == []
    panel = page.page.locator(".rbk-live").first
    panel.scroll_into_view_if_needed()
    page.page.wait_for_function(
        "el => /refreshed \\d\\d:\\d\\d:\\d\\d/.test(el.innerText)",
        arg=panel.element_handle(),
        timeout=REDRAW_TIMEOUT_MS,
    )

    # Opened after the panel started: only a refresh can show it.
    late = f"rbk-live-{uuid.uuid4().hex[:8]}"
    conn = sessions(late)
    page.page.wait_for_function(
        "([el, name]) => el.innerText.includes(name)", arg=[panel.element_handle(), late], timeout=REDRAW_TIMEOUT_MS
    )
    header = panel.locator("table tr").first.inner_text()
    assert "pid" in header and "application name" in header, header  # headers are humanised
    row = panel.locator("tr", has_text=late).first.inner_text()
    assert str(conn.info.backend_pid) in row, row
    page.screenshot("01-live-new-session", target=panel)

    page.page.locator(".rbk-live-stop").first.click()
    # A refresh already under way may still land; after it the time must stay put.
    first = refreshed(page)
    page.page.wait_for_timeout(INTERVAL_S * 1000)
    stopped_at = refreshed(page)
    after_stop = f"rbk-after-stop-{uuid.uuid4().hex[:8]}"
    sessions(after_stop)
    page.page.wait_for_timeout(2 * INTERVAL_S * 1000)
    assert refreshed(page) == stopped_at and stopped_at, (first, stopped_at, refreshed(page))
    assert after_stop not in panel.inner_text()
    page.screenshot("02-live-stopped", target=panel)
    # The kernel is free again: the notebook stays usable while and after the panel ran.
    assert (
        page.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status") == "idle"
    )


def test_remedy_terminates_only_the_selected_backend(lab: Callable[[str], LabPage], lab_kit: LabKit, sessions) -> None:  # type: ignore[no-untyped-def]
    tag = uuid.uuid4().hex[:8]
    victim_name, bystander_name = f"rbk-victim-{tag}", f"rbk-bystander-{tag}"
    # The kit never terminates superuser sessions: these are an application role's, as in production.
    with psycopg.connect(LAB_PG_DSN, autocommit=True, connect_timeout=5) as admin:
        pg_cluster.ensure_role(admin, APP_ROLE)
    victim, bystander = sessions(victim_name, user=APP_ROLE), sessions(bystander_name, user=APP_ROLE)
    pids = [victim.info.backend_pid, bystander.info.backend_pid]
    page = lab(db_notebook(lab_kit, "db_remedy", incident_id=lab_kit.incident_id))
    page.run_all()
    assert page.errors() == []

    select = page.page.locator(".rbk-remedy-select select").first
    select.scroll_into_view_if_needed()
    labels = select.locator("option").all_inner_texts()
    (choice,) = [o for o in labels if victim_name in o]
    assert str(pids[0]) in choice and any(bystander_name in o for o in labels), labels
    select.select_option(label=choice)

    result = page.page.locator(".rbk-remedy-result").first
    page.page.locator(".rbk-remedy-dryrun").first.click()
    page.page.wait_for_function(
        "([el, pid]) => el.innerText.includes(pid)",
        arg=[result.element_handle(), str(pids[0])],
        timeout=REDRAW_TIMEOUT_MS,
    )
    dry = result.inner_text()
    assert str(pids[1]) not in dry, dry
    assert alive(pids) == set(pids), "the dry run terminated a backend"
    page.screenshot("01-dry-run", target=page.page.locator(".rbk-remedy").first)

    page.page.locator(".rbk-remedy-confirm").first.click()
    deadline = time.monotonic() + REDRAW_TIMEOUT_MS / 1000
    while pids[0] in alive(pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(pids) == {pids[1]}
    page.page.wait_for_function(
        "([el, before]) => el.innerText !== before", arg=[result.element_handle(), dry], timeout=REDRAW_TIMEOUT_MS
    )
    page.screenshot("02-confirmed", target=page.page.locator(".rbk-remedy").first)

    record = json.loads((lab_kit.root / "reports" / lab_kit.incident_id / "incident.json").read_text())
    events = [e for e in record["timeline"] if e.get("kind") == "remediation"]
    assert [e["terminated"] for e in events] == [[pids[0]]], events
    assert "pg_terminate_backend" in events[0]["sql"] and str(pids[0]) in events[0]["event"], events
