"""PEER: talks to other PEERs, each addressed by a 32-bit routing id (RFC 51).

SERVER's routing table and fair queue, reused as is (libzmq's peer_t is a
server_t too): a peer's routing id is given when its pipe attaches, whichever
side connected, and names it in ``send(..., routing_id=)``; an unknown id is
EHOSTUNREACH, a peer at its HWM makes the send wait (or EAGAIN), nothing is
dropped. What PEER adds is ``connect_peer``: a connect that returns the id of
the pipe it created, atomically (under the socket's lock), so a PEER can send
to a peer it connected to before that peer ever says anything. The pipe of a
connect exists from ``connect()`` on and survives reconnects, so the id stays
valid while the connection comes and goes. Single-part only; thread-safe (see
core/threadsafe.py).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Pipe
from purezmq.core.sockets.server import Server


class Peer(Server):
    """SERVER's hooks; remembers the routing id of the pipe attached last."""

    type = C.PEER
    type_name = "PEER"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.last_attached_rid = 0

    def xattach_pipe(self, pipe: Pipe) -> None:
        super().xattach_pipe(pipe)
        self.last_attached_rid = pipe.rid
