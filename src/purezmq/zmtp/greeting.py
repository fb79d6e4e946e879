"""The 64-octet ZMTP greeting: build ours, parse the peer's, negotiate.

Rules this module keeps (RFC 37 "Formal Grammar" / "Version Negotiation"):

- Our greeting is always the full 64 octets, sent at once: signature
  ``%xFF`` + 8 zero padding octets + ``%x7F``, version 3.1, the mechanism
  name null-padded to 20 octets, the as-server octet, 31 zero octets.
  (libzmq sends its greeting in pieces and waits for our signature before
  sending the rest; since we send everything up front there is no deadlock.)
- The peer's greeting may arrive in any chunking, one byte at a time
  included. Each check runs as soon as the octet it needs has arrived, so a
  non-ZMTP peer is rejected from its first byte and a pre-3.0 peer from its
  version byte, without waiting for 64 octets that may never come.
- The padding is never interpreted (RFC 37 forbids it). The signature's
  last octet must be ``%x7F``; its low bit clear means a ZMTP 1.0 peer.
- We require major version 3 or later (a higher version MUST be accepted
  as valid) and speak min(ours, theirs): with a 3.0 peer, subscriptions are
  messages and there is no PING/PONG.
- The peer's mechanism must equal ours exactly, or it is a ProtocolError.

Theory of operation: ``GreetingParser.feed(data)`` copies at most the
octets still missing from the greeting into a small buffer, checks what it
can, and returns how many octets of ``data`` it consumed; the rest of
``data`` belongs to the frame decoder. When 64 octets are in,
``parser.greeting`` holds the parsed ``Greeting``.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import errors
from .errors import ProtocolError

__all__ = [
    "GREETING_SIZE",
    "ZMTP_VERSION",
    "Greeting",
    "GreetingParser",
    "build_greeting",
    "negotiate_version",
]

#: Total size of a ZMTP 3.x greeting.
GREETING_SIZE = 64
#: The protocol version we speak.
ZMTP_VERSION: tuple[int, int] = (3, 1)

_SIGNATURE_SIZE = 10  # %xFF + 8 padding + %x7F
_MAJOR_POS = 10
_MINOR_POS = 11
_MECHANISM_POS = 12
_MECHANISM_SIZE = 20
_AS_SERVER_POS = 32
_MECHANISM_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.+")


def _check_mechanism_name(mechanism: bytes) -> None:
    """Reject mechanism names the grammar does not allow (caller error)."""
    if not 1 <= len(mechanism) <= _MECHANISM_SIZE or not set(mechanism) <= _MECHANISM_CHARS:
        raise ValueError(f"invalid ZMTP mechanism name {mechanism!r}: 1-20 of A-Z 0-9 - _ . +")


def build_greeting(
    mechanism: bytes = b"NULL",
    as_server: bool = False,
    version: tuple[int, int] = ZMTP_VERSION,
) -> bytes:
    """Return our complete 64-octet greeting."""
    _check_mechanism_name(mechanism)
    major, minor = version
    return b"".join(
        (
            b"\xff" + bytes(8) + b"\x7f",
            bytes((major, minor)),
            mechanism.ljust(_MECHANISM_SIZE, b"\x00"),
            b"\x01" if as_server else b"\x00",
            bytes(31),
        )
    )


@dataclass(frozen=True)
class Greeting:
    """The peer's greeting: its announced version, mechanism and role."""

    version: tuple[int, int]
    mechanism: bytes
    as_server: bool


def negotiate_version(ours: tuple[int, int], theirs: tuple[int, int]) -> tuple[int, int]:
    """Return the version both peers speak: the lower of the two (3.x only)."""
    return min(ours, theirs)


class GreetingParser:
    """Incremental parser for the peer's greeting; fails as early as it can."""

    __slots__ = ("_buf", "_mechanism", "greeting")

    def __init__(self, mechanism: bytes = b"NULL") -> None:
        """Expect a peer using ``mechanism`` (our own mechanism name)."""
        _check_mechanism_name(mechanism)
        self._mechanism = mechanism
        self._buf = bytearray()
        #: The parsed greeting, once all 64 octets have arrived.
        self.greeting: Greeting | None = None

    @property
    def complete(self) -> bool:
        """True once the whole greeting has been received and accepted."""
        return self.greeting is not None

    def feed(self, data: bytes | bytearray | memoryview) -> int:
        """Consume greeting octets from ``data``; return how many were used."""
        buf = self._buf
        had = len(buf)
        take = min(GREETING_SIZE - had, len(data))
        if take <= 0:
            return 0
        buf += data[:take]
        have = len(buf)
        if had == 0 and buf[0] != 0xFF:
            raise ProtocolError(
                f"bad greeting signature: first octet is 0x{buf[0]:02x}, not 0xff "
                "(the peer does not speak ZMTP, or speaks ZMTP 1.0)"
            )
        if had < _SIGNATURE_SIZE <= have:
            last = buf[_SIGNATURE_SIZE - 1]
            if not last & 1:
                raise ProtocolError(
                    "bad greeting signature: the peer speaks ZMTP 1.0, "
                    "only ZMTP 3.0 and later are supported"
                )
            if last != 0x7F:
                raise ProtocolError(
                    f"bad greeting signature: tenth octet is 0x{last:02x}, not 0x7f"
                )
        if had <= _MAJOR_POS < have and buf[_MAJOR_POS] < 3:
            raise ProtocolError(
                f"peer speaks ZMTP version {buf[_MAJOR_POS]}.x (ZMTP 2.0 or older); "
                "only ZMTP 3.0 and later are supported"
            )
        if have == GREETING_SIZE:
            self._finish(bytes(buf))
        return take

    def _finish(self, raw: bytes) -> None:
        """Check the complete greeting and record it."""
        major, minor = raw[_MAJOR_POS], raw[_MINOR_POS]
        mechanism = raw[_MECHANISM_POS : _MECHANISM_POS + _MECHANISM_SIZE].rstrip(b"\x00")
        if mechanism != self._mechanism:
            theirs = mechanism.decode("ascii", "backslashreplace") or "(empty)"
            raise ProtocolError(
                f"security mechanism mismatch: peer uses {theirs}, "
                f"we use {self._mechanism.decode('ascii')}",
                errors.MECHANISM_MISMATCH,
            )
        self.greeting = Greeting(
            version=(major, minor),
            mechanism=mechanism,
            as_server=bool(raw[_AS_SERVER_POS]),
        )
