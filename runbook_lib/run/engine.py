"""The papermill engine the runner uses: papermill's nbclient engine with fewer, cheaper
saves; the channels to a kernel given to it (:mod:`runbook_lib.run.warm_kernel`) closed,
and that kernel's readiness (``before_cells``) awaited only right before the first cell.

papermill writes the whole output notebook, validated, before and after every cell: 59
writes for a 29-cell flow, 0.6-0.7 s of a 7 s run, spent between cells while the kernel
waits. The point of those writes is that a hung or killed run leaves a notebook that says
how far it got. Writing at most every :data:`SAVE_EVERY_S` keeps that (a cell that runs
long is on disk as "running" within that time), and the notebook is always written at
the start and at the end, whatever happened. The writes skip nbformat's validation: the
notebook papermill holds was validated when read, and the runner writes it once more,
validated, when it redacts the archived copy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import nbformat
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from papermill.iorw import papermill_io

__all__ = ["ENGINE_NAME", "SAVE_EVERY_S", "RunbookEngine", "ThrottledSaveManager"]

ENGINE_NAME = "runbook"
SAVE_EVERY_S = 1.0


class ThrottledSaveManager(NotebookExecutionManager):  # type: ignore[misc]  # untyped
    """Saves at the start and the end, and between cells at most every SAVE_EVERY_S."""

    _last_write = float("-inf")
    writes = 0
    #: Called once before the first cell runs: the warm kernel's wait for its run folder.
    before_cells: Callable[[], None] | None = None

    def _write(self) -> None:
        if self.output_path:
            papermill_io.write(nbformat.v4.writes(self.nb), self.output_path)
            self.writes += 1
        self._last_write = time.monotonic()
        self.last_save_time = self.now()

    def save(self, **kwargs: Any) -> None:
        if time.monotonic() - self._last_write >= SAVE_EVERY_S:
            self._write()

    def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
        if self.before_cells is not None:
            ready, self.before_cells = self.before_cells, None
            ready()
        super().cell_start(cell, cell_index, **kwargs)

    def notebook_start(self, **kwargs: Any) -> None:
        self._last_write = time.monotonic()  # papermill's own save in there: skip it
        super().notebook_start(**kwargs)
        self._write()

    def notebook_complete(self, **kwargs: Any) -> None:
        self._last_write = time.monotonic()
        super().notebook_complete(**kwargs)
        self._write()


class RunbookEngine(NBClientEngine):  # type: ignore[misc]  # untyped
    """nbclient's engine with :class:`ThrottledSaveManager`."""

    @classmethod
    def execute_notebook(
        cls,
        nb: Any,
        kernel_name: str,
        output_path: str | None = None,
        progress_bar: bool = True,
        log_output: bool = False,
        autosave_cell_every: int = 30,
        **kwargs: Any,
    ) -> Any:
        nb_man = ThrottledSaveManager(
            nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output, autosave_cell_every=0
        )
        nb_man.before_cells = kwargs.pop("before_cells", None)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        kwargs.pop("input_path", None)
        kwargs.pop("timeout", None)
        kwargs.pop("startup_timeout", None)
        client = PapermillNotebookClient(
            nb_man,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logging.getLogger("papermill"),
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        try:
            return client.execute()
        except DeadKernelError:
            raise
        except RuntimeError as err:  # nbclient: "Kernel died before replying to kernel_info"
            # a client that could not start gives its kernel up (km None); else ask the kernel
            if client.km is None or not run_sync(client.km.is_alive)():
                raise DeadKernelError(str(err)) from err
            raise
        finally:
            # nbclient ends a kernel it started itself; one given to it (``km``) is left to
            # its owner, but the client's channels (a heartbeat thread among them) are ours.
            if not client.owns_km and client.kc is not None:
                client.kc.stop_channels()


papermill_engines.register(ENGINE_NAME, RunbookEngine)
