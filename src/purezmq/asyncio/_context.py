"""asyncio Context: pyzmq's zmq.asyncio.Context over the sync Context's machinery.

Connections are served by the Context's background I/O thread, as for a sync
Context (DESIGN.md, layer 4): accepting, handshakes, heartbeats, reconnects,
load-balancing over every peer and draining go on while the application's
loop is busy or blocked. The loop itself reads and writes a connection only
while it actively waits for a reply on it (see ``_waiting.py``).

``term()`` called on a running loop must not wait for sockets that only
coroutines of that same loop can close (that would deadlock): there it marks
the context terminated, wakes every socket with ContextTerminated, waits for
the sockets already closed to finish lingering (the I/O thread flushes them,
so this needs no loop iteration), and leaves the I/O thread to stop once the
last open socket is closed. Elsewhere it blocks as the sync ``term()`` does.
"""

from __future__ import annotations

import asyncio
from typing import Any

from purezmq.asyncio._socket import Socket
from purezmq.sugar.context import Context as _SyncContext


class Context(_SyncContext[Socket]):
    """Context for creating asyncio-compatible Sockets (pyzmq's zmq.asyncio.Context)."""

    _socket_class = Socket
    _instance = None  # not shared with purezmq.Context.instance()

    def __init__(
        self, io_threads: int | _SyncContext = 1, shadow: _SyncContext | int = 0, **kwargs: Any
    ) -> None:
        super().__init__(io_threads, shadow, **kwargs)  # type: ignore[call-overload]
        # A shadow (of a Context or of its ``underlying``) shares the original's
        # sockets and I/O thread.
        self.__dict__["_origin"] = self.__dict__["_shadow_ctx"]

    def term(self) -> None:
        """Terminate; on a running loop this does not wait for sockets still open."""
        origin = self.__dict__["_origin"]
        if origin is not None:
            origin.term()
            self.__dict__["_closed"] = True
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            super().term()
            return
        self._term(wait_open=False)
