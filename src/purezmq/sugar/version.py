"""Version information and capability queries (``zmq.has``).

Three versions, each answering its own question:

- ``__version__``, ``pyzmq_version()``, ``pyzmq_version_info()``: the pyzmq
  API level purezmq implements (27.1.0: pyzmq's own test suite at that
  version is run against purezmq). Third-party version gates such as
  ``zmq.pyzmq_version_info() >= (17,)`` therefore take the modern branch.
- ``zmq_version()``, ``zmq_version_info()``: the libzmq behaviour and wire
  level purezmq follows (4.3.5).
- ``__purezmq_version__``, ``purezmq_version()``, ``purezmq_version_info()``:
  purezmq's own release (the distribution's version).
"""

from __future__ import annotations

from purezmq import constants as C

# purezmq's own release; pyproject.toml's [project] version must match.
__purezmq_version__ = "0.1.0"

# The pyzmq API purezmq implements (pyzmq's __version__ / pyzmq_version()).
__version__ = "27.1.0"
# pyzmq's git revision of a dev build; purezmq reports none.
__revision__ = ""
VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH = (int(x) for x in __version__.split("."))
VERSION_EXTRA = ""

# The libzmq behaviour and wire protocol purezmq implements.
_LIBZMQ_VERSION = (4, 3, 5)


def zmq_version_info() -> tuple[int, int, int]:
    """The libzmq version whose behaviour purezmq follows: (4, 3, 5)."""
    return _LIBZMQ_VERSION


def zmq_version() -> str:
    """The libzmq version whose behaviour purezmq follows: "4.3.5"."""
    return ".".join(str(n) for n in _LIBZMQ_VERSION)


def pyzmq_version_info() -> tuple[int, int, int]:
    """The pyzmq API level purezmq implements, as a tuple: (27, 1, 0)."""
    return (VERSION_MAJOR, VERSION_MINOR, VERSION_PATCH)


def pyzmq_version() -> str:
    """The pyzmq API level purezmq implements: "27.1.0"."""
    return __version__


def purezmq_version_info() -> tuple[int, ...]:
    """purezmq's own version, as a tuple."""
    return tuple(int(x) for x in __purezmq_version__.split("."))


def purezmq_version() -> str:
    """purezmq's own version (not the pyzmq API level: see ``pyzmq_version``)."""
    return __purezmq_version__


_CAPABILITIES = {
    "ipc": True,
    "pgm": False,
    "tipc": False,
    "norm": False,
    "gssapi": False,
    "draft": True,  # CLIENT/SERVER, RADIO/DISH, SCATTER/GATHER, PEER, CHANNEL, DGRAM
    # ws:// and wss:// (transport/ws.py). libzmq 4.3.5 answers "WS"/"WSS"; both cases here.
    "WS": True,
    "WSS": True,
    "ws": True,
    "wss": True,
}


_DRAFT_CAPABILITIES = frozenset({"draft", "WS", "WSS", "ws", "wss"})


def has(capability: str) -> bool:
    """Is ``capability`` ("ipc", "curve", "pgm", "draft", ...) available?"""
    if not C.DRAFT_API and capability in _DRAFT_CAPABILITIES:
        return False
    if capability == "curve":
        from purezmq.zmtp.mechanisms.curve import HAVE_NACL

        return HAVE_NACL
    return _CAPABILITIES.get(capability, False)


__all__ = [
    "__purezmq_version__",
    "__revision__",
    "__version__",
    "has",
    "purezmq_version",
    "purezmq_version_info",
    "pyzmq_version",
    "pyzmq_version_info",
    "zmq_version",
    "zmq_version_info",
]
