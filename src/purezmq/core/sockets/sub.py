"""SUB: receive the messages whose topic (first frame) matches a subscription (RFC 29)."""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.sockets.xsub import XSub
from purezmq.error import ZMQError


class Sub(XSub):
    """Subscribe with the SUBSCRIBE option; filtered here and at 3.1 publishers."""

    type = C.SUB
    type_name = "SUB"
    filters = True

    def xsend(self, msg: Msg) -> bool:
        raise ZMQError(C.ENOTSUP, "SUB sockets cannot send (use subscribe())")

    def xhas_out(self) -> bool:
        return False

    def xsetsockopt(self, opt: int, value: Any) -> bool:
        if opt in (C.SUBSCRIBE, C.UNSUBSCRIBE):
            if isinstance(value, str):
                raise TypeError("unicode not allowed, use setsockopt_string")
            topic = bytes(value)
            flag = b"\x01" if opt == C.SUBSCRIBE else b"\x00"
            super().xsend([flag + topic])
            return True
        return False
