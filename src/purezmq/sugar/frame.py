"""Frame and MessageTracker: pyzmq's message objects.

A Frame wraps one message part without copying it (``copy=False`` paths) and
answers ``get()`` for message properties (``Socket-Type``, ``Peer-Address``,
``Routing-Id``/``Identity``, ``User-Id``, application ``X-`` metadata) from the
pipe the message came in on.
"""

from __future__ import annotations

import builtins
import threading
import time
from typing import Any

from purezmq import constants as C
from purezmq.error import NotDone, ZMQError


class MessageTracker:
    """Tells when purezmq no longer references the buffers of a sent message.

    purezmq snapshots mutable buffers it is given with ``track=True``, so a
    tracker is done as soon as ``send`` returns; immutable ``bytes`` are
    shared by reference, which is safe because nobody can change them.
    """

    def __init__(self, *towatch: Any) -> None:
        self._events: list[threading.Event] = []
        self.peers: set[Any] = set()
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self._events.append(obj)
            elif isinstance(obj, MessageTracker):
                self._events.extend(obj._events)
                self.peers.add(obj)
            elif isinstance(obj, Frame):
                if obj.tracker is None:
                    raise ValueError("Not a tracked frame")
                self._events.extend(obj.tracker._events)
                self.peers.add(obj.tracker)
            else:
                raise TypeError(f"Require Events or MessageTrackers, not {type(obj)}")

    @property
    def done(self) -> bool:
        """True once every tracked message has been released."""
        return all(e.is_set() for e in self._events)

    def wait(self, timeout: float | int = -1) -> None:
        """Block until done; ``NotDone`` after ``timeout`` seconds (-1: forever)."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        for e in self._events:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not e.wait(left):
                raise NotDone()


def _done_tracker() -> MessageTracker:
    ev = threading.Event()
    ev.set()
    return MessageTracker(ev)


class Frame:
    """One message part, with its properties; ``bytes(frame)`` gives the data."""

    def __init__(
        self,
        data: Any = b"",
        track: bool = False,
        copy: bool | None = None,
        copy_threshold: int | None = None,
    ) -> None:
        if isinstance(data, str):
            raise TypeError("Str objects not allowed. Only: bytes, buffer interfaces.")
        if isinstance(data, Frame):
            data = data._data
        if copy:
            data = bytes(data)
        self._data: Any = data
        self.more = False
        self.tracker: MessageTracker | None = _done_tracker() if track else None
        self.tracker_event: threading.Event | None = None
        self._meta: dict[str, str] = {}
        self.routing_id: int | None = None
        self.group: str | None = None

    @property
    def bytes(self) -> bytes:
        """The data as bytes (a copy if it was a mutable buffer)."""
        d = self._data
        return d if type(d) is bytes else bytes(d)

    @property
    def buffer(self) -> memoryview:
        """A memoryview of the data, without copying."""
        return memoryview(self._data)

    def get(self, option: int | str) -> Any:
        """A message option (``MORE``) or property (``"Socket-Type"``, ``"Peer-Address"``...)."""
        if isinstance(option, str):
            for k, v in self._meta.items():
                if k.lower() == option.lower():
                    return v
            if option.lower() in ("routing-id", "identity") and "Identity" in self._meta:
                return self._meta["Identity"]
            raise ZMQError(C.EINVAL, f"message has no property {option!r}")
        if option == C.MORE:
            return int(self.more)
        if option == C.SHARED:
            return 0
        raise ZMQError(C.EINVAL, f"unknown message option {option}")

    def set(self, option: int, value: Any) -> None:
        raise ZMQError(C.EINVAL, f"message option {option} cannot be set")

    def __len__(self) -> int:
        return len(self._data)

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __buffer__(self, flags: int) -> memoryview:
        return memoryview(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (bytes, bytearray, memoryview)):
            return self.bytes == bytes(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.bytes)

    def __copy__(self) -> Frame:
        f = Frame(self._data)
        f.more = self.more
        f._meta = self._meta
        return f

    fast_copy = __copy__

    def __repr__(self) -> str:
        d = self.bytes
        shown = d if len(d) <= 32 else d[:29] + b"..."
        return f"<purezmq.Frame({shown!r}{'' if len(d) <= 32 else f'{len(d)}B'})>"


Message = Frame
