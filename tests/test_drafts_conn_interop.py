"""HELLO_MSG, DISCONNECT_MSG, HICCUP_MSG and ROUTER_NOTIFY against libzmq's draft build.

The reference is libzmq 4.3.5 with drafts (npm's zeromq 6), scripted through
tests/node_driver.js (``node`` fixture): it sets these options by number, so
the option-bearing socket can be libzmq's or ours, and PEER, which zeromq.js
has no class for, is there too. libzmq's rules (session_base.cpp engine_error,
hello_msg_session_t; stream_engine_base.cpp mechanism_ready and error):

- HELLO_MSG is the first message on every connection, again after a reconnect;
- DISCONNECT_MSG reaches a socket that accepted a peer whose handshaken
  connection ended; HICCUP_MSG one that connected (DEALER, CLIENT, PEER),
  which then reconnects;
- ROUTER_NOTIFY puts ``[routing id, b""]`` in the ROUTER's pipe after the
  handshake and when a handshaken connection ends; a refused handshake gives
  nothing.

Where both sides can be either library, the same scenario runs with the
option on libzmq's socket and on ours, and both must see the same messages.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from helpers import NodeDriver, mk

import purezmq as zmq
from purezmq.utils.monitor import recv_monitor_message

HELLO_MSG, DISCONNECT_MSG, HICCUP_MSG, ROUTER_NOTIFY, ROUTING_ID = 110, 111, 114, 97, 5
SERVER, CLIENT, PEER, DEALER, ROUTER = 12, 13, 19, 5, 6
LOOP = "tcp://127.0.0.1:*"


def _frames(m: dict[str, Any] | None) -> list[bytes] | None:
    return None if m is None else m["frames"]


# -- CLIENT/SERVER -------------------------------------------------------------------------


def test_libzmq_server_hello_and_disconnect_msg(ctx: zmq.Context, node: NodeDriver) -> None:
    """libzmq SERVER with HELLO_MSG and DISCONNECT_MSG, our CLIENT with HELLO_MSG: each
    reads the other's hello first; the SERVER hears of our close with our routing id."""
    node.ok(
        "socket",
        id="s",
        type=SERVER,
        opts={"linger": 0},
        str={HELLO_MSG: "s-hello", DISCONNECT_MSG: "s-bye"},
    )
    ep = node.ok("bind", id="s", ep=LOOP)["endpoint"]
    cli = mk(ctx, zmq.CLIENT, hello_msg=b"c-hello", timeout=10000)
    cli.connect(ep)
    cli.send(b"queued before connect")  # the pipe exists at once: queued before the handshake
    assert cli.recv() == b"s-hello"
    got = [node.recv("s") for _ in range(2)]
    assert [_frames(m) for m in got] == [[b"c-hello"], [b"queued before connect"]]
    rid = got[0]["rid"]
    assert got[1]["rid"] == rid
    node.ok("send", id="s", frames=[b"reply"], rid=rid)
    assert cli.recv() == b"reply"
    cli.close()
    bye = node.recv("s")
    assert bye is not None and (bye["frames"], bye["rid"]) == ([b"s-bye"], rid)
    assert node.recv("s", timeout=300) is None  # once


def test_hiccup_msg_from_libzmq_server(ctx: zmq.Context, node: NodeDriver) -> None:
    """Our CLIENT's HICCUP_MSG when libzmq's SERVER goes; after the reconnect to a new
    SERVER at the same address both hellos come again, ahead of new messages."""
    node.ok("socket", id="s", type=SERVER, opts={"linger": 0}, str={HELLO_MSG: "s-hello"})
    ep = node.ok("bind", id="s", ep=LOOP)["endpoint"]
    cli = mk(ctx, zmq.CLIENT, hello_msg=b"c-hello", hiccup_msg=b"c-hiccup", timeout=10000)
    cli.reconnect_ivl = 20
    cli.connect(ep)
    assert cli.recv() == b"s-hello"
    assert _frames(node.recv("s")) == [b"c-hello"]
    node.ok("close", id="s")
    assert cli.recv() == b"c-hiccup"
    node.ok("socket", id="s2", type=SERVER, opts={"linger": 0}, str={HELLO_MSG: "s-hello-2"})
    node.ok("bind", id="s2", ep=ep)
    assert cli.recv() == b"s-hello-2"
    cli.send(b"after")
    assert [_frames(node.recv("s2")) for _ in range(2)] == [[b"c-hello"], [b"after"]]


def test_libzmq_client_hiccup_and_our_server_messages(ctx: zmq.Context, node: NodeDriver) -> None:
    """Our SERVER with HELLO_MSG and DISCONNECT_MSG, libzmq CLIENTs with HELLO_MSG and
    HICCUP_MSG: the mirror of the two tests above."""
    srv = mk(ctx, zmq.SERVER, hello_msg=b"s-hello", disconnect_msg=b"s-bye", timeout=10000)
    srv.bind(LOOP)
    ep = srv.last_endpoint.decode()
    opts = {"linger": 0, "reconnectInterval": 20}
    for name in ("a", "b"):
        node.ok(
            "socket",
            id=name,
            type=CLIENT,
            opts=opts,
            str={HELLO_MSG: f"{name}-hello", HICCUP_MSG: f"{name}-hiccup"},
        )
    node.ok("connect", id="a", ep=ep)
    assert _frames(node.recv("a")) == [b"s-hello"]
    f = srv.recv(copy=False)
    assert f.bytes == b"a-hello"
    node.ok("close", id="a")
    g = srv.recv(copy=False)
    assert (g.bytes, g.routing_id) == (b"s-bye", f.routing_id)
    node.ok("connect", id="b", ep=ep)
    assert _frames(node.recv("b")) == [b"s-hello"]
    assert srv.recv() == b"b-hello"
    srv.close()
    assert _frames(node.recv("b")) == [b"b-hiccup"]
    assert node.recv("b", timeout=300) is None


# -- PEER --------------------------------------------------------------------------------------


def test_peer_messages_with_libzmq(ctx: zmq.Context, node: NodeDriver) -> None:
    """PEER both ways: libzmq's bound PEER gets our hello and its DISCONNECT_MSG; ours
    (connected) gets its hello and our HICCUP_MSG, as libzmq's connected PEER does."""
    node.ok(
        "socket",
        id="p",
        type=PEER,
        opts={"linger": 0},
        str={HELLO_MSG: "lz-hello", DISCONNECT_MSG: "lz-bye"},
    )
    ep = node.ok("bind", id="p", ep=LOOP)["endpoint"]
    ours = mk(ctx, zmq.PEER, hello_msg=b"pz-hello", hiccup_msg=b"pz-hiccup", timeout=10000)
    ours.connect_peer(ep)
    assert ours.recv() == b"lz-hello"
    assert _frames(node.recv("p")) == [b"pz-hello"]
    other = mk(ctx, zmq.PEER, hello_msg=b"pz2-hello")
    other.connect_peer(ep)
    assert _frames(node.recv("p")) == [b"pz2-hello"]
    other.close()
    assert _frames(node.recv("p")) == [b"lz-bye"]
    node.ok("close", id="p")
    assert ours.recv() == b"pz-hiccup"

    srv = mk(ctx, zmq.PEER, hello_msg=b"pz-hello", timeout=10000)
    srv.bind(LOOP)
    node.ok(
        "socket",
        id="q",
        type=PEER,
        opts={"linger": 0},
        str={HELLO_MSG: "q-hello", HICCUP_MSG: "q-hiccup"},
    )
    node.ok("connect", id="q", ep=srv.last_endpoint.decode())
    assert srv.recv() == b"q-hello"
    assert _frames(node.recv("q")) == [b"pz-hello"]
    srv.close()
    assert _frames(node.recv("q")) == [b"q-hiccup"]


# -- DEALER/ROUTER: the same scenario with the option on either library ---------------------


class _Subject:
    """The socket holding the option under test: libzmq's (node) or ours."""

    def __init__(self, side: str, ctx: zmq.Context, node: NodeDriver) -> None:
        self.side, self.ctx, self.node = side, ctx, node
        self.sock: Any = None

    def make(self, kind: int, ints: dict[int, int], strs: dict[int, bytes], **named: Any) -> None:
        if self.side == "libzmq":
            opts = {"linger": 0, **named}
            sopts = {k: v.decode("latin1") for k, v in strs.items()}
            self.node.ok("socket", id="x", type=kind, opts=opts, int=ints, str=sopts)
            return
        self.sock = mk(self.ctx, kind, timeout=10000)
        for k, v in {**ints, **strs}.items():
            self.sock.setsockopt(k, v)
        if "reconnectInterval" in named:
            self.sock.reconnect_ivl = named["reconnectInterval"]

    def bind(self) -> str:
        if self.side == "libzmq":
            return str(self.node.ok("bind", id="x", ep=LOOP)["endpoint"])
        self.sock.bind(LOOP)
        return str(self.sock.last_endpoint.decode())

    def connect(self, ep: str) -> None:
        if self.side == "libzmq":
            self.node.ok("connect", id="x", ep=ep)
        else:
            self.sock.connect(ep)

    def recv(self, timeout: int = 10000) -> list[bytes] | None:
        if self.side == "libzmq":
            return _frames(self.node.recv("x", timeout))
        self.sock.rcvtimeo = timeout
        try:
            return list(self.sock.recv_multipart())
        except zmq.Again:
            return None


SIDES = ["libzmq", "purezmq"]


@pytest.mark.parametrize("side", SIDES)
def test_router_notify_bound(ctx: zmq.Context, node: NodeDriver, side: str) -> None:
    """A bound ROUTER with ROUTER_NOTIFY (both bits) and DISCONNECT_MSG: a PUSH refused at
    the handshake is not heard of; a DEALER is, when it comes and when it goes (the
    notification first, then DISCONNECT_MSG), with HELLO_MSG after the connect one."""
    subj = _Subject(side, ctx, node)
    subj.make(ROUTER, {ROUTER_NOTIFY: 3}, {DISCONNECT_MSG: b"BYE"})
    ep = subj.bind()
    push = mk(ctx, zmq.PUSH)
    push.connect(ep)
    dealer = mk(ctx, zmq.DEALER, routing_id=b"pz", hello_msg=b"HI")
    dealer.connect(ep)
    dealer.send(b"data")
    got = [subj.recv() for _ in range(3)]
    assert got == [[b"pz", b""], [b"pz", b"HI"], [b"pz", b"data"]]
    dealer.close()
    assert [subj.recv(), subj.recv()] == [[b"pz", b""], [b"pz", b"BYE"]]
    push.close()
    assert subj.recv(timeout=300) is None


def _bind_router(ctx: zmq.Context, ep: str, rid: bytes) -> tuple[Any, Any]:
    """A ROUTER bound at ``ep`` (retrying while the last one's port is being let go:
    close() is asynchronous, as libzmq's) and a monitor of its handshakes."""
    deadline = time.monotonic() + 10
    while True:
        srv = mk(ctx, zmq.ROUTER, routing_id=rid)
        mon = srv.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        mon.rcvtimeo = 10000
        try:
            srv.bind(ep)
            return srv, mon
        except zmq.ZMQError as e:
            srv.close()
            if e.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


@pytest.mark.parametrize("bits", [zmq.NOTIFY_CONNECT, zmq.NOTIFY_DISCONNECT])
@pytest.mark.parametrize("side", SIDES)
def test_router_notify_connected(ctx: zmq.Context, node: NodeDriver, side: str, bits: int) -> None:
    """A ROUTER that connects (to a ROUTER "srv" that goes and comes back at the same
    address): one bit at a time, on every connection; HICCUP_MSG is not for ROUTER."""
    srv, mon = _bind_router(ctx, LOOP, b"srv")
    ep = srv.last_endpoint.decode()
    subj = _Subject(side, ctx, node)
    subj.make(ROUTER, {ROUTER_NOTIFY: bits}, {HICCUP_MSG: b"HICCUP"}, reconnectInterval=20)
    subj.connect(ep)
    for _ in range(2):
        recv_monitor_message(mon)  # handshaken: the connection counts
        if bits == zmq.NOTIFY_CONNECT:
            assert subj.recv() == [b"srv", b""]
        srv.close()
        if bits == zmq.NOTIFY_DISCONNECT:
            assert subj.recv() == [b"srv", b""]
        srv, mon = _bind_router(ctx, ep, b"srv")
    recv_monitor_message(mon)
    if bits == zmq.NOTIFY_CONNECT:
        assert subj.recv() == [b"srv", b""]
    assert subj.recv(300) is None


@pytest.mark.parametrize("side", SIDES)
def test_dealer_hiccup_and_hello_again(ctx: zmq.Context, node: NodeDriver, side: str) -> None:
    """A DEALER with HELLO_MSG and HICCUP_MSG connected to a ROUTER that goes and comes
    back: the hiccup, then the hello again on the new connection, ahead of new data."""
    router = mk(ctx, zmq.ROUTER)
    router.bind(LOOP)
    ep = router.last_endpoint.decode()
    subj = _Subject(side, ctx, node)
    subj.make(DEALER, {}, {HELLO_MSG: b"HI", HICCUP_MSG: b"HICCUP", ROUTING_ID: b"d"})
    subj.connect(ep)
    assert router.recv_multipart() == [b"d", b"HI"]
    router.send_multipart([b"d", b"welcome"])
    assert subj.recv() == [b"welcome"]
    router.close()
    assert subj.recv() == [b"HICCUP"]
    router = mk(ctx, zmq.ROUTER, timeout=10000)
    router.bind(ep)
    assert router.recv_multipart() == [b"d", b"HI"]
    assert subj.recv(300) is None


# -- CHANNEL over tcp: it reconnects, as libzmq 4.3.5's does ---------------------------------
#
# zmq_socket(3) says CHANNEL (like PAIR) cannot auto-reconnect. libzmq's sources say
# otherwise: channel.cpp has no reconnect logic of its own, and session_base.cpp's
# engine_error() reconnects every connecting session whatever the socket type, the
# pipe living on; the binder's channel_t::xattach_pipe takes a new pipe once the old
# one has terminated. These tests hold purezmq to what libzmq does.

CHANNEL = 20


def _bind_retry(ctx: zmq.Context, kind: int, ep: str) -> Any:
    """Bind at ``ep``, retrying while the previous socket's port is being let go."""
    deadline = time.monotonic() + 10
    while True:
        s = mk(ctx, kind, timeout=10000)
        try:
            s.bind(ep)
            return s
        except zmq.ZMQError as e:
            s.close()
            if e.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_libzmq_channel_reconnects_to_ours(ctx: zmq.Context, node: NodeDriver) -> None:
    """libzmq's connecting CHANNEL reconnects to a new CHANNEL of ours at the address."""
    ours = _bind_retry(ctx, zmq.CHANNEL, LOOP)
    ep = ours.last_endpoint.decode()
    node.ok("socket", id="c", type=CHANNEL, opts={"linger": 0, "reconnectInterval": 20})
    node.ok("connect", id="c", ep=ep)
    node.ok("send", id="c", frames=[b"one"])
    assert ours.recv() == b"one"
    ours.send(b"back")
    assert _frames(node.recv("c")) == [b"back"]
    ours.close()
    ours = _bind_retry(ctx, zmq.CHANNEL, ep)
    node.ok("send", id="c", frames=[b"two"])
    assert ours.recv() == b"two"
    ours.send(b"back again")
    assert _frames(node.recv("c")) == [b"back again"]


def test_our_channel_reconnects_to_libzmq(ctx: zmq.Context, node: NodeDriver) -> None:
    """Ours, connecting, does the same with libzmq's bound CHANNEL; and libzmq's binder,
    busy with us, refuses a second CHANNEL (exclusivity) until we go."""
    node.ok("socket", id="b", type=CHANNEL, opts={"linger": 0})
    ep = node.ok("bind", id="b", ep=LOOP)["endpoint"]
    ours = mk(ctx, zmq.CHANNEL, reconnect_ivl=20, timeout=10000)
    ours.connect(ep)
    ours.send(b"hello")
    assert _frames(node.recv("b")) == [b"hello"]
    intruder = mk(ctx, zmq.CHANNEL, reconnect_ivl=20)
    intruder.connect(ep)
    intruder.send(b"intruding")  # queued: its connection is refused by the binder
    assert node.recv("b", timeout=300) is None
    intruder.close()
    node.ok("close", id="b")
    node.ok("socket", id="b2", type=CHANNEL, opts={"linger": 0})
    # libzmq closes the listener in its reaper thread, after zmq_close returns.
    deadline = time.monotonic() + 5
    while not (ans := node.call("bind", id="b2", ep=ep))["ok"]:
        assert ans["error"] == "EADDRINUSE" and time.monotonic() < deadline, ans
        time.sleep(0.05)
    ours.send(b"again")
    assert _frames(node.recv("b2")) == [b"again"]
    node.ok("send", id="b2", frames=[b"reply"])
    assert ours.recv() == b"reply"
