"""The PLAIN security mechanism (RFC 24 ZMTP-PLAIN).

Rules this module keeps:

- Clear-text user name and password, no confidentiality; traffic is never
  transformed, so the connection takes its fast path after the handshake.
- The greeting's as-server octet announces our role.
- Wire format (command bodies)::

    HELLO    = "\\x05HELLO" username-size(1) username password-size(1) password
    WELCOME  = "\\x07WELCOME"                        (no data)
    INITIATE = "\\x08INITIATE" metadata
    READY    = "\\x05READY" metadata

- The server always consults ZAP on HELLO (mechanism "PLAIN", credentials
  ``(username, password)``), whatever ZAP_DOMAIN is, as libzmq 4.3 does.
  ZAP 200 sends WELCOME; a refusal sends ERROR (not for 300, see
  ``base.py``). With *no* ZAP handler (``zap_unavailable``) the server
  refuses the client without sending anything: libzmq 4.3 reports
  HANDSHAKE_FAILED_NO_DETAIL and drops the connection (verified against
  libzmq 4.3.5).
- Both sides check the peer's metadata with the connection's validator
  before answering it (server: INITIATE before READY).
- libzmq 4.x's PLAIN sends ERROR as ``"^RROR" reason-size reason`` (its
  plain_common.hpp writes the prefix as the C string ``"\x05ERROR"``, whose
  hex escape swallows the ``E``: octet 0x5E, then ``RROR``), and its PLAIN
  client understands only that form. The client here takes both forms; the
  server sends RFC 37's (a libzmq PLAIN client then reports
  HANDSHAKE_FAILED_PROTOCOL, UNEXPECTED_COMMAND, instead of the ZAP code).

State machine (``_state``; ERROR from the peer in any state ends it with
``ErrorReceived``, handled by the base class)::

    side    state          input               action                  next
    ------  -------------  ------------------  ----------------------  -------------
    client  START          start()             send HELLO              WAIT_WELCOME
    client  WAIT_WELCOME   WELCOME             send INITIATE           WAIT_READY
    client  WAIT_READY     READY               validate metadata       DONE
    server  START          start()             -                       WAIT_HELLO
    server  WAIT_HELLO     HELLO               emit ZapRequest         WAIT_ZAP
    server  WAIT_ZAP       zap_reply 200       send WELCOME            WAIT_INITIATE
    server  WAIT_ZAP       zap_reply other     AuthenticationFailed    FAILED
    server  WAIT_ZAP       zap_unavailable     AuthenticationFailed    FAILED
    server  WAIT_INITIATE  INITIATE            validate, send READY    DONE
    any     any            other command       ProtocolError           -
"""

from __future__ import annotations

from .. import errors
from ..commands import READY, decode_error, encode_body, encode_ready
from ..errors import ProtocolError
from ..events import AuthenticationFailed, ErrorReceived
from .base import Mechanism

__all__ = ["PlainMechanism"]

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
LIBZMQ_ERROR = b"\x5eRROR"  # libzmq 4.x's ERROR prefix (see the module docstring)

START = "START"
WAIT_HELLO = "WAIT_HELLO"
WAIT_WELCOME = "WAIT_WELCOME"
WAIT_ZAP = "WAIT_ZAP"
WAIT_INITIATE = "WAIT_INITIATE"
WAIT_READY = "WAIT_READY"
DONE = "DONE"
FAILED = "FAILED"


def encode_hello(username: bytes, password: bytes) -> bytes:
    """PLAIN HELLO body."""
    if len(username) > 255 or len(password) > 255:
        raise ValueError("PLAIN user name and password are at most 255 octets each")
    return encode_body(
        HELLO, bytes((len(username),)) + username + bytes((len(password),)) + password
    )


def decode_hello(data: bytes) -> tuple[bytes, bytes]:
    """Return ``(username, password)`` from a HELLO's data; ProtocolError if malformed."""
    if not data:
        raise ProtocolError("malformed PLAIN HELLO: no username", errors.MALFORMED_HELLO)
    ulen = data[0]
    if len(data) < 1 + ulen + 1:
        raise ProtocolError("malformed PLAIN HELLO: truncated username", errors.MALFORMED_HELLO)
    username = data[1 : 1 + ulen]
    plen = data[1 + ulen]
    password = data[2 + ulen :]
    if len(password) != plen:
        raise ProtocolError(
            "malformed PLAIN HELLO: password size does not match", errors.MALFORMED_HELLO
        )
    return username, password


class PlainMechanism(Mechanism):
    """PLAIN: user name and password in clear text, checked by ZAP on the server."""

    name = b"PLAIN"
    announces_role = True

    def __init__(
        self,
        username: bytes = b"",
        password: bytes = b"",
        zap_domain: str | None = None,
    ) -> None:
        """Create a PLAIN mechanism; ``username``/``password`` are the client's credentials."""
        super().__init__(zap_domain)
        if len(username) > 255 or len(password) > 255:
            raise ValueError("PLAIN user name and password are at most 255 octets each")
        self._username = bytes(username)
        self._password = bytes(password)
        self._state = START

    def __repr__(self) -> str:
        """Never show the password."""
        role = "server" if self.as_server else "client"
        return f"<PlainMechanism {role} {self._state}>"

    def receive_command(self, body: bytes) -> None:
        """A handshake command; libzmq 4.x's misspelt ERROR (above) counts as ERROR."""
        if body[:5] == LIBZMQ_ERROR and not self.as_server:
            self.events.append(ErrorReceived(decode_error(body[5:])))
            self.finished = True
            return
        super().receive_command(body)

    def _on_start(self) -> None:
        """The client speaks first with HELLO; the server waits."""
        if self.as_server:
            self._state = WAIT_HELLO
        else:
            self._send(encode_hello(self._username, self._password))
            self._state = WAIT_WELCOME

    def _on_command(self, name: bytes, data: bytes) -> None:
        """Dispatch on (state, command)."""
        state = self._state
        if state == WAIT_HELLO and name == HELLO:
            username, password = decode_hello(data)
            self._state = WAIT_ZAP
            self._request_zap((username, password))
        elif state == WAIT_WELCOME and name == WELCOME:
            if data:
                raise ProtocolError(
                    "malformed PLAIN WELCOME: it carries data", errors.MALFORMED_WELCOME
                )
            self._send(encode_body(INITIATE, self._properties))
            self._state = WAIT_READY
        elif state == WAIT_INITIATE and name == INITIATE:
            from_zap = dict(self.peer_properties)  # ZAP answered before INITIATE
            self._accept_properties(data)
            for key, value in from_zap.items():
                self.peer_properties[key] = value
            self._send(encode_ready(self._properties))
            self._state = DONE
            self._complete()
        elif state == WAIT_READY and name == READY:
            self._accept_properties(data)
            self._state = DONE
            self._complete()
        else:
            raise self._unexpected(name, state)

    def _zap_accepted(self) -> None:
        """ZAP accepted the user: welcome the client."""
        self._send(encode_body(WELCOME))
        self._state = WAIT_INITIATE

    def _zap_missing(self) -> None:
        """No ZAP handler: libzmq 4.3 refuses every PLAIN client, silently."""
        self._state = FAILED
        self.events.append(AuthenticationFailed(500, b"PLAIN server has no ZAP handler"))
        self.finished = True
