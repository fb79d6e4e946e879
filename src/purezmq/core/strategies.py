"""The three routing strategies every classic socket type is built from.

- ``LoadBalancer`` (lb): send each message to the next writable pipe, round
  robin; pipes found full leave the active set until re-activated.
- ``FairQueue`` (fq): receive from the next readable pipe, round robin, one
  whole message per turn; pipes found empty leave the active set.
- ``Distributor`` (dist): send one message to many pipes (PUB fan-out); a full
  pipe drops the message (or, with ``XPUB_NODROP``, the send waits).

All methods run with the owning socket's lock held, and sending or
receiving one message costs the same with 5 peers or 5000. lb keeps its
writable pipes at the front of ``self.pipes`` (indices ``< self.active``) as
libzmq does, each pipe's position in ``self.where``, so attaching,
activating, deactivating and removing a pipe are O(1) swaps. fq keeps its
readable pipes in turn order in a deque (``FairQueue.ready``). ``has_in``/
``has_out`` deactivate the pipes they find empty/full on the way, as
``recv``/``send`` would, so each pipe is skipped once per activation
(amortized O(1)), never rescanned.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable
from typing import Any

from purezmq.core.pipe import Msg, Pipe
from purezmq.zmtp.frames import wire_bytes

# A publisher looks at its queues every FAN_CHECK messages (publish); one
# FAN_QUEUE long (or half full) whose drain has waited FAN_STALE (s) it writes
# itself: the loop thread is starved of the GIL (see Distributor._relieve).
FAN_CHECK = 256
FAN_QUEUE = 4096
FAN_STALE = 0.002


class _ActiveSet:
    """Pipes with an active prefix; shared bookkeeping of lb and fq."""

    __slots__ = ("pipes", "active", "current", "where")

    def __init__(self) -> None:
        self.pipes: list[Pipe] = []
        self.active = 0
        self.current = 0
        self.where: dict[Pipe, int] = {}  # pipe -> its index in ``pipes``

    def _swap(self, i: int, j: int) -> None:
        if i != j:
            p = self.pipes
            a, b = p[j], p[i]
            p[i], p[j] = a, b
            w = self.where
            w[a], w[b] = i, j

    def attach(self, pipe: Pipe) -> None:
        self.where[pipe] = len(self.pipes)
        self.pipes.append(pipe)
        self._swap(self.active, len(self.pipes) - 1)
        self.active += 1

    # activated and _deactivate_current run once per message where each peer
    # sends one at a time (a ROUTER's requests): _swap is inline in both.

    def activated(self, pipe: Pipe) -> None:
        w = self.where
        i = w.get(pipe)
        j = self.active
        if i is not None and i >= j:
            if i != j:
                p = self.pipes
                other = p[j]
                p[i] = other
                p[j] = pipe
                w[other] = i
                w[pipe] = j
            self.active = j + 1

    def _deactivate_current(self) -> None:
        j = self.active - 1
        self.active = j
        i = self.current
        if i != j:
            p = self.pipes
            a, b = p[j], p[i]
            p[i] = a
            p[j] = b
            w = self.where
            w[a] = i
            w[b] = j
        if i >= j:
            self.current = 0

    def remove(self, pipe: Pipe) -> None:
        i = self.where.get(pipe)
        if i is None:
            return
        if i < self.active:
            self.active -= 1
            self._swap(i, self.active)
            i = self.active
            if self.current >= self.active:
                self.current = 0
        self._swap(i, len(self.pipes) - 1)
        self.pipes.pop()
        del self.where[pipe]


class LoadBalancer(_ActiveSet):
    """Round-robin sender over writable pipes."""

    __slots__ = ()

    def send(self, msg: Msg) -> Pipe | None:
        """Write ``msg`` to the next writable pipe; None if every pipe is full.

        The send hot path: ``Pipe.writable`` and ``Pipe.write`` inline (the
        flag protocol of pipe.py, step for step).
        """
        while self.active:
            cur = self.current
            pipe = self.pipes[cur]
            q = pipe.outq
            if len(q) < pipe.room:  # alive, not conflating, below SNDHWM
                q.append(msg)
                if len(q) == 1:
                    peer = pipe.peer
                    if peer is not None:
                        peer.kick()
            elif pipe.writable():  # room made at SNDHWM, or conflating
                pipe.write(msg)
            else:
                self._deactivate_current()
                continue
            cur += 1
            self.current = 0 if cur >= self.active else cur
            return pipe
        return None

    def has_out(self) -> bool:
        """Can a message go out now? Full pipes are deactivated, as send would."""
        while self.active:
            if self.pipes[self.current].writable():
                return True
            self._deactivate_current()
        return False

    def terminated(self, pipe: Pipe) -> None:
        self.remove(pipe)


class FairQueue:
    """Round-robin receiver over readable pipes; keeps dead pipes until drained.

    The pipes that may have input wait their turn in ``ready`` (a deque, each
    pipe at most once: ``Pipe.queued``). ``recv`` reads one message from the
    first and rotates it to the back; a pipe found empty leaves until
    ``activated`` appends it again. Each step is O(1) whatever the number of
    pipes, and cheaper than lb's active prefix: a ROUTER whose peers send one
    request at a time activates and drops a pipe per message, and a swap there
    costs two dict writes. ``recv`` is the receive hot path, so it reads the
    pipe's queue inline; ``last`` is the pipe the latest message came from
    (for Frame properties).
    """

    __slots__ = ("ready", "last")

    def __init__(self) -> None:
        self.ready: deque[Pipe] = deque()
        self.last: Pipe | None = None

    def attach(self, pipe: Pipe) -> None:
        self.activated(pipe)

    def activated(self, pipe: Pipe) -> None:
        """``pipe`` may have input (attached, or re-activated by its writer)."""
        if not pipe.queued:
            pipe.queued = True
            self.ready.append(pipe)

    def recv(self) -> Msg | None:
        """Next message (its pipe in ``self.last``), or None when none waits."""
        ready = self.ready
        while ready:
            pipe = ready[0]
            q = pipe.inq
            if q:
                msg = q.popleft()
                # pipe.after_read's tests, inline. A reader that falls behind
                # (the usual bulk case) reads most messages with the engine
                # paused, so that test is inline too.
                if pipe.reading_paused:
                    if len(q) <= pipe.in_lwm:
                        pipe.after_read()
                else:
                    w = pipe.inproc_peer
                    if w is not None and not w.out_active and not w.out_posted:
                        pipe.after_read()
                ready.rotate(-1)
                self.last = pipe
                return msg
            pipe.in_active = False
            if q:  # the writer got in between (see pipe.py)
                pipe.in_active = True
                continue
            ready.popleft()  # a dead one is dropped for good: nobody activates it
            pipe.queued = False
        return None

    def has_in(self) -> bool:
        """Is a message waiting? Empty pipes leave ``ready``, as recv would."""
        ready = self.ready
        while ready:
            pipe = ready[0]
            if pipe.inq:
                return True
            pipe.in_active = False
            if pipe.inq:  # the writer got in between (see pipe.py)
                pipe.in_active = True
                return True
            ready.popleft()
            pipe.queued = False
        return False

    def terminated(self, pipe: Pipe) -> None:
        """The far end went away: keep the pipe until its messages are read."""
        if pipe.inq:
            pipe.dead = True
            self.activated(pipe)
        # An empty one may stay in ``ready``: recv/has_in drop it when they
        # come to it and nobody activates it again (the socket's pipes lost it).
        # Removing it here would cost O(pipes) each: a storm of disconnects
        # would be quadratic.


class Distributor:
    """Send one message to a set of pipes (PUB/XPUB/XSUB fan-out).

    ``pipes`` is a dict used as an ordered set: O(1) attach and removal.
    """

    __slots__ = (
        "pipes",
        "_fan_key",
        "_fan_changes",
        "_fan_queues",
        "_fan_room",
        "_fan_left",
        "_fan_busy",
        "_fan_wire",
        "_fan_sock",
    )

    def __init__(self) -> None:
        self.pipes: dict[Pipe, None] = {}
        # publish's cache, for one tuple of targets (_fan_key) as of
        # Pipe.changes then: their queues (None: no shortcut for them), their
        # least room, how many more messages surely fit in every queue, whether
        # they take wire bytes, and their socket.
        self._fan_key: Any = None
        self._fan_changes = -1
        self._fan_queues: list[deque[Msg]] | None = None
        self._fan_room = 0
        self._fan_left = 0
        self._fan_busy = FAN_QUEUE
        self._fan_wire = False
        self._fan_sock: Any = None

    def attach(self, pipe: Pipe) -> None:
        self.pipes[pipe] = None

    def terminated(self, pipe: Pipe) -> None:
        self.pipes.pop(pipe, None)
        self._fan_key = None

    def publish(self, pipes: Collection[Pipe], msg: Msg) -> None:
        """``send_to``, shortened for the usual publisher: the same tuple of
        targets message after message (every subscriber on one prefix, trie.py).

        For that tuple it keeps the targets' queues and appends the message to
        each, testing neither room nor the kick edge per pipe: room is counted
        down from what every queue surely has left (``_fan_left``), and the
        drainers flag a queue they found empty (Pipe.drainer_idle), which is
        looked at once per message. ``send_to`` runs ~30 bytecodes per pipe
        (callgrind: a PUB to 10 pipes spent 317 of its 462 per message there).
        """
        if pipes is not self._fan_key or self._fan_changes != Pipe.changes:
            if type(pipes) is not tuple:
                self.send_to(pipes, msg)
                return
            self._fan_cache(pipes)
        qs = self._fan_queues
        if qs is None:
            self.send_to(pipes, msg)
            return
        left = self._fan_left
        if left <= 0:
            longest = max(map(len, qs))
            if longest >= self._fan_busy and self._fan_room:  # (0: dead, or CONFLATE)
                longest = self._relieve(pipes, qs, self._fan_busy)
            left = min(self._fan_room - longest, FAN_CHECK)
            if left <= 0:  # one is at SNDHWM: drop for it, as send_to does
                self._fan_left = 0
                self.send_to(pipes, msg)
                return
        self._fan_left = left - 1
        item = (wire_bytes(msg) or msg) if self._fan_wire else msg
        for q in qs:
            q.append(item)
        sock = self._fan_sock
        if sock.drained:  # after the appends: see Pipe.drainer_idle
            sock.drained = False
            for pipe in pipes:
                if pipe.drained:
                    pipe.drained = False
                    peer = pipe.peer
                    if peer is not None:
                        peer.kick()

    @staticmethod
    def _relieve(pipes: tuple[Pipe, ...], qs: list[deque[Msg]], busy: int) -> int:
        """Write the long queues whose drain is stale in this thread; the
        longest queue left.

        A publishing thread holds the GIL but for CPython's forced switches
        (every 5 ms), and the loop thread pays one such wait per syscall: its
        drains fall ever further behind while the subscribers sit idle, and
        the stream reaches them only once the publisher stops (PUB to 10
        subscriber processes: a third of the machine idle). So the publisher
        writes the backlog itself, a batch per connection (StreamEngine.relieve).
        """
        for pipe in pipes:
            if len(pipe.outq) >= busy and pipe.peer is not None:
                pipe.peer.relieve(FAN_STALE)
        return max(map(len, qs))

    def _fan_cache(self, pipes: tuple[Pipe, ...]) -> None:
        """What ``publish`` needs to know of ``pipes`` (one tuple of targets)."""
        self._fan_key = pipes
        self._fan_changes = Pipe.changes
        self._fan_queues = None
        wires = {p.wire for p in pipes}
        if not pipes or len(wires) != 1:
            return  # none, or some take wire bytes and some do not
        if not all(getattr(p.peer, "reports_drained", False) for p in pipes):
            return  # a drainer that does not flag an empty queue (inproc)
        self._fan_queues = [p.outq for p in pipes]
        self._fan_room = min(p.room for p in pipes)  # 0 for a dead or conflating one
        self._fan_left = 0
        self._fan_busy = max(1, min(FAN_QUEUE, self._fan_room >> 1))
        self._fan_wire = wires.pop()
        sock = self._fan_sock = pipes[0].sock
        for p in pipes:  # who was idle before this cache is not known: kick all once
            p.drained = True
        sock.drained = True

    @staticmethod
    def send_to(pipes: Iterable[Pipe], msg: Msg) -> None:
        """Write to each pipe with room; drop for full ones (PUB semantics).

        The fan-out hot path, once per subscriber: ``Pipe.writable`` and
        ``Pipe.write`` inline as in ``LoadBalancer.send``. Pipes whose engine
        takes wire bytes (``Pipe.wire``) get the message ZMTP-encoded, once
        for all of them, rather than each connection encoding it again.
        """
        wire: Any = None
        for pipe in pipes:
            q = pipe.outq
            if len(q) >= pipe.room:  # at SNDHWM, dead or conflating (as LoadBalancer.send)
                if not pipe.writable():
                    continue
                if pipe.conflate:
                    q.clear()
            if not pipe.wire:
                q.append(msg)
            elif wire is not None:  # the usual case first: encoded for an earlier pipe
                q.append(wire)
            else:
                wire = wire_bytes(msg) or msg
                q.append(wire)
            if len(q) == 1:
                peer = pipe.peer
                if peer is not None:
                    peer.kick()

    def send_to_all(self, msg: Msg) -> None:
        self.send_to(self.pipes, msg)

    @staticmethod
    def all_writable(pipes: Iterable[Pipe]) -> bool:
        return all(p.writable() for p in pipes)
