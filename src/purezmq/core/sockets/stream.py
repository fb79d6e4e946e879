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

import struct
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.sockets.router import Router
from purezmq.error import ZMQError


class Stream(Router):
    """Talks to non-ZeroMQ peers over a byte stream.

    ROUTER's routing table, fair queue and receive hooks; its own attach (ids
    given at once, no handshake names a raw peer), send and route check.
    """

    type = C.STREAM
    type_name = "STREAM"

    def xattach_pipe(self, pipe: Pipe) -> None:
        pipe.awaiting_id = False  # no handshake names a raw peer: it has its id now
        rid = pipe.routing_id
        if not rid or rid in self.outpipes:
            self.next_id = (self.next_id + 1) & 0xFFFFFFFF
            rid = pipe.routing_id = b"\x00" + struct.pack(">I", self.next_id)
        self.options.routing_id = rid
        self.outpipes[rid] = pipe
        self.fq.attach(pipe)

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
