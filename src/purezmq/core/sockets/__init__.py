"""One class per socket type, keyed by libzmq's type number."""

from __future__ import annotations

from purezmq.core.socketbase import SocketBase
from purezmq.core.sockets.channel import Channel
from purezmq.core.sockets.client import Client
from purezmq.core.sockets.dealer import Dealer
from purezmq.core.sockets.dgram import Dgram
from purezmq.core.sockets.dish import Dish
from purezmq.core.sockets.gather import Gather
from purezmq.core.sockets.pair import Pair
from purezmq.core.sockets.peer import Peer
from purezmq.core.sockets.pub import Pub
from purezmq.core.sockets.pull import Pull
from purezmq.core.sockets.push import Push
from purezmq.core.sockets.radio import Radio
from purezmq.core.sockets.rep import Rep
from purezmq.core.sockets.req import Req
from purezmq.core.sockets.router import Router
from purezmq.core.sockets.scatter import Scatter
from purezmq.core.sockets.server import Server
from purezmq.core.sockets.stream import Stream
from purezmq.core.sockets.sub import Sub
from purezmq.core.sockets.xpub import XPub
from purezmq.core.sockets.xsub import XSub

SOCKET_CLASSES: dict[int, type[SocketBase]] = {
    cls.type: cls
    for cls in (Pair, Pub, Sub, Req, Rep, Dealer, Router, Pull, Push, XPub, XSub, Stream)
    + (Client, Server, Scatter, Gather, Radio, Dish, Peer, Channel)  # draft, thread-safe
    + (Dgram,)  # draft, one thread at a time as in libzmq
}

__all__ = ["SOCKET_CLASSES"]
