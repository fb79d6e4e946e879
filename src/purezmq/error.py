"""The ZMQError family and libzmq's error texts.

Rules this module keeps (all checked against pyzmq in ``tests/test_error.py``):

- The class hierarchy is pyzmq's: ``ZMQError`` and ``ZMQBindError`` and
  ``NotDone`` derive from ``ZMQBaseError``; ``Again``, ``ContextTerminated``
  and ``InterruptedSystemCall`` derive from ``ZMQError`` (the last also from
  ``InterruptedError``, so ``except OSError`` sees it); ``ZMQVersionError``
  is a ``NotImplementedError``.
- ``ZMQError(errno, msg)`` does not pick a subclass (pyzmq's doesn't either):
  ``ZMQError(EAGAIN)`` is a plain ``ZMQError``.  Library code raises through
  :func:`raise_errno` / :func:`make_error`, which pick ``Again`` for EAGAIN,
  ``ContextTerminated`` for ETERM and ``InterruptedSystemCall`` for EINTR, so
  ``except zmq.Again`` catches every EAGAIN purezmq raises.
- ``str(err)`` is the message; the message defaults to ``strerror(errno)``,
  which gives libzmq's texts (libzmq's own errors, "Host unreachable" for
  EHOSTUNREACH) and the platform's ``strerror`` for everything else.
- ``err.errno`` is the number as given (``Again``/``ContextTerminated`` use
  the :class:`~purezmq.constants.Errno` member), as in pyzmq.

Unlike pyzmq, the subclasses keep a message they are given
(``Again(EAGAIN, "send timed out after SNDTIMEO=100ms")``); with no message
they use libzmq's text, as pyzmq's do.
"""

from __future__ import annotations

import errno as _errno_mod
import os
from typing import NoReturn

from purezmq.constants import ZMQ_HAUSNUMERO, Errno

__all__ = [
    "DraftFDWarning",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "NotDone",
    "ContextTerminated",
    "InterruptedSystemCall",
    "Again",
    "ZMQVersionError",
    "strerror",
    "make_error",
    "raise_errno",
]

EINTR = _errno_mod.EINTR

#: libzmq's texts, where they differ from the platform's strerror(3).
_LIBZMQ_TEXTS: dict[int, str] = {
    int(Errno.EFSM): "Operation cannot be accomplished in current state",
    int(Errno.ENOCOMPATPROTO): "The protocol is not compatible with the socket type",
    int(Errno.ETERM): "Context was terminated",
    int(Errno.EMTHREAD): "No thread available",
    int(Errno.EHOSTUNREACH): "Host unreachable",
}

#: Texts for libzmq's fallback numbers (used where the platform lacks the errno).
_FALLBACK_TEXTS: dict[int, str] = {
    ZMQ_HAUSNUMERO + 1: "Not supported",
    ZMQ_HAUSNUMERO + 2: "Protocol not supported",
    ZMQ_HAUSNUMERO + 3: "No buffer space available",
    ZMQ_HAUSNUMERO + 4: "Network is down",
    ZMQ_HAUSNUMERO + 5: "Address in use",
    ZMQ_HAUSNUMERO + 6: "Address not available",
    ZMQ_HAUSNUMERO + 7: "Connection refused",
    ZMQ_HAUSNUMERO + 8: "Operation in progress",
    ZMQ_HAUSNUMERO + 9: "Not a socket",
    ZMQ_HAUSNUMERO + 10: "Message too long",
    ZMQ_HAUSNUMERO + 11: "Address family not supported",
    ZMQ_HAUSNUMERO + 12: "Network is unreachable",
    ZMQ_HAUSNUMERO + 13: "Connection aborted",
    ZMQ_HAUSNUMERO + 14: "Connection reset",
    ZMQ_HAUSNUMERO + 15: "Not connected",
    ZMQ_HAUSNUMERO + 16: "Operation timed out",
    ZMQ_HAUSNUMERO + 17: "Host unreachable",
    ZMQ_HAUSNUMERO + 18: "Network dropped connection on reset",
}


def strerror(errnum: int) -> str:
    """Return libzmq's description of error number ``errnum`` (``zmq_strerror``)."""
    errnum = int(errnum)
    text = _LIBZMQ_TEXTS.get(errnum)
    if text is not None:
        return text
    text = _FALLBACK_TEXTS.get(errnum)
    if text is not None:
        return text
    try:
        return os.strerror(errnum)
    except (ValueError, OverflowError):
        return f"Unknown error {errnum}"


def zmq_errno() -> int:
    """libzmq's thread-local errno; purezmq reports errors only by exception (always 0)."""
    return 0


class ZMQBaseError(Exception):
    """Base exception class for 0MQ errors in Python."""


class ZMQError(ZMQBaseError):
    """Wrap an errno-style error.

    ``errno`` is the error number (``None`` means 0: purezmq keeps no global
    ``zmq_errno()``); ``msg`` replaces the default text ``strerror(errno)``.
    A non-int first argument is taken as the message (``errno`` is then None).
    """

    errno: int | None
    strerror: str

    def __init__(self, errno: int | None = None, msg: str | None = None) -> None:
        if isinstance(errno, int):
            num: int | None = errno
            text = msg if msg is not None else strerror(errno)
        elif errno is None:
            num = 0
            text = msg if msg is not None else strerror(0)
        else:
            num = None
            text = str(errno) if msg is None else msg
        args: tuple[object, ...] = ()
        if msg is not None:
            args = (errno, msg)
        elif errno is not None:
            args = (errno,)
        super().__init__(*args)
        self.errno = num
        self.strerror = text

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class _FixedErrnoError(ZMQError):
    """A ZMQError whose errno is fixed by the class."""

    _errno: int = 0

    def __init__(self, errno: int | str | None = None, msg: str | None = None) -> None:
        # pyzmq's subclasses ignore their arguments; we keep a given message
        given = (errno, msg) if msg is not None else (() if errno is None else (errno,))
        super().__init__(self._errno, msg)
        self.args = tuple(given)


class Again(_FixedErrnoError):
    """Wrapper for zmq.EAGAIN: the operation would block (or timed out)."""

    _errno = Errno.EAGAIN


class ContextTerminated(_FixedErrnoError):
    """Wrapper for zmq.ETERM: the socket's context was terminated."""

    _errno = Errno.ETERM


class InterruptedSystemCall(_FixedErrnoError, InterruptedError):  # type: ignore[misc]
    """Wrapper for EINTR.

    purezmq retries interrupted waits itself; this should not reach users.
    """

    _errno = EINTR

    def __str__(self) -> str:
        base = self.strerror
        if base == strerror(EINTR):
            return f"{base}: this call should have been retried. Please report this to purezmq."
        return base


class NotDone(ZMQBaseError):
    """Raised when a timeout is reached while waiting for 0MQ to finish with a message.

    See ``MessageTracker.wait``.
    """


class ZMQBindError(ZMQBaseError):
    """An error for ``Socket.bind_to_random_port()``."""


def _libzmq_version() -> str:
    """The libzmq version purezmq reports (the front-end's ``zmq_version()``)."""
    import importlib

    try:
        pkg = importlib.import_module("purezmq")
        version = getattr(pkg, "zmq_version", None)
        if callable(version):
            return str(version())
    except ImportError:  # pragma: no cover - the package is always importable
        pass
    return "4.3.5"


class ZMQVersionError(NotImplementedError):
    """Raised when a feature is not provided by the (emulated) libzmq version."""

    min_version: str
    msg: str
    version: str

    def __init__(self, min_version: str, msg: str = "Feature") -> None:
        self.min_version = min_version
        self.msg = msg
        self.version = _libzmq_version()
        super().__init__(min_version, msg)

    def __str__(self) -> str:
        return f"{self.msg} requires libzmq >= {self.min_version}, have {self.version}"

    def __repr__(self) -> str:
        return f"ZMQVersionError({str(self)!r})"


class DraftFDWarning(RuntimeWarning):
    """Warning for using ``Socket.FD`` on a draft thread-safe socket."""

    def __init__(self, msg: str = "") -> None:
        if not msg:
            msg = (
                "socket.FD on thread-safe (draft) sockets is experimental and may be "
                "removed. Suppress this warning with "
                "`warnings.simplefilter('ignore', zmq.error.DraftFDWarning)`"
            )
        super().__init__(msg)


_SUBCLASS_FOR_ERRNO: dict[int, type[ZMQError]] = {
    int(Errno.EAGAIN): Again,
    int(Errno.ETERM): ContextTerminated,
    EINTR: InterruptedSystemCall,
}


def make_error(errnum: int, msg: str | None = None) -> ZMQError:
    """Build the exception for ``errnum``: the right subclass, ``msg`` or libzmq's text."""
    cls = _SUBCLASS_FOR_ERRNO.get(int(errnum))
    if cls is None:
        return ZMQError(errnum, msg)
    return cls(errnum, msg)


def raise_errno(errnum: int, msg: str | None = None) -> NoReturn:
    """Raise :func:`make_error` ``(errnum, msg)``."""
    raise make_error(errnum, msg)
