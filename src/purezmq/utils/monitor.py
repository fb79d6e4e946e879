"""Reading socket monitor events, as pyzmq's ``zmq.utils.monitor``.

A monitor message is two frames: 6 bytes (event number as a native 16-bit
integer, value as a native 32-bit integer) and the endpoint, libzmq's format.
"""

from __future__ import annotations

import struct
from typing import Any

from purezmq import constants as C

__all__ = ["parse_monitor_message", "recv_monitor_message"]


def parse_monitor_message(msg: list[bytes]) -> dict[str, Any]:
    """``{"event": Event, "value": int, "endpoint": bytes}`` from a two-frame monitor message."""
    if len(msg) != 2 or len(msg[0]) != 6:
        raise RuntimeError(
            f"invalid monitor message: {len(msg)} frames, expected 2 (6 bytes + endpoint)"
        )
    event, value = struct.unpack("=HI", bytes(msg[0]))
    try:
        ev: Any = C.Event(event)
    except ValueError:
        ev = event
    return {"event": ev, "value": value, "endpoint": bytes(msg[1])}


def recv_monitor_message(socket: Any, flags: int = 0) -> dict[str, Any]:
    """Receive one monitor message from ``socket`` and parse it."""
    return parse_monitor_message(socket.recv_multipart(flags))
