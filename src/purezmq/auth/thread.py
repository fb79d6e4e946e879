"""ThreadAuthenticator: an Authenticator answering ZAP requests in a background thread.

The thread owns the ZAP socket (bound before ``start`` returns, so servers
created afterwards find it) and an inproc PAIR pipe on which ``stop`` sends
TERMINATE. Configuration (``allow``, ``configure_plain``...) may be called
from any thread at any time: it replaces plain attributes the thread reads
per request. Async CURVE credential callbacks run on the thread's own loop.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any

from purezmq import constants as C
from purezmq.auth.base import Authenticator
from purezmq.error import ZMQError
from purezmq.sugar.poll import Poller
from purezmq.sugar.socket import Socket

__all__ = ["AuthenticationThread", "ThreadAuthenticator"]

_pipe_ids = itertools.count()


class AuthenticationThread(threading.Thread):
    """The thread behind a ThreadAuthenticator: polls its pipe and the ZAP socket."""

    def __init__(self, authenticator: Authenticator, pipe: Socket) -> None:
        super().__init__(name="purezmq-auth", daemon=True)
        self.authenticator = authenticator
        self.pipe = pipe
        self.started = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        auth = self.authenticator
        try:
            Authenticator.start(auth)  # bind the ZAP socket in the thread that uses it
        except BaseException as e:  # reported by ThreadAuthenticator.start
            self.error = e
            self.started.set()
            self.pipe.close()
            return
        self.started.set()
        loop = asyncio.new_event_loop()
        poller = Poller()
        poller.register(self.pipe, C.POLLIN)
        poller.register(auth.zap_socket, C.POLLIN)
        try:
            while True:
                try:
                    events = dict(poller.poll())
                except ZMQError:  # the Context was terminated
                    break
                if self.pipe in events:
                    if self.pipe.recv() == b"TERMINATE":
                        break
                if auth.zap_socket in events:
                    msg = auth.zap_socket.recv_multipart()
                    loop.run_until_complete(auth.handle_zap_message(msg))
        finally:
            loop.close()
            Authenticator.stop(auth)  # close the ZAP socket, in the thread that used it
            self.pipe.close()


class ThreadAuthenticator(Authenticator):
    """Run ZAP authentication in a background thread (``start``/``stop``)."""

    pipe: Any
    pipe_endpoint: str = ""
    thread: Any

    def __init__(self, context: Any = None, encoding: str = "utf-8", log: Any = None) -> None:
        super().__init__(context=context, encoding=encoding, log=log)
        self.pipe = None
        self.pipe_endpoint = f"inproc://purezmq.auth.{id(self):x}.{next(_pipe_ids)}"
        self.thread = None

    def _socket_class(self) -> Any:
        return Socket  # used in a plain thread, whatever the Context's default class

    def start(self) -> None:
        """Start the authentication thread; returns once the ZAP socket is bound."""
        self.pipe = self.context.socket(C.PAIR, socket_class=Socket)
        self.pipe.linger = 0
        self.pipe.bind(self.pipe_endpoint)
        thread_pipe = self.context.socket(C.PAIR, socket_class=Socket)
        thread_pipe.linger = 0
        thread_pipe.connect(self.pipe_endpoint)
        self.thread = AuthenticationThread(self, thread_pipe)
        self.thread.start()
        if not self.thread.started.wait(timeout=10):
            raise RuntimeError("the authentication thread did not start within 10 s")
        if self.thread.error is not None:
            error = self.thread.error
            self.pipe.close()
            self.pipe = None
            raise error

    def stop(self) -> None:
        """Stop the authentication thread and close its sockets."""
        thread, pipe = self.thread, self.pipe
        if thread is not None:
            if pipe is not None and thread.is_alive():
                try:
                    pipe.send(b"TERMINATE")
                except ZMQError:  # the Context is gone: the thread has stopped by itself
                    pass
            thread.join()
            self.thread = None
        if pipe is not None:
            pipe.close()
            self.pipe = None

    def is_alive(self) -> bool:
        """Is the ZAP thread running?"""
        return bool(self.thread is not None and self.thread.is_alive())
