"""proxy, proxy_steerable and device: libzmq's built-in proxy, on core sockets.

Rules this module keeps (libzmq's ``zmq_proxy``/``zmq_proxy_steerable`` man
pages are the spec):

- A message is forwarded whole: the core hands over a complete multipart
  message, so a proxy never interleaves parts of two messages.
- A message is taken from one side only when the other side can take it
  (POLLOUT), as libzmq 4.3's proxy does (except when one socket is both
  sides, a single-socket device: a REP can answer only after its recv): back-pressure reaches the sender
  instead of piling up in the proxy. The send itself then waits like a
  blocking ``zmq_send`` (SNDTIMEO honoured) in the rare case it still must.
- The capture socket, if any, gets a copy of every message received on either
  side, before it is forwarded (frames are immutable, so "copy" shares them).
- XSUB/XPUB need nothing special: subscriptions are messages in the pipes
  (``b"\\x01topic"``), so forwarding backend -> frontend forwards them.
- The proxy runs until the context terminates (ContextTerminated, as pyzmq
  raises) or, when steerable, until TERMINATE arrives on the control socket.

Theory of operation: one wake-up object (a ``Watcher``) is registered with
every core socket involved. Each round first clears it, then looks at every
socket; only a round that moved nothing sleeps on it. Anything that changes a
socket after the clear sets it again, so no wake-up is lost and nothing spins.
The wake-up object is pluggable: ``Signal`` (a poll on an eventfd) for threads,
a gevent-aware one in ``purezmq.green``.

Control commands (``zmq_proxy_steerable`` as documented for libzmq 4.3.5):
PAUSE and RESUME stop and restart forwarding, TERMINATE makes the call return
0, STATISTICS replies with eight native-endian uint64 frames (frontend msgs in,
bytes in, msgs out, bytes out, then the same for the backend; every frame of a
multipart message counts). A REP control socket gets an empty reply to every
other command, so its request/reply cycle goes on; other control sockets get
no reply. (libzmq 4.3.5 itself also answers a PAIR control socket and keeps
forwarding while paused; the documented behaviour is the one kept here.)
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from purezmq import constants as C
from purezmq.core.socketbase import Signal, SocketBase
from purezmq.error import Again, ZMQError

if TYPE_CHECKING:
    from purezmq.core.pipe import Msg
    from purezmq.sugar.socket import Socket

__all__ = ["device", "proxy", "proxy_steerable", "ProxyLoop"]

_POLLIN = int(C.POLLIN)
_POLLOUT = int(C.POLLOUT)
_REP = int(C.REP)
# Messages moved in one direction before the other direction gets a turn.
_BATCH = 256


class Waker(Protocol):
    """What the loop sleeps on: a Watcher that can be cleared and waited for."""

    def wake(self) -> None: ...

    def drain(self) -> None: ...

    def wait(self, timeout: float | None) -> None: ...

    def close(self) -> None: ...


def _core_of(sock: Any, what: str) -> SocketBase:
    core = getattr(sock, "_core", None)
    if not isinstance(core, SocketBase):
        raise TypeError(f"{what} must be a purezmq Socket, not {type(sock).__name__}")
    if core.closed:
        raise ZMQError(C.ENOTSOCK, f"the {what} socket is closed")
    return core


def _nbytes(frame: Any) -> int:
    return len(frame) if type(frame) is bytes else memoryview(frame).nbytes


class ProxyLoop:
    """One run of a proxy: frontend <-> backend, with optional capture and control.

    ``waker`` makes the object the loop sleeps on (``Signal`` by default; the
    green front-end passes one that yields to the gevent hub instead).
    """

    def __init__(
        self,
        frontend: Socket,
        backend: Socket | None,
        capture: Socket | None = None,
        control: Socket | None = None,
        *,
        waker: Callable[[], Waker] = Signal,
    ) -> None:
        self.fe = _core_of(frontend, "frontend")
        self.be = self.fe if backend is None else _core_of(backend, "backend")
        self.cap = None if capture is None else _core_of(capture, "capture")
        self.ctl = None if control is None else _core_of(control, "control")
        self.make_waker = waker
        # [msgs received, bytes received, msgs sent, bytes sent] per side.
        self.fe_stats = [0, 0, 0, 0]
        self.be_stats = self.fe_stats if self.be is self.fe else [0, 0, 0, 0]
        self.paused = False

    def run(self) -> int:
        """Forward until TERMINATE (returns 0) or the context ends (raises ContextTerminated)."""
        sig = self.make_waker()
        cores = list(dict.fromkeys(c for c in (self.fe, self.be, self.ctl, self.cap) if c))
        for c in cores:
            c.add_watcher(sig, blocking=True)
        try:
            while True:
                sig.drain()  # clear first: a change after this sets it again
                for c in cores:
                    if c.closed or c.ctx_terminated:
                        c._check()  # raises ContextTerminated / ENOTSOCK
                busy = False
                ctl = self.ctl
                if ctl is not None:
                    while ctl.events() & _POLLIN:
                        busy = True
                        if self._command(ctl.recv(nonblock=True), sig):
                            return 0
                if not self.paused:
                    busy = self._forward(self.fe, self.be, True, sig) or busy
                    if self.be is not self.fe:
                        busy = self._forward(self.be, self.fe, False, sig) or busy
                if not busy:
                    sig.wait(None)
        finally:
            for c in cores:
                c.remove_watcher(sig, blocking=True)
            sig.close()

    def _forward(self, src: SocketBase, dst: SocketBase, from_front: bool, sig: Waker) -> bool:
        """Move up to a batch of whole messages from ``src`` to ``dst``; True if any moved."""
        sstats, dstats = (
            (self.fe_stats, self.be_stats) if from_front else (self.be_stats, self.fe_stats)
        )
        relay = self.relay
        # One socket serving both sides (a single-socket device, REP or ROUTER
        # echoing through itself): it can only answer what it has received, so
        # its POLLOUT says nothing before the recv.
        same = src is dst
        moved = 0
        while moved < _BATCH:
            if not (src.events() & _POLLIN) or not (same or dst.events() & _POLLOUT):
                break
            try:
                msg = src.recv(nonblock=True)
            except Again:
                break
            size = sum(map(_nbytes, msg))
            sstats[0] += len(msg)
            sstats[1] += size
            msg = relay(from_front, msg, sig)
            self.send(dst, msg, sig)
            dstats[2] += len(msg)
            dstats[3] += size
            moved += 1
        return moved > 0

    def relay(self, from_front: bool, msg: Msg, sig: Waker) -> Msg:
        """Hook run on each message before it is forwarded: capture a copy.

        Returns the message to forward (monitored_queue overrides this).
        """
        if self.cap is not None:
            self.send(self.cap, list(msg), sig)
        return msg

    def send(self, core: SocketBase, msg: Msg, sig: Waker) -> None:
        """Send like a blocking zmq_send (SNDTIMEO honoured), sleeping on ``sig``."""
        try:
            core.send(msg, nonblock=True)
            return
        except Again:
            pass
        timeout = core.options.sndtimeo
        deadline = None if timeout < 0 else time.monotonic() + timeout / 1000.0
        while True:
            sig.drain()  # clear, then try: a change after the try wakes us
            try:
                core.send(msg, nonblock=True)
                return
            except Again:
                pass
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Again(C.EAGAIN, "proxy: send timed out (SNDTIMEO)")
            sig.wait(left)

    def _command(self, msg: Msg, sig: Waker) -> bool:
        """Act on one control message; True for TERMINATE."""
        ctl = self.ctl
        assert ctl is not None
        cmd = bytes(msg[0]) if len(msg) == 1 else b""
        if cmd == b"STATISTICS":
            frames = [struct.pack("=Q", v) for v in (*self.fe_stats, *self.be_stats)]
            try:
                self.send(ctl, frames, sig)
            except ZMQError as e:
                if e.errno != C.ENOTSUP:  # a control socket that cannot reply
                    raise
            return False
        if cmd == b"PAUSE":
            self.paused = True
        elif cmd == b"RESUME":
            self.paused = False
        if ctl.type == _REP:
            self.send(ctl, [b""], sig)  # keep the REP's request/reply cycle going
        return cmd == b"TERMINATE"


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """Forward messages between ``frontend`` and ``backend`` until the context ends.

    Like ``zmq_proxy``: whole multipart messages in both directions, a copy of
    each to ``capture`` (PUB, PUSH, DEALER or PAIR) if given. Raises
    ContextTerminated when the context is terminated.
    """
    ProxyLoop(frontend, backend, capture).run()


def proxy_steerable(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None = None,
    control: Socket | None = None,
) -> int:
    """``proxy`` steered by PAUSE/RESUME/TERMINATE/STATISTICS on ``control``.

    Returns 0 after TERMINATE; raises ContextTerminated when the context ends.
    """
    return ProxyLoop(frontend, backend, capture, control).run()


def device(device_type: int, frontend: Socket, backend: Socket | None = None) -> None:
    """The pre-3.2 name of ``proxy``: QUEUE, FORWARDER and STREAMER all forward
    both ways (the socket types decide what flows), as libzmq's ``zmq_device``.
    With no ``backend`` the frontend is used for both sides."""
    if int(device_type) not in (C.QUEUE, C.FORWARDER, C.STREAMER):
        raise ZMQError(C.EINVAL, f"invalid device type {device_type!r}")
    ProxyLoop(frontend, backend).run()
