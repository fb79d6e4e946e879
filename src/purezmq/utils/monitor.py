"""Reading socket monitor events, as pyzmq's ``zmq.utils.monitor``.

A version 1 monitor message (libzmq's and pyzmq's default) is two frames:
6 bytes (event number as a native 16-bit integer, value as a native 32-bit
integer) and the endpoint. A version 2 message (``Socket.monitor(...,
version=2)``, libzmq's draft ``zmq_socket_monitor_versioned``) is the event
as a native uint64, the number of values (uint64), the values (uint64 each),
then the local and the remote endpoint. ``parse_monitor_message`` reads both:
a v2 event gives ``values``, ``local_endpoint`` and ``remote_endpoint`` as
well, with ``value`` its first value and ``endpoint`` the local endpoint, or
the remote one when there is no local one (a connect event).
"""

from __future__ import annotations

import struct
from collections.abc import Awaitable
from typing import Any

from purezmq import constants as C

__all__ = ["parse_monitor_message", "recv_monitor_message"]

_U64 = struct.Struct("=Q")


def _event(number: int) -> Any:
    try:
        return C.Event(number)
    except ValueError:
        return number


def parse_monitor_message(msg: list[bytes]) -> dict[str, Any]:
    """Decode one monitor message (v1 or v2) into a dict.

    v1: ``{"event": Event, "value": int, "endpoint": bytes}``; v2 adds
    ``"values"`` (list of int), ``"local_endpoint"`` and ``"remote_endpoint"``.
    """
    frames = [bytes(f) for f in msg]
    if len(frames) == 2 and len(frames[0]) == 6:
        event, value = struct.unpack("=HI", frames[0])
        return {"event": _event(event), "value": value, "endpoint": frames[1]}
    if len(frames) >= 4 and len(frames[0]) == 8 and len(frames[1]) == 8:
        (count,) = _U64.unpack(frames[1])
        if len(frames) == 4 + count and all(len(f) == 8 for f in frames[2 : 2 + count]):
            (event,) = _U64.unpack(frames[0])
            values = [_U64.unpack(f)[0] for f in frames[2 : 2 + count]]
            local, remote = frames[-2], frames[-1]
            return {
                "event": _event(event),
                "value": values[0] if values else 0,
                "values": values,
                "endpoint": local or remote,
                "local_endpoint": local,
                "remote_endpoint": remote,
            }
    raise RuntimeError(
        f"invalid monitor message: {len(frames)} frames, expected a v1 event "
        "(6 bytes + endpoint) or a v2 event (event, count, values, local, remote)"
    )


async def _parse_later(pending: Awaitable[list[bytes]]) -> dict[str, Any]:
    return parse_monitor_message(await pending)


def recv_monitor_message(socket: Any, flags: int = 0) -> Any:
    """Receive one monitor message from ``socket`` and parse it.

    With a ``purezmq.asyncio`` socket this returns an awaitable of the dict,
    as pyzmq's does.
    """
    msg = socket.recv_multipart(flags)
    if isinstance(msg, Awaitable):
        return _parse_later(msg)
    return parse_monitor_message(msg)
