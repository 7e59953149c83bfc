"""Live panels: re-read a source every few seconds in a background thread, with a Stop button.

Why a thread: the notebook must stay usable while the panel refreshes (the kernel keeps
executing cells); the thread only calls the source and assigns widget values, which
ipywidgets sends to the frontend from any thread. A panel stops when Stop is clicked, when
its cell is run again (a new panel with the same key replaces it), or after ``max_runtime_s``
(a kernel with no frontend, e.g. nbval, never keeps a sampler alive for long). A source that
fails shows its reason in red in the panel (``rbk-error``) and the panel keeps trying.

In batch runs a panel displays only its static table: the latest sample the flow already
read, so batch reports stay as they were and no extra query runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from runbook_lib.collected import Collected
from runbook_lib.notebook.bundles import ErrorSlot, display_bundles, error_text, table_bundle, text_bundle
from runbook_lib.timewindow import utc_now

#: The longest a panel runs unattended (an on-call shift's investigation, not forever).
DEFAULT_MAX_RUNTIME_S = 1800.0
_RUNNING: dict[str, LivePanel] = {}
_LOCK = threading.Lock()


class LivePanel:
    """One live panel: ``fetch()`` returns a :class:`Collected`; its frame is the table."""

    def __init__(
        self,
        key: str,
        fetch: Callable[[], Collected],
        *,
        columns: Sequence[str] = (),
        interval_s: float = 3.0,
        max_runtime_s: float = DEFAULT_MAX_RUNTIME_S,
        title: str = "",
        max_rows: int = 30,
    ) -> None:
        self.key, self.fetch, self.columns = key, fetch, list(columns)
        self.interval_s, self.max_runtime_s, self.title, self.max_rows = interval_s, max_runtime_s, title, max_rows
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None
        self.refreshes = 0
        self.widgets: dict[str, Any] = {}

    def build(self) -> Any:
        """The container (``rbk-live``): status line, Stop button (``rbk-live-stop``), table."""
        import ipywidgets as widgets

        status = widgets.HTML("starting…")
        stop = widgets.Button(description="Stop", icon="stop", button_style="warning")
        stop.add_class("rbk-live-stop")
        table = widgets.Output()
        box = widgets.VBox([widgets.HBox([stop, status]), table])
        box.add_class("rbk-live")
        self.widgets = {"status": status, "stop": stop, "table": table, "box": box, "errors": ErrorSlot(box)}
        stop.on_click(self.widgets["errors"].guard(lambda _button: self.stop()))
        return box

    def refresh(self) -> None:
        """Read the source once and redraw; a broken source shows in place, in red."""
        slot: ErrorSlot = self.widgets["errors"]
        try:
            got = self.fetch()
        except Exception as err:  # noqa: BLE001 - a live panel must outlive its source
            slot.show(error_text(err))
            return
        now = utc_now()
        self.refreshes += 1
        if got.status == "unavailable" or got.error is not None and got.frame.empty:
            slot.show(f"{got.source} {got.status}: {got.reason}")
        else:
            slot.clear()
        frame = got.frame[[c for c in self.columns if c in got.frame.columns]] if self.columns else got.frame
        line = f"{self.title + ': ' if self.title else ''}refreshed {now:%H:%M:%S} UTC, {len(frame)} rows"
        self.widgets["status"].value = f"<b>{line}</b>"
        self.widgets["table"].outputs = (
            text_bundle(line),
            table_bundle(frame, max_rows=self.max_rows, empty="Nothing right now."),
        )

    def start(self) -> None:
        """Start refreshing in a daemon thread (replacing a running panel with the same key)."""
        with _LOCK:
            previous = _RUNNING.get(self.key)
            _RUNNING[self.key] = self
        if previous is not None:
            previous.stop()  # outside the lock: stop() takes it too
        self.thread = threading.Thread(target=self._loop, name=f"rbk-live-{self.key}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        deadline = utc_now() + pd.Timedelta(seconds=self.max_runtime_s)
        while not self.stopped.is_set():
            self.refresh()
            if utc_now() >= deadline:
                self._finish("stopped after the maximum runtime")
                return
            self.stopped.wait(self.interval_s)
        self._finish("stopped")

    def _finish(self, why: str) -> None:
        self.stopped.set()
        status = self.widgets.get("status")
        if status is not None:
            status.value = f"{status.value} — {why}"
            self.widgets["stop"].disabled = True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the thread to stop and wait for it (a refresh in flight finishes first)."""
        self.stopped.set()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(timeout_s)
        with _LOCK:
            if _RUNNING.get(self.key) is self:
                del _RUNNING[self.key]

    def _ipython_display_(self) -> None:
        """Nothing: :func:`live_panel` displayed the panel already."""


def live_panel(
    key: str,
    fetch: Callable[[], Collected],
    *,
    interactive: bool,
    static: pd.DataFrame,
    columns: Sequence[str] = (),
    interval_s: float = 3.0,
    max_runtime_s: float = DEFAULT_MAX_RUNTIME_S,
    title: str = "",
    static_note: str = "",
) -> LivePanel:
    """Display a live panel in JupyterLab; in batch only *static* (what the flow read)."""
    panel = LivePanel(key, fetch, columns=columns, interval_s=interval_s, max_runtime_s=max_runtime_s, title=title)
    if not interactive:
        shown = static[[c for c in columns if c in static.columns]] if columns else static
        display_bundles([text_bundle(static_note or f"{title}: latest sample"), table_bundle(shown, max_rows=30)])
        return panel
    from IPython.display import display

    display(panel.build())
    panel.start()
    return panel


#: What a DBA reads first about a session; pid and application_name are what remediation needs.
ACTIVITY_COLUMNS = [
    "pid",
    "application_name",
    "usename",
    "client_addr",
    "state",
    "wait_event",
    "state_change_at",
    "query",
]
PROCESS_COLUMNS = ["pid", "name", "cpu_percent", "rss_bytes", "num_threads", "username", "cmdline"]


def last_sample(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the newest ``sampled_at`` in a sampled frame."""
    if frame.empty or "sampled_at" not in frame.columns:
        return frame
    newest: pd.DataFrame = frame[frame["sampled_at"] == frame["sampled_at"].max()]
    return newest.reset_index(drop=True)


def client_sessions(frame: pd.DataFrame) -> pd.DataFrame:
    """The client backends of the latest sample in an activity frame."""
    if frame.empty:
        return frame
    latest = last_sample(frame)
    return latest[latest["backend_type"].fillna("client backend") == "client backend"].reset_index(drop=True)


def activity_fetcher(pg_service: str, pg_dsn_env: str, *, timeout_s: float = 5.0) -> Callable[[], Collected]:
    """One ``pg_stat_activity`` sample of the client sessions per call (read-only session),
    appended to ``pg_activity_live.jsonl`` in the run folder."""
    from runbook_lib.paths import run_dir
    from runbook_lib.sources.pg import collect_activity

    recording = run_dir("db_connections") / "pg_activity_live.jsonl"

    def fetch() -> Collected:
        got = collect_activity(pg_service, pg_dsn_env, duration_s=0, timeout_s=timeout_s, record_to=recording)
        got.frame = client_sessions(got.frame)
        return got

    return fetch


def live_activity(
    pg_service: str,
    pg_dsn_env: str,
    *,
    interactive: bool,
    static: pd.DataFrame,
    interval_s: float = 3.0,
    timeout_s: float = 5.0,
    max_runtime_s: float = DEFAULT_MAX_RUNTIME_S,
) -> LivePanel:
    """``pg_stat_activity`` every *interval_s* (read-only session, each sample recorded in
    the run folder's ``pg_activity_live.jsonl``); in batch the latest sample in *static*."""
    return live_panel(
        "pg_activity",
        activity_fetcher(pg_service, pg_dsn_env, timeout_s=timeout_s),
        interactive=interactive,
        static=client_sessions(static),
        columns=ACTIVITY_COLUMNS,
        interval_s=interval_s,
        max_runtime_s=max_runtime_s,
        title="pg_stat_activity",
        static_note="pg_stat_activity: client sessions in the latest sample",
    )


def live_processes(
    *,
    interactive: bool,
    static: pd.DataFrame,
    by: str = "cpu",
    top_n: int = 10,
    target: str = "",
    interval_s: float = 3.0,
    max_runtime_s: float = DEFAULT_MAX_RUNTIME_S,
) -> LivePanel:
    """The *top_n* processes by ``cpu`` or ``rss`` every *interval_s* (only *target*'s, as
    the flow's sampling, when one is given); in batch *static*."""
    from runbook_lib.sources.host import collect_top_processes

    return live_panel(
        f"host_{by}",
        lambda: collect_top_processes(top_n, by=by, target=target),
        interactive=interactive,
        static=last_sample(static),
        columns=PROCESS_COLUMNS,
        interval_s=interval_s,
        max_runtime_s=max_runtime_s,
        title=f"top processes by {by}" + (f" matching {target!r}" if target else ""),
        static_note=f"top processes by {by}: the last sample of this run",
    )
