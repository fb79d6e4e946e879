"""CLIENT: talks to SERVERs (RFC 41); load-balances sends, fair-queues receives.

Like DEALER without envelopes or probes: single-part messages only (a
multipart message arriving is dropped, as libzmq does); thread-safe (see
core/threadsafe.py).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.strategies import FairQueue, LoadBalancer
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart


class Client(ThreadSafeSocket):
    """Round-robin to connected SERVERs; replies from any of them."""

    type = C.CLIENT
    type_name = "CLIENT"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lb = LoadBalancer()
        self.fq = FairQueue()

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.lb.attach(pipe)
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.lb.terminated(pipe)
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xwrite_activated(self, pipe: Pipe) -> None:
        self.lb.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        return self.lb.send(msg) is not None

    def xrecv(self) -> Msg | None:
        return drop_multipart(self.fq.recv)

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return self.lb.has_out()
