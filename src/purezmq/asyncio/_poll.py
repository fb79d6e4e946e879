"""asyncio Poller: ``await poller.poll(timeout)`` over purezmq sockets and raw fds.

A poll registers one ``_LoopWaker`` with every purezmq socket it watches
(sync or async: both expose a core socket) and ``add_reader``/``add_writer``
for raw file descriptors, then re-checks readiness with a zero-timeout sync
poll whenever something wakes it. The Future resolves with the same list of
``(socket, events)`` the sync Poller returns; the timeout resolves it with
``[]``; cancelling it unregisters everything.
"""

from __future__ import annotations

import asyncio
from typing import Any

from purezmq import constants as C
from purezmq.asyncio._waiting import _LoopWaker, _running_loop
from purezmq.sugar.poll import Poller as _SyncPoller


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.fileno()


class Poller(_SyncPoller):
    """Poller whose ``poll()`` returns an asyncio Future (pyzmq's zmq.asyncio.Poller)."""

    def poll(self, timeout: float | None = -1) -> asyncio.Future[list[tuple[Any, int]]]:  # type: ignore[override]
        """A Future of ``[(socket, events)]`` ready within ``timeout`` ms (None/negative: forever)."""
        loop = _running_loop()
        fut: asyncio.Future[list[tuple[Any, int]]] = loop.create_future()
        if timeout == 0:
            try:
                fut.set_result(super().poll(0))
            except Exception as e:
                fut.set_exception(e)
            return fut

        def check(_eager: bool = False) -> None:
            if fut.done():
                return
            try:
                ready = _SyncPoller.poll(self, 0)
            except Exception as e:
                fut.set_exception(e)
                return
            if ready:
                fut.set_result(ready)

        waker = _LoopWaker(loop, check)
        cores = []
        readers: list[int] = []
        writers: list[int] = []
        try:
            for s, flags in self.sockets:
                core = getattr(s, "_core", None)
                if core is not None:
                    core.add_watcher(waker)
                    cores.append(core)
                    continue
                fd = _fileno(s)
                if flags & C.POLLIN:
                    loop.add_reader(fd, waker.wake)
                    readers.append(fd)
                if flags & C.POLLOUT:
                    loop.add_writer(fd, waker.wake)
                    writers.append(fd)
        except Exception as e:
            fut.set_exception(e)
        timer = None
        if timeout is not None and timeout > 0 and not fut.done():

            def time_out() -> None:
                if not fut.done():
                    fut.set_result([])

            timer = loop.call_later(timeout / 1000.0, time_out)

        def cleanup(_: Any) -> None:
            if timer is not None:
                timer.cancel()
            for core in cores:
                core.remove_watcher(waker)
            if not loop.is_closed():
                for fd in readers:
                    loop.remove_reader(fd)
                for fd in writers:
                    loop.remove_writer(fd)

        fut.add_done_callback(cleanup)
        check()  # look again now that every waker is registered
        return fut
