"""The security-mechanism interface: a handshake state machine per connection.

Rules this module keeps (RFC 37 "Authentication and Confidentiality",
RFC 27 ZAP):

- A mechanism object serves exactly one connection; make a new one for
  each connection.
- It never does I/O. Its inputs are method calls: ``start`` (greetings
  exchanged), ``receive_command`` (a handshake command body arrived),
  ``zap_reply`` (the ZAP handler answered). Its outputs are attributes the
  connection drains after every call: ``outgoing`` (command bodies to send,
  in order), ``events`` (``ZapRequest``, ``ErrorReceived``,
  ``AuthenticationFailed``), and the flags ``done`` (handshake complete,
  ``peer_properties`` final) and ``finished`` (handshake failed; the
  connection is over).
- An ERROR command from the peer at any point of the handshake yields
  ``ErrorReceived`` and finishes the handshake, for every mechanism.
- Anything else unexpected is a ``ProtocolError`` naming the command.
- Peer metadata is checked by the ``validate`` callback the connection
  passes to ``start`` (socket-type compatibility), as soon as the
  mechanism has parsed it and before it answers: a server must not send
  READY to a peer it will reject.
- ZAP is asynchronous: a server mechanism that needs a decision calls
  ``_request_zap`` (an event for the caller) and waits; the caller's
  ``zap_reply`` resumes it. Status 200 continues via ``_zap_accepted``;
  anything else finishes the handshake with ``AuthenticationFailed`` and,
  except for 300, an ERROR carrying the status code (libzmq's behaviour).
  When the caller has no ZAP handler it calls ``zap_unavailable`` instead,
  and the mechanism applies libzmq's policy (``_zap_missing``).
- After the handshake a mechanism may transform traffic. NULL and PLAIN
  do not (``transforms_traffic = False``) and the connection then skips
  the hooks entirely. CURVE sets it and implements ``wrap`` (one frame
  to wire bytes, e.g. a MESSAGE command) and ``unwrap`` (a received
  command body back to ``(flags, payload)``, flags using the frame bits
  MORE and COMMAND). The connection calls their batch forms,
  ``wrap_messages`` and ``unwrap_many``, which default to a loop over
  them.

Theory of operation: subclasses implement ``_on_start`` and
``_on_command`` as explicit state machines (see ``null.py``) using the
helpers ``_send``, ``_complete``, ``_request_zap`` and ``_zap_accepted``.
PLAIN and CURVE slot in as a client class and a server class each, chosen
by the ``as_server`` flag given to ``start``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ClassVar

from .. import errors
from ..commands import (
    ERROR,
    Metadata,
    decode_command,
    decode_error,
    decode_properties,
    encode_error,
)
from ..errors import ProtocolError
from ..events import AuthenticationFailed, ErrorReceived, Event, ZapRequest
from ..frames import COMMAND, MORE, Buffer

__all__ = ["Mechanism", "wrap_each"]

#: Checks the peer's metadata; raises ProtocolError to reject the peer.
Validator = Callable[[Metadata], None]


def _no_validation(props: Metadata) -> None:
    """Accept any metadata (the default before ``start``)."""


class Mechanism:
    """Base class of security mechanisms (NULL here; PLAIN and CURVE later)."""

    #: Mechanism name as it appears in the greeting.
    name: ClassVar[bytes] = b""
    #: True if the greeting's as-server octet reflects our role (PLAIN,
    #: CURVE); NULL leaves it zero as RFC 37 requires.
    announces_role: ClassVar[bool] = False
    #: True if messages after the handshake pass through ``wrap``/``unwrap``.
    transforms_traffic: ClassVar[bool] = False

    def __init__(self, zap_domain: str | None = None) -> None:
        """Create a mechanism; a server asks ZAP when ``zap_domain`` is set."""
        self.zap_domain = zap_domain or None
        self.as_server = False
        self.peer_version: tuple[int, int] = (3, 1)
        #: Command bodies to send, drained by the connection.
        self.outgoing: list[bytes] = []
        #: Events for the connection's caller, drained by the connection.
        self.events: list[Event] = []
        #: Handshake complete; ``peer_properties`` is final.
        self.done = False
        #: Handshake failed or the peer sent ERROR; the connection is over.
        self.finished = False
        #: The peer's metadata (and ZAP's, once accepted).
        self.peer_properties = Metadata()
        #: User id from the ZAP handler, if one was consulted.
        self.user_id = b""
        self.zap_pending = False
        self._properties = b""
        self._validate: Validator = _no_validation
        self._started = False

    # -- inputs -------------------------------------------------------------

    def start(
        self,
        *,
        as_server: bool,
        properties: bytes,
        validate: Validator = _no_validation,
        peer_version: tuple[int, int] = (3, 1),
    ) -> None:
        """Greetings are exchanged: begin the handshake.

        ``properties`` is our encoded metadata property list (Socket-Type,
        Identity, application properties) for READY/INITIATE.
        """
        if self._started:
            raise RuntimeError("a Mechanism serves one connection; create a new one")
        self._started = True
        self.as_server = as_server
        self._properties = properties
        self._validate = validate
        self.peer_version = peer_version
        self._on_start()

    def receive_command(self, body: bytes) -> None:
        """A handshake command body arrived from the peer."""
        name, data = decode_command(body)
        if name == ERROR:
            self.events.append(ErrorReceived(decode_error(data)))
            self.finished = True
            return
        if self.finished:
            return
        self._on_command(name, data)

    def zap_reply(
        self,
        status_code: int | str | bytes,
        status_text: bytes = b"",
        user_id: bytes = b"",
        metadata: bytes | Mapping[str, bytes] = b"",
    ) -> None:
        """The ZAP handler answered the request this mechanism made."""
        if not self.zap_pending:
            raise RuntimeError("zap_reply() called but no ZAP request is pending")
        self.zap_pending = False
        try:
            code = int(status_code)
        except ValueError:
            raise ProtocolError(f"malformed ZAP reply: status code {status_code!r}") from None
        if code != 200:
            self.events.append(AuthenticationFailed(code, bytes(status_text)))
            if code != 300:
                self._send(encode_error(str(code)))
            self.finished = True
            return
        if isinstance(metadata, (bytes, bytearray, memoryview)):
            try:
                zap_props = decode_properties(bytes(metadata))
            except ProtocolError as exc:
                raise ProtocolError(f"malformed ZAP reply metadata: {exc}") from None
        else:
            zap_props = Metadata(metadata)
        for key, value in zap_props.items():
            self.peer_properties[key] = value
        self.user_id = bytes(user_id)
        if self.user_id:
            self.peer_properties["User-Id"] = self.user_id
        self._zap_accepted()

    def zap_unavailable(self) -> None:
        """The caller has no ZAP handler to ask about the pending request.

        What happens then is the mechanism's policy (``_zap_missing``), as
        in libzmq 4.3: NULL and CURVE go on without ZAP, PLAIN refuses the
        peer.
        """
        if not self.zap_pending:
            raise RuntimeError("zap_unavailable() called but no ZAP request is pending")
        self.zap_pending = False
        self._zap_missing()

    # -- traffic hooks (only when transforms_traffic) -----------------------

    def wrap(self, flags: int, payload: Buffer) -> bytes:
        """Return the wire bytes carrying one frame (flags: MORE/COMMAND)."""
        raise NotImplementedError(f"{type(self).__name__} does not transform traffic")

    def wrap_body(self, flags: int, payload: Buffer) -> bytes:
        """Return the command body carrying one frame (framing left to the caller)."""
        raise NotImplementedError(f"{type(self).__name__} does not transform traffic")

    def unwrap(self, body: bytes) -> tuple[int, bytes]:
        """Return ``(flags, payload)`` carried by a received command body."""
        raise NotImplementedError(f"{type(self).__name__} does not transform traffic")

    def wrap_messages(self, msgs: Iterable[Sequence[Buffer]], out: list[Buffer]) -> None:
        """Append the wire buffers carrying every frame of ``msgs`` to ``out``.

        ``wrap`` frame by frame; a mechanism may do the batch in one loop (CURVE).
        """
        wrap_each(self.wrap, msgs, out)

    def unwrap_many(self, bodies: Sequence[bytes], start: int) -> tuple[list[int], list[bytes]]:
        """``unwrap`` the bodies from ``bodies[start]`` on, up to and including the
        first that carries a command: their flags and payloads, in order."""
        flags: list[int] = []
        payloads: list[bytes] = []
        for i in range(start, len(bodies)):
            f, payload = self.unwrap(bodies[i])
            flags.append(f)
            payloads.append(payload)
            if f & COMMAND:
                break
        return flags, payloads

    # -- subclass hooks -----------------------------------------------------

    def _on_start(self) -> None:
        """Send the first handshake commands, if this side speaks first."""
        raise NotImplementedError

    def _on_command(self, name: bytes, data: bytes) -> None:
        """Handle one handshake command (ERROR is handled already)."""
        raise NotImplementedError

    def _zap_accepted(self) -> None:
        """ZAP said 200: continue the handshake."""
        raise NotImplementedError

    def _zap_missing(self) -> None:
        """No ZAP handler exists: by default go on as if ZAP said 200."""
        self._zap_accepted()

    # -- helpers for subclasses ---------------------------------------------

    def _send(self, body: bytes) -> None:
        """Queue a command body for the peer."""
        self.outgoing.append(body)

    def _accept_properties(self, data: bytes) -> None:
        """Parse and validate the peer's metadata (READY/INITIATE data)."""
        props = decode_properties(data)
        self._validate(props)
        self.peer_properties = props

    def _request_zap(self, credentials: tuple[bytes, ...] = ()) -> None:
        """Ask the caller for a ZAP decision (server side only)."""
        self.zap_pending = True
        self.events.append(
            ZapRequest(
                domain=self.zap_domain or "",
                mechanism=self.name,
                credentials=credentials,
                identity=self.peer_properties.get("Identity", b""),
            )
        )

    def _complete(self) -> None:
        """The handshake is complete."""
        self.done = True

    def _unexpected(self, name: bytes, state: str) -> ProtocolError:
        """The error for a command not allowed in ``state``."""
        shown = name.decode("ascii", "backslashreplace")
        mech = self.name.decode("ascii")
        return ProtocolError(
            f"unexpected {shown} command in {mech} handshake ({state})", errors.UNEXPECTED_COMMAND
        )


def wrap_each(
    wrap: Callable[[int, Buffer], Buffer], msgs: Iterable[Sequence[Buffer]], out: list[Buffer]
) -> None:
    """``wrap(flags, frame)`` for every frame of ``msgs`` (MORE on all but each
    message's last), appended to ``out``."""
    for msg in msgs:
        if not msg:
            raise ValueError("cannot send a message with no frames")
        final = len(msg) - 1
        for i, part in enumerate(msg):
            out.append(wrap(MORE if i < final else 0, part))
