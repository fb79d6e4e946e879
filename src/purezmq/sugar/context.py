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

import builtins
import errno
import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeAlias, TypeVar, cast, overload

from purezmq import constants as C
from purezmq.core.options import CONTEXT_OPTIONS, OPTIONS, SocketOptions
from purezmq.core.socketbase import SocketBase
from purezmq.core.sockets import SOCKET_CLASSES
from purezmq.error import ZMQError, make_error
from purezmq.runtime import iothread
from purezmq.runtime.iothread import IOThread, Reactor
from purezmq.sugar.frame import _public_name
from purezmq.sugar.socket import Socket, SyncSocket, _as_address
from purezmq.transport.inproc import InprocRegistry

T = TypeVar("T", bound="Context[Any]")
# What ``socket()`` returns: Socket[bytes] for a sync Context, an asyncio
# Socket for purezmq.asyncio's (pyzmq's typing, so ``zmq.Context[Any]`` works).
_SocketType = TypeVar("_SocketType", bound="Socket[Any]", covariant=True)

# Live contexts by ``underlying`` handle, for ``Context.shadow(address)``.
_LIVE_CONTEXTS: weakref.WeakValueDictionary[int, Context[Any]] = weakref.WeakValueDictionary()

# Defaults the socket type acts on itself (not plain stored values).
_SOCKET_HANDLED = {int(C.SUBSCRIBE), int(C.UNSUBSCRIBE)}
_SOCKOPT_NAMES = {k.lower(): int(v) for k, v in C.SocketOption.__members__.items()}
_CTXOPT_NAMES = {m.name.lower(): int(m) for m in C.ContextOption}
# pyzmq reads and writes options as attributes in either case: ctx.IO_THREADS, ctx.linger.
_CTXOPT_NAMES.update({k.upper(): v for k, v in list(_CTXOPT_NAMES.items())})
_SOCKOPT_NAMES.update({k.upper(): v for k, v in list(_SOCKOPT_NAMES.items())})

# Live Contexts (weakly): those with an I/O thread are flushed at interpreter
# exit unless terminated. Added at creation, and again when a shadow starts an
# I/O thread of its own.
_LIVE: weakref.WeakSet[Context] = weakref.WeakSet()
# At exit, a socket with a finite LINGER is given up on this long (s) after its
# LINGER, should the loop fail to end it (it normally does so itself, on time).
EXIT_SLACK = 2.0


class Context(Generic[_SocketType]):
    """Create sockets with ``ctx.socket(zmq.REQ)``; one per process is usual."""

    _instance: Context[Any] | None = None
    _instance_pid: int | None = None
    _instance_lock = threading.Lock()
    _socket_class: type[Socket[Any]] | None = None

    @overload
    def __init__(self: SyncContext, io_threads: int = 1) -> None: ...

    @overload
    def __init__(self: SyncContext, io_threads: Context[Any], /) -> None: ...

    @overload
    def __init__(self: SyncContext, *, shadow: Context[Any] | int) -> None: ...

    def __init__(
        self, io_threads: int | Context[Any] = 1, shadow: Context[Any] | int = 0, **kwargs: Any
    ) -> None:
        d = self.__dict__
        if isinstance(io_threads, Context):
            shadow, io_threads = io_threads, 1
        if shadow:
            # Another Context object over the same context: a Context, or the
            # ``underlying`` handle of one (purezmq's stand-in for the address
            # of a C context, valid in this process while the context lives).
            other = (
                shadow if isinstance(shadow, Context) else _LIVE_CONTEXTS.get(_as_address(shadow))
            )
            if other is None:
                raise ZMQError(C.EFAULT, f"no purezmq context at {shadow!r} to shadow")
            d.update(other.__dict__)
            d["_shadow"] = True
            d["_shadow_obj"] = shadow
            d["_shadow_ctx"] = other.__dict__.get("_shadow_ctx") or other
            return
        if isinstance(io_threads, bool) or not isinstance(io_threads, int) or io_threads < 0:
            raise ZMQError(C.EINVAL, f"io_threads must be an int >= 0, not {io_threads!r}")
        d["_shadow"] = False
        d["_shadow_obj"] = None
        d["_shadow_ctx"] = None
        d["_underlying"] = id(self)
        # Reentrant: any allocation in a section holding it can run the garbage
        # collector, whose Socket.__del__ closes an unreachable socket of this
        # Context in the same thread, and close() takes it again (_socket_closed).
        # With a plain Lock that thread waited for itself forever. The sections
        # iterate snapshots (list(...)) where such a close could change the set.
        d["_lock"] = threading.RLock()
        d["_io"] = None
        d["_inproc"] = InprocRegistry()
        d["_sockets"] = weakref.WeakSet()
        d["_cores"] = set()  # cores not yet reaped (term waits for them)
        d["_opts"] = {k: spec.default for k, spec in CONTEXT_OPTIONS.items()}
        d["_opts"][C.IO_THREADS] = io_threads
        d["sockopts"] = {}
        d["_closed"] = False
        d["_term_started"] = False
        d["_warn_destroy_close"] = False
        _LIVE_CONTEXTS[id(self)] = self
        _LIVE.add(self)

    @classmethod
    def shadow(cls: type[T], address: int | Context[Any]) -> T:
        """A new Context object over the same context as ``address`` (a Context or
        its ``underlying``), as pyzmq's ``Context.shadow``."""
        return cls(shadow=address)

    def __dir__(self) -> list[str]:
        """Methods and attributes, and the context option names, as pyzmq's."""
        return [*dir(type(self)), *C.ContextOption.__members__]

    # -- attributes as options -----------------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in _CTXOPT_NAMES:
            try:
                return self.get(_CTXOPT_NAMES[name])
            except ZMQError as e:
                if e.errno == C.EINVAL:  # write-only (THREAD_AFFINITY_CPU_ADD...): as pyzmq
                    raise AttributeError(f"{name} attribute is write-only") from None
                raise
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
        """pyzmq gives the address of the C context; purezmq has none: a handle that
        ``Context.shadow`` accepts (the same for every shadow of one context)."""
        return self._underlying

    def __repr__(self) -> str:
        """pyzmq's format: ``<zmq.Context(2 sockets) at 0x7f...>``."""
        n = len(self._sockets)
        sockets = f"{n} socket{'s' if n > 1 else ''}" if n else ""
        closed = " closed" if self.closed else ""
        return f"<{_public_name(self)}({sockets}) at {hex(id(self))}{closed}>"

    def __enter__(self: T) -> T:
        return self

    def __exit__(self, *exc: object) -> None:
        # As pyzmq (24+): leaving the block destroys the context, closing (with a
        # ResourceWarning) sockets still open, rather than term() waiting for them.
        self.__dict__["_warn_destroy_close"] = True
        self.destroy()

    def __copy__(self: T, memo: Any = None) -> T:
        """A copy is a shadow: another object over the same context."""
        return type(self)(shadow=self.underlying)

    __deepcopy__ = __copy__

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
        """The process-wide shared context (created on first use, re-created after
        term or in a forked child). As pyzmq's, a subclass shares its base class's
        instance unless it sets its own ``_instance = None``."""
        inst = cls._instance
        if inst is None or inst.closed or cls._instance_pid != os.getpid():
            with Context._instance_lock:
                inst = cls._instance
                if inst is None or inst.closed or cls._instance_pid != os.getpid():
                    inst = cls._instance = cls(io_threads)
                    cls._instance_pid = os.getpid()
        return cast(T, inst)

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
        self, socket_type: int, socket_class: type[Any] | None = None, **kwargs: Any
    ) -> _SocketType:
        """Create a socket of ``socket_type`` (``zmq.PUB``, ...)."""
        if self._closed:
            # pyzmq raises ENOTSUP here (not ETERM): keep its behaviour.
            raise ZMQError(C.ENOTSUP, "the context is terminated: create a new Context")
        origin = self._shadow_ctx
        if origin is not None and origin._closed:
            # libzmq: the shadowed context is gone, its address invalid.
            raise ZMQError(C.EFAULT, "the context this one shadows is terminated")
        cls = socket_class or self._socket_class or Socket
        s = cast(_SocketType, cls(self, socket_type, **kwargs))
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
        if klass is not None and not C.DRAFT_API and st in C.DRAFT_SOCKET_TYPES:
            raise ZMQError(
                C.EINVAL,
                f"{C.SocketType(st).name} is a draft socket type, and drafts are off "
                "(PUREZMQ_DRAFT=0)",
            )
        if klass is None:
            if st in C.SocketType._value2member_map_:
                raise NotImplementedError(
                    f"socket type {C.SocketType(st).name} is not implemented in purezmq yet "
                    "(PAIR, PUB, SUB, REQ, REP, DEALER, ROUTER, PULL, PUSH, XPUB, XSUB, STREAM, "
                    "CLIENT, SERVER, SCATTER, GATHER, RADIO, DISH, PEER, CHANNEL, DGRAM are)"
                )
            raise ZMQError(C.EINVAL, f"invalid socket type {socket_type!r}")
        with self._lock:
            if self._closed:
                raise make_error(C.ETERM)
            cores = self._cores
            limit = self._opts.get(C.MAX_SOCKETS, 1023)
            if len(cores) >= min(limit, self.__dict__.get("_prune_at", 64)):
                # Forget sockets closed and reaped since: MAX_SOCKETS counts the
                # ones still open or lingering, as libzmq's.
                for c in [c for c in cores if c.reaped.is_set()]:
                    cores.discard(c)
                self.__dict__["_prune_at"] = 2 * len(cores) + 64
            if len(cores) >= limit:
                raise ZMQError(errno.EMFILE, "too many sockets in this context (MAX_SOCKETS)")
            defaults = dict(self.sockopts)
            if self._opts.get(C.IPV6):
                defaults.setdefault(C.IPV6, 1)
            core = klass(SocketOptions(st, defaults), self)
            self._cores.add(core)
        return core

    def _add_socket(self, sock: Socket[Any]) -> None:
        self._sockets.add(sock)

    def _socket_closed(self, sock: Socket[Any]) -> None:
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
        self._term(wait_open=True)

    def _term(self, wait_open: bool) -> None:
        """term(); ``wait_open`` False: do not wait for sockets not closed yet (their
        owners may be coroutines of the calling loop), stop the I/O thread once
        the last of them is closed and has lingered."""
        if self._closed:
            return
        with self._lock:
            self.__dict__["_closed"] = True
            cores = list(self._cores)
        for core in cores:
            core.context_terminated()
        open_cores: builtins.set[SocketBase] = set()
        for core in cores:
            # Each socket is closed by its owner (a thread that got ETERM) or
            # garbage-collected; then it lingers until flushed.
            while not core.reaped.wait(0.1):
                if not core.closed and not self._owned(core):
                    break
                if not core.closed and not wait_open:
                    open_cores.add(core)
                    break
        self._end_term(open_cores)

    def _end_term(self, open_cores: builtins.set[SocketBase] | None = None) -> None:
        """Every socket is reaped, given up on, or (``open_cores``) left to close
        later: stop the I/O thread, now or once the last of those is reaped."""
        open_cores = open_cores or set()
        with self._lock:
            self._cores.clear()
            self.__dict__["_open_cores"] = open_cores
            for core in list(open_cores):
                core.on_reaped = self._late_reaped
            done = [c for c in list(open_cores) if c.reaped.is_set()]
        for core in done:
            self._late_reaped(core)
        if not open_cores and self._io is not None:
            self._io.stop()
        if type(self)._instance is self:
            type(self)._instance = None

    def _late_reaped(self, core: SocketBase) -> None:
        """A socket left open at term() has closed and lingered (any thread)."""
        with self._lock:
            pending = self.__dict__.get("_open_cores", set())
            if core not in pending:
                return
            pending.discard(core)
            last = not pending
        if last and self._io is not None:
            self._io.stop(timeout=0)

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
        warn = self.__dict__.get("_warn_destroy_close", False)
        for s in list(self._sockets):
            if not s.closed:
                if warn:
                    warnings.warn(
                        f"Destroying context with unclosed socket {s}",
                        ResourceWarning,
                        stacklevel=3,
                        source=s,
                    )
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


# pyzmq's alias for the sync Context (``socket()`` gives ``Socket[bytes]``).
SyncContext: TypeAlias = Context[SyncSocket]

__all__ = ["Context", "SyncContext"]
