"""What a view shows, as plain output bundles, plus the guard every widget callback runs in.

Why bundles and not ``with output:``: an ``Output`` widget only captures ``display()`` on the
kernel's main thread, while live panels redraw from a background thread and tests drive the
views without a kernel. Assigning ``Output.outputs`` a tuple of bundles works in all three,
and in batch runs the same bundles go through ``display(..., raw=True)``: one rendering path,
so an archived report shows exactly what the interactive view showed first.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from runbook_lib.notebook.display import figure_png, safe_table
from runbook_lib.notebook.tables import table_html
from runbook_lib.text import MAX_CELL_CHARS, clean_text

Bundle = dict[str, Any]


def text_bundle(text: str, *, css: str = "") -> Bundle:
    """A short line (escaped), e.g. ``"42 rows, 13:05–14:02"``."""
    line = clean_text(text, 500)
    style = f" class='{css}'" if css else ""
    return _bundle({"text/plain": line, "text/html": f"<p{style}>{html.escape(line)}</p>"})


def figure_bundle(fig: Figure) -> Bundle:
    """A figure as PNG (base64, as Jupyter stores it)."""
    data = base64.b64encode(figure_png(fig)).decode("ascii")
    return _bundle({"image/png": data, "text/plain": "<Figure>"})


def table_bundle(
    frame: pd.DataFrame,
    *,
    max_rows: int = 15,
    empty: str = "(no rows)",
    millis: Sequence[str] = (),
    total: int | None = None,
) -> Bundle:
    """A readable, escaped HTML table with the raw values as text (*millis*, *total*: as in table_html)."""
    if frame.empty:
        return text_bundle(empty)
    raw = safe_table(frame, max_rows=max_rows).to_string(max_colwidth=MAX_CELL_CHARS)
    html = table_html(frame, max_rows=max_rows, millis=millis, total=total)
    return _bundle({"text/html": html, "text/plain": raw})


def _bundle(data: dict[str, str]) -> Bundle:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def display_bundles(bundles: Sequence[Bundle]) -> None:
    """Show *bundles* as plain cell outputs (the static result, kept in archived reports)."""
    from IPython.display import display

    for bundle in bundles:
        display(bundle["data"], raw=True)


def error_text(err: BaseException) -> str:
    """``ErrorType: message`` on one line, cut: what a failed control shows in place."""
    return clean_text(f"{type(err).__name__}: {err}", 400)


def error_widget(message: str) -> Any:
    """The red in-place error (class ``rbk-error``)."""
    import ipywidgets as widgets

    label = widgets.HTML(f"<span style='color:#b2182b;font-weight:bold'>{html.escape(message)}</span>")
    label.add_class("rbk-error")
    return label


class ErrorSlot:
    """Shows an error inside a container, in place, and clears it when the next callback starts.

    Every widget callback runs through :meth:`guard`: a source that went away mid-incident
    turns into red text in that panel; the kernel, the other panels and the notebook go on.
    """

    def __init__(self, box: Any) -> None:
        self.box = box
        self.shown: Any = None
        self.last_error = ""

    def show(self, message: str) -> None:
        self.clear()
        self.last_error = message
        self.shown = error_widget(message)
        self.box.children = (*self.box.children, self.shown)

    def clear(self) -> None:
        if self.shown is not None:
            self.box.children = tuple(c for c in self.box.children if c is not self.shown)
            self.shown = None
        self.last_error = ""

    def guard(self, callback: Callable[..., None]) -> Callable[..., None]:
        """*callback* wrapped: an exception becomes the in-place error, never a traceback."""

        def run(*args: Any) -> None:
            self.clear()
            try:
                callback(*args)
            except Exception as err:  # noqa: BLE001 - a control must never break the notebook
                self.show(error_text(err))

        return run
