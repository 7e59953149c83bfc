"""The drill-down every flow had first (``explore_by``), now an explore view with a timeline.

DESIGN.md: a control sits in a cell that also shows its first answer, so a papermill report
and an interactive session show the same content; only JupyterLab users
(``interactive=True``) get the dropdown to look at the other choices. The view itself is
:class:`runbook_lib.notebook.explore.ExploreView`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runbook_lib.notebook.display import show_md
from runbook_lib.notebook.explore import ExploreView, explore


def explore_by(
    frame: pd.DataFrame,
    column: str,
    choices: Sequence[str],
    *,
    interactive: bool = False,
    columns: Sequence[str] = (),
    newest_first: str = "",
    at: str = "",
    split: str = "",
    max_rows: int = 15,
) -> ExploreView | None:
    """Drill into the rows of *frame* whose *column* equals a choice: the first choice
    statically (its timeline over *at* and its rows), and with ``interactive`` a dropdown to
    switch between them. *at* defaults to *newest_first* when that is a time column."""
    picked = [c for c in choices if isinstance(c, str)]
    if not picked:
        show_md("_{note}_", note="Nothing to drill into.")
        return None
    if not at and newest_first in frame.columns and pd.api.types.is_datetime64_any_dtype(frame[newest_first]):
        at = newest_first
    return explore(
        frame,
        interactive=interactive,
        at=at,
        drill=column,
        choices=picked,
        drill_first=True,
        columns=columns,
        newest_first=newest_first,
        split=split,
        max_rows=max_rows,
    )
