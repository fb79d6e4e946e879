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
from purezmq.asyncio import Context as _AsyncioContext
from purezmq.asyncio import Poller as _AsyncioPoller
from purezmq.asyncio import Socket as _AsyncioSocket
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


class Context(_AsyncioContext):
    """Context creating Future-returning sockets for tornado (pyzmq's eventloop.future.Context)."""

    _socket_class = Socket
    _instance = None  # not shared with purezmq.Context / purezmq.asyncio.Context


class Poller(_AsyncioPoller):
    """Poller whose ``poll()`` returns a Future usable in tornado coroutines."""
