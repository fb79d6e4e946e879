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
from purezmq.error import ZMQError
from purezmq.green.core import GreenSignal
from purezmq.sugar.poll import Poller as _SyncPoller

__all__ = ["Poller", "select"]

POLLIN, POLLOUT, POLLERR = int(C.POLLIN), int(C.POLLOUT), int(C.POLLERR)


def _fileno(obj: Any) -> int:
    return obj if isinstance(obj, int) else int(obj.fileno())


class Poller(_SyncPoller):
    """pyzmq's Poller whose ``poll`` lets other greenlets run while it waits."""

    def poll(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        """Wait up to ``timeout`` ms (None or negative: forever); return [(socket, events)]."""
        if timeout is None or timeout < 0:
            deadline = None
        else:
            deadline = time.monotonic() + timeout / 1000.0
        return _green_poll(self.sockets, deadline)


def _green_poll(items: list[tuple[Any, int]], deadline: float | None) -> list[tuple[Any, int]]:
    zitems: list[tuple[Any, int, Any]] = []
    rfds: list[int] = []
    wfds: list[int] = []
    for s, f in items:
        core = getattr(s, "_core", None)
        if core is not None:
            if core.closed:
                raise ZMQError(C.ENOTSOCK, "cannot poll a closed socket")
            zitems.append((s, f, core))
        else:
            fd = _fileno(s)
            if f & POLLIN:
                rfds.append(fd)
            if f & POLLOUT:
                wfds.append(fd)
    sig = GreenSignal()
    for _, _, core in zitems:
        core.add_watcher(sig)
    try:
        while True:
            sig.drain()
            ready: dict[Any, int] = {}
            for s, f, core in zitems:
                ev = core.events()
                if core.rparts:
                    ev |= POLLIN
                ev &= f
                if ev:
                    ready[s] = ev
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
            core.remove_watcher(sig)
        sig.close()


def select(
    rlist: list[Any], wlist: list[Any], xlist: list[Any], timeout: float | None = None
) -> tuple[list[Any], list[Any], list[Any]]:
    """Like ``purezmq.select`` (``timeout`` in seconds), waiting in the gevent hub."""
    ms = -1 if timeout is None or timeout < 0 else int(timeout * 1000.0)
    p = Poller()
    for s in set(rlist) | set(wlist) | set(xlist):
        flags = (
            (POLLIN if s in rlist else 0)
            | (POLLOUT if s in wlist else 0)
            | (POLLERR if s in xlist else 0)
        )
        p.register(s, flags)
    rl, wl, xl = [], [], []
    for s, ev in p.poll(ms):
        if ev & POLLIN:
            rl.append(s)
        if ev & POLLOUT:
            wl.append(s)
        if ev & POLLERR:
            xl.append(s)
    return rl, wl, xl
