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

Where connections are served (``_context.py``): the first tcp/ipc endpoint
(bind or connect) made through a Context decides, once, for the whole
context:

- made while an asyncio loop runs in the calling thread: the connections
  (listeners, engines, reconnects, heartbeats) of *every* socket of this
  context run on **that loop** -- no I/O thread, no thread hop. Sockets of
  the same context used from another thread/loop still work (they hand work
  to that loop thread-safely), but only while that loop runs: a context
  whose connections are served by a loop lives no longer than the loop
  (use one context per loop, e.g. one per ``asyncio.run``).
- made with no running loop (before ``asyncio.run``), or through a Context
  shadowing a sync ``purezmq.Context``: the sync background I/O thread.

inproc never involves either. Blocking calls of a sync socket on the loop's
own thread would stall the connections that loop serves: don't make them.

Closing and terminating: ``sock.close()`` cancels that object's pending
Futures; ``ctx.term()``/``ctx.destroy()`` called on the serving loop do not
block (pending Futures get ContextTerminated; flushing finishes on the loop's
next iterations, which ``asyncio.run`` runs while shutting down). Called from
another thread while the loop runs, ``term()`` blocks as the sync one does.

Not done yet: draft-socket ``routing_id``/``group`` arguments (as in the sync
Socket), ``MessageTracker`` that tracks real completion (trackers are
resolved at once), and a LINGER > 0 flush of loop-served connections that
outlives the loop (when the loop closes, unflushed connections are dropped).
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
