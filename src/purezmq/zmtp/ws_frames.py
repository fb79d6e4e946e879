"""ZWS 2.0 frame codec (RFC 45 over RFC 6455 WebSocket frames), sans-I/O.

Rules this module keeps:

- Every ZeroMQ frame is one WebSocket *binary* message of one frame (FIN set,
  opcode 2) whose payload is a ZWS flags octet (bit 0 MORE, bit 1 COMMAND)
  and the frame body. Fragmented messages (FIN clear, continuation frames),
  text frames, unknown opcodes, RSV bits (no extension is ever negotiated)
  and ZWS flags with other bits set are a ``ProtocolError``, as are a binary
  payload without its flags octet, a command with MORE, a command inside a
  multipart message and a 64-bit length with its top bit set. (libzmq 4.3.5
  refuses the same things.)
- Masking (RFC 6455 5.3): frames from the client (the connecting side) are
  masked with a fresh 32-bit key each, frames from the server are not. The
  decoder is told which to expect and refuses the other kind.
- Control frames -- close (8), ping (9), pong (10) -- have FIN set and at most
  125 octets of payload. The decoder hands them on as ``Control``
  items, in wire order between the messages; answering them is the
  connection's business (zmtp/ws_connection.py).
- MAXMSGSIZE (-1: unlimited) applies to each frame body, checked as soon as
  the length is read, before the body is buffered.

Decoder theory of operation: ``ZwsDecoder.feed`` returns, like
``frames.FrameDecoder.feed``, complete messages as ``list[bytes]`` and command
bodies as ``bytes`` -- plus control frames as ``Control`` -- and sets ``saw_command``
when the batch holds anything that is not a message. A frame whose header is
incomplete keeps its first octets for the next feed; once the header is
known, the rest of the payload is collected as a list of pieces and joined
once, so a large frame arriving in small reads costs linear copying.

Unmasking and masking XOR the payload with the repeated key as one big
integer operation (``int.from_bytes``), which runs in C.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from struct import Struct
from typing import Any, NamedTuple

from .errors import ProtocolError
from .frames import Buffer


class Control(NamedTuple):
    """A control frame (close, ping, pong). Its own type, not a plain tuple:
    a plain tuple is a message (see zmtp/frames.py)."""

    opcode: int
    payload: bytes


__all__ = [
    "CLOSE",
    "PING",
    "PONG",
    "ZWS_COMMAND",
    "ZWS_MORE",
    "ZwsDecoder",
    "encode_control",
    "encode_zws_command",
    "encode_zws_command_masked",
    "encode_zws_iov",
    "encode_zws_masked",
    "mask_payload",
]

#: WebSocket opcodes ZWS uses.
BINARY = 0x2
CLOSE = 0x8
PING = 0x9
PONG = 0xA
#: ZWS flags octet bits.
ZWS_MORE = 0x01
ZWS_COMMAND = 0x02

_MAX_SIZE = (1 << 63) - 1
_u16 = Struct(">H")
_u64 = Struct(">Q")
_OPCODE_NAMES = {0x0: "continuation", 0x1: "text"}

# The random source of masking keys. RFC 6455 asks for keys a script in a
# browser cannot predict; they protect proxies, not the data (libzmq uses
# its plain PRNG too). Seeded from os.urandom.
_rng = random.Random()


def mask_payload(data: Buffer, key: bytes) -> bytes:
    """XOR ``data`` with the 4-octet ``key`` repeated (masking and unmasking are the same)."""
    n = len(data)
    if not n or key == b"\0\0\0\0":
        return bytes(data)
    k = (key * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def _length_octets(size: int, mask_bit: int) -> bytes:
    """The length part of a frame header for a payload of ``size`` octets."""
    if size < 126:
        return bytes((mask_bit | size,))
    if size < 65536:
        return bytes((mask_bit | 126,)) + _u16.pack(size)
    return bytes((mask_bit | 127,)) + _u64.pack(size)


# Unmasked headers of small frames, flags octet included: [flags][body size].
_SMALL = tuple(tuple(bytes((0x82, n + 1, flags)) for n in range(125)) for flags in range(4))


def _header(flags: int, n: int) -> bytes:
    """Unmasked binary frame header plus the flags octet, for a body of ``n`` octets."""
    if n < 125:
        return _SMALL[flags][n]
    return b"\x82" + _length_octets(n + 1, 0) + bytes((flags,))


def encode_zws_iov(msgs: Iterable[Sequence[Buffer]], copy_threshold: int) -> list[Buffer]:
    """Messages as unmasked ZWS frames (the server's side), buffers for ``sendmsg``.

    Bodies of ``copy_threshold`` octets or more are placed in the list as
    given (not copied); everything else is joined into ``bytes`` runs.
    """
    iov: list[Buffer] = []
    pieces: list[Buffer] = []
    ap = pieces.append
    small_last = _SMALL[0]
    for msg in msgs:
        final = len(msg) - 1
        if final < 0:
            raise ValueError("cannot encode a message with no frames")
        for i, p in enumerate(msg):
            n = len(p)
            if n < 125:
                ap(small_last[n] if i == final else _SMALL[ZWS_MORE][n])
                ap(p)
                continue
            ap(_header(0 if i == final else ZWS_MORE, n))
            if n >= copy_threshold:
                iov.append(b"".join(pieces))
                iov.append(p)
                pieces.clear()
            else:
                ap(p)
    if pieces:
        iov.append(b"".join(pieces))
    return iov


def _masked_frame(opcode: int, payload: Buffer) -> bytes:
    key = _rng.getrandbits(32).to_bytes(4, "little")
    return (
        bytes((0x80 | opcode,))
        + _length_octets(len(payload), 0x80)
        + key
        + mask_payload(payload, key)
    )


def encode_zws_masked(msgs: Iterable[Sequence[Buffer]], copy_threshold: int = 0) -> list[Buffer]:
    """Messages as masked ZWS frames (the client's side); masking copies every body."""
    pieces: list[bytes] = []
    ap = pieces.append
    for msg in msgs:
        final = len(msg) - 1
        if final < 0:
            raise ValueError("cannot encode a message with no frames")
        for i, p in enumerate(msg):
            ap(_masked_frame(BINARY, (b"\x00" if i == final else b"\x01") + p))
    return [b"".join(pieces)] if pieces else []


def encode_zws_command(body: Buffer) -> bytes:
    """A command body (name-size octet, name, data) as an unmasked ZWS command frame."""
    return _header(ZWS_COMMAND, len(body)) + body


def encode_zws_command_masked(body: Buffer) -> bytes:
    """A command body as a masked ZWS command frame (the client's side)."""
    return _masked_frame(BINARY, b"\x02" + body)


def encode_control(opcode: int, payload: bytes, masked: bool) -> bytes:
    """A close, ping or pong frame (payload at most 125 octets)."""
    if len(payload) > 125:
        raise ValueError("a WebSocket control frame carries at most 125 octets")
    if masked:
        return _masked_frame(opcode, payload)
    return bytes((0x80 | opcode, len(payload))) + payload


class ZwsDecoder:
    """Incremental ZWS decoder: feed buffers, get messages, commands and control frames.

    ``masked``: whether frames must be masked (True on the server side).
    """

    __slots__ = (
        "maxmsgsize",
        "masked",
        "_limit",
        "_tail",
        "_parts",
        "_need",
        "_chunks",
        "_opcode",
        "_key",
        "saw_command",
    )

    def __init__(self, maxmsgsize: int = -1, *, masked: bool) -> None:
        """Create a decoder rejecting frame bodies over ``maxmsgsize`` (-1: no limit)."""
        self.maxmsgsize = maxmsgsize
        self.masked = masked
        self._limit = maxmsgsize if maxmsgsize >= 0 else _MAX_SIZE
        self._tail = b""  # the start of a frame header
        self._parts: list[bytes] | None = None  # frames of an unfinished multipart message
        self._need = 0  # payload octets still missing
        self._chunks: list[bytes] = []  # the pieces of a payload being collected
        self._opcode = 0
        self._key = b""
        self.saw_command = False

    @property
    def pending(self) -> int:
        """Octets buffered that do not form a complete message yet."""
        parts = self._parts or ()
        return len(self._tail) + sum(map(len, self._chunks)) + sum(map(len, parts))

    def feed(self, data: bytes | bytearray | memoryview) -> list[Any]:
        """Decode ``data``; return the complete messages, commands and control frames in it."""
        out: list[Any] = []
        self.saw_command = False
        if type(data) is not bytes:
            data = bytes(data)
        if self._need:
            need = self._need
            n = len(data)
            if n < need:
                self._chunks.append(data)
                self._need = need - n
                return out
            self._chunks.append(data[:need])
            payload = b"".join(self._chunks)
            self._chunks = []
            self._need = 0
            self._deliver(self._opcode, payload, self._key, out)
            buf = data
            pos = need
        elif self._tail:
            buf = self._tail + data
            self._tail = b""
            pos = 0
        else:
            buf = data
            pos = 0
        n = len(buf)
        want_mask = 0x80 if self.masked else 0
        limit = self._limit
        while pos < n:
            # -- header: 2 octets, 0/2/8 octets of extended length, 0/4 of key
            if n - pos < 2:
                break
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if b0 != 0x82:
                self._check_first(b0)
            if b1 & 0x80 != want_mask:
                raise ProtocolError(
                    "masked WebSocket frame from the server"
                    if not want_mask
                    else "unmasked WebSocket frame from the client (RFC 6455 5.1)"
                )
            opcode = b0 & 0x0F
            size = b1 & 0x7F
            start = pos + 2
            if size == 126:
                if n - start < 2:
                    break
                size = _u16.unpack_from(buf, start)[0]
                start += 2
            elif size == 127:
                if n - start < 8:
                    break
                size = _u64.unpack_from(buf, start)[0]
                start += 8
                if size > _MAX_SIZE:
                    raise ProtocolError("WebSocket frame length has its top bit set")
            if opcode == BINARY:
                if size == 0:
                    raise ProtocolError("ZWS frame without its flags octet (empty payload)")
                if size - 1 > limit:
                    raise ProtocolError(
                        f"frame of {size - 1} bytes exceeds MAXMSGSIZE {self.maxmsgsize}"
                    )
            elif size > 125:
                raise ProtocolError(f"WebSocket control frame of {size} octets (at most 125)")
            if want_mask:
                if n - start < 4:
                    break
                key = buf[start : start + 4]
                start += 4
            else:
                key = b""
            end = start + size
            if end > n:
                # Body incomplete: collect the pieces.
                self._opcode = opcode
                self._key = key
                self._chunks = [buf[start:]] if start < n else []
                self._need = end - n
                pos = n
                break
            if key or opcode != BINARY:
                self._deliver(opcode, buf[start:end], key, out)
            else:  # the common unmasked data frame: slice the body out once
                self._data(buf[start], buf[start + 1 : end], out)
            pos = end
        if pos < n:
            self._tail = buf[pos:]
        return out

    @staticmethod
    def _check_first(b0: int) -> None:
        """Refuse a first header octet other than FIN+binary unless it is a control frame."""
        if b0 & 0x70:
            raise ProtocolError(f"WebSocket frame with RSV bits set (0x{b0:02x}): no extension")
        opcode = b0 & 0x0F
        if not b0 & 0x80:
            raise ProtocolError("fragmented WebSocket message (FIN clear): ZWS does not use them")
        if opcode in (CLOSE, PING, PONG, BINARY):
            return
        name = _OPCODE_NAMES.get(opcode)
        if name is not None:
            raise ProtocolError(f"WebSocket {name} frame: ZWS frames are binary messages")
        raise ProtocolError(f"unknown WebSocket opcode 0x{opcode:x}")

    def _deliver(self, opcode: int, payload: bytes, key: bytes, out: list[Any]) -> None:
        """One complete frame's payload (still masked if ``key``)."""
        if key:
            payload = mask_payload(payload, key)
        if opcode != BINARY:
            out.append(Control(opcode, payload))
            self.saw_command = True
            return
        self._data(payload[0], payload[1:], out)

    def _data(self, flags: int, body: bytes, out: list[Any]) -> None:
        """One complete binary frame: its ZWS flags octet and body."""
        parts = self._parts
        if flags == 0:
            if parts is None:
                out.append([body])
            else:
                parts.append(body)
                out.append(parts)
                self._parts = None
        elif flags == ZWS_MORE:
            if parts is None:
                self._parts = [body]
            else:
                parts.append(body)
        elif flags == ZWS_COMMAND:
            if parts is not None:
                raise ProtocolError("command frame inside a multipart message")
            out.append(body)
            self.saw_command = True
        elif flags == ZWS_COMMAND | ZWS_MORE:
            raise ProtocolError("command frame has the MORE flag set")
        else:
            raise ProtocolError(f"ZWS flags 0x{flags:02x} have reserved bits set")
