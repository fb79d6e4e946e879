"""PULL: fair-queues messages from its peers (RFC 30); never sends."""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import FairQueue


class Pull(SocketBase):
    """Round-robin over peers with messages waiting."""

    type = C.PULL
    type_name = "PULL"

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.fq = FairQueue()
        # The hot paths one call shorter, where a subclass does not override them.
        if type(self).xrecv is Pull.xrecv:
            self.xrecv = self.fq.recv  # type: ignore[method-assign]
        if type(self).xread_activated is Pull.xread_activated:
            self.xread_activated = self.fq.activated  # type: ignore[method-assign]

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xrecv(self) -> Msg | None:
        return self.fq.recv()

    def xhas_in(self) -> bool:
        return self.fq.has_in()
