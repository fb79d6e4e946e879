"""pyzmq's deprecated ``zmq.utils.strtypes`` (deprecated since pyzmq 23)."""

from __future__ import annotations

import warnings
from typing import Any

bytes = bytes  # noqa: PLW0127 - the names pyzmq exports
unicode = str
basestring = (str,)


def cast_bytes(s: Any, encoding: str = "utf8", errors: str = "strict") -> bytes:
    """``s`` as bytes (str is encoded)."""
    warnings.warn("zmq.utils.strtypes is deprecated in pyzmq 23.", DeprecationWarning, stacklevel=2)
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode(encoding, errors)
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


def cast_unicode(s: Any, encoding: str = "utf8", errors: str = "strict") -> str:
    """``s`` as str (bytes are decoded)."""
    warnings.warn("zmq.utils.strtypes is deprecated in pyzmq 23.", DeprecationWarning, stacklevel=2)
    if isinstance(s, bytes):
        return s.decode(encoding, errors)
    if isinstance(s, str):
        return s
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


b = asbytes = cast_bytes
u = cast_unicode

__all__ = ["asbytes", "b", "basestring", "bytes", "cast_bytes", "cast_unicode", "u", "unicode"]
