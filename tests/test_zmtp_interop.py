"""Wire interop with a real libzmq (via pyzmq), over loopback TCP.

Our side is a ZmtpConnection driven over a plain stdlib socket in a
blocking loop with short timeouts; every wait is bounded by a deadline.
``lzctx`` (tests/conftest.py) is a libzmq context destroyed after each test.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from purezmq.zmtp import HandshakeComplete, Ping, Pong, ProtocolError, ZmtpConnection
from purezmq.zmtp.frames import FrameDecoder
from purezmq.zmtp.greeting import build_greeting
from tests.helpers import as_lists

zmq = pytest.importorskip("zmq")

TIMEOUT = 5.0
Msgs = list[list[bytes]]


def zsocket(ctx: Any, kind: int, **opts: Any) -> Any:
    """A libzmq socket with linger 0 and a receive timeout."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = int(TIMEOUT * 1000)
    s.sndtimeo = int(TIMEOUT * 1000)
    for name, value in opts.items():
        s.setsockopt(getattr(zmq, name), value)
    return s


def connect_to(zsock: Any) -> socket.socket:
    """Bind ``zsock`` on a random loopback port; return a stdlib client socket."""
    port = zsock.bind_to_random_port("tcp://127.0.0.1")
    return socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)


def accept_from(zsock: Any) -> socket.socket:
    """Make ``zsock`` connect to a stdlib listener; return the accepted socket."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.settimeout(TIMEOUT)
        zsock.connect(f"tcp://127.0.0.1:{listener.getsockname()[1]}")
        sock, _ = listener.accept()
    sock.settimeout(TIMEOUT)
    return sock


def drive(
    sock: socket.socket,
    conn: ZmtpConnection,
    until: Callable[[Msgs], bool],
    timeout: float = TIMEOUT,
    between: Callable[[], None] | None = None,
) -> Msgs:
    """Flush output and feed input until ``until(received)``; bounded by ``timeout``."""
    received: Msgs = []
    deadline = time.monotonic() + timeout
    while True:
        out = conn.data_to_send()
        if out:
            sock.sendall(out)
        if until(received):
            return received
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"gave up waiting; received {received!r}, events {conn.events!r}")
        if between is not None:
            between()
        sock.settimeout(min(remaining, 0.05))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            continue
        if not data:
            raise ConnectionError("libzmq closed the connection")
        received += as_lists(conn.receive_data(data))


def handshake(sock: socket.socket, conn: ZmtpConnection) -> HandshakeComplete:
    """Run the greeting and NULL handshake; return the HandshakeComplete event."""
    drive(sock, conn, lambda _: conn.handshake_complete)
    (ev,) = [e for e in conn.events if isinstance(e, HandshakeComplete)]
    return ev


def test_we_push_to_libzmq_pull(lzctx: Any) -> None:
    pull = zsocket(lzctx, zmq.PULL)
    with connect_to(pull) as sock:
        conn = ZmtpConnection(socket_type="PUSH")
        ev = handshake(sock, conn)
        assert ev.peer_socket_type == "PULL" and ev.peer_version == (3, 1)
        msgs = [[b"hello"], [b"multi", b"", b"part"], [b"x" * 300], [b"y" * 200000]]
        conn.send_messages(msgs)
        sock.sendall(conn.data_to_send())
        assert [pull.recv_multipart() for _ in msgs] == msgs


def test_we_push_with_sendmsg_buffers(lzctx: Any) -> None:
    pull = zsocket(lzctx, zmq.PULL)
    with connect_to(pull) as sock:
        conn = ZmtpConnection(socket_type="PUSH")
        handshake(sock, conn)
        big = b"B" * 100000
        conn.send_messages([[b"a", big], [b"b"]])
        bufs = conn.buffers_to_send()
        assert any(x is big for x in bufs)
        sent = sock.sendmsg(bufs)
        rest = b"".join(bufs)[sent:]  # a partial write: send the rest the simple way
        if rest:
            sock.sendall(rest)
        assert pull.recv_multipart() == [b"a", big]
        assert pull.recv_multipart() == [b"b"]


def test_libzmq_push_to_our_pull(lzctx: Any) -> None:
    push = zsocket(lzctx, zmq.PUSH)
    with accept_from(push) as sock:
        conn = ZmtpConnection(socket_type="PULL", as_server=True)
        msgs = [[b"m%d" % i, b"z" * (i * 100)] for i in range(20)] + [[b"big" * 100000]]
        for m in msgs:
            push.send_multipart(m)
        got = drive(sock, conn, lambda r: len(r) >= len(msgs))
        assert got == msgs
        assert conn.peer_socket_type == "PUSH"


def test_our_sub_receives_only_matching(lzctx: Any) -> None:
    pub = zsocket(lzctx, zmq.PUB)
    with connect_to(pub) as sock:
        conn = ZmtpConnection(socket_type="SUB")
        conn.send_subscribe(b"a")  # held until the handshake, then a SUBSCRIBE command
        handshake(sock, conn)

        def publish() -> None:
            pub.send(b"a-match")
            pub.send(b"b-other")

        got = drive(sock, conn, lambda r: len(r) >= 3, between=publish)
        assert all(m[0].startswith(b"a") for m in got)

        # Cancel "a", subscribe "c": once a "c" message arrives, libzmq has
        # processed the CANCEL (same TCP stream, in order), so no "a" follows.
        conn.send_cancel(b"a")
        conn.send_subscribe(b"c")

        def publish2() -> None:
            pub.send(b"a-gone")
            pub.send(b"c-match")

        got = drive(
            sock, conn, lambda r: sum(m[0].startswith(b"c") for m in r) >= 3, between=publish2
        )
        first_c = next(i for i, m in enumerate(got) if m[0].startswith(b"c"))
        assert all(not m[0].startswith(b"a") for m in got[first_c:])


def test_our_sub_as_zmtp30_peer(lzctx: Any) -> None:
    pub = zsocket(lzctx, zmq.PUB)
    with connect_to(pub) as sock:
        conn = ZmtpConnection(socket_type="SUB", zmtp_version=(3, 0))
        ev = handshake(sock, conn)
        assert ev.peer_version == (3, 0)  # libzmq downgrades to 3.0 for us
        conn.send_subscribe(b"t")  # a \x01 message on 3.0

        def publish() -> None:
            pub.send(b"t1")
            pub.send(b"u1")

        got = drive(sock, conn, lambda r: len(r) >= 2, between=publish)
        assert all(m == [b"t1"] for m in got)


def test_libzmq_sub_subscribes_to_our_xpub(lzctx: Any) -> None:
    sub = zsocket(lzctx, zmq.SUB)
    with accept_from(sub) as sock:
        conn = ZmtpConnection(socket_type="XPUB", as_server=True)
        sub.setsockopt(zmq.SUBSCRIBE, b"weather")
        got = drive(sock, conn, lambda r: len(r) >= 1)
        assert got == [[b"\x01weather"]]  # SUBSCRIBE command, seen as libzmq's XPUB does
        conn.send_messages([[b"weather sunny"]])
        sock.sendall(conn.data_to_send())
        assert sub.recv() == b"weather sunny"
        sub.setsockopt(zmq.UNSUBSCRIBE, b"weather")
        assert drive(sock, conn, lambda r: len(r) >= 1) == [[b"\x00weather"]]


def test_dealer_router_identities(lzctx: Any) -> None:
    router = zsocket(lzctx, zmq.ROUTER)
    with connect_to(router) as sock:
        conn = ZmtpConnection(socket_type="DEALER", routing_id=b"purezmq")
        ev = handshake(sock, conn)
        assert ev.peer_socket_type == "ROUTER"
        conn.send_message([b"hello"])
        sock.sendall(conn.data_to_send())
        assert router.recv_multipart() == [b"purezmq", b"hello"]
        router.send_multipart([b"purezmq", b"reply"])
        assert drive(sock, conn, lambda r: len(r) >= 1) == [[b"reply"]]


def test_libzmq_dealer_identity_seen_by_our_router(lzctx: Any) -> None:
    dealer = zsocket(lzctx, zmq.DEALER, ROUTING_ID=b"lib-dealer")
    with accept_from(dealer) as sock:
        conn = ZmtpConnection(socket_type="ROUTER", as_server=True)
        dealer.send(b"hi")
        got = drive(sock, conn, lambda r: len(r) >= 1)
        assert got == [[b"hi"]]
        assert conn.peer_routing_id == b"lib-dealer"


def test_our_ready_is_byte_identical_to_libzmq(lzctx: Any) -> None:
    dealer = zsocket(lzctx, zmq.DEALER, ROUTING_ID=b"abc")
    with connect_to(dealer) as sock:
        sock.sendall(build_greeting())  # we pose as a ROUTER peer
        twin = ZmtpConnection(socket_type="DEALER", routing_id=b"abc")
        twin.data_to_send()
        twin.receive_data(build_greeting())
        expected_ready = twin.data_to_send()
        raw = b""
        deadline = time.monotonic() + TIMEOUT
        while len(raw) < 64 + len(expected_ready) and time.monotonic() < deadline:
            raw += sock.recv(4096)
        # libzmq's greeting differs from ours only in the (insignificant) padding.
        assert raw[0] == 0xFF and raw[9:64] == build_greeting()[9:]
        assert raw[64 : 64 + len(expected_ready)] == expected_ready


def test_ping_pong_with_libzmq(lzctx: Any) -> None:
    pull = zsocket(lzctx, zmq.PULL, HEARTBEAT_IVL=50, HEARTBEAT_TTL=2000)
    with connect_to(pull) as sock:
        conn = ZmtpConnection(socket_type="PUSH")
        handshake(sock, conn)
        conn.send_ping(1.0, b"ctx")
        drive(sock, conn, lambda _: any(isinstance(e, Pong) for e in conn.events))
        assert Pong(b"ctx") in conn.events
        # libzmq heartbeats us; we answer (automatically) and see the TTL.
        drive(sock, conn, lambda _: any(isinstance(e, Ping) for e in conn.events))
        ping = next(e for e in conn.events if isinstance(e, Ping))
        assert ping.ttl == 2.0
        conn.send_message([b"still alive"])
        sock.sendall(conn.data_to_send())
        assert pull.recv() == b"still alive"


def test_incompatible_socket_type_with_libzmq(lzctx: Any) -> None:
    pub = zsocket(lzctx, zmq.PUB)
    with connect_to(pub) as sock:
        conn = ZmtpConnection(socket_type="PUSH")
        with pytest.raises(ProtocolError, match="socket type PUSH cannot connect to PUB"):
            drive(sock, conn, lambda _: False)
        # The last thing we queued for libzmq is an ERROR naming the problem.
        items = FrameDecoder().feed(conn.data_to_send())
        assert items[-1] == b"\x05ERROR\x26socket type PUSH cannot connect to PUB"


def test_our_maxmsgsize_rejects_big_frame_from_libzmq(lzctx: Any) -> None:
    push = zsocket(lzctx, zmq.PUSH)
    with accept_from(push) as sock:
        conn = ZmtpConnection(socket_type="PULL", as_server=True, maxmsgsize=1000)
        push.send(b"ok")
        push.send(b"x" * 5000)
        with pytest.raises(ProtocolError, match="frame of 5000 bytes exceeds MAXMSGSIZE 1000"):
            drive(sock, conn, lambda _: False)
