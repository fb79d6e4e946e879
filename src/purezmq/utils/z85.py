"""Z85 encoding (ZeroMQ RFC 32): 4 binary bytes <-> 5 printable characters.

Used for CURVE keys (``curve_keypair`` returns Z85 text).  This module imports
only the standard library, so any layer may use it.
"""

from __future__ import annotations

import struct

__all__ = ["Z85CHARS", "encode", "decode"]

#: The 85 characters, in value order (RFC 32).
Z85CHARS = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

_85_2 = 85 * 85
_85_3 = _85_2 * 85
# every 2-character combination, indexed by its value 0..85**2-1
_PAIRS: list[bytes] = [bytes((a, b)) for a in Z85CHARS for b in Z85CHARS]
_SINGLES: list[bytes] = [bytes((c,)) for c in Z85CHARS]
# byte -> value; 0xFF marks characters outside the alphabet
_DECODE_TABLE = bytearray(b"\xff" * 256)
for _value, _char in enumerate(Z85CHARS):
    _DECODE_TABLE[_char] = _value
_DECODE = bytes(_DECODE_TABLE)
del _value, _char, _DECODE_TABLE


def encode(raw: bytes | bytearray | memoryview) -> bytes:
    """Encode ``raw`` (length a multiple of 4) as Z85 text (bytes)."""
    data = bytes(raw)
    if len(data) % 4:
        raise ValueError(f"Z85 encode: length must be a multiple of 4 bytes, not {len(data)}")
    words = struct.unpack(f">{len(data) // 4}I", data)
    pairs = _PAIRS
    singles = _SINGLES
    # w = hi * 85**3 + mid * 85**2 + lo, with hi < 85**2 because 2**32 < 85**5
    return b"".join(
        [pairs[w // _85_3] + singles[(w // _85_2) % 85] + pairs[w % _85_2] for w in words]
    )


def decode(z85: bytes | bytearray | memoryview | str) -> bytes:
    """Decode Z85 text (length a multiple of 5) to bytes."""
    if isinstance(z85, str):
        try:
            text = z85.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("Z85 decode: text contains non-ASCII characters") from None
    else:
        text = bytes(z85)
    n = len(text)
    if n % 5:
        raise ValueError(f"Z85 decode: length must be a multiple of 5 characters, not {n}")
    values = text.translate(_DECODE)
    if b"\xff" in values:
        bad = next(chr(c) for c, v in zip(text, values, strict=True) if v == 0xFF)
        raise ValueError(f"Z85 decode: {bad!r} is not a Z85 character")
    words = [
        (((a * 85 + b) * 85 + c) * 85 + d) * 85 + e
        for a, b, c, d, e in zip(
            values[0::5], values[1::5], values[2::5], values[3::5], values[4::5], strict=True
        )
    ]
    try:
        return struct.pack(f">{n // 5}I", *words)
    except struct.error:
        raise ValueError("Z85 decode: a 5-character group exceeds 2**32 - 1") from None
