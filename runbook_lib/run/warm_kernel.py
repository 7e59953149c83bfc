"""A flow's kernel started first, so it boots while the CLI imports and prepares the run.

A kernel takes 1.2-1.5 s from spawn to its first reply (ipykernel, IPython and zmq
imports); the CLI spends about 1 s before papermill would spawn it (the runner's imports,
the parameters, the run folder). With two cores both happen at once: ``runbook run``
spawns the kernel before anything else and gives it to papermill, which skips its own
start. The run folder does not exist yet when the kernel starts (bad parameters must fail
before a folder is made), so the kernel is told it by a silent execute once it does.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import TracebackType

from runbook_lib.paths import HOME_ENV, RUN_DIR_ENV, project_root

__all__ = ["WarmKernel", "kernel_env"]

READY_TIMEOUT_S = 60.0  # papermill's own start_timeout


def kernel_env() -> dict[str, str]:
    """What every flow kernel has in its environment besides the run folder."""
    return {HOME_ENV: str(project_root()), "MPLBACKEND": "Agg"}


class WarmKernel:
    """A started kernel waiting for its run; a context manager that always ends it."""

    def __init__(self, cwd: Path | None = None) -> None:
        from jupyter_core.utils import run_sync

        from runbook_lib.run.kernel import KERNEL_ARGUMENTS, PromptShutdownKernelManager

        self.cwd = Path(cwd or project_root())
        self.km = PromptShutdownKernelManager(kernel_name="python3")
        env = {**os.environ, **kernel_env()}
        env.pop(RUN_DIR_ENV, None)
        run_sync(self.km.start_kernel)(extra_arguments=KERNEL_ARGUMENTS, cwd=str(self.cwd), env=env)

    def assign(self, run_dir: Path, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait for the kernel and set ``RUNBOOK_RUN_DIR`` in it (no output, no history).
        Raises DeadKernelError (the runner's "the kernel died") if it does not answer."""
        from jupyter_client.blocking.client import BlockingKernelClient
        from nbclient.exceptions import DeadKernelError

        kc = BlockingKernelClient()
        kc.load_connection_info(self.km.get_connection_info())
        kc.start_channels()
        code = f"import os as _o; _o.environ[{RUN_DIR_ENV!r}] = {json.dumps(str(run_dir))}; del _o"
        try:
            kc.wait_for_ready(timeout=timeout_s)
            reply = kc.execute_interactive(code, silent=True, store_history=False, timeout=timeout_s)
        except (RuntimeError, TimeoutError) as err:
            raise DeadKernelError(f"it did not answer before the run: {err}") from err
        finally:
            kc.stop_channels()
        if reply["content"].get("status") != "ok":
            raise DeadKernelError(f"it did not take its run folder: {reply['content'].get('evalue')}")

    def stop_soon(self) -> None:
        """Ask a kernel that has run every cell to exit, without waiting for it: it exits
        (0.2-0.4 s) while the report is archived, and :meth:`close` finds it gone."""
        from jupyter_core.utils import run_sync

        if self.km.has_kernel:
            run_sync(self.km._async_request_shutdown)()

    def close(self) -> None:
        """End the kernel: wait briefly for one that was asked and answered, kill any other
        (one that never ran, or a run that failed, timed out or was interrupted)."""
        from jupyter_core.utils import run_sync

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
