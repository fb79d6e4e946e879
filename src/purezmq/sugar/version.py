"""Version information and capability queries (``zmq.has``)."""

from __future__ import annotations

__version__ = "0.1.0"

# The libzmq behaviour and wire protocol purezmq implements.
_LIBZMQ_VERSION = (4, 3, 5)


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version whose behaviour purezmq follows."""
    return _LIBZMQ_VERSION


def zmq_version() -> str:
    return ".".join(str(n) for n in _LIBZMQ_VERSION)


def pyzmq_version_info() -> tuple[int, ...]:
    """purezmq's own version, standing in for pyzmq's."""
    return tuple(int(x) for x in __version__.split("."))


def pyzmq_version() -> str:
    return __version__


_CAPABILITIES = {
    "ipc": True,
    "pgm": False,
    "tipc": False,
    "norm": False,
    "gssapi": False,
    "draft": False,
}


def has(capability: str) -> bool:
    """Is ``capability`` ("ipc", "curve", "pgm", "draft", ...) available?"""
    if capability == "curve":
        from purezmq.zmtp.mechanisms.curve import HAVE_NACL

        return HAVE_NACL
    return _CAPABILITIES.get(capability, False)
