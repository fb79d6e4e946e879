"""inproc: sockets of one Context joined by a pair of shared queues.

No codec and no I/O loop: a message sent is appended, by reference, to the
deque the peer socket reads. Bind and connect work in either order: a
connect before the bind gets its pipe at once (so sends queue) and is joined
when the bind arrives, as libzmq 4 does.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.core.pipe import Pipe
from purezmq.transport import session

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase


class InprocPeer:
    """The far end of an inproc pipe, seen from the near end (a PipePeer)."""

    # The peer socket reads the queue itself and never flags it idle.
    reports_drained = False

    __slots__ = ("target", "farewell")

    def __init__(self, target: Pipe, farewell: bytes = b"") -> None:
        self.target = target  # the peer socket's pipe
        # The peer's DISCONNECT_MSG, for it to receive when our socket goes away.
        self.farewell = farewell

    def kick(self) -> None:
        t = self.target
        if not t.in_active and not t.in_posted:
            t.in_posted = True
            t.sock.post_read_activated(t)

    def read_progress(self) -> None:
        self.target.sock.post_write_activated(self.target)

    def terminate(self, linger: int) -> None:
        """Our socket closed: the peer keeps what was sent (and its DISCONNECT_MSG),
        then forgets the pipe."""
        if self.farewell and not self.target.sock.closed:
            self.target.push([[self.farewell]])
        self.target.sock.post_terminated(self.target)

    def relieve(self, stale: float = 0.0) -> bool:
        return False  # no loop drains an inproc pipe: the reader takes from it

    def disconnect(self) -> None:
        """The pattern refused this pipe (PAIR busy...): no DISCONNECT_MSG for that."""
        self.target.sock.post_terminated(self.target)

    # No fd to read: messages arrive by reference (see PipePeer).
    def direct_fd(self) -> int:
        return -1

    def set_waiting(self, waiting: bool) -> None:
        pass

    def read_direct(self) -> None:
        pass

    read_owned = reclaim = read_direct


def _hwm(sndhwm: int, rcvhwm: int) -> int:
    """libzmq sizes an inproc queue as sender's SNDHWM + receiver's RCVHWM (0 = no limit)."""
    return 0 if sndhwm == 0 or rcvhwm == 0 else sndhwm + rcvhwm


def _hello(sock: SocketBase, pipe: Pipe) -> bool:
    """HELLO_MSG: the first message of a new pipe, for the peer to read first."""
    hello = sock.options.hello_msg
    if hello and sock.type in session.HELLO_SENDERS:
        pipe.outq.appendleft([hello])
        return True
    return False


def _meta(sock: SocketBase) -> dict[str, str]:
    return {"Socket-Type": sock.type_name, "Peer-Address": "", "User-Id": ""}


class _Pending:
    """A connect that arrived before its bind: the connecter's half is live already."""

    def __init__(self, sock: SocketBase, pipe: Pipe, routing_id: bytes) -> None:
        self.sock = sock
        self.pipe = pipe
        self.routing_id = routing_id


class InprocRegistry:
    """Per-Context table of bound inproc names."""

    def __init__(self) -> None:
        # Reentrant, as Context._lock: a garbage collection run by an allocation
        # in a locked section can close (Socket.__del__) a socket of this Context
        # in the same thread, and close() calls forget(). So forget() iterates
        # copies made without allocating per item, and connect() allocates first.
        self.lock = threading.RLock()
        self.bound: dict[str, SocketBase] = {}
        self.pending: dict[str, list[_Pending]] = {}

    def bind(self, name: str, sock: SocketBase) -> None:
        with self.lock:
            if name in self.bound:
                from purezmq.error import ZMQError

                raise ZMQError(C.EADDRINUSE, f"inproc://{name} is already bound")
            self.bound[name] = sock
            waiting = self.pending.pop(name, [])
        for p in waiting:
            self._join(p.sock, p.pipe, sock, p.routing_id, f"inproc://{name}", by_binder=True)

    def unbind(self, name: str, sock: SocketBase) -> bool:
        with self.lock:
            if self.bound.get(name) is sock:
                del self.bound[name]
                return True
            return False

    def connect(self, name: str, sock: SocketBase, routing_id: bytes = b"") -> Pipe:
        """Create the connecting socket's pipe; join it to the binder now or later."""
        opts = sock.options
        pipe = Pipe(sock, out_hwm=opts.sndhwm, in_hwm=0, endpoint=f"inproc://{name}")
        pending = _Pending(sock, pipe, routing_id)
        fresh: list[_Pending] = []
        with self.lock:
            binder = self.bound.get(name)
            if binder is None:
                self.pending.setdefault(name, fresh).append(pending)
        _hello(sock, pipe)  # first in its queue, ahead of anything sent before the bind
        if binder is None:
            if sock.recv_routing_id:
                return pipe  # ROUTER addresses a peer only once it is known
            pipe.routing_id = routing_id
            sock.attach_pipe(pipe)
        else:
            self._join(sock, pipe, binder, routing_id, f"inproc://{name}", by_binder=False)
        return pipe

    def forget(self, sock: SocketBase) -> None:
        """Drop a closed socket's bindings and pending connects."""
        with self.lock:
            for name, s in self.bound.copy().items():
                if s is sock:
                    self.bound.pop(name, None)
            for name, lst in self.pending.copy().items():
                lst[:] = [p for p in lst if p.sock is not sock]
                if not lst and self.pending.get(name) is lst:
                    del self.pending[name]

    @staticmethod
    def _join(
        csock: SocketBase,
        cpipe: Pipe,
        bsock: SocketBase,
        routing_id: bytes,
        ep: str,
        by_binder: bool,
    ) -> None:
        """Give the binder its half, sharing the connecter's queues crosswise.

        Runs in the thread of the socket that acts (``by_binder``: bind()
        found a waiting connect); the other socket gets its pipe by mailbox.
        """
        copts, bopts = csock.options, bsock.options
        bpipe = Pipe(bsock, inq=cpipe.outq, outq=cpipe.inq, endpoint=ep)
        cpipe.out_hwm = _hwm(copts.sndhwm, bopts.rcvhwm)
        bpipe.out_hwm = _hwm(bopts.sndhwm, copts.rcvhwm)
        bpipe.in_hwm = cpipe.in_hwm = 0
        cpipe.inproc_peer, bpipe.inproc_peer = bpipe, cpipe
        cpipe.metadata, bpipe.metadata = _meta(bsock), _meta(csock)
        bpipe.routing_id = bytes(copts.routing_id or b"")
        # A conflating reader: the writer's queue keeps only the newest message.
        cpipe.conflate = bool(bopts.conflate)
        bpipe.conflate = bool(copts.conflate)
        attached = cpipe in csock.pipes if by_binder else False
        if not attached:
            cpipe.routing_id = routing_id or bytes(bopts.routing_id or b"")
        hello_back = _hello(bsock, bpipe)
        farewell = b""
        if bsock.type in session.DISCONNECT_RECEIVERS:
            farewell = bytes(bopts.disconnect_msg)
        cpipe.peer = InprocPeer(bpipe, farewell)
        bpipe.peer = InprocPeer(cpipe)
        if hello_back:
            bpipe.peer.kick()  # the connecter may have found its queue empty already
        if by_binder:
            if not bsock.attach_pipe(bpipe):
                csock.post_terminated(cpipe)
                return
            if not attached:
                csock.post_attach(cpipe)
        else:
            bsock.post_attach(bpipe)
            if not csock.attach_pipe(cpipe):
                bsock.post_terminated(bpipe)
