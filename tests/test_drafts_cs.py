"""CLIENT/SERVER (RFC 41) and SCATTER/GATHER (RFC 49): purezmq's draft socket types.

The reference peer is libzmq 4.3.5 built with drafts, as npm's ``zeromq`` 6
bundles it: the ``zeromq_dir`` fixture installs it (once per checkout) into
``.cache/npm`` and ``tests/drafts_cs_peer.js`` drives it, one role per node
process, in both directions (we bind / they bind) over tcp and ipc. Without
node, npm or the registry those tests skip and say why.

Then purezmq to purezmq (tcp, ipc, inproc), wrong use (SNDMORE, unknown
routing ids, wrong peer types) and thread safety: several threads sending and
receiving on one socket at once. Every wait is bounded (RCVTIMEO/SNDTIMEO,
join timeouts, pytest-timeout); no test asserts on durations.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import helpers
import pytest
from helpers import mk

import purezmq as zmq

PEER_JS = Path(__file__).resolve().parent / "drafts_cs_peer.js"
N = 50  # messages per interop test (the issue asks for at least 50)


# -- the node reference peer (the zeromq_dir fixture is in conftest.py) -------------------


class NodePeer(helpers.NodePeer):
    """One run of drafts_cs_peer.js; killed in ``close`` whatever happened."""

    def __init__(self, zeromq_dir: Path, role: str, mode: str, endpoint: str, count: int) -> None:
        super().__init__(zeromq_dir, PEER_JS, role, mode, endpoint, str(count))


def _endpoint(transport: str, tmp_path: Path) -> str:
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return f"ipc://{tmp_path}/cs.sock"


def _peer_bind_endpoint(transport: str, tmp_path: Path) -> str:
    # libzmq accepts tcp://127.0.0.1:* too, and reports the port it got.
    return "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/node.sock"


TRANSPORTS = ["tcp", "ipc"]
DIRECTIONS = ["we_bind", "they_bind"]


def _run_with_peer(
    zeromq_dir: Path,
    ours: Any,
    role: str,
    transport: str,
    direction: str,
    tmp_path: Path,
    count: int = N,
) -> NodePeer:
    if direction == "we_bind":
        ours.bind(_endpoint(transport, tmp_path))
        return NodePeer(zeromq_dir, role, "connect", ours.last_endpoint.decode(), count)
    peer = NodePeer(zeromq_dir, role, "bind", _peer_bind_endpoint(transport, tmp_path), count)
    ours.connect(peer.endpoint)
    return peer


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_server_with_libzmq_client(
    ctx: zmq.Context, zeromq_dir: Path, transport: str, direction: str, tmp_path: Path
) -> None:
    """purezmq SERVER answers libzmq's CLIENT by routing id, 50 round trips."""
    server = mk(ctx, zmq.SERVER, timeout=20000)
    peer = _run_with_peer(zeromq_dir, server, "client", transport, direction, tmp_path)
    try:
        ids = set()
        for i in range(N):
            f = server.recv(copy=False)
            assert f.bytes == b"m%d" % i
            assert isinstance(f.routing_id, int) and 0 < f.routing_id < 2**32
            ids.add(f.routing_id)
            server.send(b"echo:" + f.bytes, routing_id=f.routing_id)
        assert len(ids) == 1  # one peer, one id
        peer.result()
    finally:
        peer.close()


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_client_with_libzmq_server(
    ctx: zmq.Context, zeromq_dir: Path, transport: str, direction: str, tmp_path: Path
) -> None:
    """purezmq CLIENT asks libzmq's SERVER, which replies to its routing id, 50 times."""
    client = mk(ctx, zmq.CLIENT, timeout=20000)
    peer = _run_with_peer(zeromq_dir, client, "server", transport, direction, tmp_path)
    try:
        for i in range(N):
            client.send(b"q%d" % i)
            assert client.recv() == b"echo:q%d" % i
        ids = json.loads(peer.result())
        assert len(ids) == 1 and 0 < ids[0] < 2**32
    finally:
        peer.close()


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_gather_from_libzmq_scatter(
    ctx: zmq.Context, zeromq_dir: Path, transport: str, direction: str, tmp_path: Path
) -> None:
    """libzmq's SCATTER sends 50 messages; purezmq's GATHER gets them all, in order."""
    gather = mk(ctx, zmq.GATHER, timeout=20000)
    peer = _run_with_peer(zeromq_dir, gather, "scatter", transport, direction, tmp_path)
    try:
        got = [gather.recv() for _ in range(N)]
        assert got == [b"s%d" % i for i in range(N)]
        peer.result()
    finally:
        peer.close()


@pytest.mark.parametrize("direction", DIRECTIONS)
@pytest.mark.parametrize("transport", TRANSPORTS)
def test_scatter_to_libzmq_gather(
    ctx: zmq.Context, zeromq_dir: Path, transport: str, direction: str, tmp_path: Path
) -> None:
    """purezmq's SCATTER sends 50 messages; libzmq's GATHER gets them all, in order."""
    scatter = mk(ctx, zmq.SCATTER, timeout=20000)
    scatter.linger = 5000
    peer = _run_with_peer(zeromq_dir, scatter, "gather", transport, direction, tmp_path)
    try:
        for i in range(N):
            scatter.send(b"g%d" % i)
        assert json.loads(peer.result()) == [f"g{i}" for i in range(N)]
    finally:
        peer.close()


# -- purezmq to purezmq -------------------------------------------------------------------


def _bind_connect(binder: Any, connecters: list[Any], transport: str, tmp_path: Path) -> None:
    ep = {
        "tcp": "tcp://127.0.0.1:*",
        "ipc": f"ipc://{tmp_path}/p.sock",
        "inproc": f"inproc://cs-{id(binder)}",
    }[transport]
    binder.bind(ep)
    for c in connecters:
        c.connect(binder.last_endpoint.decode())


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_server_routes_replies_to_each_client(
    ctx: zmq.Context, transport: str, tmp_path: Path
) -> None:
    server = mk(ctx, zmq.SERVER)
    clients = [mk(ctx, zmq.CLIENT) for _ in range(3)]
    _bind_connect(server, clients, transport, tmp_path)
    for _round in range(20):
        for k, c in enumerate(clients):
            c.send(b"c%d" % k)
        seen = {}
        for _ in clients:
            f = server.recv(copy=False)
            seen[f.bytes] = f.routing_id
            assert f.get("Socket-Type") == "CLIENT"
        assert len(set(seen.values())) == 3  # three peers, three ids
        for body, rid in seen.items():
            server.send(b"to " + body, routing_id=rid)
        for k, c in enumerate(clients):
            assert c.recv() == b"to c%d" % k
    # A received Frame sent back goes to its sender (pyzmq's test_client_server_frame).
    clients[1].send(b"frame")
    server.send(server.recv(copy=False))
    assert clients[1].recv() == b"frame"
    # Frames a CLIENT receives carry no routing id.
    clients[0].send(b"x")
    f = server.recv(copy=False)
    server.send(b"y", routing_id=f.routing_id)
    assert clients[0].recv(copy=False).routing_id is None


def test_client_load_balances_over_servers(ctx: zmq.Context) -> None:
    servers = [mk(ctx, zmq.SERVER) for _ in range(2)]
    client = mk(ctx, zmq.CLIENT)
    for i, s in enumerate(servers):
        s.bind(f"inproc://lb-{i}")
        client.connect(f"inproc://lb-{i}")
    for i in range(10):
        client.send(b"%d" % i)
    got = [[servers[j].recv() for _ in range(5)] for j in range(2)]
    assert sorted(got[0] + got[1]) == sorted(b"%d" % i for i in range(10))
    assert got[0] and got[1]


@pytest.mark.parametrize("transport", ["tcp", "ipc", "inproc"])
def test_scatter_gather_round_robin(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    scatter = mk(ctx, zmq.SCATTER)
    gathers = [mk(ctx, zmq.GATHER) for _ in range(2)]
    _bind_connect(scatter, gathers, transport, tmp_path)
    # Wait until both are attached: one message each, then round robin.
    received: list[list[bytes]] = [[], []]
    poller = zmq.Poller()
    for g in gathers:
        poller.register(g, zmq.POLLIN)
    for i in range(40):
        scatter.send(b"%d" % i)
    total = 0
    for _ in range(200):
        if total == 40:
            break
        for sock, _ev in poller.poll(2000):
            received[gathers.index(sock)].append(sock.recv())
            total += 1
    assert sorted(received[0] + received[1], key=int) == [b"%d" % i for i in range(40)]
    for part in received:  # each GATHER sees its share in order
        assert part == sorted(part, key=int)


def test_options_and_types(ctx: zmq.Context) -> None:
    for kind in (zmq.CLIENT, zmq.SERVER, zmq.SCATTER, zmq.GATHER):
        s = ctx.socket(kind)
        assert s.get(zmq.THREAD_SAFE) == 1
        assert s.type == kind
        s.close()
    s = ctx.socket(zmq.DEALER)
    assert s.get(zmq.THREAD_SAFE) == 0
    s.close()


# -- wrong use ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["CLIENT", "SERVER", "SCATTER"])
def test_sndmore_is_einval(ctx: zmq.Context, kind: str) -> None:
    s = mk(ctx, getattr(zmq, kind))
    with pytest.raises(zmq.ZMQError) as e:
        s.send(b"a", zmq.SNDMORE)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        s.send_multipart([b"a", b"b"])
    assert e.value.errno == zmq.EINVAL


def test_server_unknown_routing_id(ctx: zmq.Context) -> None:
    server, client = mk(ctx, zmq.SERVER), mk(ctx, zmq.CLIENT)
    server.bind("inproc://unknown")
    client.connect("inproc://unknown")
    client.send(b"hello")
    rid = server.recv(copy=False).routing_id
    other = rid + 1 if rid < 2**32 - 1 else 1
    with pytest.raises(zmq.ZMQError) as e:
        server.send(b"x", routing_id=other)
    assert e.value.errno == zmq.EHOSTUNREACH
    with pytest.raises(zmq.ZMQError) as e:
        server.send(b"x")  # no routing id at all
    assert e.value.errno == zmq.EHOSTUNREACH
    for bad in (0, 2**32):
        with pytest.raises(zmq.ZMQError) as e:
            server.send(b"x", routing_id=bad)
        assert e.value.errno == zmq.EINVAL
    # The peer goes away: its id becomes unknown.
    client.close()
    for _ in range(100):
        try:
            server.send(b"x", routing_id=rid)
        except zmq.ZMQError as err:
            assert err.errno == zmq.EHOSTUNREACH
            break
        server.poll(20)  # lets the close reach the SERVER (bounded loop)
    else:
        pytest.fail("the closed client's routing id stayed routable")


def test_wrong_directions(ctx: zmq.Context) -> None:
    scatter, gather = mk(ctx, zmq.SCATTER), mk(ctx, zmq.GATHER)
    with pytest.raises(zmq.ZMQError) as e:
        scatter.recv(zmq.NOBLOCK)
    assert e.value.errno == zmq.ENOTSUP
    with pytest.raises(zmq.ZMQError) as e:
        gather.send(b"x")
    assert e.value.errno == zmq.ENOTSUP
    push = mk(ctx, zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        push.send(b"x", routing_id=5)
    assert e.value.errno == zmq.ENOTSUP


def _handshake_failed(sock: Any, act: Any) -> bool:
    """Did ``sock``'s monitor report a refused handshake within 10 s of ``act()``?
    (The monitor is attached first: a refused endpoint is not tried again.)"""
    from purezmq.utils.monitor import recv_monitor_message

    mon = sock.get_monitor_socket()
    mon.rcvtimeo = 10000
    try:
        act()
        while True:
            ev = recv_monitor_message(mon)
            if ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
                return True
    except zmq.Again:
        return False


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [("CLIENT", "DEALER"), ("SERVER", "ROUTER"), ("SCATTER", "PULL"), ("GATHER", "CLIENT")],
)
def test_wrong_peer_type_refused(ctx: zmq.Context, ours: str, theirs: str) -> None:
    """ZMTP's socket-type check (RFC 41/49): the handshake fails, no message passes."""
    a, b = mk(ctx, getattr(zmq, ours)), mk(ctx, getattr(zmq, theirs))
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    assert _handshake_failed(a, lambda: b.connect(ep))


def test_libzmq_dealer_refused_by_server(ctx: zmq.Context, lzctx: Any) -> None:
    """A classic libzmq (pyzmq) DEALER cannot talk to a purezmq SERVER."""
    import zmq as pyzmq

    server = mk(ctx, zmq.SERVER)
    server.bind("tcp://127.0.0.1:*")
    d = lzctx.socket(pyzmq.DEALER)  # type: ignore[attr-defined]
    d.linger = 0

    def act() -> None:
        d.connect(server.last_endpoint.decode())
        d.send(b"hello")

    try:
        assert _handshake_failed(server, act)
    finally:
        d.close()


def test_multipart_from_peer_dropped(ctx: zmq.Context) -> None:
    """A multipart message reaching a GATHER is dropped, as libzmq's (inproc lets a
    PUSH-like writer in only by bypassing the type check, so feed the core's pipe)."""
    gather = mk(ctx, zmq.GATHER)
    core = gather._core
    from purezmq.core.pipe import Pipe

    pipe = Pipe(core)
    core.attach_pipe(pipe)
    pipe.push([[b"a", b"b"], [b"single"]])
    assert gather.recv() == b"single"


# -- thread safety ---------------------------------------------------------------------------


def test_blocked_recv_does_not_block_send(ctx: zmq.Context) -> None:
    """A thread blocked in recv() on a CLIENT; another thread sends on that CLIENT."""
    server, client = mk(ctx, zmq.SERVER, timeout=10000), ctx.socket(zmq.CLIENT)
    client.linger = 0
    server.bind("tcp://127.0.0.1:*")
    client.connect(server.last_endpoint.decode())
    got: list[bytes] = []
    t = threading.Thread(target=lambda: got.append(client.recv()))  # no timeout
    t.start()
    try:
        client.send(b"ping")  # while t holds recv() on the same socket
        f = server.recv(copy=False)
        server.send(b"pong", routing_id=f.routing_id)
    finally:
        t.join(10)
        if t.is_alive():  # unblock it (ETERM) so the test ends
            client.close()
            t.join(10)
    assert got == [b"pong"]


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_concurrent_client_server(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    """Two CLIENTs, each used by 2 sender and 2 receiver threads; one SERVER used by 3
    echo threads. Every request comes back once, to the client that sent it."""
    per_thread = 150
    server = mk(ctx, zmq.SERVER, timeout=100)
    clients = [mk(ctx, zmq.CLIENT, timeout=100) for _ in range(2)]
    _bind_connect(server, clients, transport, tmp_path)
    done = threading.Event()
    errors: list[BaseException] = []
    replies: list[list[bytes]] = [[], []]
    lock = threading.Lock()

    def guarded(fn: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)
                done.set()

        return run

    @guarded
    def echo() -> None:
        while not done.is_set():
            try:
                f = server.recv(copy=False)
            except zmq.Again:
                continue
            server.send(b"re:" + f.bytes, routing_id=f.routing_id)

    @guarded
    def sender(k: int, j: int) -> None:
        c = clients[k]
        for i in range(per_thread):
            while True:
                try:
                    c.send(b"c%d-t%d-%d" % (k, j, i))
                    break
                except zmq.Again:
                    if done.is_set():
                        return

    @guarded
    def receiver(k: int) -> None:
        c = clients[k]
        while not done.is_set():
            try:
                msg = c.recv()
            except zmq.Again:
                continue
            with lock:
                replies[k].append(msg)
                if sum(map(len, replies)) == 2 * 2 * per_thread:
                    done.set()

    threads = [threading.Thread(target=echo) for _ in range(3)]
    threads += [threading.Thread(target=sender, args=(k, j)) for k in range(2) for j in range(2)]
    threads += [threading.Thread(target=receiver, args=(k,)) for k in range(2) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        done.wait(45)
    finally:
        done.set()
        for t in threads:
            t.join(10)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)
    for k in range(2):
        expected = {b"re:c%d-t%d-%d" % (k, j, i) for j in range(2) for i in range(per_thread)}
        assert len(replies[k]) == len(expected)
        assert set(replies[k]) == expected


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_concurrent_scatter_gather(ctx: zmq.Context, transport: str, tmp_path: Path) -> None:
    """One SCATTER used by 3 sender threads, one GATHER by 3 receiver threads: each
    message is received exactly once; each receiver stops at its own STOP."""
    per_thread, nthreads = 200, 3
    gather = mk(ctx, zmq.GATHER, timeout=20000)
    scatter = mk(ctx, zmq.SCATTER, timeout=20000)
    _bind_connect(gather, [scatter], transport, tmp_path)
    got: list[list[bytes]] = [[] for _ in range(nthreads)]
    errors: list[BaseException] = []

    def send(j: int) -> None:
        try:
            for i in range(per_thread):
                scatter.send(b"t%d-%d" % (j, i))
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    def recv(j: int) -> None:
        try:
            while True:
                m = gather.recv()  # blocking, with its peers doing the same
                if m == b"STOP":
                    return
                got[j].append(m)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    receivers = [threading.Thread(target=recv, args=(j,)) for j in range(nthreads)]
    senders = [threading.Thread(target=send, args=(j,)) for j in range(nthreads)]
    for t in receivers + senders:
        t.start()
    for t in senders:
        t.join(30)
    # A single pipe keeps order: every data message is ahead of the STOPs.
    for _ in receivers:
        scatter.send(b"STOP")
    for t in receivers:
        t.join(30)
    assert not errors, errors
    assert not any(t.is_alive() for t in receivers + senders)
    everything = [m for part in got for m in part]
    assert len(everything) == len(set(everything)) == per_thread * nthreads
    for j in range(nthreads):  # one sender's messages stay in order within a receiver
        for part in got:
            mine = [int(m.split(b"-")[1]) for m in part if m.startswith(b"t%d-" % j)]
            assert mine == sorted(mine)


def test_concurrent_close_wakes_blocked_threads(ctx: zmq.Context) -> None:
    """Threads blocked in recv on one SERVER all return when the context is destroyed."""
    server = ctx.socket(zmq.SERVER)
    server.bind("inproc://wake")
    out: list[int] = []

    def block() -> None:
        try:
            server.recv()
        except zmq.ZMQError as e:
            out.append(e.errno)

    threads = [threading.Thread(target=block) for _ in range(3)]
    for t in threads:
        t.start()
    ctx.destroy(linger=0)
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert sorted(out) == [zmq.ETERM] * 3


# -- asyncio ---------------------------------------------------------------------------------


def test_asyncio_client_server() -> None:
    """purezmq.asyncio: SERVER replies by routing id and with a received Frame."""
    import asyncio

    import purezmq.asyncio as zaio

    async def main() -> None:
        actx = zaio.Context()
        server, client = actx.socket(zmq.SERVER), actx.socket(zmq.CLIENT)
        try:
            server.bind("tcp://127.0.0.1:*")
            client.connect(server.last_endpoint.decode())
            for i in range(20):
                await client.send(b"a%d" % i)
                f = await server.recv(copy=False)
                assert f.routing_id is not None
                if i % 2:
                    await server.send(b"re:" + f.bytes, routing_id=f.routing_id)
                    assert await client.recv() == b"re:a%d" % i
                else:
                    await server.send(f)
                    assert await client.recv() == b"a%d" % i
            with pytest.raises(zmq.ZMQError) as e:
                await client.send(b"x", zmq.SNDMORE)
            assert e.value.errno == zmq.EINVAL
            with pytest.raises(zmq.ZMQError) as e:
                await server.send(b"x", routing_id=f.routing_id ^ 1 or 7)
            assert e.value.errno == zmq.EHOSTUNREACH
        finally:
            server.close(linger=0)
            client.close(linger=0)
            actx.term()

    asyncio.run(asyncio.wait_for(main(), 30))
