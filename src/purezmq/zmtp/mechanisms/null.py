"""The NULL security mechanism (RFC 37 "The NULL Security Mechanism").

Rules this module keeps:

- No authentication, no confidentiality; traffic is never transformed, so
  the connection takes its fast path right after the handshake.
- The greeting's as-server octet is zero for both peers.
- Like libzmq, both peers send READY as soon as the greetings are
  exchanged, without waiting for the other's READY, and the handshake is
  complete when READY has been both sent and received.
- ZAP (RFC 27), as libzmq 4.3 does it: a side given a ``zap_domain`` (bound
  or connecting) asks ZAP as soon as the handshake starts and holds back its
  READY until the handler has said 200; the handshake is complete once READY
  has been sent and received. Without a ZAP domain (None or empty) NULL
  never asks ZAP. Two sides that both ask cannot deadlock: neither waits for
  the other's READY before asking.
- The peer's READY metadata goes through the connection's validator
  (socket type) before anything is sent in reply.

State (``_state`` plus ``_ready_sent``; ERROR from the peer in any state
ends it with ``ErrorReceived``, handled by the base class)::

    input                       action                              state after
    --------------------------  ----------------------------------  -----------
    start()  (no ZAP)           send READY                          WAIT_READY
    start()  (ZAP domain)       emit ZapRequest                     WAIT_READY
    READY in WAIT_READY         validate; DONE if READY sent        DONE or WAIT_ZAP
    zap_reply 200               send READY; DONE if READY received  DONE or WAIT_READY
    zap_reply 300/400/500       AuthenticationFailed                FAILED
    other command, or READY     ProtocolError                       -
    in WAIT_ZAP / DONE
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
        """Create a NULL mechanism; it asks ZAP first if ``zap_domain`` is set."""
        super().__init__(zap_domain)
        self._state = START
        self._ready_sent = False

    def _on_start(self) -> None:
        """Send READY now unless a ZAP decision must come first."""
        self._state = WAIT_READY
        if self.zap_domain is None:
            self._send_ready()
        else:
            self._request_zap()

    def _send_ready(self) -> None:
        self._send(encode_ready(self._properties))
        self._ready_sent = True

    def _on_command(self, name: bytes, data: bytes) -> None:
        """Only the peer's READY is expected, once."""
        if name != READY or self._state != WAIT_READY:
            raise self._unexpected(name, self._state)
        self._accept_properties(data)
        if self._ready_sent:
            self._state = DONE
            self._complete()
        else:
            self._state = WAIT_ZAP

    def _zap_accepted(self) -> None:
        """ZAP accepted the peer: send our READY; done if the peer's came already."""
        self._send_ready()
        if self._state == WAIT_ZAP:
            self._state = DONE
            self._complete()
