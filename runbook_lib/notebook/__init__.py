"""Display and widgets for the flow notebooks: the only package that talks to IPython.

Stable DOM hooks (CSS classes added with ``widget.add_class``) that the browser tests in
tests/lab/ rely on; keep the names, one per line in :data:`HOOKS`:

- ``rbk-explore``: the container of one explore view (its controls and its ``rbk-view``)
- ``rbk-window``: the incident window control, a ``SelectionRangeSlider`` (keyboard: ArrowRight/End/Home)
- ``rbk-filter``: each source filter, a ``Dropdown``
- ``rbk-drill``: each drill-down, a ``Dropdown`` (a ``<select>`` in the DOM)
- ``rbk-view``: the ``Output`` the controls redraw: a line "N rows, HH:MM–HH:MM UTC", a PNG chart, an HTML table
- ``rbk-live``: a live panel's container ("refreshed HH:MM:SS UTC" and a table; pg: pid, application_name)
- ``rbk-live-stop``: a live panel's Stop button
- ``rbk-remedy``: a remediation panel's container
- ``rbk-remedy-select``: its ``SelectMultiple`` of targets (pid and application_name / process name in the label)
- ``rbk-remedy-dryrun``: its "Dry run" button
- ``rbk-remedy-confirm``: its "Confirm" button (disabled until a dry run for the same selection)
- ``rbk-remedy-result``: its result ``Output``
- ``rbk-error``: any in-place error message (an ``HTML`` widget, present only while an error shows)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runbook_lib.lazy import lazy_exports

if TYPE_CHECKING:
    from runbook_lib.notebook.display import (
        show_figure,
        show_findings,
        show_markdown_document,
        show_md,
        show_sources,
        show_table,
        show_text,
    )
    from runbook_lib.notebook.explore import explore
    from runbook_lib.notebook.lab import show_lab_parameters
    from runbook_lib.notebook.live import live_activity, live_processes
    from runbook_lib.notebook.progress import progress_bar, reading_bar
    from runbook_lib.notebook.remedy_panel import signal_panel, terminate_panel
    from runbook_lib.notebook.widgets import explore_by

#: The DOM hooks above, as data (the browser tests import this list).
HOOKS = tuple(line.split("``")[1] for line in (__doc__ or "").splitlines() if line.startswith("- ``rbk-"))

__all__ = [
    "HOOKS",
    "explore",
    "explore_by",
    "live_activity",
    "live_processes",
    "progress_bar",
    "reading_bar",
    "show_figure",
    "show_findings",
    "show_lab_parameters",
    "show_markdown_document",
    "show_md",
    "show_sources",
    "show_table",
    "show_text",
    "signal_panel",
    "terminate_panel",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
