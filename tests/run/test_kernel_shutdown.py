"""The runner's kernel manager lets an answered kernel go after a short grace.

The kernel here answers its shutdown request but cannot exit on its own: a non-daemon
thread keeps the interpreter alive, as ipykernel's own shutdown race (a flush waiting on a
stopped IOPub thread) does. jupyter_client would wait 2.5 s before SIGTERM.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest

from runbook_lib.run import kernel
from runbook_lib.run.kernel import ANSWERED_GRACE_S, KERNEL_ARGUMENTS, PromptShutdownKernelManager

LINGER = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()"

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on a fresh loop in its own thread: an earlier test in the session (a
    Playwright sync API, an in-process notebook) may have left a loop running in this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _started_after(code: str) -> PromptShutdownKernelManager:
    """A runner's kernel that has run *code*, its client gone (as papermill leaves it)."""
    km = PromptShutdownKernelManager(kernel_name="python3")
    await km.start_kernel(extra_arguments=KERNEL_ARGUMENTS)
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive(code, timeout=30)
        assert reply["content"]["status"] == "ok"
    finally:
        kc.stop_channels()
    return km


async def _start_run_stop(code: str) -> tuple[PromptShutdownKernelManager, float]:
    km = await _started_after(code)
    started = time.monotonic()
    await km.shutdown_kernel()
    return km, time.monotonic() - started


def test_answered_kernel_that_hangs_on_exit_is_ended_after_the_grace() -> None:
    km, took = _run(_start_run_stop(LINGER))
    assert km.answered_shutdown
    assert not km.has_kernel or not _run(km.is_alive())
    # jupyter_client alone would wait half of its 5 s shutdown_wait_time before SIGTERM.
    assert took < 2.5
    assert took >= ANSWERED_GRACE_S * 0.9


def test_kernel_that_exits_by_itself_is_not_held_for_the_grace() -> None:
    km, took = _run(_start_run_stop("x = 1"))
    assert km.answered_shutdown
    assert took < 2.5


async def _ask_wait_finish(code: str, pause_s: float) -> tuple[PromptShutdownKernelManager, float]:
    km = await _started_after(code)
    await km._async_request_shutdown()  # what the runner's stop_soon does after the last cell
    await asyncio.sleep(pause_s)  # the report is archived meanwhile
    started = time.monotonic()
    await km._async_finish_shutdown()  # the runner's close
    took = time.monotonic() - started
    await km._async_cleanup_resources()
    return km, took


def test_the_grace_runs_from_the_reply_so_a_late_close_ends_the_kernel_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kernel, "ANSWERED_GRACE_S", 1.0)  # long enough to tell the two apart
    km, took = _run(_ask_wait_finish(LINGER, pause_s=1.5))
    assert km.answered_shutdown
    assert not _run(km.is_alive())
    # the grace was spent while the report was archived: no second wait at the close
    assert took < 0.5, took
