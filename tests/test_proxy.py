"""proxy, proxy_steerable, device and purezmq.devices, against libzmq's man pages.

Each proxy runs in a thread that owns its sockets (closing them when the
proxy ends); the test ends it with TERMINATE or ``ctx.term()`` and checks how
it ended. Waits are RCVTIMEO / poll timeouts; nothing sleeps.
"""

from __future__ import annotations

import functools
import struct
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import purezmq
from purezmq import devices
from tests import helpers

pytestmark = pytest.mark.timeout(30)

TIMEOUT_MS = 5000


mk = functools.partial(helpers.mk, timeout=TIMEOUT_MS)


class Runner:
    """Runs ``fn`` in a thread; closes ``owned`` sockets when it ends; keeps the outcome."""

    def __init__(self, fn: Callable[[], Any], owned: list[Any]) -> None:
        self.fn = fn
        self.result: Any = None
        self.error: BaseException | None = None
        self.owned = owned
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            self.result = self.fn()
        except BaseException as e:  # reported to the test
            self.error = e
        finally:
            for s in self.owned:
                s.close(linger=0)

    def join(self) -> None:
        self.thread.join(10)
        assert not self.thread.is_alive(), "proxy did not end"


def start(fn: Callable[[], Any], *owned: Any) -> Runner:
    """Run the proxy call ``fn`` in a thread that closes ``owned`` when it ends."""
    return Runner(fn, list(owned))


def push_pull(ctx: purezmq.Context, fe_addr: str, be_addr: str) -> tuple[Any, Any]:
    """A PUSH connected to ``fe_addr`` (the proxy's frontend), a PULL to ``be_addr``."""
    src = mk(ctx, purezmq.PUSH)
    src.connect(fe_addr)
    dst = mk(ctx, purezmq.PULL)
    dst.connect(be_addr)
    return src, dst


def end_by_term(ctx: purezmq.Context, runner: Runner, *mine: Any) -> None:
    """Close the test's own sockets, terminate the context: the proxy raises ContextTerminated."""
    for s in mine:
        s.close(linger=0)
    ctx.term()
    runner.join()
    assert isinstance(runner.error, purezmq.ContextTerminated), runner.error


def test_proxy_push_pull_multipart_and_term(ctx: purezmq.Context) -> None:
    fe = mk(ctx, purezmq.PULL)
    fe.bind("inproc://fe")
    be = mk(ctx, purezmq.PUSH)
    port = be.bind_to_random_port("tcp://127.0.0.1")
    r = start(lambda: purezmq.proxy(fe, be), fe, be)
    src, dst = push_pull(ctx, "inproc://fe", f"tcp://127.0.0.1:{port}")
    for i in range(50):
        src.send_multipart([b"part1", b"%d" % i, b""])
    for i in range(50):
        assert dst.recv_multipart() == [b"part1", b"%d" % i, b""]
    end_by_term(ctx, r, src, dst)


def test_proxy_waits_for_backend_rather_than_drop(ctx: purezmq.Context) -> None:
    """A message is taken from the frontend only when the backend can take it."""
    fe = mk(ctx, purezmq.PULL)
    fe.bind("inproc://fe")
    be = mk(ctx, purezmq.PUSH)
    be.bind("inproc://be")
    r = start(lambda: purezmq.proxy(fe, be), fe, be)
    src = mk(ctx, purezmq.PUSH)
    src.connect("inproc://fe")
    src.send(b"early")  # the backend has no peer yet: PUSH cannot send
    dst = mk(ctx, purezmq.PULL)
    dst.connect("inproc://be")
    assert dst.recv() == b"early"
    end_by_term(ctx, r, src, dst)


def test_router_dealer_broker_with_req_rep(ctx: purezmq.Context) -> None:
    fe = mk(ctx, purezmq.ROUTER)
    fport = fe.bind_to_random_port("tcp://127.0.0.1")
    be = mk(ctx, purezmq.DEALER)
    be.bind("inproc://workers")
    r = start(lambda: purezmq.proxy(fe, be), fe, be)
    workers = [mk(ctx, purezmq.REP) for _ in range(2)]
    for w in workers:
        w.connect("inproc://workers")
    clients = [mk(ctx, purezmq.REQ) for _ in range(3)]
    for c in clients:
        c.connect(f"tcp://127.0.0.1:{fport}")
    for round_ in range(3):
        for i, c in enumerate(clients):
            c.send_multipart([b"req", b"%d-%d" % (i, round_)])
        poller = purezmq.Poller()
        for w in workers:
            poller.register(w, purezmq.POLLIN)
        answered = 0
        while answered < len(clients):
            events = poller.poll(TIMEOUT_MS)
            assert events, "no request reached a worker"
            for w, _ in events:
                kind, body = w.recv_multipart()
                w.send_multipart([b"rep", body])
                answered += 1
        for i, c in enumerate(clients):
            assert c.recv_multipart() == [b"rep", b"%d-%d" % (i, round_)]
    end_by_term(ctx, r, *workers, *clients)


def test_capture_gets_both_directions(ctx: purezmq.Context) -> None:
    fe = mk(ctx, purezmq.PAIR)
    fe.bind("inproc://fe")
    be = mk(ctx, purezmq.PAIR)
    be.bind("inproc://be")
    cap = mk(ctx, purezmq.PUSH)
    cap.bind("inproc://cap")
    caught = mk(ctx, purezmq.PULL)
    caught.connect("inproc://cap")
    r = start(lambda: purezmq.proxy(fe, be, cap), fe, be, cap)
    a = mk(ctx, purezmq.PAIR)
    a.connect("inproc://fe")
    b = mk(ctx, purezmq.PAIR)
    b.connect("inproc://be")
    a.send_multipart([b"to", b"b"])
    assert b.recv_multipart() == [b"to", b"b"]
    b.send_multipart([b"to", b"a", b"!"])
    assert a.recv_multipart() == [b"to", b"a", b"!"]
    assert caught.recv_multipart() == [b"to", b"b"]
    assert caught.recv_multipart() == [b"to", b"a", b"!"]
    end_by_term(ctx, r, a, b, caught)


def test_xsub_xpub_forwarder_with_libzmq_peers(ctx: purezmq.Context, lzctx: Any) -> None:
    """libzmq publisher -> (tcp) XSUB proxy XPUB (tcp) -> libzmq subscriber."""
    zmq = pytest.importorskip("zmq")
    pub = lzctx.socket(zmq.XPUB)
    pub.linger = 0
    pub.rcvtimeo = TIMEOUT_MS
    pport = pub.bind_to_random_port("tcp://127.0.0.1")
    fe = mk(ctx, purezmq.XSUB)
    fe.connect(f"tcp://127.0.0.1:{pport}")
    be = mk(ctx, purezmq.XPUB)
    sport = be.bind_to_random_port("tcp://127.0.0.1")
    r = start(lambda: purezmq.proxy(fe, be), fe, be)
    sub = lzctx.socket(zmq.SUB)
    sub.linger = 0
    sub.rcvtimeo = TIMEOUT_MS
    sub.connect(f"tcp://127.0.0.1:{sport}")
    sub.subscribe(b"topic")
    # The subscription travels subscriber -> XPUB -> proxy -> XSUB -> publisher.
    assert pub.recv() == b"\x01topic"
    pub.send_multipart([b"other", b"x"])
    pub.send_multipart([b"topic", b"hello"])
    assert sub.recv_multipart() == [b"topic", b"hello"]
    sub.unsubscribe(b"topic")
    assert pub.recv() == b"\x00topic"
    end_by_term(ctx, r)


def test_push_pull_libzmq_both_sides_tcp(ctx: purezmq.Context, lzctx: Any) -> None:
    zmq = pytest.importorskip("zmq")
    fe = mk(ctx, purezmq.PULL)
    fport = fe.bind_to_random_port("tcp://127.0.0.1")
    be = mk(ctx, purezmq.PUSH)
    bport = be.bind_to_random_port("tcp://127.0.0.1")
    r = start(lambda: purezmq.proxy(fe, be), fe, be)
    src = lzctx.socket(zmq.PUSH)
    src.linger = 0
    src.connect(f"tcp://127.0.0.1:{fport}")
    dst = lzctx.socket(zmq.PULL)
    dst.linger = 0
    dst.rcvtimeo = TIMEOUT_MS
    dst.connect(f"tcp://127.0.0.1:{bport}")
    for i in range(100):
        src.send_multipart([b"m", i.to_bytes(2, "big"), b"x" * i])
    for i in range(100):
        assert dst.recv_multipart() == [b"m", i.to_bytes(2, "big"), b"x" * i]
    end_by_term(ctx, r)


def _steerable(ctx: purezmq.Context, ctrl_type: int) -> tuple[Runner, Any, Any, Any]:
    fe = mk(ctx, purezmq.PULL)
    fe.bind("inproc://fe")
    be = mk(ctx, purezmq.PUSH)
    be.bind("inproc://be")
    ctl = mk(ctx, ctrl_type)
    ctl.bind("inproc://ctl")
    r = start(lambda: purezmq.proxy_steerable(fe, be, None, ctl), fe, be, ctl)
    src, dst = push_pull(ctx, "inproc://fe", "inproc://be")
    return r, src, dst, ctl


def _stats(frames: list[bytes]) -> list[int]:
    assert len(frames) == 8 and all(len(f) == 8 for f in frames)
    return [struct.unpack("=Q", f)[0] for f in frames]


def test_proxy_steerable_rep_control(ctx: purezmq.Context) -> None:
    r, src, dst, _ = _steerable(ctx, purezmq.REP)
    c = mk(ctx, purezmq.REQ)
    c.connect("inproc://ctl")
    src.send_multipart([b"ab", b"cde"])
    assert dst.recv_multipart() == [b"ab", b"cde"]
    c.send(b"STATISTICS")
    # frontend: 2 frames / 5 bytes in, none out; backend: none in, 2 frames / 5 bytes out
    assert _stats(c.recv_multipart()) == [2, 5, 0, 0, 0, 0, 2, 5]
    c.send(b"PAUSE")
    assert c.recv_multipart() == [b""]
    src.send(b"while paused")
    assert dst.poll(200) == 0  # paused: not forwarded
    c.send(b"RESUME")
    assert c.recv_multipart() == [b""]
    assert dst.recv() == b"while paused"
    c.send(b"TERMINATE")
    assert c.recv_multipart() == [b""]
    r.join()
    assert r.error is None and r.result == 0
    for s in (src, dst, c):
        s.close()


def test_proxy_steerable_pair_control_no_replies(ctx: purezmq.Context) -> None:
    r, src, dst, _ = _steerable(ctx, purezmq.PAIR)
    c = mk(ctx, purezmq.PAIR)
    c.connect("inproc://ctl")
    c.send(b"PAUSE")
    c.send(b"STATISTICS")  # the first reply is the statistics: PAUSE got none
    assert _stats(c.recv_multipart()) == [0] * 8
    c.send(b"RESUME")
    src.send(b"x")
    assert dst.recv() == b"x"
    c.send(b"TERMINATE")
    r.join()
    assert r.error is None and r.result == 0
    assert c.poll(50) == 0
    for s in (src, dst, c):
        s.close()


def test_proxy_steerable_ends_with_context(ctx: purezmq.Context) -> None:
    r, src, dst, _ = _steerable(ctx, purezmq.PAIR)
    end_by_term(ctx, r, src, dst)


def test_device_queue_and_bad_type(ctx: purezmq.Context) -> None:
    fe = mk(ctx, purezmq.ROUTER)
    fe.bind("inproc://fe")
    be = mk(ctx, purezmq.DEALER)
    be.bind("inproc://be")
    with pytest.raises(purezmq.ZMQError) as e:
        purezmq.device(99, fe, be)
    assert e.value.errno == purezmq.EINVAL
    r = start(lambda: purezmq.device(purezmq.QUEUE, fe, be), fe, be)
    req = mk(ctx, purezmq.REQ)
    req.connect("inproc://fe")
    rep = mk(ctx, purezmq.REP)
    rep.connect("inproc://be")
    req.send(b"ping")
    assert rep.recv() == b"ping"
    rep.send(b"pong")
    assert req.recv() == b"pong"
    end_by_term(ctx, r, req, rep)


def test_monitored_queue_router_router(ctx: purezmq.Context) -> None:
    ins = mk(ctx, purezmq.ROUTER)
    ins.bind("inproc://in")
    outs = mk(ctx, purezmq.ROUTER)
    outs.bind("inproc://out")
    mons = mk(ctx, purezmq.PUSH)
    mons.bind("inproc://mon")
    mon = mk(ctx, purezmq.PULL)
    mon.connect("inproc://mon")
    client = mk(ctx, purezmq.DEALER, routing_id=b"client")
    client.connect("inproc://in")
    worker = mk(ctx, purezmq.DEALER, routing_id=b"worker")
    worker.connect("inproc://out")
    r = start(lambda: devices.monitored_queue(ins, outs, mons, "in", b"out"), ins, outs, mons)
    client.send_multipart([b"worker", b"hello"])
    assert worker.recv_multipart() == [b"client", b"hello"]
    worker.send_multipart([b"client", b"hi"])
    assert client.recv_multipart() == [b"worker", b"hi"]
    assert mon.recv_multipart() == [b"in", b"worker", b"client", b"hello"]
    assert mon.recv_multipart() == [b"out", b"client", b"worker", b"hi"]
    end_by_term(ctx, r, mon, client, worker)


# -- purezmq.devices ----------------------------------------------------------------------


def end_device_by_term(ctx: purezmq.Context, dev: Any, *mine: Any) -> None:
    """Close the test's own sockets, terminate the context: the device sees
    ContextTerminated, closes its sockets and ends."""
    for s in mine:
        s.close()
    ctx.term()
    dev.join(10)
    assert dev.done


def test_thread_device_streamer(ctx: purezmq.Context, tmp_path: Path) -> None:
    dev = devices.ThreadDevice(purezmq.STREAMER, purezmq.PULL, purezmq.PUSH)
    dev.context_factory = lambda: ctx  # type: ignore[method-assign]
    dev.bind_in(f"ipc://{tmp_path}/in")
    dev.bind_out("inproc://out")
    dev.setsockopt_in(purezmq.RCVHWM, 10)
    dev.start()
    # connecting before or after the device binds: it retries
    src, dst = push_pull(ctx, f"ipc://{tmp_path}/in", "inproc://out")
    src.send_multipart([b"a", b"b"])
    assert dst.recv_multipart() == [b"a", b"b"]
    end_device_by_term(ctx, dev, src, dst)


def test_thread_proxy_monitor(ctx: purezmq.Context) -> None:
    dev = devices.ThreadProxy(purezmq.PULL, purezmq.PUSH, purezmq.PUSH)
    dev.context_factory = lambda: ctx  # type: ignore[method-assign]
    dev.bind_in("inproc://in")
    dev.bind_out("inproc://out")
    dev.bind_mon("inproc://mon")
    dev.start()
    mon = mk(ctx, purezmq.PULL)
    mon.connect("inproc://mon")
    src, dst = push_pull(ctx, "inproc://in", "inproc://out")
    src.send(b"seen twice")
    assert dst.recv() == b"seen twice"
    assert mon.recv() == b"seen twice"
    end_device_by_term(ctx, dev, mon, src, dst)


def test_thread_proxy_steerable_terminate(ctx: purezmq.Context) -> None:
    dev = devices.ThreadProxySteerable(
        purezmq.PULL, purezmq.PUSH, purezmq.PUB, ctrl_type=purezmq.PAIR
    )
    dev.context_factory = lambda: ctx  # type: ignore[method-assign]
    dev.bind_in("inproc://in")
    dev.connect_out("inproc://out")
    dev.bind_ctrl("inproc://ctrl")
    dst = mk(ctx, purezmq.PULL)
    dst.bind("inproc://out")
    dev.start()
    src = mk(ctx, purezmq.PUSH)
    src.connect("inproc://in")
    ctrl = mk(ctx, purezmq.PAIR)
    ctrl.connect("inproc://ctrl")
    src.send(b"1")
    assert dst.recv() == b"1"
    ctrl.send(b"TERMINATE")
    dev.join(10)
    assert dev.done


def test_process_proxy_steerable(ctx: purezmq.Context, tmp_path: Path) -> None:
    dev = devices.ProcessProxySteerable(
        purezmq.PULL, purezmq.PUSH, purezmq.PUB, ctrl_type=purezmq.REP
    )
    in_port = dev.bind_in_to_random_port("tcp://127.0.0.1")
    out_port = dev.bind_out_to_random_port("tcp://127.0.0.1")
    dev.bind_ctrl(f"ipc://{tmp_path}/ctrl")
    dev.start()
    ctrl = mk(ctx, purezmq.REQ)
    ctrl.connect(f"ipc://{tmp_path}/ctrl")
    # A reply means the child has made and bound every socket: connecting to a
    # tcp port nobody listens on yet could self-connect and steal the port.
    ctrl.send(b"STATISTICS")
    assert _stats(ctrl.recv_multipart()) == [0] * 8
    src, dst = push_pull(ctx, f"tcp://127.0.0.1:{in_port}", f"tcp://127.0.0.1:{out_port}")
    src.send(b"across processes")
    assert dst.recv() == b"across processes"
    ctrl.send(b"STATISTICS")
    assert _stats(ctrl.recv_multipart()) == [1, 16, 0, 0, 0, 0, 1, 16]
    ctrl.send(b"TERMINATE")
    assert ctrl.recv() == b""
    dev.join(10)
    assert dev._launcher.exitcode == 0
