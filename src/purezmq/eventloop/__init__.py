"""purezmq.eventloop: pyzmq's tornado integration (``zmq.eventloop``).

- ``zmqstream.ZMQStream``: register callbacks for messages received and sent
  on a socket, run by tornado's IOLoop.
- ``future``: ``Context``/``Socket``/``Poller`` whose calls return Futures for
  tornado coroutines (purezmq.asyncio's classes: tornado 6 Futures are
  asyncio Futures).
- ``ioloop``: the deprecated alias module pyzmq keeps (tornado's ``IOLoop``).

Tornado is an optional dependency: ``pip install purezmq[tornado]``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

try:
    from tornado.ioloop import IOLoop
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "purezmq.eventloop (ZMQStream, tornado futures) needs tornado: pip install purezmq[tornado]"
    ) from e

__all__ = ["IOLoop"]

_SUBMODULES = ("ioloop", "zmqstream", "future")


def __getattr__(name: str) -> ModuleType:
    """``purezmq.eventloop.zmqstream`` etc. without importing them first."""
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
