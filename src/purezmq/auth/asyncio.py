"""AsyncioAuthenticator: an Authenticator answering ZAP requests in a task on the running loop.

The ZAP socket is a ``purezmq.asyncio`` socket of the authenticator's
Context; ``start`` must be called with the loop running (it creates the
task), ``stop`` cancels the task and closes the socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

from purezmq.auth.base import Authenticator
from purezmq.error import ZMQError

__all__ = ["AsyncioAuthenticator"]


class AsyncioAuthenticator(Authenticator):
    """ZAP authentication as a task of the asyncio event loop."""

    def __init__(
        self, context: Any = None, loop: Any = None, encoding: str = "utf-8", log: Any = None
    ) -> None:
        from purezmq.asyncio import Context

        if context is None:
            context = Context.instance()
        super().__init__(context=context, encoding=encoding, log=log)
        self.loop = loop
        self._task: asyncio.Task[None] | None = None

    def _socket_class(self) -> Any:
        from purezmq.asyncio import Socket

        return Socket

    async def _serve(self) -> None:
        sock = self.zap_socket
        while True:
            try:
                msg = await sock.recv_multipart()
            except ZMQError:  # socket closed or Context terminated
                return
            await self.handle_zap_message(msg)

    def start(self) -> None:
        """Bind the ZAP socket and start answering on the running (or given) loop."""
        loop = self.loop or asyncio.get_running_loop()
        super().start()
        self._task = loop.create_task(self._serve())

    def stop(self) -> None:
        """Stop answering and close the ZAP socket."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        super().stop()
