"""purezmq.eventloop: ZMQStream, tornado futures, the deprecated ioloop module.

Every test drives its own ``asyncio.run`` (tornado 6's IOLoop is the asyncio
loop) and every wait is bounded by ``asyncio.wait_for``. Waits are on
events the callbacks set, never on timed sleeps. The libzmq peer is pyzmq,
driven on the same loop through ``zmq.asyncio``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("tornado")

from tornado import gen  # noqa: E402
from tornado.concurrent import Future as TornadoFuture  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

import purezmq as zmq  # noqa: E402
import purezmq.asyncio as zaio  # noqa: E402
import purezmq.eventloop  # noqa: E402
from purezmq.eventloop import future as zfuture  # noqa: E402
from purezmq.eventloop.zmqstream import ZMQStream  # noqa: E402
from tests.helpers import link, run_example

pytestmark = pytest.mark.timeout(30)

ROOT = Path(__file__).resolve().parent.parent
T = 5.0  # seconds any single wait may take


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    """asyncio.run with unclosed-resource warnings made errors and an overall bound."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        return asyncio.run(asyncio.wait_for(coro_fn(), 20))


class Collector:
    """A callback that records its arguments; ``await c.wait(n)`` until n calls came."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed: asyncio.Event | None = None

    def __call__(self, *args: Any) -> None:
        self.items.append(args[0] if len(args) == 1 else args)
        if self._changed is not None:
            self._changed.set()

    async def wait(self, n: int) -> list[Any]:
        async def until() -> None:
            while len(self.items) < n:
                self._changed = asyncio.Event()
                await self._changed.wait()

        await asyncio.wait_for(until(), T)
        return self.items


async def turns(n: int = 20) -> None:
    """Let the loop run ``n`` iterations (ready callbacks only; no timers)."""
    for _ in range(n):
        await asyncio.sleep(0)


@pytest.fixture
def ipc_dir() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="pzt") as d:  # short: sun_path is ~107 bytes
        yield d


def _pair(ctx: zmq.Context, a: int, b: int, transport: str = "inproc") -> tuple[Any, Any]:
    """Socket of type ``a`` bound, ``b`` connected to it; LINGER 0."""
    sa, sb = ctx.socket(a), ctx.socket(b)
    sa.linger = sb.linger = 0
    if transport == "inproc":
        addr = f"inproc://t-{id(sa)}"
        sa.bind(addr)
    else:
        sa.bind("tcp://127.0.0.1:*")
        addr = sa.last_endpoint.decode()
    sb.connect(addr)
    return sa, sb


# -- receiving ----------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_on_recv_gets_multipart_lists(ctx: zmq.Context, transport: str) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH, transport)
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv(got)
        for i in range(200):
            push.send_multipart([b"a%d" % i, b"b"])
        push.send(b"single")
        items = await got.wait(201)
        assert items[:200] == [[b"a%d" % i, b"b"] for i in range(200)]
        assert items[200] == [b"single"]  # always a list, even for one frame
        stream.close()

    run(main)


def test_on_recv_stream_passes_the_stream(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv_stream(got)
        push.send(b"x")
        ((s, msg),) = await got.wait(1)
        assert s is stream and msg == [b"x"]
        stream.close()

    run(main)


def test_copy_false_gives_frames(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH, "tcp")
        stream = ZMQStream(pull)
        got = Collector()
        stream.on_recv(got, copy=False)
        push.send_multipart([b"head", b"x" * 100_000])
        (msg,) = await got.wait(1)
        assert all(isinstance(f, zmq.Frame) for f in msg)
        assert [f.bytes for f in msg] == [b"head", b"x" * 100_000]
        assert msg[0].more and not msg[1].more
        assert msg[0].get("Socket-Type") == "PUSH"
        stream.close()

    run(main)


def test_stop_on_recv_pauses_and_on_recv_resumes(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        stream = ZMQStream(pull)
        assert not stream.receiving()
        got = Collector()
        stream.on_recv(got)
        assert stream.receiving()
        push.send(b"1")
        await got.wait(1)
        stream.stop_on_recv()
        assert not stream.receiving()
        push.send(b"2")
        push.send(b"3")
        await turns()
        assert got.items == [[b"1"]]  # nothing taken off the socket while paused
        assert pull.poll(0) == zmq.POLLIN
        stream.on_recv(got)  # resuming picks up what waited (no new wake-up needed)
        assert await got.wait(3) == [[b"1"], [b"2"], [b"3"]]
        stream.close()

    run(main)


def test_stream_made_before_its_loop_runs(ctx: zmq.Context) -> None:
    """The classic pyzmq style: make streams, then ``io_loop.start()``; stop from a callback."""
    io_loop = IOLoop()
    try:
        rep, req = _pair(ctx, zmq.REP, zmq.REQ, "tcp")
        server, client = ZMQStream(rep, io_loop), ZMQStream(req, io_loop)
        assert server.io_loop is io_loop
        server.on_recv(server.send_multipart)
        replies: list[list[bytes]] = []

        def on_reply(msg: list[bytes]) -> None:
            replies.append(msg)
            if len(replies) == 3:
                io_loop.stop()

        client.on_recv(on_reply)
        for i in range(3):
            client.send(b"%d" % i)  # queued before the loop runs
        io_loop.call_later(T, io_loop.stop)  # a bound, should the test fail
        io_loop.start()
        assert replies == [[b"0"], [b"1"], [b"2"]]
        server.close()
        client.close()
    finally:
        io_loop.close()


def test_sync_callback_exception_is_logged_and_stream_goes_on(
    ctx: zmq.Context, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        stream = ZMQStream(pull)
        got = Collector()

        def cb(msg: list[bytes]) -> None:
            got(msg)
            if msg == [b"boom"]:
                raise ValueError("boom")

        stream.on_recv(cb)
        push.send(b"boom")
        push.send(b"after")
        assert await got.wait(2) == [[b"boom"], [b"after"]]
        stream.close()

    with caplog.at_level(logging.ERROR, logger="tornado.general"):
        run(main)
    assert "Uncaught exception in ZMQStream callback" in caplog.text
    assert "ValueError: boom" in caplog.text


# -- coroutine callbacks --------------------------------------------------------------------


def test_coroutine_callbacks(ctx: zmq.Context, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        out_pull, out_push = _pair(ctx, zmq.PULL, zmq.PUSH)
        rstream, sstream = ZMQStream(pull), ZMQStream(out_push)
        done = Collector()
        sent = Collector()
        gate = asyncio.Event()

        async def on_msg(msg: list[bytes]) -> None:
            if msg == [b"wait"]:
                await gate.wait()  # receiving goes on meanwhile (as pyzmq)
            elif msg == [b"fail"]:
                await asyncio.sleep(0)
                raise RuntimeError("coroutine failed")
            done(msg)
            sstream.send_multipart(msg)

        async def on_sent(msg: list[bytes], status: Any) -> None:
            await asyncio.sleep(0)
            sent(msg)

        rstream.on_recv(on_msg)
        sstream.on_send(on_sent)
        push.send(b"wait")
        push.send(b"fail")
        push.send(b"go")
        assert await done.wait(1) == [[b"go"]]
        gate.set()
        assert await done.wait(2) == [[b"go"], [b"wait"]]
        assert await sent.wait(2) == [[b"go"], [b"wait"]]
        assert out_pull.recv_multipart(zmq.NOBLOCK) == [b"go"]
        rstream.close()
        sstream.close()

    with caplog.at_level(logging.ERROR, logger="tornado.general"):
        run(main)
    assert "RuntimeError: coroutine failed" in caplog.text


# -- sending --------------------------------------------------------------------------------


def test_send_forms_and_on_send(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        rstream, sstream = ZMQStream(pull), ZMQStream(push)
        got = Collector()
        rstream.on_recv(got)
        sent = Collector()
        sstream.on_send(sent)
        sstream.send(b"raw")
        sstream.send_multipart([b"a", memoryview(b"b")], copy=False, track=True)
        sstream.send_string("héllo")
        sstream.send_unicode("uni", encoding="utf-16-le")
        sstream.send_json({"k": [1, 2]})
        sstream.send_pyobj({"p": 1})
        assert sstream.sending()  # queued: the loop sends them
        msgs = await got.wait(6)
        assert msgs[:4] == [[b"raw"], [b"a", b"b"], ["héllo".encode()], ["uni".encode("utf-16-le")]]
        assert zmq.utils.jsonapi.loads(msgs[4][0]) == {"k": [1, 2]}
        import pickle

        assert pickle.loads(msgs[5][0]) == {"p": 1}
        statuses = await sent.wait(6)
        assert [m for m, _ in statuses][:2] == [[b"raw"], [b"a", memoryview(b"b")]]
        assert statuses[0][1] is None
        assert isinstance(statuses[1][1], zmq.MessageTracker) and statuses[1][1].done
        assert not sstream.sending()
        rstream.close()
        sstream.close()

    run(main)


def test_send_callback_replaces_on_send_and_stream_variant(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        sstream = ZMQStream(push)
        first, second = Collector(), Collector()
        sstream.on_send_stream(first)
        sstream.send(b"1")
        ((s, msg, status),) = await first.wait(1)
        assert s is sstream and msg == [b"1"] and status is None
        sstream.send(b"2", callback=second)  # becomes the on_send callback (pyzmq)
        sstream.send_json([3])
        assert await second.wait(2) == [([b"2"], None), ([b"[3]"], None)]
        sstream.stop_on_send()
        sstream.send(b"4")
        await turns()
        assert not sstream.sending()
        assert len(second.items) == 2 and len(first.items) == 1
        assert [pull.recv(zmq.NOBLOCK) for _ in range(4)] == [b"1", b"2", b"[3]", b"4"]
        sstream.close()

    run(main)


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_sends_wait_for_hwm_and_resume(ctx: zmq.Context, transport: str) -> None:
    """Queued sends beyond HWM go out when the peer drains: the wake-up is not lost.

    Over tcp the kernel buffers are pinned small and the messages are big, so
    everything in flight (buffers + pipes) holds only a few of them.
    """

    async def main() -> None:
        push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
        for s in (push, pull):
            s.linger = 0
            s.sndhwm = s.rcvhwm = 2
            s.sndbuf = s.rcvbuf = 65536
        size = 256 * 1024 if transport == "tcp" else 1
        n = 40 if transport == "tcp" else 300
        if transport == "tcp":
            push.bind("tcp://127.0.0.1:*")
        else:
            push.bind(f"inproc://hwm-{id(push)}")
        pull.connect(push.last_endpoint.decode())
        sstream = ZMQStream(push)
        sent = Collector()
        sstream.on_send(sent)
        for i in range(n):
            sstream.send(b"%d:" % i + b"x" * size)
        await sent.wait(1)
        await turns()
        assert sstream.sending()  # blocked at HWM, nobody reads yet
        assert len(sent.items) < n // 2
        rstream = ZMQStream(pull)
        got = Collector()
        rstream.on_recv(got)
        assert await got.wait(n) == [[b"%d:" % i + b"x" * size] for i in range(n)]
        assert len(await sent.wait(n)) == n
        assert not sstream.sending()
        rstream.close()
        sstream.close()

    run(main)


def test_failed_sends_report_the_error_and_the_stream_goes_on(
    ctx: zmq.Context, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        router, dealer = _pair(ctx, zmq.ROUTER, zmq.DEALER, "tcp")
        router.router_mandatory = 1  # no POLLOUT without a peer: let one say hello first
        stream = ZMQStream(router)
        hello = Collector()
        stream.on_recv(hello)
        dealer.send(b"hello")
        await hello.wait(1)
        sent = Collector()
        stream.on_send(sent)
        stream.send_multipart([b"nobody", b"x"])  # unknown peer: EHOSTUNREACH
        stream.send_multipart([b"nobody", "not bytes"])  # TypeError
        ((m1, s1), (m2, s2)) = await sent.wait(2)
        assert m1 == [b"nobody", b"x"] and isinstance(s1, zmq.ZMQError)
        assert s1.errno == zmq.EHOSTUNREACH
        assert isinstance(s2, TypeError)
        assert not stream.sending() and not stream.closed()
        stream.close()

    with caplog.at_level(logging.ERROR, logger="tornado.general"):
        run(main)
    assert "ZMQStream send error" in caplog.text


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_req_rep_streams_take_turns(ctx: zmq.Context, transport: str) -> None:
    """Queued REQ sends wait for each reply (EVENTS lacks POLLOUT), as pyzmq's stream does."""

    async def main() -> None:
        rep, req = _pair(ctx, zmq.REP, zmq.REQ, transport)
        server, client = ZMQStream(rep), ZMQStream(req)
        server.on_recv(lambda msg: server.send_multipart([b"re:" + msg[0]]))
        replies = Collector()
        client.on_recv(replies)
        for i in range(20):
            client.send(b"%d" % i)  # all queued at once
        assert await replies.wait(20) == [[b"re:%d" % i] for i in range(20)]
        server.close()
        client.close()

    run(main)


# -- flush ----------------------------------------------------------------------------------


def test_flush(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)  # inproc: sends land in the pipe at once
        rstream = ZMQStream(pull)
        for i in range(5):
            push.send(b"%d" % i)
        # No callback: flush still takes (and drops) incoming messages.
        assert rstream.flush(zmq.POLLIN, limit=2) == 2
        assert rstream.flush() == 3
        assert rstream.flush() == 0
        got = Collector()
        rstream.on_recv(got)
        for i in range(3):
            push.send(b"%d" % i)
        assert rstream.flush(zmq.POLLIN) == 3  # callbacks run synchronously
        assert got.items == [[b"0"], [b"1"], [b"2"]]

        out_pull, out_push = _pair(ctx, zmq.PULL, zmq.PUSH)
        sstream = ZMQStream(out_push)
        sent = Collector()
        sstream.on_send(sent)
        for i in range(4):
            sstream.send(b"%d" % i)
        assert sstream.flush(zmq.POLLIN) == 0  # only receives asked for
        assert sstream.flush(zmq.POLLOUT, limit=3) == 3
        assert len(sent.items) == 3 and sstream.sending()
        assert sstream.flush() == 1
        assert not sstream.sending()
        assert [out_pull.recv(zmq.NOBLOCK) for _ in range(4)] == [b"0", b"1", b"2", b"3"]
        await turns()
        assert len(got.items) == 3 and len(sent.items) == 4  # nothing handled twice
        rstream.close()
        sstream.close()

    run(main)


# -- state, deprecated calls, attribute forwarding ---------------------------------------


def test_on_err_is_a_deprecated_noop(ctx: zmq.Context, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        stream = ZMQStream(ctx.socket(zmq.PULL))
        with caplog.at_level(logging.WARNING, logger="tornado.general"):
            stream.on_err(print)
            stream.stop_on_err()
        stream.close(linger=0)

    run(main)
    assert caplog.text.count("on_err does nothing") == 2


def test_socket_interface_forwarded_and_io_loop(ctx: zmq.Context) -> None:
    async def main() -> None:
        sock = ctx.socket(zmq.ROUTER)
        stream = ZMQStream(sock)
        assert stream.socket is sock
        assert stream.io_loop is IOLoop.current()
        assert stream.bind == sock.bind and stream.setsockopt == sock.setsockopt
        sock.linger = 0
        assert stream.linger == 0  # reads go to the socket too (writes don't: as pyzmq)
        assert stream.socket_type == zmq.ROUTER
        for name in ("recv", "recv_multipart", "recv_string", "_shared"):
            with pytest.raises(AttributeError):
                getattr(stream, name)
        other = ZMQStream(ctx.socket(zmq.PUSH), io_loop=IOLoop.current())
        assert other.io_loop is IOLoop.current()
        stream.close()
        other.close(linger=0)
        with pytest.raises(TypeError):
            ZMQStream(object())  # type: ignore[arg-type]

    run(main)


def test_close(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        stream = ZMQStream(push)
        closed = Collector()
        stream.set_close_callback(closed)
        stream.on_send(print)
        pull.close()  # nobody to send to: the queued message never leaves
        stream.send(b"never")
        assert not stream.closed()
        stream.close()
        assert stream.closed() and push.closed and stream.socket is None
        assert closed.items == [()]
        stream.close()  # idempotent
        assert closed.items == [()]
        with pytest.raises(OSError, match="Stream is closed"):
            stream.send(b"x")
        with pytest.raises(OSError, match="Stream is closed"):
            stream.on_recv(print)
        with pytest.raises(OSError, match="Stream is closed"):
            stream.flush()
        assert not stream.sending() and not stream.receiving()
        await turns()

    run(main)


def test_socket_closed_directly(ctx: zmq.Context) -> None:
    async def main() -> None:
        pull, push = _pair(ctx, zmq.PULL, zmq.PUSH)
        stream = ZMQStream(pull)
        closed = Collector()
        stream.set_close_callback(closed)
        stream.on_recv(print)
        with pytest.warns(UserWarning, match="use stream.close"):
            pull.close()  # the core wakes the stream; its handler notices
            await closed.wait(1)
        assert stream.closed()

    run(main)


def test_context_term_closes_the_stream() -> None:
    """term() from another thread: the stream sees ContextTerminated and closes its socket."""

    async def main() -> None:
        c = zmq.Context()
        stream = ZMQStream(c.socket(zmq.PULL))
        stream.bind("tcp://127.0.0.1:*")
        closed = Collector()
        stream.set_close_callback(closed)
        stream.on_recv(print)
        await asyncio.wait_for(asyncio.to_thread(c.term), T)  # returns once the stream closed
        assert closed.items == [()] and stream.closed()

    run(main)


# -- async sockets and loop-served contexts --------------------------------------------------


def test_async_socket_is_used_through_a_plain_socket() -> None:
    async def main() -> None:
        actx = zaio.Context()  # made in the loop: this loop serves its tcp connections
        asock = actx.socket(zmq.PULL)
        asock.linger = 0
        port = asock.bind_to_random_port("tcp://127.0.0.1")
        with pytest.warns(RuntimeWarning, match="only supports the base"):
            stream = ZMQStream(asock)
        assert type(stream.socket) is zmq.Socket and stream.socket._core is asock._core
        push = actx.socket(zmq.PUSH, socket_class=zmq.Socket)  # a sync socket, loop-served
        push.linger = 0
        push.connect(f"tcp://127.0.0.1:{port}")
        got = Collector()
        stream.on_recv(got)
        for i in range(50):
            push.send(b"%d" % i)
        assert await got.wait(50) == [[b"%d" % i] for i in range(50)]
        stream.close()
        assert asock.closed
        push.close()
        actx.term()

    run(main)


# -- interop with libzmq (pyzmq) -------------------------------------------------------------


def _bind_addr(transport: str, ipc_dir: str, name: str) -> str:
    return "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{ipc_dir}/{name}"


@pytest.mark.parametrize("ctx_kind", ["sync", "asyncio"])
@pytest.mark.parametrize("binder", ["we_bind", "they_bind"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_echo_server_stream_with_libzmq_client(
    transport: str, binder: str, ctx_kind: str, ipc_dir: str
) -> None:
    """Our ROUTER ZMQStream echoes; a libzmq DEALER (pyzmq, same loop) sends and checks."""
    zmq_lib = pytest.importorskip("zmq")
    import zmq.asyncio as lz_asyncio

    async def main() -> None:
        ctx = zmq.Context() if ctx_kind == "sync" else zaio.Context()
        lz = lz_asyncio.Context()
        ours = ctx.socket(zmq.ROUTER, socket_class=zmq.Socket)
        theirs = lz.socket(zmq_lib.DEALER)
        ours.linger = 0
        theirs.linger = 0
        try:
            link(ours, theirs, binder == "we_bind", _bind_addr(transport, ipc_dir, "s"))
            server = ZMQStream(ours)
            server.on_recv(server.send_multipart)
            n = 100
            for i in range(n):
                await theirs.send_multipart([b"%d" % i, b"x" * (i * 50)])
            for i in range(n):
                reply = await asyncio.wait_for(theirs.recv_multipart(), T)
                assert reply == [b"%d" % i, b"x" * (i * 50)]
            server.close()
        finally:
            theirs.close()
            lz.term()
            ctx.destroy(linger=0)

    run(main)


@pytest.mark.parametrize("binder", ["we_bind", "they_bind"])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_client_stream_with_libzmq_echo_server(transport: str, binder: str, ipc_dir: str) -> None:
    """Our DEALER ZMQStream sends; a libzmq ROUTER (pyzmq, same loop) echoes it back."""
    zmq_lib = pytest.importorskip("zmq")
    import zmq.asyncio as lz_asyncio

    async def main() -> None:
        ctx = zmq.Context()
        lz = lz_asyncio.Context()
        ours = ctx.socket(zmq.DEALER)
        theirs = lz.socket(zmq_lib.ROUTER)
        ours.linger = 0
        theirs.linger = 0
        n = 100

        async def echo() -> None:
            for _ in range(n):
                await theirs.send_multipart(await theirs.recv_multipart())

        try:
            link(ours, theirs, binder == "we_bind", _bind_addr(transport, ipc_dir, "c"))
            server = asyncio.ensure_future(echo())
            client = ZMQStream(ours)
            got = Collector()
            client.on_recv(got)
            for i in range(n):
                client.send_multipart([b"%d" % i, b"y" * i])
            assert await got.wait(n) == [[b"%d" % i, b"y" * i] for i in range(n)]
            await asyncio.wait_for(server, T)
            client.close()
        finally:
            theirs.close()
            lz.term()
            ctx.destroy(linger=0)

    run(main)


# -- purezmq.eventloop.future ------------------------------------------------------------------


def test_future_sockets_from_tornado_coroutines() -> None:
    @gen.coroutine
    def serve(sock: zfuture.Socket, n: int) -> Any:
        for _ in range(n):
            msg = yield sock.recv_multipart()
            yield sock.send_multipart([b"re:" + msg[0]])

    async def main() -> list[bytes]:
        ctx = zfuture.Context()
        rep: Any = ctx.socket(zmq.REP)
        req: Any = ctx.socket(zmq.REQ)
        assert isinstance(rep, zfuture.Socket) and isinstance(rep, zaio.Socket)
        rep.linger = req.linger = 0
        port = rep.bind_to_random_port("tcp://127.0.0.1")
        req.connect(f"tcp://127.0.0.1:{port}")
        server = serve(rep, 3)
        out: list[bytes] = []
        for i in range(3):
            f = req.send(b"%d" % i)
            assert isinstance(f, TornadoFuture)
            await f
            out.append(await asyncio.wait_for(req.recv(), T))
        await asyncio.wait_for(server, T)
        poller = zfuture.Poller()
        poller.register(req, zmq.POLLOUT)
        assert await asyncio.wait_for(poller.poll(1000), T) == [(req, zmq.POLLOUT)]
        req.close()
        rep.close()
        ctx.term()
        return out

    io_loop = IOLoop()  # the classic tornado way: run_sync on a fresh IOLoop
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ResourceWarning)
            assert io_loop.run_sync(main, timeout=20) == [b"re:0", b"re:1", b"re:2"]
    finally:
        io_loop.close()


def test_future_socket_with_libzmq_peer() -> None:
    zmq_lib = pytest.importorskip("zmq")
    import zmq.asyncio as lz_asyncio

    async def main() -> None:
        ctx = zfuture.Context()
        lz = lz_asyncio.Context()
        ours: Any = ctx.socket(zmq.DEALER)
        theirs = lz.socket(zmq_lib.ROUTER)
        ours.linger = theirs.linger = 0
        port = theirs.bind_to_random_port("tcp://127.0.0.1")
        ours.connect(f"tcp://127.0.0.1:{port}")
        await ours.send_multipart([b"ping"])
        rid, body = await asyncio.wait_for(theirs.recv_multipart(), T)
        await theirs.send_multipart([rid, body + b"/pong"])
        assert await asyncio.wait_for(ours.recv_multipart(), T) == [b"ping/pong"]
        ours.close()
        theirs.close()
        lz.term()
        ctx.term()

    run(main)


def test_future_context_and_socket_classes() -> None:
    async def main() -> None:
        inst = zfuture.Context.instance()
        assert isinstance(inst, zfuture.Context)
        assert inst is not zaio.Context.instance() and inst is not zmq.Context.instance()
        s = zfuture.Socket(socket_type=zmq.PUSH)  # no context: the future Context's instance
        assert s.context is inst
        # pyzmq's format; "zmq." instead of "purezmq." when installed as zmq
        assert repr(s).split(".", 1)[1].startswith("eventloop.future.Socket(zmq.PUSH) at 0x")
        s.close(linger=0)
        inst.term()
        zaio.Context.instance().term()
        zmq.Context.instance().term()

    run(main)


def test_future_socket_registers_with_its_ioloop() -> None:
    """pyzmq's private _get_loop(): the socket becomes a handler of the current IOLoop, so
    IOLoop.close(all_fds=True) closes it. The handler drains the edge-triggered FD: traffic
    wakes it once per change of EVENTS and an idle socket never spins the loop."""
    ctx = zfuture.Context()
    loop = IOLoop(make_current=False)
    pull, push, other = (ctx.socket(k) for k in (zmq.PULL, zmq.PUSH, zmq.PUB))
    for s in (pull, push, other):
        s.linger = 0
    calls: list[int] = []
    on_fd = pull._on_fd
    pull._on_fd = lambda fd, events: (calls.append(events), on_fd(fd, events))

    async def main() -> None:
        assert pull._get_loop() is loop and pull._get_loop() is loop  # registered once
        assert other._get_loop() is loop
        other.close()  # unregisters
        assert other not in [obj for obj, _ in loop.handlers.values()]
        pull.bind("inproc://future-ioloop-fd")
        push.connect("inproc://future-ioloop-fd")
        for i in range(3):
            await push.send(b"%d" % i)
            assert await asyncio.wait_for(pull.recv(), T) == b"%d" % i
        await turns(5)
        woken = len(calls)
        assert woken >= 1
        await turns(300)  # a handler on a level-triggered FD would run on each of these
        assert len(calls) - woken <= 2, calls

    try:
        loop.run_sync(main, timeout=20)
    finally:
        loop.close(all_fds=True)
        assert pull.closed and not push.closed
        push.close()
        ctx.term()


# -- modules ---------------------------------------------------------------------------------


def test_eventloop_package_exports() -> None:
    import tornado.ioloop

    assert purezmq.eventloop.IOLoop is tornado.ioloop.IOLoop
    assert purezmq.eventloop.__all__ == ["IOLoop"]
    assert purezmq.eventloop.zmqstream.ZMQStream is ZMQStream  # lazily importable attribute
    with pytest.raises(AttributeError):
        purezmq.eventloop.nothing  # noqa: B018


def test_ioloop_module_is_deprecated_alias() -> None:
    import tornado.ioloop

    sys.modules.pop("purezmq.eventloop.ioloop", None)
    with pytest.deprecated_call():
        ioloop = importlib.import_module("purezmq.eventloop.ioloop")
    assert ioloop.IOLoop is tornado.ioloop.IOLoop
    assert ioloop.ZMQIOLoop is tornado.ioloop.IOLoop
    with pytest.deprecated_call():
        ioloop.install()


def _python(code: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), PYTHONWARNINGS="error::ResourceWarning")
    return subprocess.run(
        [sys.executable, "-X", "dev", "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )


def test_import_without_tornado_says_what_to_install() -> None:
    out = _python(
        "import sys; sys.modules['tornado'] = None\n"  # as if tornado were not installed
        "import purezmq\n"  # the core needs no tornado
        "try:\n"
        "    from purezmq.eventloop.zmqstream import ZMQStream\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    assert out.returncode == 0, out.stderr
    assert "pip install purezmq[tornado]" in out.stdout


def test_install_as_zmq_gives_our_eventloop() -> None:
    out = _python(
        "import purezmq; purezmq.install_as_zmq()\n"
        "from zmq.eventloop.zmqstream import ZMQStream\n"
        "from zmq.eventloop import future\n"
        "print(ZMQStream.__module__, future.Context.__module__)\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["purezmq.eventloop.zmqstream", "purezmq.eventloop.future"]


def test_example_runs() -> None:
    out = run_example("zmqstream_echo.py")
    assert out.count("echo: hello") == 5
