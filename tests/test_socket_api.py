"""The pyzmq socket API over purezmq: flags, frames, serialisation helpers,
polling, options and attributes, endpoints, errors, monitor, contexts.

Where pyzmq's behaviour is the reference (return values, errnos, exception
types), the expected values here are what pyzmq 27 / libzmq 4.3.5 give.
"""

from __future__ import annotations

import errno
import gc
import io
import itertools
import os
import pickle
import select as _select
import socket
import struct
import subprocess
import sys
import threading
import time

import pytest
from helpers import mk

import purezmq as zmq

pytestmark = pytest.mark.timeout(20)

# ``ctx`` (tests/conftest.py): a fresh purezmq Context, destroyed with linger 0.

_names = itertools.count()


def inproc():
    return f"inproc://api-{next(_names)}"


@pytest.fixture
def pair(ctx):
    a, b = mk(ctx, zmq.PAIR), mk(ctx, zmq.PAIR)
    ep = inproc()
    a.bind(ep)
    b.connect(ep)
    return a, b


@pytest.fixture
def tcp_pair(ctx):
    a, b = mk(ctx, zmq.PAIR), mk(ctx, zmq.PAIR)
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint.decode())
    return a, b


# -- send / recv ---------------------------------------------------------------------------


def test_noblock_recv_raises_again(pair):
    a, b = pair
    with pytest.raises(zmq.Again) as e:
        b.recv(zmq.NOBLOCK)
    assert e.value.errno == zmq.EAGAIN
    assert isinstance(e.value, zmq.ZMQError)
    a.send(b"x", zmq.NOBLOCK)
    assert b.recv(zmq.NOBLOCK if b.poll(1000) else 0) == b"x"


def test_sndmore_rcvmore(pair):
    a, b = pair
    a.send(b"1", zmq.SNDMORE)
    a.send(b"", zmq.SNDMORE)
    a.send(b"3")
    assert b.recv() == b"1"
    assert b.get(zmq.RCVMORE) == 1 and b.rcvmore
    assert b.recv() == b""
    assert b.getsockopt(zmq.RCVMORE) == 1
    assert b.recv() == b"3"
    assert b.get(zmq.RCVMORE) == 0
    a.send_multipart([b"x", b"y"])
    assert b.recv_multipart() == [b"x", b"y"]


def test_send_multipart_sndmore_continues(pair):
    a, b = pair
    a.send_multipart([b"a", b"b"], zmq.SNDMORE)
    a.send(b"c")
    assert b.recv_multipart() == [b"a", b"b", b"c"]


def test_send_multipart_takes_a_generator_of_mixed_parts(pair):
    """The all-bytes shortcut lists the parts once; falling back (a buffer part)
    must not read the used-up generator again."""
    a, b = pair
    a.send_multipart(p for p in [b"a", memoryview(b"b")])
    assert b.recv_multipart() == [b"a", b"b"]


def test_send_accepts_buffers(pair):
    a, b = pair
    a.send(bytearray(b"ba"))
    a.send(memoryview(b"mv"))
    a.send_multipart([b"x", bytearray(b"y"), memoryview(b"z")])
    assert b.recv() == b"ba"
    assert b.recv() == b"mv"
    assert b.recv_multipart() == [b"x", b"y", b"z"]
    with pytest.raises(TypeError):
        a.send("text")  # str needs send_string
    with pytest.raises(TypeError):
        a.send_multipart([b"ok", "text"])


def test_mutable_buffer_snapshot_with_copy(pair):
    a, b = pair
    buf = bytearray(b"before")
    a.send(buf)  # copy=True: later changes do not show
    buf[:] = b"after!"
    assert b.recv() == b"before"


def test_recv_copy_false_frames(pair):
    a, b = pair
    a.send_multipart([b"first", b"second"])
    f1 = b.recv(copy=False)
    assert isinstance(f1, zmq.Frame)
    assert f1.bytes == b"first" and bytes(f1) == b"first" and len(f1) == 5
    assert bytes(f1.buffer) == b"first" and isinstance(f1.buffer, memoryview)
    assert f1.more is True and f1.get(zmq.MORE) == 1
    f2 = b.recv(copy=False)
    assert f2.more is False and f2.bytes == b"second"
    a.send_multipart([b"p", b"q"])
    frames = b.recv_multipart(copy=False)
    assert [f.bytes for f in frames] == [b"p", b"q"]
    assert [f.more for f in frames] == [True, False]


def test_frame_exports_a_writable_buffer(tcp_pair):
    """memoryview(frame) on every Python (a C base type before 3.12): as pyzmq's, a
    received frame's view is writable and stays valid after later receives."""
    a, b = tcp_pair
    a.send(b"\x00" * 64)
    f = b.recv(copy=False)
    view = memoryview(f)
    assert type(view) is memoryview and not view.readonly
    assert view.ndim == 1 and view.shape == (64,) and view.tobytes() == b"\x00" * 64
    view[:2] = b"ab"
    assert f.bytes[:2] == b"ab" and f.buffer.tobytes() == view.tobytes()
    a.send(b"\xff" * 64)
    assert b.recv(copy=False).bytes == b"\xff" * 64
    assert view.tobytes() == b"ab" + b"\x00" * 62  # not a reused receive buffer
    data = "§¶•ªº".encode()
    mv = memoryview(zmq.Frame(data))
    assert (mv.ndim, mv.shape, mv.tobytes()) == (1, (len(data),), data)
    buf = zmq.Frame(b"....")
    assert io.BytesIO(b"xyz").readinto(buf) == 3 and buf.bytes == b"xyz."
    assert b"".join([zmq.Frame(b"jo"), zmq.Frame(b"in")]) == b"join"


def test_large_frame_buffer_is_viewed_in_place():
    """Data of COPY_THRESHOLD bytes or more is never copied for a view: read-only bytes
    give a read-only view, and a request for a writable one is refused."""
    data = b"x" * zmq.COPY_THRESHOLD
    f = zmq.Frame(data, copy=False)
    view = memoryview(f)
    assert view.readonly  # not a copy: that would be a writable bytearray
    with pytest.raises(TypeError):
        io.BytesIO(b"y").readinto(f)
    shared = bytearray(zmq.COPY_THRESHOLD)
    w = memoryview(zmq.Frame(shared, copy=False))
    w[0] = 1
    assert shared[0] == 1


def test_send_frame_objects(pair):
    a, b = pair
    a.send(zmq.Frame(b"frame"), copy=False)
    a.send_multipart([zmq.Frame(b"x"), zmq.Frame(b"y")], copy=False)
    assert b.recv() == b"frame"
    assert b.recv_multipart() == [b"x", b"y"]


def test_frame_properties_over_tcp(ctx):
    pull = mk(ctx, zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = mk(ctx, zmq.PUSH)
    push.connect(pull.last_endpoint.decode())
    push.send(b"hi")
    f = pull.recv(copy=False)
    assert f.get("Socket-Type") == "PUSH"
    assert f.get("Peer-Address") == "127.0.0.1"


def test_track_message_tracker(pair):
    a, b = pair
    tracker = a.send(b"x" * 100_000, copy=False, track=True)
    assert isinstance(tracker, zmq.MessageTracker)
    assert b.recv() == b"x" * 100_000
    tracker.wait(2)
    assert tracker.done
    tracker = a.send_multipart([b"a", b"b"], copy=False, track=True)
    assert b.recv_multipart() == [b"a", b"b"]
    tracker.wait(2)
    assert tracker.done
    frame = zmq.Frame(b"tracked", track=True)
    tracker = a.send(frame, copy=False, track=True)
    assert b.recv() == b"tracked"
    tracker.wait(2)
    assert tracker.done and frame.tracker.done


def test_string_json_pyobj(pair):
    a, b = pair
    a.send_string("héllo")
    assert b.recv_string() == "héllo"
    a.send_string("héllo", encoding="latin-1")
    assert b.recv() == "héllo".encode("latin-1")
    a.send_string("x", zmq.SNDMORE)
    a.send_string("y")
    assert b.recv_multipart() == [b"x", b"y"]
    with pytest.raises(TypeError):
        a.send_string(b"bytes")
    obj = {"a": [1, 2.5, None, True], "b": "ü"}
    a.send_json(obj)
    assert b.recv_json() == obj
    pyobj = {"set": {1, 2}, "tuple": (1, "x"), "bytes": b"\x00"}
    a.send_pyobj(pyobj)
    assert b.recv_pyobj() == pyobj
    a.send_pyobj([1], protocol=2)
    assert pickle.loads(b.recv()) == [1]


def test_send_recv_serialized(pair):
    a, b = pair

    def serialize(msg):
        return [k.encode() for k in msg]

    def deserialize(frames):
        return [f.decode() for f in frames]

    a.send_serialized(["a", "b", "c"], serialize)
    assert b.recv_serialized(deserialize) == ["a", "b", "c"]
    a.send_serialized(["x"], serialize)
    assert b.recv_serialized(lambda fs: [bytes(f) for f in fs], copy=False) == [b"x"]


def test_recv_into(pair):
    a, b = pair
    # Returns the size of the frame, truncating into a small buffer (pyzmq 26.4+).
    a.send(b"hello world")
    buf = bytearray(5)
    assert b.recv_into(buf) == 11
    assert buf == b"hello"
    a.send(b"abc")
    buf = bytearray(10)
    assert b.recv_into(buf) == 3
    assert buf[:3] == b"abc" and buf[3:] == bytes(7)
    a.send(b"abc")
    buf = bytearray(10)
    assert b.recv_into(buf, nbytes=2) == 3
    assert buf[:3] == b"ab\x00"
    a.send(b"discarded")
    assert b.recv_into(bytearray()) == 9
    a.send(b"into memoryview")
    mv = memoryview(bytearray(32))
    n = b.recv_into(mv)
    assert mv[:n].tobytes() == b"into memoryview"
    a.send_multipart([b"a", b"bb"])
    buf = bytearray(4)
    assert b.recv_into(buf) == 1 and b.rcvmore == 1
    assert b.recv_into(buf) == 2 and b.rcvmore == 0
    a.send(b"x")
    with pytest.raises(BufferError):
        b.recv_into(b"read-only buffer")
    with pytest.raises(ValueError):
        b.recv_into(bytearray(2), nbytes=5)
    with pytest.raises(ValueError):
        b.recv_into(bytearray(2), nbytes=-1)
    assert b.recv_into(bytearray(2)) == 1  # the bad calls did not consume it
    with pytest.raises(zmq.Again):
        b.recv_into(bytearray(2), flags=zmq.NOBLOCK)


# -- polling -----------------------------------------------------------------------------------


def test_socket_poll(pair):
    a, b = pair
    assert b.poll(0) == 0
    t0 = time.monotonic()
    assert b.poll(50) == 0
    assert time.monotonic() - t0 >= 0.04
    assert a.poll(0, zmq.POLLOUT) == zmq.POLLOUT
    a.send(b"x")
    assert b.poll(1000) == zmq.POLLIN
    assert b.poll(0, zmq.POLLIN | zmq.POLLOUT) == zmq.POLLIN | zmq.POLLOUT
    b.recv()
    assert b.poll(0) == 0


def test_poll_wakes_on_message_from_other_thread(pair):
    a, b = pair
    t = threading.Timer(0.05, a.send, args=(b"late",))
    t.start()
    try:
        assert b.poll(3000) == zmq.POLLIN
    finally:
        t.join()
    assert b.recv() == b"late"


def test_poller_sockets_and_raw_fd(pair):
    """As pyzmq (zmq_poll): non-zmq items are reported by their integer fd."""
    a, b = pair
    r, w = socket.socketpair()
    rfd = r.fileno()
    try:
        poller = zmq.Poller()
        poller.register(b, zmq.POLLIN)
        poller.register(r, zmq.POLLIN)
        poller.register(w.fileno(), zmq.POLLOUT)
        assert b in poller and r in poller
        events = dict(poller.poll(0))
        assert events == {w.fileno(): zmq.POLLOUT}
        poller.unregister(w.fileno())
        assert poller.poll(30) == []
        w.send(b"!")
        assert dict(poller.poll(1000)) == {rfd: zmq.POLLIN}
        r.recv(1)
        a.send(b"m")
        assert dict(poller.poll(1000)) == {b: zmq.POLLIN}
        w.send(b"!")
        t0 = time.monotonic()
        while len(events := dict(poller.poll(1000))) < 2 and time.monotonic() - t0 < 2:
            pass
        assert events == {b: zmq.POLLIN, rfd: zmq.POLLIN}
        poller.modify(b, zmq.POLLOUT)
        assert dict(poller.poll(0))[b] == zmq.POLLOUT
        poller.register(b, 0)  # flags 0 unregisters
        assert b not in poller
    finally:
        r.close()
        w.close()


def test_poller_wakes_for_fd_written_from_thread(pair):
    a, b = pair
    r, w = socket.socketpair()
    try:
        poller = zmq.Poller()
        poller.register(b, zmq.POLLIN)
        poller.register(r, zmq.POLLIN)
        t = threading.Timer(0.05, a.send, args=(b"zmq",))
        t.start()
        assert dict(poller.poll(3000)) == {b: zmq.POLLIN}
        t.join()
    finally:
        r.close()
        w.close()


def test_select(pair):
    a, b = pair
    r, w = socket.socketpair()
    try:
        assert zmq.select([b, r], [], [], 0) == ([], [], [])
        a.send(b"x")
        rl, wl, xl = zmq.select([b, r], [a], [], 1)
        assert rl == [b] and wl == [a] and xl == []
        w.send(b"y")
        deadline = time.monotonic() + 2
        while len(rl := zmq.select([b, r], [], [], 1)[0]) < 2 and time.monotonic() < deadline:
            pass
        # fds come back as ints. (Not compared sorted by id(): past 256 two ints of the
        # same fd are two objects, whose ids fall either side of id(b).)
        assert len(rl) == 2 and b in rl and [x for x in rl if x is not b] == [r.fileno()]
    finally:
        r.close()
        w.close()


def test_fd_and_events(ctx):
    pull = mk(ctx, zmq.PULL)
    push = mk(ctx, zmq.PUSH)
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint.decode())
    fd = pull.get(zmq.FD)
    assert isinstance(fd, int) and fd == pull.FD == pull.fileno()
    assert not pull.get(zmq.EVENTS) & zmq.POLLIN
    push.send(b"x")
    # Edge-triggered use, as with libzmq: wait for the fd, then read EVENTS.
    deadline = time.monotonic() + 3
    while not pull.get(zmq.EVENTS) & zmq.POLLIN:
        left = deadline - time.monotonic()
        assert left > 0, "FD never signalled the message"
        _select.select([fd], [], [], left)
    assert pull.events & zmq.POLLIN
    assert pull.recv(zmq.NOBLOCK) == b"x"
    assert not pull.get(zmq.EVENTS) & zmq.POLLIN
    assert push.get(zmq.EVENTS) & zmq.POLLOUT


# -- options and attributes -----------------------------------------------------------------------


def test_get_set_and_string_forms(ctx):
    s = mk(ctx, zmq.DEALER)
    s.set(zmq.SNDHWM, 11)
    assert s.get(zmq.SNDHWM) == 11
    s.setsockopt(zmq.RCVHWM, 12)
    assert s.getsockopt(zmq.RCVHWM) == 12
    s.set_string(zmq.ROUTING_ID, "ïd")
    assert s.get(zmq.ROUTING_ID) == "ïd".encode()
    assert s.get_string(zmq.ROUTING_ID) == "ïd"
    s.setsockopt_string(zmq.ROUTING_ID, "two")
    assert s.getsockopt_string(zmq.ROUTING_ID) == "two"
    with pytest.raises(TypeError):
        s.set(zmq.ROUTING_ID, "str is not bytes")
    with pytest.raises(TypeError):
        s.get_string(zmq.LINGER)
    assert s.get(zmq.TYPE) == zmq.DEALER


def test_attributes(ctx):
    s = mk(ctx, zmq.ROUTER)
    s.hwm = 5
    assert (s.sndhwm, s.rcvhwm, s.hwm) == (5, 5, 5)
    s.identity = b"me"
    assert s.identity == b"me" and s.routing_id == b"me"
    s.rcvtimeo = 123
    assert s.rcvtimeo == 123 and s.get(zmq.RCVTIMEO) == 123
    s.linger = 7
    assert s.linger == 7
    s.router_mandatory = 1  # write-only in libzmq: not readable as an attribute
    with pytest.raises(AttributeError):
        s.router_mandatory  # noqa: B018
    with pytest.raises(AttributeError):
        s.not_an_option = 1  # a misspelt option is an error, as in pyzmq
    with pytest.raises(AttributeError):
        s.not_an_option  # noqa: B018
    assert s.type == zmq.ROUTER and s.socket_type == zmq.ROUTER


def test_unknown_option_einval(ctx):
    s = mk(ctx, zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        s.get(9999)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        s.set(9999, 1)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        s.set(zmq.SNDHWM, -5)
    assert e.value.errno == zmq.EINVAL


def test_context_default_options(ctx):
    ctx.linger = 0
    ctx.rcvtimeo = 150
    ctx.setsockopt(zmq.SNDHWM, 42)
    s = ctx.socket(zmq.PUSH)
    assert s.linger == 0 and s.rcvtimeo == 150 and s.sndhwm == 42
    assert ctx.linger == 0 and ctx.getsockopt(zmq.SNDHWM) == 42
    # SUBSCRIBE as a default applies to SUB sockets, is ignored by others (pyzmq).
    ctx.setsockopt(zmq.SUBSCRIBE, b"")
    sub = ctx.socket(zmq.SUB)
    pub = ctx.socket(zmq.PUB)
    sub.rcvtimeo = 2000
    pub.bind("inproc://ctx-defaults")
    sub.connect("inproc://ctx-defaults")
    pub.send(b"any topic")
    assert sub.recv() == b"any topic"
    ctx.sockopts.clear()
    assert ctx.socket(zmq.PUSH).sndhwm == 1000


def test_subscribe_unsubscribe_str(ctx):
    pub, sub = mk(ctx, zmq.PUB), mk(ctx, zmq.SUB)
    pub.bind("inproc://str-sub")
    sub.connect("inproc://str-sub")
    sub.subscribe("tópic")
    sub.subscribe(b"other")
    sub.setsockopt_string(zmq.SUBSCRIBE, "third")
    sub.unsubscribe("other")
    for t in (b"other", "tópic-1".encode(), b"third-1"):
        pub.send(t)
    assert sub.recv() == "tópic-1".encode()
    assert sub.recv() == b"third-1"


# -- endpoints ----------------------------------------------------------------------------------


def test_bind_to_random_port_and_last_endpoint(ctx):
    s = mk(ctx, zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert isinstance(port, int) and 0 < port < 65536
    assert s.get(zmq.LAST_ENDPOINT) == f"tcp://127.0.0.1:{port}".encode()
    assert s.last_endpoint == f"tcp://127.0.0.1:{port}".encode()
    port2 = s.bind_to_random_port("tcp://127.0.0.1", min_port=20000, max_port=60000, max_tries=100)
    assert 20000 <= port2 < 60000 and port2 != port
    s.bind("tcp://127.0.0.1:*")
    ep = s.last_endpoint.decode()
    assert ep.startswith("tcp://127.0.0.1:") and not ep.endswith(":*")
    c = mk(ctx, zmq.PUSH)
    c.connect(ep)
    assert c.last_endpoint == ep.encode()
    c.send(b"x")
    assert s.recv() == b"x"


def test_address_in_use(ctx):
    a, b = mk(ctx, zmq.PULL), mk(ctx, zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    with pytest.raises(zmq.ZMQError) as e:
        b.bind(a.last_endpoint.decode())
    assert e.value.errno == zmq.EADDRINUSE
    ep = inproc()
    a.bind(ep)
    with pytest.raises(zmq.ZMQError) as e:
        b.bind(ep)
    assert e.value.errno == zmq.EADDRINUSE


@pytest.mark.parametrize(
    "endpoint, err",
    [
        ("foo://bar", zmq.EPROTONOSUPPORT),
        ("tcp://", zmq.EINVAL),
        ("tcp://127.0.0.1", zmq.EINVAL),
        ("tcp://127.0.0.1:notaport", zmq.EINVAL),
        ("inproc://", zmq.EINVAL),
        ("no-scheme", zmq.EINVAL),
    ],
)
def test_bad_endpoint(ctx, endpoint, err):
    s = mk(ctx, zmq.PULL)
    for op in (s.bind, s.connect):
        with pytest.raises(zmq.ZMQError) as e:
            op(endpoint)
        assert e.value.errno == err


def test_unbind_and_disconnect_unknown(ctx):
    s = mk(ctx, zmq.PULL)
    with pytest.raises(zmq.ZMQError) as e:
        s.unbind("inproc://never-bound")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(zmq.ZMQError) as e:
        s.disconnect("tcp://127.0.0.1:1")
    assert e.value.errno == errno.ENOENT


def _bind_retry(sock, ep, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            return sock.bind(ep)
        except zmq.ZMQError as e:
            if e.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def test_bind_context_manager_unbinds(ctx):
    ep = inproc()
    s = mk(ctx, zmq.PULL)
    with s.bind(ep) as bound:
        assert bound is s
        other = mk(ctx, zmq.PULL)
        with pytest.raises(zmq.ZMQError):
            other.bind(ep)
    other.bind(ep)  # free again
    s2 = mk(ctx, zmq.PULL)
    with s2.bind("tcp://127.0.0.1:*"):
        tcp_ep = s2.last_endpoint.decode()
    with pytest.raises(zmq.ZMQError) as e:
        s2.unbind(tcp_ep)  # already unbound by the with-block
    assert e.value.errno == errno.ENOENT
    _bind_retry(mk(ctx, zmq.PULL), tcp_ep)


def test_connect_context_manager_disconnects(ctx):
    pulls = [mk(ctx, zmq.PULL) for _ in range(2)]
    eps = [inproc(), inproc()]
    for p, ep in zip(pulls, eps, strict=True):
        p.bind(ep)
    push = mk(ctx, zmq.PUSH)
    push.connect(eps[0])
    with push.connect(eps[1]):
        push.send(b"0")
        push.send(b"1")
        assert pulls[0].recv() == b"0" and pulls[1].recv() == b"1"
    for i in range(4):
        push.send(b"%d" % i)
    assert [pulls[0].recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
    assert pulls[1].poll(50) == 0


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_disconnect_stops_routing_to_peer(ctx, transport):
    pulls = [mk(ctx, zmq.PULL) for _ in range(2)]
    eps = []
    for p in pulls:
        if transport == "inproc":
            eps.append(inproc())
            p.bind(eps[-1])
        else:
            p.bind("tcp://127.0.0.1:*")
            eps.append(p.last_endpoint.decode())
    push = mk(ctx, zmq.PUSH)
    for ep in eps:
        push.connect(ep)
    push.send(b"a")
    push.send(b"b")
    assert pulls[0].recv() == b"a" and pulls[1].recv() == b"b"
    push.disconnect(eps[1])
    for i in range(4):
        push.send(b"%d" % i)
    assert [pulls[0].recv() for _ in range(4)] == [b"0", b"1", b"2", b"3"]
    assert pulls[1].poll(50) == 0


def test_unbind_tcp_drops_listener(ctx):
    pull = mk(ctx, zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    ep = pull.last_endpoint.decode()
    pull.unbind(ep)
    port = int(ep.rsplit(":", 1)[1])
    deadline = time.monotonic() + 3
    while True:  # the listener closes on the I/O thread
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "still listening after unbind"
        time.sleep(0.01)


# -- errors ---------------------------------------------------------------------------------------


def test_wrong_direction_enotsup(ctx):
    sub, pub = mk(ctx, zmq.SUB), mk(ctx, zmq.PUB)
    push, pull = mk(ctx, zmq.PUSH), mk(ctx, zmq.PULL)
    for s, op in (
        (sub, lambda s: s.send(b"x")),
        (pub, lambda s: s.recv()),
        (push, lambda s: s.recv()),
        (pull, lambda s: s.send(b"x")),
    ):
        with pytest.raises(zmq.ZMQError) as e:
            op(s)
        assert e.value.errno == zmq.ENOTSUP


def test_closed_socket_enotsock(ctx):
    s = mk(ctx, zmq.PULL)
    assert not s.closed
    s.close()
    assert s.closed
    s.close()  # closing twice is fine
    for op in (
        lambda: s.recv(),
        lambda: s.send(b"x"),
        lambda: s.send_multipart([b"x"]),
        lambda: s.bind("inproc://closed"),
        lambda: s.connect("inproc://closed"),
        lambda: s.unbind("inproc://closed"),
        lambda: s.get(zmq.LINGER),
        lambda: s.set(zmq.LINGER, 0),
        lambda: s.getsockopt(zmq.EVENTS),
    ):
        with pytest.raises(zmq.ZMQError) as e:
            op()
        assert e.value.errno == zmq.ENOTSOCK
    with pytest.raises(zmq.ZMQError) as e:
        s.poll(0)
    assert e.value.errno == zmq.ENOTSUP  # pyzmq's Socket.poll says ENOTSUP
    poller = zmq.Poller()
    poller.register(s, zmq.POLLIN)
    with pytest.raises(zmq.ZMQError) as e:
        poller.poll(0)  # libzmq's zmq_poll errno (pyzmq polls fd 0 instead)
    assert e.value.errno == zmq.ENOTSOCK


def test_router_mandatory_fails_on_routing_id_frame(ctx):
    r = mk(ctx, zmq.ROUTER, router_mandatory=1)
    r.bind(inproc())
    with pytest.raises(zmq.ZMQError) as e:
        r.send(b"nobody", zmq.SNDMORE)  # libzmq fails the first frame already
    assert e.value.errno == zmq.EHOSTUNREACH
    d = mk(ctx, zmq.DEALER, routing_id=b"D")
    d.connect(r.last_endpoint.decode())
    d.send(b"hi")
    assert r.recv_multipart() == [b"D", b"hi"]
    r.send(b"D", zmq.SNDMORE)  # a fresh message: the failed one left nothing behind
    r.send(b"reply")
    assert d.recv() == b"reply"


# -- close, linger, context managers ------------------------------------------------------------


def test_close_with_linger_sets_option(ctx):
    s = ctx.socket(zmq.PUSH)
    s.connect("tcp://127.0.0.1:1")
    s.send(b"unsendable")
    t0 = time.monotonic()
    s.close(linger=0)
    assert s.closed
    assert time.monotonic() - t0 < 0.5


def test_socket_context_manager(ctx):
    with ctx.socket(zmq.PUSH) as s:
        assert not s.closed
    assert s.closed


def test_context_context_manager():
    with zmq.Context() as c:
        s = c.socket(zmq.PUSH)
        s.close()
    assert c.closed


def test_destroy_closes_sockets_with_linger():
    c = zmq.Context()
    socks = [c.socket(zmq.PUSH) for _ in range(3)]
    for s in socks:
        s.connect("tcp://127.0.0.1:1")
        s.send(b"unsendable")
    t0 = time.monotonic()
    c.destroy(linger=0)
    assert time.monotonic() - t0 < 1.0
    assert c.closed and all(s.closed for s in socks)


def test_context_instance():
    inst = zmq.Context.instance()
    try:
        assert inst is zmq.Context.instance()
        assert isinstance(inst, zmq.Context)
    finally:
        inst.term()
    assert inst.closed
    fresh = zmq.Context.instance()
    try:
        assert fresh is not inst and not fresh.closed
    finally:
        fresh.term()


def test_term_with_open_socket_in_other_thread_closing_it():
    c = zmq.Context()
    s = c.socket(zmq.PULL)
    s.bind(inproc())
    done = threading.Event()

    def owner():
        try:
            s.recv()
        except zmq.ContextTerminated:
            s.close()
        done.set()

    t = threading.Thread(target=owner, daemon=True)
    t.start()
    c.term()
    assert done.wait(2)
    t.join(1)


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds in /proc")
def test_sockets_that_waited_leave_no_fd_behind():
    """The wake-up fd a blocking call creates goes with its socket (it leaked, one eventfd
    per socket that ever blocked: ~350 open at the end of this suite)."""

    def open_fds():
        return len(os.listdir("/proc/self/fd"))

    def round_trip():
        c = zmq.Context()
        a, b = mk(c, zmq.PAIR, timeout=1), mk(c, zmq.PAIR)
        a.bind("inproc://fd-leak")
        b.connect("inproc://fd-leak")
        with pytest.raises(zmq.Again):
            a.recv()  # blocks (1 ms): the socket makes its wake-up fd
        b.send(b"x")
        assert a.recv() == b"x"
        c.destroy(linger=0)

    round_trip()
    gc.collect()
    before = open_fds()
    for _ in range(20):
        round_trip()
    gc.collect()
    assert open_fds() - before < 5


GC_CLOSE_UNDER_LOCKS = """
import gc, purezmq as zmq
ctx = zmq.Context()
class Cycle: pass
def garbage(n, how):
    for i in range(n):
        s = ctx.socket(zmq.PAIR)
        getattr(s, how)(f"inproc://gc-{how}-{i}")
        c = Cycle(); c.s = s; c.me = c  # unreachable only once gc looks
gc.disable()
# A collection can run at any allocation, also in a section holding a lock that
# close() takes again: Socket.__del__ closes the collected socket in that thread.
garbage(3, "bind")
with ctx._lock:
    gc.collect()
garbage(3, "connect")
with ctx._inproc.lock:
    gc.collect()
ctx.destroy(linger=0)
print("done")
"""


def test_garbage_collected_socket_closes_under_purezmq_locks():
    # A subprocess: a regression deadlocks that thread for good.
    r = subprocess.run(
        [sys.executable, "-c", GC_CLOSE_UNDER_LOCKS], capture_output=True, text=True, timeout=15
    )
    assert r.returncode == 0 and r.stdout == "done\n", r.stderr


# -- monitor --------------------------------------------------------------------------------------


def _events(mon, until, timeout=3.0):
    """(event, value, endpoint) tuples up to and including ``until``."""
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not mon.poll(max(1, int((deadline - time.monotonic()) * 1000))):
            break
        frames = mon.recv_multipart()
        assert len(frames) == 2  # libzmq v1 format: '=HI' header, endpoint
        assert len(frames[0]) == 6
        ev, value = struct.unpack("=HI", frames[0])
        got.append((ev, value, frames[1].decode()))
        if ev == until:
            return got
    raise AssertionError(f"event {until} never came: {got}")


def test_monitor_events(ctx):
    server = mk(ctx, zmq.PULL)
    smon = server.get_monitor_socket()
    server.bind("tcp://127.0.0.1:*")
    ep = server.last_endpoint.decode()
    got = _events(smon, zmq.EVENT_LISTENING)
    assert got[-1][2] == ep
    client = mk(ctx, zmq.PUSH)
    cmon = client.get_monitor_socket()
    client.connect(ep)
    cevents = _events(cmon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert zmq.EVENT_CONNECTED in [e[0] for e in cevents]
    assert all(e[2] == ep for e in cevents)
    sevents = _events(smon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    kinds = [e[0] for e in sevents]
    assert kinds.index(zmq.EVENT_ACCEPTED) < kinds.index(zmq.EVENT_HANDSHAKE_SUCCEEDED)
    client.close()
    assert _events(smon, zmq.EVENT_DISCONNECTED)[-1][2] == ep
    # The client's monitor stream ended with MONITOR_STOPPED when it closed.
    assert _events(cmon, zmq.EVENT_MONITOR_STOPPED)[-1][0] == zmq.EVENT_MONITOR_STOPPED
    server.disable_monitor()
    assert _events(smon, zmq.EVENT_MONITOR_STOPPED)[-1][0] == zmq.EVENT_MONITOR_STOPPED


def test_monitor_event_filter(ctx):
    server = mk(ctx, zmq.PULL)
    mon = server.get_monitor_socket(zmq.EVENT_ACCEPTED)
    server.bind("tcp://127.0.0.1:*")
    client = mk(ctx, zmq.PUSH)
    client.connect(server.last_endpoint.decode())
    got = _events(mon, zmq.EVENT_ACCEPTED)
    assert [e[0] for e in got] == [zmq.EVENT_ACCEPTED]
    client.send(b"x")
    assert server.recv() == b"x"
    assert mon.poll(100) == 0  # HANDSHAKE_SUCCEEDED was filtered out


def test_monitor_to_explicit_address(ctx):
    s = mk(ctx, zmq.PULL)
    s.monitor("inproc://my-monitor", zmq.EVENT_LISTENING)
    m = mk(ctx, zmq.PAIR)
    m.connect("inproc://my-monitor")
    s.bind("tcp://127.0.0.1:*")
    assert _events(m, zmq.EVENT_LISTENING)[-1][2] == s.last_endpoint.decode()


def test_context_write_only_options_are_not_attributes(ctx: zmq.Context) -> None:
    """As pyzmq: reading a write-only context option as an attribute is an
    AttributeError, so dir()-walking tools (mock.Mock(spec=ctx)) work."""
    from unittest import mock

    with pytest.raises(AttributeError):
        ctx.THREAD_AFFINITY_CPU_ADD  # noqa: B018
    assert ctx.IO_THREADS == ctx.io_threads == 1
    mock.Mock(spec=ctx)


def test_copy_false_memoryview_of_wide_items_sends_its_bytes(ctx: zmq.Context) -> None:
    """A read-only memoryview of 4-octet items (``cast("i")``) sent with copy=False
    is its 12 octets, not 3 (the frame size counts bytes)."""
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 2000
    pull.bind("inproc://mv-wide")
    push = ctx.socket(zmq.PUSH)
    push.connect("inproc://mv-wide")
    view = memoryview(b"abcdefghijkl").cast("i")
    push.send(view, copy=False)
    push.send(memoryview(b"abcdef")[::2], copy=False)  # not contiguous: copied
    assert pull.recv() == b"abcdefghijkl"
    assert pull.recv() == b"ace"


def test_bind_to_random_port_ws(ctx: zmq.Context) -> None:
    s = ctx.socket(zmq.PULL)
    port = s.bind_to_random_port("ws://127.0.0.1")
    assert s.last_endpoint.decode() == f"ws://127.0.0.1:{port}/"
