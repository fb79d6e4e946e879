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
from purezmq.sugar._buffer import BufferExporter

C_COPY_THRESHOLD = 65536  # zmq.COPY_THRESHOLD


class MessageTracker:
    """Tells when purezmq no longer references the buffers of a sent message.

    A message sent with ``copy=False, track=True`` (at least ``copy_threshold``
    bytes), or a ``Frame(..., copy=False, track=True)``, is done once purezmq
    has dropped every reference to its data: written to the connection,
    taken by an inproc peer (and released by it), or dropped at HWM. Smaller
    or copied messages give ``_FINISHED_TRACKER``, done from the start, as in
    pyzmq. With no arguments a tracker is done.
    """

    def __init__(self, *towatch: Any) -> None:
        self.events: set[threading.Event] = set()
        self.peers: set[MessageTracker] = set()
        for obj in towatch:
            if isinstance(obj, threading.Event):
                self.events.add(obj)
            elif isinstance(obj, MessageTracker):
                self.peers.add(obj)
            elif isinstance(obj, Frame):
                if obj.tracker is None:
                    raise ValueError("Not a tracked frame")
                self.peers.add(obj.tracker)
            else:
                raise TypeError(f"Require Events or MessageTrackers, not {type(obj)}")

    @property
    def done(self) -> bool:
        """True once every tracked message has been released."""
        return all(e.is_set() for e in self.events) and all(p.done for p in self.peers)

    def wait(self, timeout: float | int = -1) -> None:
        """Block until done; ``NotDone`` after ``timeout`` seconds (-1: forever)."""
        deadline = None if timeout is None or timeout < 0 else time.monotonic() + timeout
        for e in self.events:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not e.wait(left):
                raise NotDone()
        for p in self.peers:
            left = -1 if deadline is None else max(0.0, deadline - time.monotonic())
            p.wait(left)


# Done from the start: what sends that copied (or were below copy_threshold) return.
_FINISHED_TRACKER = MessageTracker()


def _done_tracker() -> MessageTracker:
    return _FINISHED_TRACKER


class _TrackedBytes(builtins.bytes):
    """A private copy of a tracked message's data; sets its event when freed.

    Python 3.11 cannot export a buffer from a Python class, and bytes objects
    take no weak references, so purezmq copies tracked data once into this
    subclass: its ``__del__`` runs when the last reference -- the Frame, a
    queued message, a pending write, an inproc receiver's Frame -- goes away.
    """

    _event: threading.Event

    def __del__(self) -> None:
        self._event.set()


def _tracked(data: Any) -> tuple[_TrackedBytes, MessageTracker]:
    """``data`` as tracked bytes, and the tracker that says when they are released."""
    tb = _TrackedBytes(data)
    ev = tb._event = threading.Event()
    return tb, MessageTracker(ev)


class Frame(BufferExporter):
    """One message part, with its properties; ``bytes(frame)`` gives the data.

    ``frame.get("User-Id")`` or ``frame["User-Id"]`` read message properties
    (``Socket-Type``, ``Peer-Address``, ``Routing-Id``/``Identity``,
    ``User-Id``, ``X-`` metadata) of a received frame.

    A Frame exports the buffer protocol (``memoryview(frame)``,
    ``numpy.frombuffer(frame)``; before Python 3.12 through ``BufferExporter``).
    Views are writable, as pyzmq's (libzmq's message buffers are): read-only
    data below ``COPY_THRESHOLD`` -- received parts are bytes -- is copied once
    into a bytearray of the frame's own at the first view (``_buffer_source``);
    larger read-only data is viewed in place, read-only, never copied.
    """

    def __init__(
        self,
        data: Any = None,
        track: bool = False,
        copy: bool | None = None,
        copy_threshold: int | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(data, str):
            raise TypeError("Str objects not allowed. Only: bytes, buffer interfaces.")
        if isinstance(data, Frame):
            data = data._data
        elif data is None:
            data = b""
        else:
            try:
                view = memoryview(data)
            except TypeError:
                raise TypeError(
                    f"Expected bytes or an object with the buffer interface, not {type(data)}"
                ) from None
            if not view.c_contiguous:
                raise BufferError("Frame data must be a contiguous buffer")
            if copy is None:
                # As pyzmq: small data is copied, large data shared (zero-copy).
                threshold = C_COPY_THRESHOLD if copy_threshold is None else copy_threshold
                copy = bool(threshold) and view.nbytes < threshold
            if copy:
                data = view.tobytes()  # a copy even of bytes, as pyzmq's
        self.tracker: MessageTracker | None = None
        self.tracker_event: threading.Event | None = None
        if track:
            if copy:
                self.tracker = _FINISHED_TRACKER
            else:
                data, self.tracker = _tracked(data)
                self.tracker_event = data._event
        self._data: Any = data
        self._bytes: builtins.bytes | None = None
        self._buffer: memoryview | None = None
        self.more = False
        self._meta: dict[str, str] = {}
        self.routing_id: int | None = None
        self.group: str | None = None

    @classmethod
    def _received(cls, data: Any, more: bool, meta: dict[str, str]) -> Frame:
        """A Frame over a received part (no copy, no checks)."""
        f = cls.__new__(cls)
        f.tracker = f.tracker_event = f._bytes = f._buffer = None
        f._data = data
        f.more = more
        f._meta = meta
        f.routing_id = f.group = None
        return f

    @property
    def bytes(self) -> builtins.bytes:
        """The data as bytes (copied once from a buffer that is not bytes, then cached)."""
        d = self._data
        if type(d) is builtins.bytes:
            return d
        b = self._bytes
        if b is None:
            b = self._bytes = builtins.bytes(d)
        return b

    @property
    def buffer(self) -> memoryview:
        """A memoryview of the data, the same one each time (see the class docstring)."""
        b = self._buffer
        if b is None:
            b = self._buffer = memoryview(self._buffer_source(0))
        return b

    def _buffer_source(self, flags: int) -> Any:
        """The object whose buffer the Frame's views show.

        Small read-only bytes become a private bytearray once, so that views are
        writable as pyzmq's are. This costs a copy of at most ``COPY_THRESHOLD``
        bytes, and only for frames viewed as buffers: ``recv(copy=False)``
        itself copies nothing, and neither do ``bytes``/``len``/sending.
        """
        d = self._data
        if type(d) is builtins.bytes and len(d) < C_COPY_THRESHOLD:
            d = self._data = bytearray(d)
        return d

    def get(self, option: int | str) -> Any:
        """A message option (``MORE``) or property (``"Socket-Type"``, ``"Peer-Address"``...)."""
        if isinstance(option, builtins.bytes):
            option = option.decode("utf-8")
        if isinstance(option, str):
            for k, v in self._meta.items():
                if k.lower() == option.lower():
                    return v
            if option.lower() in ("routing-id", "identity") and "Identity" in self._meta:
                return self._meta["Identity"]
            raise ZMQError(C.EINVAL, f"message has no property {option!r}")
        if not isinstance(option, int):
            raise TypeError(f"expected str, got: {option!r}")
        if option == C.MORE:
            return int(self.more)
        if option == C.SHARED:
            return 0
        raise ZMQError(C.EINVAL, f"unknown message option {option}")

    def __getitem__(self, key: int | str) -> Any:
        """``frame["User-Id"]``: the same as ``frame.get("User-Id")``."""
        return self.get(key)

    def set(self, option: int, value: Any) -> None:
        raise ZMQError(C.EINVAL, f"message option {option} cannot be set")

    def __len__(self) -> int:
        d = self._data
        return len(d) if type(d) is builtins.bytes else memoryview(d).nbytes

    def __bytes__(self) -> builtins.bytes:
        return self.bytes

    def __buffer__(self, flags: int) -> memoryview:
        view = memoryview(self._buffer_source(flags))
        if flags & 1 and view.readonly:  # inspect.BufferFlags.WRITABLE
            raise BufferError("the frame's data is read-only (bytes)")
        return view

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Frame):
            return self.bytes == other.bytes
        if isinstance(other, (builtins.bytes, bytearray, memoryview)):
            return self.bytes == builtins.bytes(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.bytes)

    def __copy__(self) -> Frame:
        """Another Frame over the same data (and tracker), as pyzmq's fast_copy."""
        f = Frame._received(self._data, self.more, self._meta)
        f.tracker = self.tracker
        f.tracker_event = self.tracker_event
        f._bytes = self._bytes
        f._buffer = self._buffer
        return f

    fast_copy = __copy__

    def __repr__(self) -> str:
        """pyzmq's format: ``<zmq.Frame(b'xxxxxxxxxxxx'...2kB)>``."""
        nbytes = len(self)
        suffix = ""
        if nbytes > 16:
            shown = builtins.bytes(memoryview(self._data).cast("B")[:12])
            if nbytes >= 1e9:
                unit, n = "GB", nbytes // 1e9
            elif nbytes >= 2**20:
                unit, n = "MB", nbytes // 1e6
            elif nbytes >= 1e3:
                unit, n = "kB", nbytes // 1e3
            else:
                unit, n = "B", nbytes
            suffix = f"...{n:.0f}{unit}"
        else:
            shown = self.bytes
        return f"<{_public_name(self)}({shown!r}{suffix})>"


def _public_name(obj: object) -> str:
    """``zmq.Frame`` (purezmq installed as zmq) or ``purezmq.Frame``; green/asyncio too."""
    import sys

    cls = type(obj)
    top = "zmq" if sys.modules.get("zmq") is sys.modules.get("purezmq") else "purezmq"
    sub = cls.__dict__.get("_repr_sub")
    if sub is None:
        mod = cls.__module__
        if not mod.startswith("purezmq."):
            return f"{mod}.{cls.__qualname__}"
        sub = ""
        for name in ("asyncio", "green", "eventloop.future"):
            if mod.startswith(f"purezmq.{name}"):
                sub = name + "."
                break
    return f"{top}.{sub}{cls.__name__}"


Message = Frame
