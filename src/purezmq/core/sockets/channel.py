"""CHANNEL: the thread-safe exclusive pair (RFC 52).

PAIR's hooks, reused as is (libzmq's channel_t is pair_t's twin): one peer at
a time, a second connection refused while one is attached; sends wait while
there is no peer or it is at its HWM, and nothing is dropped. Single-part
only (SNDMORE is EINVAL, multipart messages arriving are dropped);
thread-safe (see core/threadsafe.py).
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.sockets.pair import Pair
from purezmq.core.threadsafe import ThreadSafeSocket, drop_multipart


class Channel(ThreadSafeSocket, Pair):
    """Exclusive pair; the lock of ThreadSafeSocket around PAIR's hooks."""

    type = C.CHANNEL
    type_name = "CHANNEL"

    def xrecv(self) -> Msg | None:
        return drop_multipart(super().xrecv)

    def _received_from(self) -> Pipe | None:
        return self.last_pipe  # PAIR's xrecv set it, for this thread (threadsafe.py)
