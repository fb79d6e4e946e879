"""Socket monitors: v1 as pyzmq/libzmq, v2 as zmq_socket_monitor_versioned(3),
repeated monitor() calls on one socket, and monitors of purezmq.asyncio sockets.

The monitored connections are to libzmq (pyzmq) peers. Events are read with a
receive timeout; a test waits for the event it needs and skips the others
(CONNECT_DELAYED, HANDSHAKE_SUCCEEDED, ... arrive in an order libzmq does not
fix between event kinds).
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

import purezmq
import purezmq.asyncio
from purezmq.utils.monitor import parse_monitor_message, recv_monitor_message
from tests import helpers

pytestmark = pytest.mark.timeout(30)

TIMEOUT_MS = 5000


def _pair(ctx: Any, addr: str) -> Any:
    s = helpers.mk(ctx, purezmq.PAIR, timeout=TIMEOUT_MS)
    s.connect(addr)
    return s


def _wait_for(mon: Any, event: int) -> dict[str, Any]:
    """The first event ``event`` on ``mon`` (others skipped); fails after the timeout."""
    for _ in range(50):
        evt = recv_monitor_message(mon)
        if evt["event"] == event:
            return evt
    raise AssertionError(f"no {event!r} event")


def test_v1_frames_are_libzmqs(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://v1", purezmq.EVENT_LISTENING)
    mon = _pair(ctx, "inproc://v1")
    s.bind("tcp://127.0.0.1:*")
    frames = mon.recv_multipart()
    assert len(frames) == 2 and len(frames[0]) == 6
    event, _fd = struct.unpack("=HI", frames[0])
    assert event == purezmq.EVENT_LISTENING
    assert frames[1] == s.last_endpoint
    s.disable_monitor()


def test_v2_listener_and_accept_events(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://v2", purezmq.EVENT_ALL_V2, version=2)
    mon = _pair(ctx, "inproc://v2")
    s.bind("tcp://127.0.0.1:*")
    ep = s.last_endpoint
    frames = mon.recv_multipart()
    # event (u64), count (u64), values (u64 each), local, remote
    assert [len(f) for f in frames[:3]] == [8, 8, 8]
    assert struct.unpack("=Q", frames[0])[0] == purezmq.EVENT_LISTENING
    assert struct.unpack("=Q", frames[1])[0] == 1
    assert frames[3:] == [ep, b""]
    evt = parse_monitor_message(frames)
    assert evt["event"] == purezmq.EVENT_LISTENING
    assert evt["local_endpoint"] == ep and evt["remote_endpoint"] == b""
    assert evt["endpoint"] == ep

    peer = helpers.mk(lzctx, zmq.PUSH)
    peer.connect(ep.decode())
    acc = _wait_for(mon, purezmq.EVENT_ACCEPTED)
    assert acc["local_endpoint"] == ep and acc["remote_endpoint"] == b""
    ok = _wait_for(mon, purezmq.EVENT_HANDSHAKE_SUCCEEDED)
    # a connection's event names both ends: our address and the peer's
    assert ok["local_endpoint"] == ep
    host, port = peer.last_endpoint.decode().rsplit(":", 1)  # libzmq's own local address
    assert ok["remote_endpoint"].startswith(b"tcp://127.0.0.1:")
    assert ok["remote_endpoint"] != ep
    del host, port
    peer.close()
    gone = _wait_for(mon, purezmq.EVENT_DISCONNECTED)
    assert gone["local_endpoint"] == ep
    assert gone["remote_endpoint"] == ok["remote_endpoint"]


def test_v2_connect_events_carry_the_remote(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    srv = helpers.mk(lzctx, zmq.REP)
    port = srv.bind_to_random_port("tcp://127.0.0.1")
    ep = f"tcp://127.0.0.1:{port}".encode()
    s = helpers.mk(ctx, purezmq.REQ)
    s.monitor(
        "inproc://v2c", purezmq.EVENT_CONNECTED | purezmq.EVENT_HANDSHAKE_SUCCEEDED, version=2
    )
    mon = _pair(ctx, "inproc://v2c")
    s.connect(ep.decode())
    conn = _wait_for(mon, purezmq.EVENT_CONNECTED)
    assert conn["local_endpoint"] == b"" and conn["remote_endpoint"] == ep
    ok = _wait_for(mon, purezmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert ok["remote_endpoint"] == ep
    assert ok["local_endpoint"].startswith(b"tcp://127.0.0.1:")
    s.send(b"x")
    srv.send(srv.recv())
    assert s.recv() == b"x"


def test_v2_pub_monitor_topic_is_the_event(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://v2pub", purezmq.EVENT_ALL_V2, version=2, socket_type=purezmq.PUB)
    sub = helpers.mk(ctx, purezmq.SUB, timeout=TIMEOUT_MS)
    sub.subscribe(struct.pack("=Q", purezmq.EVENT_CLOSED))
    sub.connect("inproc://v2pub")
    s.bind("tcp://127.0.0.1:*")  # LISTENING: filtered out by the subscription
    ep = s.last_endpoint
    s.unbind(ep)
    evt = parse_monitor_message(sub.recv_multipart())
    assert evt["event"] == purezmq.EVENT_CLOSED
    assert evt["local_endpoint"] == ep


def test_v2_push_monitor_and_stop(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://v2push", purezmq.EVENT_ALL_V2, version=2, socket_type=purezmq.PUSH)
    pull = helpers.mk(ctx, purezmq.PULL, timeout=TIMEOUT_MS)
    pull.connect("inproc://v2push")
    s.disable_monitor()
    evt = recv_monitor_message(pull)
    assert evt["event"] == purezmq.EVENT_MONITOR_STOPPED
    assert evt["values"] == [0]


def test_monitor_rejects_bad_arguments(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    with pytest.raises(purezmq.ZMQError) as e:
        s.monitor("tcp://127.0.0.1:5555")
    assert e.value.errno == purezmq.EPROTONOSUPPORT
    with pytest.raises(purezmq.ZMQError):
        s.monitor("inproc://x", version=3)
    with pytest.raises(purezmq.ZMQError):
        s.monitor("inproc://x", socket_type=purezmq.PUB)  # v1 monitors are PAIR only
    with pytest.raises(purezmq.ZMQError):
        s.monitor("inproc://y", version=2, socket_type=purezmq.REP)


def test_stopped_only_when_asked_for(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://nostop", purezmq.EVENT_LISTENING)
    mon = _pair(ctx, "inproc://nostop")
    s.disable_monitor()
    s.bind("tcp://127.0.0.1:*")  # not monitored any more
    assert not mon.poll(200)


def test_monitor_called_again_on_one_socket(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    s = helpers.mk(ctx, purezmq.PULL)
    s.monitor("inproc://first", purezmq.EVENT_ALL)
    first = _pair(ctx, "inproc://first")
    s.bind("tcp://127.0.0.1:*")
    assert recv_monitor_message(first)["event"] == purezmq.EVENT_LISTENING
    # a second monitor() ends the first stream and starts a new one
    s.monitor("inproc://second", purezmq.EVENT_ALL)
    assert recv_monitor_message(first)["event"] == purezmq.EVENT_MONITOR_STOPPED
    second = _pair(ctx, "inproc://second")
    peer = helpers.mk(lzctx, zmq.PUSH)
    peer.connect(s.last_endpoint.decode())
    assert _wait_for(second, purezmq.EVENT_ACCEPTED)["endpoint"] == s.last_endpoint
    assert not first.poll(100)
    # and the same address again, many times over
    for _ in range(5):
        s.monitor("inproc://second", purezmq.EVENT_ALL)
        assert _wait_for(second, purezmq.EVENT_MONITOR_STOPPED)
        second.close()
        second = _pair(ctx, "inproc://second")
    s.close()
    assert _wait_for(second, purezmq.EVENT_MONITOR_STOPPED)  # close ends the stream


def test_get_monitor_socket_is_reused(ctx: purezmq.Context) -> None:
    s = helpers.mk(ctx, purezmq.PULL)
    m = s.get_monitor_socket()
    assert s.get_monitor_socket() is m
    s.disable_monitor()
    assert recv_monitor_message(m)["event"] == purezmq.EVENT_MONITOR_STOPPED
    m.close()
    m2 = s.get_monitor_socket()
    assert m2 is not m
    s.disable_monitor()
    m2.close()


def test_pipes_stats(ctx: purezmq.Context, lzctx: Any) -> None:
    import zmq

    s = helpers.mk(ctx, purezmq.PULL)
    with pytest.raises(purezmq.ZMQError):
        s.monitor_pipes_stats()  # no v2 monitor
    s.monitor("inproc://stats", purezmq.EVENT_PIPES_STATS, version=2)
    mon = _pair(ctx, "inproc://stats")
    with pytest.raises(purezmq.Again):
        s.monitor_pipes_stats()  # no peer yet
    s.bind("tcp://127.0.0.1:*")
    peer = helpers.mk(lzctx, zmq.PUSH)
    peer.connect(s.last_endpoint.decode())
    for i in range(3):
        peer.send(b"%d" % i)
    assert s.recv() == b"0"
    for _ in range(100):  # wait until both remaining messages are queued here
        s.monitor_pipes_stats()
        evt = recv_monitor_message(mon)
        if evt["values"][1] == 2:
            break
    assert evt["event"] == purezmq.EVENT_PIPES_STATS
    assert evt["values"] == [0, 2]
    assert evt["local_endpoint"] == s.last_endpoint


@pytest.mark.parametrize("version", [1, 2])
def test_asyncio_socket_monitor(version: int, lzctx: Any) -> None:
    import zmq

    async def main() -> None:
        actx = purezmq.asyncio.Context()
        try:
            s = actx.socket(purezmq.REP)
            s.linger = 0
            srv = helpers.mk(lzctx, zmq.REQ)
            port = srv.bind_to_random_port("tcp://127.0.0.1")
            if version == 1:
                mon = s.get_monitor_socket()
            else:
                s.monitor("inproc://amon", purezmq.EVENT_ALL_V2, version=2)
                mon = actx.socket(purezmq.PAIR)
                mon.connect("inproc://amon")
            assert isinstance(mon, purezmq.asyncio.Socket)
            s.connect(f"tcp://127.0.0.1:{port}")
            for _ in range(20):
                evt = await asyncio.wait_for(recv_monitor_message(mon), 5)
                if evt["event"] == purezmq.EVENT_CONNECTED:
                    break
            assert evt["event"] == purezmq.EVENT_CONNECTED
            assert evt["endpoint"] == f"tcp://127.0.0.1:{port}".encode()
            s.disable_monitor()
            for _ in range(20):
                evt = await asyncio.wait_for(recv_monitor_message(mon), 5)
                if evt["event"] == purezmq.EVENT_MONITOR_STOPPED:
                    break
            assert evt["event"] == purezmq.EVENT_MONITOR_STOPPED
            mon.close()
            s.close()
        finally:
            actx.destroy(linger=0)

    asyncio.run(main())
