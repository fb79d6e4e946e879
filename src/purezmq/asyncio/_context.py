"""asyncio Context: sockets whose connections are served by the application's loop.

The rule for where engines run (documented in the package docstring):
the first tcp/ipc endpoint (bind or connect) made through the context picks
its reactor once and for all --

- if an asyncio loop is running in the calling thread, that loop
  (``_AppLoopReactor``): listeners, engines and reconnect timers run on it,
  with no I/O thread and no thread hop;
- otherwise (endpoints made before ``asyncio.run``, or a shadow of a sync
  Context), the sync Context's background I/O thread.

``term()`` must not block the loop that serves the connections, so on that
loop (or once the loop has stopped) it marks the context terminated, wakes
every socket with ContextTerminated and returns; closes already requested
finish on the loop's next iterations (``asyncio.run`` runs them while it
shuts down).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

from purezmq.asyncio._socket import Socket
from purezmq.runtime.iothread import LoopReactor, Reactor
from purezmq.sugar.context import Context as _SyncContext


class _AppLoopReactor(LoopReactor):
    """The application's loop as the reactor; knows its thread without asking asyncio."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.tid = threading.get_ident()

    def in_loop_thread(self) -> bool:
        return threading.get_ident() == self.tid

    def usable(self) -> bool:
        """Will work handed to the loop run? (it is running, or may run again)"""
        return not self.loop.is_closed()

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.loop.is_closed():
            # The loop is gone with everything on it: do the work (closes) here.
            try:
                fn(*args)
            except Exception:
                pass
            return
        super().call(fn, *args)


class Context(_SyncContext):
    """Context for creating asyncio-compatible Sockets (pyzmq's zmq.asyncio.Context)."""

    _socket_class = Socket
    _instance = None  # not shared with purezmq.Context.instance()

    def __init__(
        self, io_threads: int | _SyncContext = 1, shadow: _SyncContext | int = 0, **kwargs: Any
    ) -> None:
        origin = io_threads if isinstance(io_threads, _SyncContext) else shadow
        super().__init__(io_threads, shadow, **kwargs)
        d = self.__dict__
        if isinstance(origin, _SyncContext):
            # A shadow shares the original's sockets and I/O: ask it for the reactor.
            d["_origin"] = origin
        else:
            d["_origin"] = None
            d["_app_reactor"] = None

    def _reactor(self) -> Reactor:
        origin = self.__dict__["_origin"]
        if origin is not None:
            return origin._reactor()
        r = self.__dict__["_app_reactor"]
        if r is not None:
            return r
        if self._io is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
            if loop is not None:
                with self._lock:
                    r = self.__dict__["_app_reactor"]
                    if r is None and self._io is None:
                        r = self.__dict__["_app_reactor"] = _AppLoopReactor(loop)
                if r is not None:
                    return r
        return super()._reactor()

    def term(self) -> None:
        """Terminate; from the serving loop (or after it stopped) this does not block."""
        origin = self.__dict__["_origin"]
        if origin is not None:
            origin.term()
            self.__dict__["_closed"] = True
            return
        r: _AppLoopReactor | None = self.__dict__["_app_reactor"]
        if r is None or (r.loop.is_running() and not r.in_loop_thread()):
            super().term()  # the loop serves engines meanwhile: waiting is fine
            return
        if self._closed:
            return
        with self._lock:
            self.__dict__["_closed"] = True
            cores = list(self._cores)
            self._cores.clear()
        for core in cores:
            core.context_terminated()
        if self._io is not None:
            self._io.stop()
        if type(self)._instance is self:
            type(self)._instance = None
