"""Device, ThreadDevice, ProcessDevice: run a device in the background.

As pyzmq's: a device is given socket *types*, not sockets, and records the
bind/connect/setsockopt calls made on it; the sockets are created and
configured in the thread (or process) that runs the device, because a socket
belongs to the thread that uses it. The device runs until its context is
terminated, then closes its sockets.
"""

from __future__ import annotations

import random
import socket as _stdsocket
import threading
import time
from collections.abc import Callable
from multiprocessing import Process
from typing import Any

from purezmq import constants as C
from purezmq.error import ContextTerminated, ZMQBindError, ZMQError
from purezmq.sugar.context import Context
from purezmq.sugar.proxy import device
from purezmq.sugar.socket import Socket

__all__ = ["Device", "ThreadDevice", "ProcessDevice", "BackgroundDevice"]


def free_tcp_port(
    addr: str,
    min_port: int = 49152,
    max_port: int = 65536,
    max_tries: int = 100,
    taken: set[int] | frozenset[int] = frozenset(),
) -> int:
    """A port on ``addr`` (``tcp://host``) that is free now, for a bind made later.

    As ``Socket.bind_to_random_port``: with the default range the OS picks the
    port; otherwise up to ``max_tries`` random ports in ``[min_port, max_port)``
    are tried. Ports in ``taken`` (already promised to another bind of the same
    device) are never returned. Raises ZMQBindError when no port was found.
    """
    if not addr.startswith("tcp://"):
        raise ZMQError(C.EINVAL, f"bind_*_to_random_port needs a tcp:// address, not {addr!r}")
    host = addr[len("tcp://") :].strip("[]")
    if host in ("*", ""):
        host = ""
    family = _stdsocket.AF_INET6 if ":" in host else _stdsocket.AF_INET
    default_range = min_port == 49152 and max_port == 65536
    for _ in range(5 if default_range else max_tries):
        port = 0 if default_range else random.randrange(min_port, max_port)
        if port in taken:
            continue
        with _stdsocket.socket(family, _stdsocket.SOCK_STREAM) as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            port = int(s.getsockname()[1])
        if port not in taken:
            return port
    raise ZMQBindError(
        f"Could not bind socket to random port: no free port on {addr} "
        f"in [{min_port}, {max_port}) after {5 if default_range else max_tries} tries."
    )


class _SocketPlan:
    """What to do to one socket once it exists: options, then binds, then connects."""

    def __init__(self, socket_type: int) -> None:
        self.socket_type = socket_type
        self.sockopts: list[tuple[int, Any]] = []
        self.binds: list[str] = []
        self.connects: list[str] = []

    def make(self, ctx: Context) -> Socket:
        s = ctx.socket(self.socket_type)
        for opt, value in self.sockopts:
            s.setsockopt(opt, value)
        for addr in self.binds:
            s.bind(addr)
        for addr in self.connects:
            s.connect(addr)
        return s


class Device:
    """A device to run in the background, configured before ``start()``.

    ``Device(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)``; an ``out_type`` below 0
    uses the in socket for both sides. The base class runs the device in the
    calling thread; ThreadDevice and ProcessDevice run it in the background.
    """

    #: Makes the Context the sockets are created in (per class or per instance).
    context_factory: Callable[[], Context] = Context.instance
    daemon: bool = True

    def __init__(
        self,
        device_type: int = C.QUEUE,
        in_type: int | None = None,
        out_type: int | None = None,
    ) -> None:
        if in_type is None or out_type is None:
            raise TypeError("a Device needs in_type and out_type (socket types)")
        self.device_type = device_type
        self.in_type = in_type
        self.out_type = out_type
        # With out_type < 0 the out plan is applied to the in socket too: one
        # socket serves as both sides (a single-socket forwarder).
        self._plans: dict[str, _SocketPlan] = {
            "in": _SocketPlan(in_type),
            "out": _SocketPlan(out_type),
        }
        # Ports promised by bind_*_to_random_port, per interface: never twice.
        self._random_addrs: list[str] = []
        self.daemon = True
        self.done = False
        self._sockets: list[Socket] = []
        self._context: Context | None = None

    # -- recorded configuration ---------------------------------------------------------

    def _plan(self, which: str) -> _SocketPlan:
        plan = self._plans.get(which)
        if plan is None:
            raise ValueError(f"this device has no {which} socket")
        return plan

    def bind_in(self, addr: str) -> None:
        """Enqueue a bind of the in socket (done in the device's thread)."""
        self._plan("in").binds.append(addr)

    def bind_out(self, addr: str) -> None:
        """Enqueue a bind of the out socket."""
        self._plan("out").binds.append(addr)

    def connect_in(self, addr: str) -> None:
        """Enqueue a connect of the in socket."""
        self._plan("in").connects.append(addr)

    def connect_out(self, addr: str) -> None:
        """Enqueue a connect of the out socket."""
        self._plan("out").connects.append(addr)

    def setsockopt_in(self, opt: int, value: Any) -> None:
        """Enqueue ``setsockopt(opt, value)`` on the in socket."""
        self._plan("in").sockopts.append((opt, value))

    def setsockopt_out(self, opt: int, value: Any) -> None:
        """Enqueue ``setsockopt(opt, value)`` on the out socket."""
        self._plan("out").sockopts.append((opt, value))

    def _bind_random(self, which: str, addr: str, *args: Any, **kwargs: Any) -> int:
        plan = self._plan(which)
        prefix = f"{addr}:"
        taken = {int(a[len(prefix) :]) for a in self._random_addrs if a.startswith(prefix)}
        kwargs["taken"] = taken
        port = free_tcp_port(addr, *args, **kwargs)
        self._random_addrs.append(f"{addr}:{port}")
        plan.binds.append(f"{addr}:{port}")
        return port

    def bind_in_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Pick a free port on ``addr`` now, enqueue the bind; returns the port."""
        return self._bind_random("in", addr, *args, **kwargs)

    def bind_out_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Pick a free port on ``addr`` now, enqueue the bind of the out socket."""
        return self._bind_random("out", addr, *args, **kwargs)

    # -- running ---------------------------------------------------------------------------

    def _setup_sockets(self) -> tuple[Socket, Socket]:
        """Create the sockets (in the running thread) and apply the recorded calls."""
        self._context = self.context_factory()
        if self.out_type < 0:
            # One socket for both sides: options, then every bind, then every connect.
            inp, outp = self._plans["in"], self._plans["out"]
            both = _SocketPlan(self.in_type)
            both.sockopts = inp.sockopts + outp.sockopts
            both.binds = inp.binds + outp.binds
            both.connects = inp.connects + outp.connects
            ins = both.make(self._context)
            self._sockets.append(ins)
            return ins, ins
        ins = self._setup_socket("in")
        outs = self._setup_socket("out")
        return ins, outs

    def _setup_socket(self, which: str) -> Socket:
        """Create the ``which`` socket in the device's context (closed when it ends)."""
        assert self._context is not None
        s = self._plans[which].make(self._context)
        self._sockets.append(s)
        return s

    def run_device(self) -> None:
        """The device's work (override in subclasses): ``device()`` on the two sockets."""
        ins, outs = self._setup_sockets()
        device(self.device_type, ins, outs)

    def run(self) -> None:
        """Run until the context is terminated, then close the sockets."""
        try:
            self.run_device()
        except ContextTerminated:
            pass
        finally:
            for s in self._sockets:
                s.close()
            self._sockets.clear()
            self.done = True

    def start(self) -> None:
        """Run the device in this thread (subclasses launch it in the background)."""
        self.run()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the device has finished (or ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                return
            time.sleep(0.01)


class BackgroundDevice(Device):
    """A Device whose ``start()`` launches ``run()`` in a thread or process."""

    _launcher: Any = None

    def _make_launcher(self) -> Any:
        raise NotImplementedError

    def start(self) -> None:
        self._launcher = self._make_launcher()
        self._launcher.daemon = self.daemon
        self._launcher.start()

    def join(self, timeout: float | None = None) -> None:
        if self._launcher is not None:
            self._launcher.join(timeout)


class ThreadDevice(BackgroundDevice):
    """A Device running in a background thread (sockets of ``Context.instance()``)."""

    def _make_launcher(self) -> threading.Thread:
        return threading.Thread(target=self.run, name=f"purezmq-{type(self).__name__}")


class ProcessDevice(BackgroundDevice):
    """A Device running in a child process (multiprocessing), with a new Context there."""

    context_factory: Callable[[], Context] = Context

    def _make_launcher(self) -> Process:
        return Process(target=self.run, name=f"purezmq-{type(self).__name__}")

    def run(self) -> None:
        try:
            super().run()
        finally:
            if self._context is not None:
                self._context.term()

    def __getstate__(self) -> dict[str, Any]:
        # The launcher (a Process) stays in the parent when spawning.
        state = dict(self.__dict__)
        state.pop("_launcher", None)
        return state
