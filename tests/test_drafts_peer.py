"""PEER (RFC 51) and CHANNEL (RFC 52): purezmq's draft peer-to-peer and exclusive types.

zeromq.js does not expose either, so these run purezmq to purezmq (tcp, ipc,
inproc), checking the RFCs' rules one by one: routing by 32-bit ids that
``connect_peer`` hands out at once and keeps across reconnects, fair-queued
receives, nothing dropped at HWM, CHANNEL's exclusivity, the errors for wrong
use (EINVAL on SNDMORE, EHOSTUNREACH for an unknown routing id, ENOTSUP and
EFAULT from ``connect_peer``), and several threads sending and receiving on
one socket at once, then the asyncio front-end. Every wait is bounded
(RCVTIMEO/SNDTIMEO, join timeouts, pytest-timeout).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import mk

import purezmq as zmq


def _ep(transport: str, tmp_path: Path, name: str = "p") -> str:
    return {
        "tcp": "tcp://127.0.0.1:*",
        "ipc": f"ipc://{tmp_path}/{name}.sock",
        "inproc": f"inproc://{name}-{tmp_path.name}",
    }[transport]


def _wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``cond`` until true or ``timeout`` s (for states with no event to await)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _monitor_until(sock: Any, event: int, act: Any, timeout: int = 10000) -> bool:
    """Did ``sock``'s monitor report ``event`` within ``timeout`` ms of ``act()``?
    (The monitor is attached first: the event may come at once.)"""
    from purezmq.utils.monitor import recv_monitor_message

    mon = sock.get_monitor_socket()
    mon.rcvtimeo = timeout
    try:
        act()
        while True:
            if recv_monitor_message(mon)["event"] == event:
                return True
    except zmq.Again:
        return False
    finally:
        sock.disable_monitor()
        mon.close(linger=0)


# -- PEER: routing ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_connect_peer_routes_both_ways(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    """connect_peer's id addresses the peer at once (the send queues until the
    connection is up); the answer carries the same id."""
    a, b = mk(ctx, zmq.PEER), mk(ctx, zmq.PEER)
    a.bind(_ep(transport, tmp_path))
    rid = b.connect_peer(a.last_endpoint.decode())
    assert isinstance(rid, int) and 0 < rid <= 0xFFFFFFFF
    for i in range(20):
        b.send(b"q%d" % i, routing_id=rid)
        f = a.recv(copy=False)
        assert f.bytes == b"q%d" % i and f.routing_id
        a.send(b"r%d" % i, routing_id=f.routing_id)
        g = b.recv(copy=False)
        assert (g.bytes, g.routing_id) == (b"r%d" % i, rid)
    a.send(f)  # a Frame sent carries its own routing id
    assert b.recv() == b"q19"


def test_peer_mesh(ctx: zmq.Context, tmp_path: Path) -> None:
    """Four PEERs, each bound and each connected to every other: every pair talks
    over two connections, each addressed by its own routing id, all distinct."""
    n = 4
    peers = [mk(ctx, zmq.PEER) for _ in range(n)]
    eps = [_ep("ipc", tmp_path, f"m{i}") for i in range(n)]
    for p, ep in zip(peers, eps, strict=True):
        p.bind(ep)
    rids = {(i, j): peers[i].connect_peer(eps[j]) for i in range(n) for j in range(n) if i != j}
    for i in range(n):
        mine = [rids[i, j] for j in range(n) if j != i]
        assert len(set(mine)) == n - 1
    for (i, j), rid in rids.items():
        peers[i].send(b"%d->%d" % (i, j), routing_id=rid)
    # A peer may hear an ack (from a peer served earlier) before its last request:
    # different connections, no order between them. Sort by content.
    acks: list[dict[int, bytes]] = [{} for _ in range(n)]
    for j in range(n):
        got = set()
        while len(got) < n - 1:
            f = peers[j].recv(copy=False)
            if f.bytes.startswith(b"ack "):
                acks[j][f.routing_id] = f.bytes
                continue
            got.add(f.bytes)
            peers[j].send(b"ack " + f.bytes, routing_id=f.routing_id)  # the accepted side
        assert got == {b"%d->%d" % (i, j) for i in range(n) if i != j}
    for i in range(n):
        while len(acks[i]) < n - 1:
            f = peers[i].recv(copy=False)
            acks[i][f.routing_id] = f.bytes
        assert acks[i] == {rids[i, j]: b"ack %d->%d" % (i, j) for j in range(n) if j != i}


def test_peer_fair_queues(ctx: zmq.Context) -> None:
    """RFC 51: incoming messages are fair-queued over the peers that have some."""
    hub = mk(ctx, zmq.PEER)
    hub.bind("inproc://fq")
    others = [mk(ctx, zmq.PEER) for _ in range(3)]
    for k, o in enumerate(others):
        rid = o.connect_peer("inproc://fq")
        for _ in range(5):
            o.send(b"%d" % k, routing_id=rid)
    first = [hub.recv() for _ in range(3)]
    assert sorted(first) == [b"0", b"1", b"2"]


def test_peer_queues_before_connection_and_drops_nothing(ctx: zmq.Context, tmp_path: Path) -> None:
    """The double queue exists from connect_peer on; at SNDHWM the send waits (EAGAIN
    without waiting), nothing is dropped, and all of it arrives once the peer binds."""
    ep = f"ipc://{tmp_path}/later.sock"
    b = mk(ctx, zmq.PEER, sndhwm=5, timeout=100)
    rid = b.connect_peer(ep)
    for i in range(5):
        b.send(b"m%d" % i, routing_id=rid)
    with pytest.raises(zmq.Again):
        b.send(b"extra", zmq.NOBLOCK, routing_id=rid)
    with pytest.raises(zmq.Again):
        b.send(b"extra", routing_id=rid)  # SNDTIMEO: waited, not dropped
    a = mk(ctx, zmq.PEER)
    a.bind(ep)
    assert [a.recv() for _ in range(5)] == [b"m%d" % i for i in range(5)]
    b.send(b"after", routing_id=rid)
    assert a.recv() == b"after"


def test_peer_routing_id_survives_reconnect(ctx: zmq.Context, tmp_path: Path) -> None:
    """The connecting side keeps its pipe, and so the routing id, across reconnects."""
    ep = f"ipc://{tmp_path}/re.sock"
    a = mk(ctx, zmq.PEER)
    a.bind(ep)
    b = mk(ctx, zmq.PEER, reconnect_ivl=20)
    rid = b.connect_peer(ep)
    b.send(b"one", routing_id=rid)
    assert a.recv() == b"one"
    a.close(linger=0)
    a2 = mk(ctx, zmq.PEER)
    # b's old connection is gone: what it sends now goes to a2
    assert _monitor_until(a2, zmq.EVENT_HANDSHAKE_SUCCEEDED, lambda: a2.bind(ep))
    b.send(b"two", routing_id=rid)
    assert a2.recv() == b"two"


def test_accepted_peer_gone_is_ehostunreach(ctx: zmq.Context) -> None:
    """RFC 51: a peer that disconnects loses its double queue; its id is unknown then."""
    a, b = mk(ctx, zmq.PEER), mk(ctx, zmq.PEER)
    a.bind("tcp://127.0.0.1:*")
    b.send(b"hi", routing_id=b.connect_peer(a.last_endpoint.decode()))
    f = a.recv(copy=False)
    a.send(b"ok", routing_id=f.routing_id)
    assert b.recv() == b"ok"
    b.close(linger=0)

    def gone() -> bool:
        try:
            a.send(b"?", zmq.NOBLOCK, routing_id=f.routing_id)
        except zmq.ZMQError as e:
            return e.errno == zmq.EHOSTUNREACH
        return False

    assert _wait_until(gone)


# -- PEER: wrong use --------------------------------------------------------------------------


def test_peer_send_errors(ctx: zmq.Context) -> None:
    a, b = mk(ctx, zmq.PEER), mk(ctx, zmq.PEER)
    a.bind("inproc://errs")
    rid = b.connect_peer("inproc://errs")
    for bad in (dict(), dict(routing_id=rid ^ 0x5A5A5A5A or 1)):
        with pytest.raises(zmq.ZMQError) as e:
            b.send(b"x", **bad)  # type: ignore[arg-type]
        assert e.value.errno == zmq.EHOSTUNREACH
    with pytest.raises(zmq.ZMQError) as e:
        b.send(b"x", zmq.SNDMORE, routing_id=rid)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        b.send_multipart([b"x", b"y"], routing_id=rid)
    assert e.value.errno == zmq.EINVAL
    for bad_rid in (0, 2**32):
        with pytest.raises(zmq.ZMQError) as e:
            b.send(b"x", routing_id=bad_rid)
        assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        b.send(b"x", routing_id=rid, group="g")
    assert e.value.errno == zmq.ENOTSUP
    b.send(b"fine", routing_id=rid)
    assert a.recv() == b"fine"


def test_connect_peer_errors(ctx: zmq.Context) -> None:
    d = mk(ctx, zmq.DEALER)
    with pytest.raises(zmq.ZMQError) as e:
        d.connect_peer("tcp://127.0.0.1:5555")
    assert e.value.errno == zmq.ENOTSUP
    p = mk(ctx, zmq.PEER, immediate=1)
    with pytest.raises(zmq.ZMQError) as e:
        p.connect_peer("tcp://127.0.0.1:5555")
    assert e.value.errno == zmq.EFAULT
    q = mk(ctx, zmq.PEER)
    with pytest.raises(zmq.ZMQError) as e:
        q.connect_peer("tcp://no-port-here")
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        q.connect_peer("udp://127.0.0.1:5555")
    assert e.value.errno == zmq.ENOCOMPATPROTO
    assert q.get(zmq.THREAD_SAFE) == 1 and q.type == zmq.PEER


@pytest.mark.parametrize(("ours", "theirs"), [("PEER", "DEALER"), ("PEER", "SERVER"),
                                              ("CHANNEL", "PAIR"), ("CHANNEL", "PEER")])  # fmt: skip
def test_wrong_peer_type_refused(ctx: zmq.Context, ours: str, theirs: str) -> None:
    """ZMTP's socket-type check: PEER talks to PEER only, CHANNEL to CHANNEL only."""
    a, b = mk(ctx, getattr(zmq, ours)), mk(ctx, getattr(zmq, theirs))
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    assert _monitor_until(a, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, lambda: b.connect(ep))


@pytest.mark.parametrize("kind", ["PEER", "CHANNEL"])
def test_multipart_arriving_is_dropped(ctx: zmq.Context, kind: str) -> None:
    """RFC 51/52: any part of a multipart message is discarded (fed to the core's pipe,
    since a conforming peer cannot send one)."""
    s = mk(ctx, getattr(zmq, kind))
    from purezmq.core.pipe import Pipe

    pipe = Pipe(s._core)
    s._core.attach_pipe(pipe)
    pipe.push([[b"a", b"b"], [b"single"]])
    assert s.recv() == b"single"


# -- CHANNEL ------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_channel_round_trips(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    a, b = mk(ctx, zmq.CHANNEL), mk(ctx, zmq.CHANNEL)
    a.bind(_ep(transport, tmp_path, "ch"))
    b.connect(a.last_endpoint.decode())
    for i in range(20):
        b.send(b"b%d" % i)
        assert a.recv() == b"b%d" % i
        a.send(b"a%d" % i)
        f = b.recv(copy=False)
        assert f.bytes == b"a%d" % i and f.routing_id is None
    assert a.get(zmq.THREAD_SAFE) == 1


def test_channel_is_exclusive_inproc(ctx: zmq.Context) -> None:
    """RFC 52: at most one peer; a second is refused while the first is attached, and
    a new one is taken once the first has gone."""
    a = mk(ctx, zmq.CHANNEL, timeout=200)
    a.bind("inproc://excl")
    first, intruder = mk(ctx, zmq.CHANNEL), mk(ctx, zmq.CHANNEL, timeout=200)
    first.connect("inproc://excl")
    first.send(b"a")
    intruder.connect("inproc://excl")
    intruder.send(b"x", zmq.NOBLOCK)  # queued in its own pipe, which `a` will refuse
    assert a.recv() == b"a"  # `a` ran its mailbox: first attached, intruder refused
    with pytest.raises(zmq.Again):
        a.recv(zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        intruder.send(b"y", zmq.NOBLOCK)  # its pipe was terminated: no peer, mute
    first.close(linger=0)
    second = mk(ctx, zmq.CHANNEL)

    def taken() -> bool:
        try:
            a.recv(zmq.NOBLOCK)  # runs `a`'s mailbox (first's pipe terminated)
        except zmq.Again:
            pass
        return a._core.peer_pipe is None

    assert _wait_until(taken)
    second.connect("inproc://excl")
    second.send(b"c")
    assert a.recv() == b"c"
    a.send(b"d")
    assert second.recv() == b"d"


def test_channel_is_exclusive_tcp(ctx: zmq.Context) -> None:
    """Over tcp the second connection completes its handshake and is closed by the
    pattern; its messages never arrive, the first peer's do."""
    a = mk(ctx, zmq.CHANNEL)
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    first = mk(ctx, zmq.CHANNEL)
    first.connect(ep)
    first.send(b"a")
    assert a.recv() == b"a"  # first is attached
    intruder = mk(ctx, zmq.CHANNEL, reconnect_ivl=-1)
    mon = intruder.get_monitor_socket()
    intruder.connect(ep)
    intruder.send(b"x")
    from purezmq.utils.monitor import recv_monitor_message

    def refused() -> bool:
        with pytest.raises(zmq.Again):  # a's calls run its mailbox: the refusal
            a.recv(zmq.NOBLOCK)
        try:
            return recv_monitor_message(mon, zmq.NOBLOCK)["event"] == zmq.EVENT_DISCONNECTED
        except zmq.Again:
            return False

    assert _wait_until(refused)
    first.send(b"b")
    assert a.recv() == b"b"
    a.send(b"c")
    assert first.recv() == b"c"


def test_channel_mute_without_peer(ctx: zmq.Context) -> None:
    """No peer (or IMMEDIATE and no connection): the send blocks, nothing is queued."""
    s = mk(ctx, zmq.CHANNEL, timeout=50)
    with pytest.raises(zmq.Again):
        s.send(b"x", zmq.NOBLOCK)
    with pytest.raises(zmq.Again):
        s.send(b"x")  # waited SNDTIMEO
    t = mk(ctx, zmq.CHANNEL, timeout=50, immediate=1)
    t.connect("tcp://127.0.0.1:9")  # discard port: nothing listens (refused)
    with pytest.raises(zmq.Again):
        t.send(b"x")


def test_channel_wrong_use(ctx: zmq.Context) -> None:
    a, b = mk(ctx, zmq.CHANNEL), mk(ctx, zmq.CHANNEL)
    a.bind("inproc://wrong")
    b.connect("inproc://wrong")
    with pytest.raises(zmq.ZMQError) as e:
        b.send(b"x", zmq.SNDMORE)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        b.send_multipart([b"x", b"y"])
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        b.connect_peer("inproc://wrong")
    assert e.value.errno == zmq.ENOTSUP
    b.send(b"ok")
    assert a.recv() == b"ok"


# -- thread safety ----------------------------------------------------------------------------


class _Threads:
    """Runs functions in threads; errors are collected and end the run."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.errors: list[BaseException] = []
        self.threads: list[threading.Thread] = []

    def start(self, fn: Callable[..., None], *args: Any) -> None:
        def run() -> None:
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - reported by finish()
                self.errors.append(e)
                self.done.set()

        t = threading.Thread(target=run)
        self.threads.append(t)
        t.start()

    def finish(self, timeout: float = 45) -> None:
        try:
            self.done.wait(timeout)
        finally:
            self.done.set()
            for t in self.threads:
                t.join(10)
        assert not self.errors, self.errors
        assert not any(t.is_alive() for t in self.threads)


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_concurrent_peers(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    """A hub PEER answered by 3 echo threads; two PEERs that connect_peer to it, each
    used by 2 sender and 2 receiver threads. Every request comes back once, to the
    PEER that sent it, from the routing id connect_peer gave."""
    per_thread = 120
    hub = mk(ctx, zmq.PEER, timeout=100)
    hub.bind(_ep(transport, tmp_path, "hub"))
    ep = hub.last_endpoint.decode()
    peers = [mk(ctx, zmq.PEER, timeout=100) for _ in range(2)]
    rids = [p.connect_peer(ep) for p in peers]
    replies: list[list[tuple[int | None, bytes]]] = [[], []]
    lock = threading.Lock()
    run = _Threads()

    def echo() -> None:
        while not run.done.is_set():
            try:
                f = hub.recv(copy=False)
            except zmq.Again:
                continue
            hub.send(b"re:" + f.bytes, routing_id=f.routing_id)

    def sender(k: int, j: int) -> None:
        for i in range(per_thread):
            while True:
                try:
                    peers[k].send(b"p%d-t%d-%d" % (k, j, i), routing_id=rids[k])
                    break
                except zmq.Again:
                    if run.done.is_set():
                        return

    def receiver(k: int) -> None:
        while not run.done.is_set():
            try:
                f = peers[k].recv(copy=False)
            except zmq.Again:
                continue
            with lock:
                replies[k].append((f.routing_id, f.bytes))
                if sum(map(len, replies)) == 2 * 2 * per_thread:
                    run.done.set()

    for _ in range(3):
        run.start(echo)
    for k in range(2):
        for j in range(2):
            run.start(sender, k, j)
            run.start(receiver, k)
    run.finish()
    for k in range(2):
        expected = {b"re:p%d-t%d-%d" % (k, j, i) for j in range(2) for i in range(per_thread)}
        assert {rid for rid, _ in replies[k]} == {rids[k]}
        assert len(replies[k]) == len(expected)
        assert {body for _, body in replies[k]} == expected


def test_concurrent_channel(ctx: zmq.Context) -> None:
    """Both ends of one CHANNEL pair used by 2 senders and 2 receivers each, at once:
    every message arrives once, and one sender's messages stay in order."""
    per_thread = 200
    a, b = mk(ctx, zmq.CHANNEL, timeout=20000), mk(ctx, zmq.CHANNEL, timeout=20000)
    a.bind("inproc://conc")
    b.connect("inproc://conc")
    got: dict[str, list[bytes]] = {"a": [], "b": []}
    lock = threading.Lock()
    run = _Threads()
    total = 2 * 2 * per_thread  # two senders per side, both sides

    def sender(s: Any, name: str, j: int) -> None:
        for i in range(per_thread):
            s.send(b"%s%d-%d" % (name.encode(), j, i))

    def receiver(s: Any, name: str) -> None:
        while True:
            m = s.recv()
            if m == b"STOP":
                return
            with lock:
                got[name].append(m)
                if len(got["a"]) + len(got["b"]) == total:
                    a.send(b"STOP")
                    a.send(b"STOP")
                    b.send(b"STOP")
                    b.send(b"STOP")

    for s, peer_name, own in ((a, "a", "A"), (b, "b", "B")):
        run.start(receiver, s, peer_name)
        run.start(receiver, s, peer_name)
        run.start(sender, s, own, 0)
        run.start(sender, s, own, 1)
    for t in run.threads:
        t.join(45)
    run.finish(0)
    for name, sent_by in (("a", b"B"), ("b", b"A")):
        msgs = got[name]
        assert len(msgs) == len(set(msgs)) == 2 * per_thread
        for j in range(2):
            mine = [int(m.split(b"-")[1]) for m in msgs if m.startswith(sent_by + b"%d-" % j)]
            assert sorted(mine) == list(range(per_thread))


def test_blocked_peer_recv_does_not_block_send(ctx: zmq.Context) -> None:
    a, b = mk(ctx, zmq.PEER, timeout=10000), ctx.socket(zmq.PEER)
    b.linger = 0
    a.bind("tcp://127.0.0.1:*")
    rid = b.connect_peer(a.last_endpoint.decode())
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(b.recv()))  # no timeout
    t.start()
    try:
        b.send(b"ping", routing_id=rid)  # while t holds recv() on the same socket
        f = a.recv(copy=False)
        a.send(b"pong", routing_id=f.routing_id)
    finally:
        t.join(10)
        if t.is_alive():
            b.close()
            t.join(10)
    assert got == [b"pong"]


# -- asyncio -----------------------------------------------------------------------------------


def test_asyncio_peer_and_channel() -> None:
    """purezmq.asyncio: connect_peer, send(routing_id=), a received Frame's routing id,
    CHANNEL both ways, and the same errors as the sync front-end."""
    import asyncio

    import purezmq.asyncio as zaio

    async def main() -> None:
        actx = zaio.Context()
        a, b = actx.socket(zmq.PEER), actx.socket(zmq.PEER)
        c, d = actx.socket(zmq.CHANNEL), actx.socket(zmq.CHANNEL)
        try:
            a.bind("tcp://127.0.0.1:*")
            rid = b.connect_peer(a.last_endpoint.decode())
            for i in range(10):
                await b.send(b"q%d" % i, routing_id=rid)
                f = await a.recv(copy=False)
                await a.send(b"r" + f.bytes, routing_id=f.routing_id)
                g = await b.recv(copy=False)
                assert (g.bytes, g.routing_id) == (b"rq%d" % i, rid)
            with pytest.raises(zmq.ZMQError) as e:
                await b.send(b"x", zmq.SNDMORE, routing_id=rid)
            assert e.value.errno == zmq.EINVAL
            with pytest.raises(zmq.ZMQError) as e:
                await b.send(b"x", routing_id=rid ^ 1 or 3)
            assert e.value.errno == zmq.EHOSTUNREACH
            c.bind("inproc://aio-ch")
            d.connect("inproc://aio-ch")
            receiving = asyncio.ensure_future(c.recv())
            await d.send(b"ch")
            assert await asyncio.wait_for(receiving, 10) == b"ch"
            await c.send(b"back")
            assert await d.recv() == b"back"
        finally:
            for s in (a, b, c, d):
                s.close(linger=0)
            actx.term()

    asyncio.run(asyncio.wait_for(main(), 30))
