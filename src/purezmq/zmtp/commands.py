"""ZMTP commands, metadata properties and the socket-type table.

Rules this module keeps (RFC 37, RFC 23 for 3.0):

- A command body is a name-size octet, a name (1-255 octets) and data.
  Functions here build and parse *bodies*; ``frames.encode_command`` puts
  the frame header around them (and a mechanism such as CURVE may wrap
  them instead), so the layout is written down once.
- READY carries a metadata property list: name-size octet, name, 4-octet
  big-endian value size, value. Names are case-insensitive
  (``Metadata`` looks them up so) and must not be empty; values are opaque.
- ERROR carries a reason: one size octet and up to 255 octets.
- SUBSCRIBE / CANCEL (3.1) carry the raw topic; JOIN / LEAVE the group.
- PING carries a 2-octet TTL in tenths of a second and 0-16 octets of
  context; PONG echoes the context. As libzmq does, a PING context longer
  than 16 octets is cut to 16 rather than refused.
- Malformed bodies raise ``ProtocolError`` naming the defect; bad
  arguments from our own caller raise ``ValueError``.
- Socket-type compatibility follows RFC 37 and libzmq's
  ``mechanism_t::check_socket_type``: ``COMPATIBLE_PEERS[ours]`` is the set
  of peer types we accept. STREAM (raw TCP) and DGRAM (UDP) never speak
  ZMTP, so they have no ZMTP peers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from struct import Struct
from typing import Any

from . import errors
from .errors import ProtocolError
from .frames import Buffer

__all__ = [
    "CANCEL",
    "COMPATIBLE_PEERS",
    "ERROR",
    "JOIN",
    "LEAVE",
    "PING",
    "PONG",
    "READY",
    "SOCKET_TYPES",
    "SUBSCRIBE",
    "ZMTP_SOCKET_TYPES",
    "Metadata",
    "check_socket_type",
    "decode_command",
    "decode_error",
    "decode_ping",
    "decode_properties",
    "encode_body",
    "encode_cancel",
    "encode_error",
    "encode_join",
    "encode_leave",
    "encode_ping",
    "encode_pong",
    "encode_properties",
    "encode_ready",
    "encode_subscribe",
    "is_compatible",
]

READY = b"READY"
ERROR = b"ERROR"
SUBSCRIBE = b"SUBSCRIBE"
CANCEL = b"CANCEL"
PING = b"PING"
PONG = b"PONG"
JOIN = b"JOIN"
LEAVE = b"LEAVE"

_u32 = Struct(">I")
_u16 = Struct(">H")
_MAX_VALUE = (1 << 31) - 1
_NAME_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+")
_PING_CONTEXT_MAX = 16

# Pre-built command prefixes (name-size octet + name).
_READY = b"\x05READY"
_ERROR = b"\x05ERROR"
_SUBSCRIBE = b"\x09SUBSCRIBE"
_CANCEL = b"\x06CANCEL"
_PING = b"\x04PING"
_PONG = b"\x04PONG"
_JOIN = b"\x04JOIN"
_LEAVE = b"\x05LEAVE"


# --------------------------------------------------------------------------
# Socket types


#: For each socket type, the peer socket types it may talk to.
COMPATIBLE_PEERS: Mapping[str, frozenset[str]] = {
    "PAIR": frozenset({"PAIR"}),
    "PUB": frozenset({"SUB", "XSUB"}),
    "SUB": frozenset({"PUB", "XPUB"}),
    "XPUB": frozenset({"SUB", "XSUB"}),
    "XSUB": frozenset({"PUB", "XPUB"}),
    "REQ": frozenset({"REP", "ROUTER"}),
    "REP": frozenset({"REQ", "DEALER"}),
    "DEALER": frozenset({"REP", "DEALER", "ROUTER"}),
    "ROUTER": frozenset({"REQ", "DEALER", "ROUTER"}),
    "PUSH": frozenset({"PULL"}),
    "PULL": frozenset({"PUSH"}),
    "CLIENT": frozenset({"SERVER"}),
    "SERVER": frozenset({"CLIENT"}),
    "RADIO": frozenset({"DISH"}),
    "DISH": frozenset({"RADIO"}),
    "SCATTER": frozenset({"GATHER"}),
    "GATHER": frozenset({"SCATTER"}),
    "PEER": frozenset({"PEER"}),
    "CHANNEL": frozenset({"CHANNEL"}),
    "STREAM": frozenset(),  # raw TCP, no ZMTP handshake
    "DGRAM": frozenset(),  # UDP datagrams, no ZMTP handshake
}

#: Every socket type name we know.
SOCKET_TYPES: frozenset[str] = frozenset(COMPATIBLE_PEERS)
#: Socket types that speak ZMTP (the ones with possible peers).
ZMTP_SOCKET_TYPES: frozenset[str] = frozenset(t for t, p in COMPATIBLE_PEERS.items() if p)


def is_compatible(ours: str, theirs: str) -> bool:
    """True if a socket of type ``ours`` may talk to a peer of type ``theirs``."""
    return theirs in COMPATIBLE_PEERS.get(ours, ())


def check_socket_type(ours: str, theirs: str) -> None:
    """Raise ``ProtocolError`` unless ``ours`` may talk to ``theirs``."""
    if theirs not in SOCKET_TYPES:
        raise ProtocolError(
            f"peer announced unknown socket type {theirs!r}", errors.INVALID_METADATA
        )
    if not is_compatible(ours, theirs):
        raise ProtocolError(
            f"socket type {ours} cannot connect to {theirs}", errors.INVALID_METADATA
        )


# --------------------------------------------------------------------------
# Metadata


class Metadata(dict[str, bytes]):
    """A ``dict`` of metadata properties whose lookups ignore case.

    Keys keep the case the peer sent; ``m["socket-type"]``,
    ``m.get("SOCKET-TYPE")`` and ``"Socket-type" in m`` all find
    ``"Socket-Type"``.
    """

    def _find(self, key: object) -> str | None:
        """The stored key equal to ``key`` ignoring case, if any."""
        if isinstance(key, str):
            low = key.lower()
            for k in self.keys():
                if k.lower() == low:
                    return k
        return None

    def __missing__(self, key: str) -> bytes:
        """Fall back to a case-insensitive search."""
        found = self._find(key)
        if found is None:
            raise KeyError(key)
        return dict.__getitem__(self, found)

    def __contains__(self, key: object) -> bool:
        """Membership ignoring case."""
        return dict.__contains__(self, key) or self._find(key) is not None

    def get(self, key: str, default: Any = None) -> Any:
        """Like ``dict.get``, ignoring case."""
        try:
            return self[key]
        except KeyError:
            return default

    def __setitem__(self, key: str, value: bytes) -> None:
        """Store ``value``, replacing any key equal ignoring case."""
        found = self._find(key)
        if found is not None and found != key:
            dict.__delitem__(self, found)
        dict.__setitem__(self, key, value)


def encode_properties(props: Mapping[str, bytes] | Iterable[tuple[str, bytes]]) -> bytes:
    """Encode metadata properties (in the given order) as a property list."""
    items = props.items() if isinstance(props, Mapping) else props
    out = []
    for name, value in items:
        raw = name.encode("ascii", "replace")
        if not 1 <= len(raw) <= 255 or not set(raw) <= _NAME_CHARS:
            raise ValueError(
                f"invalid metadata property name {name!r}: 1-255 of A-Z a-z 0-9 - _ . +"
            )
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"metadata property {name!r} value must be bytes, not {type(value).__name__}"
            )
        value = bytes(value)
        if len(value) > _MAX_VALUE:
            raise ValueError(f"metadata property {name!r} value exceeds 2**31-1 octets")
        out.append(bytes((len(raw),)) + raw + _u32.pack(len(value)) + value)
    return b"".join(out)


def decode_properties(data: bytes) -> Metadata:
    """Parse a property list (READY/INITIATE body after the name)."""
    props = Metadata()
    pos = 0
    n = len(data)
    while pos < n:
        size = data[pos]
        if size == 0:
            raise ProtocolError("malformed metadata: empty property name", errors.INVALID_METADATA)
        end = pos + 1 + size
        if end + 4 > n:
            raise ProtocolError("malformed metadata: property truncated", errors.INVALID_METADATA)
        name = data[pos + 1 : end].decode("latin-1")
        vsize = _u32.unpack_from(data, end)[0]
        if vsize > _MAX_VALUE:
            raise ProtocolError(
                f"malformed metadata: property {name!r} value size {vsize} exceeds 2**31-1"
            )
        vend = end + 4 + vsize
        if vend > n:
            raise ProtocolError(
                f"malformed metadata: property {name!r} value of {vsize} octets truncated"
            )
        props[name] = data[end + 4 : vend]
        pos = vend
    return props


# --------------------------------------------------------------------------
# Command bodies


def encode_body(name: bytes, data: Buffer = b"") -> bytes:
    """Build a command body: name-size octet, ``name``, ``data``."""
    if not 1 <= len(name) <= 255:
        raise ValueError(f"command name {name!r} must be 1-255 octets")
    return bytes((len(name),)) + name + data


def decode_command(body: bytes) -> tuple[bytes, bytes]:
    """Split a command body into ``(name, data)``."""
    if not body:
        raise ProtocolError("malformed command: empty command frame", errors.MALFORMED_COMMAND)
    size = body[0]
    if size == 0 or size > len(body) - 1:
        raise ProtocolError(
            f"malformed command: bad command name size {size}", errors.MALFORMED_COMMAND
        )
    return body[1 : 1 + size], body[1 + size :]


def encode_ready(properties: Mapping[str, bytes] | bytes) -> bytes:
    """READY body from properties (a mapping or an encoded property list)."""
    if not isinstance(properties, bytes):
        properties = encode_properties(properties)
    return _READY + properties


def encode_error(reason: bytes | str) -> bytes:
    """ERROR body; the reason is cut to 255 octets."""
    if isinstance(reason, str):
        reason = reason.encode("utf-8", "replace")
    reason = reason[:255]
    return _ERROR + bytes((len(reason),)) + reason


def decode_error(data: bytes) -> bytes:
    """Return the reason carried by an ERROR command's data."""
    if not data:
        raise ProtocolError("malformed ERROR command: missing reason size", errors.MALFORMED_ERROR)
    size = data[0]
    if size > len(data) - 1:
        raise ProtocolError(
            f"malformed ERROR command: reason of {size} octets truncated", errors.MALFORMED_ERROR
        )
    return data[1 : 1 + size]


def encode_subscribe(topic: Buffer) -> bytes:
    """SUBSCRIBE body for ``topic`` (ZMTP 3.1)."""
    return _SUBSCRIBE + topic


def encode_cancel(topic: Buffer) -> bytes:
    """CANCEL body for ``topic`` (ZMTP 3.1)."""
    return _CANCEL + topic


def encode_join(group: Buffer) -> bytes:
    """JOIN body for a RADIO/DISH ``group``."""
    if len(group) > 255:
        raise ValueError("group names are at most 255 octets")
    return _JOIN + group


def encode_leave(group: Buffer) -> bytes:
    """LEAVE body for a RADIO/DISH ``group``."""
    if len(group) > 255:
        raise ValueError("group names are at most 255 octets")
    return _LEAVE + group


def encode_ping(ttl_deciseconds: int = 0, context: Buffer = b"") -> bytes:
    """PING body: TTL in tenths of a second (0-65535) and 0-16 octets context."""
    if not 0 <= ttl_deciseconds <= 0xFFFF:
        raise ValueError(f"PING TTL {ttl_deciseconds} is outside 0-65535 deciseconds")
    if len(context) > _PING_CONTEXT_MAX:
        raise ValueError("PING context is at most 16 octets")
    return _PING + _u16.pack(ttl_deciseconds) + context


def decode_ping(data: bytes) -> tuple[int, bytes]:
    """Return ``(ttl_deciseconds, context)`` of a PING command's data."""
    if len(data) < 2:
        raise ProtocolError("malformed PING command: missing 2-octet TTL")
    return _u16.unpack_from(data)[0], data[2 : 2 + _PING_CONTEXT_MAX]


def encode_pong(context: Buffer = b"") -> bytes:
    """PONG body echoing a PING's ``context``."""
    if len(context) > _PING_CONTEXT_MAX:
        raise ValueError("PONG context is at most 16 octets")
    return _PONG + context
