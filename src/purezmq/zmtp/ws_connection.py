"""ZwsConnection: one ZeroMQ-over-WebSocket peer (RFC 45, ZWS 2.0), sans-I/O.

Rules this module keeps (beyond those of ``ZmtpConnection``, which it is):

- Order on the wire: [TLS handshake, for wss://], the HTTP upgrade (the
  client's request, the server's 101; zmtp/ws_upgrade.py), then -- with no
  ZMTP greeting at all, as libzmq 4.3.5 -- the security handshake of the
  mechanism the subprotocol names (``ZWS2.0/NULL``, ``/PLAIN``, ``/CURVE``:
  READY, HELLO, ... as ZWS command frames), then traffic. The mechanism
  objects are ZMTP's own (zmtp/mechanisms/): one mechanism, two framings.
- ``ZWS2.0`` (no mechanism, offered after ``ZWS2.0/NULL`` by a NULL client
  and accepted by a NULL server): each side's first message is its routing
  id, one frame; no metadata, no socket-type check.
- ``ws_client`` (the connecting side) masks what it sends and expects
  unmasked frames; the server the reverse. ``as_server`` stays the security
  role, as on tcp.
- Subscriptions travel as ``\\x01``/``\\x00`` messages, never as SUBSCRIBE /
  CANCEL commands (libzmq's ZWS peers drop commands they do not know);
  incoming SUBSCRIBE/CANCEL commands are still understood.
- Heartbeats are WebSocket ping/pong frames (libzmq's ZWS heartbeat):
  ``send_ping`` sends a ping; a received ping is answered with a pong of the
  same payload and reported as ``Ping(0, payload)``; a pong as ``Pong``. A
  ZMTP PING command is answered with PONG too, as on tcp.
- A close frame is echoed and reported as ``PeerClosed``; the connection is
  then finished. We never send close frames ourselves: closing the socket
  closes the TCP connection, as libzmq does.
- With ``tls`` (a zmtp/tls.py ``TlsLayer``) every octet in and out goes
  through it; ``has_data_to_send`` also counts TLS output, which input alone
  can produce (handshake records).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .commands import Metadata
from .connection import Message, ZmtpConnection
from .errors import ProtocolError
from .events import PeerClosed, Ping, Pong
from .frames import Buffer
from .mechanisms import Mechanism
from .mechanisms.base import wrap_each
from .tls import TlsLayer
from .ws_frames import (
    CLOSE,
    PING,
    PONG,
    Control,
    ZwsDecoder,
    encode_control,
    encode_zws_command,
    encode_zws_command_masked,
    encode_zws_iov,
    encode_zws_masked,
)
from .ws_upgrade import ClientUpgrade, ServerUpgrade, zws_protocols

__all__ = ["ZwsConnection"]

#: The ZWS version the peer speaks, as reported in ``HandshakeComplete``.
ZWS_VERSION = (3, 1)


class ZwsConnection(ZmtpConnection):
    """The ZWS protocol state of one WebSocket connection (sans-I/O)."""

    _subs_as_commands = False

    def takes_encoded(self) -> bool:
        return False  # ZWS frames messages its own way

    def __init__(
        self,
        *,
        socket_type: str,
        ws_client: bool,
        as_server: bool = False,
        mechanism: Mechanism | str | bytes | None = None,
        routing_id: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        host: str = "localhost",
        path: str = "/",
        tls: TlsLayer | None = None,
        copy_threshold: int = 65536,
    ) -> None:
        """Set up a connection; a client queues its upgrade request at once.

        ``ws_client``: the connecting side (sends the request, masks frames).
        ``host``/``path``: the client's Host header and request target.
        ``tls``: a TLS session every octet goes through (wss://).
        The other arguments are ``ZmtpConnection``'s.
        """
        super().__init__(
            socket_type=socket_type,
            as_server=as_server,
            mechanism=mechanism,
            routing_id=routing_id,
            metadata=metadata,
            maxmsgsize=maxmsgsize,
            copy_threshold=copy_threshold,
        )
        self.out = []  # no ZMTP greeting
        self.ws_client = ws_client
        self._tls = tls
        self._routing_id = bytes(routing_id)
        protocols = zws_protocols(self.mechanism.name.decode("ascii"))
        self._upgrade: ClientUpgrade | ServerUpgrade | None
        if ws_client:
            client = ClientUpgrade(host, path, protocols)
            self._upgrade = client
            self.out.append(client.request)
        else:
            self._upgrade = ServerUpgrade(protocols)
        #: The subprotocol both sides agreed on ("ZWS2.0/NULL", ...), once upgraded.
        self.protocol = ""
        #: The request path (server side), once upgraded.
        self.path = path if ws_client else ""
        self._no_mechanism = False
        self._decoder = ZwsDecoder(maxmsgsize, masked=not ws_client)  # type: ignore[assignment]
        encode_iov: Callable[[Iterable[Sequence[Buffer]], int], list[Buffer]]
        if ws_client:
            encode_iov = encode_zws_masked
            self._encode_command = encode_zws_command_masked
        else:
            encode_iov = encode_zws_iov
            self._encode_command = encode_zws_command
        self._encode_iov = encode_iov

    # ------------------------------------------------------------------
    # Output (through TLS when there is one)

    @property
    def has_data_to_send(self) -> bool:
        """True if ``data_to_send()`` would return something."""
        tls = self._tls
        return bool(self.out) or (tls is not None and tls.has_output)

    def buffers_to_send(self) -> list[Buffer]:
        """Return and clear pending output as buffers for ``socket.sendmsg``."""
        out = self.out
        self.out = []
        tls = self._tls
        if tls is None:
            return out
        if out:
            try:
                tls.send(out)
            except ProtocolError as exc:  # not seen in practice: the peer is gone anyway
                self._finish(exc)
        return [tls.take()] if tls.has_output else []

    def data_to_send(self) -> bytes:
        """Return and clear all pending output as one ``bytes``."""
        bufs = self.buffers_to_send()
        if len(bufs) == 1 and type(bufs[0]) is bytes:
            return bufs[0]
        return b"".join(bufs)

    # ------------------------------------------------------------------
    # Input

    def read_buffers(self) -> list[memoryview] | None:
        """Always None: a WebSocket payload is unmasked (and wss decrypted) on its
        way in, so it is never read in place."""
        return None

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Feed received bytes; return the complete messages they finish."""
        tls = self._tls
        if tls is not None:
            if self.finished:
                return []
            try:
                data = tls.receive(data)
            except ProtocolError as exc:
                self._finish(exc)
                raise
            if not data:
                return []
        if self._upgrade is not None:
            return self._receive_upgrade(data)
        return super().receive_data(data)

    def _receive_upgrade(self, data: bytes | bytearray | memoryview) -> list[Message]:
        if self.finished:
            return []
        up = self._upgrade
        assert up is not None
        try:
            rest = up.feed(bytes(data))
            if rest is None:
                return []
            self._upgrade = None
            self.protocol = up.protocol
            if isinstance(up, ServerUpgrade):
                self.path = up.path
                self.out.append(up.response)
            self._start_traffic()
            if not rest or self.finished:
                return []
            return self._receive_slow(rest)
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def _start_traffic(self) -> None:
        """The upgrade is done: start the mechanism the subprotocol names."""
        if self.protocol == "ZWS2.0":
            self._no_mechanism = True
            self.out.extend(self._encode_iov(([self._routing_id],), self._copy_threshold))
            return
        self.peer_version = ZWS_VERSION
        self.mechanism.start(
            as_server=self.as_server,
            properties=self._properties,
            validate=self._validate_peer,
            peer_version=ZWS_VERSION,
        )
        self._sync_mechanism()

    def _receive_slow(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """The security handshake, wrapped traffic, or a finished connection."""
        if self.finished:
            return []
        try:
            return self._process(self._decoder.feed(data))
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def _process(self, items: list[Any]) -> list[Message]:
        """Handle decoded items during the handshake or with wrapped traffic."""
        i = 0
        n = len(items)
        mech = self.mechanism
        while not self.handshake_complete and i < n:
            item = items[i]
            i += 1
            if type(item) is Control:
                self._control(item)
            elif self._no_mechanism:
                if type(item) is not list or len(item) != 1:
                    raise ProtocolError(
                        "ZWS2.0 without a mechanism: the peer's first message must be "
                        "its routing id, one frame"
                    )
                self._complete_handshake(Metadata({"Identity": item[0]}))
            elif type(item) is list:
                raise ProtocolError("message received before the security handshake completed")
            else:
                mech.receive_command(item)
                self._sync_mechanism()
            if self.finished:
                return []
        rest = items[i:] if i else items
        if not rest:
            return []
        if mech.transforms_traffic and not self._no_mechanism:
            return self._unwrap_ws(rest)
        if any(type(item) is not list for item in rest):
            return self._traffic(rest)
        return rest

    def _unwrap_ws(self, items: list[Any]) -> list[Message]:
        """Post-handshake items of a traffic-transforming mechanism (CURVE)."""
        data = []
        for item in items:
            if type(item) is Control:
                self._control(item)
                if self.finished:
                    return []
            else:
                data.append(item)
        return self._unwrap(data) if data else []

    def _command(self, body: Any, ap: Callable[[Message], None]) -> None:
        """One command, or one WebSocket control frame, after the handshake."""
        if type(body) is Control:
            self._control(body)
        else:
            super()._command(body, ap)

    def _control(self, frame: Control) -> None:
        """Answer a WebSocket close, ping or pong frame."""
        opcode, payload = frame
        if opcode == PING:
            self.out.append(encode_control(PONG, payload, self.ws_client))
            self.events.append(Ping(0.0, payload))
        elif opcode == PONG:
            self.events.append(Pong(payload))
        elif opcode == CLOSE:
            if len(payload) == 1:
                raise ProtocolError("WebSocket close frame with a 1-octet payload")
            code = int.from_bytes(payload[:2], "big") if payload else 1005
            echo = payload[:2]
            self.out.append(encode_control(CLOSE, echo, self.ws_client))
            self.events.append(PeerClosed(code, payload[2:]))
            self._finish()

    def _complete_handshake(self, props: Metadata | None = None) -> None:
        """Record the peer, emit HandshakeComplete, replay held sends."""
        if props is None:
            super()._complete_handshake()
            return
        # ZWS2.0 with no mechanism: the NULL mechanism object never ran.
        mech = self.mechanism
        saved = mech.peer_properties
        mech.peer_properties = props
        try:
            self.peer_version = ZWS_VERSION
            super()._complete_handshake()
        finally:
            mech.peer_properties = saved

    # ------------------------------------------------------------------
    # Sending

    def _wrap(self, flags: int, payload: Buffer) -> Buffer:
        """A frame through CURVE: its MESSAGE body in a ZWS data frame (flags 0, as libzmq)."""
        body = self.mechanism.wrap_body(flags, payload)
        return self._encode_iov(([body],), 1 << 62)[0]

    def _wrap_messages(self, msgs: Iterable[Sequence[Buffer]]) -> None:
        """Each frame through ``_wrap`` (the mechanism's batch frames them for ZMTP)."""
        wrap_each(self._wrap, msgs, self.out)

    def send_subscribe(self, topic: Buffer) -> None:
        """Subscribe to ``topic``: a ``\\x01`` + topic message (ZWS has no SUBSCRIBE)."""
        self.send_messages(([b"\x01" + bytes(topic)],))

    def send_cancel(self, topic: Buffer) -> None:
        """Cancel a subscription: a ``\\x00`` + topic message."""
        self.send_messages(([b"\x00" + bytes(topic)],))

    def send_ping(self, ttl: float = 0.0, context: Buffer = b"") -> None:
        """Send a WebSocket ping (``ttl`` has no place in it; at most 125 octets of context)."""
        payload = bytes(context)
        if self._after_handshake(lambda: self.send_ping(ttl, payload)):
            return
        self.out.append(encode_control(PING, payload, self.ws_client))

    def __repr__(self) -> str:
        """Show type, role and state for logs."""
        if self.finished:
            state = "finished"
        elif self.handshake_complete:
            state = f"ready {self.protocol}"
        elif self._upgrade is None:
            state = f"handshaking {self.protocol}"
        else:
            state = "upgrading"
        role = "client" if self.ws_client else "server"
        return f"<ZwsConnection {self.socket_type} ws-{role} {state}>"
