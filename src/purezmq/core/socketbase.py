"""SocketBase: what every socket type shares, with no I/O of its own.

Rules this module keeps:

- ``self.lock`` guards the pattern state and pipe bookkeeping. The thread
  calling send/recv takes it per call; the I/O side takes it per batch, through
  ``deliver``, ``pipe_writable``, ``attach_pipe`` and ``pipe_terminated``.
- Work for other sockets or for the I/O loop discovered while locked goes to
  ``self.deferred`` and runs after the lock is released (``_flush``), so two
  sockets never hold each other's locks.
- Anything that may make the socket readable or writable calls ``notify``
  with the lock held; blocked callers wait on ``self.cond``, other waiters
  (pollers, asyncio futures, the FD) register a ``Watcher``.

A socket type subclasses this and fills in the hooks, as libzmq's do:
``xattach_pipe``, ``xpipe_terminated``, ``xread_activated``,
``xwrite_activated``, ``xhiccuped``, ``xsend``, ``xrecv``, ``xhas_in``,
``xhas_out`` and ``xsetsockopt``/``xgetsockopt`` for type-specific options.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from purezmq import constants as C
from purezmq.core.options import SocketOptions
from purezmq.core.pipe import Msg, Pipe
from purezmq.error import ZMQError, make_error

# Monitor callback: (event, value, endpoint)
MonitorHook = Callable[[int, int, str], None]


class Watcher(Protocol):
    """Something to wake when a socket may have become readable/writable."""

    def wake(self) -> None: ...


class Closable(Protocol):
    """A listener, connecter or engine owned by a socket."""

    def close(self, linger: int) -> None: ...


class SocketBase:
    """Common machinery of all socket types."""

    type: int = -1
    type_name: str = "?"
    # May the peer's routing id identify the pipe (ROUTER-like sockets)?
    recv_routing_id = False

    def __init__(self, options: SocketOptions, ctx: Any = None) -> None:
        self.ctx = ctx
        self.options = options
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.deferred: list[Callable[[], None]] = []
        self.watchers: set[Watcher] = set()
        self.nwaiters = 0
        self.closed = False
        self.ctx_terminated = False
        self.pipes: list[Pipe] = []
        self._last_pipe: Pipe | None = None
        # endpoint string -> objects to close on unbind/disconnect/close
        self.endpoints: dict[str, list[Closable]] = {}
        self.last_endpoint = ""
        self.monitor: MonitorHook | None = None
        # Set when every lingering engine has finished (for Context.term).
        self.reaped = threading.Event()
        # Listener engines and connecters still running (I/O loop thread only).
        self.live: set[object] = set()

    @property
    def last_pipe(self) -> Pipe | None:
        """The pipe the last received message came from (for Frame properties)."""
        fq = getattr(self, "fq", None)
        return self._last_pipe if fq is None else fq.last

    @last_pipe.setter
    def last_pipe(self, pipe: Pipe | None) -> None:
        self._last_pipe = pipe

    # -- hooks for socket types ------------------------------------------------------

    def xattach_pipe(self, pipe: Pipe) -> None:
        raise NotImplementedError

    def xpipe_terminated(self, pipe: Pipe) -> None:
        raise NotImplementedError

    def xread_activated(self, pipe: Pipe) -> None:
        pass

    def xwrite_activated(self, pipe: Pipe) -> None:
        pass

    def xhiccuped(self, pipe: Pipe) -> None:
        pass

    def xsend(self, msg: Msg) -> bool:
        """Queue ``msg``; False when it must wait (HWM). Raises ZMQError."""
        raise ZMQError(C.ENOTSUP, f"{self.type_name} sockets cannot send")

    def xrecv(self) -> Msg | None:
        """Next message or None. Raises ZMQError."""
        raise ZMQError(C.ENOTSUP, f"{self.type_name} sockets cannot receive")

    def xhas_in(self) -> bool:
        return False

    def xhas_out(self) -> bool:
        return False

    def xsetsockopt(self, opt: int, value: Any) -> bool:
        """Handle a type-specific option; True if handled."""
        return False

    # -- application side --------------------------------------------------------------

    def _check(self) -> None:
        if self.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        if self.ctx_terminated:
            raise make_error(C.ETERM)

    def _flush(self) -> None:
        """Run deferred cross-socket/I-O work; call with the lock released."""
        work = self.deferred
        while work:
            self.deferred = []
            for fn in work:
                fn()
            work = self.deferred

    def send(self, msg: Msg, nonblock: bool = False, timeout: int | None = None) -> None:
        """Send a whole multipart message, waiting (up to SNDTIMEO) at HWM."""
        try:
            with self.lock:
                if self.closed or self.ctx_terminated:
                    self._check()
                if not self.xsend(msg):
                    if timeout is None:
                        timeout = self.options.sndtimeo
                    if nonblock or timeout == 0:
                        raise make_error(C.EAGAIN)
                    self._wait(lambda: self.xsend(msg), timeout)
        finally:
            if self.deferred:
                self._flush()

    def recv(self, nonblock: bool = False, timeout: int | None = None) -> Msg:
        """Receive a whole multipart message, waiting up to RCVTIMEO."""
        try:
            with self.lock:
                if self.closed or self.ctx_terminated:
                    self._check()
                msg = self.xrecv()
                if msg is None:
                    if timeout is None:
                        timeout = self.options.rcvtimeo
                    if nonblock or timeout == 0:
                        raise make_error(C.EAGAIN)
                    msg = self._wait(self.xrecv, timeout)
                return msg
        finally:
            if self.deferred:
                self._flush()

    def _wait(self, attempt: Callable[[], Any], timeout: int) -> Any:
        """Retry ``attempt`` each time we are notified until it succeeds (lock held)."""
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000.0
        self.nwaiters += 1
        try:
            while True:
                if self.deferred:
                    self.lock.release()
                    try:
                        self._flush()
                    finally:
                        self.lock.acquire()
                if deadline is None:
                    self.cond.wait()
                else:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise make_error(C.EAGAIN)
                    self.cond.wait(left)
                self._check()
                result = attempt()
                if result:
                    return result
        finally:
            self.nwaiters -= 1

    def events(self) -> int:
        """POLLIN/POLLOUT readiness right now (the EVENTS option)."""
        with self.lock:
            if self.closed:
                return 0
            ev = 0
            if self.xhas_in():
                ev |= C.POLLIN
            if self.xhas_out():
                ev |= C.POLLOUT
            return ev

    def notify(self) -> None:
        """Wake everyone waiting on this socket (lock held)."""
        if self.nwaiters:
            self.cond.notify_all()
        if self.watchers:
            for w in list(self.watchers):
                w.wake()

    def add_watcher(self, w: Watcher) -> None:
        with self.lock:
            self.watchers.add(w)

    def remove_watcher(self, w: Watcher) -> None:
        with self.lock:
            self.watchers.discard(w)

    def setsockopt(self, opt: int, value: Any) -> None:
        with self.lock:
            self._check()
            if not self.xsetsockopt(opt, value):
                self.options.set(opt, value)
        if self.deferred:
            self._flush()

    # -- I/O side: engines and inproc peers call these ------------------------------------

    def attach_pipe(self, pipe: Pipe) -> bool:
        """A peer is ready: add its pipe. False if the socket refuses it (closed)."""
        with self.lock:
            if self.closed:
                return False
            pipe.conflate = bool(self.options.conflate)
            self.pipes.append(pipe)
            self.xattach_pipe(pipe)
            if pipe.dead:  # refused by the pattern (PAIR busy, duplicate id)
                if pipe in self.pipes:
                    self.pipes.remove(pipe)
                refused = True
            else:
                refused = False
            self.notify()
        if self.deferred:
            self._flush()
        return not refused

    def pipe_terminated(self, pipe: Pipe) -> None:
        """The far end is gone for good: forget the pipe (queued input stays readable)."""
        with self.lock:
            if pipe not in self.pipes:
                return
            self.pipes.remove(pipe)
            pipe.dead = True
            pipe.peer = None
            self.xpipe_terminated(pipe)
            self.notify()
        if self.deferred:
            self._flush()

    def pipe_hiccuped(self, pipe: Pipe) -> None:
        """A connect-side pipe got a new connection (reconnect)."""
        with self.lock:
            if pipe in self.pipes:
                self.xhiccuped(pipe)
        if self.deferred:
            self._flush()

    def deliver(self, pipe: Pipe, msgs: list[Msg]) -> bool:
        """Messages arrived on ``pipe``; True when its reader must pause (RCVHWM)."""
        with self.lock:
            q = pipe.inq
            if pipe.conflate:
                q.clear()
                q.append(msgs[-1])
            else:
                q.extend(msgs)
            if not pipe.in_active:
                pipe.in_active = True
                self.xread_activated(pipe)
            self.notify()
            pause = bool(pipe.in_hwm) and len(q) >= pipe.in_hwm
            if pause:
                pipe.reading_paused = True
                pipe.watch_reads = True
        if self.deferred:
            self._flush()
        return pause

    def pipe_readable(self, pipe: Pipe) -> None:
        """inproc: the peer queued messages into ``pipe.inq``."""
        with self.lock:
            if not pipe.in_active:
                pipe.in_active = True
                self.xread_activated(pipe)
            self.notify()
        if self.deferred:
            self._flush()

    def pipe_writable(self, pipe: Pipe) -> None:
        """The far end drained ``pipe.outq`` below its HWM."""
        with self.lock:
            if not pipe.out_active:
                pipe.out_active = True
                self.xwrite_activated(pipe)
                self.notify()
        if self.deferred:
            self._flush()

    def event(self, event: int, value: int, endpoint: str) -> None:
        """Report a monitor event (ZMQ_EVENT_*), if someone monitors."""
        hook = self.monitor
        if hook is not None:
            hook(event, value, endpoint)

    # -- lifetime of I/O objects (loop thread) ---------------------------------------------

    def engine_started(self, obj: object) -> None:
        self.live.add(obj)

    def engine_finished(self, obj: object) -> None:
        self.live.discard(obj)
        self.check_reaped()

    def check_reaped(self) -> None:
        """Once closed and every engine has flushed or given up, let term() go on."""
        if self.closed and not self.live:
            self.reaped.set()

    # -- shutdown ------------------------------------------------------------------------

    def begin_close(self) -> list[Pipe]:
        """Mark closed, wake blocked callers, detach every pipe; returns the pipes."""
        with self.lock:
            self.closed = True
            pipes = list(self.pipes)
            self.pipes.clear()
            self.notify()
            for w in list(self.watchers):
                w.wake()
        return pipes

    def context_terminated(self) -> None:
        """Context.term(): blocked and future calls raise ContextTerminated."""
        with self.lock:
            self.ctx_terminated = True
            self.notify()
