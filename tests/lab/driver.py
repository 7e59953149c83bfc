"""Driving a notebook in JupyterLab the way a user does: open it, wait for the kernel, Run ->
Run All Cells, wait until nothing is queued, read errors and the widgets' DOM, screenshot.

Every wait is an explicit condition with a timeout (Playwright's ``wait_for_*``), never a sleep.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Locator, Page

#: Opening JupyterLab cold and starting a kernel on a loaded 2-core box.
OPEN_TIMEOUT_MS = 90_000
#: The heaviest flow (triage on ~290k access-log lines) runs in ~30 s alone; leave room for load.
RUN_TIMEOUT_MS = 240_000
#: A widget redraw (one callback in the kernel, one new image).
REDRAW_TIMEOUT_MS = 30_000

#: True when the current notebook's kernel is idle (the app object galata also uses).
KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.status === 'idle' && k.connectionStatus === 'connected';
}"""

#: True when Run All has finished: the kernel is idle, no prompt shows [*] and either the last
#: code cell has an execution count or a cell stopped the run with an error.
RUN_DONE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  if (!k || k.status !== 'idle') return false;
  const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-CodeCell .jp-InputPrompt')];
  if (!prompts.length || prompts.some(p => p.textContent.includes('*'))) return false;
  const cells = w.content.model.cells;
  let lastCode = null, errored = false;
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    lastCode = c;
    for (let j = 0; j < c.outputs.length; j++) if (c.outputs.get(j).type === 'error') errored = true;
  }
  return errored || (lastCode !== null && lastCode.executionCount !== null);
}"""

#: Every error output in the model (ename: evalue) and every stderr stream, per cell index.
MODEL_ERRORS_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const found = [];
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code') continue;
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      if (o.output_type === 'error') found.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream' && o.name === 'stderr')
        found.push(`cell ${i} stderr: ${[].concat(o.text).join('')}`);
    }
  }
  return found;
}"""


@dataclass
class ViewState:
    """What a ``.rbk-view`` shows at one moment: its images' sources, tables' text, text lines."""

    images: tuple[str, ...]
    tables: tuple[str, ...]
    text: str

    def summary_line(self) -> str:
        """The "N rows, HH:MM–HH:MM" line every redraw carries."""
        match = re.search(r"\d[\d,]* rows?, \d\d:\d\d\s*[–-]\s*\d\d:\d\d", self.text)
        return match.group(0) if match else ""


class LabPage:
    """One notebook open in one browser tab."""

    def __init__(self, page: Page, artifacts: Path) -> None:
        self.page = page
        self.artifacts = artifacts
        artifacts.mkdir(parents=True, exist_ok=True)

    def open(self, url: str) -> None:
        """Load the notebook URL and wait until its kernel is idle."""
        self.page.goto(url, timeout=OPEN_TIMEOUT_MS)
        self.page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=OPEN_TIMEOUT_MS)
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=OPEN_TIMEOUT_MS, polling=250)

    def run_all(self, *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Run -> Run All Cells from the main menu, then wait until the run is over."""
        self.page.locator("#jp-MainMenu .lm-MenuBar-item", has_text=re.compile(r"^Run$")).click()
        self.page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # The first prompt turns [*] (queued) at once; wait for that so "done" is not the old state.
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                     .some(p => /\\[[*\\d]+\\]/.test(p.textContent))""",
            timeout=OPEN_TIMEOUT_MS,
        )
        self.page.wait_for_function(RUN_DONE_JS, timeout=timeout_ms, polling=500)

    def errors(self) -> list[str]:
        """Error and stderr outputs of the notebook, plus every in-place widget error shown."""
        found: list[str] = list(self.page.evaluate(MODEL_ERRORS_JS))
        found += [f"rbk-error: {t}" for t in self.page.locator(".rbk-error").all_inner_texts()]
        return found

    def screenshot(self, name: str, *, target: Locator | None = None) -> Path:
        path = self.artifacts / f"{name}.png"
        if target is None:
            self.page.screenshot(path=str(path))
        else:
            target.scroll_into_view_if_needed()
            target.screenshot(path=str(path))
        return path

    def view_state(self, view: Locator) -> ViewState:
        """Read a ``.rbk-view`` (or any output) element's visible content."""
        return ViewState(
            images=tuple(i.get_attribute("src") or "" for i in view.locator("img").all()),
            tables=tuple(view.locator("table").all_inner_texts()),
            text=view.inner_text(),
        )

    def wait_view_change(self, view: Locator, before: ViewState, *, timeout_ms: int = REDRAW_TIMEOUT_MS) -> ViewState:
        """Wait until *view* shows a settled redraw that differs from *before*."""
        handle = view.element_handle()
        self.page.wait_for_function(
            """([el, images, tables]) => {
                 const imgs = [...el.querySelectorAll('img')].map(i => i.getAttribute('src') || '');
                 const tabs = [...el.querySelectorAll('table')].map(t => t.innerText);
                 if (!imgs.length && !tabs.length) return false;  // cleared, redraw still coming
                 const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
                 return !same(imgs, images) || !same(tabs, tables);
               }""",
            arg=[handle, list(before.images), list(before.tables)],
            timeout=timeout_ms,
        )
        self.page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout_ms, polling=250)
        return self.view_state(view)


def control_cell(page: Page, hook: str) -> Locator:
    """The notebook cell holding the first widget with class *hook*."""
    return page.locator(f".jp-Notebook .jp-Cell:has(.{hook})").first


def view_in(cell: Locator) -> Locator:
    """The ``.rbk-view`` a cell's controls redraw."""
    return cell.locator(".rbk-view").first


def move_window(page: Page, cell: Locator) -> None:
    """Narrow the incident window with the keyboard, as a user does: the upper handle of the
    ``.rbk-window`` range slider to its end, then a page (noUiSlider: 5 steps) back."""
    handle = cell.locator(".rbk-window .noUi-handle-upper, .rbk-window [role=slider]").last
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("End")
    page.keyboard.press("PageDown")
    page.keyboard.press("ArrowLeft")


def pick_other(select: Locator) -> str:
    """Choose the last option of a <select> that is not the current one; return its label."""
    options = select.locator("option").all_inner_texts()
    current = select.evaluate("s => s.options[s.selectedIndex] ? s.options[s.selectedIndex].text : ''")
    others = [o for o in options if o != current]
    assert others, f"only one option to drill into: {options}"
    select.scroll_into_view_if_needed()
    select.select_option(label=others[-1])
    return others[-1]
