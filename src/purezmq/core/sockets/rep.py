"""REP: the reply side of RFC 28; strict recv/send alternation with envelopes.

A request's envelope (every frame up to and including the first empty
delimiter) is kept and put back in front of the reply, so replies find
their way back through any number of ROUTER/DEALER hops.
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.sockets.router import Router
from purezmq.error import ZMQError


class Rep(Router):
    """Receive a request, then send exactly one reply."""

    type = C.REP
    type_name = "REP"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.sending_reply = False
        self.envelope: Msg = []

    def xrecv(self) -> Msg | None:
        if self.sending_reply:
            raise ZMQError(C.EFSM, "REP must send a reply before receiving the next request")
        while True:
            msg = super().xrecv()
            if msg is None:
                return None
            # msg[0] is the routing id; the delimiter ends the envelope.
            for i in range(1, len(msg) - 1):
                if not len(msg[i]):
                    self.envelope = msg[: i + 1]
                    self.sending_reply = True
                    return msg[i + 1 :]
            # No delimiter (or nothing after it): not a request; drop it.

    def xsend(self, msg: Msg) -> bool:
        if not self.sending_reply:
            raise ZMQError(C.EFSM, "REP must receive a request before sending a reply")
        super().xsend([*self.envelope, *msg])  # a vanished requester loses its reply
        self.sending_reply = False
        self.envelope = []
        return True

    def xhas_in(self) -> bool:
        return not self.sending_reply and super().xhas_in()

    def xhas_out(self) -> bool:
        return self.sending_reply
