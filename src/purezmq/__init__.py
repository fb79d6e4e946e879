"""purezmq: ZeroMQ in pure Python.

Speaks ZMTP 3.x on the wire (interoperates with libzmq and other ZeroMQ
peers) and offers pyzmq's API: ``import purezmq as zmq``.
"""

from __future__ import annotations

from purezmq import constants
from purezmq.constants import *  # noqa: F403
from purezmq.error import (
    Again,
    ContextTerminated,
    DraftFDWarning,
    InterruptedSystemCall,
    NotDone,
    ZMQBaseError,
    ZMQBindError,
    ZMQError,
    ZMQVersionError,
    strerror,
    zmq_errno,
)
from purezmq.install import install_as_zmq
from purezmq.sugar.context import Context, SyncContext
from purezmq.sugar.frame import _FINISHED_TRACKER, Frame, Message, MessageTracker
from purezmq.sugar.poll import Poller, select, zmq_poll
from purezmq.sugar.proxy import device, proxy, proxy_steerable
from purezmq.sugar.socket import Socket, SyncSocket
from purezmq.sugar.stopwatch import Stopwatch
from purezmq.sugar.version import (
    __purezmq_version__,
    __revision__,
    __version__,
    has,
    purezmq_version,
    purezmq_version_info,
    pyzmq_version,
    pyzmq_version_info,
    zmq_version,
    zmq_version_info,
)

__all__ = [
    *constants.__all__,
    "Again",
    "Context",
    "ContextTerminated",
    "DraftFDWarning",
    "Frame",
    "InterruptedSystemCall",
    "Message",
    "MessageTracker",
    "NotDone",
    "Poller",
    "Socket",
    "Stopwatch",
    "SyncContext",
    "SyncSocket",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "ZMQVersionError",
    "_FINISHED_TRACKER",
    "__purezmq_version__",
    "__revision__",
    "__version__",
    "backend",
    "constants",
    "curve_keypair",
    "curve_public",
    "device",
    "get_includes",
    "get_library_dirs",
    "has",
    "install_as_zmq",
    "proxy",
    "proxy_steerable",
    "purezmq_version",
    "purezmq_version_info",
    "pyzmq_version",
    "pyzmq_version_info",
    "select",
    "strerror",
    "zmq_errno",
    "zmq_poll",
    "zmq_version",
    "zmq_version_info",
]

COPY_THRESHOLD = 65536
DRAFT_API = constants.DRAFT_API  # PUREZMQ_DRAFT=0 turns it off
IPC_PATH_MAX_LEN = 107


def get_includes() -> list[str]:
    """pyzmq returns C header directories; purezmq has no C (an empty list)."""
    return []


def get_library_dirs() -> list[str]:
    """pyzmq returns C library directories; purezmq has no C (an empty list)."""
    return []


def curve_keypair() -> tuple[bytes, bytes]:
    """Generate a CURVE key pair: ``(public, secret)``, each 40 Z85 characters (bytes).

    Needs PyNaCl (``pip install purezmq[curve]``); raises ImportError without it.
    """
    from purezmq.utils import z85
    from purezmq.zmtp.mechanisms.curve import curve_keypair_raw

    public, secret = curve_keypair_raw()
    return z85.encode(public), z85.encode(secret)


def curve_public(secret_key: bytes | str) -> bytes:
    """The Z85 public key (40 bytes) of a Z85 secret key (40 characters)."""
    from purezmq.utils import z85
    from purezmq.zmtp.mechanisms.curve import curve_public_raw

    if isinstance(secret_key, str):
        secret_key = secret_key.encode("ascii")
    raw = bytes(secret_key)
    if len(raw) == 41 and raw[40] == 0:
        raw = raw[:40]
    if len(raw) != 40:
        raise ValueError("curve_public() takes a 40-character Z85 secret key")
    return z85.encode(curve_public_raw(z85.decode(raw)))


# Last: zmq.backend re-exports names defined above.
from purezmq import backend  # noqa: E402
