"""Socket monitors: libzmq's event messages, versions 1 and 2.

Rules this module keeps (``zmq_socket_monitor(3)`` and
``zmq_socket_monitor_versioned(3)`` are the spec):

- Version 1 (``Socket.monitor(addr, events)``, pyzmq's and libzmq's default):
  two frames, 6 bytes (event as a native uint16, value as a native uint32)
  then the endpoint. Only events below 0x10000 exist in v1.
- Version 2 (``Socket.monitor(addr, events, version=2)``, libzmq's draft
  ``zmq_socket_monitor_versioned``): the event as a native uint64, the number
  of values as a native uint64, each value as a native uint64, then the local
  and the remote endpoint. Events not about one connection carry the endpoint
  on their own side only: listener events (LISTENING, ACCEPTED, ...) as local,
  connect events (CONNECT_DELAYED, CONNECTED, ...) as remote, as libzmq does.
  The monitor socket may be PAIR, PUB or PUSH (with PUB, the first frame --
  the 8-byte event number -- is the topic to subscribe to).
- An event is sent only when its bit is in ``events``; MONITOR_STOPPED too,
  which ends the stream when monitoring stops (``monitor(None)``, a new
  ``monitor()`` call, or the monitored socket's close).
- Sending an event never blocks the I/O thread: if the monitor socket's queue
  is full, the event is dropped, as libzmq's non-blocking send drops it.

The hook runs in whichever thread reports the event (mostly the I/O thread);
one lock per monitor keeps the frames of two events from interleaving with
the stop message.
"""

from __future__ import annotations

import struct
import threading
from typing import TYPE_CHECKING, Any

from purezmq import constants as C
from purezmq.error import ZMQError

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

__all__ = ["Monitor", "encode_v1", "encode_v2"]

# Events that are about a listener (the endpoint is the local side in v2).
_BIND_SIDE = frozenset(
    int(e)
    for e in (
        C.EVENT_LISTENING,
        C.EVENT_BIND_FAILED,
        C.EVENT_ACCEPTED,
        C.EVENT_ACCEPT_FAILED,
        C.EVENT_CLOSED,
        C.EVENT_CLOSE_FAILED,
    )
)
_V1 = struct.Struct("=HI")
_U64 = struct.Struct("=Q")


def encode_v1(event: int, value: int, endpoint: str) -> list[bytes]:
    """A version 1 monitor message: ``[uint16 event + uint32 value, endpoint]``."""
    return [_V1.pack(event & 0xFFFF, value & 0xFFFFFFFF), endpoint.encode()]


def encode_v2(event: int, values: list[int], local: str, remote: str) -> list[bytes]:
    """A version 2 monitor message: event, value count, values, local, remote."""
    return [
        _U64.pack(event),
        _U64.pack(len(values)),
        *(_U64.pack(v & 0xFFFFFFFFFFFFFFFF) for v in values),
        local.encode(),
        remote.encode(),
    ]


class Monitor:
    """One monitor of one socket: the bound monitor socket and the event filter."""

    def __init__(self, sock: Any, events: int, version: int) -> None:
        self.sock = sock  # the front-end Socket bound at the monitor address
        self.core: SocketBase = sock._core
        self.events = events
        self.version = version
        self.lock = threading.Lock()

    def hook(
        self, event: int, value: int, endpoint: str, local: str | None, remote: str | None
    ) -> None:
        """The core socket's MonitorHook: encode and send, if wanted."""
        if not event & self.events:
            return
        if self.version == 1:
            msg = encode_v1(event, value, endpoint)
        else:
            if local is None and remote is None:
                local, remote = (endpoint, "") if event in _BIND_SIDE else ("", endpoint)
            msg = encode_v2(event, [value], local or "", remote or "")
        self._send(msg)

    def send_values(self, event: int, values: list[int], local: str, remote: str) -> None:
        """A v2 event with several values (PIPES_STATS)."""
        if event & self.events:
            self._send(encode_v2(event, values, local, remote))

    def _send(self, msg: list[bytes]) -> None:
        with self.lock:
            try:
                self.core.send(msg, nonblock=True)
            except ZMQError:
                pass  # full or closed: the event is lost, as libzmq's

    def stop(self) -> None:
        """Send MONITOR_STOPPED (if wanted) and close the monitor socket."""
        with self.lock:
            if self.events & C.EVENT_MONITOR_STOPPED:
                if self.version == 1:
                    msg = encode_v1(C.EVENT_MONITOR_STOPPED, 0, "")
                else:
                    msg = encode_v2(C.EVENT_MONITOR_STOPPED, [0], "", "")
                try:
                    self.core.send(msg, nonblock=True)
                except ZMQError:
                    pass
            self.sock.close(linger=-1)
