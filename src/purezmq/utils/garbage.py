"""pyzmq's ``zmq.utils.garbage``: the zero-copy garbage collector, as an empty shell.

pyzmq hands Python buffers to libzmq for zero-copy sends and learns when libzmq
is done with them through a PULL socket in a background thread; ``gc.refs``
holds the buffers meanwhile. purezmq's messages are Python objects: Python's
own reference counting frees them, and ``MessageTracker`` learns of it from the
message itself. So this collector never holds anything (``gc.refs`` is always
empty) and starts no thread; it exists for code that imports it.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from typing import Any

gcref = namedtuple("gcref", ["obj", "event"])


class GarbageCollector:
    """pyzmq's collector interface; purezmq needs none of it (see the module doc)."""

    def __init__(self, context: Any = None) -> None:
        self.refs: dict[int, gcref] = {}
        self.context = context
        self.url = "inproc://pyzmq.gc.01"
        self._lock = threading.Lock()

    @property
    def is_alive(self) -> bool:
        """pyzmq: whether its thread runs; purezmq has no thread."""
        return False

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""

    def store(self, obj: Any, event: threading.Event | None = None) -> int:
        """pyzmq: keep ``obj`` until libzmq releases it. purezmq keeps nothing and
        sets ``event`` at once (Python frees ``obj`` when its last user drops it)."""
        if event is not None:
            event.set()
        return id(obj)

    def collect(self, fd: Any = None) -> None:
        """Nothing is held, so nothing to collect."""


gc = GarbageCollector()

__all__ = ["GarbageCollector", "gc", "gcref"]
