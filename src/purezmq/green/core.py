"""Green Context and Socket: blocking calls wait in the gevent hub, not the OS.

How a blocking call waits: it first tries the operation without blocking
(the usual case costs nothing extra). If that would block, it takes a private
wake-up fd (an eventfd ``Signal``) and registers it as a watcher of the core
socket, then loops: clear the fd, try again, and if it would still block, wait
for the fd to become readable with ``gevent.socket.wait_read`` (RCVTIMEO /
SNDTIMEO as the timeout). Every change to the socket after the fd was cleared
sets it again -- from the I/O thread, an inproc peer, ``Context.term()`` or
``close()`` -- so no wake-up is lost; and since each waiting greenlet owns its
fd, one greenlet clearing its fd cannot swallow another's wake-up (the trap of
sharing the edge-triggered ``Socket.FD`` between a sender and a receiver).

Threading model: the context's I/O thread stays a real OS thread even under
``gevent.monkey.patch_all()`` (``runtime/iothread.py`` starts it with the
unpatched ``_thread`` functions and a real selector), so connections are
served while greenlets compute; it wakes greenlets only by writing to their
fds, which the hub's loop watches. Nothing here needs monkey-patching.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gevent.socket import wait_read

from purezmq import constants as C
from purezmq.core.socketbase import Signal
from purezmq.error import Again
from purezmq.sugar.context import Context as _SyncContext
from purezmq.sugar.frame import MessageTracker
from purezmq.sugar.socket import Socket as _SyncSocket

__all__ = ["Context", "Socket", "GreenSignal"]

T = TypeVar("T")
_NOBLOCK = int(C.NOBLOCK)


class _Timeout(Exception):
    """wait_read's timeout (never escapes this module)."""


_TIMEOUT = _Timeout()


class GreenSignal(Signal):
    """A wake-up fd whose ``wait`` yields to the gevent hub instead of blocking."""

    __slots__ = ()

    def wait(self, timeout: float | None) -> None:
        try:
            wait_read(self.rfd, timeout, _TIMEOUT)
        except _Timeout:
            pass
        self.drain()


def _again(what: str) -> Again:
    return Again(C.EAGAIN, f"Resource temporarily unavailable ({what} timed out)")


_TIMEOS = (int(C.RCVTIMEO), int(C.SNDTIMEO))


class Socket(_SyncSocket):
    """pyzmq's Socket whose blocking send/recv/poll let other greenlets run."""

    def set(self, option: int, optval: Any) -> None:
        """Set an option; RCVTIMEO/SNDTIMEO warn, as pyzmq's green sockets do."""
        if int(option) in _TIMEOS:
            _warn_timeo()
        super().set(option, optval)

    setsockopt = set

    def get(self, option: int) -> Any:
        """Get an option; RCVTIMEO/SNDTIMEO warn, as pyzmq's green sockets do."""
        if int(option) in _TIMEOS:
            _warn_timeo()
        return super().get(option)

    getsockopt = get

    def _green(self, op: Callable[[int], T], flags: int, timeout_ms: int, what: str) -> T:
        """Run ``op(flags)``; if it would block (no NOBLOCK in ``flags``), run it with
        NOBLOCK until it succeeds, waiting in the hub in between."""
        flags = int(flags)
        if flags & _NOBLOCK:
            return op(flags)
        nb = flags | _NOBLOCK
        try:
            return op(nb)
        except Again:
            if timeout_ms == 0:
                raise
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000.0
        pool: list[GreenSignal] = self.__dict__.setdefault("_green_signals", [])
        sig = pool.pop() if pool else GreenSignal()
        core = self._core
        core.add_watcher(sig)  # from here on, every change sets sig
        try:
            while True:
                sig.drain()
                try:
                    return op(nb)
                except Again:
                    pass
                if deadline is None:
                    sig.wait(None)
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise _again(what) from None
                    sig.wait(left)
        finally:
            core.remove_watcher(sig)
            if core.closed:
                sig.close()
            else:
                pool.append(sig)

    def close(self, linger: int | None = None) -> None:
        """Close the socket (and the wake-up fds kept for waiting greenlets)."""
        super().close(linger)
        for sig in self.__dict__.pop("_green_signals", ()):
            sig.close()

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send a frame; waiting at HWM yields to other greenlets (SNDTIMEO honoured)."""
        return self._green(
            lambda f: super(Socket, self).send(data, f, copy, track, routing_id, group),
            flags,
            self._core.options.sndtimeo,
            "send",
        )

    def send_multipart(
        self,
        msg_parts: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        **kwargs: Any,
    ) -> MessageTracker | None:
        """Send a multipart message; waiting yields to other greenlets."""
        return self._green(
            lambda f: super(Socket, self).send_multipart(msg_parts, f, copy, track, **kwargs),
            flags,
            self._core.options.sndtimeo,
            "send",
        )

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive a frame; waiting yields to other greenlets (RCVTIMEO honoured)."""
        return self._green(
            lambda f: super(Socket, self).recv(f, copy, track),
            flags,
            self._core.options.rcvtimeo,
            "recv",
        )

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> list[Any]:
        """Receive a multipart message; waiting yields to other greenlets."""
        return self._green(
            lambda f: super(Socket, self).recv_multipart(f, copy, track),
            flags,
            self._core.options.rcvtimeo,
            "recv",
        )

    def _poller(self) -> Any:
        from purezmq.green.poll import Poller

        return Poller()


class Context(_SyncContext):
    """pyzmq's Context making green Sockets (its I/O thread is a real thread)."""

    _socket_class = Socket
    _instance: Context | None = None  # not shared with the sync Context's instance()

    def term(self) -> None:
        """Terminate: wake blocked greenlets with ContextTerminated, let them close
        their sockets (yielding to the hub meanwhile), then finish as the sync term."""
        import gevent

        if self.closed:
            return
        with self._lock:
            cores = list(self._cores)
        for core in cores:
            core.context_terminated()
        # The sync term would block the hub while it waits for the sockets to
        # be closed -- by greenlets that then could never run.
        while any(not c.reaped.is_set() and (c.closed or self._owned(c)) for c in cores):
            gevent.sleep(0.005)
        super().term()


def _warn_timeo() -> None:
    # pyzmq's zmq.green ignores the TIMEO options and warns on each use; purezmq's
    # honours them, and warns as well so code written for either behaves the same.
    warnings.warn(
        "TIMEO socket options: pyzmq's zmq.green ignores them; purezmq.green honours them",
        UserWarning,
        stacklevel=3,
    )
