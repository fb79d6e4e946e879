"""The I/O thread of a Context: one asyncio loop serving every engine.

Like libzmq's I/O thread: accepts, handshakes, reads, writes, reconnects and
heartbeats happen here while the application's thread or event loop sleeps,
blocks, computes or spins. Every kind of Context (sync, ``purezmq.asyncio``,
tornado, green) has one; none relies on the application to serve its
connections. The engine code only uses loop primitives (add_reader/add_writer,
call_soon, call_later) through ``Reactor``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Reactor:
    """Where engines run: a loop plus a thread-safe way to get work onto it."""

    loop: asyncio.AbstractEventLoop

    def in_loop_thread(self) -> bool:
        raise NotImplementedError

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon; callable from any thread."""
        if self.in_loop_thread():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def call_sync(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the loop and return its result (or raise its error)."""
        if self.in_loop_thread():
            return fn(*args)
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                fut.set_result(fn(*args))
            except BaseException as e:  # handed to the caller
                fut.set_exception(e)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout)


class _OSThread:
    """A real OS thread made with the originals gevent's monkey-patching replaced.

    Under ``gevent.monkey.patch_all()`` a ``threading.Thread`` is a greenlet:
    the I/O loop would then only run while the application yields to the hub
    (no delivery, heartbeats or reconnects while it computes or blocks
    outside gevent). libzmq's I/O thread is a real thread; so is ours.
    """

    def __init__(self, target: Any, name: str) -> None:
        from gevent import monkey  # present: only used when gevent patched threading

        start = monkey.get_original("_thread", "start_new_thread")
        self._get_ident = monkey.get_original("_thread", "get_ident")
        self._done = monkey.get_original("_thread", "allocate_lock")()
        self._done.acquire()
        self.name = name
        self.ident: int | None = None

        def run() -> None:
            self.ident = self._get_ident()
            try:
                target()
            finally:
                self._done.release()

        start(run, ())

    def is_current(self) -> bool:
        return self.ident == self._get_ident()

    def is_alive(self) -> bool:
        return self._done.locked()

    def join(self, timeout: float | None = None) -> None:
        if self._done.acquire(True, -1 if timeout is None else timeout):
            self._done.release()


def _gevent_patched_threading() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


class IOThread(Reactor):
    """A daemon thread running a private asyncio loop."""

    thread: threading.Thread | _OSThread

    def __init__(self, name: str = "purezmq-io") -> None:
        if _gevent_patched_threading():
            self._start_unpatched(name)
            return
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._set_ready = self._ready.set
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._set_ready)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def _start_unpatched(self, name: str) -> None:
        """Under gevent's monkey-patching: a real thread and a real selector (see _OSThread)."""
        from gevent import monkey

        selector = monkey.get_original("selectors", "DefaultSelector")()
        self.loop = asyncio.SelectorEventLoop(selector)
        ready = monkey.get_original("_thread", "allocate_lock")()
        ready.acquire()
        self._set_ready = ready.release
        thread = self.thread = _OSThread(self._run, name)
        self.in_loop_thread = thread.is_current  # type: ignore[method-assign]
        ready.acquire()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the loop and join the thread (pending callbacks are dropped)."""
        if not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread():
            self.thread.join(timeout)
