"""ZmtpConnection: one ZMTP peer connection, sans-I/O.

Rules this module keeps:

- No I/O, threads or clocks: the caller feeds received bytes to
  ``receive_data`` and writes whatever ``data_to_send`` (or
  ``buffers_to_send``) returns. Heartbeat *timing* is the caller's: it
  calls ``send_ping`` when it wants and watches for traffic/``Pong``.
- Order on the wire: our greeting (64 octets, queued at construction),
  the mechanism's handshake commands (after the peer's greeting), then
  traffic: messages and commands in the order they were queued.
- Received application messages are returned by ``receive_data`` only
  after the handshake; a message frame before it is a ``ProtocolError``.
  Incoming SUBSCRIBE / CANCEL become messages ``[b"\\x01" + topic]`` /
  ``[b"\\x00" + topic]`` (what libzmq's XPUB sees, and what a 3.0 peer
  sends anyway). PING is answered with PONG here and reported as ``Ping``;
  PONG, ERROR, JOIN, LEAVE become events. Other commands after the
  handshake are ignored, as libzmq ignores them (RFC 37 defines no
  behaviour for them; mechanisms and future versions may add some).
- The peer's READY must announce a Socket-Type compatible with ours
  (RFC 37 table, libzmq's check); if not, an ERROR naming the problem is
  queued for the peer and ``ProtocolError`` is raised.
- Sends made before the handshake completes are held and replayed, in
  order, when it does: the caller may queue messages and subscriptions as
  soon as it creates the connection.
- Subscriptions: ``send_subscribe``/``send_cancel`` send SUBSCRIBE/CANCEL
  commands to a 3.1 peer and ``\\x01``/``\\x00`` messages to a 3.0 peer. On
  a SUB or XSUB connection to a 3.1 peer, single-frame messages starting
  with ``\\x01``/``\\x00`` given to ``send_message(s)`` are turned into those
  commands too, so pipes can carry subscriptions as plain messages.
- PING is not sent to a 3.0 peer (``send_ping`` is then a no-op).
- Once finished (ERROR sent or received, ZAP refusal, ``ProtocolError``),
  the connection ignores further input and drops further sends; the caller
  closes the transport after flushing ``data_to_send()`` if it wishes.

Theory of operation: bytes go first to the ``GreetingParser``; once the
peer's greeting is in, the mechanism starts and everything after goes to
the ``FrameDecoder``. Decoded commands are fed to the mechanism until it
reports ``done``; then ``HandshakeComplete`` is emitted, held sends are
replayed, and, for mechanisms that do not transform traffic (NULL, PLAIN),
``receive_data`` and ``send_messages`` switch to a fast path that is one
decoder call (plus a scan only when the batch holds a command) and one
batch-encoder call respectively.

Output: pending output is a list of buffers. ``data_to_send()`` joins it
into one ``bytes`` (no copy when it is a single chunk, the common case for
a batch of small messages). ``buffers_to_send()`` returns the list itself
for ``socket.sendmsg``: frames of ``copy_threshold`` octets or more appear
in it uncopied, as the caller gave them, so they must not be mutated
until written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from . import errors
from .commands import (
    CANCEL,
    ERROR,
    JOIN,
    LEAVE,
    PING,
    PONG,
    SUBSCRIBE,
    ZMTP_SOCKET_TYPES,
    Metadata,
    check_socket_type,
    decode_command,
    decode_error,
    decode_ping,
    encode_cancel,
    encode_error,
    encode_join,
    encode_leave,
    encode_ping,
    encode_pong,
    encode_properties,
    encode_subscribe,
)
from .errors import ProtocolError
from .events import ErrorReceived, Event, HandshakeComplete, Join, Leave, Ping, Pong
from .frames import (
    COMMAND,
    COPY_THRESHOLD,
    MORE,
    Buffer,
    FrameDecoder,
    encode_command,
    encode_messages_iov,
)
from .greeting import ZMTP_VERSION, Greeting, GreetingParser, build_greeting, negotiate_version
from .mechanisms import Mechanism, make_mechanism

__all__ = ["ZmtpConnection"]

#: Socket types whose READY carries an Identity property (as libzmq sends it).
_SENDS_IDENTITY = frozenset({"REQ", "DEALER", "ROUTER"})
#: Socket types whose outgoing \x01/\x00 messages are subscriptions.
_SUBSCRIBERS = frozenset({"SUB", "XSUB"})

# A message: a list of frames, or a tuple (a run's, see zmtp/frames.py).
Message = Sequence[bytes]
# What decoders hand on: messages of these types, and commands (bytes).
_MESSAGE_TYPES = (list, tuple)
_MESSAGE_TYPE_SET = frozenset(_MESSAGE_TYPES)
_ONE = frozenset((1,))
_first = itemgetter(0)


class ZmtpConnection:
    """The ZMTP protocol state of one connection to one peer (sans-I/O)."""

    __slots__ = (
        "_copy_threshold",
        "_decoder",
        "_deferred",
        "_encode_command",
        "_encode_iov",
        "_fast_recv",
        "_fast_send",
        "_greeting",
        "_properties",
        "_translate_subs",
        "_version",
        "_wrapped_parts",
        "as_server",
        "events",
        "failure_code",
        "finished",
        "handshake_complete",
        "maxmsgsize",
        "mechanism",
        "out",
        "peer_greeting",
        "peer_metadata",
        "peer_routing_id",
        "peer_socket_type",
        "peer_version",
        "socket_type",
        "__weakref__",
    )

    #: SUBSCRIBE/CANCEL go out as commands to a 3.1 peer (ZWS sends messages).
    _subs_as_commands = True

    def __init__(
        self,
        *,
        socket_type: str,
        as_server: bool = False,
        mechanism: Mechanism | str | bytes | None = None,
        routing_id: bytes = b"",
        metadata: Mapping[str, bytes] | None = None,
        maxmsgsize: int = -1,
        zmtp_version: tuple[int, int] = ZMTP_VERSION,
        copy_threshold: int = COPY_THRESHOLD,
    ) -> None:
        """Set up a connection and queue our greeting.

        ``as_server``: our security role (the binding side, by convention).
        ``mechanism``: a fresh ``Mechanism`` instance or a name ("NULL").
        ``routing_id``: sent as the Identity property by REQ/DEALER/ROUTER.
        ``metadata``: application properties, names starting with "X-".
        ``maxmsgsize``: largest frame accepted, -1 for no limit.
        ``zmtp_version``: (3, 1), or (3, 0) to act as a 3.0 peer (tests).
        ``copy_threshold``: frames this big are not copied by ``buffers_to_send``.
        """
        if socket_type not in ZMTP_SOCKET_TYPES:
            raise ValueError(f"{socket_type!r} is not a socket type that speaks ZMTP")
        if zmtp_version not in ((3, 0), (3, 1)):
            raise ValueError(f"unsupported ZMTP version {zmtp_version}")
        if len(routing_id) > 255:
            raise ValueError("routing_id is at most 255 octets")
        props: list[tuple[str, bytes]] = [("Socket-Type", socket_type.encode("ascii"))]
        if socket_type in _SENDS_IDENTITY:
            props.append(("Identity", bytes(routing_id)))
        for name, value in (metadata or {}).items():
            if not name[:2].upper() == "X-":
                raise ValueError(f"application metadata name {name!r} must start with 'X-'")
            props.append((name, value))

        self.socket_type = socket_type
        self.as_server = as_server
        self.maxmsgsize = maxmsgsize
        self.mechanism = make_mechanism(mechanism)
        #: Events other than messages, in order; the caller drains this list.
        self.events: list[Event] = []
        #: True once greeting and security handshake are complete.
        self.handshake_complete = False
        #: True once the connection is over (the caller should close it).
        self.finished = False
        #: libzmq's ZMQ_PROTOCOL_ERROR_* value for the ProtocolError that finished it.
        self.failure_code = errors.UNSPECIFIED
        #: The peer's greeting as received (its announced version).
        self.peer_greeting: Greeting | None = None
        #: The ZMTP version spoken: min(ours, the peer's), once known.
        self.peer_version: tuple[int, int] | None = None
        self.peer_socket_type: str | None = None
        self.peer_routing_id = b""
        self.peer_metadata: Metadata | None = None

        self._version = zmtp_version
        self._copy_threshold = copy_threshold
        self._properties = encode_properties(props)
        self._greeting: GreetingParser | None = GreetingParser(self.mechanism.name)
        self._decoder = FrameDecoder(maxmsgsize)
        # Pending output (read it to test for some; take it with
        # buffers_to_send or data_to_send).
        self.out: list[Buffer] = [
            build_greeting(
                self.mechanism.name,
                as_server and self.mechanism.announces_role,
                zmtp_version,
            )
        ]
        self._deferred: list[Callable[[], None]] = []
        # The framing: ZMTP's here; a subclass speaking another framing
        # (zmtp/ws_connection.py: ZWS over WebSocket) swaps these.
        self._encode_iov: Callable[[Iterable[Sequence[Buffer]], int], list[Buffer]] = (
            encode_messages_iov
        )
        self._encode_command: Callable[[Buffer], Buffer] = encode_command
        self._fast_recv = False
        self._fast_send = False
        self._translate_subs = False
        self._wrapped_parts: list[bytes] = []

    # ------------------------------------------------------------------
    # Output

    @property
    def has_data_to_send(self) -> bool:
        """True if ``data_to_send()`` would return something."""
        return bool(self.out)

    def data_to_send(self) -> bytes:
        """Return and clear all pending output as one ``bytes``."""
        out = self.out
        if not out:
            return b""
        self.out = []
        if len(out) == 1 and type(out[0]) is bytes:
            return out[0]
        return b"".join(out)

    def buffers_to_send(self) -> list[Buffer]:
        """Return and clear pending output as buffers for ``socket.sendmsg``."""
        out = self.out
        self.out = []
        return out

    # ------------------------------------------------------------------
    # Input

    def receive_data(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Feed received bytes; return the complete messages they finish.

        Other happenings are appended to ``self.events``. Raises
        ``ProtocolError`` on malformed or disallowed input.
        """
        if self._fast_recv:
            dec = self._decoder
            try:
                items = dec.feed(data)
                if dec.saw_command:
                    return self._traffic(items)
            except ProtocolError as exc:
                self._finish(exc)
                raise
            return items
        return self._receive_slow(data)

    def read_buffers(self) -> list[memoryview] | None:
        """Buffers for the next read (``recvmsg_into``), then ``receive_filled``; or
        None: read into a new ``bytes`` and call ``receive_data`` (FrameDecoder)."""
        return self._decoder.read_buffers()

    def receive_filled(self, n: int) -> list[Message]:
        """``receive_data`` for ``n`` octets read into the last ``read_buffers``."""
        dec = self._decoder
        try:
            items = dec.filled(n)
            if self._fast_recv:
                return self._traffic(items) if dec.saw_command else items
            if self.finished:
                return []
            return self._process(items)
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def _receive_slow(self, data: bytes | bytearray | memoryview) -> list[Message]:
        """Greeting, handshake, wrapped traffic, or a finished connection."""
        if self.finished:
            return []
        try:
            if self.peer_greeting is None:
                parser = self._greeting
                assert parser is not None  # dropped only once the greeting is in
                used = parser.feed(data)
                greeting = parser.greeting
                if greeting is None:
                    return []
                self._greeting = None  # its buffer is not needed again (memory per peer)
                self._on_greeting(greeting)
                data = memoryview(data)[used:]
                if not data:
                    return []
            items = self._decoder.feed(data)
            return self._process(items)
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def _on_greeting(self, greeting: Greeting) -> None:
        """The peer's greeting is in: start the security handshake."""
        self.peer_greeting = greeting
        self.peer_version = negotiate_version(self._version, greeting.version)
        self.mechanism.start(
            as_server=self.as_server,
            properties=self._properties,
            validate=self._validate_peer,
            peer_version=self.peer_version,
        )
        self._sync_mechanism()

    def _process(self, items: list[Any]) -> list[Message]:
        """Handle decoded items during the handshake or with wrapped traffic."""
        i = 0
        n = len(items)
        mech = self.mechanism
        while not self.handshake_complete and i < n:
            item = items[i]
            i += 1
            if type(item) in _MESSAGE_TYPES:
                raise ProtocolError("message received before the security handshake completed")
            mech.receive_command(item)
            self._sync_mechanism()
            if self.finished:
                return []
        rest = items[i:] if i else items
        if not rest:
            return []
        if mech.transforms_traffic:
            return self._unwrap(rest)
        if any(type(item) is bytes for item in rest):
            return self._traffic(rest)
        return rest

    def _traffic(self, items: list[Any]) -> list[Message]:
        """Split post-handshake items into messages, handling commands."""
        msgs: list[Message] = []
        ap = msgs.append
        for item in items:
            if type(item) in _MESSAGE_TYPES:
                ap(item)
                continue
            self._command(item, ap)
            if self.finished:
                break
        return msgs

    def _unwrap(self, items: list[Any]) -> list[Message]:
        """Post-handshake items of a traffic-transforming mechanism."""
        mech = self.mechanism
        bodies: list[bytes]
        if set(map(len, items)) == _ONE and set(map(type, items)) <= _MESSAGE_TYPE_SET:
            bodies = list(map(_first, items))  # all one-frame messages: C loops
        else:
            bodies = []
            bap = bodies.append
            for item in items:
                if type(item) in _MESSAGE_TYPES:
                    # libzmq sends CURVE MESSAGE commands in plain data frames.
                    if len(item) != 1:
                        raise ProtocolError(
                            f"unwrapped message frame on a {mech.name.decode()} connection"
                        )
                    bap(item[0])
                else:
                    bap(item)
        msgs: list[Message] = []
        ap = msgs.append
        parts = self._wrapped_parts
        i = 0
        n = len(bodies)
        while i < n:
            flags, payloads = mech.unwrap_many(bodies, i)
            i += len(flags)
            if not parts and not any(flags):
                msgs += zip(payloads)  # each frame a whole message (a 1-tuple)
                continue
            for f, payload in zip(flags, payloads, strict=True):
                if f & COMMAND:
                    if parts:
                        raise ProtocolError("command frame inside a multipart message")
                    self._command(payload, ap)
                    if self.finished:
                        return msgs
                elif f & MORE:
                    parts.append(payload)
                else:
                    parts.append(payload)
                    ap(parts)
                    parts = self._wrapped_parts = []
        return msgs

    def _command(self, body: bytes, ap: Callable[[Message], None]) -> None:
        """Handle one command after the handshake."""
        name, data = decode_command(body)
        if name == SUBSCRIBE:
            ap([b"\x01" + data])
        elif name == CANCEL:
            ap([b"\x00" + data])
        elif name == PING:
            ttl, context = decode_ping(data)
            self.events.append(Ping(ttl / 10.0, context))
            self._queue_command(encode_pong(context))
        elif name == PONG:
            self.events.append(Pong(data))
        elif name == ERROR:
            self.events.append(ErrorReceived(decode_error(data)))
            self._finish()
        elif name == JOIN:
            self.events.append(Join(data))
        elif name == LEAVE:
            self.events.append(Leave(data))
        # Any other command is ignored, as libzmq does.

    # ------------------------------------------------------------------
    # Handshake

    def _validate_peer(self, props: Metadata) -> None:
        """Check the peer's metadata; queue ERROR and raise if unacceptable."""
        try:
            raw = props.get("Socket-Type")
            if raw is None:
                raise ProtocolError(
                    "peer's metadata has no Socket-Type property", errors.INVALID_METADATA
                )
            check_socket_type(self.socket_type, raw.decode("ascii", "backslashreplace"))
            if len(props.get("Identity", b"")) > 255:
                raise ProtocolError(
                    "peer's Identity property exceeds 255 octets", errors.INVALID_METADATA
                )
        except ProtocolError as exc:
            self.out.append(self._encode_command(encode_error(str(exc))))
            raise

    def _sync_mechanism(self) -> None:
        """Collect the mechanism's output, events and state changes."""
        mech = self.mechanism
        if mech.outgoing:
            self.out.extend(map(self._encode_command, mech.outgoing))
            mech.outgoing.clear()
        if mech.events:
            self.events.extend(mech.events)
            mech.events.clear()
        if mech.finished:
            self._finish()
        elif mech.done and not self.handshake_complete:
            self._complete_handshake()

    def _complete_handshake(self) -> None:
        """Record the peer, emit HandshakeComplete, replay held sends."""
        mech = self.mechanism
        props = mech.peer_properties
        version = self.peer_version or ZMTP_VERSION
        self.peer_metadata = props
        # (No Socket-Type only where no mechanism ran: ZWS2.0 without one.)
        self.peer_socket_type = props.get("Socket-Type", b"").decode("ascii")
        self.peer_routing_id = props.get("Identity", b"")
        self.handshake_complete = True
        plain = not mech.transforms_traffic
        self._translate_subs = (
            self._subs_as_commands and self.socket_type in _SUBSCRIBERS and version >= (3, 1)
        )
        self._fast_recv = plain
        self._fast_send = plain and not self._translate_subs
        self.events.append(
            HandshakeComplete(self.peer_socket_type, self.peer_routing_id, props, version)
        )
        deferred = self._deferred
        self._deferred = []
        for action in deferred:
            action()

    def zap_reply(
        self,
        status_code: int | str | bytes,
        status_text: bytes = b"",
        user_id: bytes = b"",
        metadata: bytes | Mapping[str, bytes] = b"",
    ) -> None:
        """Deliver the ZAP handler's answer to a ``ZapRequest`` event."""
        if self.finished:
            return
        try:
            self.mechanism.zap_reply(status_code, status_text, user_id, metadata)
            self._sync_mechanism()
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def zap_unavailable(self) -> None:
        """Answer a ``ZapRequest`` with "there is no ZAP handler".

        The mechanism then does what libzmq does without a handler: NULL
        and CURVE go on, PLAIN refuses the peer (``AuthenticationFailed``).
        """
        if self.finished:
            return
        try:
            self.mechanism.zap_unavailable()
            self._sync_mechanism()
        except ProtocolError as exc:
            self._finish(exc)
            raise

    def _finish(self, error: ProtocolError | None = None) -> None:
        """The connection is over: stop decoding and sending."""
        if error is not None:
            self.failure_code = error.code
        self.finished = True
        self._fast_recv = False
        self._fast_send = False
        self._deferred.clear()

    # ------------------------------------------------------------------
    # Sending

    def send_message(self, parts: Sequence[Buffer]) -> None:
        """Queue one (multipart) message."""
        self.send_messages((parts,))

    def send_messages(self, msgs: Iterable[Sequence[Buffer]]) -> None:
        """Queue many messages; they are encoded as one batch."""
        if self._fast_send:
            iov = self._encode_iov(msgs, self._copy_threshold)
            if self.out:
                self.out += iov
            else:
                self.out = iov
            return
        self._send_slow(msgs)

    def takes_encoded(self) -> bool:
        """Can messages come ZMTP-encoded already (``send_encoded``)? Not before
        the handshake, nor when the mechanism or framing transforms them."""
        return self._fast_send

    def send_encoded(self, data: bytes) -> None:
        """Queue messages already ZMTP-encoded (``frames.wire_bytes``)."""
        if not self._fast_send:
            if self.finished:  # dropped, as any send on a finished connection
                return
            raise ValueError("this connection cannot take encoded messages now")
        self.out.append(data)

    def _send_slow(self, msgs: Iterable[Sequence[Buffer]]) -> None:
        """Sends that are held, dropped, translated or wrapped."""
        if self.finished:
            return
        if not self.handshake_complete:
            held = [list(m) for m in msgs]
            if held:
                self._deferred.append(lambda: self.send_messages(held))
            return
        out = self.out
        if self.mechanism.transforms_traffic:
            self._wrap_messages(msgs)
            return
        # A SUB/XSUB connection to a 3.1 peer: subscriptions become commands.
        for msg in msgs:
            if len(msg) == 1 and len(msg[0]) and msg[0][0] in (0, 1):
                topic = msg[0][1:]
                self._queue_command(encode_subscribe(topic) if msg[0][0] else encode_cancel(topic))
            else:
                out.extend(self._encode_iov((msg,), self._copy_threshold))

    def _wrap_messages(self, msgs: Iterable[Sequence[Buffer]]) -> None:
        """Messages through a traffic-transforming mechanism, framed for the wire."""
        self.mechanism.wrap_messages(msgs, self.out)

    def _wrap(self, flags: int, payload: Buffer) -> Buffer:
        """One frame through a traffic-transforming mechanism, framed for the wire."""
        return self.mechanism.wrap(flags, payload)

    def _queue_command(self, body: bytes) -> None:
        """Queue a command body after the handshake (wrapped if needed)."""
        if self.mechanism.transforms_traffic:
            self.out.append(self._wrap(COMMAND, body))
        else:
            self.out.append(self._encode_command(body))

    def _after_handshake(self, action: Callable[[], None]) -> bool:
        """Hold ``action`` until the handshake completes; True if held or dropped."""
        if self.finished:
            return True
        if not self.handshake_complete:
            self._deferred.append(action)
            return True
        return False

    def send_subscribe(self, topic: Buffer) -> None:
        """Subscribe to ``topic``: SUBSCRIBE (3.1) or a ``\\x01`` message (3.0)."""
        topic = bytes(topic)
        if self._after_handshake(lambda: self.send_subscribe(topic)):
            return
        if self.peer_version == (3, 0):
            self.out.extend(self._encode_iov(([b"\x01" + topic],), self._copy_threshold))
        else:
            self._queue_command(encode_subscribe(topic))

    def send_cancel(self, topic: Buffer) -> None:
        """Cancel a subscription: CANCEL (3.1) or a ``\\x00`` message (3.0)."""
        topic = bytes(topic)
        if self._after_handshake(lambda: self.send_cancel(topic)):
            return
        if self.peer_version == (3, 0):
            self.out.extend(self._encode_iov(([b"\x00" + topic],), self._copy_threshold))
        else:
            self._queue_command(encode_cancel(topic))

    def send_join(self, group: Buffer) -> None:
        """Send JOIN for a RADIO/DISH ``group``."""
        body = encode_join(bytes(group))
        if not self._after_handshake(lambda: self._queue_command(body)):
            self._queue_command(body)

    def send_leave(self, group: Buffer) -> None:
        """Send LEAVE for a RADIO/DISH ``group``."""
        body = encode_leave(bytes(group))
        if not self._after_handshake(lambda: self._queue_command(body)):
            self._queue_command(body)

    def send_ping(self, ttl: float = 0.0, context: Buffer = b"") -> None:
        """Send PING with a TTL in seconds (0-6553.5) and 0-16 octets context.

        A no-op on a ZMTP 3.0 connection, which has no PING.
        """
        body = encode_ping(int(round(ttl * 10)), bytes(context))
        if self._after_handshake(lambda: self.send_ping(ttl, context)):
            return
        if self.peer_version != (3, 0):
            self._queue_command(body)

    def send_pong(self, context: Buffer = b"") -> None:
        """Send PONG echoing ``context`` (replies to PING are automatic)."""
        body = encode_pong(bytes(context))
        if not self._after_handshake(lambda: self._queue_command(body)):
            self._queue_command(body)

    def send_error(self, reason: bytes | str) -> None:
        """Send ERROR (fatal, meant for the handshake) and finish the connection."""
        if self.finished:
            return
        self.out.append(self._encode_command(encode_error(reason)))
        self._finish()

    def __repr__(self) -> str:
        """Show type, role and state for logs."""
        if self.finished:
            state = "finished"
        elif self.handshake_complete:
            state = f"ready peer={self.peer_socket_type} v{self.peer_version}"
        elif self.peer_greeting is not None:
            state = "handshaking"
        else:
            state = "greeting"
        role = "server" if self.as_server else "client"
        return f"<ZmtpConnection {self.socket_type} {role} {self.mechanism.name.decode()} {state}>"
