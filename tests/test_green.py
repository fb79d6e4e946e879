"""purezmq.green: blocking calls yield to the gevent hub; interop; patch_all.

Greenlets prove they interleave by ordering, not timing: a sender greenlet
sends only after a ticker greenlet has finished, so a ``recv`` that returns
with every tick counted must have let both run while it waited.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("gevent")

import gevent  # noqa: E402
import gevent.event  # noqa: E402

import purezmq.green as gzmq  # noqa: E402
from purezmq.runtime.iothread import IOThread  # noqa: E402
from tests import helpers
from tests.helpers import link, run_example

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 5000


@pytest.fixture
def gctx() -> Iterator[gzmq.Context]:
    c = gzmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


mk = functools.partial(helpers.mk, timeout=TIMEOUT_MS)


def _ticker(n: int, ticks: list[int], done: Any) -> None:
    for i in range(n):
        ticks.append(i)
        gevent.sleep(0.001)
    done.set()


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_recv_lets_other_greenlets_run(gctx: gzmq.Context, transport: str) -> None:
    pull = mk(gctx, gzmq.PULL)
    if transport == "tcp":
        addr = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
    else:
        addr = "inproc://green"
        pull.bind(addr)
    push = mk(gctx, gzmq.PUSH)
    push.connect(addr)
    assert isinstance(push, gzmq.Socket)
    ticks: list[int] = []
    done = gevent.event.Event()

    def sender() -> None:
        done.wait()
        push.send_multipart([b"after", b"ticks"])

    greenlets = [gevent.spawn(_ticker, 20, ticks, done), gevent.spawn(sender)]
    assert pull.recv_multipart() == [b"after", b"ticks"]
    assert ticks == list(range(20))
    gevent.joinall(greenlets, raise_error=True)


def test_recv_and_send_timeouts_yield(gctx: gzmq.Context) -> None:
    pull = mk(gctx, gzmq.PULL, rcvtimeo=100)
    pull.bind("inproc://t")
    ticks: list[int] = []
    g = gevent.spawn(_ticker, 5, ticks, gevent.event.Event())
    t0 = time.monotonic()
    with pytest.raises(gzmq.Again):
        pull.recv()
    assert time.monotonic() - t0 >= 0.09
    assert ticks == list(range(5))  # the ticker ran while recv waited
    g.join()
    push = mk(gctx, gzmq.PUSH, sndtimeo=50)  # no peer: PUSH cannot send
    with pytest.raises(gzmq.Again):
        push.send(b"nobody")
    pull.rcvtimeo = 0
    with pytest.raises(gzmq.Again):
        pull.recv()
    with pytest.raises(gzmq.Again):
        pull.recv(gzmq.NOBLOCK)


def test_send_blocked_at_hwm_resumes(gctx: gzmq.Context) -> None:
    pull = mk(gctx, gzmq.PULL, rcvhwm=1)
    pull.bind("inproc://hwm")
    push = mk(gctx, gzmq.PUSH, sndhwm=1)
    push.connect("inproc://hwm")
    n = 200
    got: list[bytes] = []

    def reader() -> None:
        for _ in range(n):
            got.append(pull.recv())

    g = gevent.spawn(reader)
    for i in range(n):
        push.send(b"%d" % i)  # waits at HWM while the reader drains
    g.join(10)
    assert got == [b"%d" % i for i in range(n)]


def test_sender_and_receiver_greenlets_share_a_socket(gctx: gzmq.Context) -> None:
    """One greenlet sends, another receives on the same socket: no wake-up is lost."""
    a = mk(gctx, gzmq.DEALER, sndhwm=2, rcvhwm=2)
    a.bind("inproc://echo")
    b = mk(gctx, gzmq.DEALER, sndhwm=2, rcvhwm=2)
    b.connect("inproc://echo")
    n = 300

    def echo() -> None:
        for _ in range(n):
            b.send(b.recv())

    def send_all() -> None:
        for i in range(n):
            a.send(b"%d" % i)

    received: list[bytes] = []

    def recv_all() -> None:
        for _ in range(n):
            received.append(a.recv())

    gs = [gevent.spawn(echo), gevent.spawn(send_all), gevent.spawn(recv_all)]
    gevent.joinall(gs, timeout=20, raise_error=True)
    assert all(g.ready() for g in gs)
    assert received == [b"%d" % i for i in range(n)]


def test_poller_sockets_and_fds(gctx: gzmq.Context) -> None:
    a = mk(gctx, gzmq.PULL)
    a.bind("inproc://pa")
    b = mk(gctx, gzmq.PULL)
    b.bind("inproc://pb")
    push = mk(gctx, gzmq.PUSH)
    push.connect("inproc://pb")
    r, w = socket.socketpair()
    try:
        poller = gzmq.Poller()
        poller.register(a, gzmq.POLLIN)
        poller.register(b, gzmq.POLLIN)
        poller.register(r, gzmq.POLLIN)
        assert poller.poll(50) == []
        ticks: list[int] = []
        done = gevent.event.Event()
        gevent.spawn(_ticker, 10, ticks, done)
        gevent.spawn(lambda: (done.wait(), push.send(b"to b")))
        assert poller.poll(TIMEOUT_MS) == [(b, gzmq.POLLIN)]
        assert ticks == list(range(10))
        assert b.recv() == b"to b"
        gevent.spawn(lambda: w.send(b"!"))
        assert poller.poll(TIMEOUT_MS) == [(r.fileno(), gzmq.POLLIN)]
        assert b.poll(10) == 0
        assert push.poll(0, gzmq.POLLOUT) == gzmq.POLLOUT
        rl, _, _ = gzmq.select([a, b, r], [], [], 1.0)
        assert rl == [r.fileno()]
    finally:
        r.close()
        w.close()


def test_green_proxy_and_term(gctx: gzmq.Context) -> None:
    fe = mk(gctx, gzmq.PULL)
    fe.bind("inproc://fe")
    be = mk(gctx, gzmq.PUSH)
    be.bind("inproc://be")
    outcome: list[BaseException] = []

    def run_proxy() -> None:
        try:
            gzmq.proxy(fe, be)
        except BaseException as e:  # reported to the test
            outcome.append(e)
        finally:
            fe.close()
            be.close()

    g = gevent.spawn(run_proxy)
    src = mk(gctx, gzmq.PUSH)
    src.connect("inproc://fe")
    dst = mk(gctx, gzmq.PULL)
    dst.connect("inproc://be")
    for i in range(20):
        src.send_multipart([b"m", b"%d" % i])
    for i in range(20):
        assert dst.recv_multipart() == [b"m", b"%d" % i]
    src.close()
    dst.close()
    gctx.term()  # yields, so the proxy greenlet can see ContextTerminated and close
    g.join(5)
    assert len(outcome) == 1 and isinstance(outcome[0], gzmq.ContextTerminated)


def test_term_wakes_blocked_greenlet(gctx: gzmq.Context) -> None:
    s = mk(gctx, gzmq.PULL, rcvtimeo=-1)
    s.bind("inproc://blocked")
    errors: list[BaseException] = []

    def blocked() -> None:
        try:
            s.recv()
        except gzmq.ContextTerminated as e:
            errors.append(e)
            s.close()

    g = gevent.spawn(blocked)
    gevent.sleep(0)  # let it block
    gctx.term()
    g.join(5)
    assert len(errors) == 1


# -- interop with libzmq (pyzmq) -----------------------------------------------------


def _endpoint(kind: str, tmp_path: Path, n: int) -> str:
    return "tcp://127.0.0.1:*" if kind == "tcp" else f"ipc://{tmp_path}/g{n}.sock"


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("we_bind", [True, False], ids=["we-bind", "they-bind"])
def test_interop_with_libzmq(
    gctx: gzmq.Context, lzctx: Any, tmp_path: Path, transport: str, we_bind: bool
) -> None:
    """Green REQ and DEALER against libzmq REP and ROUTER served by a real thread."""
    zmq = pytest.importorskip("zmq")
    rep = lzctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = TIMEOUT_MS
    req = mk(gctx, gzmq.REQ)
    link(req, rep, we_bind, _endpoint(transport, tmp_path, 0))
    n = 20

    ticked = threading.Event()  # set by the ticker greenlet, awaited by the libzmq thread

    def serve() -> None:  # libzmq's blocking calls block only this thread
        ticked.wait(5)
        for _ in range(n):
            rep.send_multipart([b"re:", *rep.recv_multipart()])

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    ticks: list[int] = []
    g = gevent.spawn(_ticker, 10, ticks, ticked)
    for i in range(n):
        req.send_multipart([b"q", b"%d" % i])
        assert req.recv_multipart() == [b"re:", b"q", b"%d" % i]
    t.join(5)
    assert ticks == list(range(10))  # the hub ran the ticker while the first recv waited
    g.join()

    # the other direction: libzmq sends, the green socket waits in the hub
    push = lzctx.socket(zmq.PUSH)
    push.linger = 0
    pull = mk(gctx, gzmq.PULL)
    link(pull, push, we_bind, _endpoint(transport, tmp_path, 1))
    threading.Thread(target=lambda: push.send_multipart([b"from", b"libzmq"])).start()
    assert pull.recv_multipart() == [b"from", b"libzmq"]


# -- processes ------------------------------------------------------------------------

_PATCH_ALL_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import threading, time
import gevent, gevent.event
import zmq as libzmq
import purezmq
import purezmq.green as zmq

ctx = zmq.Context()
pull = ctx.socket(zmq.PULL)
pull.rcvtimeo = 5000
port = pull.bind_to_random_port("tcp://127.0.0.1")
io = ctx._io
assert type(io.thread).__name__ == "_OSThread", io.thread  # a real thread, not a greenlet
assert io.thread.ident != threading.get_ident()

push = ctx.socket(zmq.PUSH)
push.connect(f"tcp://127.0.0.1:{port}")
ticks = []
done = gevent.event.Event()
def ticker():
    for i in range(10):
        ticks.append(i)
        gevent.sleep(0.001)
    done.set()
gevent.spawn(ticker)
gevent.spawn(lambda: (done.wait(), push.send(b"green")))
assert pull.recv() == b"green" and ticks == list(range(10))

# The I/O thread delivers while the (only) OS thread computes without yielding.
push.send(b"busy")
t = time.monotonic()
while pull.poll(0) == 0 and time.monotonic() - t < 5:
    sum(range(1000))
assert pull.recv() == b"busy"

# The sync API under patch_all: blocking waits cooperate too; unbind crosses threads.
sctx = purezmq.Context()
s_pull = sctx.socket(purezmq.PULL)
s_pull.rcvtimeo = 5000
sport = s_pull.bind_to_random_port("tcp://127.0.0.1")
s_push = sctx.socket(purezmq.PUSH)
s_push.connect(f"tcp://127.0.0.1:{sport}")
ticks.clear(); done.clear()
gevent.spawn(ticker)
gevent.spawn(lambda: (done.wait(), s_push.send(b"sync")))
assert s_pull.recv() == b"sync" and ticks == list(range(10))
s_pull.unbind(s_pull.LAST_ENDPOINT)

# libzmq peer over tcp, both directions.
lctx = libzmq.Context()
lpull = lctx.socket(libzmq.PULL)
lport = lpull.bind_to_random_port("tcp://127.0.0.1")
gpush = ctx.socket(zmq.PUSH)
gpush.connect(f"tcp://127.0.0.1:{lport}")
gpush.send(b"to libzmq")
assert lpull.poll(5000) and lpull.recv() == b"to libzmq"
lpush = lctx.socket(libzmq.PUSH)
lpush.connect(f"tcp://127.0.0.1:{port}")
lpush.send(b"from libzmq")
assert pull.recv() == b"from libzmq"
lctx.destroy(linger=0)

sctx.destroy(linger=0)
ctx.destroy(linger=0)
assert not io.thread.is_alive()
print("done")
"""


def _run_script(script: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=timeout, env=env
    )


def test_patch_all_in_subprocess() -> None:
    out = _run_script(_PATCH_ALL_SCRIPT)
    assert out.returncode == 0, out.stderr
    assert "done" in out.stdout


_ROUND_SCRIPT = r"""
import sys, time
if sys.argv[1] == "after":
    from gevent import monkey
    monkey.patch_all()
import purezmq
from purezmq.core import socketbase
if sys.argv[1] == "before":
    from gevent import monkey
    monkey.patch_all()
ctx = purezmq.Context()
pull = ctx.socket(purezmq.PULL)
pull.bind("tcp://127.0.0.1:*")
rnd = pull._core.io_round
got = []
ctx._io.call(lambda: got.append(socketbase.get_ident() == rnd.ident))
t = time.monotonic()
while not got and time.monotonic() - t < 5:
    time.sleep(0.01)
ctx.destroy(linger=0)
print(got)
"""


@pytest.mark.parametrize("order", ["before", "after"])
def test_loop_round_is_recognised_whenever_gevent_patches(order: str) -> None:
    """The I/O loop thread knows itself as SocketBase.wake does, whether purezmq
    was imported before or after patch_all (else wake-ups caused by the loop's
    reads go out at once instead of at the end of the round: slower, not lost)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    out = subprocess.run(
        [sys.executable, "-c", _ROUND_SCRIPT, order],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[True]"


def test_import_without_gevent_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['gevent'] = None  # as if not installed\n"
        "try:\n"
        "    import purezmq.green\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    out = _run_script(script)
    assert out.returncode == 0, out.stderr
    assert "pip install purezmq[gevent]" in out.stdout


def test_io_thread_is_a_thread_without_patching() -> None:
    io = IOThread()
    try:
        assert isinstance(io.thread, threading.Thread) and io.thread.is_alive()
    finally:
        io.stop()


def test_example_runs() -> None:
    run_example("gevent_fanout.py")
