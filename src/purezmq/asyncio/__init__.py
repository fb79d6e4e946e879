"""purezmq.asyncio: pyzmq's ``zmq.asyncio`` API, native to the running event loop.

``import purezmq.asyncio as zmq_asyncio`` (or ``zmq.asyncio`` after
``purezmq.install_as_zmq()``) gives ``Context``, ``Socket`` and ``Poller``
whose ``send``/``recv`` (and ``*_multipart``, ``*_string``, ``*_json``,
``*_pyobj``, ``*_serialized``, ``recv_into``) and ``poll`` return asyncio
Futures, as pyzmq's do::

    ctx = purezmq.asyncio.Context()
    sock = ctx.socket(zmq.REP)
    sock.bind("tcp://127.0.0.1:5555")
    msg = await sock.recv_multipart()
    await sock.send_multipart(msg)

How it waits (``_waiting.py``): each call first runs the core operation
non-blocking; if it would block, the operation is queued and a watcher on the
core socket schedules a retry on the loop when the socket may have changed.
No FD edge-triggering is involved. Core operations are atomic (a whole
message or nothing), so cancelling a pending ``recv`` never loses a message
and a cancelled ``send_multipart`` sent nothing. RCVTIMEO/SNDTIMEO fail the
Future with ``zmq.Again``; ``flags=zmq.NOBLOCK`` fails it at once.

Where connections are served: by the Context's background I/O thread, as
for a sync Context. Accepting, handshakes (ZAP included), heartbeats,
reconnects, subscription forwarding, load-balancing over every connected peer
and draining queued sends go on while your loop is busy, blocked (``input()``,
``time.sleep``, a long computation) or spinning on sends that never yield.
For speed, a ``recv`` that awaits the answer to this socket's own send
(request/reply) reads the connection on your loop while it waits, and a send
that answers a received message is written by the caller: a round trip
crosses no thread. If the loop stops running meanwhile, the I/O thread takes
the reading back within about 10 ms. inproc involves neither.

Closing and terminating: ``sock.close()`` cancels that object's pending
Futures; the I/O thread flushes what was queued within LINGER, whether or not
the loop still runs. ``ctx.term()``/``ctx.destroy()`` called on a running loop
wait for the closed sockets to linger but not for sockets still open (only
your coroutines could close those: pending Futures get ContextTerminated, and
the I/O thread stops once the last of them is closed). Called elsewhere,
``term()`` blocks as the sync one does.

Not done yet: draft-socket ``routing_id``/``group`` arguments (as in the sync
Socket) and ``MessageTracker`` that tracks real completion (trackers are
resolved at once).
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from purezmq.asyncio._context import Context
from purezmq.asyncio._poll import Poller
from purezmq.asyncio._socket import Socket

__all__ = ["Context", "Socket", "Poller", "ZMQEventLoop", "install"]


class ZMQEventLoop(asyncio.SelectorEventLoop):
    """DEPRECATED in pyzmq: any asyncio loop works; this is a plain SelectorEventLoop."""

    def __init__(self, selector: Any = None) -> None:
        warnings.warn(
            "ZMQEventLoop is deprecated: purezmq.asyncio works with any asyncio event loop",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(selector)


def install() -> None:
    """DEPRECATED in pyzmq: nothing to install, any asyncio loop works."""
    warnings.warn(
        "purezmq.asyncio.install() is not needed: any asyncio event loop works",
        DeprecationWarning,
        stacklevel=2,
    )
