"""asyncio Socket: pyzmq's Future-returning socket over a core socket.

Theory of operation:

- Every operation first runs the core operation non-blocking, right in the
  caller's coroutine step. Most sends and many receives finish there and
  return an already-resolved Future.
- When the core says ``Again`` (``_AGAIN`` on the hot path) the operation is queued (one FIFO for
  receives, one for sends) and a ``_LoopWaker`` is registered as a
  ``Watcher`` on the core socket (it stays registered until the socket
  closes, and ignores wakes on its loop while nothing is queued). The core
  wakes watchers whenever something
  may have changed (a pipe was activated, a command was posted); the waker
  schedules one ``_run`` on the owning loop (``call_soon`` when woken on the
  loop thread itself -- engines served by this loop --, else
  ``call_soon_threadsafe``), and ``_run`` retries the queued operations in
  order until one says ``Again`` again.
- A wake from an engine's read on the loop (``LoopReactor.run_deferring``)
  runs ``_run`` right after that read instead, and as no task runs then,
  ``_run`` also resumes the tasks awaiting the Futures it resolves on the
  spot (``_resolve_eager``: their done-callbacks run there rather than one
  loop iteration later). A request/reply round trip thus costs each side
  one loop iteration: read, resume, send, wait.
- The core operations are atomic: a receive takes a whole message from a
  pipe or nothing, a send queues a whole message or nothing. So a cancelled
  Future loses nothing: a cancelled receive never took a message, and a
  cancelled send sent all of it (if it had already resolved) or none.
- RCVTIMEO / SNDTIMEO give the operation a deadline; it fails with
  ``zmq.Again`` when that passes. One timer per socket serves them all: it is
  armed for the earliest deadline, left alone when operations finish, and
  when it fires it fails what is overdue and re-arms for what is left (no
  ``call_later``/``cancel`` per operation). ``flags=NOBLOCK`` fails at once.
- When an operation is queued for the first time (or on a new loop), the
  waker is added and the operation tried once more before sleeping: the
  "look again" of the flag protocol, so a wake-up posted between the first
  attempt and the registration is not lost. Once the waker is registered,
  a wake from the loop's own thread cannot fall between an attempt and the
  queueing (they run in one step), and one from another thread always
  schedules a run, so no second attempt is needed.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import weakref
from _thread import get_ident as _get_ident
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from purezmq import constants as C
from purezmq.error import Again, ZMQError
from purezmq.runtime.iothread import DEFERRING
from purezmq.sugar.frame import _done_tracker
from purezmq.sugar.socket import Socket as _SyncSocket
from purezmq.sugar.socket import _as_buffer
from purezmq.utils import jsonapi

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

_NOBLOCK = int(C.NOBLOCK)
_SNDMORE = int(C.SNDMORE)

T = TypeVar("T", bound="Socket")


def _no_loop() -> Any:
    return None


# The last BaseEventLoop _running_loop found (a weak reference: no closed loop kept alive).
_last_loop: Callable[[], Any] = _no_loop


def _running_loop() -> asyncio.AbstractEventLoop:
    """The running loop; like asyncio.get_running_loop() without its getpid() system call.

    A BaseEventLoop's ``_thread_id`` is this thread's id exactly while it runs
    here (and only one loop runs per thread), so the last loop seen stands in
    for the lookup, which costs a system call per use in CPython 3.11-3.13
    (twice per request/reply round trip).
    """
    global _last_loop
    loop = _last_loop()
    if loop is not None and loop._thread_id == _get_ident():
        return loop
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            "purezmq.asyncio sockets must be used from a coroutine running in an asyncio "
            "event loop (for example inside asyncio.run(...)); use purezmq.Socket for blocking calls"
        ) from None
    if isinstance(loop, asyncio.BaseEventLoop):
        _last_loop = weakref.ref(loop)
    return loop


class _LoopWaker:
    """A core-socket Watcher that runs ``callback`` once on ``loop`` per burst of wakes."""

    __slots__ = ("loop", "callback", "tid", "scheduled", "queues")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        callback: Callable[[], None],
        queues: tuple[deque[Any], ...] = (),
    ) -> None:
        self.loop = loop
        self.callback = callback
        self.tid = threading.get_ident()  # created on the loop's thread
        self.scheduled = False
        # With queues: a wake on the loop thread while they are all empty is
        # dropped (nothing waits; an operation queued later tries first).
        self.queues = queues

    def wake(self) -> None:  # any thread; must not block
        if self.scheduled:
            return
        try:
            if threading.get_ident() == self.tid:
                if self.queues and not any(self.queues):
                    return
                self.scheduled = True
                r = DEFERRING.reactor
                if r is not None and r.loop is self.loop:
                    r.deferred.append(self._fire)  # an engine's read: run right after it
                else:
                    self.loop.call_soon(self._fire)
            else:
                # Another thread may race an operation being queued: always run.
                self.scheduled = True
                self.loop.call_soon_threadsafe(self._fire)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            self.scheduled = False

    def _fire(self) -> None:
        self.scheduled = False  # wakes from now on schedule another run
        self.callback()


class _Op:
    """A queued operation: the Future, what to do, and its deadline (loop time; 0: none)."""

    __slots__ = ("fut", "kind", "args", "deadline")

    def __init__(
        self, fut: asyncio.Future[Any], kind: str, args: tuple[Any, ...], deadline: float
    ) -> None:
        self.fut = fut
        self.kind = kind
        self.args = args
        self.deadline = deadline


class Socket(_SyncSocket):
    """Socket whose send/recv/poll methods return asyncio Futures (pyzmq's zmq.asyncio.Socket)."""

    def __init__(
        self,
        context: Any = None,
        socket_type: int = -1,
        io_loop: Any = None,
        _from_socket: _SyncSocket | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(context, _SyncSocket):
            context, _from_socket = None, context
        if _from_socket is not None:
            super().__init__(shadow=_from_socket)
        else:
            if context is None:
                from purezmq.asyncio._context import Context

                context = Context.instance()
            super().__init__(context, socket_type, **kwargs)
        d = self.__dict__
        d["_recvq"] = deque()
        d["_sendq"] = deque()
        d["_waker"] = None
        d["_timer"] = None  # the deadline timer (see _arm_timer)
        d["_timer_at"] = 0.0
        d["_timer_loop"] = None

    @classmethod
    def from_socket(cls: type[T], socket: _SyncSocket, io_loop: Any = None) -> T:
        """An async Socket over the same core socket as ``socket`` (sync or async)."""
        return cls(_from_socket=socket)

    @classmethod
    def shadow(cls: type[T], socket: Any) -> T:
        """Like ``from_socket``: purezmq has no C pointers, so shadow a Socket object."""
        if not isinstance(socket, _SyncSocket):
            raise ZMQError(C.ENOTSUP, "purezmq can only shadow a purezmq Socket object")
        return cls(_from_socket=socket)

    def __repr__(self) -> str:
        return "<purezmq.asyncio." + super().__repr__()[len("<purezmq.") :]

    # -- the waiting machinery -----------------------------------------------------------

    def _enqueue(
        self, q: deque[_Op], kind: str, args: tuple[Any, ...], timeout_ms: int
    ) -> asyncio.Future[Any]:
        loop = _running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        if timeout_ms > 0:
            deadline = loop.time() + timeout_ms / 1000.0
            t = self._timer
            if t is None or deadline < self._timer_at or self._timer_loop is not loop:
                self._arm_timer(loop, deadline)
        else:
            deadline = 0.0
        op = _Op(fut, kind, args, deadline)
        w = self._waker
        core = self._core
        if w is not None and w.loop is loop and w in core.watchers:
            # Registered before our first attempt: any wake since then comes
            # from another thread and has scheduled a run (see _LoopWaker).
            look_again = False
        else:
            if w is not None:
                core.remove_watcher(w)
            w = self.__dict__["_waker"] = _LoopWaker(loop, self._run, (self._recvq, self._sendq))
            core.add_watcher(w)
            look_again = True
        q.append(op)
        # Look again now that the waker is registered (a wake may have come and gone).
        if look_again and len(q) == 1:
            self._run()
        return fut

    def _arm_timer(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        t = self._timer
        if t is not None:
            try:
                t.cancel()
            except RuntimeError:  # its loop is closed
                pass
        d = self.__dict__
        d["_timer"] = loop.call_at(when, _expire, weakref.ref(self), loop)
        d["_timer_at"] = when
        d["_timer_loop"] = loop

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The deadline timer fired: fail what is overdue, re-arm for the next deadline."""
        d = self.__dict__
        d["_timer"] = None
        now = loop.time()
        nxt = 0.0
        for q in (self._recvq, self._sendq):
            for op in q:
                dl = op.deadline
                if dl and not op.fut.done():
                    if dl <= now:
                        op.fut.set_exception(Again())
                    elif not nxt or dl < nxt:
                        nxt = dl
        if nxt:
            self._arm_timer(loop, nxt)

    def _run(self) -> None:
        """Retry queued operations in order (loop thread).

        Futures done meanwhile (cancelled, timed out) are dropped here, when
        they reach the head of their queue: no done-callback per operation.
        """
        # In a deferred wake-up (right after an engine's read, no task
        # running) the awaiting tasks resume here too, not one loop
        # iteration later: see _resolve_eager.
        d = DEFERRING
        eager = d.eager
        if eager:
            d.eager = False  # not for anything the resumed tasks do
        late: list[tuple[Any, Any, asyncio.Future[Any]]] = []
        for q, attempt in ((self._recvq, self._attempt_recv), (self._sendq, self._attempt_send)):
            while q:
                op = q[0]
                fut = op.fut
                if fut.done():
                    q.popleft()
                    continue
                try:
                    result = attempt(op.kind, op.args)
                except Again:
                    break
                except Exception as e:
                    q.popleft()
                    fut.set_exception(e)
                    continue
                if result is _AGAIN:
                    break
                q.popleft()
                if eager:
                    _resolve_eager(fut, result, late)
                else:
                    fut.set_result(result)
                if q is self._recvq:
                    # It had to wait for input: the next send answers it, so
                    # engines write it at once (see StreamEngine.kick).
                    self._core.pingpong = True
        for i, (cb, ctx, f) in enumerate(late):
            try:
                ctx.run(cb, f)
            except (SystemExit, KeyboardInterrupt):
                for cb, ctx, f in late[i + 1 :]:  # the loop runs the rest, as usual
                    f.get_loop().call_soon(cb, f, context=ctx)
                raise
            except BaseException as e:  # as the loop reports a failing callback
                f.get_loop().call_exception_handler(
                    {"message": f"Exception in callback {cb!r}", "exception": e, "future": f}
                )

    # -- core attempts (never block; raise Again) ---------------------------------------------

    def _attempt_recv(self, kind: str, args: tuple[Any, ...]) -> Any:
        """The result, or ``_AGAIN`` (cheaper than raising Again on the hot path)."""
        # The result's conversion (decode, unpickle...) happens here, in the
        # same step that took the message: a Future is never resolved with a
        # message that a later callback could drop.
        core = self._core
        if kind != "recv_into":
            copy, post = args
            multi = kind == "recv_multipart"
            if core.rparts:  # the rest of a message a sync recv began
                sync = _SyncSocket.recv_multipart if multi else _SyncSocket.recv
                res = sync(self, _NOBLOCK, copy)
            else:
                msg = core.try_recv()
                if msg is None:
                    return _AGAIN
                res = self._multipart_out(msg, copy) if multi else self._frame_out(msg, copy)
            return res if post is None else post(res)
        buf, nbytes = args  # recv_into
        view = memoryview(buf).cast("B")
        n = nbytes or len(view)
        data = _SyncSocket.recv(self, _NOBLOCK, False).buffer
        size = len(data)
        k = min(n, size)
        view[:k] = memoryview(data).cast("B")[:k]
        return size

    def _attempt_send(self, kind: str, args: tuple[Any, ...]) -> Any:
        parts, more, track = args
        core: SocketBase = self._core
        sparts = core.sparts
        if more:
            if not sparts and core.type == C.ROUTER and hasattr(core, "check_route"):
                core.check_route(parts[0])  # as the sync send: ROUTER_MANDATORY fails here
            sparts.extend(parts)
        else:
            msg = [*sparts, *parts] if sparts else parts
            core.send(msg, nonblock=True)  # Again: nothing was queued, sparts intact
            sparts.clear()
        return _done_tracker() if track else None

    def _recv_op(self, kind: str, flags: int, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        flags = int(flags)
        q = self._recvq
        while q and q[0].fut.done():  # cancelled / timed out: see _run
            q.popleft()
        if not q:
            try:
                res = self._attempt_recv(kind, args)
            except Again as e:
                if flags & _NOBLOCK:
                    return _failed(e)
            except Exception as e:
                return _failed(e)
            else:
                if res is not _AGAIN:
                    return _resolved(res)
                if flags & _NOBLOCK:
                    return _failed(Again())
        elif flags & _NOBLOCK:
            return _failed(Again())
        timeout = self._core.options.rcvtimeo
        if timeout == 0:
            return _failed(Again())
        return self._enqueue(q, kind, args, timeout)

    def _send_op(self, parts: list[Any], flags: int, track: bool) -> asyncio.Future[Any]:
        flags = int(flags)
        args = (parts, bool(flags & _SNDMORE), track)
        q = self._sendq
        while q and q[0].fut.done():
            q.popleft()
        if not q:
            try:
                return _resolved(self._attempt_send("send", args))
            except Again as e:
                if flags & _NOBLOCK:
                    return _failed(e)
            except Exception as e:
                return _failed(e)
        elif flags & _NOBLOCK:
            return _failed(Again())
        timeout = self._core.options.sndtimeo
        if timeout == 0:
            return _failed(Again())
        return self._enqueue(q, "send", args, timeout)

    # -- pyzmq's API -----------------------------------------------------------------------------

    def send(  # type: ignore[override]
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> asyncio.Future[Any]:
        """Send one frame; returns a Future that resolves once the message is queued."""
        try:
            if routing_id is not None or group is not None:
                raise ZMQError(
                    C.ENOTSUP, "routing_id/group need draft socket types (not yet supported)"
                )
            if type(data) is not bytes:
                data = _as_buffer(data, copy)
        except Exception as e:
            return _failed(e)
        return self._send_op([data], flags, track)

    def send_multipart(  # type: ignore[override]
        self,
        msg_parts: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        """Send a sequence of frames as one message; returns a Future."""
        try:
            parts = [
                p if type(p) is bytes else _as_buffer(p, copy, i) for i, p in enumerate(msg_parts)
            ]
            if not parts:
                raise ZMQError(C.EINVAL, "cannot send a message with no frames")
        except Exception as e:
            return _failed(e)
        return self._send_op(parts, flags, track)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future[Any]:
        """Receive one frame; returns a Future (bytes, or a Frame with copy=False)."""
        return self._recv_op("recv", flags, (copy, None))

    def recv_multipart(  # type: ignore[override]
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> asyncio.Future[Any]:
        """Receive a whole multipart message; returns a Future of the list of frames."""
        return self._recv_op("recv_multipart", flags, (copy, None))

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive a frame into ``buffer``; returns a Future of the frame's full size."""
        try:
            view = memoryview(buffer).cast("B")
            if view.readonly:
                raise TypeError("recv_into needs a writable buffer")
            if nbytes < 0:
                raise ValueError(f"nbytes must be non-negative: {nbytes}")
            if nbytes > len(view):
                raise ValueError(f"nbytes={nbytes} is larger than the buffer ({len(view)})")
        except Exception as e:
            return _failed(e)
        return self._recv_op("recv_into", flags, (buffer, nbytes))

    # send_string, send_pyobj, send_json, send_serialized come from the sync Socket:
    # they call self.send / self.send_multipart and so return our Futures.

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive a frame as str; returns a Future."""
        return self._recv_op("recv", flags, (True, lambda b: b.decode(encoding)))

    recv_unicode = recv_string  # type: ignore[assignment]

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future[Any]:
        """Receive a pickled object (only from peers you trust); returns a Future."""
        return self._recv_op("recv", flags, (True, pickle.loads))

    def recv_json(self, flags: int = 0, **kwargs: Any) -> asyncio.Future[Any]:
        """Receive a JSON message; returns a Future."""
        return self._recv_op("recv", flags, (True, lambda b: jsonapi.loads(b, **kwargs)))

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> asyncio.Future[Any]:
        """Receive a message and return a Future of ``deserialize(frames)``."""
        return self._recv_op("recv_multipart", flags, (copy, deserialize))

    def poll(self, timeout: int | None = None, flags: int = C.POLLIN) -> asyncio.Future[Any]:  # type: ignore[override]
        """A Future of the events (``flags`` subset) seen within ``timeout`` ms (None: forever)."""
        if self._core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        from purezmq.asyncio._poll import Poller

        p = Poller()
        p.register(self, flags)
        return _chain(p.poll(timeout), lambda res: dict(res).get(self, 0))

    def close(self, linger: int | None = None) -> None:
        """Close the socket; pending Futures of this object are cancelled (as pyzmq does)."""
        if not self._core.closed:
            for op in [*self._recvq, *self._sendq]:
                if not op.fut.done():
                    try:
                        op.fut.cancel()
                    except RuntimeError:  # loop already closed
                        pass
            self._recvq.clear()
            self._sendq.clear()
            w = self._waker
            if w is not None:
                self._core.remove_watcher(w)
            t = self._timer
            if t is not None:
                self.__dict__["_timer"] = None
                try:
                    t.cancel()
                except RuntimeError:
                    pass
        super().close(linger)


_AGAIN: Any = object()  # "would block" from an attempt, without raising


def _resolve_eager(
    fut: asyncio.Future[Any], result: Any, late: list[tuple[Any, Any, asyncio.Future[Any]]]
) -> None:
    """Resolve ``fut`` and leave its done-callbacks to the caller (to run them now)."""
    try:
        cbs = fut._callbacks
    except AttributeError:
        cbs = None
    if cbs:
        for cb, _ in cbs:
            fut.remove_done_callback(cb)
    fut.set_result(result)
    if cbs:
        late.extend((cb, ctx, fut) for cb, ctx in cbs)


def _expire(ref: weakref.ref[Socket], loop: asyncio.AbstractEventLoop) -> None:
    # Through a weak reference: a pending timer does not keep a dropped socket alive.
    sock = ref()
    if sock is not None:
        sock._expire(loop)


def _resolved(result: Any) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = _running_loop().create_future()
    fut.set_result(result)
    return fut


def _failed(e: BaseException) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = _running_loop().create_future()
    fut.set_exception(e)
    return fut


def _chain(inner: asyncio.Future[Any], fn: Callable[[Any], Any]) -> asyncio.Future[Any]:
    """A Future of ``fn(inner's result)``; cancelling it cancels ``inner``."""
    if inner.done() and not inner.cancelled():
        exc = inner.exception()
        if exc is not None:
            return inner
        try:
            return _resolved(fn(inner.result()))
        except Exception as e:
            return _failed(e)
    outer: asyncio.Future[Any] = inner.get_loop().create_future()

    def on_inner(f: asyncio.Future[Any]) -> None:
        if outer.done():
            return
        if f.cancelled():
            outer.cancel()
            return
        exc = f.exception()
        if exc is not None:
            outer.set_exception(exc)
            return
        try:
            outer.set_result(fn(f.result()))
        except Exception as e:
            outer.set_exception(e)

    def on_outer(f: asyncio.Future[Any]) -> None:
        if f.cancelled() and not inner.done():
            inner.cancel()

    inner.add_done_callback(on_inner)
    outer.add_done_callback(on_outer)
    return outer
