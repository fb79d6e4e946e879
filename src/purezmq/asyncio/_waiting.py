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
- The Context's I/O thread serves every connection (accepts, handshakes,
  heartbeats, reading ahead, draining), whatever the loop is doing. While a
  receive waits for the answer to this socket's own send (request/reply:
  ``core.replying``), the loop reads the connections itself, as a blocking
  sync recv does (``direct_arm``): their fds are armed one-shot in a private
  epoll set that the loop watches, and the I/O thread steps aside (see
  "Reading in the application thread" in transport/engine.py; it takes
  reading back if the loop stops running meanwhile). ``direct_ready`` reads,
  then runs ``run`` right there, and as no task runs then, ``run`` also
  resumes the tasks awaiting the Futures it resolves on the spot
  (``_resolve_eager``: their done-callbacks run there rather than one loop
  iteration later). A request/reply round trip thus costs each side one
  loop iteration and no thread hop: read, resume, send (written by the
  caller, see ``StreamEngine.kick``), wait.
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
import select
import threading
import weakref
from _thread import get_ident as _get_ident
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from purezmq import constants as C
from purezmq.error import Again
from purezmq.sugar.frame import MessageTracker
from purezmq.sugar.socket import Socket as _SyncSocket

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

_NOBLOCK = int(C.NOBLOCK)
_SNDMORE = int(C.SNDMORE)
_AGAIN: Any = object()  # "would block" from an attempt, without raising
# Direct reading needs epoll (one-shot arming of fds the I/O thread may close
# at any time: the kernel drops a closed fd from the set by itself). Without
# it the I/O thread does all the reading: correct, one thread hop slower.
_epoll = getattr(select, "epoll", None)
_ONESHOT_IN = getattr(select, "EPOLLIN", 1) | getattr(select, "EPOLLONESHOT", 0)


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

    __slots__ = ("loop", "callback", "tid", "scheduled", "queues", "direct")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        callback: Callable[[bool], None],
        queues: tuple[deque[Any], ...] = (),
        direct: bool = False,
    ) -> None:
        self.loop = loop
        self.callback = callback
        self.tid = threading.get_ident()  # created on the loop's thread
        self.scheduled = False
        # With queues: a wake on the loop thread while they are all empty is
        # dropped (nothing waits; an operation queued later tries first).
        self.queues = queues
        # Does the owner read connections itself while it waits? (see Watcher)
        self.direct = direct

    def wake(self) -> None:  # any thread; must not block
        if self.scheduled:
            return
        try:
            if _get_ident() == self.tid:
                if self.queues and not any(self.queues):
                    return
                self.scheduled = True
                self.loop.call_soon(self._fire)
            else:
                # Another thread may race an operation being queued: always run.
                self.scheduled = True
                self.loop.call_soon_threadsafe(self._fire)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            self.scheduled = False

    def _fire(self, eager: bool = False) -> None:
        """Run the callback; ``eager``: it may resume tasks itself (see Waiting.run)."""
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
        "ep",
        "ep_loop",
        "dpeers",
        "armed",
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
        # Direct reading (see direct_arm): the epoll set, the loop watching
        # it, the (fd, engine) pairs a receive waits on, are they armed?
        self.ep: Any = None
        self.ep_loop: asyncio.AbstractEventLoop | None = None
        self.dpeers: list[tuple[int, Any]] | None = None
        self.armed = False

    def __del__(self) -> None:
        # Dropped without close(): the loop must not keep watching a closed fd.
        ep = self.ep
        if ep is not None:
            self.ep = None
            _drop_epoll(self.ep_loop, ep)

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

    def send_op(
        self, parts: list[Any], flags: int, track: MessageTracker | None
    ) -> asyncio.Future[Any]:
        """A Future of a send of ``parts`` (resolved with ``track`` once the message is queued)."""
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
        self.direct_disarm()
        ep, loop = self.ep, self.ep_loop
        if ep is not None:
            self.ep = self.ep_loop = None
            _drop_epoll(loop, ep)
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
            core.replying = False
            return res if post is None else post(res)
        buf, nbytes = args  # recv_into
        view = memoryview(buf).cast("B")
        n = nbytes or len(view)
        data = _SyncSocket.recv(self.sock, _NOBLOCK, False)._data  # not .buffer (a copy)
        core.replying = False
        size = len(data)
        k = min(n, size)
        view[:k] = memoryview(data).cast("B")[:k]
        return size

    def attempt_send(self, kind: str, args: tuple[Any, ...]) -> Any:
        parts, more, track = args
        core = self.core
        sparts = core.sparts
        if more:
            if not sparts and core.route_first:
                core.check_route(parts[0])  # type: ignore[attr-defined]  # as the sync send
            sparts.extend(parts)
        else:
            msg = [*sparts, *parts] if sparts else parts
            core.send(msg, nonblock=True)  # Again: nothing was queued, sparts intact
            sparts.clear()
        return track  # the MessageTracker of the send (or None)

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
            w = self.waker = _LoopWaker(loop, self.run, (self.recvq, self.sendq), True)
            core.add_watcher(w)
            look_again = True
        q.append(op)
        # Look again now that the waker is registered (a wake may have come and gone).
        if look_again and len(q) == 1:
            self.run()
        elif q is self.recvq and not self.armed and core.replying:
            self.direct_arm(loop)
        return fut

    # -- reading on the loop while a reply is awaited ------------------------------------------

    def direct_arm(self, loop: asyncio.AbstractEventLoop) -> None:
        """A receive awaits a reply: read the connections on this loop while it waits.

        Their fds are armed one-shot in ``ep`` (a firing disarms them, so the
        loop never spins on input it leaves to the I/O thread), and each
        engine is told that someone waits (``set_waiting``) so the I/O thread
        steps aside when input comes.
        """
        if _epoll is None:
            return
        peers = self.core._direct_peers()
        if not peers:
            return
        ep = self.ep
        if ep is None or self.ep_loop is not loop:
            if ep is None:
                ep = self.ep = _epoll()
            else:
                _drop_epoll(self.ep_loop, None, ep.fileno())
            # Weakly: the loop's reader must not keep a dropped socket alive.
            loop.add_reader(ep.fileno(), _direct_ready, weakref.ref(self))
            self.ep_loop = loop
        for fd, peer in peers:
            try:
                ep.modify(fd, _ONESHOT_IN)
            except FileNotFoundError:  # new, or closed since (the kernel dropped it)
                ep.register(fd, _ONESHOT_IN)
            peer.set_waiting(True)
        self.dpeers = peers
        self.armed = True

    def direct_disarm(self) -> None:
        """No receive waits any more: the I/O thread reads again."""
        peers = self.dpeers
        if peers is not None:
            self.dpeers = None
            self.armed = False
            for _fd, peer in peers:
                peer.set_waiting(False)

    def direct_ready(self) -> None:
        """Loop: an armed connection is readable. Read it here, then retry at once."""
        events = self.ep.poll(0)  # also takes the events, or the loop would spin
        self.armed = False
        peers = self.dpeers
        if not peers or not events:
            return
        w = self.waker
        scheduled = w is not None and w.scheduled
        if w is not None:
            w.scheduled = True  # our own read's wake-up: we run right after it
        try:
            for fd, _ev in events:
                for pfd, peer in peers:
                    if pfd == fd:
                        peer.read_direct()
                        break
        finally:
            if w is not None:
                w.scheduled = scheduled
        if not scheduled:
            # No task runs in a reader callback: resuming them here is safe.
            self.run(True)

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
        if recvq:
            if not self.armed and self.core.replying:
                self.direct_arm(recvq[0].fut.get_loop())
        elif self.dpeers is not None:
            self.direct_disarm()
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


def _direct_ready(ref: weakref.ref[Waiting]) -> None:
    waiting = ref()
    if waiting is not None and waiting.ep is not None:
        waiting.direct_ready()


def _drop_epoll(loop: asyncio.AbstractEventLoop | None, ep: Any, fd: int = -1) -> None:
    """Stop ``loop`` watching the epoll set, then close it (``ep`` None: only stop)."""
    if loop is not None:
        try:
            loop.remove_reader(ep.fileno() if ep is not None else fd)
        except Exception:  # the loop is closed, or gone with its thread
            pass
    if ep is not None:
        ep.close()


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
