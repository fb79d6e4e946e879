"""The draft options of zmq_setsockopt(3) that purezmq honours, and those it refuses.

Against libzmq (pyzmq, 4.3.5 without drafts) wherever the other side needs no
draft option: HELLO_MSG, ROUTER_NOTIFY, DISCONNECT_MSG and HICCUP_MSG are set
on our side with a libzmq peer; METADATA, ONLY_FIRST_SUBSCRIBE, TOPICS_COUNT,
RECONNECT_STOP and SOCKS_PROXY are stable in libzmq, so both sides are
checked; ZMTP 3.1's PING context is sent raw to both. SOCKS_PROXY goes
through a small SOCKS5 server (RFC 1928/1929) this file runs on loopback,
which libzmq's own SOCKS client goes through too. IN_BATCH_SIZE and
OUT_BATCH_SIZE raise EINVAL saying why.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from helpers import mk

import purezmq as zmq


def _wait_until(cond: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _lz(lzctx: Any, kind: str, **opts: Any) -> Any:
    import zmq as pyzmq

    s = lzctx.socket(getattr(pyzmq, kind))
    s.linger = 0
    s.rcvtimeo = s.sndtimeo = 5000
    for k, v in opts.items():
        setattr(s, k, v)
    return s


# -- HELLO_MSG, ROUTER_NOTIFY, DISCONNECT_MSG, HICCUP_MSG -------------------------------


def test_hello_msg_goes_first_to_libzmq(ctx: zmq.Context, lzctx: Any) -> None:
    """A DEALER's HELLO_MSG reaches a libzmq ROUTER first, ahead of what was queued
    before the connection, and again on every new connection."""
    router = _lz(lzctx, "ROUTER")
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = mk(ctx, zmq.DEALER, hello_msg=b"HELLO", routing_id=b"d1")
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"queued")  # long before the handshake is done: waits in the pipe
    assert router.recv_multipart() == [b"d1", b"HELLO"]
    assert router.recv_multipart() == [b"d1", b"queued"]
    router.send_multipart([b"d1", b"hi"])
    assert dealer.recv() == b"hi"


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_hello_msg_both_ways(ctx: zmq.Context, transport: str) -> None:
    """SERVER and CLIENT both say hello: each side reads the other's first."""
    server = mk(ctx, zmq.SERVER, hello_msg=b"from-server")
    client = mk(ctx, zmq.CLIENT, hello_msg=b"from-client")
    server.bind("tcp://127.0.0.1:*" if transport == "tcp" else "inproc://hello")
    client.connect(server.last_endpoint.decode())
    f = server.recv(copy=False)
    assert f.bytes == b"from-client"
    assert client.recv() == b"from-server"
    server.send(b"reply", routing_id=f.routing_id)
    assert client.recv() == b"reply"


def test_hello_msg_ignored_where_libzmq_ignores_it(ctx: zmq.Context) -> None:
    """Only DEALER, ROUTER, CLIENT, SERVER and PEER send it (can_send_hello_msg)."""
    push, pull = mk(ctx, zmq.PUSH, hello_msg=b"nope"), mk(ctx, zmq.PULL)
    pull.bind("inproc://nohello")
    push.connect("inproc://nohello")
    push.send(b"data")
    assert pull.recv() == b"data"


def test_router_notify_with_libzmq_dealer(ctx: zmq.Context, lzctx: Any) -> None:
    """ROUTER_NOTIFY: [routing id, b""] when a peer connects and when it goes."""
    router = mk(ctx, zmq.ROUTER, router_notify=zmq.NOTIFY_CONNECT | zmq.NOTIFY_DISCONNECT)
    assert router.router_notify == 3
    router.bind("tcp://127.0.0.1:*")
    dealer = _lz(lzctx, "DEALER", routing_id=b"lz")
    dealer.connect(router.last_endpoint.decode())
    assert router.recv_multipart() == [b"lz", b""]
    dealer.send(b"data")
    assert router.recv_multipart() == [b"lz", b"data"]
    dealer.close()
    assert router.recv_multipart() == [b"lz", b""]


def test_router_notify_connect_side_and_bits(ctx: zmq.Context) -> None:
    """On a ROUTER that connects, and with one bit only."""
    server = mk(ctx, zmq.ROUTER, routing_id=b"srv")
    server.bind("tcp://127.0.0.1:*")
    router = mk(ctx, zmq.ROUTER, router_notify=zmq.NOTIFY_DISCONNECT)
    router.connect(server.last_endpoint.decode())
    # EVENTS runs the router's mailbox: the connection is identified as b"srv"
    assert _wait_until(lambda: router.get(zmq.EVENTS) >= 0 and b"srv" in router._core.outpipes)
    server.close(linger=0)
    assert router.recv_multipart() == [b"srv", b""]
    with pytest.raises(zmq.ZMQError):
        router.router_notify = 4


def test_disconnect_msg_from_libzmq_dealer(ctx: zmq.Context, lzctx: Any) -> None:
    """DISCONNECT_MSG: an accepted peer that goes away is heard of once, after its data."""
    router = mk(ctx, zmq.ROUTER, disconnect_msg=b"BYE")
    router.bind("tcp://127.0.0.1:*")
    dealer = _lz(lzctx, "DEALER", routing_id=b"gone")
    dealer.connect(router.last_endpoint.decode())
    dealer.send(b"last words")
    assert router.recv_multipart() == [b"gone", b"last words"]
    dealer.close()
    assert router.recv_multipart() == [b"gone", b"BYE"]


@pytest.mark.parametrize("transport", ["tcp", "inproc"])
def test_disconnect_msg_server_peer(ctx: zmq.Context, transport: str) -> None:
    """SERVER and PEER get it with the routing id of the peer that went."""
    for kind, other in ((zmq.SERVER, zmq.CLIENT), (zmq.PEER, zmq.PEER)):
        srv = mk(ctx, kind, disconnect_msg=b"BYE")
        srv.bind("tcp://127.0.0.1:*" if transport == "tcp" else f"inproc://bye-{kind}")
        cli = mk(ctx, other)
        if kind == zmq.PEER:
            cli.send(b"hi", routing_id=cli.connect_peer(srv.last_endpoint.decode()))
        else:
            cli.connect(srv.last_endpoint.decode())
            cli.send(b"hi")
        f = srv.recv(copy=False)
        cli.close(linger=0)
        g = srv.recv(copy=False)
        assert (g.bytes, g.routing_id) == (b"BYE", f.routing_id)


def test_hiccup_msg_when_libzmq_router_goes(ctx: zmq.Context, lzctx: Any) -> None:
    """HICCUP_MSG: a connected peer whose connection ends is heard of; the DEALER then
    reconnects and its pipe goes on."""
    router = _lz(lzctx, "ROUTER")
    port = router.bind_to_random_port("tcp://127.0.0.1")
    dealer = mk(ctx, zmq.DEALER, hiccup_msg=b"HICCUP", routing_id=b"d", reconnect_ivl=20)
    dealer.connect(f"tcp://127.0.0.1:{port}")
    dealer.send(b"one")
    assert router.recv_multipart() == [b"d", b"one"]
    router.close()
    assert dealer.recv() == b"HICCUP"
    router2 = _lz(lzctx, "ROUTER")
    router2.bind(f"tcp://127.0.0.1:{port}")
    dealer.send(b"two")
    assert router2.recv_multipart() == [b"d", b"two"]


def test_no_notifications_for_refused_handshakes(ctx: zmq.Context) -> None:
    """Nothing for a connection that never completed its handshake (a PUSH knocking)."""
    router = mk(ctx, zmq.ROUTER, router_notify=3, disconnect_msg=b"BYE", timeout=300)
    router.bind("tcp://127.0.0.1:*")
    push = mk(ctx, zmq.PUSH)
    push.connect(router.last_endpoint.decode())
    with pytest.raises(zmq.Again):
        router.recv()


# -- METADATA ------------------------------------------------------------------------------


def test_metadata_both_ways_with_libzmq(ctx: zmq.Context, lzctx: Any) -> None:
    ours = mk(ctx, zmq.DEALER)
    ours.setsockopt(zmq.METADATA, b"X-color:blue")
    ours.setsockopt(zmq.METADATA, b"X-size:9")
    theirs = _lz(lzctx, "ROUTER")
    theirs.setsockopt(95, b"X-from:libzmq")  # ZMQ_METADATA (stable in 4.3.5)
    port = theirs.bind_to_random_port("tcp://127.0.0.1")
    ours.connect(f"tcp://127.0.0.1:{port}")
    ours.send(b"x")
    rid, f = theirs.recv_multipart(copy=False)
    assert f.get("X-color") == "blue" and f.get("X-size") == "9"
    theirs.send_multipart([rid.bytes, b"y"])
    g = ours.recv(copy=False)
    assert g.get("X-from") == "libzmq" and g.get("Socket-Type") == "ROUTER"


# -- XSUB/XPUB: verbose unsubscribe, only-first-subscribe, topics count ------------------


@pytest.mark.parametrize("verbose", [0, 1])
def test_xsub_verbose_unsubscribe(ctx: zmq.Context, lzctx: Any, verbose: int) -> None:
    """A duplicate cancel is passed on only with XSUB_VERBOSE_UNSUBSCRIBE (seen by a
    libzmq XPUB_VERBOSER, which shows every cancel it gets)."""
    xpub = _lz(lzctx, "XPUB", xpub_verboser=1)
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    xsub = mk(ctx, zmq.XSUB, xsub_verbose_unsubscribe=verbose)
    xsub.connect(f"tcp://127.0.0.1:{port}")
    for m in (b"\x01a", b"\x00a", b"\x00a", b"\x00never", b"\x01end"):
        xsub.send(m)
    got = []
    while not got or got[-1] != b"\x01end":
        got.append(xpub.recv())
    if verbose:
        assert got == [b"\x01a", b"\x00a", b"\x00a", b"\x00never", b"\x01end"]
    else:
        assert got == [b"\x01a", b"\x00a", b"\x01end"]


def test_only_first_subscribe_with_libzmq(ctx: zmq.Context, lzctx: Any) -> None:
    """libzmq's XPUB (stable option) and ours agree on every frame of a multipart
    message from an XSUB, with and without ONLY_FIRST_SUBSCRIBE; TOPICS_COUNT too."""
    msgs = [[b"\x01t1", b"\x01t2"], [b"data", b"\x01t3"], [b"\x01t4", b"payload"]]
    results = {}
    for only_first in (0, 1):
        for side in ("libzmq", "purezmq"):
            if side == "libzmq":
                xpub = _lz(lzctx, "XPUB", only_first_subscribe=only_first)
                port = xpub.bind_to_random_port("tcp://127.0.0.1")
                ep = f"tcp://127.0.0.1:{port}"
            else:
                xpub = mk(ctx, zmq.XPUB, only_first_subscribe=only_first)
                xpub.bind("tcp://127.0.0.1:*")
                ep = xpub.last_endpoint.decode()
            xsub = _lz(lzctx, "XSUB", only_first_subscribe=only_first)
            xsub.connect(ep)
            for m in msgs:
                xsub.send_multipart(m)
            xsub.send(b"\x01zz-end")
            got = []
            while not got or got[-1] != [b"\x01zz-end"]:
                got.append(xpub.recv_multipart())
            count = xpub.getsockopt(116)  # TOPICS_COUNT
            results[only_first, side] = (got, count)
            xsub.close()
            xpub.close()
        assert results[only_first, "purezmq"] == results[only_first, "libzmq"], only_first
    assert results[0, "purezmq"][1] == 5 and results[1, "purezmq"][1] == 4


def test_xsub_only_first_subscribe_to_libzmq_xpub(ctx: zmq.Context, lzctx: Any) -> None:
    """Our XSUB with ONLY_FIRST_SUBSCRIBE: the frames after a data frame are data."""
    xpub = _lz(lzctx, "XPUB")
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    xsub = mk(ctx, zmq.XSUB, only_first_subscribe=1)
    xsub.connect(f"tcp://127.0.0.1:{port}")
    xsub.send_multipart([b"data", b"\x01not-a-sub"])
    xsub.send_multipart([b"\x01real"])
    assert xsub.get(zmq.TOPICS_COUNT) == 1
    got = [xpub.recv_multipart(), xpub.recv_multipart()]
    assert got == [[b"data", b"\x01not-a-sub"], [b"\x01real"]]


def test_topics_count(ctx: zmq.Context, lzctx: Any) -> None:
    sub = mk(ctx, zmq.SUB)
    for t in (b"a", b"b", b"a"):
        sub.subscribe(t)
    assert sub.get(zmq.TOPICS_COUNT) == 2
    sub.unsubscribe(b"a")
    assert sub.topics_count == 2  # counted: a was subscribed twice
    sub.unsubscribe(b"a")
    assert sub.topics_count == 1
    pub = mk(ctx, zmq.PUB)
    pub.bind("tcp://127.0.0.1:*")
    theirs = _lz(lzctx, "SUB")
    theirs.connect(pub.last_endpoint.decode())
    for t in (b"x", b"y", b"x"):
        theirs.subscribe(t)
    assert _wait_until(lambda: pub.topics_count == 2)
    with pytest.raises(zmq.ZMQError):
        mk(ctx, zmq.DEALER).get(zmq.TOPICS_COUNT)


# -- RECONNECT_STOP ------------------------------------------------------------------------


def _connecter(sock: Any, ep: str) -> Any:
    return sock._core.endpoints[ep][0]


def test_reconnect_stop_handshake_failed(ctx: zmq.Context) -> None:
    """A peer that is not ZMTP fails the handshake: with the flag, no more attempts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    ep = f"tcp://127.0.0.1:{srv.getsockname()[1]}"
    accepted: list[socket.socket] = []

    def garbage() -> None:
        srv.settimeout(10)
        try:
            c, _ = srv.accept()
        except OSError:
            return
        accepted.append(c)
        c.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n" + b"x" * 64)

    t = threading.Thread(target=garbage)
    t.start()
    try:
        d = mk(ctx, zmq.DEALER, reconnect_ivl=10)
        d.reconnect_stop = zmq.RECONNECT_STOP_HANDSHAKE_FAILED
        assert d.reconnect_stop == zmq.RECONNECT_STOP_HANDSHAKE_FAILED
        d.connect(ep)
        t.join(15)
        assert _wait_until(lambda: _connecter(d, ep).done)
    finally:
        srv.close()
        for c in accepted:
            c.close()


def test_reconnect_stop_after_disconnect(ctx: zmq.Context) -> None:
    """disconnect() with messages queued: the endpoint stops at once, no retries."""
    port_holder = socket.socket()
    port_holder.bind(("127.0.0.1", 0))  # bound, never listening: connects are refused
    ep = f"tcp://127.0.0.1:{port_holder.getsockname()[1]}"
    try:
        d = mk(ctx, zmq.DEALER, reconnect_ivl=10, linger=5000)
        d.reconnect_stop = zmq.RECONNECT_STOP_AFTER_DISCONNECT
        d.connect(ep)
        d.send(b"undeliverable")
        c = _connecter(d, ep)
        d.disconnect(ep)
        assert _wait_until(lambda: c.done)
    finally:
        port_holder.close()


# -- PRIORITY, BUSY_POLL; IN/OUT_BATCH_SIZE ------------------------------------------------


@pytest.mark.skipif(not hasattr(socket, "SO_PRIORITY"), reason="SO_PRIORITY is Linux's")
def test_priority_and_busy_poll_on_connections(ctx: zmq.Context) -> None:
    so_busy_poll = getattr(socket, "SO_BUSY_POLL", 46)
    a = mk(ctx, zmq.PAIR, priority=3, busy_poll=1)
    b = mk(ctx, zmq.PAIR, priority=5)
    assert a.priority == 3
    a.bind("tcp://127.0.0.1:*")
    ep = a.last_endpoint.decode()
    b.connect(ep)
    b.send(b"x")
    assert a.recv() == b"x"
    theirs = _connecter(b, ep).engine.os_sock
    assert theirs.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY) == 5
    (listener,) = a._core.endpoints[ep]
    (accepted,) = listener.engines
    assert accepted.os_sock.getsockopt(socket.SOL_SOCKET, socket.SO_PRIORITY) == 3
    busy = accepted.os_sock.getsockopt(socket.SOL_SOCKET, so_busy_poll)
    assert busy in (1, 0)  # 0: the kernel refused it (logged), as libzmq carries on


def test_batch_sizes_refused_with_a_reason(ctx: zmq.Context) -> None:
    s = mk(ctx, zmq.DEALER)
    for opt in (zmq.IN_BATCH_SIZE, zmq.OUT_BATCH_SIZE):
        with pytest.raises(zmq.ZMQError, match="cannot honour") as e:
            s.setsockopt(opt, 1000)
        assert e.value.errno == zmq.EINVAL


# -- ZMTP 3.1 PING/PONG context ------------------------------------------------------------


def _raw_ping(port: int, context: bytes) -> bytes:
    """Handshake as a raw DEALER (purezmq's sans-I/O codec), PING with ``context``,
    return the PONG's context."""
    from purezmq.zmtp import Pong, ZmtpConnection

    conn = ZmtpConnection(socket_type="DEALER")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(conn.data_to_send())
        pinged = False
        while True:
            data = s.recv(65536)
            assert data, "peer closed"
            conn.receive_data(data)
            if conn.handshake_complete and not pinged:
                conn.send_ping(1.0, context)
                pinged = True
            out = conn.data_to_send()
            if out:
                s.sendall(out)
            for ev in conn.events:
                if isinstance(ev, Pong):
                    return bytes(ev.context)
            conn.events.clear()


@pytest.mark.parametrize("side", ["libzmq", "purezmq"])
def test_ping_context_echoed(ctx: zmq.Context, lzctx: Any, side: str) -> None:
    """RFC 37: PONG carries the PING's context (at most 16 octets: libzmq truncates)."""
    if side == "libzmq":
        r = _lz(lzctx, "ROUTER")
        port = r.bind_to_random_port("tcp://127.0.0.1")
    else:
        r = mk(ctx, zmq.ROUTER)
        r.bind("tcp://127.0.0.1:*")
        port = int(r.last_endpoint.decode().rsplit(":", 1)[1])
    assert _raw_ping(port, b"ctx-123") == b"ctx-123"
    assert _raw_ping(port, b"") == b""


# -- SOCKS_PROXY ---------------------------------------------------------------------------


class Socks5Server:
    """A minimal SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 username/password) on
    loopback, standard library only: one thread per client, relaying both ways."""

    def __init__(self, username: bytes = b"", password: bytes = b"") -> None:
        self.username, self.password = username, password
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(16)
        self.port = self.lsock.getsockname()[1]
        self.requests: list[tuple[int, str, int]] = []  # (atyp, host, port) connected
        self.refused_auth = 0
        self.methods: list[bytes] = []
        self.socks: list[socket.socket] = [self.lsock]
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.closed = True
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass

    def _accept(self) -> None:
        while not self.closed:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.socks.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _exact(c: socket.socket, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = c.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("client went away")
            buf += chunk
        return buf

    def _serve(self, c: socket.socket) -> None:
        try:
            c.settimeout(20)
            ver, n = self._exact(c, 2)
            methods = self._exact(c, n)
            self.methods.append(methods)
            want = 2 if self.username else 0
            if ver != 5 or want not in methods:
                c.sendall(b"\x05\xff")
                return
            c.sendall(bytes([5, want]))
            if want == 2:
                _v, ulen = self._exact(c, 2)
                user = self._exact(c, ulen)
                (plen,) = self._exact(c, 1)
                pw = self._exact(c, plen)
                if (user, pw) != (self.username, self.password):
                    self.refused_auth += 1
                    c.sendall(b"\x01\x01")
                    return
                c.sendall(b"\x01\x00")
            _v, cmd, _r, atyp = self._exact(c, 4)
            if atyp == 1:
                host = socket.inet_ntoa(self._exact(c, 4))
            elif atyp == 4:
                host = socket.inet_ntop(socket.AF_INET6, self._exact(c, 16))
            else:
                host = self._exact(c, self._exact(c, 1)[0]).decode()
            (port,) = struct.unpack(">H", self._exact(c, 2))
            try:
                up = socket.create_connection((host, port), timeout=10)
            except OSError:
                c.sendall(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
                return
            self.socks.append(up)
            self.requests.append((atyp, host, port))
            c.sendall(b"\x05\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", 0))
            c.settimeout(None)
            up.settimeout(None)
            threading.Thread(target=self._pump, args=(up, c), daemon=True).start()
            self._pump(c, up)
        except (OSError, ConnectionError, ValueError):
            pass

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def proxy() -> Iterator[Socks5Server]:
    p = Socks5Server()
    yield p
    p.close()


@pytest.fixture
def auth_proxy() -> Iterator[Socks5Server]:
    p = Socks5Server(b"user", b"secret")
    yield p
    p.close()


@pytest.mark.parametrize("client", ["purezmq", "libzmq"])
def test_socks_proxy_no_auth(
    ctx: zmq.Context, lzctx: Any, proxy: Socks5Server, client: str
) -> None:
    """REQ through the proxy to a libzmq REP; libzmq's own SOCKS client alike (which
    checks the test's proxy)."""
    rep = _lz(lzctx, "REP")
    port = rep.bind_to_random_port("tcp://127.0.0.1")
    req = mk(ctx, zmq.REQ) if client == "purezmq" else _lz(lzctx, "REQ")
    req.socks_proxy = b"127.0.0.1:%d" % proxy.port
    assert req.socks_proxy == b"127.0.0.1:%d" % proxy.port
    req.connect(f"tcp://127.0.0.1:{port}")
    for i in range(5):
        req.send(b"q%d" % i)
        assert rep.recv() == b"q%d" % i
        rep.send(b"r%d" % i)
        assert req.recv() == b"r%d" % i
    assert proxy.requests == [(1, "127.0.0.1", port)]
    assert proxy.methods == [b"\x00"]


@pytest.mark.parametrize("client", ["purezmq", "libzmq"])
def test_socks_proxy_domain_name_not_resolved(
    ctx: zmq.Context, lzctx: Any, proxy: Socks5Server, client: str
) -> None:
    rep = mk(ctx, zmq.REP)
    rep.bind("tcp://127.0.0.1:*")
    port = int(rep.last_endpoint.decode().rsplit(":", 1)[1])
    req = mk(ctx, zmq.REQ) if client == "purezmq" else _lz(lzctx, "REQ")
    req.socks_proxy = b"localhost:%d" % proxy.port
    req.connect(f"tcp://localhost:{port}")
    req.send(b"via name")
    assert rep.recv() == b"via name"
    assert proxy.requests[0][:2] == (3, "localhost")


@pytest.mark.parametrize("client", ["purezmq", "libzmq"])
def test_socks_proxy_basic_auth(
    ctx: zmq.Context, lzctx: Any, auth_proxy: Socks5Server, client: str
) -> None:
    rep = mk(ctx, zmq.REP)
    rep.bind("tcp://127.0.0.1:*")
    req = mk(ctx, zmq.REQ) if client == "purezmq" else _lz(lzctx, "REQ")
    req.socks_proxy = b"127.0.0.1:%d" % auth_proxy.port
    req.socks_username = b"user"
    req.socks_password = b"secret"
    req.connect(rep.last_endpoint.decode())
    req.send(b"authenticated")
    assert rep.recv() == b"authenticated"
    assert auth_proxy.methods[0] == b"\x02" and auth_proxy.refused_auth == 0


def test_socks_proxy_wrong_password_gets_nowhere(
    ctx: zmq.Context, auth_proxy: Socks5Server
) -> None:
    rep = mk(ctx, zmq.REP, timeout=300)
    rep.bind("tcp://127.0.0.1:*")
    req = mk(ctx, zmq.REQ, reconnect_ivl=50)
    req.socks_proxy = b"127.0.0.1:%d" % auth_proxy.port
    req.socks_username = b"user"
    req.socks_password = b"wrong"
    req.connect(rep.last_endpoint.decode())
    req.send(b"never")
    assert _wait_until(lambda: auth_proxy.refused_auth >= 2)  # refused, and retried
    with pytest.raises(zmq.Again):
        rep.recv()
    assert auth_proxy.requests == []


def test_socks_proxy_refusal_events(ctx: zmq.Context, auth_proxy: Socks5Server) -> None:
    """A proxy that refuses the password: the monitor shows the attempt's socket
    CLOSED, then CONNECT_RETRIED, as libzmq's socks_connecter (error() -> close()
    -> event_closed, then the reconnect timer). libzmq itself is not the oracle
    here: its client aborts on an assertion in this case once monitored."""
    import struct

    req = mk(ctx, zmq.REQ, reconnect_ivl=50)
    req.socks_proxy = b"127.0.0.1:%d" % auth_proxy.port
    req.socks_username = b"user"
    req.socks_password = b"wrong"
    mon = req.get_monitor_socket()
    req.connect("tcp://127.0.0.1:9")
    names: list[str] = []
    deadline = time.monotonic() + 5
    while "CONNECT_RETRIED" not in names and time.monotonic() < deadline:
        if mon.poll(100):
            event = struct.unpack("=HI", mon.recv_multipart()[0][:6])[0]
            names.append(zmq.Event(event).name)
    assert names[-2:] == ["CLOSED", "CONNECT_RETRIED"], names
    mon.close(linger=0)


def test_socks_proxy_bad_value(ctx: zmq.Context) -> None:
    req = mk(ctx, zmq.REQ)
    req.socks_proxy = b"no-port-here"
    with pytest.raises(zmq.ZMQError) as e:
        req.connect("tcp://127.0.0.1:5555")
    assert e.value.errno == zmq.EINVAL and "SOCKS_PROXY" in str(e.value)


_DRAFTS_OFF = r"""
import errno, sys
import purezmq
purezmq.install_as_zmq()
import zmq
assert zmq is purezmq and zmq.DRAFT_API is False and zmq.PYZMQ_DRAFT_API is False
assert not zmq.has("draft") and not zmq.has("ws") and not zmq.has("WSS") and zmq.has("ipc")
assert zmq.SERVER == 12 and zmq.HELLO_MSG  # the constants stay, as pyzmq's
ctx = zmq.Context()
for kind in (zmq.SERVER, zmq.CLIENT, zmq.RADIO, zmq.DISH, zmq.SCATTER, zmq.GATHER,
             zmq.DGRAM, zmq.PEER, zmq.CHANNEL):
    try:
        ctx.socket(kind)
    except zmq.ZMQError as e:
        assert e.errno == errno.EINVAL and "PUREZMQ_DRAFT=0" in str(e), e
    else:
        raise AssertionError(f"socket type {kind} created with drafts off")
s = ctx.socket(zmq.DEALER)
s.linger = 0
for opt in (zmq.HELLO_MSG, zmq.DISCONNECT_MSG, zmq.HICCUP_MSG):
    try:
        s.setsockopt(opt, b"x")
    except zmq.ZMQError as e:
        assert e.errno == errno.EINVAL and "draft" in str(e), e
    else:
        raise AssertionError(f"draft option {opt} accepted with drafts off")
s.setsockopt(zmq.METADATA, b"X-k:v")  # not refused: pyzmq's wheels take it too
try:
    s.connect("ws://127.0.0.1:5555")
except zmq.ZMQError as e:
    assert e.errno == errno.EPROTONOSUPPORT, e
else:
    raise AssertionError("ws:// accepted with drafts off")
for call in (lambda: s.join("g"), lambda: s.send(b"x", routing_id=1),
             lambda: s.send(b"x", group="g")):
    try:
        call()
    except RuntimeError as e:
        assert "draft support" in str(e), e
    else:
        raise AssertionError("a draft call worked with drafts off")
# The classic types work as ever.
a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
a.bind("inproc://off"); b.connect("inproc://off")
a.send(b"ok")
assert b.recv() == b"ok"
ctx.destroy(linger=0)
print("OK")
"""


@pytest.mark.parametrize("value", ["0", "off"])
def test_purezmq_draft_0_hides_the_drafts(value: str) -> None:
    """PUREZMQ_DRAFT=0: purezmq looks like pyzmq's wheels (no draft API), for code
    that probes zmq.DRAFT_API to pick a path."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, PUREZMQ_DRAFT=value)
    r = subprocess.run(
        [sys.executable, "-c", _DRAFTS_OFF], env=env, capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0 and r.stdout.strip() == "OK", r.stderr


def test_drafts_on_by_default() -> None:
    assert zmq.DRAFT_API is True and zmq.has("draft")
