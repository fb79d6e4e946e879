"""Future-returning sockets for tornado coroutines (pyzmq's ``zmq.eventloop.future``).

Tornado 6 runs on asyncio and ``tornado.concurrent.Future`` *is*
``asyncio.Future``, so these classes are purezmq.asyncio's under pyzmq's
tornado names: ``yield sock.recv_multipart()`` in a ``gen.coroutine`` and
``await`` in an ``async def`` both work, with the same waiting machinery and
cancellation (see ``purezmq.asyncio``); the connections are served by the
Context's I/O thread. ``io_loop=`` is accepted for pyzmq compatibility; a
call's Future belongs to the loop running when the call is made.
"""

from __future__ import annotations

import asyncio
from typing import Any

import purezmq.eventloop  # noqa: F401  (the "pip install purezmq[tornado]" check)
from purezmq import constants as C
from purezmq.asyncio import Context as _AsyncioContext
from purezmq.asyncio import Poller as _AsyncioPoller
from purezmq.asyncio import Socket as _AsyncioSocket
from purezmq.error import ZMQError
from purezmq.sugar.socket import Socket as _SyncSocket

__all__ = ["CancelledError", "Context", "Socket", "Poller"]

# What awaiting a cancelled Future raises. pyzmq defines its own exception
# here (its tornado Futures emulate cancellation); purezmq's Futures are
# asyncio's and really cancel, so the name is asyncio's.
CancelledError = asyncio.CancelledError


class Socket(_AsyncioSocket):
    """Socket whose send/recv/poll methods return Futures usable in tornado coroutines."""

    def __init__(
        self,
        context: Any = None,
        socket_type: int = -1,
        io_loop: Any = None,
        _from_socket: _SyncSocket | None = None,
        **kwargs: Any,
    ) -> None:
        if context is None and _from_socket is None:
            context = Context.instance()
        super().__init__(context, socket_type, io_loop, _from_socket, **kwargs)

    def _get_loop(self) -> Any:
        """The current tornado IOLoop, with this socket registered on it (pyzmq's private
        ``_AsyncSocket._get_loop``, which its Future sockets call on every operation).

        pyzmq's sockets are handlers of the IOLoop they run on, so that
        ``IOLoop.close(all_fds=True)`` closes them, and tornado code relies on that.
        purezmq's Futures do not need the registration (the socket's waker drives
        them, as in purezmq.asyncio), so the handler only reads EVENTS: that leaves
        the FD unreadable until EVENTS may have changed again (edge-triggered, as
        libzmq's), so it never spins the loop. It does make the socket's input go
        through the I/O thread (as any FD user does), which is why purezmq's own
        calls never register.
        """
        from tornado.ioloop import IOLoop

        loop = IOLoop.current()
        if self.__dict__.get("_tornado_loop") is not loop:
            self._forget_loop()
            loop.add_handler(self, self._on_fd, IOLoop.READ)
            self.__dict__["_tornado_loop"] = loop
        return loop

    def _on_fd(self, fd: Any, events: int) -> None:
        """The IOLoop's handler: read EVENTS, which drains the FD (see ``_get_loop``)."""
        if not self.closed:
            try:
                self.get(C.EVENTS)
            except ZMQError:  # the Context is gone: close() will unregister
                pass

    def _forget_loop(self) -> None:
        """Unregister from the IOLoop ``_get_loop`` registered with, if any."""
        loop = self.__dict__.pop("_tornado_loop", None)
        if loop is not None and not self.closed:
            loop.remove_handler(self)  # a no-op once the loop closed or dropped it

    def close(self, linger: int | None = None) -> None:
        self._forget_loop()
        super().close(linger)


class Context(_AsyncioContext):
    """Context creating Future-returning sockets for tornado (pyzmq's eventloop.future.Context)."""

    _socket_class = Socket
    _instance = None  # not shared with purezmq.Context / purezmq.asyncio.Context


class Poller(_AsyncioPoller):
    """Poller whose ``poll()`` returns a Future usable in tornado coroutines."""
