"""Interactive drill-downs for JupyterLab that still render a static result in batch runs.

DESIGN.md: a control sits in a cell that also shows its first answer as a plain table, so a
papermill report and an interactive session show the same content; only JupyterLab users
(``interactive=True``) get the dropdown to look at the other choices.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from runbook_lib.notebook.display import show_md, show_table
from runbook_lib.text import clean_text


def explore_by(
    frame: pd.DataFrame,
    column: str,
    choices: Sequence[str],
    *,
    interactive: bool = False,
    columns: Sequence[str] = (),
    newest_first: str = "",
    max_rows: int = 15,
) -> None:
    """Show the rows of *frame* whose *column* equals a choice: the first choice statically,
    and with ``interactive`` a dropdown to switch between them."""
    choices = [c for c in choices if isinstance(c, str)]
    if not choices:
        show_md("_{note}_", note="Nothing to drill into.")
        return

    def rows_for(choice: str) -> pd.DataFrame:
        picked = frame[frame[column] == choice]
        if newest_first:
            picked = picked.sort_values(newest_first, ascending=False)
        return picked[list(columns)] if columns else picked

    show_md("Latest lines for **{c}**:", c=choices[0])
    if not interactive:
        show_table(rows_for(choices[0]), max_rows=max_rows)
        return
    import ipywidgets as widgets
    from IPython.display import display

    output = widgets.Output()
    picker = widgets.Dropdown(
        options=[(clean_text(c, 90), c) for c in choices], description=column, layout=widgets.Layout(width="90%")
    )

    def render(change: object = None) -> None:
        output.clear_output(wait=True)
        with output:
            show_table(rows_for(picker.value), max_rows=max_rows)

    picker.observe(render, names="value")
    render()
    display(widgets.VBox([picker, output]))
