"""The kernel manager the runner gives papermill: a kernel that has answered its shutdown
request is let go after a short grace instead of jupyter_client's 2.5 s.

ipykernel (6.x and 7.x alike) has a race at shutdown: the control thread answers the
request, then flushes stdout/stderr through the IOPub thread, which the main thread may
already have stopped on its way out. The flush then waits out its 10 s timeout, the main
thread waits to join the control thread, and jupyter_client sends SIGTERM only after half
of its 5 s ``shutdown_wait_time``. One run in three or four took 2.5 s longer than it should.

A kernel that has sent ``shutdown_reply`` has run every cell and published every output
(papermill asks only after the last cell), so ending it after :data:`ANSWERED_GRACE_S`
loses nothing. The grace is short on purpose: what is left of such a kernel is its
interpreter's teardown (freeing the flow's frames and modules: 0.6-0.7 s measured on a
2-core machine after a db_connections run), which the user would wait for and gain nothing.
A kernel that does not answer (a cell still running, an interrupted run) gets
jupyter_client's whole sequence unchanged: interrupt, request, wait, SIGTERM, SIGKILL.
"""

from __future__ import annotations

import time

import zmq
from jupyter_client.manager import AsyncKernelManager

__all__ = ["ANSWERED_GRACE_S", "KERNEL_ARGUMENTS", "PromptShutdownKernelManager"]

ANSWERED_GRACE_S = 0.1  # an answered kernel exits on its own in 0.2-0.7 s: not worth waiting for
#: ipykernel warns on stderr about loopback TCP on every start; it would bury the one line
#: the CLI prints about the outcome. No IPython history: a run's cells (and the parameters
#: papermill injects) do not belong in the user's history.sqlite, and its database and
#: saving thread cost each run's kernel.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=ERROR", "--HistoryManager.enabled=False"]
_REPLY_WAIT_MS = 1000
_AFTER_SIGTERM_S = 0.02  # the least wait before each signal once the grace has run out


class PromptShutdownKernelManager(AsyncKernelManager):
    """:class:`AsyncKernelManager` that shortens the wait once the kernel has answered."""

    answered_shutdown = False  # the last shutdown request got its reply
    _answered_at = 0.0  # when (time.monotonic): the grace runs from there, not from the wait

    async def _async_request_shutdown(self, restart: bool = False) -> None:
        await super()._async_request_shutdown(restart=restart)
        self.answered_shutdown = await self._shutdown_reply_arrived()
        self._answered_at = time.monotonic()

    async def _shutdown_reply_arrived(self) -> bool:
        socket = self._control_socket
        if socket is None:
            return False
        try:
            if not await socket.poll(_REPLY_WAIT_MS, zmq.POLLIN):
                return False
            frames = await socket.recv_multipart(zmq.NOBLOCK)
            _idents, parts = self.session.feed_identities(frames)
            reply = self.session.deserialize(parts, content=False)
        except (zmq.ZMQError, ValueError, KeyError, TypeError):
            return False
        return bool(reply.get("msg_type") == "shutdown_reply")

    async def _async_finish_shutdown(
        self, waittime: float | None = None, pollinterval: float = 0.1, restart: bool = False
    ) -> None:
        if self.answered_shutdown and waittime is None:
            # jupyter_client waits half of *waittime* before SIGTERM and half before SIGKILL.
            # A kernel asked before the report was archived has had (some of) its grace.
            left = ANSWERED_GRACE_S - (time.monotonic() - self._answered_at)
            waittime = 2 * max(left, _AFTER_SIGTERM_S)
        await super()._async_finish_shutdown(waittime=waittime, pollinterval=pollinterval, restart=restart)
