"""REQ: the request side of RFC 28; strict send/recv alternation.

Each request goes out with an empty delimiter frame (and, with
REQ_CORRELATE, a request id frame before it); only a reply from the pipe the
request went to, with the right id, is accepted; anything else is dropped.
REQ_RELAXED allows a new request before the reply, abandoning the old one.
"""

from __future__ import annotations

import random
import struct
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.sockets.dealer import Dealer
from purezmq.error import ZMQError


class Req(Dealer):
    """Send a request, then receive exactly one reply."""

    type = C.REQ
    type_name = "REQ"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.receiving_reply = False
        self.reply_pipe: Pipe | None = None
        self.request_id = random.getrandbits(32)

    def xsend(self, msg: Msg) -> bool:
        if self.receiving_reply:
            if not self.options.req_relaxed:
                raise ZMQError(C.EFSM, "REQ must receive the reply before sending another request")
            self.receiving_reply = False
            self.reply_pipe = None
        if self.options.req_correlate:
            self.request_id = (self.request_id + 1) & 0xFFFFFFFF
            wire = [struct.pack(">I", self.request_id), b"", *msg]
        else:
            wire = [b"", *msg]
        pipe = self.lb.send(wire)
        if pipe is None:
            return False
        self.reply_pipe = pipe
        self.receiving_reply = True
        return True

    def xrecv(self) -> Msg | None:
        if not self.receiving_reply:
            raise ZMQError(C.EFSM, "REQ must send a request before receiving a reply")
        while True:
            msg = self.fq.recv()
            if msg is None:
                return None
            pipe = self.fq.last
            if pipe is not self.reply_pipe:
                continue  # a late reply to an abandoned request
            if self.options.req_correlate:
                if len(msg) < 3 or bytes(msg[0]) != struct.pack(">I", self.request_id):
                    continue
                msg = msg[1:]
            if len(msg) < 2 or len(msg[0]):
                continue  # no delimiter: malformed reply
            self.receiving_reply = False
            return msg[1:]

    def xhas_in(self) -> bool:
        return self.receiving_reply and super().xhas_in()

    def xhas_out(self) -> bool:
        if self.receiving_reply and not self.options.req_relaxed:
            return False
        return super().xhas_out()
