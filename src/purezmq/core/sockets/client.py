"""CLIENT: talks to SERVERs (RFC 41); load-balances sends, fair-queues receives.

Like DEALER without envelopes or probes: single-part messages only (a
multipart message arriving is dropped, as libzmq does); thread-safe (see
core/threadsafe.py).
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.sockets.dealer import Dealer
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart


class Client(ThreadSafeSocket, Dealer):
    """Round-robin to connected SERVERs; replies from any of them (DEALER's hooks;
    PROBE_ROUTER does not apply to CLIENT, so DEALER's probe never fires)."""

    type = C.CLIENT
    type_name = "CLIENT"

    def xrecv(self) -> Msg | None:
        return drop_multipart(self.fq.recv)
