"""ThreadSafe: the locking rule of libzmq's thread-safe draft socket types.

Rules this module keeps:

- libzmq promises that RADIO and DISH (and the other draft types) may be used
  from several threads at once. purezmq keeps that promise with one lock per
  socket (``tlock``, reentrant) held around every operation on pattern state:
  ``send``, ``recv``, ``try_recv``, ``events``, ``setsockopt``, ``join`` and
  ``leave``, and the mailbox commands they run. Two threads never run the
  pattern's code at the same time.
- A caller that must wait sleeps on ``tcond`` (the lock is released while it
  sleeps). ``wake`` -- called by whoever posts to the mailbox, any thread --
  notifies it when ``twaiters`` says someone sleeps. The waiter counts itself
  and looks at the mailbox again under the lock before it sleeps; the poster
  appends before it looks at ``twaiters``: one of them always sees the other.
- These sockets never read connections in the caller's thread (no
  ``read_direct``/``read_owned``): the I/O thread feeds their pipes. That
  keeps lock order simple: the caller holds ``tlock`` and at most *tries*
  an engine lock (``kick``), while the I/O thread may hold an engine lock and
  then take ``tlock`` (``wake``); nobody holds ``tlock`` and waits for an
  engine lock.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg
from purezmq.core.socketbase import SocketBase
from purezmq.error import make_error

_EAGAIN = int(C.EAGAIN)


class ThreadSafe(SocketBase):
    """A socket whose operations may be called from several threads at once."""

    thread_safe = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.tlock = threading.RLock()
        self.tcond = threading.Condition(self.tlock)
        self.twaiters = 0

    def wake(self) -> None:
        super().wake()
        if self.twaiters:
            with self.tcond:
                self.tcond.notify_all()

    def _locked_wait(self, attempt: Any, nonblock: bool, timeout: int) -> Any:
        """Run ``attempt`` under the lock until it returns a truthy result."""
        with self.tlock:
            deadline: float | None = None
            while True:
                if self.mailbox:
                    self.process_commands()
                self._check()
                result = attempt()
                if result:
                    return result
                if nonblock or timeout == 0:
                    raise make_error(_EAGAIN)
                if deadline is None and timeout > 0:
                    deadline = time.monotonic() + timeout / 1000.0
                left = None
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise make_error(_EAGAIN)
                self.twaiters += 1
                self.nwaiters += 1  # in_use(): a thread is blocked in this socket
                try:
                    if not self.mailbox and not self.closed and not self.ctx_terminated:
                        self.tcond.wait(left)
                finally:
                    self.twaiters -= 1
                    self.nwaiters -= 1

    def send(self, msg: Msg, nonblock: bool = False, timeout: int | None = None) -> None:
        if timeout is None:
            timeout = self.options.sndtimeo
        self._locked_wait(lambda: self.xsend(msg), nonblock, timeout)

    def recv(self, nonblock: bool = False, timeout: int | None = None) -> Msg:
        if timeout is None:
            timeout = self.options.rcvtimeo
        msg: Msg = self._locked_wait(self.xrecv, nonblock, timeout)
        return msg

    def try_recv(self) -> Msg | None:
        with self.tlock:
            if self.mailbox:
                self.process_commands()
            self._check()
            return self.xrecv()

    def events(self) -> int:
        with self.tlock:
            if self.mailbox:
                self.process_commands()
            if self.closed:
                return 0
            ev = 0
            if self.xhas_in():
                ev |= C.POLLIN
            if self.xhas_out():
                ev |= C.POLLOUT
            return ev

    def setsockopt(self, opt: int, value: Any) -> None:
        with self.tlock:
            super().setsockopt(opt, value)

    def attach_pipe(self, pipe: Any) -> bool:
        with self.tlock:
            return super().attach_pipe(pipe)

    def begin_close(self) -> list[Any]:
        with self.tlock:
            return super().begin_close()

    def _direct_peers(self) -> list[tuple[int, Any]] | None:
        return None  # never read connections in the caller's thread (see above)

    def _read_owned(self) -> bool:
        return False
