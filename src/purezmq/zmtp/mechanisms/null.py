"""The NULL security mechanism (RFC 37 "The NULL Security Mechanism").

Rules this module keeps:

- No authentication, no confidentiality; traffic is never transformed, so
  the connection takes its fast path right after the handshake.
- The greeting's as-server octet is zero for both peers.
- Like libzmq, both peers send READY as soon as the greetings are
  exchanged, without waiting for the other's READY, and the handshake is
  complete when READY has been both sent and received.
- Exception (RFC 27): a *server* given a ``zap_domain`` holds back its
  READY until the peer's READY has arrived and the ZAP handler has said
  200. Without a ZAP domain (None or empty) NULL never asks ZAP.
- The peer's READY metadata goes through the connection's validator
  (socket type) before anything is sent in reply.

State machine (``_state``; ERROR from the peer in any state ends it with
``ErrorReceived``, handled by the base class)::

    state        input                      action                     next
    -----------  -------------------------  -------------------------  ----------
    START        start()  (no ZAP)          send READY                 WAIT_READY
    START        start()  (server + ZAP)    -                          WAIT_READY
    WAIT_READY   READY    (no ZAP)          validate metadata          DONE
    WAIT_READY   READY    (server + ZAP)    validate, emit ZapRequest  WAIT_ZAP
    WAIT_ZAP     zap_reply 200              send READY                 DONE
    WAIT_ZAP     zap_reply 300/400/500      AuthenticationFailed       FAILED
    any          other command              ProtocolError              -
"""

from __future__ import annotations

from ..commands import READY, encode_ready
from .base import Mechanism

__all__ = ["NullMechanism"]

START = "START"
WAIT_READY = "WAIT_READY"
WAIT_ZAP = "WAIT_ZAP"
DONE = "DONE"


class NullMechanism(Mechanism):
    """NULL: exchange READY commands carrying metadata; optional ZAP check."""

    name = b"NULL"

    def __init__(self, zap_domain: str | None = None) -> None:
        """Create a NULL mechanism; a server asks ZAP if ``zap_domain`` is set."""
        super().__init__(zap_domain)
        self._state = START

    @property
    def _uses_zap(self) -> bool:
        """True if this side must consult ZAP before sending READY."""
        return self.as_server and self.zap_domain is not None

    def _on_start(self) -> None:
        """Send READY now unless a ZAP decision must come first."""
        if not self._uses_zap:
            self._send(encode_ready(self._properties))
        self._state = WAIT_READY

    def _on_command(self, name: bytes, data: bytes) -> None:
        """Only the peer's READY is expected, once."""
        if name != READY or self._state != WAIT_READY:
            raise self._unexpected(name, self._state)
        self._accept_properties(data)
        if self._uses_zap:
            self._state = WAIT_ZAP
            self._request_zap()
        else:
            self._state = DONE
            self._complete()

    def _zap_accepted(self) -> None:
        """ZAP accepted the peer: send our READY, the handshake is done."""
        self._send(encode_ready(self._properties))
        self._state = DONE
        self._complete()
