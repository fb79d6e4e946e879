"""DGRAM: raw UDP datagrams, each message ``[address, body]`` (libzmq's draft).

The address frame is the peer's ``"ip:port"``: where a received datagram came
from, where a sent one goes. Only over udp:// (transport/udp.py), one pipe
per bind/connect; sends go to the first. A message that is not exactly two
frames is EINVAL, as libzmq's dgram_t.
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import FairQueue
from purezmq.error import ZMQError


class Dgram(SocketBase):
    """Address + body datagrams."""

    type = C.DGRAM
    type_name = "DGRAM"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        self.out: list[Pipe] = []

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.fq.attach(pipe)
        self.out.append(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)
        if pipe in self.out:
            self.out.remove(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        if len(msg) != 2:
            raise ZMQError(C.EINVAL, "DGRAM messages are two frames: 'ip:port' address, body")
        if not self.out:
            raise ZMQError(C.EAGAIN, "DGRAM socket has no udp endpoint (bind or connect first)")
        pipe = self.out[0]
        if not pipe.writable():
            return False
        pipe.write(msg)
        return True

    def xrecv(self) -> Msg | None:
        return self.fq.recv()

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return bool(self.out) and self.out[0].writable()
