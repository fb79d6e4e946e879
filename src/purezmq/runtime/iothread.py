"""The I/O thread of a Context: one asyncio loop serving every engine.

Like libzmq's I/O thread: accepts, handshakes, reads, writes, reconnects and
heartbeats happen here while the application's thread or event loop sleeps,
blocks, computes or spins. Every kind of Context (sync, ``purezmq.asyncio``,
tornado, green) has one; none relies on the application to serve its
connections. The engine code only uses loop primitives (add_reader/add_writer,
call_soon, call_later) through ``Reactor``.

Interpreter exit. The thread is a daemon thread (a program must be able to
exit, and Ctrl-C must work), so CPython would freeze it as soon as the
interpreter starts finalizing -- before the queues of sockets nobody closed
are flushed. ``_at_exit`` (an ``atexit`` hook) closes that gap: it runs the
hooks the owners registered with ``at_exit`` (sugar/context.py: close every
open socket with its LINGER and wait until they are flushed or their LINGER
expires), waits for threads retiring on their own (``IOThread.retire``), and
stops the rest. It is registered when this module is imported rather than
when the first thread starts: atexit runs hooks last-in first-out, so a
program's own hooks registered after ``import purezmq`` -- say one that
sends a goodbye or calls ``term()`` -- run before the sockets are closed,
as they do with pyzmq (which flushes even later, while modules are torn
down). A KeyboardInterrupt during the wait abandons it: the loops are told
to stop, the process exits, whatever was still queued is lost.

GIL starvation. CPython hands the GIL to a waiting thread only after the
holder has kept it for a whole switch interval (5 ms) without releasing it.
An application thread that computes and releases the GIL briefly every
0.1-5 ms (a short syscall: a write, a poll(0)) restarts that wait each time
and wins the GIL back before the waiter wakes: the I/O thread never runs,
for as long as the pattern lasts (no accept, no drain, no heartbeat).
libzmq's I/O threads have no such master. So the socket calls the
application makes (``SocketBase.send``, a recv that finds nothing) look at
most every ``STARVED_CHECK`` (core/socketbase.py) whether the loop has made progress
(``IOThread.relieve``); if it has not and has work waiting, the caller
sleeps a moment, which gives the I/O thread the GIL.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import math
import os
import select
import selectors
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from threading import get_ident
from typing import Any, TypeVar

T = TypeVar("T")

# How long a starved loop is given the GIL (s). The check comes at most every
# core.socketbase.STARVED_CHECK.
HANDOVER = 0.0005


def _watched(base: type[selectors.BaseSelector]) -> type[selectors.BaseSelector]:
    """A selector class that counts its rounds and says when it is waiting."""

    class WatchedSelector(base):  # type: ignore[valid-type, misc]
        rounds = 0
        waiting = False

        def select(self, timeout: float | None = None) -> list[Any]:
            self.waiting = True
            try:
                return super().select(timeout)
            finally:
                self.waiting = False
                self.rounds += 1

    if issubclass(base, getattr(selectors, "EpollSelector", ())):

        class WatchedEpoll(WatchedSelector):
            """The epoll selector's select, fused with the counting: one round
            costs ~15 bytecodes per ready fd instead of ~50 (the usual I/O
            thread runs one per request when many peers each send one)."""

            def select(self, timeout: float | None = None) -> list[Any]:
                if timeout is None:
                    timeout = -1
                elif timeout <= 0:
                    timeout = 0
                else:  # epoll has a resolution of 1 ms: wait at least timeout
                    timeout = math.ceil(timeout * 1e3) * 1e-3
                self.waiting = True
                try:
                    fd_events = self._selector.poll(timeout, max(len(self._fd_to_key), 1))
                except InterruptedError:
                    fd_events = []
                finally:
                    self.waiting = False
                    self.rounds += 1
                get = self._fd_to_key.get
                masks = _EPOLL_MASKS
                ready = []
                for fd, ev in fd_events:
                    key = get(fd)
                    if key is not None:
                        m = masks.get(ev)
                        if m is None:
                            m = masks[ev] = (
                                selectors.EVENT_WRITE if ev & ~select.EPOLLIN else 0
                            ) | (selectors.EVENT_READ if ev & ~select.EPOLLOUT else 0)
                        ready.append((key, m & key.events))
                return ready

        probe = base()
        try:  # the internals it uses, as of CPython 3.10-3.13
            if hasattr(probe, "_fd_to_key") and hasattr(probe, "_selector"):
                return WatchedEpoll
        finally:
            probe.close()
    return WatchedSelector


# epoll's event masks -> selectors' EVENT_READ/EVENT_WRITE, as EpollSelector maps them.
_EPOLL_MASKS: dict[int, int] = {}


class _IOLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, running each I/O callback as its event is read.

    Stock asyncio queues the handle of every ready fd (``_add_callback``) and
    runs the queue after the select round: ~30 bytecodes per event, paid once
    per request by a ROUTER whose peers each send one. Here the handle runs at
    once, in event order. So the callbacks queued before the round (call_soon)
    run after that round's I/O callbacks instead of before them, and those
    the I/O callbacks queue run in the same round: nothing here depends on
    either order (a post from another thread lands on either side of any read).
    asyncio's debug mode keeps the stock path (its slow-callback report).
    The callback is called directly rather than through ``Handle._run``: not
    in the copy of the contextvars the handle took when it was registered
    (nothing run on this private loop reads or sets a context variable), one
    Python frame and a context switch less per event.
    """

    # The round's deferred wake-ups (core.socketbase.WakeRound): a list while
    # the loop thread (``ident``, set as the thread starts) runs a round's I/O
    # callbacks. A socket's waiter woken several times in one round gets one
    # wake-up fd write, at the end (watchers get each of theirs then): its
    # reader then finds all the round brought.
    wakes: list[Callable[[], None]] | None = None
    ident = 0

    def _process_events(self, event_list: list[Any]) -> None:
        if self._debug:  # type: ignore[attr-defined]
            super()._process_events(event_list)  # type: ignore[misc]
            return
        wakes: list[Callable[[], None]] = []
        self.wakes = wakes
        try:
            for key, mask in event_list:
                reader, writer = key.data
                if mask & _EVENT_READ and reader is not None:
                    if not reader._cancelled:
                        try:
                            reader._callback(*reader._args)
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as e:
                            self._failed(reader, e)
                    else:
                        self._drop_cancelled(key.fileobj, reader, 0)
                if mask & _EVENT_WRITE and writer is not None:
                    if not writer._cancelled:
                        try:
                            writer._callback(*writer._args)
                        except (SystemExit, KeyboardInterrupt):
                            raise
                        except BaseException as e:
                            self._failed(writer, e)
                    else:
                        self._drop_cancelled(key.fileobj, writer, 1)
        finally:
            self.wakes = None
            for wake in wakes:
                try:
                    wake()
                except Exception as e:  # one failing waker must not starve the rest
                    self.call_exception_handler({"message": "a wake-up failed", "exception": e})

    def _failed(self, handle: Any, e: BaseException) -> None:
        """An I/O callback raised: report it as ``Handle._run`` does; the loop goes on."""
        self.call_exception_handler(
            {
                "message": f"Exception in callback {handle._callback!r}",
                "exception": e,
                "handle": handle,
            }
        )

    def _drop_cancelled(self, fileobj: Any, handle: Any, which: int) -> None:
        """A cancelled handle still registered: remove it, as stock asyncio does --
        unless an earlier callback of this round already replaced it."""
        try:
            current = self._selector.get_key(fileobj).data[which]  # type: ignore[attr-defined]
        except (KeyError, ValueError):
            return
        if current is handle:
            if which:
                self._remove_writer(fileobj)  # type: ignore[attr-defined]
            else:
                self._remove_reader(fileobj)  # type: ignore[attr-defined]


_EVENT_READ = selectors.EVENT_READ
_EVENT_WRITE = selectors.EVENT_WRITE
# The stock loop where asyncio's internals differ from those _IOLoop relies on.
if not all(
    hasattr(asyncio.selector_events.BaseSelectorEventLoop, name)
    for name in ("_process_events", "_remove_reader", "_remove_writer")
) or not hasattr(asyncio.Handle, "_run"):
    _IOLoop = asyncio.SelectorEventLoop  # type: ignore[misc, assignment]


class Reactor:
    """Where engines run: a loop plus a thread-safe way to get work onto it."""

    loop: asyncio.AbstractEventLoop

    def __init__(self) -> None:
        # ``post``: work from other threads, run in order by one loop callback.
        self._posted: deque[Callable[[], Any]] = deque()
        self._post_armed = False

    def in_loop_thread(self) -> bool:
        raise NotImplementedError

    # Posted callbacks run so far: progress within a long select round (relieve).
    ticks = 0

    def relieve(self) -> None:
        """Application thread: give the loop the GIL if it is starved (IOThread)."""

    def wake_round(self) -> Any:
        """What defers the wake-ups of the loop's rounds (core.socketbase.WakeRound), or None."""
        return None

    def call(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the loop soon; callable from any thread."""
        if self.in_loop_thread():
            self.loop.call_soon(fn, *args)
        else:
            self.loop.call_soon_threadsafe(fn, *args)

    def post(self, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` on the loop soon; any thread. Posts coalesce: while one
        callback is scheduled, more posts join it and wake nobody.

        As libzmq's mailbox signals the I/O thread only when it goes non-empty:
        a PUB kicking 100 idle connections, or a ROUTER answering a burst of
        peers, pays for one wake-up of the loop, not one per connection
        (``call_soon_threadsafe`` writes to the loop's self-pipe every time).
        A posted function runs no later than a ``call`` made after the post.
        """
        self._posted.append(fn)  # first append, then look at the flag (see _run_posted)
        if not self._post_armed:
            self._post_armed = True
            try:
                self.call(self._run_posted)
            except BaseException:  # the loop is closed: fail now, as call() does
                self._post_armed = False
                raise

    def _run_posted(self) -> None:
        # Disarm first: a post that lands after this line either is run below
        # or schedules the next callback itself (a spare run is harmless).
        self._post_armed = False
        q = self._posted
        while q:
            q.popleft()()
            self.ticks += 1

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


# I/O threads whose loop still runs (strong references: a Context that was
# garbage-collected leaves its thread here until it has retired).
_RUNNING: set[IOThread] = set()
# What the owners of I/O threads do at interpreter exit (see ``at_exit``).
_EXIT_HOOKS: list[Callable[[], None]] = []


def at_exit(fn: Callable[[], None]) -> None:
    """Run ``fn()`` at interpreter exit, before the I/O threads are stopped.

    ``fn`` may block (it is how queued messages get their LINGER); the I/O
    threads keep running meanwhile.
    """
    _EXIT_HOOKS.append(fn)


def _at_exit() -> None:
    """atexit: let the owners flush, wait for retiring threads, stop the others."""
    pid = os.getpid()  # after fork, the parent's threads are not ours
    try:
        for fn in list(_EXIT_HOOKS):
            try:
                fn()
            except Exception:
                traceback.print_exc()
        for io in list(_RUNNING):
            if io.pid != pid:
                continue
            if io.retiring:  # stops itself once its sockets are flushed (LINGER)
                while io.thread.is_alive():
                    io.join(0.1)
            else:
                io.stop(timeout=1.0)
    except KeyboardInterrupt:
        for io in list(_RUNNING):
            if io.pid == pid:
                io.stop(timeout=0)
        try:
            sys.stderr.write("purezmq: interrupted at exit; messages still queued are lost\n")
        except Exception:
            pass


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    """The parent's loops do not run here: a round the fork cut short must not
    keep collecting wake-ups (a thread of the child may get the old loop
    thread's ident)."""
    for io in _RUNNING:
        io.loop.wakes = None
        io.loop.ident = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class IOThread(Reactor):
    """A daemon thread running a private asyncio loop."""

    thread: threading.Thread | _OSThread
    selector: Any  # a _watched() selector: ``rounds``, ``waiting``
    loop: _IOLoop

    def __init__(self, name: str = "purezmq-io") -> None:
        super().__init__()
        self.pid = os.getpid()
        self.retiring = False
        if _gevent_patched_threading():
            self._start_unpatched(name)
            return
        self.selector = _watched(selectors.DefaultSelector)()
        self.loop = _IOLoop(self.selector)
        self._ready = threading.Event()
        self._set_ready = self._ready.set
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._ready.wait()

    def wake_round(self) -> Any:
        return self.loop

    def _run(self) -> None:
        # The function SocketBase.wake compares with, bound at import: under
        # gevent, threading.get_ident patched later would give another id.
        self.loop.ident = get_ident()
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._set_ready)
        _RUNNING.add(self)
        try:
            self.loop.run_forever()
        finally:
            _RUNNING.discard(self)
            self.loop.close()

    def _start_unpatched(self, name: str) -> None:
        """Under gevent's monkey-patching: a real thread and a real selector (see _OSThread)."""
        from gevent import monkey

        selector = self.selector = _watched(monkey.get_original("selectors", "DefaultSelector"))()
        self._sleep = monkey.get_original("time", "sleep")
        self._select = monkey.get_original("select", "select")
        self.loop = _IOLoop(selector)
        ready = monkey.get_original("_thread", "allocate_lock")()
        ready.acquire()
        self._set_ready = ready.release
        thread = self.thread = _OSThread(self._run, name)
        self.in_loop_thread = thread.is_current  # type: ignore[method-assign]
        ready.acquire()

    def in_loop_thread(self) -> bool:
        return threading.current_thread() is self.thread

    _seen_rounds = -1
    # The unpatched ones under gevent (see _start_unpatched): a real pause of the thread.
    _sleep = staticmethod(time.sleep)
    _select = staticmethod(select.select)

    def relieve(self) -> None:
        """Application thread, now and then: hand a starved loop the GIL.

        Starved: no select round and no posted callback run since the last
        look, and either it is running a callback (it may be waiting for the
        GIL inside it) or its selector has events it has not picked up.
        """
        sel = self.selector
        rounds = sel.rounds + self.ticks  # a busy loop (a PUB's drains) is not starved
        if rounds != self._seen_rounds:
            self._seen_rounds = rounds
            return
        if sel.waiting and not self._events_pending():
            return  # idle in select: nothing to do
        if self.in_loop_thread() or not self.thread.is_alive():
            return
        self._sleep(HANDOVER)

    def _events_pending(self) -> bool:
        """Has the loop's selector events ready (its fd readable)? False if unknown."""
        try:
            fd = self.selector.fileno()
        except (AttributeError, OSError, ValueError):
            return False  # select()/poll() selectors have no fd to ask
        try:
            return bool(self._select([fd], [], [], 0)[0])
        except (OSError, ValueError):
            return False

    def stop(self, timeout: float | None = 5.0) -> None:
        """Stop the loop and join the thread (pending callbacks are dropped)."""
        if not self.thread.is_alive():
            return
        try:
            self.loop.call_soon_threadsafe(self.loop.stop)
        except RuntimeError:  # the loop closed meanwhile: the thread is ending
            pass
        if timeout != 0 and not self.in_loop_thread():
            self.thread.join(timeout)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the thread to end (after ``stop`` or ``retire``)."""
        if not self.in_loop_thread():
            self.thread.join(timeout)

    def retire(self, done: Callable[[], bool], poll: float = 0.05) -> None:
        """Stop the loop once ``done()`` is true (checked on the loop); never blocks.

        For an owner that goes away while its sockets may still be lingering
        (a garbage-collected Context): the thread serves them until ``done``,
        then ends by itself; the exit hook waits for it meanwhile.
        """
        self.retiring = True

        def check() -> None:
            try:
                finished = done()
            except Exception:  # never leave the exit hook waiting for us
                finished = True
            if finished:
                self.loop.stop()
            else:
                self.loop.call_later(poll, check)

        self.call(check)
