"""GATHER: fair-queues messages from its SCATTER peers (RFC 49); never sends.

PULL's pattern, single-part only (a multipart message arriving is dropped, as
libzmq does) and thread-safe (see core/threadsafe.py).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.strategies import FairQueue
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart


class Gather(ThreadSafeSocket):
    """Round-robin over SCATTERs with messages waiting."""

    type = C.GATHER
    type_name = "GATHER"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xrecv(self) -> Msg | None:
        return drop_multipart(self.fq.recv)

    def xhas_in(self) -> bool:
        return self.fq.has_in()
