"""TLS for wss://, sans-I/O: the standard library's ``ssl.SSLObject`` over memory BIOs.

Rules this module keeps:

- No sockets: ``receive`` takes octets read from the network and returns the
  plaintext they complete; ``send`` takes plaintext buffers; ``take`` returns
  the octets to write (handshake records and encrypted data, in order).
- Plaintext sent before the TLS handshake completes waits, in order, and is
  encrypted once it does (a ws client queues its HTTP request at once).
- Every TLS failure -- a handshake that fails (certificate not trusted, host
  name mismatch, no protocol in common), a record that does not decrypt, an
  alert -- is a ``ProtocolError`` naming what OpenSSL said: the caller
  closes that connection only.
- Not thread-safe by itself: the caller serializes all calls (the engine
  holds its write lock around every use of the connection that owns this).
"""

from __future__ import annotations

import ssl

from .errors import WS_UNSPECIFIED, ProtocolError
from .frames import Buffer

__all__ = ["TlsLayer"]

_READ = 256 * 1024


class TlsLayer:
    """One TLS session (client or server) driven by the bytes given to it."""

    def __init__(
        self, context: ssl.SSLContext, *, server_side: bool, server_hostname: str | None = None
    ) -> None:
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._obj = context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname or None,
        )
        self.established = False
        #: The peer sent close_notify: no more plaintext will come.
        self.peer_closed = False
        self._held: list[Buffer] = []
        self._handshake()  # a client's ClientHello is ready to take at once

    def _fail(self, what: str, exc: ssl.SSLError) -> ProtocolError:
        reason = getattr(exc, "verify_message", None) or exc.reason or str(exc)
        return ProtocolError(f"TLS {what} failed: {reason}", WS_UNSPECIFIED)

    def _handshake(self) -> None:
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLError as e:
            raise self._fail("handshake", e) from None
        self.established = True
        held, self._held = self._held, []
        if held:
            self.send(held)

    @property
    def has_output(self) -> bool:
        """True if ``take`` would return something."""
        return self._outgoing.pending > 0

    def take(self) -> bytes:
        """The octets to write to the network now."""
        return self._outgoing.read()

    def receive(self, data: Buffer) -> bytes:
        """Feed octets from the network; return the plaintext they complete (maybe b"")."""
        self._incoming.write(data)
        if not self.established:
            self._handshake()
            if not self.established:
                return b""
        chunks: list[bytes] = []
        read = self._obj.read
        while True:
            try:
                chunk = read(_READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:
                self.peer_closed = True
                break
            except ssl.SSLError as e:
                raise self._fail("record decryption", e) from None
            if not chunk:
                break
            chunks.append(chunk)
        if len(chunks) == 1:
            return chunks[0]
        return b"".join(chunks)

    def send(self, buffers: list[Buffer]) -> None:
        """Encrypt plaintext buffers (held until the handshake completes)."""
        if not self.established:
            self._held.extend(buffers)
            return
        data = buffers[0] if len(buffers) == 1 else b"".join(buffers)
        if not data:
            return
        try:
            self._obj.write(data)
        except ssl.SSLError as e:
            raise self._fail("encryption", e) from None

    @property
    def cipher(self) -> str:
        """The negotiated TLS version and cipher (for logs), "" before the handshake."""
        c = self._obj.cipher()
        return f"{c[1]} {c[0]}" if c else ""
