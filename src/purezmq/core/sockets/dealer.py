"""DEALER: load-balances sends, fair-queues receives (RFC 28), no envelope."""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import FairQueue, LoadBalancer


class Dealer(SocketBase):
    """Asynchronous request socket; PROBE_ROUTER sends an empty message on connect."""

    type = C.DEALER
    type_name = "DEALER"

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.lb = LoadBalancer()
        self.fq = FairQueue()
        # The hot paths one call shorter, where a subclass does not override them.
        if type(self).xsend is Dealer.xsend:
            self.xsend = self.lb.send  # type: ignore[method-assign,assignment]
        if type(self).xrecv is Dealer.xrecv:
            self.xrecv = self.fq.recv  # type: ignore[method-assign]
        if type(self).xread_activated is Dealer.xread_activated:
            self.xread_activated = self.fq.activated  # type: ignore[method-assign]

    def xattach_pipe(self, pipe: Pipe) -> None:
        if self.options.probe_router and pipe.writable():
            pipe.write([b""])
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
        return self.fq.recv()

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return self.lb.has_out()
