"""GATHER: fair-queues messages from its SCATTER peers (RFC 49); never sends.

PULL's pattern, single-part only (a multipart message arriving is dropped, as
libzmq does) and thread-safe (see core/threadsafe.py).
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.sockets.pull import Pull
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart


class Gather(ThreadSafeSocket, Pull):
    """Round-robin over SCATTERs with messages waiting (PULL's hooks)."""

    type = C.GATHER
    type_name = "GATHER"

    def xrecv(self) -> Msg | None:
        return drop_multipart(self.fq.recv)
