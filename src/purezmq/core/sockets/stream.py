"""STREAM: raw TCP (or ipc) peers addressed by routing id (libzmq zmq_socket(3)).

Each connection gets a 5-octet routing id (0x00 + a 32-bit counter, as
libzmq), or the CONNECT_ROUTING_ID given for a connect. Received data comes
as ``[routing id, data]``, fair-queued; a send is ``[routing id, data]``
(EHOSTUNREACH for an unknown id; at SNDHWM it waits, or EAGAIN). With
STREAM_NOTIFY (default on) a connection's start and its loss by the peer are
each announced as ``[routing id, b""]``. Sending ``[routing id, b""]`` closes
that connection once what was sent before is out. As in libzmq, the id of
the latest connection is also the socket's ROUTING_ID option, so
``getsockopt(ROUTING_ID)`` right after ``connect()`` names that peer.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import FairQueue
from purezmq.error import ZMQError


class Stream(SocketBase):
    """Talks to non-ZeroMQ peers over a byte stream."""

    type = C.STREAM
    type_name = "STREAM"
    recv_routing_id = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        self.outpipes: dict[bytes, Pipe] = {}
        self.next_id = random.getrandbits(32)

    def xattach_pipe(self, pipe: Pipe) -> None:
        pipe.awaiting_id = False  # no handshake names a raw peer: it has its id now
        rid = pipe.routing_id
        if not rid or rid in self.outpipes:
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
            rid = pipe.routing_id = b"\x00" + struct.pack(">I", self.next_id)
        self.options.routing_id = rid
        self.outpipes[rid] = pipe
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        if self.outpipes.get(pipe.routing_id) is pipe:
            del self.outpipes[pipe.routing_id]
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        rid = msg[0]
        pipe = self.outpipes.get(rid if type(rid) is bytes else bytes(rid))
        if pipe is None:
            raise ZMQError(C.EHOSTUNREACH, f"no STREAM connection with routing id {bytes(rid)!r}")
        data = msg[1:]
        if not data:
            return True  # a routing id alone sends nothing
        if len(data) == 1 and not len(data[0]):
            # Close: the marker goes behind what is queued, whatever the HWM.
            del self.outpipes[pipe.routing_id]
            pipe.write([b""])
            return True
        if not pipe.writable():
            return False
        pipe.write(data)
        return True

    def check_route(self, rid: Any) -> None:
        """The routing id frame of a message sent with SNDMORE: EHOSTUNREACH now."""
        if self.mailbox:
            self.process_commands()
        self._check()
        if bytes(rid) not in self.outpipes:
            raise ZMQError(C.EHOSTUNREACH, f"no STREAM connection with routing id {bytes(rid)!r}")

    def xrecv(self) -> Msg | None:
        msg = self.fq.recv()
        if msg is None:
            return None
        return [self.fq.last.routing_id, *msg]  # type: ignore[union-attr]

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return True
