"""Pipe: one peer's pair of bounded message queues, as seen by its socket.

Rules this module keeps:

- A pipe carries whole messages (a ``list`` of frames), so a multipart
  message is atomic and high-water marks count messages, as in libzmq.
- The owning socket reads ``inq`` and writes ``outq`` while holding
  ``sock.lock``. The other end (a transport engine on the I/O loop, or the
  peer socket's pipe for inproc) fills ``inq`` and drains ``outq``.
- The other end is told about progress on *edges* only: ``kick()`` when
  ``outq`` goes from empty to non-empty, ``read_progress()`` when a read frees
  room the writer may be waiting for. Both are deferred until the socket lock
  is released (``sock.deferred``), because an inproc peer takes its own
  socket's lock and two sockets must never hold each other's locks.

Theory of operation: the socket's pattern (lb, fq, dist, ...) only ever
asks ``pipe.write(msg)`` / ``pipe.read()`` / ``pipe.writable()``; when a pipe
runs dry or full the pattern forgets it (``in_active`` / ``out_active``
false) until the other end re-activates it through ``SocketBase``.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

Msg = list[Any]


class PipePeer(Protocol):
    """What sits at the far end of a pipe: an engine or an inproc peer."""

    def kick(self) -> None:
        """``outq`` went non-empty: schedule a drain (thread-safe, no locks held)."""

    def read_progress(self) -> None:
        """The socket consumed from ``inq`` where the writer may wait for room."""


class Pipe:
    """A socket's end of a bidirectional, HWM-bounded message channel."""

    __slots__ = (
        "sock",
        "inq",
        "outq",
        "peer",
        "out_hwm",
        "in_hwm",
        "in_active",
        "out_active",
        "reading_paused",
        "routing_id",
        "metadata",
        "dead",
        "endpoint",
        "data",
        "inproc_peer",
        "conflate",
        "watch_reads",
    )

    def __init__(
        self,
        sock: SocketBase,
        inq: deque[Msg] | None = None,
        outq: deque[Msg] | None = None,
        out_hwm: int = 1000,
        in_hwm: int = 1000,
        endpoint: str = "",
    ) -> None:
        self.sock = sock
        self.inq: deque[Msg] = deque() if inq is None else inq
        self.outq: deque[Msg] = deque() if outq is None else outq
        self.peer: PipePeer | None = None
        self.out_hwm = out_hwm  # 0 = unbounded
        self.in_hwm = in_hwm
        self.in_active = True  # pattern counts it as readable until found empty
        self.out_active = True  # pattern counts it as writable until found full
        self.reading_paused = False  # engine stopped reading: inq hit in_hwm
        self.routing_id = b""
        self.metadata: dict[str, str] = {}
        self.dead = False  # far end gone; dropped once inq is drained
        self.endpoint = endpoint
        self.data: Any = None  # per-pattern scratch (e.g. subscription state)
        self.inproc_peer: Pipe | None = None
        self.conflate = False  # keep only the newest inbound message
        # Must a read tell the far end? (engine paused at RCVHWM, or inproc
        # writer found the queue full). Readers call after_read() when set.
        self.watch_reads = False

    # -- owner side (sock.lock held) ------------------------------------------------

    def writable(self) -> bool:
        """Room for one more message? Marks the pipe full (inactive) if not."""
        if self.dead:
            return False
        if self.out_hwm and len(self.outq) >= self.out_hwm:
            # Flag first, then look again: whoever drains the queue checks the
            # flag after popping, so one of us always sees the other.
            self.out_active = False
            if len(self.outq) >= self.out_hwm:
                return False
            self.out_active = True
        return True

    def write(self, msg: Msg) -> None:
        """Queue ``msg`` (the caller checked ``writable``) and kick on the edge."""
        q = self.outq
        if self.conflate:
            q.clear()
        q.append(msg)
        if len(q) == 1 and self.peer is not None:
            self.sock.deferred.append(self.peer.kick)

    def read(self) -> Msg | None:
        """Next inbound message, or None (then the pipe is marked inactive)."""
        q = self.inq
        if not q:
            self.in_active = False
            return None
        msg = q.popleft()
        if self.watch_reads:
            self.after_read()
        return msg

    def after_read(self) -> None:
        """Tell the far end about room it may be waiting for (edges only)."""
        peer = self.peer
        if peer is None:
            return
        if self.reading_paused:
            if len(self.inq) <= self.in_hwm // 2:
                self.reading_paused = False
                self.watch_reads = self.inproc_peer is not None
                self.sock.deferred.append(peer.read_progress)
        elif self.inproc_peer is not None and not self.inproc_peer.out_active:
            # inproc: the writer is the peer socket and found its queue full.
            self.sock.deferred.append(peer.read_progress)

    def has_in(self) -> bool:
        """A message is waiting (no side effects)."""
        return bool(self.inq)

    def drop_outbound(self) -> None:
        """Discard queued outbound messages (LINGER 0, pipe torn down)."""
        self.outq.clear()

    def __repr__(self) -> str:
        return f"<Pipe {self.endpoint or '?'} id={self.routing_id!r} in={len(self.inq)} out={len(self.outq)}>"
