"""ZMQStream: message callbacks for a purezmq socket on tornado's IOLoop.

pyzmq's ``zmq.eventloop.zmqstream``: ``on_recv(cb)`` calls ``cb(frames)`` for
every message received, ``send*`` queue messages that go out when the socket
can take them (HWM, or REQ/REP's turn), ``on_send(cb)`` is told
``cb(msg, status)`` after each. Callbacks may be coroutines (``async def``):
each one is scheduled as a task and receiving goes on meanwhile, as in pyzmq.

How it waits -- a Watcher on the core socket, not the FD:

- The stream registers a ``_StreamWaker`` as a ``Watcher`` on the core socket
  while it has something to do (a recv callback, or queued sends). The core
  calls ``wake()`` whenever the socket may have changed (a pipe activated, a
  command posted, close, term). The waker schedules the stream's handler once
  per burst: ``call_soon`` when woken on the loop's own thread (connections
  served by this loop: a purezmq.asyncio/future context made inside it, or
  inproc peers driven from it) -- no syscall at all --, else
  ``call_soon_threadsafe`` (a sync Context's I/O thread).
- The handler drains: non-blocking receives (each runs the recv callback),
  then the queued sends (so replies queued by callbacks leave in the same
  run), again and again until both say "not now" (``Again``, or a pattern
  state that forbids it, i.e. EVENTS lacks POLLIN/POLLOUT), or until a
  budget of ``_BATCH`` messages is spent, in which case it re-schedules
  itself so other handlers get a turn.
- No lost wake-ups: the waker is registered *before* the handler's first
  attempt, and ``scheduled`` is cleared *before* the handler runs, so any
  change after an attempt that said "not now" schedules another run.

Why not the socket's ``FD`` (what pyzmq's stream must use)? Our FD is an
eventfd written by the core's wake-ups: waiting on it costs a write in the
waker, a selector round trip and a read per edge, even when the connections
are served by the stream's own loop, and it stays armed while the stream is
idle. The watcher costs nothing when idle and no syscall on the loop thread.

ZMQStream takes a sync ``purezmq.Socket``; like pyzmq, an async (or other
subclass) socket is accepted with a RuntimeWarning and used through a plain
Socket over the same core socket. All calls must come from the loop's thread
(as with pyzmq and tornado). Exceptions in callbacks are logged on tornado's
``gen_log`` (as pyzmq logs them) and the stream goes on.
"""

from __future__ import annotations

import asyncio
import inspect
import pickle
import warnings
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from tornado.ioloop import IOLoop
from tornado.log import gen_log
from tornado.platform.asyncio import BaseAsyncIOLoop

from purezmq import constants as C
from purezmq.error import Again, ZMQError
from purezmq.sugar.socket import Socket
from purezmq.utils import jsonapi

__all__ = ["ZMQStream"]

_NOBLOCK = int(C.NOBLOCK)
_POLLIN = int(C.POLLIN)
_POLLOUT = int(C.POLLOUT)
_DEAD = (int(C.ETERM), int(C.ENOTSOCK))  # the socket is unusable: close the stream
_BATCH = 128  # messages handled per loop iteration before yielding to other handlers

_get_running_loop = asyncio._get_running_loop  # C-fast, never raises


class _StreamWaker:
    """A core-socket Watcher that runs the stream's handler once per burst of wakes."""

    __slots__ = ("loop", "callback", "scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self.loop = loop
        self.callback = callback
        self.scheduled = False

    def wake(self) -> None:  # any thread; must not block
        if self.scheduled:
            return
        self.scheduled = True
        try:
            if _get_running_loop() is self.loop:
                self.loop.call_soon(self._fire)
            else:
                self.loop.call_soon_threadsafe(self._fire)
        except RuntimeError:  # the loop is closed: nothing will run the stream again
            self.scheduled = False

    def _fire(self) -> None:
        self.scheduled = False  # wakes from here on schedule another run
        self.callback()


class ZMQStream:
    """Register callbacks for a socket's incoming and outgoing messages on a tornado IOLoop.

    The socket's other methods are available on the stream (``stream.bind``
    is ``stream.socket.bind``), except the ``recv`` family: messages arrive
    through ``on_recv``.
    """

    socket: Socket
    io_loop: IOLoop

    def __init__(self, socket: Socket, io_loop: IOLoop | None = None) -> None:
        if not isinstance(socket, Socket):
            raise TypeError(f"ZMQStream needs a purezmq Socket, not {type(socket).__name__}")
        if type(socket) is not Socket:
            warnings.warn(
                f"ZMQStream only supports the base purezmq.Socket class; using a plain Socket "
                f"over the same socket as this {type(socket).__module__}.{type(socket).__qualname__}",
                RuntimeWarning,
                stacklevel=2,
            )
            socket = Socket(shadow=socket)
        self.socket = socket
        self.io_loop = io_loop or IOLoop.current()
        if not isinstance(self.io_loop, BaseAsyncIOLoop):  # tornado 6 loops always are
            raise TypeError("ZMQStream needs a tornado IOLoop running on asyncio")
        self._loop = self.io_loop.asyncio_loop
        self._core = socket._core
        self._recv_callback: Callable[[list[Any]], Any] | None = None
        self._recv_copy = True
        self._send_callback: Callable[[list[Any], Any], Any] | None = None
        self._close_callback: Callable[[], Any] | None = None
        # (frames, flags | NOBLOCK, copy, track, other send_multipart kwargs or None)
        self._sendq: deque[tuple[list[Any], int, bool, bool, dict[str, Any] | None]] = deque()
        self._waker = _StreamWaker(self._loop, self._handle)
        self._watching = False
        self._handling = False
        self._tasks: set[asyncio.Future[Any]] = set()

    def __getattr__(self, name: str) -> Any:
        """The socket's interface (``bind``, ``connect``, options...), minus ``recv*``."""
        if name.startswith("_") or name.startswith("recv"):
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")
        sock = self.__dict__.get("socket")
        if sock is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r} (closed?)")
        return getattr(sock, name)

    def __repr__(self) -> str:
        state = "closed" if self.__dict__.get("socket") is None else repr(self.socket)
        return f"<purezmq.eventloop.zmqstream.ZMQStream {state} at {hex(id(self))}>"

    # -- registering callbacks ------------------------------------------------------------

    def on_recv(self, callback: Callable[[list[Any]], Any] | None, copy: bool = True) -> None:
        """Call ``callback(frames)`` for every message received (``None`` stops receiving).

        Frames are bytes, or ``Frame`` objects with ``copy=False``. One
        callback at a time: a new one replaces the old. No message is taken
        off the socket while no callback is registered.
        """
        _check_callable(callback)
        self._check_closed()
        self._recv_callback = callback
        self._recv_copy = copy
        if callback is None:
            self._maybe_unwatch()
        else:
            self._watch()
            self._waker.wake()  # messages may already be waiting

    def on_recv_stream(
        self, callback: Callable[[ZMQStream, list[Any]], Any] | None, copy: bool = True
    ) -> None:
        """As ``on_recv``, called as ``callback(stream, frames)``."""
        if callback is None:
            self.on_recv(None)
        else:
            self.on_recv(lambda msg: callback(self, msg), copy=copy)

    def on_send(self, callback: Callable[[list[Any], Any], Any] | None) -> None:
        """Call ``callback(msg, status)`` after each queued message is sent.

        ``status`` is what ``send_multipart`` returned (a ``MessageTracker``
        with ``track=True``, else None), or the exception if the send failed.
        """
        _check_callable(callback)
        self._check_closed()
        self._send_callback = callback

    def on_send_stream(self, callback: Callable[[ZMQStream, list[Any], Any], Any] | None) -> None:
        """As ``on_send``, called as ``callback(stream, msg, status)``."""
        if callback is None:
            self.on_send(None)
        else:
            self.on_send(lambda msg, status: callback(self, msg, status))

    def on_err(self, callback: Callable[..., Any] | None) -> None:
        """DEPRECATED, does nothing (as in pyzmq)."""
        gen_log.warning("on_err does nothing, and will be removed")

    def stop_on_recv(self) -> None:
        """Disable the recv callback and automatic receiving."""
        self.on_recv(None)

    def stop_on_send(self) -> None:
        """Disable the send callback (queued messages are still sent)."""
        self.on_send(None)

    def stop_on_err(self) -> None:
        """DEPRECATED, does nothing (as in pyzmq)."""
        self.on_err(None)

    def set_close_callback(self, callback: Callable[[], Any] | None) -> None:
        """Call ``callback()`` when the stream is closed."""
        self._close_callback = callback

    # -- sending ------------------------------------------------------------------------------

    def send(
        self,
        msg: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        callback: Callable[[list[Any], Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue one frame to send when the socket can take it (``callback`` replaces on_send)."""
        self.send_multipart([msg], flags=flags, copy=copy, track=track, callback=callback, **kwargs)

    def send_multipart(
        self,
        msg: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        callback: Callable[[list[Any], Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a multipart message to send when the socket can take it.

        A ``callback`` is registered as the on_send callback (for this and
        later sends), as in pyzmq.
        """
        if self.__dict__.get("socket") is None or self._core.closed:
            self._check_closed()
        self._sendq.append((list(msg), int(flags) | _NOBLOCK, copy, track, kwargs or None))
        if callback is not None:
            self.on_send(callback)
        self._watch()
        if not self._handling:  # else the running handler sends it before it returns
            self._waker.wake()

    def send_string(
        self,
        u: str,
        flags: int = 0,
        encoding: str = "utf-8",
        callback: Callable[[list[Any], Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a str, encoded (utf-8 by default)."""
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        self.send(u.encode(encoding), flags=flags, callback=callback, **kwargs)

    send_unicode = send_string

    def send_json(
        self,
        obj: Any,
        flags: int = 0,
        callback: Callable[[list[Any], Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue an object as JSON (keyword arguments go to ``json.dumps``)."""
        self.send(jsonapi.dumps(obj, **kwargs), flags=flags, callback=callback)

    def send_pyobj(
        self,
        obj: Any,
        flags: int = 0,
        protocol: int = -1,
        callback: Callable[[list[Any], Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Queue a pickled object."""
        self.send(pickle.dumps(obj, protocol), flags=flags, callback=callback, **kwargs)

    # -- state ----------------------------------------------------------------------------------

    def receiving(self) -> bool:
        """True if a recv callback is registered (the stream takes messages off the socket)."""
        return self._recv_callback is not None

    def sending(self) -> bool:
        """True if messages are queued, waiting to be sent."""
        return bool(self._sendq)

    def closed(self) -> bool:
        """True once the stream (or its socket) is closed."""
        sock = self.__dict__.get("socket")
        if sock is None:
            return True
        if sock.closed:
            self._closed_under_us()
            return True
        return False

    def flush(self, flag: int = C.POLLIN | C.POLLOUT, limit: int | None = None) -> int:
        """Handle pending events now, bypassing the loop; returns how many were handled.

        ``flag`` picks receives (POLLIN) and/or sends (POLLOUT). Receives
        are flushed even with no recv callback (the messages are dropped).
        Stops when nothing matching is pending or after ``limit`` events.
        """
        self._check_closed()
        flag = int(flag)
        count = 0
        while limit is None or count < limit:
            n = 0
            if flag & _POLLIN:
                n = self._recv_some(1, force=True)
            if flag & _POLLOUT and (limit is None or count + n < limit):
                n += self._send_some(1)
            count += n
            if not n or self.__dict__.get("socket") is None:
                break
        if self._watching:
            self._waker.wake()  # what is left (limit reached) is for the loop
        return count

    def close(self, linger: int | None = None) -> None:
        """Close the stream and its socket; queued unsent messages are dropped."""
        sock = self.__dict__.get("socket")
        if sock is None:
            return
        if self._watching:
            self._core.remove_watcher(self._waker)
            self._watching = False
        self._recv_callback = None
        self._send_callback = None
        self._sendq.clear()
        self.socket = None  # type: ignore[assignment]  # pyzmq: None once closed
        if not sock.closed:
            sock.close(linger)
        cb = self._close_callback
        if cb is not None:
            self._run_callback(cb)

    # -- machinery (loop thread) ------------------------------------------------------------

    def _check_closed(self) -> None:
        if self.closed():
            raise OSError("Stream is closed")

    def _closed_under_us(self) -> None:
        # pyzmq's wording (a log line for the events, a warning at unregistering).
        gen_log.warning("Got events for stream %s attached to closed socket", self)
        warnings.warn(
            "Unregistering the socket of a ZMQStream after closing socket: "
            "use stream.close() instead of closing the socket directly",
            UserWarning,
            stacklevel=3,
        )
        self.close()

    def _watch(self) -> None:
        if not self._watching:
            self._core.add_watcher(self._waker)
            self._watching = True

    def _maybe_unwatch(self) -> None:
        if self._watching and self._recv_callback is None and not self._sendq:
            self._core.remove_watcher(self._waker)
            self._watching = False

    def _handle(self) -> None:
        """The socket may have changed: receive and send until both say "not now"."""
        sock = self.__dict__.get("socket")
        if sock is None:
            return
        if sock.closed:
            self._closed_under_us()
            return
        self._handling = True
        try:
            budget = _BATCH
            while budget > 0:
                n = 0
                if self._recv_callback is not None:
                    n = self._recv_some(budget, force=False)
                if self._sendq:  # what the callbacks queued goes out in this same run
                    n += self._send_some(budget)
                if not n or self.__dict__.get("socket") is None:
                    break
                budget -= n
            else:
                self._waker.wake()  # budget spent: let other handlers run, then go on
        finally:
            self._handling = False
        if self.__dict__.get("socket") is not None:
            self._maybe_unwatch()

    def _recv_some(self, limit: int, force: bool) -> int:
        """Receive up to ``limit`` messages, running the recv callback on each.

        With ``force`` (flush) messages are taken even with no callback, and dropped.
        """
        recv = self.socket.recv_multipart
        n = 0
        while n < limit:
            cb = self._recv_callback
            if cb is None and not force:
                break
            try:
                msg = recv(_NOBLOCK, self._recv_copy)
            except Again:
                break
            except ZMQError as e:
                self._socket_error(e, _POLLIN, "recv")
                break
            n += 1
            if cb is not None:
                self._run_callback(cb, msg)
                if self.__dict__.get("socket") is None:  # the callback closed the stream
                    break
        return n

    def _send_some(self, limit: int) -> int:
        """Send queued messages (up to ``limit``) while the socket takes them; run on_send."""
        q = self._sendq
        if not q:
            return 0
        send = self.socket.send_multipart
        n = 0
        while q and n < limit:
            msg, flags, copy, track, kwargs = q[0]
            try:
                if kwargs is None:
                    status: Any = send(msg, flags, copy, track)
                else:
                    status = send(msg, flags, copy, track, **kwargs)
            except Again:
                break
            except ZMQError as e:
                if not self._socket_error(e, _POLLOUT, "send"):
                    break
                status = e
            except Exception as e:  # bad frames (str, non-buffers): the message is dropped
                gen_log.error("ZMQStream send error: %s", e)
                status = e
            q.popleft()
            n += 1
            cb = self._send_callback
            if cb is not None:
                self._run_callback(cb, msg, status)
                if self.__dict__.get("socket") is None:  # the callback closed the stream
                    break
        return n

    def _socket_error(self, e: ZMQError, wanted: int, what: str) -> bool:
        """Handle a send/recv error; True if it was a real failure (not "wait")."""
        if e.errno in _DEAD:
            self.close()  # context terminated / socket gone: nothing more to do
            return False
        if not self._core.events() & wanted:
            return False  # the pattern forbids it now (REQ/REP turn): wait, as pyzmq does
        gen_log.error("ZMQStream %s error: %s", what, e)
        return True

    def _run_callback(self, callback: Callable[..., Any], *args: Any) -> None:
        try:
            res = callback(*args)
        except Exception:
            gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)
            return
        if res is not None and inspect.isawaitable(res):
            fut = asyncio.ensure_future(res, loop=self._loop)
            self._tasks.add(fut)
            fut.add_done_callback(self._task_done)

    def _task_done(self, fut: asyncio.Future[Any]) -> None:
        self._tasks.discard(fut)
        if not fut.cancelled():
            exc = fut.exception()
            if exc is not None:
                gen_log.error("Uncaught exception in ZMQStream callback", exc_info=exc)


def _check_callable(callback: object) -> None:
    """pyzmq asserts that a callback is callable (AssertionError otherwise)."""
    if callback is not None and not callable(callback):
        raise AssertionError(f"callback must be callable or None, not {callback!r}")
