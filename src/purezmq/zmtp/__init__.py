"""purezmq.zmtp: the ZeroMQ Message Transport Protocol, sans-I/O.

Bytes in, events out; messages in, bytes out (the h11 model). Nothing in
this package opens a socket, starts a thread, reads a clock or touches an
event loop, so it can be driven by any runtime and tested by feeding
bytes.

- ``ZmtpConnection`` -- one peer connection: greeting, security handshake,
  framing, commands. Start here.
- ``ZwsConnection`` -- the same over WebSocket (RFC 45 ZWS 2.0: HTTP upgrade,
  ZWS frames, optional TLS through ``TlsLayer``); its codec and upgrade in
  ``ws_frames`` and ``ws_upgrade``.
- ``FrameDecoder`` / ``encode_message(s)`` / ``encode_messages_iov`` -- the
  frame codec on its own.
- Events (``HandshakeComplete``, ``Ping``, ``Pong``, ``ErrorReceived``,
  ``ZapRequest``, ``AuthenticationFailed``, ``Join``, ``Leave``) and the one
  exception, ``ProtocolError``.
- ``NullMechanism`` and the ``Mechanism`` base for PLAIN/CURVE.
- ``COMPATIBLE_PEERS`` / ``is_compatible`` -- which socket types may talk.
"""

from __future__ import annotations

from .commands import COMPATIBLE_PEERS, SOCKET_TYPES, Metadata, is_compatible
from .connection import ZmtpConnection
from .errors import ProtocolError
from .events import (
    AuthenticationFailed,
    ErrorReceived,
    Event,
    HandshakeComplete,
    Join,
    Leave,
    PeerClosed,
    Ping,
    Pong,
    ZapRequest,
)
from .frames import (
    COPY_THRESHOLD,
    FrameDecoder,
    encode_message,
    encode_messages,
    encode_messages_iov,
)
from .greeting import ZMTP_VERSION, Greeting, GreetingParser, build_greeting
from .mechanisms import Mechanism, NullMechanism
from .tls import TlsLayer
from .ws_connection import ZwsConnection

__all__ = [
    "COMPATIBLE_PEERS",
    "COPY_THRESHOLD",
    "SOCKET_TYPES",
    "ZMTP_VERSION",
    "AuthenticationFailed",
    "ErrorReceived",
    "Event",
    "FrameDecoder",
    "Greeting",
    "GreetingParser",
    "HandshakeComplete",
    "Join",
    "Leave",
    "Mechanism",
    "Metadata",
    "NullMechanism",
    "PeerClosed",
    "Ping",
    "Pong",
    "ProtocolError",
    "TlsLayer",
    "ZapRequest",
    "ZmtpConnection",
    "ZwsConnection",
    "build_greeting",
    "encode_message",
    "encode_messages",
    "encode_messages_iov",
    "is_compatible",
]
