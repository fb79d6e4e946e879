"""RawConnection: the wire of a STREAM socket, which is no protocol at all.

Rules this module keeps (sans-I/O, as ZmtpConnection, whose interface it
offers to the engine):

- No greeting, no security, no framing, no commands. The "handshake" is done
  at once: ``HandshakeComplete`` is the first event, before any byte.
- Each chunk of bytes received is one message of one frame; chunk boundaries
  are whatever the transport delivered (zmq_socket(3): "TCP data").
- A message sent is its frames' bytes, in order. A message that is a single
  empty frame asks for the connection to be closed once what was sent before
  it is out (``close_requested``); anything sent after it is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .commands import Metadata
from .events import Event, HandshakeComplete
from .mechanisms import NullMechanism

Buffer = Any


class RawConnection:
    """One raw byte stream (STREAM sockets): bytes in, one-frame messages out."""

    def __init__(self) -> None:
        self.mechanism = NullMechanism()
        self.events: list[Event] = [HandshakeComplete("STREAM", b"", Metadata(), (0, 0))]
        self.out: list[Buffer] = []
        self.failure_code = 0
        self.close_requested = False

    def read_buffers(self) -> None:
        """Always None: raw bytes are read into a new ``bytes`` (engine.py)."""
        return None

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[list[Any]]:
        """What was read, as one message (never raises: any bytes are valid)."""
        return [[bytes(data)]] if data else []

    @property
    def has_data_to_send(self) -> bool:
        return bool(self.out)

    def data_to_send(self) -> bytes:
        out, self.out = self.out, []
        return b"".join(out)

    def buffers_to_send(self) -> list[Buffer]:
        out, self.out = self.out, []
        return out

    def send_message(self, parts: Sequence[Buffer]) -> None:
        if self.close_requested:
            return
        if len(parts) == 1 and not len(parts[0]):
            self.close_requested = True
            return
        self.out.extend(p for p in parts if len(p))

    def send_messages(self, msgs: Iterable[Sequence[Buffer]]) -> None:
        for m in msgs:
            self.send_message(m)

    def send_ping(self, ttl: float, context: bytes) -> None:
        """Raw streams have no heartbeats (libzmq ignores HEARTBEAT_* on STREAM)."""
