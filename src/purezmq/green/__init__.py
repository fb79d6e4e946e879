"""purezmq.green: pyzmq's zmq.green -- the purezmq API for gevent programs.

``import purezmq.green as zmq``: everything of ``purezmq``, with Context,
Socket, Poller, select, device, proxy and proxy_steerable replaced by versions
whose blocking calls wait in the gevent hub (other greenlets run meanwhile),
with or without ``gevent.monkey.patch_all()``. See ``green/core.py`` for how a
call waits and why the I/O thread stays a real OS thread.
"""

from __future__ import annotations

try:
    import gevent  # noqa: F401
except ImportError as e:  # pragma: no cover - exercised in a subprocess without gevent
    raise ImportError(
        "purezmq.green needs gevent, which is not installed: pip install purezmq[gevent]"
    ) from e

from purezmq import *  # noqa: F403
from purezmq import __all__ as _sync_all
from purezmq.green.core import Context, Socket
from purezmq.green.device import device, proxy, proxy_steerable
from purezmq.green.poll import Poller, select

# The sync names, with the green Context, Socket, Poller, select, device,
# proxy and proxy_steerable imported above in place of the sync ones.
__all__ = list(_sync_all)
del _sync_all
_green = (Context, Socket, Poller, select, device, proxy, proxy_steerable)
