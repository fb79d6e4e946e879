"""monitored_queue: a QUEUE that also publishes every message, prefixed by direction.

Unlike ``proxy``, both sides may be ROUTER sockets: the first two frames (the
sender's and the addressee's routing ids) are swapped on the way through, so
the message goes to the addressee and the reply can find its way back. The
monitor socket gets ``[prefix, *message]`` as forwarded.
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.sugar.proxy import ProxyLoop, Waker
from purezmq.sugar.socket import Socket

__all__ = ["monitored_queue"]


def as_bytes(prefix: bytes | str) -> bytes:
    return prefix.encode() if isinstance(prefix, str) else bytes(prefix)


class _MonitoredQueueLoop(ProxyLoop):
    def __init__(
        self, ins: Socket, outs: Socket, mons: Socket, in_prefix: bytes, out_prefix: bytes
    ) -> None:
        super().__init__(ins, outs, mons)
        self.prefixes = (in_prefix, out_prefix)
        self.swap_ids = ins.socket_type == C.ROUTER and outs.socket_type == C.ROUTER

    def relay(self, from_front: bool, msg: Msg, sig: Waker) -> Msg:
        if self.swap_ids and len(msg) >= 2:
            msg = [msg[1], msg[0], *msg[2:]]
        assert self.cap is not None
        self.send(self.cap, [self.prefixes[0 if from_front else 1], *msg], sig)
        return msg


def monitored_queue(
    in_socket: Socket,
    out_socket: Socket,
    mon_socket: Socket,
    in_prefix: bytes | str = b"in",
    out_prefix: bytes | str = b"out",
) -> None:
    """Forward between ``in_socket`` and ``out_socket`` until the context ends,
    publishing each message on ``mon_socket`` after ``in_prefix``/``out_prefix``
    (the side it arrived on). Raises ContextTerminated at the end, as proxy."""
    _MonitoredQueueLoop(
        in_socket, out_socket, mon_socket, as_bytes(in_prefix), as_bytes(out_prefix)
    ).run()
