"""pyzmq's ``zmq.backend``: the low-level names pyzmq's backends (Cython, cffi) export.

pyzmq splits each class in two: a backend class over the C object and a
``zmq.sugar`` subclass adding the Python conveniences. purezmq has no C
layer, so its backend is its only implementation: the names here are the
same objects as ``purezmq.Socket``, ``purezmq.Context``, ... Code that reads
``zmq.backend.Socket`` (pyzmq's own test helpers do) gets the real class.
"""

from __future__ import annotations

from purezmq import IPC_PATH_MAX_LEN, curve_keypair, curve_public
from purezmq.devices.monitoredqueue import monitored_queue
from purezmq.error import strerror, zmq_errno
from purezmq.sugar.context import Context
from purezmq.sugar.frame import Frame, Message
from purezmq.sugar.poll import zmq_poll
from purezmq.sugar.proxy import proxy, proxy_steerable
from purezmq.sugar.socket import Socket
from purezmq.sugar.version import has, zmq_version_info

PYZMQ_DRAFT_API = True  # as purezmq.DRAFT_API (constants.py)

__all__ = [
    "IPC_PATH_MAX_LEN",
    "PYZMQ_DRAFT_API",
    "Context",
    "Frame",
    "Message",
    "Socket",
    "curve_keypair",
    "curve_public",
    "has",
    "monitored_queue",
    "proxy",
    "proxy_steerable",
    "strerror",
    "zmq_errno",
    "zmq_poll",
    "zmq_version_info",
]
