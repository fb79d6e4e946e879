"""Pipe: one peer's pair of bounded message queues, as seen by its socket.

Rules this module keeps:

- A pipe carries whole messages (a sequence of frames), so a multipart
  message is atomic and high-water marks count messages, as in libzmq. A
  message is a ``list``, or a ``tuple`` where that is cheaper (a
  single-frame message the decoder cut out, zmtp/frames.py; a one-frame
  ``Socket.send``): nobody changes a message once it is queued, and
  whoever hands one out as a list converts it.
- Only the socket's own thread touches pattern state; the far end (an engine
  on the I/O loop, or the peer socket for inproc) touches only the queues and
  a few flags, and reports progress by *posting* to the socket's mailbox.
  No lock is taken on the hot path.
- Each queue has one writer and one reader, and a flag the reader clears when
  it finds the queue empty (``in_active``) or the writer clears when it finds
  it full (``out_active``). Whoever clears the flag looks at the queue again
  afterwards; whoever changes the queue looks at the flag afterwards. Python's
  GIL makes these steps sequentially consistent, so at least one side sees
  the other and nothing is stranded (a duplicate activation is harmless).

Theory of operation: patterns (lb, fq, dist...) call ``writable``/``write``
and ``read``; when a pipe runs dry or full the pattern forgets it until an
``activate_read``/``activate_write`` command brings it back.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

Msg = Sequence[Any]  # a list or a tuple of frames (see above)

# A one-digit int (< 2**30): CPython 3.11 specializes comparisons of those only.
_UNBOUNDED = (1 << 30) - 1


def _room_input(slot: str, doc: str) -> Any:
    """A Pipe attribute stored in ``slot`` whose setting recomputes ``Pipe.room``."""

    def get(pipe: Pipe) -> Any:
        return getattr(pipe, slot)

    def set_(pipe: Pipe, value: Any) -> None:
        setattr(pipe, slot, value)
        pipe._set_room()

    return property(get, set_, doc=doc)


class PipePeer(Protocol):
    """What sits at the far end of a pipe: an engine or an inproc peer."""

    def kick(self) -> None:
        """``outq`` went non-empty: schedule a drain (any thread, never blocks)."""

    #: Does it call ``Pipe.drainer_idle`` whenever it stops draining?
    reports_drained: bool

    def read_progress(self) -> None:
        """The socket consumed from ``inq`` where the writer waits for room."""

    def disconnect(self) -> None:
        """Drop the connection (a refused or handed-over peer)."""

    def relieve(self, stale: float = ...) -> bool:
        """``outq`` is full or long: drain it in this thread if the loop that
        should has not for ``stale`` seconds (engines; see StreamEngine.relieve).
        True if room was made."""

    # Reading in the socket's own thread (tcp/ipc engines of a sync Context;
    # others answer -1 / do nothing). See transport/engine.py.

    def direct_fd(self) -> int:
        """An fd a blocking recv may poll and then ``read_direct``, or -1."""

    def set_waiting(self, waiting: bool) -> None:
        """The socket's thread starts/stops polling ``direct_fd``."""

    def read_direct(self) -> None:
        """Read, decode and push what the fd has (socket's thread; non-blocking)."""

    def read_owned(self) -> None:
        """``read_direct`` if the I/O loop left reading to the socket's thread."""

    def reclaim(self) -> None:
        """Let the I/O loop read again now (watchers want to hear of input)."""


class Pipe:
    """A socket's end of a bidirectional, HWM-bounded message channel."""

    __slots__ = (
        "sock",
        "inq",
        "outq",
        "peer",
        "_out_hwm",
        "room",
        "_in_hwm",
        "in_lwm",
        "in_active",
        "in_posted",
        "out_active",
        "out_posted",
        "reading_paused",
        "routing_id",
        "metadata",
        "_dead",
        "refused",
        "endpoint",
        "inproc_peer",
        "_conflate",
        "awaiting_id",
        "rid",
        "wire",
        "drained",
        "queued",
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
        # ``room``: outq may grow below it with no further check (the send hot
        # paths); 0 sends them to ``writable`` (a dead or conflating pipe).
        self._dead = False  # far end gone; dropped once inq is drained
        self._conflate = False  # keep only the newest message
        self._out_hwm = out_hwm  # 0 = unbounded
        self._set_room()
        self.in_hwm = in_hwm  # also sets in_lwm
        self.in_active = True  # reader side: counted readable until found empty
        self.in_posted = False  # an activate_read is in the mailbox
        self.out_active = True  # writer side: counted writable until found full
        self.out_posted = False
        self.reading_paused = False  # engine stopped reading: inq hit in_hwm
        self.routing_id = b""
        self.metadata: dict[str, str] = {}
        self.refused = False  # the pattern would not take it (PAIR busy, duplicate id)
        self.endpoint = endpoint
        self.inproc_peer: Pipe | None = None  # for inproc: the peer socket's pipe
        # A connect-side pipe of a ROUTER before the handshake named the peer.
        self.awaiting_id = False
        # SERVER: the 32-bit routing id it gave this peer (0: none).
        self.rid = 0
        # Its engine takes ZMTP wire bytes as well as messages (a plain ZMTP
        # connection of a PUB/XPUB): fan-out encodes a message once for all.
        self.wire = False
        # Its drainer found outq empty and stopped (``drainer_idle``): the next
        # write must kick. For writers that skip the ``len(q) == 1`` test.
        self.drained = True
        self.queued = False  # in its FairQueue's ``ready`` (core/strategies.py)

    #: Bumped whenever any pipe's ``room`` or ``wire`` changes: fan-out caches
    #: what it derives from them (Distributor.publish) until this moves.
    changes = 0

    def _set_room(self) -> None:
        self.room = 0 if self._dead or self._conflate else self._out_hwm or _UNBOUNDED
        Pipe.changes += 1

    def drainer_idle(self) -> bool:
        """The far end found ``outq`` empty and stops draining (its thread).

        Flags it (``drained``, on the pipe and its socket) and looks again:
        True if a message came meanwhile, to go on. A writer that appends
        without the ``len(q) == 1`` test looks at the flags after appending
        and kicks the flagged pipes (Distributor.publish): one of the two
        always sees the other, as for ``in_active`` and ``out_active``.
        """
        self.drained = True
        self.sock.drained = True
        return bool(self.outq)

    def set_wire(self, wire: bool) -> None:
        """Its engine takes ZMTP wire bytes from now on (or no longer)."""
        self.wire = wire
        Pipe.changes += 1

    # What ``room`` is made of: setting any of these recomputes it.
    out_hwm = _room_input("_out_hwm", "Outbound queue limit in messages (0 = unbounded).")
    dead = _room_input("_dead", "The far end is gone; the pipe is dropped once inq is drained.")
    conflate = _room_input("_conflate", "Keep only the newest message (CONFLATE).")

    @property
    def in_hwm(self) -> int:
        """Inbound queue limit in messages (0 = unbounded): the engine pauses there."""
        return self._in_hwm

    @in_hwm.setter
    def in_hwm(self, value: int) -> None:
        self._in_hwm = value
        self.in_lwm = value >> 1  # a paused engine resumes once inq is down to this

    # -- owner side (the socket's thread) -------------------------------------------------

    def writable(self) -> bool:
        """Room for one more message? Marks the pipe full (inactive) if not."""
        if self._dead:
            return False
        hwm = self._out_hwm
        if hwm and len(self.outq) >= hwm:
            self.out_active = False
            if len(self.outq) >= hwm:
                peer = self.peer
                if peer is None or not peer.relieve() or len(self.outq) >= hwm:
                    return False
            self.out_active = True
        return True

    def write(self, msg: Msg) -> None:
        """Queue ``msg`` (the caller checked ``writable``) and kick on the edge."""
        q = self.outq
        if self._conflate:
            q.clear()
        q.append(msg)
        if len(q) == 1:
            peer = self.peer
            if peer is not None:
                peer.kick()

    def read(self) -> Msg | None:
        """Next inbound message, or None (then the pipe is marked inactive)."""
        q = self.inq
        if q:
            msg = q.popleft()
            if self.reading_paused:
                if len(q) <= self.in_lwm:  # after_read's test: most reads fail it
                    self.after_read()
            elif self.inproc_peer is not None:
                self.after_read()
            return msg
        self.in_active = False
        if q:  # the writer got in between: stay active
            self.in_active = True
            return self.read()
        return None

    def after_read(self) -> None:
        """Tell the far end about room it may be waiting for."""
        peer = self.peer
        if peer is None:
            return
        if self.reading_paused:
            if len(self.inq) <= self.in_lwm:
                self.reading_paused = False
                peer.read_progress()
        else:
            w = self.inproc_peer
            if w is not None and not w.out_active and not w.out_posted:
                w.out_posted = True
                peer.read_progress()

    def check_read(self) -> bool:
        """Is a message waiting? If not, the pipe goes inactive (like ``read``)."""
        if self.inq:
            return True
        self.in_active = False
        if self.inq:
            self.in_active = True
            return True
        return False

    # -- far side (engine / inproc peer, any thread) ----------------------------------------

    def push(self, msgs: Sequence[Msg]) -> bool:
        """Append received messages; True when the reader must pause (RCVHWM)."""
        q = self.inq
        if self._conflate:
            q.clear()
            q.append(msgs[-1])
        else:
            q.extend(msgs)
        if not self.in_active and not self.in_posted:
            self.in_posted = True
            self.sock.post_read_activated(self)
        hwm = self._in_hwm
        if hwm and len(q) >= hwm:
            self.reading_paused = True
            if len(q) > self.in_lwm:
                return True
            self.reading_paused = False  # the reader caught up meanwhile
        return False

    def popped(self) -> None:
        """The drainer took messages from ``outq``: re-activate a full writer."""
        if not self.out_active and not self.out_posted:
            self.out_posted = True
            self.sock.post_write_activated(self)

    def __repr__(self) -> str:
        return f"<Pipe {self.endpoint or '?'} id={self.routing_id!r} in={len(self.inq)} out={len(self.outq)}>"
