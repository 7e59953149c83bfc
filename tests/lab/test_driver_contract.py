"""The DOM hooks the flow tests drive, on plain ipywidgets in the real browser: a
SelectionRangeSlider (``rbk-window``) moved with the keyboard and a Dropdown (``rbk-drill``)
both redraw an Output (``rbk-view``) holding an image, a table and the "N rows, HH:MM–HH:MM"
line. If this fails, the helpers are wrong, not a flow."""

from __future__ import annotations

from collections.abc import Callable

import nbformat

from tests.lab.conftest import LabKit
from tests.lab.driver import REDRAW_TIMEOUT_MS, LabPage, control_cell, move_window, pick_other, view_in

SOURCE = """\
import ipywidgets as w, pandas as pd, matplotlib.pyplot as plt
from IPython.display import display
times = list(pd.date_range("2026-01-01 10:00", periods=60, freq="min"))
labels = [(t.strftime("%H:%M"), t) for t in times]
window = w.SelectionRangeSlider(options=labels, index=(0, 59), continuous_update=False)
window.add_class("rbk-window")
drill = w.Dropdown(options=["a", "bb", "ccc"]); drill.add_class("rbk-drill")
view = w.Output(); view.add_class("rbk-view")
def draw(_=None):
    view.clear_output(wait=True)
    lo, hi = window.value
    with view:
        fig, ax = plt.subplots(figsize=(3, 2)); ax.plot([0, (hi - lo).seconds, len(drill.value)]); plt.show()
        display(pd.DataFrame({"pick": [drill.value], "end": [str(hi)]}))
        print(f"{(hi - lo).seconds // 60} rows, {lo:%H:%M}–{hi:%H:%M}")
window.observe(draw, "value"); drill.observe(draw, "value"); draw()
display(w.VBox([window, drill, view]))
"""


def test_keyboard_moves_the_range_slider_and_the_dropdown_redraws(
    lab: Callable[[str], LabPage], lab_kit: LabKit
) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SOURCE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(lab_kit.root / "notebooks" / "hooks_contract.ipynb"))
    page = lab("notebooks/hooks_contract.ipynb")
    page.run_all()
    assert page.errors() == []
    cell = control_cell(page.page, "rbk-window")
    view = view_in(cell)
    before = page.view_state(view)
    assert before.summary_line() == "59 rows, 10:00–10:59" and len(before.images) == 1 and len(before.tables) == 1
    move_window(page.page, cell)
    page.wait_view_change(view, before)
    # End, PageDown (5 steps), ArrowLeft (1 step): the upper handle is 6 minutes earlier.
    # Each key press is a value change and a redraw of its own: wait for the last one.
    page.page.wait_for_function(
        "el => el.innerText.includes('53 rows, 10:00–10:53')", arg=view.element_handle(), timeout=REDRAW_TIMEOUT_MS
    )
    after = page.view_state(view)
    page.screenshot("window-moved", target=cell)
    assert after.summary_line() == "53 rows, 10:00–10:53", after.text
    assert after.images != before.images

    picked = pick_other(cell.locator(".rbk-drill select").first)
    drilled = page.wait_view_change(view, after)
    assert picked == "ccc" and "ccc" in drilled.tables[0] and "ccc" not in after.tables[0]
