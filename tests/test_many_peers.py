"""Many peers: the bookkeeping that keeps one message O(1) whatever the number of peers.

- lb/fq (core/strategies.py) keep the active pipes at the front of one list
  and each pipe's index in ``where``: random attach/activate/deactivate/remove
  sequences must keep the two consistent, and the round robin fair;
- a socket remembers the few pipes a direct reader was given, so adding a
  watcher (every Poller.poll) reclaims those, not every pipe;
- the send paths' one-bound check (``Pipe.room``) follows SNDHWM, a dead
  far end and CONFLATE as they change;
- ``Reactor.post`` runs everything posted, in order, with one wake-up per batch.

The ends-to-end figures are in ``python -m purezmq bench`` (router-*, push-lb-*,
pull-fq-*, fanout-*); tests/test_bench_demo.py runs those cases in a tiny mode.
"""

from __future__ import annotations

import os
import threading
import time
import types
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import purezmq
from purezmq.core.pipe import Pipe
from purezmq.core.socketbase import DIRECT_MAX, PipeSet
from purezmq.core.strategies import Distributor, FairQueue, LoadBalancer, _ActiveSet
from purezmq.runtime.iothread import IOThread


def _pipe(name: int, hwm: int = 1) -> Pipe:
    p = Pipe(None, out_hwm=hwm, in_hwm=1000, endpoint=str(name))  # type: ignore[arg-type]
    return p


def _consistent(s: _ActiveSet) -> None:
    assert len(s.where) == len(s.pipes)
    for i, p in enumerate(s.pipes):
        assert s.where[p] == i
    assert 0 <= s.active <= len(s.pipes)
    assert s.current < s.active or s.current == 0


_ops = st.lists(
    st.tuples(
        st.sampled_from(["attach", "activate", "remove", "io", "has", "fill"]), st.integers(0, 40)
    ),
    max_size=120,
)


def _fq_consistent(fq: FairQueue, attached: list[Pipe], gone: set[Pipe]) -> None:
    ready = list(fq.ready)
    assert len(set(ready)) == len(ready)  # each pipe at most once
    assert all(p.queued for p in ready)
    assert {p for p in attached if p.queued} == set(ready) - gone
    # An ended pipe stays only to be drained, or dropped when reached (empty).
    assert all(not p.inq or p.dead for p in set(ready) & gone)


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=None)
@given(_ops)
def test_fair_queue_ready_stays_consistent(ops: list[tuple[str, int]]) -> None:
    fq = FairQueue()
    pipes: list[Pipe] = []
    attached: list[Pipe] = []
    gone: set[Pipe] = set()
    for op, k in ops:
        if op == "attach":
            p = _pipe(len(pipes))
            pipes.append(p)
            attached.append(p)
            fq.attach(p)
        elif attached:
            p = attached[k % len(attached)]
            if op == "activate":
                p.in_active = True
                fq.activated(p)
            elif op == "remove":  # its far end went away
                fq.terminated(p)
                attached.remove(p)
                gone.add(p)
            elif op == "fill":
                p.inq.append([b"m"])
                if not p.in_active:
                    p.in_active = True
                    fq.activated(p)
            elif op == "io":
                msg = fq.recv()
                assert msg is None or (msg == [b"m"] and (fq.last in attached or fq.last.dead))
            else:
                fq.has_in()
        _fq_consistent(fq, attached, gone)
        # Every attached pipe with input that is flagged active takes turns.
        for p in attached:
            if p.inq and p.in_active:
                assert p.queued


@pytest.mark.timeout(120)
@settings(max_examples=150, deadline=None)
@given(_ops)
def test_load_balancer_index_stays_consistent(ops: list[tuple[str, int]]) -> None:
    lb = LoadBalancer()
    pipes: list[Pipe] = []
    for op, k in ops:
        if op == "attach":
            p = _pipe(len(pipes))
            pipes.append(p)
            lb.attach(p)
        elif pipes:
            p = pipes[k % len(pipes)]
            if op in ("activate", "fill"):  # the engine drained it
                p.outq.clear()
                p.out_active = True
                lb.activated(p)
            elif op == "remove":
                lb.terminated(p)
            elif op == "io":
                sent = lb.send([b"m"])
                assert sent is None or len(sent.outq) == 1
            else:
                assert lb.has_out() == any(len(q.outq) == 0 for q in lb.pipes[: lb.active])
        _consistent(lb)


@pytest.mark.timeout(60)
def test_fair_queue_round_robin_over_many_pipes() -> None:
    fq = FairQueue()
    pipes = [_pipe(i) for i in range(3000)]
    for p in pipes:
        fq.attach(p)
    for i, p in enumerate(pipes):
        p.inq.extend([[b"%d" % i], [b"%d" % i]])
    seen = []
    while fq.recv() is not None:
        seen.append(fq.last)
    assert len(seen) == 6000
    # One message from each pipe per turn: the first 3000 come from 3000 pipes.
    assert len(set(seen[:3000])) == 3000 and len(set(seen[3000:])) == 3000
    assert not fq.ready and not fq.has_in()


@pytest.mark.timeout(60)
def test_load_balancer_round_robin_skips_full_pipes() -> None:
    lb = LoadBalancer()
    pipes = [_pipe(i, hwm=1) for i in range(2000)]
    for p in pipes:
        lb.attach(p)
    got = [lb.send([b"m"]) for _ in range(2000)]
    assert set(got) == set(pipes)  # each pipe once
    assert lb.send([b"m"]) is None and lb.active == 0 and not lb.has_out()
    pipes[1234].outq.clear()
    pipes[1234].out_active = True
    lb.activated(pipes[1234])
    assert lb.has_out() and lb.send([b"x"]) is pipes[1234]


def test_pipe_set_is_an_ordered_set() -> None:
    s = PipeSet()
    ps = [_pipe(i) for i in range(5)]
    for p in ps:
        s.append(p)
    s.remove(ps[2])
    assert list(s) == [ps[0], ps[1], ps[3], ps[4]] and ps[2] not in s and len(s) == 4


class _FakePeer:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.reclaimed = 0

    def direct_fd(self) -> int:
        return self.fd

    def reclaim(self) -> None:
        self.reclaimed += 1

    def kick(self) -> None:
        pass


class _Blind:
    def wake(self) -> None:
        pass


@pytest.mark.timeout(30)
def test_add_watcher_reclaims_only_what_direct_readers_got(ctx: purezmq.Context) -> None:
    core: Any = ctx.socket(purezmq.DEALER)._core
    few = [_pipe(i) for i in range(3)]
    for i, p in enumerate(few):
        p.peer = _FakePeer(100 + i)  # type: ignore[assignment]
        core.pipes.append(p)
    peers = core._direct_peers()
    assert [fd for fd, _ in peers] == [100, 101, 102]
    # Grows past DIRECT_MAX: no more direct reading, but the three handed out
    # may still be left to this thread, and a watcher must take them back.
    many = [_pipe(i) for i in range(3, 3 + 5 * DIRECT_MAX)]
    for i, p in enumerate(many):
        p.peer = _FakePeer(200 + i)  # type: ignore[assignment]
        core.pipes.append(p)
    assert core._direct_peers() is None
    w = _Blind()
    core.add_watcher(w)
    assert [p.peer.reclaimed for p in few] == [1, 1, 1]  # type: ignore[union-attr]
    assert all(p.peer.reclaimed == 0 for p in many)  # type: ignore[union-attr]
    core.remove_watcher(w)
    core.pipe_terminated(few[0])  # forgotten with its pipe
    core.add_watcher(w)
    assert [p.peer.reclaimed if p.peer else None for p in few] == [None, 2, 2]  # type: ignore[union-attr]
    core.remove_watcher(w)
    core.pipes.clear()


@pytest.mark.timeout(30)
def test_reactor_post_runs_in_order_with_few_wakeups() -> None:
    io = IOThread()
    try:
        hops = 0
        orig = io.loop.call_soon_threadsafe

        def counting(*a: Any) -> Any:
            nonlocal hops
            hops += 1
            return orig(*a)

        io.loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        seen: list[int] = []
        gate = threading.Event()
        io.call(gate.wait, 5)  # the loop is busy: posts pile up behind one callback
        for i in range(1000):
            io.post(lambda i=i: seen.append(i))
        done = threading.Event()
        io.call(done.set)  # runs after everything posted before it
        gate.set()
        assert done.wait(10)
        assert seen == list(range(1000))
        assert hops <= 3, hops  # gate, one for the posts, done
        io.loop.call_soon_threadsafe = orig  # type: ignore[method-assign]
    finally:
        io.stop()


def test_send_paths_follow_room_inputs() -> None:
    """lb and dist test ``len(outq) < room`` alone; setting SNDHWM, dead or
    CONFLATE on a live pipe must change what they do at once."""
    a, b = _pipe(0, hwm=2), _pipe(1, hwm=2)
    lb = LoadBalancer()
    lb.attach(a)
    lb.attach(b)
    sent = [lb.send([bytes([i])]) for i in range(5)]
    assert sent == [a, b, a, b, None]  # both at SNDHWM 2
    a.out_hwm = 3
    a.out_active = True
    lb.activated(a)
    assert lb.send([b"x"]) is a and lb.send([b"y"]) is None
    a.out_hwm = 0  # unbounded
    lb.activated(a)
    assert all(lb.send([b"z"]) is a for _ in range(100))
    a.dead = True
    assert lb.send([b"lost"]) is None and lb.active == 0
    assert list(b.outq) == [[b"\x01"], [b"\x03"]]
    b.outq.clear()
    b.conflate = True  # keeps the newest only
    b.out_active = True
    lb.activated(b)
    assert lb.send([b"old"]) is b and lb.send([b"new"]) is b
    assert list(b.outq) == [[b"new"]]

    c, d, e = _pipe(2, hwm=2), _pipe(3, hwm=2), _pipe(4, hwm=0)
    d.conflate = True
    for i in range(4):
        Distributor.send_to([c, d, e], [bytes([i])])
    assert [m[0][0] for m in c.outq] == [0, 1]  # full: the rest dropped
    assert [m[0][0] for m in d.outq] == [3]
    assert [m[0][0] for m in e.outq] == [0, 1, 2, 3]
    c.outq.clear()
    c.dead = True
    e.dead = True
    Distributor.send_to([c, e], [b"after"])
    assert not c.outq and len(e.outq) == 4
    d.conflate = False
    d.out_hwm = 3
    Distributor.send_to([d], [b"p"])
    Distributor.send_to([d], [b"q"])
    Distributor.send_to([d], [b"r"])
    assert [m[0] for m in d.outq] == [b"\x03", b"p", b"q"]


class _Drainer:
    """A far end that flags the queue it empties, as StreamEngine does."""

    reports_drained = True

    def __init__(self, pipe: Pipe) -> None:
        self.pipe = pipe
        self.kicks = 0

    def kick(self) -> None:
        self.kicks += 1

    def relieve(self, stale: float = 0.0) -> bool:
        return False

    def drain(self) -> None:
        self.pipe.outq.clear()
        assert not self.pipe.drainer_idle()


def test_publish_shortcut_keeps_room_and_kicks_idle_drainers() -> None:
    """Distributor.publish appends to a cached tuple of targets without the
    per-pipe tests of send_to: it must still drop at SNDHWM, follow room
    changes at once, and kick exactly the drainers that went idle."""
    sock = types.SimpleNamespace(drained=False)
    pipes = tuple(Pipe(sock, out_hwm=3, in_hwm=1000) for _ in range(3))
    drainers = [_Drainer(p) for p in pipes]
    for p, dr in zip(pipes, drainers, strict=True):
        p.peer = dr
    dist = Distributor()
    for i in range(5):
        dist.publish(pipes, [bytes([i])])
    assert all([m[0][0] for m in p.outq] == [0, 1, 2] for p in pipes)  # full: dropped
    assert [dr.kicks for dr in drainers] == [1, 1, 1]  # once each, when they were empty
    drainers[1].drain()  # one drainer goes idle; the others' queues stay full
    dist.publish(pipes, [b"x"])
    assert list(pipes[1].outq) == [[b"x"]] and drainers[1].kicks == 2
    assert [len(p.outq) for p in pipes] == [3, 1, 3]
    for dr in drainers:
        dr.drain()
    for _ in range(3):  # room for all: the shortcut
        dist.publish(pipes, [b"y"])
    assert [dr.kicks for dr in drainers] == [2, 3, 2]  # each idle one kicked once
    assert all(len(p.outq) == 3 for p in pipes)
    pipes[0].out_hwm = 0  # unbounded from now on; the others stay full
    dist.publish(pipes, [b"z"])
    assert [len(p.outq) for p in pipes] == [4, 3, 3]
    pipes[2].dead = True
    for dr in drainers[:2]:
        dr.drain()
    dist.publish(pipes, [b"w"])
    assert [len(p.outq) for p in pipes] == [1, 1, 3]


def test_posts_set_the_wake_up_fd_once_per_look() -> None:
    """Activations posted while the waiter has not looked again write its fd once;
    a post after the waiter's look (``signalled`` cleared) writes again."""
    ctx = purezmq.Context()
    try:
        core = ctx.socket(purezmq.PULL)._core
        writes: list[int] = []

        class Sig:
            def set(self) -> None:
                writes.append(1)

        core.signal = Sig()  # type: ignore[assignment]
        core.nwaiters = 1
        for _ in range(5):
            core.post(lambda _arg: None, None)
        assert writes == [1]
        core.process_commands()
        core.signalled = False  # what _wait does before it looks at the mailbox
        core.post(lambda _arg: None, None)
        assert writes == [1, 1]
        core.nwaiters = 0
        core.signal = None
    finally:
        ctx.destroy(linger=0)


def test_blocked_recv_sees_every_burst_from_many_peers() -> None:
    """A thread waiting in recv while 20 peers deliver a burst (20 activations posted
    at once) wakes for it, burst after burst (fails if a wake-up is skipped)."""
    ctx = purezmq.Context()
    try:
        pull = ctx.socket(purezmq.PULL)
        pull.rcvtimeo = 5000
        pull.bind("inproc://bursts")
        pushes = [ctx.socket(purezmq.PUSH) for _ in range(20)]
        for p in pushes:
            p.connect("inproc://bursts")
        rounds = 50
        taken = threading.Semaphore(0)
        failed: list[BaseException] = []

        def send_bursts() -> None:
            try:
                for i in range(rounds):
                    deadline = time.monotonic() + 10
                    while not pull._core.nwaiters:  # the receiver is waiting in recv
                        assert time.monotonic() < deadline
                        time.sleep(0.0005)
                    for p in pushes:
                        p.send(b"%d" % i)
                    if not taken.acquire(timeout=10):
                        return
            except BaseException as e:  # pragma: no cover - reported below
                failed.append(e)

        t = threading.Thread(target=send_bursts)
        t.start()
        try:
            for i in range(rounds):
                assert [pull.recv() for _ in pushes] == [b"%d" % i] * len(pushes)
                taken.release()
        finally:
            taken.release()
            t.join(15)
        assert not failed
    finally:
        ctx.destroy(linger=0)


def test_fair_queue_drops_terminated_empty_pipes_lazily() -> None:
    """A pipe that ends while queued but empty stays in ``ready`` (removing it
    there is O(pipes): a disconnect storm would be quadratic) until recv or
    has_in come to it; it never delivers or comes back."""
    fq = FairQueue()
    pipes = [_pipe(i) for i in range(5000)]
    for p in pipes:
        fq.attach(p)
    pipes[-1].inq.append([b"last"])
    for p in pipes[:-1]:
        fq.terminated(p)
    assert fq.recv() == [b"last"] and fq.last is pipes[-1]
    assert fq.recv() is None and not fq.ready and not any(p.queued for p in pipes)


def test_wake_ups_from_one_loop_round_are_sent_when_it_ends() -> None:
    """Wake-ups the I/O loop's read callbacks cause wait for the end of that select
    round and are then sent, none lost (a PULL fair-queuing 1000 peers was woken
    every other read before: a syscall and a GIL hand-over each)."""
    import socket as stdsocket

    ctx = purezmq.Context()
    a, b = stdsocket.socketpair()
    try:
        sock = ctx.socket(purezmq.PULL)
        sock.bind("tcp://127.0.0.1:*")  # gives the socket its I/O loop's round
        core = sock._core
        assert core.io_round is not None
        writes: list[str] = []

        class Sig:
            def set(self) -> None:
                writes.append("set")

        class Watch:
            def wake(self) -> None:
                writes.append("watcher")

        core.signal = Sig()  # type: ignore[assignment]
        core.nwaiters = 1
        core.watchers = (Watch(),)  # type: ignore[assignment]
        seen: list[list[str]] = []
        done = threading.Event()
        loop = ctx._reactor().loop  # type: ignore[attr-defined]

        def on_read() -> None:
            a.recv(1)
            for _ in range(3):
                core.signalled = False
                core.wake()
            seen.append(list(writes))  # nothing sent yet, inside the round
            loop.remove_reader(a)
            loop.call_soon(done.set)

        loop.call_soon_threadsafe(loop.add_reader, a, on_read)
        b.send(b"x")
        assert done.wait(5)
        assert seen == [[]]
        assert writes.count("set") == 3 and writes.count("watcher") == 3
        core.watchers = ()
        core.nwaiters = 0
        core.signal = None
        core.wake()  # from this thread: at once (nothing to wake now)
    finally:
        a.close()
        b.close()
        ctx.destroy(linger=0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_fork_mid_round_leaves_the_child_nothing_collecting() -> None:
    """A fork that cuts a loop round short (its wake-up list still open) leaves
    the child's copy of the loop deferring nothing: no thread there may add to a
    list that no round will ever send."""
    ctx = purezmq.Context()
    try:
        sock = ctx.socket(purezmq.PULL)
        sock.bind("tcp://127.0.0.1:*")
        loop = sock._core.io_round
        assert loop is not None and loop.ident
        r, w = os.pipe()
        loop.wakes = []  # as the loop thread has it inside a round
        try:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child reports through the pipe
                os.write(w, b"ok" if loop.wakes is None and loop.ident == 0 else b"no")
                os._exit(0)
        finally:
            loop.wakes = None
        os.close(w)
        assert os.read(r, 2) == b"ok"
        os.close(r)
        assert os.waitpid(pid, 0)[1] == 0
    finally:
        ctx.destroy(linger=0)


def _tracked_growth(fill: Any) -> int:
    """How many more objects the cyclic collector tracks once ``fill()`` has run."""
    import gc

    gc.collect()
    before = len(gc.get_objects())
    fill()
    gc.collect()
    return len(gc.get_objects()) - before


def test_queued_messages_are_not_left_to_the_collector() -> None:
    """Messages waiting in pipes (and the read activations posted for them) are
    bytes-only tuples or nothing: untracked at the collector's first pass, so a
    socket with thousands queued -- a ROUTER over thousands of peers, a stream
    backed up -- does not feed the oldest generation, whose full collections
    stall both threads for every connection's objects (~100 ms at 5000 peers)."""
    zmq = pytest.importorskip("zmq")  # libzmq: the peer that sends
    n = 3000
    ctx = purezmq.Context()
    ref = zmq.Context()
    try:
        # tcp: what the decoder cuts out of a read.
        pull = ctx.socket(purezmq.PULL)
        pull.rcvhwm = 0
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push = ref.socket(zmq.PUSH)
        push.linger = 0
        push.connect(f"tcp://127.0.0.1:{port}")
        core = pull._core

        def queued() -> int:
            core.process_commands()
            return sum(len(p.inq) for p in core.pipes)

        def fill_tcp() -> None:
            # One at a time, each read on its own: the requests of many peers.
            deadline = time.monotonic() + 30
            for i in range(n):
                push.send(b"%d" % i)
                while queued() <= i and time.monotonic() < deadline:
                    time.sleep(0.0002)
            assert queued() == n

        assert _tracked_growth(fill_tcp) < n // 10
        assert [pull.recv() for _ in range(n)] == [b"%d" % i for i in range(n)]

        # inproc: send_multipart's message itself waits in the peer's queue.
        a = ctx.socket(purezmq.PUSH)
        b = ctx.socket(purezmq.PULL)
        a.sndhwm = b.rcvhwm = 0
        b.bind("inproc://queued-tuples")
        a.connect("inproc://queued-tuples")

        def fill_inproc() -> None:
            for i in range(n):
                a.send_multipart([b"k", b"%d" % i])

        assert _tracked_growth(fill_inproc) < n // 10
        assert [b.recv_multipart() for _ in range(n)] == [[b"k", b"%d" % i] for i in range(n)]
    finally:
        ctx.destroy(linger=0)
        ref.destroy(linger=0)
