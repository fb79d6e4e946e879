"""Draft socket types through the gevent and tornado front-ends (issue 12).

The asyncio front-end has its own draft tests (test_drafts_cs.py,
test_drafts_peer.py, test_drafts_rd.py). Here: purezmq.green sockets in
greenlets, and tornado's ZMQStream and futures, with CLIENT/SERVER,
RADIO/DISH and SCATTER/GATHER over tcp -- routing ids and groups on
received Frames, ``send(..., routing_id=/group=)`` passed through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

import purezmq as zmq

pytestmark = [
    pytest.mark.timeout(30),
    # purezmq.green honours RCVTIMEO/SNDTIMEO (pyzmq's green ignores them) and says so.
    pytest.mark.filterwarnings("ignore:TIMEO socket options"),
]

N = 50


def _bound(ctx: Any, kind: int) -> tuple[Any, str]:
    s = ctx.socket(kind)
    s.linger = 0
    s.bind("tcp://127.0.0.1:*")
    return s, s.last_endpoint.decode()


def _connected(ctx: Any, kind: int, addr: str) -> Any:
    s = ctx.socket(kind)
    s.linger = 0
    s.connect(addr)
    return s


# -- gevent ---------------------------------------------------------------------------------


@pytest.fixture
def gctx() -> Iterator[Any]:
    pytest.importorskip("gevent")
    import purezmq.green as gzmq

    c = gzmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


def test_green_server_answers_clients_in_greenlets(gctx: Any) -> None:
    """A SERVER greenlet echoes to three CLIENT greenlets by routing id; while
    each waits in recv the others run (they all finish)."""
    import gevent

    server, addr = _bound(gctx, zmq.SERVER)
    server.rcvtimeo = server.sndtimeo = 10000

    def serve() -> None:
        for _ in range(3 * N):
            frame = server.recv(copy=False)
            server.send(b"re:" + frame.bytes, routing_id=frame.routing_id)

    def client(k: int) -> list[bytes]:
        c = _connected(gctx, zmq.CLIENT, addr)
        c.rcvtimeo = 10000
        out = []
        for i in range(N):
            c.send(b"%d-%d" % (k, i))
            out.append(c.recv())
        c.close()
        return out

    s = gevent.spawn(serve)
    clients = [gevent.spawn(client, k) for k in range(3)]
    gevent.joinall([s, *clients], timeout=20, raise_error=True)
    for k, g in enumerate(clients):
        assert g.value == [b"re:%d-%d" % (k, i) for i in range(N)]
    with pytest.raises(zmq.ZMQError) as e:
        server.send(b"x", zmq.SNDMORE)
    assert e.value.errno == zmq.EINVAL  # single-part only, as libzmq's


def test_green_radio_dish_groups(gctx: Any) -> None:
    """A DISH greenlet gets the joined group's messages with Frame.group; a group
    it did not join is filtered out."""
    import gevent

    dish, addr = _bound(gctx, zmq.DISH)
    dish.rcvtimeo = 10000
    dish.join("weather")
    radio = _connected(gctx, zmq.RADIO, addr)
    _probe_until_joined(radio, dish, "weather")

    def receive() -> list[tuple[str, bytes]]:
        got = []
        for _ in range(N):
            f = dish.recv(copy=False)
            got.append((f.group, f.bytes))
        return got

    g = gevent.spawn(receive)
    for i in range(N):
        radio.send(b"other %d" % i, group="sport")  # not joined: filtered out
        radio.send(b"w%d" % i, group="weather")
    gevent.joinall([g], timeout=20, raise_error=True)
    assert g.value == [("weather", b"w%d" % i) for i in range(N)]


def _probe_until_joined(radio: Any, dish: Any, group: str) -> None:
    """RADIO drops until the DISH's JOIN has crossed: probe until one arrives,
    then drain the probes still in flight."""
    for _ in range(500):
        radio.send(b"probe", group=group)
        if dish.poll(20):
            break
    else:
        raise AssertionError("no probe reached the DISH")
    while dish.poll(100):
        assert dish.recv() == b"probe"


def test_green_scatter_gather(gctx: Any) -> None:
    import gevent

    gather, addr = _bound(gctx, zmq.GATHER)
    gather.rcvtimeo = 10000
    scatter = _connected(gctx, zmq.SCATTER, addr)
    scatter.sndtimeo = 10000

    g = gevent.spawn(lambda: [gather.recv() for _ in range(N)])
    for i in range(N):
        scatter.send(b"m%d" % i)
    gevent.joinall([g], timeout=20, raise_error=True)
    assert g.value == [b"m%d" % i for i in range(N)]


# -- tornado --------------------------------------------------------------------------------


def _run(main: Any, ctx: Any) -> None:
    """Run ``main()`` on a fresh asyncio loop (tornado's IOLoop), then destroy ``ctx``."""
    try:
        asyncio.run(asyncio.wait_for(main(), 20))
    finally:
        ctx.destroy(linger=0)


def test_zmqstream_server_replies_by_routing_id() -> None:
    """ZMQStream on a SERVER: on_recv with copy=False gives Frames carrying the
    routing id; stream.send(..., routing_id=) answers that CLIENT."""
    pytest.importorskip("tornado")
    from purezmq.eventloop.zmqstream import ZMQStream

    ctx = zmq.Context()

    async def main() -> None:
        server, addr = _bound(ctx, zmq.SERVER)
        clients = [_connected(ctx, zmq.CLIENT, addr) for _ in range(3)]
        stream = ZMQStream(server)
        seen: list[int] = []

        def echo(msg: list[Any]) -> None:
            (frame,) = msg
            seen.append(frame.routing_id)
            stream.send(b"re:" + frame.bytes, routing_id=frame.routing_id)

        stream.on_recv(echo, copy=False)
        import purezmq.asyncio as zaio

        aclients = [zaio.Socket.shadow(c) for c in clients]
        for i in range(N):
            for k, c in enumerate(aclients):
                await c.send(b"%d-%d" % (k, i))
            for k, c in enumerate(aclients):
                assert await asyncio.wait_for(c.recv(), 5) == b"re:%d-%d" % (k, i)
        assert len(set(seen)) == 3 and all(isinstance(r, int) and r for r in seen)
        stream.close()
        for c in clients:
            c.close()

    _run(main, ctx)


def test_zmqstream_dish_gets_groups() -> None:
    pytest.importorskip("tornado")
    from purezmq.eventloop.zmqstream import ZMQStream

    ctx = zmq.Context()

    async def main() -> None:
        dish, addr = _bound(ctx, zmq.DISH)
        dish.join("weather")
        radio = _connected(ctx, zmq.RADIO, addr)
        _probe_until_joined(radio, dish, "weather")
        stream = ZMQStream(dish)
        got: list[tuple[str, bytes]] = []
        done = asyncio.Event()

        def on(msg: list[Any]) -> None:
            got.append((msg[0].group, msg[0].bytes))
            if len(got) == N:
                done.set()

        stream.on_recv(on, copy=False)
        for i in range(N):
            radio.send(b"other", group="sport")
            radio.send(b"w%d" % i, group="weather")
        await asyncio.wait_for(done.wait(), 10)
        assert got == [("weather", b"w%d" % i) for i in range(N)]
        stream.close()
        radio.close()

    _run(main, ctx)


def test_tornado_futures_client_server_and_scatter_gather() -> None:
    """purezmq.eventloop.future: awaitable CLIENT/SERVER and SCATTER/GATHER."""
    pytest.importorskip("tornado")
    from purezmq.eventloop import future as zfuture

    ctx = zfuture.Context()

    async def main() -> None:
        server, addr = _bound(ctx, zmq.SERVER)
        client = _connected(ctx, zmq.CLIENT, addr)
        for i in range(N):
            await client.send(b"q%d" % i)
            f = await asyncio.wait_for(server.recv(copy=False), 5)
            await server.send(b"a%d" % i, routing_id=f.routing_id)
            assert await asyncio.wait_for(client.recv(), 5) == b"a%d" % i
        gather, gaddr = _bound(ctx, zmq.GATHER)
        scatter = _connected(ctx, zmq.SCATTER, gaddr)
        for i in range(N):
            await scatter.send(b"m%d" % i)
        got = [await asyncio.wait_for(gather.recv(), 5) for _ in range(N)]
        assert got == [b"m%d" % i for i in range(N)]
        for s in (server, client, gather, scatter):
            s.close()

    _run(main, ctx)
