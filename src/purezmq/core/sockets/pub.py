"""PUB: publish to subscribers (RFC 29); never receives.

It is XPUB with the subscriptions kept to itself.
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.sockets.xpub import XPub
from purezmq.error import ZMQError


class Pub(XPub):
    """Fan-out to matching subscribers; full subscribers miss messages."""

    type = C.PUB
    type_name = "PUB"
    shows_subscriptions = False

    def xrecv(self) -> Msg | None:
        raise ZMQError(C.ENOTSUP, "PUB sockets cannot receive")

    def xhas_in(self) -> bool:
        return False
