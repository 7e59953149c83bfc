"""Confirm-before-act remediation buttons: select targets, see the dry run, then confirm.

The panel (``rbk-remedy``) holds a ``SelectMultiple`` of targets (``rbk-remedy-select``), a
"Dry run" button (``rbk-remedy-dryrun``) that shows exactly what would be done (the SQL and
pids, or the ``kill`` command), a "Confirm" button (``rbk-remedy-confirm``) that stays
disabled until a dry run was shown for the *same* selection, and an ``Output`` with the
result (``rbk-remedy-result``). Acting goes through the same library calls as a batch
remediation (:func:`runbook_lib.remedies.pg.remediate_connections`,
:func:`runbook_lib.remedies.host.apply_remedy`), so it is logged in the incident timeline
exactly as a batch run logs it. In batch runs the panel displays nothing: the flow's own
remediation cell already shows the dry run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from runbook_lib.notebook.bundles import Bundle, ErrorSlot, table_bundle, text_bundle
from runbook_lib.text import clean_text

Plan = Callable[[tuple[int, ...]], list[Bundle]]
Act = Callable[[tuple[int, ...]], list[Bundle]]


class RemedyPanel:
    """Targets (pid → label), a dry-run step and a confirmed act."""

    def __init__(self, targets: Sequence[tuple[str, int]], plan: Plan, act: Act, *, what: str) -> None:
        self.targets, self.plan, self.act, self.what = list(targets), plan, act, what
        self.planned: tuple[int, ...] | None = None
        self.widgets: dict[str, Any] = {}

    def build(self) -> Any:
        import ipywidgets as widgets

        select = widgets.SelectMultiple(
            options=self.targets,
            description="targets",
            rows=min(8, max(2, len(self.targets))),
            layout=widgets.Layout(width="90%"),
        )
        select.add_class("rbk-remedy-select")
        dry = widgets.Button(description="Dry run", icon="eye")
        dry.add_class("rbk-remedy-dryrun")
        confirm = widgets.Button(description=f"Confirm: {self.what}", button_style="danger", disabled=True)
        confirm.add_class("rbk-remedy-confirm")
        result = widgets.Output()
        result.add_class("rbk-remedy-result")
        box = widgets.VBox([select, widgets.HBox([dry, confirm]), result])
        box.add_class("rbk-remedy")
        slot = ErrorSlot(box)
        self.widgets = {"select": select, "dryrun": dry, "confirm": confirm, "result": result, "box": box}
        self.widgets["errors"] = slot
        select.observe(slot.guard(self._selection_changed), names="value")
        dry.on_click(slot.guard(lambda _b: self.dry_run()))
        confirm.on_click(slot.guard(lambda _b: self.confirm()))
        return box

    @property
    def selection(self) -> tuple[int, ...]:
        return tuple(sorted(int(p) for p in self.widgets["select"].value))

    def _selection_changed(self, change: object = None) -> None:
        # A dry run is only good for the selection it was shown for.
        self.planned = None
        self.widgets["confirm"].disabled = True

    def dry_run(self) -> None:
        """Show what confirming would do for the current selection, and allow confirming it."""
        chosen = self.selection
        if not chosen:
            self.widgets["result"].outputs = (text_bundle("Select at least one target first."),)
            return
        self.widgets["result"].outputs = tuple(self.plan(chosen))
        self.planned = chosen
        self.widgets["confirm"].disabled = False

    def confirm(self) -> None:
        """Act on exactly the dry-run selection (refused if the selection changed since)."""
        chosen = self.selection
        if self.planned is None or chosen != self.planned:
            self.widgets["confirm"].disabled = True
            self.widgets["result"].outputs = (text_bundle("Run the dry run for this selection first."),)
            return
        self.widgets["confirm"].disabled = True
        self.planned = None
        self.widgets["result"].outputs = tuple(self.act(chosen))

    def _ipython_display_(self) -> None:
        """Nothing: the panel was displayed when it was made."""


def _show(panel: RemedyPanel) -> RemedyPanel:
    from IPython.display import display

    display(panel.build())
    return panel


def session_label(row: pd.Series) -> str:
    """``12345 billing-api (idle, alice)``: the pid and what a person recognises it by."""
    app = clean_text(row.get("application_name") or "(no application_name)", 40)
    return f"{row['pid']} {app} ({row.get('state') or '?'}, {row.get('usename') or '?'})"


def terminate_panel(
    sessions: pd.DataFrame,
    pg_service: str = "",
    pg_dsn_env: str = "",
    *,
    interactive: bool,
    incident_id: str = "",
    timeout_s: float = 5.0,
) -> RemedyPanel | None:
    """Display :func:`terminate_remedy` in JupyterLab (nothing in batch)."""
    if not interactive:
        return None
    return _show(terminate_remedy(sessions, pg_service, pg_dsn_env, incident_id=incident_id, timeout_s=timeout_s))


def terminate_remedy(
    sessions: pd.DataFrame,
    pg_service: str = "",
    pg_dsn_env: str = "",
    *,
    incident_id: str = "",
    timeout_s: float = 5.0,
) -> RemedyPanel:
    """Select client backends of *sessions* (pid, application_name, state, usename) and
    terminate them after a dry run and a confirmation; logged in *incident_id*'s timeline."""
    from runbook_lib.remedies.pg import remediate_connections

    if "backend_type" in sessions.columns:  # the SQL refuses the others anyway
        sessions = sessions[sessions["backend_type"].fillna("client backend") == "client backend"]
    targets = [(session_label(row), int(row["pid"])) for _, row in sessions.iterrows() if pd.notna(row["pid"])]

    def run(chosen: tuple[int, ...], remediate: bool) -> list[Bundle]:
        result = remediate_connections(
            pg_service, pg_dsn_env, pids=list(chosen), remediate=remediate, timeout_s=timeout_s, incident_id=incident_id
        )
        shown = result.would_run or result.sql  # a dry run shows the statement Confirm would execute
        return [text_bundle(result.summary()), text_bundle(shown), table_bundle(result.candidates)]

    return RemedyPanel(targets, lambda c: run(c, False), lambda c: run(c, True), what="terminate backends")


def signal_panel(
    processes: pd.DataFrame,
    *,
    interactive: bool,
    incident_id: str = "",
    signal_name: str = "TERM",
) -> RemedyPanel | None:
    """Display :func:`signal_remedy` in JupyterLab (nothing in batch)."""
    if not interactive:
        return None
    return _show(signal_remedy(processes, incident_id=incident_id, signal_name=signal_name))


def signal_remedy(processes: pd.DataFrame, *, incident_id: str = "", signal_name: str = "TERM") -> RemedyPanel:
    """Select processes of *processes* (pid, name) and send them SIG*signal_name* after a
    dry run and a confirmation; logged in *incident_id*'s timeline."""
    from runbook_lib.remedies.host import RemedyPlan, apply_remedy, plan_restart

    rows = processes.drop_duplicates("pid", keep="last") if "pid" in processes.columns else processes
    targets = [(f"{int(r['pid'])} {clean_text(r.get('name') or '?', 40)}", int(r["pid"])) for _, r in rows.iterrows()]
    plans: dict[int, RemedyPlan] = {}

    def plan(chosen: tuple[int, ...]) -> list[Bundle]:
        plans.clear()
        plans.update({pid: plan_restart(pid, signal_name=signal_name) for pid in chosen})
        commands = pd.DataFrame([{"pid": p.pid, "name": p.name, "command": p.command} for p in plans.values()])
        return [text_bundle(f"dry run: would run {len(plans)} command(s)"), table_bundle(commands)]

    def act(chosen: tuple[int, ...]) -> list[Bundle]:
        done = [apply_remedy(plans[pid], remediate=True, incident_id=incident_id) for pid in chosen if pid in plans]
        table = pd.DataFrame([{"pid": d["pid"], "command": d["command"], "result": d["result"]} for d in done])
        return [text_bundle(f"{sum(d['executed'] for d in done)} of {len(done)} executed"), table_bundle(table)]

    return RemedyPanel(targets, plan, act, what=f"send SIG{signal_name}")
