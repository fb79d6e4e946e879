"""Events a ZMTP connection reports besides application messages.

Rules this module keeps:

- Events are small frozen records with no behaviour; the connection
  appends them to ``conn.events`` in the order they happened, and the
  caller drains that list (``events = conn.events[:]; conn.events.clear()``).
- Application messages are *not* events: ``receive_data`` returns them
  directly, so the hot path builds no event objects. Incoming SUBSCRIBE and
  CANCEL commands are returned as messages too (``b"\\x01" + topic`` /
  ``b"\\x00" + topic``), which keeps them ordered with other messages.
- An event after which the connection is over (``ErrorReceived``,
  ``AuthenticationFailed``, ``PeerClosed``) says so in its docstring; the caller then
  flushes ``data_to_send()`` if it likes and closes the transport.
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import Metadata

__all__ = [
    "AuthenticationFailed",
    "ErrorReceived",
    "Event",
    "HandshakeComplete",
    "Join",
    "Leave",
    "PeerClosed",
    "Ping",
    "Pong",
    "ZapRequest",
]


class Event:
    """Base class of everything that lands in ``ZmtpConnection.events``."""

    __slots__ = ()


@dataclass(frozen=True, eq=True)
class HandshakeComplete(Event):
    """Greeting and security handshake done: messages may flow both ways.

    ``peer_metadata`` holds the peer's READY (or INITIATE) properties with
    case-insensitive lookup, plus, when a ZAP handler was consulted, the
    metadata it returned and its ``User-Id``. ``peer_version`` is the ZMTP
    version spoken on this connection: min(ours, the peer's).
    """

    peer_socket_type: str
    peer_routing_id: bytes
    peer_metadata: Metadata
    peer_version: tuple[int, int]


@dataclass(frozen=True, eq=True)
class Ping(Event):
    """The peer sent PING; the connection has already queued the PONG.

    ``ttl`` is in seconds (0.0: none); the peer may drop the connection if
    it hears nothing from us for that long.
    """

    ttl: float
    context: bytes


@dataclass(frozen=True, eq=True)
class Pong(Event):
    """The peer answered one of our PINGs, echoing its context."""

    context: bytes


@dataclass(frozen=True, eq=True)
class ErrorReceived(Event):
    """The peer sent an ERROR command; the connection is finished.

    RFC 37: treat it as fatal and do not reconnect with the same
    credentials.
    """

    reason: bytes


@dataclass(frozen=True, eq=True)
class ZapRequest(Event):
    """A server mechanism needs a ZAP (RFC 27) decision to continue.

    The caller sends the request to its ZAP handler (adding version,
    request id and peer address) and later calls
    ``conn.zap_reply(status_code, status_text, user_id, metadata)``.
    ``identity`` is the peer's Identity property when already known.
    """

    domain: str
    mechanism: bytes
    credentials: tuple[bytes, ...]
    identity: bytes


@dataclass(frozen=True, eq=True)
class AuthenticationFailed(Event):
    """ZAP refused the peer (status 300, 400 or 500); the connection is finished.

    For 400 and 500 an ERROR command carrying the status code is queued
    for the peer, as libzmq does; 300 (temporary failure) sends none.
    """

    status_code: int
    status_text: bytes


@dataclass(frozen=True, eq=True)
class Join(Event):
    """A DISH peer joined ``group`` (JOIN command)."""

    group: bytes


@dataclass(frozen=True, eq=True)
class Leave(Event):
    """A DISH peer left ``group`` (LEAVE command)."""

    group: bytes


@dataclass(frozen=True, eq=True)
class PeerClosed(Event):
    """The peer closed a ZWS connection (WebSocket close frame); the connection is finished.

    The close frame echoing ``code`` is queued for the peer (RFC 6455 5.5.1);
    the caller flushes it and closes the transport. ``code`` is 1005 when the
    peer's frame carried none.
    """

    code: int
    reason: bytes
