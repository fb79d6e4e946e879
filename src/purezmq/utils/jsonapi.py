"""JSON helpers that speak bytes, like pyzmq's ``zmq.utils.jsonapi``."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["dumps", "loads"]

# pyzmq's name for the JSON module in use (the standard library's, as in pyzmq 22.2+).
jsonmod = json


def dumps(o: object, **kwargs: Any) -> bytes:
    """Serialize ``o`` to UTF-8 JSON bytes (keyword arguments go to ``json.dumps``)."""
    return json.dumps(o, **kwargs).encode("utf-8")


def loads(s: bytes | bytearray | memoryview | str, **kwargs: Any) -> Any:
    """Load JSON from UTF-8 bytes or str (keyword arguments go to ``json.loads``)."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        s = bytes(s).decode("utf-8")
    return json.loads(s, **kwargs)
