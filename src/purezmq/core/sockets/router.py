"""ROUTER: addresses peers by routing id (RFC 28, libzmq zmq_socket).

Received messages are prefixed with the sender's routing id; a sent message's
first frame names the peer. Unknown peers: dropped, or EHOSTUNREACH with
ROUTER_MANDATORY. A duplicate routing id is refused, or with ROUTER_HANDOVER
takes over the old connection.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import FairQueue
from purezmq.error import ZMQError, make_error


class Router(SocketBase):
    """Routes replies by the routing id each peer gave or was given."""

    type = C.ROUTER
    type_name = "ROUTER"
    route_first = True
    recv_routing_id = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        if type(self).xread_activated is Router.xread_activated:  # one call shorter
            self.xread_activated = self.fq.activated  # type: ignore[method-assign]
        self.outpipes: dict[bytes, Pipe] = {}
        self.anonymous: set[Pipe] = set()  # connected before the handshake named them
        self.next_id = random.getrandbits(31)

    def xattach_pipe(self, pipe: Pipe) -> None:
        if self.options.probe_router and pipe.writable():
            pipe.write([b""])
        if pipe.awaiting_id:
            self.anonymous.add(pipe)
        else:
            self._identify(pipe)

    def xidentified(self, pipe: Pipe) -> None:
        if pipe in self.anonymous:
            self.anonymous.discard(pipe)
            self._identify(pipe)
            if pipe.refused:  # (dead alone: the connection ended; its input stays readable)
                self.pipes.remove(pipe)
                if pipe.peer is not None:
                    pipe.peer.disconnect()

    def _identify(self, pipe: Pipe) -> None:
        """Enter ``pipe`` in the routing table under the peer's (or a generated) id."""
        rid = pipe.routing_id
        if not rid:
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
            rid = pipe.routing_id = b"\x00" + struct.pack(">I", self.next_id)
        old = self.outpipes.get(rid)
        if old is not None:
            if not self.options.router_handover:
                pipe.refused = pipe.dead = True  # the engine drops that connection
                return
            # Handover: the new connection takes the id; the old one is closed.
            del self.outpipes[rid]
            old.routing_id = b""
            if old.peer is not None:
                old.peer.disconnect()
        self.outpipes[rid] = pipe
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.anonymous.discard(pipe)
        if self.outpipes.get(pipe.routing_id) is pipe:
            del self.outpipes[pipe.routing_id]
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        rid = msg[0]
        pipe = self.outpipes.get(rid if type(rid) is bytes else bytes(rid))
        if pipe is None:
            if self.options.router_mandatory:
                raise ZMQError(C.EHOSTUNREACH, f"no peer with routing id {bytes(rid)!r}")
            return True  # silently dropped, as libzmq does
        if len(msg) == 1:
            return True
        if len(pipe.outq) >= pipe.room and not pipe.writable():  # (room: see pipe.py)
            # Mandatory: wait (or EAGAIN); otherwise drop at HWM.
            return not self.options.router_mandatory
        if pipe is self.fq.last:
            # A reply to the peer heard last: the engine may write it at once
            # even amid a burst of replies to many peers (see engine.kick).
            self.answering = True
            try:
                pipe.write(msg[1:])
            finally:
                self.answering = False
        else:
            pipe.write(msg[1:])
        return True

    def check_route(self, rid: Any) -> None:
        """The first frame of a message sent with SNDMORE: EHOSTUNREACH now, as libzmq."""
        if self.options.router_mandatory:
            if self.mailbox:
                self.process_commands()
            self._check()
            if bytes(rid) not in self.outpipes:
                raise ZMQError(C.EHOSTUNREACH, f"no peer with routing id {bytes(rid)!r}")

    def xrecv(self) -> Msg | None:
        msg = self.fq.recv()
        if msg is None:
            return None
        return [self.fq.last.routing_id, *msg]  # type: ignore[union-attr]

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        if not self.options.router_mandatory:
            return True
        return any(p.writable() for p in self.outpipes.values())

    def xsetsockopt(self, opt: int, value: Any) -> bool:
        if opt in (C.ROUTER_MANDATORY, C.ROUTER_HANDOVER, C.PROBE_ROUTER, C.ROUTER_RAW):
            if opt == C.ROUTER_RAW:
                raise make_error(C.ENOTSUP, "ROUTER_RAW is not supported (use STREAM)")
        return False
