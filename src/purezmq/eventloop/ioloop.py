"""Deprecated alias module (as ``zmq.eventloop.ioloop`` is since pyzmq 17).

purezmq needs no special loop: tornado's own ``IOLoop`` (asyncio underneath)
runs ZMQStreams and future sockets. ``IOLoop`` and ``ZMQIOLoop`` are tornado's
``IOLoop``; ``install()`` does nothing. Importing this module warns.
"""

from __future__ import annotations

import warnings

from tornado.ioloop import IOLoop, PeriodicCallback

__all__ = ["IOLoop", "PeriodicCallback", "ZMQIOLoop", "install"]

_MESSAGE = (
    "purezmq.eventloop.ioloop is deprecated (as zmq.eventloop.ioloop is since pyzmq 17): "
    "use tornado.ioloop.IOLoop, which works with purezmq as it is"
)

warnings.warn(_MESSAGE, DeprecationWarning, stacklevel=2)

ZMQIOLoop = IOLoop


def install() -> None:
    """DEPRECATED, does nothing: tornado's default IOLoop already works with purezmq."""
    warnings.warn(_MESSAGE, DeprecationWarning, stacklevel=2)
