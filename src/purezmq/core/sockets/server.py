"""SERVER: talks to many CLIENTs, addressing each by a 32-bit routing id (RFC 41).

Each peer gets a routing id when its pipe attaches: a random start, then
counting up, never 0 (libzmq's rule), never one in use. A received message
carries its peer's id (``Frame.routing_id``); a sent one names the peer with
``send(..., routing_id=)`` -- the front-end hands the core ``[rid, body]``. An
id with no peer fails the send with EHOSTUNREACH; a peer at its HWM makes the
send wait (or EAGAIN), as libzmq's. Single-part only; thread-safe (see
core/threadsafe.py).
"""

from __future__ import annotations

import random
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.strategies import FairQueue
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart
from purezmq.error import ZMQError


class Server(ThreadSafeSocket):
    """Fair-queues requests from CLIENTs; replies go to the routing id given."""

    type = C.SERVER
    type_name = "SERVER"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        self.outpipes: dict[int, Pipe] = {}
        self.next_rid = random.getrandbits(32)

    def xattach_pipe(self, pipe: Pipe) -> None:
        while True:
            rid = self.next_rid
            self.next_rid = (rid + 1) & 0xFFFFFFFF
            if rid and rid not in self.outpipes:
                break
        pipe.rid = rid
        self.outpipes[rid] = pipe
        self.fq.attach(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        if self.outpipes.get(pipe.rid) is pipe:
            del self.outpipes[pipe.rid]
        self.fq.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        rid = msg[0] if len(msg) == 2 else 0
        pipe = self.outpipes.get(rid)
        if pipe is None:
            raise ZMQError(C.EHOSTUNREACH, f"{self.type_name} has no peer with routing id {rid}")
        if not pipe.writable():
            return False  # at HWM: wait, or EAGAIN
        pipe.write([msg[-1]])
        return True

    def xrecv(self) -> Msg | None:
        return drop_multipart(self.fq.recv)

    def xhas_in(self) -> bool:
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return True  # as libzmq: a send may always be tried (it names its peer)

    def msg_routing_id(self, pipe: Pipe | None) -> int | None:
        return pipe.rid if pipe is not None and pipe.rid else None
