"""ThreadSafeSocket: the base of the draft socket types libzmq makes thread-safe.

CLIENT, SERVER, SCATTER, GATHER, RADIO and DISH (zmq_socket(3)) may be used from several
threads at once: one thread blocked in ``recv`` while others ``send``, or
several receivers sharing the incoming messages. Every other socket keeps the
classic rule (one thread at a time, see socketbase.py), and its hot path takes
no lock.

Rules this module keeps:

- **One lock per socket** (``tslock``, a plain ``threading.Lock``). Every
  operation of the core that touches pattern state -- ``send``, ``recv``,
  ``try_recv``, ``events``, ``setsockopt``, running the mailbox, closing --
  holds it, so the mailbox/flag protocol of socketbase.py sees exactly one
  owner at any moment: whichever thread holds the lock is the owner. The
  front-end (sugar/socket.py) takes the same lock (``guard()``) around the
  calls it makes on the core outside these (bind, connect, unbind,
  disconnect, close). The lock is never held while sleeping, and never held
  by the I/O thread: engines and inproc peers only post to the mailbox.
- **A blocked caller releases the lock while it sleeps** (``_wait``), as
  libzmq's thread-safe sockets release their mutex around the wait, so a
  thread blocked in ``recv`` does not stop another thread's ``send``.
- **Each waiter sleeps on its own wake-up fd.** ``self.signal`` is a
  ``_Broadcast`` whose ``set()`` sets every waiter's fd, so a post wakes all
  of them (libzmq's condition variable broadcast). A waiter registers its fd
  and counts itself in ``nwaiters`` (with the lock held) before it looks at
  the mailbox for the last time, and a poster appends to the mailbox before
  it looks at ``nwaiters`` and the members: with the GIL one side always sees
  the other, so no wake-up is lost however many threads wait. Woken waiters
  take the lock in turn, run the mailbox and retry; those that find nothing
  go back to sleep.
- **No reading in the application thread.** A blocked ``recv`` never reads
  the connections itself (socketbase.py's direct path): the I/O thread does
  all the reading for these sockets, so the engine's ownership hand-over
  never has to deal with several application threads.
- **Per-thread receive context.** The pipe a message came from (for the
  routing id and properties of a received Frame) is kept per thread
  (``last_pipe``), so a Frame received in one thread never shows another
  thread's peer.
- **Single-part messages only**: these types refuse SNDMORE with EINVAL (the
  front-end checks ``single_part``) and drop multipart messages that arrive,
  as libzmq's do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import Signal, SocketBase
from purezmq.error import make_error

_EAGAIN = int(C.EAGAIN)


class _Broadcast:
    """The socket's ``signal``: ``set()`` wakes every registered waiter (any thread)."""

    __slots__ = ("members",)

    def __init__(self) -> None:
        # Replaced whole, never mutated: posters iterate it without the lock.
        self.members: tuple[Signal, ...] = ()

    def set(self) -> None:
        for s in self.members:
            s.set()

    wake = set


class ThreadSafeSocket(SocketBase):
    """A SocketBase whose calls take ``tslock``; see the module docstring."""

    thread_safe = True
    coalesce_wakes = False

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tslock = threading.Lock()
        self.signal = _Broadcast()  # type: ignore[assignment]
        self._spare: list[Signal] = []  # wake-up fds of past waiters, for reuse
        self._tls = threading.local()

    def guard(self) -> Any:
        return self.tslock

    @property
    def last_pipe(self) -> Pipe | None:
        """The pipe of the last message received *by this thread*."""
        return getattr(self._tls, "pipe", None)

    @last_pipe.setter
    def last_pipe(self, pipe: Pipe | None) -> None:
        self._tls.pipe = pipe

    def _received_from(self) -> Pipe | None:
        """The pipe the message just taken came from (lock held)."""
        fq = getattr(self, "fq", None)
        return None if fq is None else fq.last

    # -- the guarded operations ---------------------------------------------------------

    def send(self, msg: Msg, nonblock: bool = False, timeout: int | None = None) -> None:
        with self.tslock:
            SocketBase.send(self, msg, nonblock, timeout)

    def recv(self, nonblock: bool = False, timeout: int | None = None) -> Msg:
        with self.tslock:
            msg = SocketBase.recv(self, nonblock, timeout)
            self._tls.pipe = self._received_from()
            return msg

    def try_recv(self) -> Msg | None:
        with self.tslock:
            msg = SocketBase.try_recv(self)
            if msg is not None:
                self._tls.pipe = self._received_from()
            return msg

    def events(self) -> int:
        with self.tslock:
            return SocketBase.events(self)

    def setsockopt(self, opt: int, value: Any) -> None:
        with self.tslock:
            SocketBase.setsockopt(self, opt, value)

    def begin_close(self) -> list[Pipe]:
        # The front-end holds tslock (guard()) around close.
        pipes = SocketBase.begin_close(self)
        for s in self._spare:
            s.close()
        self._spare.clear()
        return pipes

    def _read_owned(self) -> bool:
        return False  # nobody but the I/O thread reads these sockets' connections

    def _direct_peers(self) -> list[tuple[int, Any]] | None:
        return None  # nor an asyncio loop (asyncio/_waiting.py direct_arm)

    def _wait(self, attempt: Callable[[], Any], timeout: int, reading: bool = False) -> Any:
        """Sleep (lock released) until woken, run the mailbox, retry ``attempt``."""
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000.0
        sig = self._spare.pop() if self._spare else Signal()
        group: _Broadcast = self.signal  # type: ignore[assignment]
        group.members = (*group.members, sig)
        self.nwaiters += 1
        lock = self.tslock
        try:
            while True:
                if not self.mailbox and not self.closed and not self.ctx_terminated:
                    left = None
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise make_error(_EAGAIN)
                    lock.release()
                    try:
                        sig.wait(left)
                    finally:
                        lock.acquire()
                self.process_commands()
                self._check()
                result = attempt()
                if result:
                    return result
                if deadline is not None and time.monotonic() >= deadline:
                    raise make_error(_EAGAIN)
        finally:
            self.nwaiters -= 1
            group.members = tuple(s for s in group.members if s is not sig)
            if self.closed:
                sig.close()
            else:
                sig.drain()
                self._spare.append(sig)


def drop_multipart(recv: Callable[[], Msg | None]) -> Msg | None:
    """The next single-part message from ``recv``; multipart ones are dropped (libzmq)."""
    while True:
        msg = recv()
        if msg is None or len(msg) == 1:
            return msg
