"""How asyncio Sockets wait: queued operations retried on the loop.

Theory of operation:

- Every operation first runs the core operation non-blocking, right in the
  caller's coroutine step. Most sends and many receives finish there and
  return an already-resolved Future.
- When the core says "would block" (``_AGAIN``) the operation is queued (one
  FIFO for receives, one for sends) and a ``_LoopWaker`` is registered as a
  ``Watcher`` on the core socket (it stays registered until the socket
  closes, and ignores wakes on its loop while nothing is queued). The core
  wakes watchers whenever something may have changed (a pipe was activated,
  a command was posted); the waker schedules one ``run`` on the owning loop
  (``call_soon`` when woken on the loop thread itself -- engines served by
  this loop --, else ``call_soon_threadsafe``), and ``run`` retries the
  queued operations in order until one says "would block" again.
- A wake from an engine's read on the loop (``LoopReactor.run_deferring``)
  runs ``run`` right after that read instead, and as no task runs then,
  ``run`` also resumes the tasks awaiting the Futures it resolves on the
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

This state lives in ``Waiting``, a plain ``__slots__`` object, not on the
Socket: the Socket class has ``__getattr__`` (options as attributes), which
makes every attribute access on it take CPython's slow, unspecialized path.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from _thread import get_ident as _get_ident
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from purezmq import constants as C
from purezmq.error import Again
from purezmq.runtime.iothread import DEFERRING
from purezmq.sugar.frame import _done_tracker
from purezmq.sugar.socket import Socket as _SyncSocket

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

_NOBLOCK = int(C.NOBLOCK)
_SNDMORE = int(C.SNDMORE)
_AGAIN: Any = object()  # "would block" from an attempt, without raising


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
        callback: Callable[[bool], None],
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
            if _get_ident() == self.tid:
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

    def _fire(self, eager: bool = False) -> None:
        """Run the callback; ``eager``: it may resume tasks itself (see LoopReactor)."""
        self.scheduled = False  # wakes from now on schedule another run
        self.callback(eager)


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


class Waiting:
    """The queued operations of one asyncio Socket object, and how they are retried."""

    __slots__ = (
        "sock",
        "core",
        "recvq",
        "sendq",
        "waker",
        "timer",
        "timer_at",
        "timer_loop",
        "__weakref__",
    )

    def __init__(self, sock: _SyncSocket) -> None:
        self.sock = sock
        self.core: SocketBase = sock._core
        self.recvq: deque[_Op] = deque()
        self.sendq: deque[_Op] = deque()
        self.waker: _LoopWaker | None = None
        self.timer: asyncio.TimerHandle | None = None  # the deadline timer (see arm_timer)
        self.timer_at = 0.0
        self.timer_loop: asyncio.AbstractEventLoop | None = None

    # -- entry points ---------------------------------------------------------------------

    def recv_op(self, kind: str, flags: int, args: tuple[Any, ...]) -> asyncio.Future[Any]:
        """A Future of a receive (``kind``: recv, recv_multipart, recv_into)."""
        flags = int(flags)
        q = self.recvq
        while q and q[0].fut.done():  # cancelled / timed out: see run
            q.popleft()
        if not q:
            try:
                res = self.attempt_recv(kind, args)
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
        timeout = self.core.options.rcvtimeo
        if timeout == 0:
            return _failed(Again())
        return self.enqueue(q, kind, args, timeout)

    def send_op(self, parts: list[Any], flags: int, track: bool) -> asyncio.Future[Any]:
        """A Future of a send of ``parts`` (resolved once the message is queued)."""
        flags = int(flags)
        args = (parts, flags & _SNDMORE, track)
        q = self.sendq
        while q and q[0].fut.done():
            q.popleft()
        if not q:
            try:
                return _resolved(self.attempt_send("send", args))
            except Again as e:
                if flags & _NOBLOCK:
                    return _failed(e)
            except Exception as e:
                return _failed(e)
        elif flags & _NOBLOCK:
            return _failed(Again())
        timeout = self.core.options.sndtimeo
        if timeout == 0:
            return _failed(Again())
        return self.enqueue(q, "send", args, timeout)

    def cancel_all(self) -> None:
        """The socket closes: cancel what waits, stop watching, drop the timer."""
        for op in [*self.recvq, *self.sendq]:
            if not op.fut.done():
                try:
                    op.fut.cancel()
                except RuntimeError:  # loop already closed
                    pass
        self.recvq.clear()
        self.sendq.clear()
        w = self.waker
        if w is not None:
            self.core.remove_watcher(w)
        t = self.timer
        if t is not None:
            self.timer = None
            try:
                t.cancel()
            except RuntimeError:
                pass

    # -- core attempts (never block) -------------------------------------------------------

    def attempt_recv(self, kind: str, args: tuple[Any, ...]) -> Any:
        """The result, or ``_AGAIN`` (cheaper than raising Again on the hot path)."""
        # The result's conversion (decode, unpickle...) happens here, in the
        # same step that took the message: a Future is never resolved with a
        # message that a later callback could drop.
        core = self.core
        if kind != "recv_into":
            copy, post = args
            multi = kind == "recv_multipart"
            if core.rparts:  # the rest of a message a sync recv began
                sync = _SyncSocket.recv_multipart if multi else _SyncSocket.recv
                res = sync(self.sock, _NOBLOCK, copy)
            else:
                msg = core.try_recv()
                if msg is None:
                    return _AGAIN
                if multi:
                    res = _SyncSocket._multipart_out(self.sock, msg, copy)
                else:
                    res = _SyncSocket._frame_out(self.sock, msg, copy)
            return res if post is None else post(res)
        buf, nbytes = args  # recv_into
        view = memoryview(buf).cast("B")
        n = nbytes or len(view)
        data = _SyncSocket.recv(self.sock, _NOBLOCK, False).buffer
        size = len(data)
        k = min(n, size)
        view[:k] = memoryview(data).cast("B")[:k]
        return size

    def attempt_send(self, kind: str, args: tuple[Any, ...]) -> Any:
        parts, more, track = args
        core = self.core
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

    # -- the waiting machinery -------------------------------------------------------------

    def enqueue(
        self, q: deque[_Op], kind: str, args: tuple[Any, ...], timeout_ms: int
    ) -> asyncio.Future[Any]:
        loop = _running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        if timeout_ms > 0:
            deadline = loop.time() + timeout_ms / 1000.0
            if self.timer is None or deadline < self.timer_at or self.timer_loop is not loop:
                self.arm_timer(loop, deadline)
        else:
            deadline = 0.0
        op = _Op(fut, kind, args, deadline)
        w = self.waker
        core = self.core
        if w is not None and w.loop is loop and w in core.watchers:
            # Registered before our first attempt: any wake since then comes
            # from another thread and has scheduled a run (see _LoopWaker).
            look_again = False
        else:
            if w is not None:
                core.remove_watcher(w)
            w = self.waker = _LoopWaker(loop, self.run, (self.recvq, self.sendq))
            core.add_watcher(w)
            look_again = True
        q.append(op)
        # Look again now that the waker is registered (a wake may have come and gone).
        if look_again and len(q) == 1:
            self.run()
        return fut

    def arm_timer(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        t = self.timer
        if t is not None:
            try:
                t.cancel()
            except RuntimeError:  # its loop is closed
                pass
        self.timer = loop.call_at(when, _expire, weakref.ref(self), loop)
        self.timer_at = when
        self.timer_loop = loop

    def expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """The deadline timer fired: fail what is overdue, re-arm for the next deadline."""
        self.timer = None
        now = loop.time()
        nxt = 0.0
        for q in (self.recvq, self.sendq):
            for op in q:
                dl = op.deadline
                if dl and not op.fut.done():
                    if dl <= now:
                        op.fut.set_exception(Again())
                    elif not nxt or dl < nxt:
                        nxt = dl
        if nxt:
            self.arm_timer(loop, nxt)

    def run(self, eager: bool = False) -> None:
        """Retry queued operations in order (loop thread).

        Futures done meanwhile (cancelled, timed out) are dropped here, when
        they reach the head of their queue: no done-callback per operation.
        ``eager`` (a deferred wake-up right after an engine's read, no task
        running): the awaiting tasks resume here too, not one loop iteration
        later (see _resolve_eager).
        """
        late: list[tuple[Any, Any, asyncio.Future[Any]]] = []
        recvq = self.recvq
        for q, attempt in ((recvq, self.attempt_recv), (self.sendq, self.attempt_send)):
            while q:
                op = q[0]
                fut = op.fut
                if fut.done():
                    q.popleft()
                    continue
                try:
                    result = attempt(op.kind, op.args)
                except Again:  # a send, recv_into, or the rest of a message a sync recv began
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
                if q is recvq:
                    # It had to wait for input: the next send answers it, so
                    # engines write it at once (see StreamEngine.kick).
                    self.core.pingpong = True
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


def _resolve_eager(
    fut: asyncio.Future[Any], result: Any, late: list[tuple[Any, Any, asyncio.Future[Any]]]
) -> None:
    """Resolve ``fut`` and leave its done-callbacks to the caller (to run them now)."""
    try:
        cbs = fut._callbacks
    except AttributeError:
        cbs = None
    if cbs:
        for cb, ctx in cbs:
            fut.remove_done_callback(cb)
            late.append((cb, ctx, fut))
    fut.set_result(result)


def _expire(ref: weakref.ref[Waiting], loop: asyncio.AbstractEventLoop) -> None:
    # Through a weak reference: a pending timer does not keep a dropped socket alive.
    waiting = ref()
    if waiting is not None:
        waiting.expire(loop)


def _resolved(result: Any) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = _running_loop().create_future()
    fut.set_result(result)
    return fut


def _failed(e: BaseException) -> asyncio.Future[Any]:
    fut: asyncio.Future[Any] = _running_loop().create_future()
    fut.set_exception(e)
    return fut
