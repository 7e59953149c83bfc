"""A flow's kernel started first, so it boots while the CLI imports and prepares the run.

A kernel takes 0.6-1.2 s from spawn to its first reply (ipykernel, IPython and zmq
imports), and a flow's import cell 0.6-0.8 s more; the CLI spends about 1 s before
papermill would spawn it (the runner's imports, the parameters, the run folder). With two
cores these happen at once: ``runbook run`` spawns the kernel before anything else, the
kernel imports what the flow imports (:mod:`runbook_lib.run.preload`) as soon as it is
up, and papermill is given the kernel and skips its own start. The run folder does not
exist yet when the kernel starts (bad parameters must fail before a folder is made), so
the kernel is told it by a silent execute once it does; the runner waits for that only
right before the first cell, while papermill sets up in the meantime.
"""

from __future__ import annotations

import json
import os
import queue
import time
from pathlib import Path
from types import TracebackType

from runbook_lib.paths import HOME_ENV, RUN_DIR_ENV, project_root

__all__ = ["WarmKernel", "kernel_env"]

READY_TIMEOUT_S = 60.0  # papermill's own start_timeout
_POLL_S = 0.25  # how often a silent kernel is checked for being alive


def kernel_env() -> dict[str, str]:
    """What every flow kernel has in its environment besides the run folder."""
    return {HOME_ENV: str(project_root()), "MPLBACKEND": "Agg"}


class WarmKernel:
    """A started kernel waiting for its run; a context manager that always ends it.

    *preload*: the flow's notebook, whose imports the kernel runs as soon as it is up
    (:mod:`runbook_lib.run.preload`), so the flow's import cell finds them loaded.
    """

    def __init__(self, cwd: Path | None = None, preload: Path | None = None) -> None:
        from jupyter_client.blocking.client import BlockingKernelClient
        from jupyter_core.utils import run_sync

        from runbook_lib.run.kernel import KERNEL_ARGUMENTS, PromptShutdownKernelManager

        self.cwd = Path(cwd or project_root())
        self.km = PromptShutdownKernelManager(kernel_name="python3")
        env = {**os.environ, **kernel_env()}
        env.pop(RUN_DIR_ENV, None)
        run_sync(self.km.start_kernel)(extra_arguments=KERNEL_ARGUMENTS, cwd=str(self.cwd), env=env)
        # One client on the shell channel alone: its requests are answered in the order sent.
        self._kc = BlockingKernelClient()
        self._kc.load_connection_info(self.km.get_connection_info())
        self._kc.start_channels(iopub=False, stdin=False, hb=False, control=False)
        self._assigned: str | None = None  # msg_id of the run-folder execute, until answered
        if preload is not None and preload.is_file():  # else the runner names the unknown flow
            from runbook_lib.run.preload import preload_code

            self._kc.execute(preload_code(preload), silent=True, store_history=False)

    def assign(self, run_dir: Path) -> None:
        """Set ``RUNBOOK_RUN_DIR`` in the kernel (no output, no history), without waiting:
        it is queued behind the preload; :meth:`wait_assigned` waits for it."""
        code = f"import os as _o; _o.environ[{RUN_DIR_ENV!r}] = {json.dumps(str(run_dir))}; del _o"
        self._assigned = self._kc.execute(code, silent=True, store_history=False)

    def wait_assigned(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait until the kernel has taken its run folder (and so finished its preload).
        Raises DeadKernelError (the runner's "the kernel died") if it does not answer."""
        from jupyter_core.utils import run_sync
        from nbclient.exceptions import DeadKernelError

        if self._assigned is None:
            return
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                reply = self._kc.get_shell_msg(timeout=_POLL_S)
            except queue.Empty:
                if not run_sync(self.km.is_alive)():
                    raise DeadKernelError("it exited before the run") from None
                if time.monotonic() > deadline:
                    raise DeadKernelError(f"it did not answer in {timeout_s:g} s before the run") from None
                continue
            if reply.get("parent_header", {}).get("msg_id") != self._assigned:
                continue  # the preload's reply: its failures show in the flow's own cells
            self._assigned = None
            if reply["content"].get("status") != "ok":
                raise DeadKernelError(f"it did not take its run folder: {reply['content'].get('evalue')}")
            return

    def stop_soon(self) -> None:
        """Ask a kernel that has run every cell to exit, without waiting for it: it exits
        while the report is archived, and :meth:`close` ends what is left of it."""
        from jupyter_core.utils import run_sync

        if self.km.has_kernel:
            run_sync(self.km._async_request_shutdown)()

    def close(self) -> None:
        """End the kernel: wait briefly for one that was asked and answered, kill any other
        (one that never ran, or a run that failed, timed out or was interrupted)."""
        from jupyter_core.utils import run_sync

        self._kc.stop_channels()
        if self.km.has_kernel:
            if self.km.answered_shutdown:
                run_sync(self.km._async_finish_shutdown)()
            else:
                run_sync(self.km._async_kill_kernel)()
        run_sync(self.km._async_cleanup_resources)()

    def __enter__(self) -> WarmKernel:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
