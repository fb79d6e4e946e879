"""Poller and select: wait on several sockets and plain file descriptors.

purezmq sockets signal readiness through watchers; a poll registers one
waiter with every socket it watches, checks readiness, then sleeps until a
socket wakes it or the timeout passes. Raw file descriptors (anything with
``fileno()``) are waited on with ``selectors`` next to a wake-up socketpair.
"""

from __future__ import annotations

import selectors
import threading
import time
from typing import Any

from purezmq import constants as C
from purezmq.core.socketbase import Signal
from purezmq.error import ZMQError
from purezmq.sugar.socket import Socket

POLLIN, POLLOUT, POLLERR = C.POLLIN, C.POLLOUT, C.POLLERR


class _ThreadWaiter:
    """Wake-up for polls of purezmq sockets only."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def wake(self) -> None:
        self.event.set()

    def wait(self, timeout: float | None) -> None:
        self.event.wait(timeout)
        self.event.clear()


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else obj.fileno()


class Poller:
    """Poll sockets and fds for POLLIN/POLLOUT, like ``zmq_poll``."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        """Watch ``socket`` (a purezmq Socket, an fd, or an object with fileno())."""
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
        elif socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for s, i in self._map.items():
            if i > idx:
                self._map[s] = i - 1

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` ms (None or negative: forever); return [(socket, events)]."""
        if timeout is None or timeout < 0:
            deadline = None
        else:
            deadline = time.monotonic() + timeout / 1000.0
        return self._poll_items(self.sockets, deadline)

    @staticmethod
    def _poll_items(items: list[tuple[Any, int]], deadline: float | None) -> list[tuple[Any, int]]:
        return _poll(items, deadline)  # green.Poller's waits in the gevent hub


def _zmq_core(s: Any) -> Any:
    core = getattr(s, "_core", None)
    if core is not None and core.closed:
        raise ZMQError(C.ENOTSOCK, "cannot poll a closed socket")
    return core


def _zmq_ready(zitems: list[tuple[Any, int, Any]]) -> dict[Any, int]:
    """The events each purezmq socket of ``zitems`` has now, among those asked for."""
    ready: dict[Any, int] = {}
    for s, f, core in zitems:
        ev = core.events()
        if core.rparts:
            ev |= POLLIN
        ev &= f
        if ev:
            ready[s] = ev
    return ready


def _poll(items: list[tuple[Any, int]], deadline: float | None) -> list[tuple[Any, int]]:
    zitems = [
        (s, f, _zmq_core(s)) for s, f in items if isinstance(s, Socket) or hasattr(s, "_core")
    ]
    fitems = [(s, f) for s, f in items if not (isinstance(s, Socket) or hasattr(s, "_core"))]
    waiter: Any = Signal() if fitems else _ThreadWaiter()
    sel = None
    for _, _, core in zitems:
        core.add_watcher(waiter)
    try:
        if fitems:
            sel = selectors.DefaultSelector()
            sel.register(waiter.rfd, selectors.EVENT_READ)
            for s, f in fitems:
                mask = (selectors.EVENT_READ if f & POLLIN else 0) | (
                    selectors.EVENT_WRITE if f & POLLOUT else 0
                )
                if mask:
                    fd = _fileno(s)
                    # pyzmq (zmq_poll) reports a non-zmq item by its integer fd.
                    sel.register(fd, mask, fd)
        while True:
            ready = _zmq_ready(zitems)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if sel is not None:
                for key, mask in sel.select(0 if ready else left):
                    if key.fileobj == waiter.rfd:
                        waiter.drain()
                        continue
                    ev = (POLLIN if mask & selectors.EVENT_READ else 0) | (
                        POLLOUT if mask & selectors.EVENT_WRITE else 0
                    )
                    ready[key.data] = ready.get(key.data, 0) | ev
                if ready or left == 0:
                    break
            else:
                if ready or left == 0:
                    break
                waiter.wait(left)
        order = {
            (s if core else _fileno(s)): i
            for i, (s, _, core) in enumerate((s, f, getattr(s, "_core", None)) for s, f in items)
        }
        return sorted(ready.items(), key=lambda kv: order.get(kv[0], 0))
    finally:
        for _, _, core in zitems:
            core.remove_watcher(waiter)
        if sel is not None:
            sel.close()
        if isinstance(waiter, Signal):
            waiter.close()


def zmq_poll(sockets: list[tuple[Any, int]], timeout: float | None = -1) -> list[tuple[Any, int]]:
    """pyzmq's backend ``zmq_poll``: poll ``[(socket, flags), ...]`` for ``timeout`` ms."""
    p = Poller()
    for s, flags in sockets:
        p.register(s, flags)
    return p.poll(timeout)


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Like ``select.select`` but for purezmq sockets too; ``timeout`` in seconds."""
    return _select(Poller(), rlist, wlist, xlist, timeout)


def _select(
    p: Poller, rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None
) -> tuple[list[Any], list[Any], list[Any]]:
    """``select`` with the (empty) Poller ``p``: the sync one or green.Poller."""
    if timeout is None:
        timeout = -1
    ms = int(timeout * 1000.0) if timeout >= 0 else -1
    for s in set(rlist) | set(wlist) | set(xlist):
        flags = (
            (POLLIN if s in rlist else 0)
            | (POLLOUT if s in wlist else 0)
            | (POLLERR if s in xlist else 0)
        )
        p.register(s, flags)
    # As pyzmq: results come from poll, so non-zmq items are integer fds.
    rl, wl, xl = [], [], []
    for s, ev in p.poll(ms):
        if ev & POLLIN:
            rl.append(s)
        if ev & POLLOUT:
            wl.append(s)
        if ev & POLLERR:
            xl.append(s)
    return rl, wl, xl
