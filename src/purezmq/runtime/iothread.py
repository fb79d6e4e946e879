"""The I/O thread of a sync Context: one asyncio loop serving every engine.

Like libzmq's I/O thread: accepts, handshakes, reads, writes, reconnects and
heartbeats happen here while the application thread sleeps or computes. The
engine code only uses loop primitives (add_reader/add_writer, call_soon,
call_later), so an asyncio Context can run the same engines on the
application's own loop instead (see ``Reactor``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
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


class IOThread(Reactor):
    """A daemon thread running a private asyncio loop."""

    def __init__(self, name: str = "purezmq-io") -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        try:
            self.loop.run_forever()
        finally:
            self.loop.close()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self.thread

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the loop and join the thread (pending callbacks are dropped)."""
        if not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        if not self.in_loop_thread():
            self.thread.join(timeout)


class LoopReactor(Reactor):
    """Engines on an existing loop (the asyncio front-end's running loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._thread_id: int | None = None

    def in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False
