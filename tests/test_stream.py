"""STREAM sockets: raw tcp/ipc peers (zmq_socket(3)), against plain sockets and libzmq."""

from __future__ import annotations

import http.client
import socket
import socketserver
import threading
from pathlib import Path
from typing import Any

import pytest

import purezmq as zmq
from tests.helpers import mk

pytestmark = pytest.mark.timeout(30)


def recv_data(s: Any, rid: bytes, want: int) -> bytes:
    """Data from connection ``rid`` until ``want`` octets came (chunks are arbitrary)."""
    buf = b""
    while len(buf) < want:
        got_rid, data = s.recv_multipart()
        assert got_rid == rid
        assert data, "unexpected disconnect notification"
        buf += data
    return buf


def test_http_client_gets_an_answer_from_a_stream_server(ctx: Any) -> None:
    server = mk(ctx, zmq.STREAM)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    result: dict[str, Any] = {}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/hello")
        resp = conn.getresponse()
        result["status"] = resp.status
        result["body"] = resp.read()
        conn.close()

    t = threading.Thread(target=client)
    t.start()
    rid, empty = server.recv_multipart()
    assert empty == b""  # STREAM_NOTIFY: connected
    request = b""
    while b"\r\n\r\n" not in request:
        r, data = server.recv_multipart()
        assert r == rid
        request += data
    assert request.startswith(b"GET /hello HTTP/1.1\r\n")
    body = b"hello from purezmq"
    server.send_multipart(
        [rid, b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)]
    )
    server.send_multipart([rid, b""])  # close it, as an HTTP/1.0-style server would
    t.join(10)
    assert result == {"status": 200, "body": body}


def test_stream_client_talks_to_socketserver(ctx: Any) -> None:
    class Upper(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            line = self.rfile.readline()
            self.wfile.write(line.upper())

    srv = socketserver.TCPServer(("127.0.0.1", 0), Upper)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        client = mk(ctx, zmq.STREAM)
        client.connect(f"tcp://127.0.0.1:{srv.server_address[1]}")
        rid = client.getsockopt(zmq.ROUTING_ID)  # as libzmq: the id of that connection
        got_rid, empty = client.recv_multipart()
        assert (got_rid, empty) == (rid, b"")
        client.send(rid, zmq.SNDMORE)
        client.send(b"shout this\n")
        assert recv_data(client, rid, 11) == b"SHOUT THIS\n"
        # The handler returns and the server closes: a disconnect notification.
        assert client.recv_multipart() == [rid, b""]
    finally:
        srv.shutdown()
        srv.server_close()


def test_close_by_empty_frame_and_peer_disconnect_notification(ctx: Any) -> None:
    server = mk(ctx, zmq.STREAM)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    a = socket.create_connection(("127.0.0.1", port), timeout=5)
    b = socket.create_connection(("127.0.0.1", port), timeout=5)
    ids = [server.recv_multipart() for _ in range(2)]
    assert all(empty == b"" for _, empty in ids)
    rids = [r for r, _ in ids]
    assert len(set(rids)) == 2 and all(len(r) == 5 and r[0] == 0 for r in rids)
    # Which id is which: each client says its name.
    a.sendall(b"a")
    b.sendall(b"b")
    who = {}
    for _ in range(2):
        r, data = server.recv_multipart()
        who[data] = r
    server.send_multipart([who[b"a"], b"bye"])
    server.send_multipart([who[b"a"], b""])  # close a's connection after "bye"
    assert a.recv(10) == b"bye"
    assert a.recv(10) == b""  # EOF
    with pytest.raises(zmq.ZMQError) as e:
        server.send_multipart([who[b"a"], b"late"])
    assert e.value.errno == zmq.EHOSTUNREACH
    # b is still there; then it hangs up: [id, b""].
    server.send_multipart([who[b"b"], b"still here"])
    assert b.recv(20) == b"still here"
    b.sendall(b"last words")
    b.close()
    assert recv_data(server, who[b"b"], 10) == b"last words"
    assert server.recv_multipart() == [who[b"b"], b""]
    a.close()


def test_unknown_routing_id_fails_at_once(ctx: Any) -> None:
    s = mk(ctx, zmq.STREAM)
    with pytest.raises(zmq.ZMQError) as e:
        s.send(b"\x00nope", zmq.SNDMORE)
    assert e.value.errno == zmq.EHOSTUNREACH


def test_connect_routing_id_and_no_notify(ctx: Any, tmp_path: Path) -> None:
    server = mk(ctx, zmq.STREAM, stream_notify=0)
    addr = f"ipc://{tmp_path}/raw.ipc"
    server.bind(addr)
    client = mk(ctx, zmq.STREAM)
    client.connect_routing_id = b"mine"
    client.connect(addr)
    assert client.recv_multipart() == [b"mine", b""]
    client.send_multipart([b"mine", b"over ipc"])
    rid, data = server.recv_multipart()  # no notification first: STREAM_NOTIFY=0
    assert data == b"over ipc"
    server.send_multipart([rid, b"back"])
    assert recv_data(client, b"mine", 4) == b"back"


@pytest.mark.parametrize("we_bind", [True, False], ids=["purezmq-binds", "libzmq-binds"])
def test_interop_with_libzmq_stream(ctx: Any, lzctx: Any, we_bind: bool) -> None:
    lz = pytest.importorskip("zmq")
    ours = mk(ctx, zmq.STREAM)
    theirs = lzctx.socket(lz.STREAM)
    theirs.linger = 0
    theirs.rcvtimeo = 5000
    if we_bind:
        port = ours.bind_to_random_port("tcp://127.0.0.1")
        theirs.connect(f"tcp://127.0.0.1:{port}")
        client, server = theirs, ours
    else:
        port = theirs.bind_to_random_port("tcp://127.0.0.1")
        ours.connect(f"tcp://127.0.0.1:{port}")
        client, server = ours, theirs
    crid, empty = client.recv_multipart()
    assert empty == b""
    srid, empty = server.recv_multipart()
    assert empty == b""
    payload = bytes(range(256)) * 40
    client.send_multipart([crid, payload])
    assert recv_data(server, srid, len(payload)) == payload
    server.send_multipart([srid, b"pong"])
    assert recv_data(client, crid, 4) == b"pong"
    # purezmq hangs up with an empty frame (zmq_socket(3)); libzmq is told.
    # (libzmq 4.3.5 itself leaves the connection open on an empty frame --
    # seen with a plain-socket peer -- contrary to its man page; we follow the page.)
    mine, their_id = (server, crid) if we_bind else (client, srid)
    mine.send_multipart([srid if we_bind else crid, b""])
    assert theirs.recv_multipart() == [their_id, b""]
