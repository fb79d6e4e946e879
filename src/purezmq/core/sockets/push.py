"""PUSH: load-balances messages over its peers (RFC 30); never receives."""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import LoadBalancer


class Push(SocketBase):
    """Round-robin to connected PULL peers; waits when all are at HWM."""

    type = C.PUSH
    type_name = "PUSH"

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.lb = LoadBalancer()
        if type(self).xsend is Push.xsend:  # the hot path one call shorter (not overridden)
            self.xsend = self.lb.send  # type: ignore[method-assign,assignment]

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
