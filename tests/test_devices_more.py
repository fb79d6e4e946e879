"""Devices, continued: random-port reservations, single-socket devices,
green devices, the monitored-queue device module, against libzmq peers.

Each background device uses the test's own Context (``context_factory``) and
ends with ``ctx.term()`` (ContextTerminated in the device thread). Waits are
RCVTIMEO bounded; nothing sleeps for correctness.
"""

from __future__ import annotations

import functools
import socket as stdsocket
import threading
from typing import Any

import pytest

import purezmq
from purezmq import devices
from tests import helpers

pytestmark = pytest.mark.timeout(30)

mk = functools.partial(helpers.mk, timeout=5000)


def _own_ctx(dev: devices.Device, ctx: purezmq.Context) -> None:
    dev.context_factory = lambda: ctx  # type: ignore[method-assign]


def _end(ctx: purezmq.Context, dev: devices.Device, *socks: Any) -> None:
    for s in socks:
        s.close()
    ctx.term()
    dev.join(10)
    assert dev.done


# -- bind_*_to_random_port ----------------------------------------------------------------


def test_random_ports_in_range_are_distinct() -> None:
    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.PULL, purezmq.PUSH)
    lo, hi = 20000, 20400
    ports = [dev.bind_in_to_random_port("tcp://127.0.0.1", lo, hi) for _ in range(3)]
    ports.append(dev.bind_out_to_random_port("tcp://127.0.0.1", min_port=lo, max_port=hi))
    assert all(lo <= p < hi for p in ports)
    assert len(set(ports)) == len(ports)


def test_random_port_range_exhausted_raises_bind_error() -> None:
    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.PULL, purezmq.PUSH)
    lo = 21000
    got = set()
    with pytest.raises(purezmq.ZMQBindError):
        for _ in range(4):  # 3 ports in the range: the 4th cannot be promised
            got.add(dev.bind_in_to_random_port("tcp://127.0.0.1", lo, lo + 3, max_tries=50))
    assert got <= {lo, lo + 1, lo + 2}


def test_random_port_skips_a_port_in_use() -> None:
    with stdsocket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.PULL, purezmq.PUSH)
        with pytest.raises(purezmq.ZMQBindError, match="no free port"):
            dev.bind_in_to_random_port("tcp://127.0.0.1", port, port + 1, max_tries=5)


def test_random_port_needs_tcp() -> None:
    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.PULL, purezmq.PUSH)
    with pytest.raises(purezmq.ZMQError):
        dev.bind_in_to_random_port("ipc:///tmp/x")


def test_device_random_port_reaches_libzmq(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.PULL, purezmq.PUSH)
    _own_ctx(dev, ctx)
    pin = dev.bind_in_to_random_port("tcp://127.0.0.1")
    pout = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.start()
    src = mk(lzctx, zmq.PUSH)
    src.connect(f"tcp://127.0.0.1:{pin}")
    dst = mk(lzctx, zmq.PULL)
    dst.connect(f"tcp://127.0.0.1:{pout}")
    src.send_multipart([b"through", b"the device"])
    assert dst.recv_multipart() == [b"through", b"the device"]
    src.close()
    dst.close()
    _end(ctx, dev)


# -- one socket as both sides ---------------------------------------------------------------


@pytest.mark.parametrize("side", ["in", "out"])
def test_single_socket_rep_echoes_libzmq_req(ctx: purezmq.Context, lzctx: Any, side: str) -> None:
    import zmq

    req = mk(lzctx, zmq.REQ)
    port = req.bind_to_random_port("tcp://127.0.0.1")
    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.REP, -1)
    _own_ctx(dev, ctx)
    (dev.connect_in if side == "in" else dev.connect_out)(f"tcp://127.0.0.1:{port}")
    dev.start()
    for i in range(3):
        req.send_multipart([b"echo", str(i).encode()])
        assert req.recv_multipart() == [b"echo", str(i).encode()]
    req.close()
    _end(ctx, dev)


def test_single_socket_router_echoes_each_peer(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    dev = devices.ThreadDevice(purezmq.QUEUE, purezmq.ROUTER, -1)
    _own_ctx(dev, ctx)
    port = dev.bind_in_to_random_port("tcp://127.0.0.1")
    dev.setsockopt_out(purezmq.RCVHWM, 50)  # out options land on the one socket too
    dev.start()
    dealers = []
    for name in (b"a", b"b"):
        d = mk(lzctx, zmq.DEALER, routing_id=name)
        d.connect(f"tcp://127.0.0.1:{port}")
        dealers.append(d)
    for d in dealers:
        d.send(b"from " + d.routing_id)
    for d in dealers:
        assert d.recv() == b"from " + d.routing_id
        d.close()
    _end(ctx, dev)


def test_device_function_with_one_socket(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    rep = mk(ctx, purezmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            purezmq.device(purezmq.QUEUE, rep, rep)
        except BaseException as e:  # noqa: BLE001 - the test inspects it
            outcome.append(e)
        finally:
            rep.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    req = mk(lzctx, zmq.REQ)
    req.connect(f"tcp://127.0.0.1:{port}")
    req.send(b"ping")
    assert req.recv() == b"ping"
    req.close()
    ctx.term()
    t.join(10)
    assert not t.is_alive()
    assert isinstance(outcome[0], purezmq.ContextTerminated)


# -- green ------------------------------------------------------------------------------------


def test_green_device_single_socket(lzctx: Any) -> None:
    gevent = pytest.importorskip("gevent")
    import zmq

    import purezmq.green as gzmq

    gctx = gzmq.Context()
    try:
        rep = gctx.socket(gzmq.REP)
        rep.linger = 0
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        g = gevent.spawn(gzmq.device, gzmq.QUEUE, rep, -1)
        req = mk(lzctx, zmq.REQ)
        req.connect(f"tcp://127.0.0.1:{port}")

        def client() -> bytes:  # libzmq blocks its OS thread: run it off the hub
            req.send(b"green")
            return bytes(req.recv())

        pool = gevent.get_hub().threadpool
        assert pool.spawn(client).get(timeout=10) == b"green"  # the device greenlet ran
        g.kill(block=True, timeout=5)
        req.close()
    finally:
        gctx.destroy(linger=0)


def test_green_device_two_sockets(lzctx: Any) -> None:
    gevent = pytest.importorskip("gevent")
    import zmq

    import purezmq.green as gzmq

    gctx = gzmq.Context()
    try:
        front = gctx.socket(gzmq.ROUTER)
        back = gctx.socket(gzmq.DEALER)
        for s in (front, back):
            s.linger = 0
        fport = front.bind_to_random_port("tcp://127.0.0.1")
        bport = back.bind_to_random_port("tcp://127.0.0.1")
        g = gevent.spawn(gzmq.device, gzmq.QUEUE, front, back)
        worker = mk(lzctx, zmq.REP)
        worker.connect(f"tcp://127.0.0.1:{bport}")
        client = mk(lzctx, zmq.REQ)
        client.connect(f"tcp://127.0.0.1:{fport}")

        def serve() -> None:
            worker.send(worker.recv() + b" done")

        def ask() -> bytes:
            client.send(b"job")
            return bytes(client.recv())

        pool = gevent.get_hub().threadpool
        served = pool.spawn(serve)
        assert pool.spawn(ask).get(timeout=10) == b"job done"
        served.get(timeout=10)
        g.kill(block=True, timeout=5)
        worker.close()
        client.close()
    finally:
        gctx.destroy(linger=0)


# -- module layout (pyzmq's) ------------------------------------------------------------------


def test_device_modules_match_pyzmq() -> None:
    from purezmq.devices import monitoredqueue, monitoredqueuedevice, proxysteerabledevice

    assert monitoredqueuedevice.ThreadMonitoredQueue is devices.ThreadMonitoredQueue
    assert proxysteerabledevice.ThreadProxySteerable is devices.ThreadProxySteerable
    assert monitoredqueue.monitored_queue is devices.monitored_queue
    assert set(monitoredqueuedevice.__all__) == {
        "MonitoredQueue",
        "ThreadMonitoredQueue",
        "ProcessMonitoredQueue",
    }


def test_thread_monitored_queue_router_router(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    dev = devices.ThreadMonitoredQueue(purezmq.ROUTER, purezmq.ROUTER, purezmq.PUB, b"I", b"O")
    _own_ctx(dev, ctx)
    pin = dev.bind_in_to_random_port("tcp://127.0.0.1")
    pout = dev.bind_out_to_random_port("tcp://127.0.0.1")
    pmon = dev.bind_mon_to_random_port("tcp://127.0.0.1")
    dev.start()
    mon = mk(lzctx, zmq.SUB)
    mon.subscribe(b"")
    mon.connect(f"tcp://127.0.0.1:{pmon}")
    server = mk(lzctx, zmq.DEALER, routing_id=b"server")
    server.connect(f"tcp://127.0.0.1:{pout}")
    client = mk(lzctx, zmq.DEALER, routing_id=b"client")
    client.connect(f"tcp://127.0.0.1:{pin}")
    # The device's out ROUTER must know "server" before a message can be routed
    # to it, and the mon SUB's subscription must have reached the PUB (slow
    # joiner): send until the server got one and the mon socket saw one.
    seen: list[list[bytes]] = []
    got = None
    for _ in range(50):
        client.send_multipart([b"server", b"hello"])
        if got is None and server.poll(100):
            got = server.recv_multipart()
        while mon.poll(50):
            seen.append(mon.recv_multipart())
        if got is not None and seen:
            break
    assert got == [b"client", b"hello"]
    # the mon socket sees each message as forwarded: routing ids already swapped
    assert [b"I", b"server", b"client", b"hello"] in seen
    server.send_multipart([b"client", b"back"])
    while client.poll(1000):
        if client.recv_multipart()[-2:] == [b"server", b"back"]:
            break
    else:
        raise AssertionError("the reply never came back through the device")
    while mon.poll(1000):
        seen.append(mon.recv_multipart())
        if seen[-1][0] == b"O":
            break
    assert seen[-1] == [b"O", b"client", b"server", b"back"]
    for s in (mon, server, client):
        s.close()
    _end(ctx, dev)
