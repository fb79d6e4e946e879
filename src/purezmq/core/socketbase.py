"""SocketBase: what every socket type shares, with no I/O of its own.

Rules this module keeps:

- Pattern state belongs to the thread using the socket (pyzmq sockets are
  not thread-safe either). Other threads -- the I/O loop, inproc peers --
  never touch it: they post commands to ``self.mailbox`` (a deque; appends
  are atomic) and the owner runs them at the start of its next call, as
  libzmq's ``process_commands`` does. The hot path takes no lock.
- A caller that must wait counts itself in ``nwaiters`` and sleeps on the
  socket's wake-up fd (``Signal``: an eventfd, or a socketpair elsewhere); a
  poster that sees ``nwaiters`` signals it. An fd is used rather than a
  ``threading.Condition`` because waking a thread through the kernel is
  several times cheaper in CPython than a Condition hand-off. Other waiters
  (pollers, the FD, asyncio futures) register a ``Watcher`` whose ``wake()``
  must not block.
- A thread blocked in ``recv`` on a socket with few tcp/ipc connections
  (at most ``DIRECT_MAX``, and no blind watchers) also polls the connections' own
  fds (``PipePeer.direct_fd``) and reads them itself (``read_direct``): no
  hop through the I/O thread. See "Reading in the application thread" in
  transport/engine.py for how the I/O loop stays out of the way.

A socket type subclasses this and fills in the hooks, as libzmq's do:
``xattach_pipe``, ``xpipe_terminated``, ``xread_activated``,
``xwrite_activated``, ``xhiccuped``, ``xsend``, ``xrecv``, ``xhas_in``,
``xhas_out`` and ``xsetsockopt`` for type-specific options.
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from threading import get_ident
from time import monotonic as _monotonic
from typing import Any, Protocol

from purezmq import constants as C
from purezmq.core.options import SocketOptions
from purezmq.core.pipe import Msg, Pipe
from purezmq.error import ZMQError, make_error

# Monitor callback: (event, value, endpoint, local, remote). endpoint is the v1
# endpoint; local/remote are monitor v2's pair, None where the event is not
# about one connection (then the hook derives them from endpoint).
MonitorHook = Callable[[int, int, str, "str | None", "str | None"], None]

_EAGAIN = int(C.EAGAIN)
_poll = getattr(select, "poll", None)
_POLLIN = getattr(select, "POLLIN", 1)
_NO_GUARD = contextlib.nullcontext()
# A blocking recv reads the connections itself when the socket has at most this many pipes.
DIRECT_MAX = 8
# ``take_input`` looks at the connections when the socket has not published
# for TAKE_INPUT_GAP (s), and during a stream of publishes at most every
# TAKE_INPUT_STREAM_GAP. The second is several GIL switch intervals (5 ms by
# default): a thread holding the GIL that releases it briefly more often than
# that (the poll below, once per ms) keeps CPython's GIL waiters from ever
# asking for it, and the I/O thread would starve (no drain, no accept, no
# heartbeat) for as long as the stream lasts.
TAKE_INPUT_GAP = 0.001
# How often (at most) send/recv check the I/O thread for GIL starvation (s);
# see runtime/iothread.py.
STARVED_CHECK = max(0.01, 2 * sys.getswitchinterval())
TAKE_INPUT_STREAM_GAP = max(0.02, 4 * sys.getswitchinterval())


class Watcher(Protocol):
    """Something to wake when a socket may have become readable/writable.

    A watcher whose class sets ``direct = True`` (the asyncio front-end's)
    reads the connections itself while it waits for a reply, as a blocking
    recv does; any other watcher learns of input only through the I/O loop,
    so while one is registered the I/O loop does all the reading.
    """

    def wake(self) -> None: ...


class WakeRound(Protocol):
    """The I/O loop's round of I/O callbacks, which collects their wake-ups.

    ``wakes`` is a list only while the loop thread (``ident``) runs the I/O
    callbacks of one select round, else None; the loop calls what it holds
    (``Signal.set``, ``Watcher.wake``) once the round is over
    (runtime/iothread.py, _IOLoop).
    """

    wakes: list[Callable[[], None]] | None
    ident: int


class Signal:
    """A wake-up fd: ``set()`` from any thread, ``wait(timeout)`` in the owner."""

    __slots__ = ("rfd", "wfd", "_keep")

    def __init__(self) -> None:
        if hasattr(os, "eventfd"):
            self.rfd = self.wfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._keep: tuple[socket.socket, ...] = ()
        else:  # pragma: no cover - non-Linux
            r, w = socket.socketpair()
            r.setblocking(False)
            w.setblocking(False)
            self._keep = (r, w)
            self.rfd, self.wfd = r.fileno(), w.fileno()

    def set(self) -> None:
        try:
            os.write(self.wfd, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except (BlockingIOError, OSError):
            pass  # already signalled (counter/buffer full) or closed

    wake = set  # a Signal is also a Watcher

    def wait(self, timeout: float | None) -> None:
        """Sleep until set or ``timeout`` seconds; clears the signal. Ctrl-C interrupts."""
        if _poll is not None:  # poll, not select: fds above FD_SETSIZE are fine
            p = _poll()
            p.register(self.rfd, select.POLLIN)
            p.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999)))
        else:  # pragma: no cover - Windows
            select.select([self.rfd], [], [], timeout)
        self.drain()

    def drain(self) -> None:
        """Clear the signal without waiting."""
        try:
            os.read(self.rfd, 4096)
        except (BlockingIOError, OSError):
            pass

    def fileno(self) -> int:
        return self.rfd

    def close(self) -> None:
        """Close the fd (once; later set/drain/close do nothing)."""
        rfd = self.rfd
        if rfd < 0:
            return
        # First forget the number: a set() racing in from another thread then
        # writes to -1 (EBADF), never to whatever reuses the number next.
        self.rfd = self.wfd = -1
        if self._keep:
            for s in self._keep:
                s.close()
        else:
            try:
                os.close(rfd)
            except OSError:
                pass

    def __del__(self) -> None:
        # A socket's wake-up fd lives as long as the socket: nobody can be waiting
        # on it once it is garbage (a waiter holds it), so close it here. Without
        # this, every socket that ever blocked in send/recv kept an eventfd open.
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown: os may be gone
            pass


class PipeSet(dict[Pipe, None]):
    """A socket's pipes: an insertion-ordered set with list-like ``append``/``remove``.

    Membership and removal are O(1): activations ask "still ours?" once per
    message, which a list answered in O(peers).
    """

    __slots__ = ()

    def append(self, pipe: Pipe) -> None:
        self[pipe] = None

    def remove(self, pipe: Pipe) -> None:
        del self[pipe]


class Closable(Protocol):
    """A listener or connecter owned by a socket."""

    def close(self, linger: int) -> None: ...


class SocketBase:
    """Common machinery of all socket types."""

    type: int = -1
    type_name: str = "?"
    # Does the peer's routing id identify the pipe (ROUTER-like sockets)?
    recv_routing_id = False
    # Skip setting ``signal`` while a set is pending (see wake)? Not for the
    # thread-safe types: their waiters share one broadcast (core/threadsafe.py).
    coalesce_wakes = True
    # May several threads use it at once (core/threadsafe.py)? Those are also
    # single-part only (``single_part``, a slot: the front-ends read it per send).
    thread_safe = False
    # PUB/XPUB: plain ZMTP pipes take messages encoded once for all (Pipe.wire).
    fans_out_wire = False
    # Is the first frame of a message the destination (ROUTER, STREAM: ``check_route``)?
    route_first = False

    # The attributes every socket has live in slots: fast to reach, and the
    # subclasses' own few stay in a small (key-sharing) instance dict.
    __slots__ = (
        "ctx",
        "options",
        "mailbox",
        "signal",
        "nwaiters",
        "signalled",
        "watchers",
        "blind",
        "watch_blocked",
        "closed",
        "ctx_terminated",
        "pipes",
        "_last_pipe",
        "single_part",
        "off_path",
        "sparts",
        "rparts",
        "endpoints",
        "last_endpoint",
        "monitor",
        "reaped",
        "on_reaped",
        "live",
        "pingpong",
        "replying",
        "last_kick",
        "answering",
        "_dpoll",
        "_input_taken",
        "_input_asked",
        "io_relieve",
        "io_round",
        "_relieve_at",
        "_direct_pipes",
        "drained",
        "__dict__",
        "__weakref__",
    )

    def __init__(self, options: SocketOptions, ctx: Any = None) -> None:
        self.ctx = ctx
        self.options = options
        # Commands: ``(fn, arg)`` tuples, or a Pipe alone for "read activated".
        self.mailbox: deque[Any] = deque()
        self.signal: Signal | None = None  # created on the first wait
        self.nwaiters = 0
        # ``signal`` was set since the waiter last looked at the mailbox: further
        # posts need not set it again (see wake and _wait).
        self.signalled = False
        self.watchers: tuple[Watcher, ...] = ()
        self.blind = 0  # watchers that rely on the I/O loop to read (see Watcher)
        # Callers blocked on a watcher right now (a Poller, a proxy, a green
        # wait): with ``nwaiters``, whether a thread is using the socket at
        # this moment -- interpreter exit leaves such sockets to their thread.
        self.watch_blocked = 0
        self.closed = False
        self.ctx_terminated = False
        self.pipes = PipeSet()
        self._last_pipe: Pipe | None = None
        self.single_part = self.thread_safe
        # The front-end may call xsend/xrecv itself (sugar Socket.send/recv: the
        # hot path one frame shorter) only while this is False and the mailbox
        # is empty: True once closed or the context ends, and for the
        # thread-safe types, whose send/recv take their lock.
        self.off_path = self.thread_safe
        # A drainer of one of its pipes found the queue empty (Pipe.drained).
        self.drained = False
        # Front-end state shared by shadow sockets: frames gathered with
        # SNDMORE, and the unread frames of a partly received message.
        self.sparts: list[Any] = []
        self.rparts: list[Any] = []
        # endpoint string -> listeners/connecters to close on unbind/disconnect
        self.endpoints: dict[str, list[Closable]] = {}
        self.last_endpoint = ""
        self.monitor: MonitorHook | None = None
        # Set once closed and every engine has flushed or given up (term waits).
        self.reaped = threading.Event()
        self.on_reaped: Callable[[SocketBase], None] | None = None  # see Context._term
        # Listener engines and connecters still running (I/O loop thread only).
        self.live: set[object] = set()
        # Did the socket wait for input since its last send? Then the next
        # send is a reply/request and engines write it directly (engine.kick).
        self.pingpong = False
        # Has it sent since it last waited for input? (A recv now awaits an answer.)
        self.replying = False
        # When one of its connections was last kicked, and does the message being
        # written answer the peer that sent the last one (ROUTER)? See engine.kick.
        self.last_kick = 0.0
        self.answering = False
        # The poll object of the last direct wait, with the connection fds it watches.
        self._dpoll: tuple[list[int], Any] | None = None
        self._input_taken = 0.0  # when take_input last looked
        self._input_asked = 0.0  # when take_input was last called
        # The I/O thread's starvation check (set by the front-end at the first
        # bind/connect on it); see relieve_io.
        self.io_relieve: Callable[[], None] | None = None
        self._relieve_at = 0.0
        # Its I/O loop's round, which defers the wake-ups the loop's reads cause
        # (set with io_relieve); see wake.
        self.io_round: WakeRound | None = None
        # Pipes whose connections a direct reader was given (``_direct_peers``):
        # the only ones the I/O loop may have left to this thread, so the only
        # ones ``add_watcher`` must reclaim (at most DIRECT_MAX at a time).
        self._direct_pipes: set[Pipe] = set()

    @property
    def last_pipe(self) -> Pipe | None:
        """The pipe the last received message came from (for Frame properties)."""
        fq = getattr(self, "fq", None)
        return self._last_pipe if fq is None else fq.last

    @last_pipe.setter
    def last_pipe(self, pipe: Pipe | None) -> None:
        self._last_pipe = pipe

    def guard(self) -> Any:
        """What the front-end holds around bind/connect/close: a no-op here,
        the socket's lock for thread-safe types (core/threadsafe.py)."""
        return _NO_GUARD

    def msg_routing_id(self, pipe: Pipe | None) -> int | None:
        """The routing id a received Frame shows (SERVER's 32-bit ids), or None."""
        return None

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

    def xidentified(self, pipe: Pipe) -> None:
        """A pipe attached before its handshake now knows the peer's routing id."""

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

    # -- the mailbox --------------------------------------------------------------------

    def post(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Ask the owner thread to run ``fn(arg)`` (any thread) and wake it."""
        self.mailbox.append((fn, arg))
        self.wake()

    def wake(self) -> None:
        """Wake sleepers and watchers: something may have changed (any thread).

        One write of the wake-up fd per look at the mailbox: the waiter clears
        ``signalled`` before it looks (``_wait``), a poster appends before it
        tests it, so a post the look missed always writes. A ROUTER whose
        peers' requests arrive together was woken once per request before:
        an eventfd write each (a syscall, and a GIL hand-over) for nothing.

        Woken by the I/O loop's reads, the wake-ups wait for the end of that
        select round (``io_round``). Else a PULL fair-queuing 1000 peers, each
        read bringing a few messages, was woken every other read: the
        application thread took them, slept again, and each hand-over cost
        two syscalls and the GIL going back and forth (34,000 wake-ups for
        300,000 messages; libzmq's reader 6,000).
        """
        sig = self.signal if self.nwaiters and not self.signalled else None
        watchers = self.watchers
        if sig is None and not watchers:
            return  # nobody to wake: the usual post while the owner is busy
        rnd = self.io_round
        later = rnd.wakes if rnd is not None and rnd.ident == get_ident() else None
        if sig is not None:
            self.signalled = self.coalesce_wakes
            if later is None:
                sig.set()
            else:
                later.append(sig.set)
        for w in watchers:
            if later is None:
                w.wake()
            else:
                later.append(w.wake)

    def process_commands(self) -> None:
        """Run posted commands (owner thread)."""
        mb = self.mailbox
        while mb:
            cmd = mb.popleft()
            if type(cmd) is tuple:
                cmd[0](cmd[1])
            else:
                self._read_activated(cmd)

    def post_read_activated(self, pipe: Pipe) -> None:
        # The pipe alone, not a (bound method, pipe) tuple: the commonest
        # command allocates nothing. Thousands may wait in the mailbox while
        # the owner holds the GIL (a ROUTER over 5000 peers); as tuples holding
        # a fresh bound method each, the collector promoted them to its oldest
        # generation and ran a full collection (~100 ms over 150k objects) every
        # ~100k requests.
        self.mailbox.append(pipe)
        self.wake()

    def post_write_activated(self, pipe: Pipe) -> None:
        self.post(self._write_activated, pipe)

    def _read_activated(self, pipe: Pipe) -> None:
        pipe.in_posted = False
        if not pipe.in_active and pipe in self.pipes:
            pipe.in_active = True
            self.xread_activated(pipe)

    def _write_activated(self, pipe: Pipe) -> None:
        pipe.out_posted = False
        if not pipe.out_active and pipe in self.pipes:
            pipe.out_active = True
            self.xwrite_activated(pipe)

    # -- application side --------------------------------------------------------------

    def _check(self) -> None:
        if self.ctx_terminated:  # first: destroy() closes sockets other threads block in
            raise make_error(C.ETERM)
        if self.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")

    def send(self, msg: Msg, nonblock: bool = False, timeout: int | None = None) -> None:
        """Send a whole multipart message, waiting (up to SNDTIMEO) at HWM.

        sugar Socket.send and send_multipart do the first steps themselves when
        ``off_path`` is False and the mailbox empty (xsend, then
        ``pingpong``/``replying``), and call this only if xsend refused: keep
        the three in step."""
        if self.mailbox:
            self.process_commands()
        if self.closed or self.ctx_terminated:
            self._check()
        if self.xsend(msg):
            self.pingpong = False
            self.replying = True
            return
        if timeout is None:
            timeout = self.options.sndtimeo
        if nonblock or timeout == 0:
            raise make_error(_EAGAIN)
        self._wait(lambda: self.xsend(msg), timeout)
        self.pingpong = False
        self.replying = True

    def recv(self, nonblock: bool = False, timeout: int | None = None) -> Msg:
        """Receive a whole multipart message, waiting up to RCVTIMEO.

        sugar Socket.recv tries xrecv itself first when ``off_path`` is False
        and the mailbox empty, and calls this only if that found nothing."""
        if self.mailbox:
            self.process_commands()
        if self.closed or self.ctx_terminated:
            self._check()
        msg = self.xrecv()
        if msg is not None:
            return msg
        if timeout is None:
            timeout = self.options.rcvtimeo
        if nonblock or timeout == 0:
            if self._read_owned():
                msg = self.xrecv()
                if msg is not None:
                    return msg
            self.relieve_io()
            raise make_error(_EAGAIN)
        # Only a recv that waits for an answer to our own send reads the
        # connections itself: a pure receiver (PULL, SUB) streams faster with
        # the I/O thread reading ahead on another core.
        msg = self._wait(self.xrecv, timeout, self.replying)
        self.pingpong = True
        self.replying = False
        return msg

    def relieve_io(self, now: float | None = None) -> None:
        """Give the I/O thread the GIL if it is starved (see runtime/iothread.py);
        looks at most every STARVED_CHECK.

        Called where a starved I/O thread shows, off the per-message path: a
        connection's queue going non-empty (engine.kick), a PUB about to
        publish (take_input), a recv that finds nothing. A queue the loop does
        not drain fills to SNDHWM, where the engine writes it itself
        (StreamEngine.relieve) or the sender waits (and so lets the loop run).
        """
        if now is None:
            now = _monotonic()
        if now >= self._relieve_at:
            self._relieve_at = now + STARVED_CHECK
            fn = self.io_relieve
            if fn is not None:
                fn()

    def try_recv(self) -> Msg | None:
        """A whole message, or None when none waits (non-blocking, no exception)."""
        if self.mailbox:
            self.process_commands()
        if self.closed or self.ctx_terminated:
            self._check()
        msg = self.xrecv()
        if msg is None and self._read_owned():
            msg = self.xrecv()
        return msg

    def _read_owned(self) -> bool:
        """Read connections the I/O loop left to this thread (see engine.py); any read?"""
        if len(self.pipes) > DIRECT_MAX or self.blind:
            return False
        n = len(self.mailbox)
        for pipe in self.pipes:
            peer = pipe.peer
            if peer is not None:
                peer.read_owned()
        if len(self.mailbox) != n:
            self.process_commands()
            return True
        return False

    def _direct_peers(self) -> list[tuple[int, Any]] | None:
        """(fd, peer) of the connections a blocking recv may read itself, if any."""
        pipes = self.pipes
        if len(pipes) > DIRECT_MAX or self.blind or _poll is None:
            return None
        peers = None
        for pipe in pipes:
            peer = pipe.peer
            if peer is not None:
                fd = peer.direct_fd()
                if fd >= 0:
                    if peers is None:
                        peers = [(fd, peer)]
                    else:
                        peers.append((fd, peer))
                    self._direct_pipes.add(pipe)
        return peers

    def take_input(self) -> None:
        """Read what the connections have for us now, in this thread (after
        TAKE_INPUT_GAP without a call, or TAKE_INPUT_STREAM_GAP since the last
        look; only sockets that may read directly, see _direct_peers).

        A PUB about to publish applies the subscriptions already on the wire:
        libzmq's I/O threads, running beside the application, would have by then,
        while ours may be waiting for the GIL the application thread holds (a
        SUB that subscribes and a PUB that publishes microseconds later).
        """
        now = _monotonic()
        asked = self._input_asked
        self._input_asked = now
        if now >= self._relieve_at:
            self.relieve_io(now)
        if now - asked < TAKE_INPUT_GAP and now - self._input_taken < TAKE_INPUT_STREAM_GAP:
            return
        self._input_taken = now
        peers = self._direct_peers()
        if not peers:
            return
        assert _poll is not None
        p = _poll()
        for fd, _ in peers:
            p.register(fd, _POLLIN)
        ready = {fd for fd, _ev in p.poll(0)}
        for fd, peer in peers:
            if fd in ready:
                peer.read_direct()
        if self.mailbox:
            self.process_commands()

    def _wait_direct(
        self, sig: Signal, peers: list[tuple[int, Any]], timeout: float | None
    ) -> None:
        """Sleep on the wake-up fd and the connections' fds; read those that are readable."""
        key = [fd for fd, _ in peers]
        cached = self._dpoll
        if cached is not None and cached[0] == key:
            p = cached[1]
        else:
            assert _poll is not None
            p = _poll()
            p.register(sig.rfd, _POLLIN)
            for fd in key:
                p.register(fd, _POLLIN)
            self._dpoll = (key, p)
        for _fd, peer in peers:
            peer.set_waiting(True)
        try:
            ready = p.poll(None if timeout is None else max(0, int(timeout * 1000 + 0.999)))
            # What our own reads post needs no wake-up: the caller processes
            # the mailbox before it sleeps again.
            self.nwaiters -= 1
            try:
                for fd, _ev in ready:
                    if fd == sig.rfd:
                        sig.drain()
                        continue
                    for pfd, peer in peers:
                        if pfd == fd:
                            peer.read_direct()
                            break
            finally:
                self.nwaiters += 1
        finally:
            for _fd, peer in peers:
                peer.set_waiting(False)

    def _wait(self, attempt: Callable[[], Any], timeout: int, reading: bool = False) -> Any:
        """Sleep until notified, process commands, retry ``attempt`` until it succeeds.

        ``reading``: ``attempt`` receives, so the connections may be read here.
        """
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000.0
        sig = self.signal
        if sig is None:
            sig = self.signal = Signal()
        self.nwaiters += 1
        try:
            while True:
                # Anything posted after our last attempt is in the mailbox
                # (posters append before they look at nwaiters and signalled).
                self.signalled = False
                if not self.mailbox and not self.closed and not self.ctx_terminated:
                    left = None
                    if deadline is not None:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            raise make_error(_EAGAIN)
                    peers = self._direct_peers() if reading else None
                    if peers:
                        self._wait_direct(sig, peers, left)
                    else:
                        sig.wait(left)
                self.process_commands()
                self._check()
                result = attempt()
                if result:
                    return result
                if deadline is not None and time.monotonic() >= deadline:
                    raise make_error(_EAGAIN)
        finally:
            self.nwaiters -= 1

    def events(self) -> int:
        """POLLIN/POLLOUT readiness right now (the EVENTS option)."""
        if self.mailbox:
            self.process_commands()
        if self.closed:
            return 0
        ev = 0
        if self.xhas_in() or (self._read_owned() and self.xhas_in()):
            ev |= C.POLLIN
        if self.xhas_out():
            ev |= C.POLLOUT
        return ev

    def add_watcher(self, w: Watcher, blocking: bool = False) -> None:
        """Wake ``w`` on changes; ``blocking``: a caller sleeps on it until removed."""
        if blocking:
            self.watch_blocked += 1
        self.watchers = (*self.watchers, w)
        if getattr(w, "direct", False):
            return
        self.blind += 1
        # Such watchers learn of input through the I/O loop: take reading back
        # from this thread (a no-op unless a direct reader was left a connection).
        # Only connections handed out by _direct_peers can have been: looking at
        # those alone keeps a Poller's poll() O(1) on a ROUTER with 5000 peers.
        for pipe in self._direct_pipes:
            peer = pipe.peer
            if peer is not None:
                peer.reclaim()

    def remove_watcher(self, w: Watcher, blocking: bool = False) -> None:
        if blocking:
            self.watch_blocked -= 1
        n = len(self.watchers)
        self.watchers = tuple(x for x in self.watchers if x is not w)
        if len(self.watchers) != n and not getattr(w, "direct", False):
            self.blind -= 1

    def in_use(self) -> bool:
        """Is a caller blocked in this socket right now (in a call, poll or proxy)?"""
        return bool(self.nwaiters or self.watch_blocked)

    def setsockopt(self, opt: int, value: Any) -> None:
        if self.mailbox:
            self.process_commands()
        self._check()
        if not self.xsetsockopt(opt, value):
            self.options.set(opt, value)

    # -- pipes (owner thread, directly or through the mailbox) --------------------------

    def attach_pipe(self, pipe: Pipe) -> bool:
        """Add a peer's pipe; False if the socket refuses it (closed, PAIR busy...)."""
        if self.closed:
            return False
        pipe.conflate = pipe.conflate or bool(self.options.conflate)
        self.pipes.append(pipe)
        self.xattach_pipe(pipe)
        # Refused by the pattern (PAIR busy, duplicate routing id). A pipe that is only
        # dead ended already: attached all the same, so that what it brought (a
        # DISCONNECT_MSG, a ROUTER_NOTIFY) is read before its pipe_terminated drops it.
        if pipe.refused:
            if pipe in self.pipes:
                self.pipes.remove(pipe)
            return False
        return True

    def _attach_posted(self, pipe: Pipe) -> None:
        if not self.attach_pipe(pipe):
            pipe.dead = True
            peer = pipe.peer
            if peer is not None:
                peer.disconnect()

    def post_attach(self, pipe: Pipe) -> None:
        """A connection finished its handshake: its pipe joins the socket (any thread)."""
        self.post(self._attach_posted, pipe)

    def pipe_terminated(self, pipe: Pipe) -> None:
        """The far end is gone for good: forget the pipe (queued input stays readable)."""
        pipe.dead = True
        pipe.peer = None
        self._direct_pipes.discard(pipe)
        if pipe not in self.pipes:
            return
        self.pipes.remove(pipe)
        self.xpipe_terminated(pipe)

    def post_terminated(self, pipe: Pipe) -> None:
        """Any thread: mark the pipe dead now, let the owner forget it."""
        pipe.dead = True
        self.post(self.pipe_terminated, pipe)

    def pipe_hiccuped(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self.xhiccuped(pipe)

    def _identified(self, pipe: Pipe) -> None:
        if pipe in self.pipes:
            self.xidentified(pipe)

    def post_identified(self, pipe: Pipe) -> None:
        self.post(self._identified, pipe)

    def post_hiccuped(self, pipe: Pipe) -> None:
        """A connect-side pipe got a new connection (reconnect)."""
        self.post(self.pipe_hiccuped, pipe)

    def event(
        self,
        event: int,
        value: int,
        endpoint: str,
        local: str | None = None,
        remote: str | None = None,
    ) -> None:
        """Report a monitor event (ZMQ_EVENT_*), if someone monitors."""
        hook = self.monitor
        if hook is not None:
            hook(event, value, endpoint, local, remote)

    # -- lifetime of I/O objects (loop thread) ---------------------------------------------

    def engine_started(self, obj: object) -> None:
        self.live.add(obj)

    def engine_finished(self, obj: object) -> None:
        self.live.discard(obj)
        self.check_reaped()

    def check_reaped(self) -> None:
        """Once closed and every engine has flushed or given up, let term() go on."""
        if self.closed and not self.live and not self.reaped.is_set():
            self.reaped.set()
            cb = self.on_reaped
            if cb is not None:
                cb(self)

    # -- shutdown ------------------------------------------------------------------------

    def begin_close(self) -> list[Pipe]:
        """Mark closed, wake blocked callers, detach every pipe; returns the pipes."""
        self.process_commands()
        self.closed = self.off_path = True
        pipes = list(self.pipes)
        self.pipes.clear()
        self._direct_pipes.clear()
        self.mailbox.clear()
        self.wake()
        return pipes

    def context_terminated(self) -> None:
        """Context.term() (any thread): blocked and future calls raise ContextTerminated."""
        self.ctx_terminated = self.off_path = True
        self.wake()
