"""purezmq.asyncio: Future-returning sockets on the running loop.

Every test drives its own ``asyncio.run`` (no pytest-asyncio) and carries a
timeout; coroutines that wait use ``asyncio.wait_for`` so a bug fails fast.
"""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import threading
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

import purezmq as zmq
import purezmq.asyncio as zaio
from purezmq.runtime.iothread import IOThread
from tests.helpers import run_example

pytestmark = pytest.mark.timeout(30)

T = 5.0  # seconds any single await may take


def run(coro_fn: Callable[[], Awaitable[Any]], loop_factory: Any = None) -> Any:
    """asyncio.run with warnings about unclosed resources / pending tasks made errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        if loop_factory is None:
            return asyncio.run(asyncio.wait_for(coro_fn(), 20))
        loop = loop_factory()
        try:
            return loop.run_until_complete(asyncio.wait_for(coro_fn(), 20))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def w(aw: Awaitable[Any]) -> Awaitable[Any]:
    return asyncio.wait_for(aw, T)


def _endpoint(transport: str) -> str:
    return (
        "tcp://127.0.0.1:*" if transport == "tcp" else f"inproc://aio-{os.getpid()}-{id(transport)}"
    )


async def _reqrep(transport: str) -> None:
    ctx = zaio.Context()
    rep = ctx.socket(zmq.REP)
    req = ctx.socket(zmq.REQ)
    rep.bind(_endpoint(transport))
    req.connect(rep.last_endpoint.decode())
    if transport == "tcp":
        assert isinstance(ctx._reactor(), IOThread)  # every Context has background I/O
    for i in range(20):
        await w(req.send_multipart([b"a", b"%d" % i]))
        msg = await w(rep.recv_multipart())
        assert msg == [b"a", b"%d" % i]
        await w(rep.send(b"x", zmq.SNDMORE))
        await w(rep.send(msg[1]))
        assert await w(req.recv()) == b"x"
        assert req.rcvmore
        assert await w(req.recv()) == b"%d" % i
    await w(req.send_json({"k": [1, 2]}))
    assert await w(rep.recv_json()) == {"k": [1, 2]}
    await w(rep.send_pyobj({"o": 1}))
    assert await w(req.recv_pyobj()) == {"o": 1}
    await w(req.send_string("héllo"))
    assert await w(rep.recv_string()) == "héllo"
    await w(rep.send_serialized([1, 2], lambda m: [bytes(m)]))
    assert await w(req.recv_serialized(lambda fr: list(fr[0]))) == [1, 2]
    ctx.destroy(linger=0)


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_reqrep(transport: str) -> None:
    run(lambda: _reqrep(transport))


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_pubsub(transport: str) -> None:
    async def main() -> None:
        ctx = zaio.Context()
        pub = ctx.socket(zmq.PUB)
        sub = ctx.socket(zmq.SUB)
        pub.bind(_endpoint(transport))
        sub.subscribe(b"a")
        sub.connect(pub.last_endpoint.decode())
        # Subscriptions travel asynchronously: publish until one arrives.
        got = None
        for _ in range(200):
            await pub.send_multipart([b"b", b"no"])
            await pub.send_multipart([b"a", b"yes"])
            if await sub.poll(20):
                got = await w(sub.recv_multipart())
                break
        assert got == [b"a", b"yes"]
        ctx.destroy(linger=0)

    run(main)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("we_bind", [True, False])
def test_interop_pyzmq(transport: str, we_bind: bool) -> None:
    lz = pytest.importorskip("zmq")
    lzaio = pytest.importorskip("zmq.asyncio")
    tmp = tempfile.mkdtemp()

    async def main() -> None:
        ctx = zaio.Context()
        lctx = lzaio.Context()
        ours = ctx.socket(zmq.DEALER)
        theirs = lctx.socket(lz.ROUTER)
        addr = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp}/s"
        if we_bind:
            ours.bind(addr)
            theirs.connect(ours.last_endpoint.decode())
        else:
            theirs.bind(addr)
            ours.connect(theirs.last_endpoint.decode())
        for i in range(10):
            await w(ours.send_multipart([b"ping", b"%d" % i]))
            rid, *body = await w(theirs.recv_multipart())
            assert body == [b"ping", b"%d" % i]
            await w(theirs.send_multipart([rid, b"pong", body[1]]))
            assert await w(ours.recv_multipart()) == [b"pong", b"%d" % i]
        theirs.close(linger=0)
        lctx.term()
        ctx.destroy(linger=0)

    try:
        run(main)
    finally:
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)


def test_cancel_pending_recv_loses_nothing() -> None:
    async def main() -> None:
        ctx = zaio.Context()
        a = ctx.socket(zmq.PAIR)
        b = ctx.socket(zmq.PAIR)
        a.bind("tcp://127.0.0.1:*")
        b.connect(a.last_endpoint.decode())
        pending = asyncio.ensure_future(b.recv_multipart())
        pending_str = b.recv_string()
        await asyncio.sleep(0.05)
        assert not pending.done()
        pending.cancel()
        pending_str.cancel()
        await asyncio.sleep(0)
        await w(a.send_multipart([b"one", b"two"]))
        await w(a.send_string("three"))
        assert await w(b.recv_multipart()) == [b"one", b"two"]
        assert await w(b.recv_string()) == "three"
        ctx.destroy(linger=0)

    run(main)


def test_send_multipart_waits_at_hwm_then_completes() -> None:
    async def main() -> None:
        ctx = zaio.Context()
        push = ctx.socket(zmq.PUSH)
        pull = ctx.socket(zmq.PULL)
        push.sndhwm = 1
        pull.rcvhwm = 1
        pull.bind("inproc://hwm")
        push.connect("inproc://hwm")
        sent = 0
        fut = None
        for _ in range(100):
            fut = push.send_multipart([b"m", b"%d" % sent])
            await asyncio.sleep(0)
            if not fut.done():
                break
            sent += 1
        assert fut is not None and not fut.done(), "HWM never reached"
        with pytest.raises(zmq.Again):
            await push.send(b"x", zmq.NOBLOCK)
        # A cancelled pending send sends nothing; the earlier pending one still goes.
        dropped = push.send_multipart([b"dropped", b"!"])
        dropped.cancel()
        await asyncio.sleep(0.05)
        assert not fut.done()
        got = [await w(pull.recv_multipart()) for _ in range(sent + 1)]
        assert got == [[b"m", b"%d" % i] for i in range(sent + 1)]
        await w(fut)
        assert await pull.poll(50) == 0  # the cancelled send never went
        ctx.destroy(linger=0)

    run(main)


def test_rcvtimeo_sndtimeo_and_noblock() -> None:
    async def main() -> None:
        ctx = zaio.Context()
        s = ctx.socket(zmq.PULL)
        s.bind("inproc://timeo")
        with pytest.raises(zmq.Again):
            await s.recv(zmq.NOBLOCK)
        s.rcvtimeo = 50
        t0 = asyncio.get_running_loop().time()
        with pytest.raises(zmq.Again):
            await w(s.recv())
        assert asyncio.get_running_loop().time() - t0 >= 0.04
        p = ctx.socket(zmq.PUSH)  # no peer: send blocks
        p.sndtimeo = 50
        with pytest.raises(zmq.Again):
            await w(p.send(b"x"))
        ctx.destroy(linger=0)

    run(main)


def test_timeouts_share_one_timer_per_socket() -> None:
    """A shorter RCVTIMEO queued behind a longer one still fails on time; later ops too."""

    async def main() -> None:
        ctx = zaio.Context()
        s = ctx.socket(zmq.PULL)
        s.bind("inproc://timeo-shared")
        loop = asyncio.get_running_loop()
        s.rcvtimeo = 2000
        t0 = loop.time()
        slow = s.recv()
        s.rcvtimeo = 50
        with pytest.raises(zmq.Again):
            await w(s.recv())
        assert 0.04 <= loop.time() - t0 < 1.5
        assert not slow.done()
        slow.cancel()
        await asyncio.sleep(0.1)  # the timer fires with nothing overdue, then idles
        t0 = loop.time()
        with pytest.raises(zmq.Again):
            await w(s.recv())
        assert loop.time() - t0 >= 0.04
        ctx.destroy(linger=0)

    run(main)


def test_resume_after_engine_read_keeps_order_and_callbacks() -> None:
    """Tasks resumed right after an engine's read: FIFO, their context, failing callbacks."""

    async def main() -> None:
        ctx = zaio.Context()
        pull = ctx.socket(zmq.PULL)
        push = ctx.socket(zmq.PUSH)
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        errors: list[Any] = []
        asyncio.get_running_loop().set_exception_handler(lambda _, c: errors.append(c))

        async def waiter(i: int) -> tuple[int, bytes, int]:
            me = asyncio.current_task()
            msg = await pull.recv()
            assert asyncio.current_task() is me
            return i, msg, i

        tasks = [asyncio.ensure_future(waiter(i)) for i in range(3)]
        await asyncio.sleep(0.05)
        failing = pull.recv()
        failing.add_done_callback(lambda f: 1 / 0)
        seen: list[bytes] = []
        failing.add_done_callback(lambda f: seen.append(f.result()))
        for i in range(4):
            await push.send(b"m%d" % i)
        assert await w(asyncio.gather(*tasks)) == [(i, b"m%d" % i, i) for i in range(3)]
        assert await w(failing) == b"m3"
        await asyncio.sleep(0)
        assert seen == [b"m3"]
        assert len(errors) == 1 and isinstance(errors[0]["exception"], ZeroDivisionError)
        ctx.destroy(linger=0)

    run(main)


def test_sync_thread_and_async_over_inproc() -> None:
    ctx = zaio.Context()
    sync = zmq.Socket(ctx, zmq.PAIR)  # a blocking socket of the same context
    sync.bind("inproc://mixed")
    sync.rcvtimeo = 5000
    errors: list[BaseException] = []

    def echo() -> None:
        try:
            for _ in range(50):
                sync.send_multipart(sync.recv_multipart())
        except BaseException as e:  # reported by the test
            errors.append(e)

    async def main() -> None:
        a = ctx.socket(zmq.PAIR)
        a.connect("inproc://mixed")
        th = threading.Thread(target=echo)
        th.start()
        for i in range(50):
            await w(a.send_multipart([b"%d" % i]))
            assert await w(a.recv_multipart()) == [b"%d" % i]
        await asyncio.get_running_loop().run_in_executor(None, th.join, 5)
        a.close(linger=0)

    run(main)
    sync.close(linger=0)
    ctx.term()
    assert not errors


def test_async_in_thread_with_sync_main() -> None:
    ctx = zmq.Context()
    sync = ctx.socket(zmq.PAIR)
    sync.bind("inproc://mixed2")
    sync.rcvtimeo = 5000

    def in_thread() -> None:
        async def main() -> None:
            base = zmq.Socket(ctx, zmq.PAIR)  # the shadow needs its original alive
            a = zaio.Socket.from_socket(base)
            a.connect("inproc://mixed2")
            for _ in range(20):
                await w(a.send(await w(a.recv())))
            a.close(linger=-1)

        run(main)

    th = threading.Thread(target=in_thread)
    th.start()
    for i in range(20):
        sync.send(b"%d" % i)
        assert sync.recv() == b"%d" % i
    th.join(5)
    assert not th.is_alive()
    sync.close(linger=0)
    ctx.term()


def test_poll_with_timeouts_and_raw_fds() -> None:
    async def main() -> None:
        ctx = zaio.Context()
        a = ctx.socket(zmq.PAIR)
        b = ctx.socket(zmq.PAIR)
        a.bind("tcp://127.0.0.1:*")
        b.connect(a.last_endpoint.decode())
        assert await w(b.poll(30)) == 0
        assert await b.poll(0) == 0
        assert await w(b.poll(1000, zmq.POLLOUT)) == zmq.POLLOUT
        r, wr = socket.socketpair()
        poller = zaio.Poller()
        poller.register(b, zmq.POLLIN)
        poller.register(r, zmq.POLLIN)
        assert await w(poller.poll(30)) == []
        fut = poller.poll()
        await asyncio.sleep(0.02)
        assert not fut.done()
        await a.send(b"hi")
        assert await w(fut) == [(b, zmq.POLLIN)]
        assert await b.recv() == b"hi"
        wr.send(b"x")
        assert await w(poller.poll(2000)) == [
            (r.fileno(), zmq.POLLIN)
        ]  # pyzmq: raw items come back as fds
        r.recv(1)
        # A cancelled poll unregisters everything.
        fut = poller.poll(None)
        fut.cancel()
        await asyncio.sleep(0)
        poller.unregister(r)
        r.close()
        wr.close()
        ctx.destroy(linger=0)

    run(main)


def test_close_cancels_and_term_wakes() -> None:
    async def main() -> None:
        ctx = zaio.Context()
        a = ctx.socket(zmq.PULL)
        a.bind("tcp://127.0.0.1:*")
        f = a.recv()
        a.close()
        await asyncio.sleep(0)
        assert f.cancelled()
        b = ctx.socket(zmq.PULL)
        b.bind("tcp://127.0.0.1:*")
        g = asyncio.ensure_future(b.recv())
        await asyncio.sleep(0.01)
        ctx.term()  # on the serving loop: does not block
        with pytest.raises(zmq.ContextTerminated):
            await w(g)
        b.close()

    run(main)


def test_shadow_sync_context_and_instance() -> None:
    sctx = zmq.Context()
    actx = zaio.Context(sctx)
    assert zaio.Context.instance() is zaio.Context.instance()
    assert not isinstance(zmq.Context.instance(), zaio.Context)

    async def main() -> None:
        a = actx.socket(zmq.PAIR)
        assert isinstance(a, zaio.Socket)
        a.bind("tcp://127.0.0.1:*")
        b = sctx.socket(zmq.PAIR)
        b.connect(a.last_endpoint.decode())
        await w(a.send(b"x"))
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, b.recv) == b"x"
        b.close(linger=0)
        a.close(linger=0)

    run(main)
    actx.term()
    sctx.term()
    zaio.Context.instance().term()


def test_futures_belong_to_the_running_loop() -> None:
    """Loops one after another and two at once in threads each get their own Futures."""

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ctx = zaio.Context()
        a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
        a.bind(f"inproc://loops-{threading.get_ident()}")
        b.connect(f"inproc://loops-{threading.get_ident()}")
        for i in range(50):
            r = b.recv()
            s = a.send(b"%d" % i)
            assert r.get_loop() is loop and s.get_loop() is loop
            assert await w(r) == b"%d" % i
            await asyncio.sleep(0)  # let the other thread's loop interleave
        ctx.destroy(linger=0)

    run(main)
    run(main)
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            run(main)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(10)
    assert not errors and not any(th.is_alive() for th in threads)
    # With no loop running any more, a call says what is wrong.
    ctx = zaio.Context()
    sock = ctx.socket(zmq.PAIR)
    with pytest.raises(RuntimeError, match="asyncio event loop"):
        sock.recv()
    sock.close(linger=0)
    ctx.term()


def test_uvloop() -> None:
    uvloop = pytest.importorskip("uvloop")
    run(lambda: _reqrep("tcp"), loop_factory=uvloop.new_event_loop)


@pytest.mark.parametrize("name", ["asyncio_reqrep.py", "asyncio_pubsub.py"])
def test_examples_run(name: str) -> None:
    run_example(name)
