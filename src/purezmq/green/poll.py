"""Green Poller and select: wait for sockets and fds in the gevent hub.

One private wake-up fd (``GreenSignal``) is registered with every purezmq
socket polled; each round clears it, checks the sockets' EVENTS, and, if
nothing is ready, waits in ``gevent.select.select`` on it together with the
plain fds. A change after the clear sets the fd again, so none is lost.
"""

from __future__ import annotations

import time
from typing import Any

from gevent import select as gselect

from purezmq import constants as C
from purezmq.green.core import GreenSignal
from purezmq.sugar.poll import Poller as _SyncPoller
from purezmq.sugar.poll import _fileno, _select, _zmq_core, _zmq_ready

__all__ = ["Poller", "select"]

POLLIN, POLLOUT = int(C.POLLIN), int(C.POLLOUT)


def _green_poll(items: list[tuple[Any, int]], deadline: float | None) -> list[tuple[Any, int]]:
    zitems: list[tuple[Any, int, Any]] = []
    rfds: list[int] = []
    wfds: list[int] = []
    for s, f in items:
        core = _zmq_core(s)
        if core is not None:
            zitems.append((s, f, core))
        else:
            fd = _fileno(s)
            if f & POLLIN:
                rfds.append(fd)
            if f & POLLOUT:
                wfds.append(fd)
    sig = GreenSignal()
    for _, _, core in zitems:
        core.add_watcher(sig, blocking=True)
    try:
        while True:
            sig.drain()
            ready = _zmq_ready(zitems)
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if rfds or wfds or not ready:
                r, w, _ = gselect.select([sig.rfd, *rfds], wfds, [], 0 if ready else left)
                for fd in r:
                    if fd != sig.rfd:
                        ready[fd] = ready.get(fd, 0) | POLLIN
                for fd in w:
                    ready[fd] = ready.get(fd, 0) | POLLOUT
            if ready or left == 0:
                break
        order: dict[Any, int] = {}
        for i, (s, _) in enumerate(items):
            order.setdefault(s if hasattr(s, "_core") else _fileno(s), i)
        return sorted(ready.items(), key=lambda kv: order.get(kv[0], 0))
    finally:
        for _, _, core in zitems:
            core.remove_watcher(sig, blocking=True)
        sig.close()


class Poller(_SyncPoller):
    """pyzmq's Poller whose ``poll`` lets other greenlets run while it waits."""

    _poll_items = staticmethod(_green_poll)


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Like ``purezmq.select`` (``timeout`` in seconds), waiting in the gevent hub."""
    return _select(Poller(), rlist, wlist, xlist, timeout)
