"""Context: pyzmq's context API; owns the I/O thread, inproc names and sockets.

``term()`` follows libzmq: blocked and later calls on the context's sockets
raise ContextTerminated, then term waits until every socket is closed and has
finished lingering, then stops the I/O thread.

Contexts nobody terminated (module globals, ``Context.instance()``, the
locals of a function that returned) are handled at interpreter exit as
pyzmq's are when Python tears them down: ``_flush_at_exit`` (run by the I/O
runtime's atexit hook, before the I/O threads stop) closes every socket still
open with its own LINGER and waits until each has flushed or its LINGER ran
out. LINGER -1 (the default) waits until delivered: with a peer that never
comes, the program waits at exit, exactly as with pyzmq; Ctrl-C ends the wait.
Sockets a daemon thread is blocked in are left to it (see ``_flush_at_exit``).

``__del__`` never blocks. It may run in any thread at any point a garbage
collection happens to start -- the I/O thread itself (which would then wait
for its own flush), or an application thread holding an engine's write lock
that the flush needs -- so instead of terminating in place it marks the
context terminated and hands the I/O thread the job of stopping once every
socket has finished lingering (``IOThread.retire``). In practice a Context
only becomes garbage once its connections are gone, because the engines on
the running loop hold its sockets, which hold it.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from purezmq import constants as C
from purezmq.core.options import CONTEXT_OPTIONS, OPTIONS, SocketOptions
from purezmq.core.socketbase import SocketBase
from purezmq.core.sockets import SOCKET_CLASSES
from purezmq.error import ZMQError, make_error
from purezmq.runtime import iothread
from purezmq.runtime.iothread import IOThread, Reactor
from purezmq.transport.inproc import InprocRegistry

if TYPE_CHECKING:
    from purezmq.sugar.socket import Socket

T = TypeVar("T", bound="Context")

# Defaults the socket type acts on itself (not plain stored values).
_SOCKET_HANDLED = {int(C.SUBSCRIBE), int(C.UNSUBSCRIBE)}
_SOCKOPT_NAMES = {k.lower(): int(v) for k, v in C.SocketOption.__members__.items()}
_CTXOPT_NAMES = {m.name.lower(): int(m) for m in C.ContextOption}

# Live Contexts (weakly): those with an I/O thread are flushed at interpreter
# exit unless terminated. Added at creation, and again when a shadow starts an
# I/O thread of its own.
_LIVE: weakref.WeakSet[Context] = weakref.WeakSet()
# At exit, a socket with a finite LINGER is given up on this long (s) after its
# LINGER, should the loop fail to end it (it normally does so itself, on time).
EXIT_SLACK = 2.0


class Context:
    """Create sockets with ``ctx.socket(zmq.REQ)``; one per process is usual."""

    _instance: Context | None = None
    _instance_lock = threading.Lock()
    _socket_class: type[Socket] | None = None

    def __init__(
        self, io_threads: int | Context = 1, shadow: Context | int = 0, **kwargs: Any
    ) -> None:
        d = self.__dict__
        if isinstance(io_threads, Context):
            shadow, io_threads = io_threads, 1
        if isinstance(shadow, Context):
            d.update(shadow.__dict__)
            d["_shadow"] = True
            return
        if shadow:
            raise ZMQError(C.ENOTSUP, "purezmq has no C context pointers to shadow")
        d["_shadow"] = False
        d["_lock"] = threading.Lock()
        d["_io"] = None
        d["_inproc"] = InprocRegistry()
        d["_sockets"] = weakref.WeakSet()
        d["_cores"] = set()  # cores not yet reaped (term waits for them)
        d["_opts"] = {k: spec.default for k, spec in CONTEXT_OPTIONS.items()}
        d["_opts"][C.IO_THREADS] = io_threads
        d["sockopts"] = {}
        d["_closed"] = False
        d["_term_started"] = False
        _LIVE.add(self)

    # -- attributes as options -----------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _CTXOPT_NAMES:
            return self.get(_CTXOPT_NAMES[name])
        if name in _SOCKOPT_NAMES:
            try:
                return self.sockopts[_SOCKOPT_NAMES[name]]
            except KeyError:
                raise AttributeError(name) from None
        raise AttributeError(f"{type(self).__name__} has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self.__dict__ or hasattr(type(self), name) or name.startswith("_"):
            object.__setattr__(self, name, value)
        elif name in _CTXOPT_NAMES:
            self.set(_CTXOPT_NAMES[name], value)
        elif name in _SOCKOPT_NAMES:
            self.setsockopt(_SOCKOPT_NAMES[name], value)
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        if name in _SOCKOPT_NAMES and _SOCKOPT_NAMES[name] in self.sockopts:
            del self.sockopts[_SOCKOPT_NAMES[name]]
        else:
            object.__delattr__(self, name)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def underlying(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        n = len(self._sockets)
        return f"<purezmq.Context({n} socket{'s' if n != 1 else ''}) at {hex(id(self))}{' closed' if self._closed else ''}>"

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        self.term()

    def __copy__(self: T) -> T:
        return type(self)(shadow=self)

    def __del__(self) -> None:
        # Never blocks (see the module docstring): lingering sockets finish on
        # the I/O thread, which then stops by itself.
        try:
            d = self.__dict__
            io = d.get("_io")
            if d.get("_shadow", True) or d.get("_closed", True) or io is None:
                return
            d["_closed"] = True
            cores = list(d["_cores"])
            for core in cores:
                core.context_terminated()
            # An unclosed core here has lost its Socket: nobody can close it.
            io.retire(lambda: all(c.reaped.is_set() or not c.closed for c in cores))
        except Exception:
            pass

    @classmethod
    def instance(cls: type[T], io_threads: int = 1) -> T:
        """The process-wide shared context (created on first use, re-created after term)."""
        inst = cls._instance
        if inst is None or inst.closed or not isinstance(inst, cls):
            with Context._instance_lock:
                inst = cls._instance
                if inst is None or inst.closed or not isinstance(inst, cls):
                    inst = cls._instance = cls(io_threads)
        return inst

    # -- options -------------------------------------------------------------------------

    def set(self, option: int, optval: int) -> None:
        """Set a context option (IO_THREADS, MAX_SOCKETS, IPV6, BLOCKY, ...)."""
        spec = CONTEXT_OPTIONS.get(int(option))
        if spec is None or not spec.writable:
            raise ZMQError(C.EINVAL, f"unknown or read-only context option {option}")
        self._opts[int(option)] = spec.validate(optval)

    def get(self, option: int) -> int:
        """Get a context option."""
        opt = int(option)
        if opt == C.SOCKET_LIMIT:
            return 65535
        if opt not in CONTEXT_OPTIONS or not CONTEXT_OPTIONS[opt].readable:
            raise ZMQError(C.EINVAL, f"unknown context option {option}")
        return self._opts[opt]

    def setsockopt(self, opt: int, value: Any) -> None:
        """Set a default option for sockets created later by this context."""
        spec = OPTIONS.get(int(opt))
        if spec is None:
            raise ZMQError(C.EINVAL, f"unknown socket option {opt}")
        self.sockopts[int(opt)] = spec.validate(value)  # checked now, not at socket()

    def getsockopt(self, opt: int) -> Any:
        """A default socket option set with setsockopt."""
        return self.sockopts[int(opt)]

    # -- sockets ------------------------------------------------------------------------

    def socket(
        self, socket_type: int, socket_class: type[Socket] | None = None, **kwargs: Any
    ) -> Socket:
        """Create a socket of ``socket_type`` (``zmq.PUB``, ...)."""
        if self._closed:
            # pyzmq raises ENOTSUP here (not ETERM): keep its behaviour.
            raise ZMQError(C.ENOTSUP, "the context is terminated: create a new Context")
        cls = socket_class or self._socket_class
        if cls is None:
            from purezmq.sugar.socket import Socket

            cls = Socket
        s = cls(self, socket_type, **kwargs)
        for opt, value in self.sockopts.items():
            if OPTIONS[opt].dynamic or opt in _SOCKET_HANDLED:
                try:
                    s.set(opt, value)
                except ZMQError:
                    pass  # e.g. SUBSCRIBE on a non-SUB socket, as pyzmq ignores
        return s

    def _new_core(self, socket_type: int) -> SocketBase:
        """Build the core socket for a new front-end Socket."""
        try:
            st = int(socket_type)
        except (TypeError, ValueError):
            raise ZMQError(C.EINVAL, f"invalid socket type {socket_type!r}") from None
        klass = SOCKET_CLASSES.get(st)
        if klass is None:
            if st in C.SocketType._value2member_map_:
                raise NotImplementedError(
                    f"socket type {C.SocketType(st).name} is not implemented in purezmq yet "
                    "(classic types PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH, XPUB, XSUB are)"
                )
            raise ZMQError(C.EINVAL, f"invalid socket type {socket_type!r}")
        with self._lock:
            if self._closed:
                raise make_error(C.ETERM)
            if len(self._cores) >= self._opts.get(C.MAX_SOCKETS, 1023):
                raise ZMQError(errno.EMFILE, "too many sockets in this context (MAX_SOCKETS)")
            defaults = dict(self.sockopts)
            if self._opts.get(C.IPV6):
                defaults.setdefault(C.IPV6, 1)
            core = klass(SocketOptions(st, defaults), self)
            self._cores.add(core)
        return core

    def _add_socket(self, sock: Socket) -> None:
        self._sockets.add(sock)

    def _socket_closed(self, sock: Socket) -> None:
        with self._lock:
            self._sockets.discard(sock)

    def _reactor(self) -> Reactor:
        """The I/O thread, started on first tcp/ipc use."""
        io = self._io
        if io is None:
            with self._lock:
                io = self._io
                if io is None:
                    io = self.__dict__["_io"] = IOThread()
                    _LIVE.add(self)
        return io

    # -- shutdown -----------------------------------------------------------------------

    def term(self) -> None:
        """Terminate: wake blocked calls with ContextTerminated, wait for sockets to close."""
        if self._closed:
            return
        with self._lock:
            self.__dict__["_closed"] = True
            cores = list(self._cores)
        for core in cores:
            core.context_terminated()
        for core in cores:
            # Each socket is closed by its owner (a thread that got ETERM) or
            # garbage-collected; then it lingers until flushed.
            while not core.reaped.wait(0.1):
                if not core.closed and not self._owned(core):
                    break
        self._end_term()

    def _end_term(self) -> None:
        """Every socket is reaped (or given up on): stop the I/O thread."""
        with self._lock:
            self._cores.clear()
        if self._io is not None:
            self._io.stop()
        if Context._instance is self:
            Context._instance = None

    def _owned(self, core: SocketBase) -> bool:
        """Is a live Socket object still holding ``core``? (else nobody can close it)"""
        return any(s._core is core for s in list(self._sockets))

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with ``linger`` if given), then term()."""
        if self._closed:
            return
        # Threads blocked in these sockets get ContextTerminated, not "socket is closed".
        with self._lock:
            cores = list(self._cores)
        for core in cores:
            core.context_terminated()
        for s in list(self._sockets):
            if not s.closed:
                s.close(linger=linger)
        self.term()


# -- interpreter exit ------------------------------------------------------------------------


def _flush_at_exit() -> None:
    """Close what the program left open, each socket with its LINGER, and wait.

    Run by ``runtime.iothread``'s atexit hook while the I/O threads still run
    (non-daemon threads have ended; only daemon threads may still be at work).

    - Sockets with messages still queued are closed first, all contexts at
      once (their LINGERs run side by side), and waited for; sockets that a
      ``main()`` already closed but that are still lingering are waited for
      with them. Only then are the others closed: they may be the receivers,
      in this same process, of what the first ones are flushing.
    - A socket a thread is blocked in right now (necessarily a daemon thread)
      is that thread's: it is neither closed nor terminated under it -- no
      ContextTerminated is raised in threads the program abandoned -- and
      what it still has queued when the rest is done is lost, as with pyzmq,
      whose teardown never frees a socket a live frame still holds.
    - A socket whose Socket object is gone without being closed cannot be
      closed any more and is not waited for.
    """
    pid = os.getpid()
    contexts: list[Context] = []
    lingering: list[SocketBase] = []  # closed before exit, not reaped yet
    senders: list[Socket] = []
    others: list[Socket] = []
    for ctx in list(_LIVE):
        io = ctx.__dict__.get("_io")
        if ctx._closed or not isinstance(io, IOThread) or io.pid != pid:
            continue
        if not io.thread.is_alive():
            continue
        contexts.append(ctx)
        with ctx._lock:
            cores = list(ctx._cores)
        sockets = {s._core: s for s in list(ctx._sockets)}
        for core in cores:
            if core.closed:
                if not core.reaped.is_set():
                    lingering.append(core)
                continue
            sock = sockets.get(core)
            if sock is None or core.in_use():
                continue
            (senders if _has_output(core) else others).append(sock)
    _close_all(senders)
    _wait_all(lingering + [s._core for s in senders])
    _close_all(others)
    _wait_all([s._core for s in others])
    for ctx in contexts:
        with ctx._lock:
            ctx.__dict__["_closed"] = True
        Context._end_term(ctx)


def _has_output(core: SocketBase) -> bool:
    """Does ``core`` have messages queued, or bytes the kernel has not taken yet?"""
    for pipe in list(core.pipes):
        if pipe.outq or getattr(pipe.peer, "outbuf", None) is not None:
            return True
    return False


def _close_all(sockets: list[Socket]) -> None:
    from purezmq.sugar.socket import Socket

    for s in sockets:
        try:
            s.close()  # with its own LINGER, as pyzmq's teardown does
        except Exception:
            try:  # a front-end's own close failing (a loop gone): the core's
                Socket.close(s)
            except Exception:
                pass


def _wait_all(cores: list[SocketBase]) -> None:
    started = time.monotonic()
    for core in cores:
        if core.closed:
            _wait_reaped(core, started)


def _wait_reaped(core: SocketBase, started: float) -> None:
    """Wait (interruptibly) until ``core`` has flushed or its LINGER expired."""
    linger = core.options.linger
    deadline = None if linger < 0 else started + linger / 1000.0 + EXIT_SLACK
    sleep = _os_sleep()
    while not core.reaped.is_set():
        sleep(0.01)
        if deadline is not None and time.monotonic() > deadline:
            try:
                sys.stderr.write(
                    f"purezmq: a {core.type_name} socket did not finish lingering at exit\n"
                )
            except Exception:
                pass
            return


def _os_sleep() -> Callable[[float], None]:
    """``time.sleep``, gevent's original under its patching.

    The exit wait polls ``reaped`` (an Event set from the real I/O thread,
    a gevent Event under patching) with a real sleep: the I/O thread does
    the flushing, and greenlets the program left behind stay where they
    are, as they do with pyzmq, instead of running on into closed sockets.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("time"):
        return cast("Callable[[float], None]", monkey.get_original("time", "sleep"))
    return time.sleep


iothread.at_exit(_flush_at_exit)
