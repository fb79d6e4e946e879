"""SCATTER: load-balances messages over its GATHER peers (RFC 49); never receives.

PUSH's pattern, single-part only and thread-safe (see core/threadsafe.py).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.strategies import LoadBalancer
from purezmq.core.threadsafe import ThreadSafeSocket


class Scatter(ThreadSafeSocket):
    """Round-robin to connected GATHERs; waits when all are at HWM."""

    type = C.SCATTER
    type_name = "SCATTER"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.lb = LoadBalancer()

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.lb.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.lb.terminated(pipe)

    def xwrite_activated(self, pipe: Pipe) -> None:
        self.lb.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        return self.lb.send(msg) is not None

    def xhas_out(self) -> bool:
        return self.lb.has_out()
