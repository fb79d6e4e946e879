"""Socket: pyzmq's socket API over a core socket (layer 5, thin).

It turns pyzmq calls into core operations: frames with SNDMORE are gathered
into one multipart message (pipes carry whole messages), received messages
are handed out part by part with RCVMORE, endpoints go to the transports,
and options are read and written through the core's option table.
"""

from __future__ import annotations

import errno
import os
import pickle
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar, cast, overload

from purezmq import constants as C
from purezmq.core.options import OPTIONS
from purezmq.core.socketbase import Signal, SocketBase
from purezmq.core.sockets.dish import check_group
from purezmq.error import Again, ZMQBindError, ZMQError, make_error
from purezmq.sugar.frame import (
    _FINISHED_TRACKER,
    Frame,
    MessageTracker,
    _public_name,
    _tracked,
)
from purezmq.sugar.monitor import Monitor
from purezmq.transport import udp
from purezmq.transport import ws as ws_transport
from purezmq.transport.connecter import Connecter
from purezmq.transport.endpoint import EndpointError, bind_socket, parse_endpoint
from purezmq.transport.inproc import InprocPeer
from purezmq.transport.listener import Listener
from purezmq.utils import jsonapi

if TYPE_CHECKING:
    from purezmq.core.pipe import Msg, Pipe
    from purezmq.sugar.context import Context

# What recv() and friends give: bytes (sync) or a Future (purezmq.asyncio), as
# pyzmq's Socket[SocketReturnType] (so ``zmq.Socket[Any]`` works at runtime).
SocketReturnType = TypeVar("SocketReturnType")
_S = TypeVar("_S", bound="Socket[Any]")

# Plain ints: `flags & Flag.X` goes through enum machinery, ~1 µs a call.
_NOBLOCK = int(C.NOBLOCK)
_SNDMORE = int(C.SNDMORE)
_RADIO = int(C.RADIO)

# Options the socket answers itself rather than the option table.
_DYNAMIC = {
    C.TYPE,
    C.RCVMORE,
    C.EVENTS,
    C.FD,
    C.LAST_ENDPOINT,
    C.MECHANISM,
    C.THREAD_SAFE,
    C.TOPICS_COUNT,
}
# Aliases too (IDENTITY, CONNECT_RID...): pyzmq resolves attribute names by constant name.
_OPTION_NAMES = {k.lower(): int(v) for k, v in C.SocketOption.__members__.items()}


def _as_buffer(data: Any, copy: bool, i: int = 0) -> Any:
    """A frame's data in a form the core can queue: bytes, or a memoryview if not copying."""
    if isinstance(data, Frame):
        return data._data
    if isinstance(data, str):
        raise TypeError("unicode not allowed, use send_string")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(
            f"Frame {i} ({data!r:.32}) does not support the buffer interface."
        ) from None
    if copy or view.readonly is False or not view.c_contiguous:
        # Mutable buffers are snapshotted: the caller may reuse them at once.
        return view.tobytes()
    if view.itemsize != 1 or view.ndim != 1:
        return view.cast("B")  # frames are octets: len() must count bytes, not items
    return view


# Open sockets by ``underlying`` handle (the id of the core socket), for
# ``Socket.shadow(address)``; entries go when the Socket object goes or closes.
_LIVE: weakref.WeakValueDictionary[int, Socket[Any]] = weakref.WeakValueDictionary()


def _as_address(shadow: Any) -> int:
    """An ``underlying`` handle given as an int (or anything ``int()`` takes)."""
    try:
        return int(shadow)
    except (TypeError, ValueError):
        raise TypeError(f"expected a Socket or an int address, not {shadow!r}") from None


def _out_part(
    data: Any, copy: bool, track: bool, threshold: int, i: int = 0
) -> tuple[Any, MessageTracker | None]:
    """A part to send and its tracker, as pyzmq decides them.

    A Frame brings its own tracker (ValueError if ``track`` and it has none);
    a copied send has none; a ``copy=False`` send below ``threshold`` is
    copied and returns ``_FINISHED_TRACKER``; a larger one is tracked if asked.
    """
    if isinstance(data, Frame):
        if track and data.tracker is None:
            raise ValueError("Not a tracked message")
        return data._data, data.tracker
    if copy:
        return (data if type(data) is bytes else _as_buffer(data, True, i)), None
    buf = _as_buffer(data, False, i)
    if threshold and len(buf) < threshold:
        return buf, _FINISHED_TRACKER
    if track:
        return _tracked(buf)
    return buf, None


def _out_parts(
    msg_parts: Sequence[Any], copy: bool, track: bool, threshold: int
) -> tuple[list[Any], MessageTracker | None]:
    """The parts of a multipart send, and the last part's tracker (as pyzmq returns)."""
    if copy and not track:
        parts = list(msg_parts)
        for p in parts:
            if type(p) is not bytes:
                return [
                    p if type(p) is bytes else _as_buffer(p, True, i) for i, p in enumerate(parts)
                ], None
        return parts, None  # all bytes, the usual case: no conversion
    parts = []
    tracker = None
    for i, p in enumerate(msg_parts):
        p, tracker = _out_part(p, copy, track, threshold, i)
        parts.append(p)
    return parts, tracker


class _FDSignal(Signal):
    """The socket's FD: readable whenever EVENTS may have changed (edge-triggered)."""

    __slots__ = ("signaled",)

    def __init__(self) -> None:
        super().__init__()
        self.signaled = False

    def wake(self) -> None:
        if not self.signaled:
            self.signaled = True
            self.set()

    def drain(self) -> None:
        # Read first, then clear: cleared first, a wake() landing in between
        # would be read away while leaving ``signaled`` set, and every later
        # wake() would skip the write -- the FD would never fire again.
        super().drain()
        self.signaled = False


class _EndpointContext(Generic[_S]):
    """What bind/connect return: a context manager that unbinds/disconnects."""

    def __init__(self, sock: _S, kind: str, addr: str) -> None:
        self.socket = sock
        self.kind = kind
        self.addr = addr

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"

    def __enter__(self) -> _S:
        return self.socket

    def __exit__(self, *exc: object) -> None:
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)


def _need_drafts(what: str) -> None:
    """pyzmq's error for a draft method when the draft API is off (PUREZMQ_DRAFT=0)."""
    if not C.DRAFT_API:
        raise RuntimeError(f"libzmq and pyzmq must be built with draft support for {what}")


class Socket(Generic[SocketReturnType]):
    """A ZeroMQ socket, pyzmq-compatible: ``ctx.socket(zmq.PUSH)``."""

    # Slots for what the hot paths read: an attribute kept in the instance
    # __dict__ costs ~4x as much to read once that dict is materialized (any
    # ``self.__dict__`` use does it). ``__dict__`` stays for user attributes.
    __slots__ = (
        "_core",
        "context",
        "copy_threshold",
        "_shared",
        "_shadow",
        "_shadow_obj",
        "_monitor",
        "_monitor_socket",
        "__dict__",
        "__weakref__",
    )
    _core: SocketBase
    context: Context[Any]
    copy_threshold: int
    _monitor_socket: Socket[Any] | None
    _monitor: Monitor | None

    def __init__(
        self,
        ctx_or_socket: Context[Any] | Socket[Any] | None = None,
        socket_type: int = 0,
        *,
        copy_threshold: int | None = None,
        shadow: Socket[Any] | int = 0,
    ) -> None:
        from purezmq.sugar.context import Context

        set_ = object.__setattr__  # not our __setattr__ (options)
        set_(self, "_monitor", None)
        set_(self, "_monitor_socket", None)
        if isinstance(ctx_or_socket, Socket):
            shadow = ctx_or_socket
            ctx_or_socket = None
        if shadow:
            # A second Python object over the same core socket: a Socket, or
            # the ``underlying`` handle of one (purezmq's stand-in for the
            # address of a C socket, valid in this process while it is open).
            other = shadow if isinstance(shadow, Socket) else _LIVE.get(_as_address(shadow))
            if other is None:
                raise ZMQError(C.ENOTSOCK, f"no open purezmq socket at {shadow!r} to shadow")
            set_(self, "context", other.context)
            set_(self, "_core", other._core)
            set_(self, "_shared", other._shared)
            set_(
                self,
                "copy_threshold",
                copy_threshold if copy_threshold is not None else other.copy_threshold,
            )
            set_(self, "_shadow", True)
            set_(self, "_shadow_obj", shadow)
            return
        ctx = ctx_or_socket if ctx_or_socket is not None else Context.instance()
        set_(self, "context", ctx)
        set_(self, "copy_threshold", copy_threshold if copy_threshold is not None else 65536)
        set_(self, "_shadow", False)
        set_(self, "_shadow_obj", None)
        set_(self, "_core", ctx._new_core(socket_type))
        core = self._core
        # Per-socket state shared with shadows: pending send parts, unread parts.
        set_(self, "_shared", {"fd": None, "inproc": {}})
        ctx._add_socket(self)
        _LIVE[id(core)] = self

    @classmethod
    def shadow(cls: type[_S], address: int | Socket[Any]) -> _S:
        """A new Socket object over the same socket as ``address`` (a Socket or its
        ``underlying``), as pyzmq's ``Socket.shadow``."""
        return cls(shadow=address)

    def __dir__(self) -> list[str]:
        """Methods and attributes, and the option names (``s.linger``...), as pyzmq's."""
        return [*dir(type(self)), *C.SocketOption.__members__]

    # -- attributes as options ---------------------------------------------------------
    #
    # ``s.linger`` / ``s.LINGER`` are properties made for every option name
    # (``_add_option_properties`` below), not a ``__getattr__``: a class with
    # ``__getattr__`` makes CPython (3.11+) take its slow, unspecialized path
    # for *every* attribute and method lookup on its instances, ``s.send`` and
    # ``self._core`` included. pyzmq also reads mixed case (``s.Linger``);
    # purezmq sets it (``__setattr__``) but reads only lower and upper case.

    if TYPE_CHECKING:  # for type checkers only: option attributes are Any, as pyzmq's

        def __getattr__(self, name: str) -> Any: ...

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name in self.__dict__:
            object.__setattr__(self, name, value)
            return
        if name.lower() in ("subscribe", "unsubscribe"):
            # pyzmq: ``sub.subscribe = "topic"`` sets the option, despite the method.
            if isinstance(value, str):
                value = value.encode("utf-8")
            self.set(C.SUBSCRIBE if name.lower() == "subscribe" else C.UNSUBSCRIBE, value)
            return
        if hasattr(type(self), name):
            object.__setattr__(self, name, value)
            return
        if any(name in getattr(k, "__annotations__", {}) for k in type(self).__mro__):
            object.__setattr__(self, name, value)
            return
        opt = _OPTION_NAMES.get(name.lower())
        if opt is None:
            # pyzmq: a misspelt option must not be a silently ignored attribute.
            raise AttributeError(f"{type(self).__name__} has no such option: {name.upper()}")
        self.set(opt, value)

    @property
    def closed(self) -> bool:
        return self._core.closed

    @property
    def socket_type(self) -> int:
        return self._core.type

    @property
    def type(self) -> C.SocketType:
        return C.SocketType(self._core.type)

    @property
    def underlying(self) -> int:
        """pyzmq gives the address of the C socket; purezmq has none: a handle that
        ``Socket.shadow`` accepts (the same for every shadow of one socket)."""
        return id(self._core)

    def __repr__(self) -> str:
        """pyzmq's format: ``<zmq.Socket(zmq.PUSH) at 0x7f... closed>``."""
        try:
            tname = C.SocketType(self._core.type).name
        except ValueError:
            tname = str(self._core.type)
        closed = " closed" if self.closed else ""
        return f"<{_public_name(self)}(zmq.{tname}) at {hex(id(self))}{closed}>"

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not getattr(self, "_shadow", True) and not self._core.closed:
                self.close()
        except Exception:
            pass

    def __copy__(self: _S, memo: Any = None) -> _S:
        """A copy is a shadow: another object over the same socket."""
        return type(self)(shadow=self.underlying)

    __deepcopy__ = __copy__

    # -- options ------------------------------------------------------------------------

    def set(self, option: int, optval: Any) -> None:
        """Set a socket option (``zmq_setsockopt``)."""
        opt = int(option)
        core = self._core
        if core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        spec = OPTIONS.get(opt)
        if spec is None:
            # As pyzmq: an unknown option is passed on as an int option (EINVAL),
            # so anything but an int is a TypeError first.
            if isinstance(optval, bool) or not isinstance(optval, int):
                raise TypeError(f"expected int, got: {optval!r}")
        elif spec.kind == "bytes" and isinstance(optval, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        if opt == C.HWM:
            self.set_hwm(optval)
            return
        core.setsockopt(opt, optval)

    setsockopt = set

    def get(self, option: int) -> Any:
        """Get a socket option (``zmq_getsockopt``); bytes options return bytes."""
        opt = int(option)
        core = self._core
        if core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        if opt in _DYNAMIC:
            if opt == C.RCVMORE:
                return int(bool(core.rparts))
            if opt == C.EVENTS:
                fd = self._shared["fd"]
                if fd is not None:
                    fd.drain()
                ev = core.events()
                if core.rparts:
                    ev |= C.POLLIN
                return C.PollEvent(ev)
            if opt == C.TYPE:
                return C.SocketType(core.type)
            if opt == C.FD:
                return self.fileno()
            if opt == C.LAST_ENDPOINT:
                return core.last_endpoint.encode()
            if opt == C.MECHANISM:
                return C.SecurityMechanism(int(core.options.get(opt)))  # type: ignore[call-overload]
            if opt == C.THREAD_SAFE:
                return int(core.thread_safe)
            if opt == C.TOPICS_COUNT:
                core.options.spec(opt)  # EINVAL on the types without subscriptions
                with core.guard():
                    core.process_commands()  # subscriptions the I/O thread passed on
                    return int(core.topics_count())  # type: ignore[attr-defined]
            return 0
        if opt == C.HWM:
            return self.get_hwm()
        return core.options.get(opt)

    getsockopt = get

    def set_string(self, option: int, optval: str, encoding: str = "utf-8") -> None:
        """Set a bytes option from text."""
        if not isinstance(optval, str):
            raise TypeError(f"strings only, not {type(optval)}")
        self.set(option, optval.encode(encoding))

    setsockopt_string = set_string
    setsockopt_unicode = set_string

    def get_string(self, option: int, encoding: str = "utf-8") -> str:
        """Get a bytes option as text."""
        v = self.get(option)
        if not isinstance(v, bytes):
            raise TypeError(f"option {option} is not a string option")
        return v.decode(encoding)

    getsockopt_string = get_string
    getsockopt_unicode = get_string

    def get_hwm(self) -> int:
        return self.get(C.SNDHWM)

    def set_hwm(self, value: int) -> None:
        """Set SNDHWM and RCVHWM together."""
        self._core.setsockopt(C.SNDHWM, value)
        self._core.setsockopt(C.RCVHWM, value)

    hwm = property(get_hwm, set_hwm)

    def fileno(self) -> int:
        """An fd that becomes readable when EVENTS may have changed (edge-triggered)."""
        fd = self._shared["fd"]
        if fd is None:
            fd = self._shared["fd"] = _FDSignal()
            self._core.add_watcher(fd)
            fd.wake()
        return fd.fileno()

    FD = property(fileno)

    def subscribe(self, topic: str | bytes) -> None:
        """Subscribe to a topic prefix (SUB, or XPUB_MANUAL)."""
        if isinstance(topic, str):
            topic = topic.encode()
        self.set(C.SUBSCRIBE, topic)

    def unsubscribe(self, topic: str | bytes) -> None:
        """Cancel a subscription made with ``subscribe``."""
        if isinstance(topic, str):
            topic = topic.encode()
        self.set(C.UNSUBSCRIBE, topic)

    # -- endpoints ------------------------------------------------------------------------

    def _endpoint(self, addr: str | bytes, connect: bool) -> Any:
        if isinstance(addr, bytes):
            addr = addr.decode()
        if not isinstance(addr, str):
            raise TypeError(f"endpoint must be str, not {type(addr).__name__}")
        if self._core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        if self.context.closed:
            raise make_error(C.ETERM)
        try:
            return addr, parse_endpoint(addr, connect=connect)
        except EndpointError as e:
            raise ZMQError(e.errno, str(e)) from None

    def bind(self: _S, addr: str) -> _EndpointContext[_S]:
        """Bind to ``addr`` (``tcp://*:5555``, ``ipc:///path``, ``inproc://name``...)."""
        with self._core.guard():  # thread-safe types: their lock (core/threadsafe.py)
            return self._bind(addr)

    def _bind(self: _S, addr: str) -> _EndpointContext[_S]:
        """Accept connections on ``addr`` (``tcp://*:5555``, ``ipc:///p``, ``inproc://n``)."""
        addr, ep = self._endpoint(addr, connect=False)
        core = self._core
        if ep.transport == "inproc":
            self.context._inproc.bind(ep.address, core)
            self._shared["inproc"].setdefault(addr, []).append(("bind", ep.address))
            core.last_endpoint = addr
            return _EndpointContext(self, "bind", addr)
        if ep.transport == "udp":
            return self._udp(ep, addr, bind=True)
        opts = core.options
        try:
            ws = ws_transport.for_bind(ep, core) if ep.transport in ("ws", "wss") else None
            os_sock, resolved = bind_socket(
                ep,
                ipv6=bool(opts.ipv6),
                backlog=opts.backlog,
                sndbuf=opts.sndbuf,
                rcvbuf=opts.rcvbuf,
                tos=opts.tos,
                bindtodevice=bytes(opts.bindtodevice or b""),
            )
        except EndpointError as e:
            raise ZMQError(e.errno, str(e)) from None
        reactor = self._io_reactor()
        listener = Listener(reactor, core, os_sock, resolved, ws)
        core.endpoints.setdefault(resolved, []).append(listener)
        if addr != resolved:
            core.endpoints.setdefault(addr, []).append(listener)
        core.last_endpoint = resolved
        reactor.call(listener.start)
        return _EndpointContext(self, "bind", resolved)

    def bind_to_random_port(
        self, addr: str, min_port: int = 49152, max_port: int = 65536, max_tries: int = 100
    ) -> int:
        """Bind ``addr`` (e.g. ``tcp://127.0.0.1``) to a free port; return the port."""
        if min_port == 49152 and max_port == 65536:
            # Let the OS pick: no collisions, no retries.
            self.bind(f"{addr}:*")
            # ws:// endpoints end in a path ("ws://host:port/"): the port is before it.
            return int(self._core.last_endpoint.rsplit(":", 1)[-1].split("/", 1)[0])
        import random

        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind(f"{addr}:{port}")
            except ZMQError as e:
                if e.errno not in (C.EADDRINUSE, errno.EACCES):
                    raise
            else:
                return port
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self: _S, addr: str) -> _EndpointContext[_S]:
        """Connect to ``addr``; reconnects automatically, sends queue meanwhile."""
        with self._core.guard():
            return self._connect(addr)

    def _connect(self: _S, addr: str) -> _EndpointContext[_S]:
        """Connect to ``addr``; reconnects automatically, sends queue meanwhile."""
        addr, ep = self._endpoint(addr, connect=True)
        core = self._core
        try:
            ws = ws_transport.for_connect(ep, core) if ep.transport in ("ws", "wss") else None
        except EndpointError as e:
            raise ZMQError(e.errno, str(e)) from None
        rid = bytes(core.options.connect_routing_id or b"")
        if rid:
            core.options.connect_routing_id = b""  # applies to one connect, as libzmq
        if ep.transport == "inproc":
            pipe = self.context._inproc.connect(ep.address, core, rid)
            self._shared["inproc"].setdefault(addr, []).append(("connect", pipe))
            core.last_endpoint = addr
            return _EndpointContext(self, "connect", addr)
        if ep.transport == "udp":
            return self._udp(ep, addr, bind=False)
        reactor = self._io_reactor()
        connecter = Connecter(reactor, core, ep, addr, rid, ws)
        core.endpoints.setdefault(addr, []).append(connecter)
        core.last_endpoint = addr
        reactor.call(connecter.start)
        return _EndpointContext(self, "connect", addr)

    def connect_peer(self, addr: str) -> int:
        """PEER only: connect to ``addr`` and return the routing id of that peer.

        The id is valid at once (messages sent to it queue until the connection
        is up) and stays the same across reconnects, as ``zmq_connect_peer``'s.
        ENOTSUP on other socket types, EFAULT with IMMEDIATE set (there is no
        pipe, hence no id, until a connection is made), as in libzmq.
        """
        core = self._core
        if core.type != C.PEER:
            raise ZMQError(C.ENOTSUP, f"connect_peer() is for PEER sockets, not {core.type_name}")
        with core.guard():
            if core.options.immediate:
                raise ZMQError(C.EFAULT, "connect_peer() cannot work with IMMEDIATE set")
            addr, ep = self._endpoint(addr, connect=True)
            if ep.transport == "udp":
                raise ZMQError(C.ENOCOMPATPROTO, "PEER sockets do not speak udp://")
            core.last_attached_rid = 0  # type: ignore[attr-defined]
            self._connect(addr)
            return int(core.last_attached_rid)  # type: ignore[attr-defined]

    def _io_reactor(self) -> Any:
        """The Context's I/O thread, for a bind/connect; the core socket's send/recv
        then check it for GIL starvation (``SocketBase.relieve_io``)."""
        reactor = self.context._reactor()
        self._core.io_relieve = reactor.relieve
        self._core.io_round = reactor.wake_round()
        return reactor

    def _udp(self: _S, ep: Any, addr: str, bind: bool) -> _EndpointContext[_S]:
        """bind/connect on udp:// (transport/udp.py): one engine, its pipe attached now."""
        core = self._core
        reactor = self._io_reactor()
        try:
            engine, resolved = udp.open_engine(reactor, core, ep, addr, bind)
        except EndpointError as e:
            raise ZMQError(e.errno, str(e)) from None
        core.endpoints.setdefault(resolved, []).append(engine)
        if addr != resolved:
            core.endpoints.setdefault(addr, []).append(engine)
        core.last_endpoint = resolved
        reactor.call(engine.start)
        return _EndpointContext(self, "bind" if bind else "connect", resolved)

    def _drop_endpoint(self, addr: str | bytes, what: str) -> None:
        with self._core.guard():
            self._drop_endpoint_locked(addr, what)

    def _drop_endpoint_locked(self, addr: str | bytes, what: str) -> None:
        if isinstance(addr, bytes):
            addr = addr.decode()
        core = self._core
        if core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        inproc = self._shared["inproc"].pop(addr, None)
        if inproc is not None:
            for kind, item in inproc:
                if kind == "bind":
                    self.context._inproc.unbind(item, core)
                else:
                    pipe: Pipe = item
                    peer = pipe.peer
                    core.process_commands()
                    core.pipe_terminated(pipe)
                    if isinstance(peer, InprocPeer):
                        peer.terminate(0)
            return
        closables = core.endpoints.pop(addr, None)
        if not closables:
            raise ZMQError(errno.ENOENT, f"cannot {what} {addr!r}: not {what.replace('un', '')}ed")
        for other, lst in list(core.endpoints.items()):
            lst[:] = [c for c in lst if c not in closables]
            if not lst:
                del core.endpoints[other]
        if what == "disconnect":
            # As zmq_disconnect: the pipe stops taking messages now (queued ones
            # still get LINGER to leave), not when the I/O thread closes it.
            core.process_commands()
            for c in closables:
                cpipe = getattr(c, "pipe", None)
                if cpipe is not None and cpipe in core.pipes:
                    core.pipe_terminated(cpipe)
        linger = core.options.linger
        reactor = self.context._reactor()
        for c in closables:
            if isinstance(c, Listener):
                # Synchronous, so the port is free when unbind() returns
                # (unbind-then-rebind of the same address is common).
                reactor.call_sync(c.close, linger, timeout=10)
            else:
                reactor.call(c.close, linger)

    def unbind(self, addr: str | bytes) -> None:
        """Stop accepting on ``addr`` and drop the connections accepted there."""
        self._drop_endpoint(addr, "unbind")

    def disconnect(self, addr: str | bytes) -> None:
        """Stop connecting to ``addr`` and drop that connection."""
        self._drop_endpoint(addr, "disconnect")

    # -- closing ------------------------------------------------------------------------

    def close(self, linger: int | None = None) -> None:
        """Close the socket; queued messages get LINGER ms to leave (``term`` waits)."""
        core = self._core
        if core.closed:
            return
        with core.guard():
            self._close(core, linger)

    def _close(self, core: SocketBase, linger: int | None) -> None:
        if core.closed:
            return
        if linger is not None:
            core.options.set(C.LINGER, linger)
        linger = core.options.linger
        _LIVE.pop(id(core), None)
        mon = self._monitor
        if mon is not None:
            core.monitor = None
        pipes = core.begin_close()
        ctx = self.context
        ctx._inproc.forget(core)
        for pipe in pipes:
            if isinstance(pipe.peer, InprocPeer):
                pipe.peer.terminate(linger)
        closables = [c for lst in core.endpoints.values() for c in lst]
        core.endpoints.clear()
        if closables:
            ctx._reactor().call(_close_in_loop, core, list(dict.fromkeys(closables)), linger)
        else:
            core.check_reaped()
        fd = self._shared["fd"]
        if fd is not None:
            core.remove_watcher(fd)
            fd.close()
            self._shared["fd"] = None
        if mon is not None:
            # libzmq ends the event stream with MONITOR_STOPPED when the
            # monitored socket closes: monitor loops wait for it.
            self.monitor(None)
        ctx._socket_closed(self)

    # -- sending ------------------------------------------------------------------------

    def send(
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> MessageTracker | None:
        """Send one frame; with SNDMORE more frames of the same message follow.

        ``routing_id``: the CLIENT a SERVER replies to (a received Frame's
        ``routing_id``; a Frame sent carries its own). ``group``: the RADIO
        group (a Frame sent carries its own; "" when neither names one).
        """
        core = self._core
        if routing_id is not None or group is not None or core.single_part:
            return self._send_single(data, flags, copy, track, routing_id, group)
        tracker = None
        if type(data) is not bytes or not copy or track:
            data, tracker = _out_part(data, copy, track, self.copy_threshold)
        sparts = core.sparts
        if flags:
            flags = int(flags)
            if flags & _SNDMORE:
                if core.closed or core.ctx_terminated:
                    core._check()
                if not sparts and core.route_first:
                    # libzmq fails the routing-id frame itself (ROUTER_MANDATORY, STREAM).
                    core.check_route(data)  # type: ignore[attr-defined]
                sparts.append(data)
                return tracker
        if sparts:
            msg = [*sparts, data]
            # Cleared only once sent: after Again the SNDMORE frames stay
            # pending for the retry, as in libzmq.
            core.send(msg, bool(flags & _NOBLOCK) if flags else False)
            sparts.clear()
        else:
            # A tuple: one allocation from a free list where a list takes two
            # (a message is either, core/pipe.py); 590 Ir less per send.
            one = (data,)
            # core.send's first steps, inline when nothing else is due: one
            # Python call fewer per message. core.send does the rest: flags,
            # commands, a closed socket, or waiting at SNDHWM.
            if flags or core.mailbox or core.off_path or not core.xsend(one):
                core.send(one, bool(flags & _NOBLOCK) if flags else False)
            else:
                core.pingpong = False
                core.replying = True
        return tracker

    def _send_single(
        self,
        data: Any,
        flags: int,
        copy: bool,
        track: bool,
        routing_id: int | None,
        group: str | None,
    ) -> MessageTracker | None:
        """send() for the draft types (single-part, thread-safe) and draft arguments."""
        if routing_id is not None:
            _need_drafts("CLIENT-SERVER")
        if group is not None:
            _need_drafts("RADIO-DISH")
        flags = int(flags)
        msg, tracker = _single_message(
            self._core, data, flags, copy, track, routing_id, group, self.copy_threshold
        )
        self._core.send(msg, bool(flags & _NOBLOCK))
        return tracker

    def join(self, group: str | bytes) -> None:
        """Join a RADIO/DISH group (DISH only; at most 255 octets, utf-8 for str)."""
        _need_drafts("RADIO-DISH")
        join = getattr(self._core, "join", None)
        if join is None:
            raise ZMQError(C.ENOTSUP, f"join() is for DISH sockets, not {self._core.type_name}")
        join(group)

    def leave(self, group: str | bytes) -> None:
        """Leave a RADIO/DISH group joined before (DISH only)."""
        _need_drafts("RADIO-DISH")
        leave = getattr(self._core, "leave", None)
        if leave is None:
            raise ZMQError(C.ENOTSUP, f"leave() is for DISH sockets, not {self._core.type_name}")
        leave(group)

    def send_multipart(
        self,
        msg_parts: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        **kwargs: Any,
    ) -> MessageTracker | None:
        """Send a sequence of frames as one message (returns the last part's tracker)."""
        core = self._core
        if not (flags or track or core.sparts or core.mailbox or core.off_path) and copy:
            # The usual call, in short: bytes parts, nothing pending, core.send's
            # first steps inline (as below). Anything else takes the long way.
            # (off_path covers single_part: only thread-safe types are.)
            # A tuple, as cheap as a list: a message of bytes waiting in a queue
            # is then untracked by the cyclic collector, not promoted (frames.py).
            first = tuple(msg_parts)
            for p in first:
                if type(p) is not bytes:
                    break
            else:
                if first and core.xsend(first):
                    core.pingpong = False
                    core.replying = True
                    return None
            msg_parts = first  # a generator is used up: the long way reads the tuple
        if core.single_part:
            if len(msg_parts) != 1:
                raise ZMQError(C.EINVAL, f"{core.type_name} sockets send single-part messages only")
            return self.send(msg_parts[0], flags, copy, track, **kwargs)
        parts, tracker = _out_parts(msg_parts, copy, track, self.copy_threshold)
        if not parts:
            raise ZMQError(C.EINVAL, "cannot send a message with no frames")
        sparts = core.sparts
        flags = int(flags)
        if flags & _SNDMORE:
            if core.closed or core.ctx_terminated:
                core._check()
            sparts.extend(parts)
            return tracker
        if sparts:
            core.send([*sparts, *parts], bool(flags & _NOBLOCK))
            sparts.clear()  # only once sent (kept for a retry after Again)
        elif flags or core.mailbox or core.off_path or not core.xsend(parts):
            # core.send's first steps are inline above, as in send().
            core.send(parts, bool(flags & _NOBLOCK))
        else:
            core.pingpong = False
            core.replying = True
        return tracker

    def send_string(
        self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8", **kwargs: Any
    ) -> Any:
        """Send a str, encoded (utf-8 by default)."""
        if not isinstance(u, str):
            raise TypeError("str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def send_pyobj(
        self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL, **kwargs: Any
    ) -> Any:
        """Send a pickled Python object."""
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> Any:
        """Send an object as JSON (keyword arguments go to ``json.dumps``)."""
        send_kwargs = {k: kwargs.pop(k) for k in ("routing_id", "group") if k in kwargs}
        return self.send(jsonapi.dumps(obj, **kwargs), flags=flags, **send_kwargs)

    def send_serialized(
        self,
        msg: Any,
        serialize: Callable[[Any], Sequence[Any]],
        flags: int = 0,
        copy: bool = True,
        **kwargs: Any,
    ) -> Any:
        """Send ``serialize(msg)`` (a list of frames) as one message."""
        return self.send_multipart(serialize(msg), flags=flags, copy=copy, **kwargs)

    # -- receiving ------------------------------------------------------------------------

    def _frame(self, data: Any, more: bool) -> Frame:
        core = self._core
        pipe = core.last_pipe
        f = Frame._received(data, more, pipe.metadata if pipe is not None else {})
        if core.thread_safe:
            f.routing_id = core.msg_routing_id(pipe)
        return f

    # Typing as pyzmq's: bytes, or Frames with copy=False.
    @overload
    def recv(self, flags: int = ..., copy: Literal[True] = ..., track: bool = ...) -> bytes: ...

    @overload
    def recv(self, flags: int = ..., *, copy: Literal[False], track: bool = ...) -> Frame: ...

    @overload
    def recv(self, flags: int, copy: Literal[False], track: bool = ...) -> Frame: ...

    @overload
    def recv(self, flags: int = ..., copy: bool = ..., track: bool = ...) -> bytes | Frame: ...

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive one frame: bytes, or a Frame with ``copy=False``."""
        core = self._core
        rparts = core.rparts
        if rparts:
            data = rparts.pop(0)
            if copy:
                return data if type(data) is bytes else bytes(data)
            return self._frame(data, bool(rparts))
        if flags or core.mailbox or core.off_path:
            msg = core.recv(bool(int(flags) & _NOBLOCK) if flags else False)
        else:
            # core.recv's first steps, inline: one Python call fewer per message.
            got = core.xrecv()
            # Nothing waiting: core.recv waits (or raises Again).
            msg = core.recv() if got is None else got
        data = msg[0]
        if len(msg) == 1 and copy:  # the usual case, without _frame_out
            return data if type(data) is bytes else bytes(data)
        return self._frame_out(msg, copy)

    def _frame_out(self, msg: Msg, copy: bool) -> Any:
        """The first frame of a message just received (the rest wait in ``rparts``)."""
        data = msg[0]
        more = len(msg) > 1
        if more:
            rest = msg[1:]
            self._core.rparts = rest if isinstance(rest, list) else list(rest)
        if copy:
            return data if type(data) is bytes else bytes(data)
        frame = self._frame(data, more)
        group = getattr(msg, "group", None)  # DISH (core/sockets/dish.py GroupMsg)
        if group is not None:
            frame.group = group.decode("utf-8", "replace")
        return frame

    @overload
    def recv_multipart(
        self, flags: int = ..., copy: Literal[True] = ..., track: bool = ...
    ) -> list[bytes]: ...

    @overload
    def recv_multipart(
        self, flags: int = ..., *, copy: Literal[False], track: bool = ...
    ) -> list[Frame]: ...

    @overload
    def recv_multipart(
        self, flags: int, copy: Literal[False], track: bool = ...
    ) -> list[Frame]: ...

    @overload
    def recv_multipart(
        self, flags: int = ..., copy: bool = ..., track: bool = ...
    ) -> list[bytes] | list[Frame]: ...

    def recv_multipart(self, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
        """Receive every frame of one message."""
        core = self._core
        if not (flags or core.rparts or core.off_path) and copy:
            # The usual call, in short: core.recv's first steps inline, a list
            # of bytes out as it comes. Anything else takes the long way.
            if core.mailbox:
                core.process_commands()
            if not core.off_path:  # (a command may have closed the socket)
                msg = core.xrecv()
                if msg is not None:
                    if type(msg) is not list:
                        msg = list(msg)  # a tuple from the decoder (core/pipe.py)
                    for p in msg:
                        if type(p) is not bytes:
                            return self._multipart_out(msg, copy)
                    return msg
        parts: Msg
        if core.rparts:
            parts = core.rparts
            core.rparts = []
        else:
            parts = core.recv(bool(int(flags) & _NOBLOCK) if flags else False)
        return self._multipart_out(parts, copy)

    def _multipart_out(self, parts: Msg, copy: bool) -> list[Any]:
        """A whole message as ``recv_multipart`` returns it (a list, converted in place)."""
        if not isinstance(parts, list):
            parts = list(parts)  # a tuple from the decoder (core/pipe.py)
        if copy:
            for p in parts:
                if type(p) is not bytes:  # rare: convert them all
                    parts[:] = [q if type(q) is bytes else bytes(q) for q in parts]
                    break
            return parts
        last = len(parts) - 1
        frames = [self._frame(p, i < last) for i, p in enumerate(parts)]
        group = getattr(parts, "group", None)  # DISH (core/sockets/dish.py GroupMsg)
        if group is not None:
            frames[0].group = group.decode("utf-8", "replace")
        return frames

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        """Receive a frame as str."""
        return self.recv(flags).decode(encoding)

    recv_unicode = recv_string

    def recv_pyobj(self, flags: int = 0) -> Any:
        """Receive a pickled Python object (only from peers you trust)."""
        return pickle.loads(self.recv(flags))

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        """Receive a JSON message."""
        return jsonapi.loads(self.recv(flags), **kwargs)

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> Any:
        """Receive a message and return ``deserialize(frames)``."""
        return deserialize(self.recv_multipart(flags, copy=copy))

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> int:
        """Receive a frame into ``buffer`` (truncating); returns the frame's full size."""
        view = memoryview(buffer)
        if view.readonly:
            raise BufferError("recv_into needs a writable buffer")  # as pyzmq
        if not view.c_contiguous:
            raise BufferError("recv_into needs a contiguous buffer")
        view = view.cast("B")
        if nbytes < 0:
            raise ValueError(f"nbytes must be non-negative: {nbytes}")
        n = nbytes or len(view)
        if n > len(view):
            raise ValueError(f"nbytes={nbytes} is larger than the buffer ({len(view)})")
        data = self.recv(flags, copy=False)._data  # not .buffer: no private copy to view
        size = len(data)
        k = min(n, size)
        view[:k] = memoryview(data).cast("B")[:k]
        return size

    # -- polling ------------------------------------------------------------------------

    def poll(self, timeout: int | None = None, flags: int = C.POLLIN) -> int:
        """Wait up to ``timeout`` ms for ``flags`` events; returns the events seen."""
        if self._core.closed:
            raise ZMQError(C.ENOTSUP, "socket is closed")  # pyzmq's errno here
        p = self._poller()
        p.register(self, flags)
        return dict(p.poll(timeout)).get(self, 0)

    def _poller(self) -> Any:
        """A new Poller for ``poll`` (green.Socket's waits in the gevent hub)."""
        from purezmq.sugar.poll import Poller

        return Poller()

    # -- monitoring ------------------------------------------------------------------------

    def monitor(
        self,
        addr: str | None,
        events: int = C.EVENT_ALL,
        *,
        version: int = 1,
        socket_type: int = C.PAIR,
    ) -> None:
        """Publish socket events on a socket bound at ``addr`` (None stops).

        As ``zmq_socket_monitor``: ``addr`` is an ``inproc://`` endpoint for a
        PAIR to connect to, ``events`` a mask of ``EVENT_*``. A second call
        stops the first monitor (MONITOR_STOPPED ends its stream) and starts a
        new one. purezmq extensions, as libzmq's draft
        ``zmq_socket_monitor_versioned``: ``version=2`` sends v2 messages
        (64-bit event and values, local and remote endpoints), and
        ``socket_type`` may then be PAIR, PUB or PUSH.
        ``purezmq.utils.monitor.parse_monitor_message`` reads both versions.
        """
        core = self._core
        if addr is not None:
            if version not in (1, 2):
                raise ZMQError(C.EINVAL, f"monitor event version {version!r}: 1 or 2")
            if not str(addr).startswith("inproc://"):
                raise ZMQError(
                    C.EPROTONOSUPPORT, f"monitor endpoints must be inproc://, not {addr!r}"
                )
            allowed = (C.PAIR,) if version == 1 else (C.PAIR, C.PUB, C.PUSH)
            if socket_type not in allowed:
                raise ZMQError(
                    C.EINVAL,
                    f"a v{version} monitor socket is one of "
                    + ", ".join(C.SocketType(t).name for t in allowed),
                )
            if core.closed:
                core._check()
        old: Monitor | None = self._monitor
        core.monitor = None
        if old is not None:
            self._monitor = None
            old.stop()  # libzmq sends a last MONITOR_STOPPED before closing the stream
        if addr is None:
            return
        mon = self.context.socket(socket_type, socket_class=Socket)
        try:
            mon.bind(addr)
        except BaseException:
            mon.close(linger=0)
            raise
        if version == 1:
            events &= int(C.EVENT_ALL_V1)
        m = Monitor(mon, int(events), version)
        self._monitor = m
        core.monitor = m.hook

    def monitor_pipes_stats(self) -> None:
        """Send a PIPES_STATS event for each connected peer (libzmq's draft
        ``zmq_socket_monitor_pipes_stats``): values egress, ingress -- the
        messages queued towards the peer and from it. Needs a version 2
        monitor with EVENT_PIPES_STATS (EINVAL otherwise); EAGAIN with no peer."""
        m: Monitor | None = self._monitor
        if m is None or m.version < 2 or not m.events & C.EVENT_PIPES_STATS:
            raise ZMQError(C.EINVAL, "pipes stats need a version 2 monitor with EVENT_PIPES_STATS")
        core = self._core
        core.process_commands()
        pipes = list(core.pipes)
        if not pipes:
            raise Again(C.EAGAIN, "no connected peer to report on")
        for pipe in pipes:
            peer = pipe.peer
            local = getattr(peer, "local_uri", None) or ""
            remote = getattr(peer, "remote_uri", None) or pipe.endpoint
            m.send_values(C.EVENT_PIPES_STATS, [len(pipe.outq), len(pipe.inq)], local, remote)

    def get_monitor_socket(self: _S, events: int | None = None, addr: str | None = None) -> _S:
        """Start monitoring and return a connected PAIR socket receiving the events.

        As pyzmq's: while that PAIR is open, another call returns it again.
        """
        ms = self._monitor_socket
        if ms is not None:
            if not ms.closed:
                return cast(_S, ms)
            self._monitor_socket = None
        if addr is None:
            addr = f"inproc://monitor.s-{id(self)}-{os.getpid()}"
        self.monitor(addr, C.EVENT_ALL if events is None else events)
        s = self.context.socket(C.PAIR)
        s.connect(addr)
        self._monitor_socket = s
        return s

    def disable_monitor(self) -> None:
        """Stop monitoring (the PAIR from get_monitor_socket gets MONITOR_STOPPED)."""
        self._monitor_socket = None
        self.monitor(None)


# pyzmq's alias for the sync Socket.
SyncSocket: TypeAlias = Socket[bytes]

__all__ = ["Socket", "SyncSocket"]


def _option_property(name: str, opt: int) -> property:
    """``s.<name>``: getsockopt/setsockopt of ``opt`` (write-only options: AttributeError)."""

    def fget(self: Socket[Any]) -> Any:
        try:
            return self.get(opt)
        except ZMQError as e:
            if e.errno == C.EINVAL:  # pyzmq: write-only options are not attributes
                raise AttributeError(f"{name} attribute is write-only") from None
            raise

    def fset(self: Socket[Any], value: Any) -> None:
        self.set(opt, value)

    return property(fget, fset, doc=f"The {name.upper()} socket option.")


def _add_option_properties(cls: type) -> None:
    """Give ``cls`` a property per option name, lower and upper case, where it has no
    member of that name already (``subscribe`` stays the method)."""
    for lname, opt in _OPTION_NAMES.items():
        for name in (lname, lname.upper()):
            if not hasattr(cls, name):
                setattr(cls, name, _option_property(name, opt))


_add_option_properties(Socket)


def _single_message(
    core: SocketBase,
    data: Any,
    flags: int,
    copy: bool,
    track: bool,
    routing_id: int | None,
    group: str | None,
    threshold: int,
) -> tuple[list[Any], MessageTracker | None]:
    """The core message for a send with draft arguments or on a single-part type.

    SNDMORE is EINVAL on the single-part types; SERVER's message is ``[rid, body]``
    (``routing_id``, or the routing id of a Frame sent); draft arguments on the
    other types are ENOTSUP. Shared by the sync and asyncio front-ends.
    """
    if core.type == C.RADIO:
        if routing_id is not None:
            raise ZMQError(C.ENOTSUP, "routing_id applies to SERVER sockets, not RADIO")
        if group is None:
            group = getattr(data, "group", None)
        g = check_group(b"" if group is None else group)
        if flags & _SNDMORE or core.sparts:
            raise ZMQError(C.EINVAL, "RADIO sockets send single-part messages only (no SNDMORE)")
        data, tracker = _out_part(data, copy, track, threshold)
        return [g, data], tracker
    if group is not None:
        raise ZMQError(C.ENOTSUP, f"group= is for RADIO sockets, not {core.type_name}")
    if not core.single_part:
        raise ZMQError(
            C.ENOTSUP, f"routing_id applies to SERVER and PEER sockets, not {core.type_name}"
        )
    if flags & _SNDMORE:
        raise ZMQError(
            C.EINVAL, f"{core.type_name} sockets send single-part messages only (no SNDMORE)"
        )
    if routing_id is None and isinstance(data, Frame):
        routing_id = data.routing_id
    tracker = None
    if type(data) is not bytes or not copy or track:
        data, tracker = _out_part(data, copy, track, threshold)
    if core.type == C.SERVER or core.type == C.PEER:
        return [_check_routing_id(routing_id, core.type_name), data], tracker
    return [data], tracker


def _check_routing_id(rid: Any, who: str = "SERVER") -> int:
    """A SERVER's or PEER's destination: a 32-bit int other than 0 (EINVAL, as
    zmq_msg_set_routing_id); none at all is EHOSTUNREACH, as libzmq's."""
    if rid is None:
        raise ZMQError(
            C.EHOSTUNREACH, f"{who} send needs routing_id= (or a received Frame to reply with)"
        )
    try:
        rid = int(rid)
    except (TypeError, ValueError):
        raise TypeError(f"routing_id must be an int, not {rid!r}") from None
    if not 0 < rid <= 0xFFFFFFFF:
        raise ZMQError(C.EINVAL, f"routing_id {rid} is not a 32-bit id other than 0")
    return rid


def _close_in_loop(core: SocketBase, closables: list[Any], linger: int) -> None:
    for c in closables:
        c.close(linger)
    core.check_reaped()
