"""ws:// and wss:// (RFC 45 ZWS 2.0 over an HTTP/1.1 WebSocket upgrade).

Sans-I/O first (the upgrade, the frame codec, ZwsConnection pairs, the bytes
libzmq 4.3.5 sends), then purezmq to purezmq over ws:// for every socket
type, wss:// with a self-signed certificate made here, interop with libzmq
4.3.5 (npm's zeromq 6 driven by tests/ws_peer.js, both directions; it has
ws:// but no wss://), and hostile peers: bad upgrade requests and responses
and bad ZWS frames cost the bad peer its own connection and nothing else.
Every wait is bounded; ports are chosen by the OS.
"""

from __future__ import annotations

import base64
import errno
import json
import shutil
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import helpers
import pytest
from helpers import mk

import purezmq as zmq
from purezmq.zmtp import ProtocolError
from purezmq.zmtp.events import HandshakeComplete, PeerClosed, Ping, Pong
from purezmq.zmtp.ws_connection import ZwsConnection
from purezmq.zmtp.ws_frames import (
    CLOSE,
    PING,
    ZwsDecoder,
    encode_control,
    encode_zws_command,
    encode_zws_iov,
    encode_zws_masked,
    mask_payload,
)
from purezmq.zmtp.ws_upgrade import ClientUpgrade, ServerUpgrade, accept_key

PEER_JS = Path(__file__).resolve().parent / "ws_peer.js"
N = 50  # messages per interop test (the issue asks for at least 50)
FRAMES = 3
WAIT = 5.0


def frame(i: int, j: int) -> bytes:
    """Frame j of message i, as tests/ws_peer.js makes it: 1000 octets."""
    head = f"m{i}f{j}|".encode()
    return head + bytes([(i * 31 + j * 7) % 256]) * (1000 - len(head))


def message(i: int) -> list[bytes]:
    return [frame(i, j) for j in range(FRAMES)]


# -- endpoints ----------------------------------------------------------------------------


def test_ws_endpoint_syntax() -> None:
    from purezmq.transport.endpoint import EndpointError, parse_endpoint, ws_tcp_endpoint

    ep = parse_endpoint("ws://127.0.0.1:5555")
    assert (ep.host, ep.port, ep.path) == ("127.0.0.1", 5555, "/")
    ep = parse_endpoint("wss://[::1]:*/a/b?x=1", connect=False)
    assert (ep.host, ep.port, ep.path, ep.is_wildcard) == ("::1", 0, "/a/b?x=1", True)
    assert str(ws_tcp_endpoint(ep)) == "tcp://[::1]:*"
    for text, connect, code in [
        ("ws://127.0.0.1", None, errno.EINVAL),  # no port (libzmq: EINVAL too)
        ("ws://127.0.0.1:0?x=1", None, errno.EINVAL),  # libzmq: EINVAL
        ("ws://h:1/a b", None, errno.EINVAL),  # a space would break the request line
        ("ws://h:1/\u00e9", None, errno.EINVAL),
        ("ws://a;b:1", None, errno.EINVAL),
        ("ws:///p", None, errno.EINVAL),
        ("ws://*:1", True, errno.EINVAL),
        ("ws://h:*", True, errno.EINVAL),
        ("ws://:1", False, errno.ENODEV),
    ]:
        with pytest.raises(EndpointError) as info:
            parse_endpoint(text, connect=connect)
        assert info.value.errno == code, text
        assert text in str(info.value)
    assert zmq.has("WS") and zmq.has("WSS") and zmq.has("ws")


# -- the HTTP upgrade (sans-I/O) ----------------------------------------------------------


def test_accept_key_rfc6455_example() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_upgrade_round_trip_and_protocol_choice() -> None:
    client = ClientUpgrade("example.com:80", "/zeromq", ["ZWS2.0/NULL", "ZWS2.0"])
    req = client.request
    assert req.startswith(b"GET /zeromq HTTP/1.1\r\nHost: example.com:80\r\n")
    assert b"Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0\r\n" in req
    assert b"Sec-WebSocket-Version: 13\r\n" in req
    server = ServerUpgrade(["ZWS2.0/NULL", "ZWS2.0"])
    assert server.feed(req[:10]) is None
    assert server.feed(req[10:] + b"extra") == b"extra"
    assert server.protocol == "ZWS2.0/NULL" and server.path == "/zeromq"
    assert server.host == "example.com:80"
    assert client.feed(server.response + b"\x82") == b"\x82"
    assert client.protocol == "ZWS2.0/NULL"


def test_upgrade_server_takes_clients_order() -> None:
    server = ServerUpgrade(["ZWS2.0/NULL", "ZWS2.0"])
    req = ClientUpgrade("h:1", "/", ["ZWS2.0", "ZWS2.0/NULL"]).request
    assert server.feed(req) == b""
    assert server.protocol == "ZWS2.0"


def _request(**changes: str | None) -> bytes:
    headers = {
        "Host": "h:1",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "ZWS2.0/NULL,ZWS2.0",
        "Sec-WebSocket-Version": "13",
    }
    line = changes.pop("line", None) or "GET / HTTP/1.1"
    for k, v in changes.items():
        name = k.replace("_", "-")
        if v is None:
            headers.pop(name, None)
        else:
            headers[name] = v
    head = line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1")


BAD_REQUESTS = {
    "not GET": _request(line="POST / HTTP/1.1"),
    "HTTP/1.0": _request(line="GET / HTTP/1.0"),
    "no path": _request(line="GET  HTTP/1.1"),
    "garbage line": b"\x16\x03\x01\x02\x00\r\n\r\n",  # a TLS ClientHello on ws://
    "no Upgrade": _request(Upgrade=None),
    "Upgrade: h2c": _request(Upgrade="h2c"),
    "no Connection": _request(Connection=None),
    "Connection: close": _request(Connection="close"),
    "no key": _request(Sec_WebSocket_Key=None),
    "short key": _request(Sec_WebSocket_Key=base64.b64encode(b"short").decode()),
    "key not base64": _request(Sec_WebSocket_Key="!!!!notbase64!!!!!!!!!=="),
    "no version": _request(Sec_WebSocket_Version=None),
    "version 8": _request(Sec_WebSocket_Version="8"),
    "no protocol": _request(Sec_WebSocket_Protocol=None),
    "unknown protocol": _request(Sec_WebSocket_Protocol="chat,superchat"),
    "PLAIN to a NULL server": _request(Sec_WebSocket_Protocol="ZWS2.0/PLAIN"),
    "header without colon": _request().replace(b"Host: h:1", b"Host h:1"),
    "folded header": _request().replace(b"Host: h:1\r\n", b"Host: h:1\r\n  folded\r\n"),
    "bare LF": _request().replace(b"Host: h:1\r\n", b"Host: h:1\n"),
    "NUL in header": _request().replace(b"Host: h:1", b"Host: h\x00:1"),
    "head too long": _request().replace(b"Host: h:1", b"X-Pad: " + b"a" * 9000),
}


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_upgrade_bad_requests(name: str) -> None:
    server = ServerUpgrade(["ZWS2.0/NULL", "ZWS2.0"])
    with pytest.raises(ProtocolError) as info:
        server.feed(BAD_REQUESTS[name])
    assert info.value.code == zmq.PROTOCOL_ERROR_WS_UNSPECIFIED
    assert str(info.value)  # says what was wrong


def test_upgrade_long_head_fails_before_its_end() -> None:
    server = ServerUpgrade(["ZWS2.0/NULL"])
    with pytest.raises(ProtocolError, match="longer than"):
        for _ in range(100):
            server.feed(b"X" * 1000)


def _response(key: str, **changes: str | None) -> bytes:
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Accept": accept_key(key),
        "Sec-WebSocket-Protocol": "ZWS2.0/NULL",
    }
    line = changes.pop("line", None) or "HTTP/1.1 101 Switching Protocols"
    for k, v in changes.items():
        name = k.replace("_", "-")
        if v is None:
            headers.pop(name, None)
        else:
            headers[name] = v
    head = line + "\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1")


BAD_RESPONSES = {
    "404": dict(line="HTTP/1.1 404 Not Found"),
    "200": dict(line="HTTP/1.1 200 OK"),
    "not HTTP": dict(line="SSH-2.0-OpenSSH_9.6"),
    "wrong accept": dict(Sec_WebSocket_Accept="AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    "no accept": dict(Sec_WebSocket_Accept=None),
    "no protocol": dict(Sec_WebSocket_Protocol=None),
    "protocol not offered": dict(Sec_WebSocket_Protocol="ZWS2.0/CURVE"),
    "no Upgrade": dict(Upgrade=None),
}


@pytest.mark.parametrize("name", sorted(BAD_RESPONSES))
def test_upgrade_bad_responses(name: str) -> None:
    client = ClientUpgrade("h:1", "/", ["ZWS2.0/NULL", "ZWS2.0"])
    with pytest.raises(ProtocolError):
        client.feed(_response(client.key, **BAD_RESPONSES[name]))  # type: ignore[arg-type]


def test_upgrade_refuses_injection_in_path_or_host() -> None:
    with pytest.raises(ValueError):
        ClientUpgrade("h:1", "/x\r\nEvil: 1", ["ZWS2.0"])
    with pytest.raises(ValueError):
        ClientUpgrade("h:1\r\n", "/", ["ZWS2.0"])


# -- the frame codec (sans-I/O) -----------------------------------------------------------


MSGS = [[b"a"], [b"", b"x" * 124, b"y" * 125], [b"z" * 70000], [b"q" * 300, b"r"]]


@pytest.mark.parametrize("masked", [False, True])
def test_codec_round_trip_any_split(masked: bool) -> None:
    enc = encode_zws_masked if masked else encode_zws_iov
    wire = b"".join(bytes(b) for b in enc(MSGS, 100))
    wire += encode_zws_command(b"\x04PINGxx") if not masked else b""
    for step in (1, 7, 1000, len(wire)):
        dec = ZwsDecoder(masked=masked)
        items: list[Any] = []
        for i in range(0, len(wire), step):
            items += dec.feed(wire[i : i + step])
        expected: list[Any] = [list(m) for m in MSGS]
        if not masked:
            expected.append(b"\x04PINGxx")
        assert items == expected, step
        assert dec.pending == 0


def test_codec_large_bodies_not_copied_and_lengths() -> None:
    body = b"b" * 100000
    iov = encode_zws_iov([[body]], 65536)
    assert iov[1] is body
    assert iov[0] == b"\x82\x7f" + struct.pack(">Q", 100001) + b"\x00"
    assert encode_zws_iov([[b"x" * 200]], 65536)[0][:5] == b"\x82\x7e\x00\xc9\x00"


def test_codec_mask_is_xor() -> None:
    key = b"\x01\x02\x03\x04"
    assert mask_payload(b"\x00" * 6, key) == b"\x01\x02\x03\x04\x01\x02"
    assert mask_payload(mask_payload(b"hello world", key), key) == b"hello world"
    frame_ = encode_zws_masked([[b"hi"]])[0]
    assert frame_[0] == 0x82 and frame_[1] == 0x80 | 3
    assert mask_payload(frame_[6:], frame_[2:6]) == b"\x00hi"


def test_codec_control_frames() -> None:
    dec = ZwsDecoder(masked=False)
    wire = encode_control(PING, b"p", False) + encode_zws_iov([[b"m"]], 65536)[0]
    assert dec.feed(wire) == [(PING, b"p"), [b"m"]]
    assert dec.saw_command
    with pytest.raises(ValueError):
        encode_control(PING, b"x" * 126, False)


def _unmasked(b0: int, payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((b0, n)) + payload
    return bytes((b0, 126)) + struct.pack(">H", n) + payload


BAD_FRAMES = {
    "text frame": _unmasked(0x81, b"\x00hi"),
    "continuation": _unmasked(0x80, b"\x00hi"),
    "fragmented": _unmasked(0x02, b"\x00hi"),
    "rsv bit": _unmasked(0xC2, b"\x00hi"),
    "unknown opcode": _unmasked(0x83, b"\x00hi"),
    "empty binary": _unmasked(0x82, b""),
    "reserved flags": _unmasked(0x82, b"\x04hi"),
    "command with more": _unmasked(0x82, b"\x03\x04PING"),
    "command inside multipart": _unmasked(0x82, b"\x01a") + _unmasked(0x82, b"\x02\x04PING"),
    "long control": _unmasked(0x89, b"x" * 126),
    "fragmented ping": _unmasked(0x09, b""),
    "masked from server": bytes((0x82, 0x83)) + b"\0\0\0\0" + b"\x00hi",
    "length top bit": bytes((0x82, 127)) + b"\x80" + b"\0" * 7,
}


@pytest.mark.parametrize("name", sorted(BAD_FRAMES))
def test_codec_bad_frames(name: str) -> None:
    dec = ZwsDecoder(masked=False)
    with pytest.raises(ProtocolError):
        dec.feed(BAD_FRAMES[name])


def test_codec_unmasked_from_client_and_maxmsgsize() -> None:
    with pytest.raises(ProtocolError, match="unmasked"):
        ZwsDecoder(masked=True).feed(_unmasked(0x82, b"\x00hi"))
    dec = ZwsDecoder(100, masked=False)
    dec.feed(_unmasked(0x82, b"\x00" + b"x" * 100))
    with pytest.raises(ProtocolError, match="MAXMSGSIZE"):
        dec.feed(bytes((0x82, 127)) + struct.pack(">Q", 10**9))  # refused from the header


# -- ZwsConnection pairs (sans-I/O) --------------------------------------------------------


def _pump(a: ZwsConnection, b: ZwsConnection) -> list[Any]:
    data = a.data_to_send()
    return b.receive_data(data) if data else []


def _pair(ctype: str, stype: str, **kw: Any) -> tuple[ZwsConnection, ZwsConnection]:
    c = ZwsConnection(socket_type=ctype, ws_client=True, host="h:1", path="/p", **kw)
    s = ZwsConnection(socket_type=stype, ws_client=False, as_server=True)
    for _ in range(3):
        _pump(c, s)
        _pump(s, c)
    return c, s


def test_connection_null_handshake_and_traffic() -> None:
    c, s = _pair("DEALER", "ROUTER", routing_id=b"me")
    assert c.protocol == s.protocol == "ZWS2.0/NULL" and s.path == "/p"
    hs = [e for e in s.events if isinstance(e, HandshakeComplete)]
    assert hs[0].peer_socket_type == "DEALER" and hs[0].peer_routing_id == b"me"
    c.send_messages([[b"a", b"b"], [b"c" * 100000]])
    assert _pump(c, s) == [[b"a", b"b"], [b"c" * 100000]]
    s.send_message([b"back"])
    assert _pump(s, c) == [[b"back"]]


def test_connection_sends_held_until_upgrade() -> None:
    c = ZwsConnection(socket_type="PUSH", ws_client=True)
    c.send_message([b"early"])
    s = ZwsConnection(socket_type="PULL", ws_client=False)
    got: list[Any] = []
    for _ in range(3):
        got += _pump(c, s)
        _pump(s, c)
    assert got == [[b"early"]]


def test_connection_no_mechanism_zws20() -> None:
    # A client offering only "ZWS2.0" (no mechanism: routing ids, then messages).
    s = ZwsConnection(socket_type="ROUTER", ws_client=False)
    req = ClientUpgrade("h:1", "/", ["ZWS2.0"])
    s.receive_data(req.request)
    out = s.data_to_send()
    assert b"Sec-WebSocket-Protocol: ZWS2.0\r\n" in out
    ident = out[out.index(b"\r\n\r\n") + 4 :]
    assert ident == encode_zws_iov([[b""]], 65536)[0]  # our (empty) routing id
    msgs = s.receive_data(encode_zws_masked([[b"peer-id"], [b"hello"]])[0])
    assert msgs == [[b"hello"]]
    hs = [e for e in s.events if isinstance(e, HandshakeComplete)]
    assert hs and hs[0].peer_routing_id == b"peer-id" and hs[0].peer_socket_type == ""


def test_connection_subscriptions_are_messages() -> None:
    c, s = _pair("SUB", "PUB")
    c.send_subscribe(b"topic")
    c.send_message([b"\x01other"])
    wire = c.data_to_send()
    assert b"SUBSCRIBE" not in mask_payload(wire[6:], wire[2:6])
    assert s.receive_data(wire) == [[b"\x01topic"], [b"\x01other"]]


def test_connection_ping_pong_and_close() -> None:
    c, s = _pair("PAIR", "PAIR")
    c.send_ping(0, b"ctx")
    _pump(c, s)
    assert Ping(0.0, b"ctx") in s.events
    _pump(s, c)
    assert Pong(b"ctx") in c.events
    s.out.append(encode_control(CLOSE, b"\x03\xe8bye", False))
    _pump(s, c)
    assert PeerClosed(1000, b"bye") in c.events and c.finished
    echo = c.data_to_send()
    assert echo[0] == 0x88 and mask_payload(echo[6:], echo[2:6]) == b"\x03\xe8"


def test_connection_plain_over_zws() -> None:
    from purezmq.zmtp.mechanisms import PlainMechanism

    c = ZwsConnection(socket_type="REQ", ws_client=True, mechanism=PlainMechanism(b"user", b"pw"))
    s = ZwsConnection(
        socket_type="REP", ws_client=False, as_server=True, mechanism=PlainMechanism()
    )
    for _ in range(4):
        _pump(c, s)
        _pump(s, c)
        for ev in list(s.events):
            if type(ev).__name__ == "ZapRequest":
                s.events.remove(ev)
                s.zap_reply(200, b"OK", b"user")
    assert c.protocol == "ZWS2.0/PLAIN"
    assert c.handshake_complete and s.handshake_complete


def test_connection_mechanism_mismatch() -> None:
    from purezmq.zmtp.mechanisms import PlainMechanism

    c = ZwsConnection(socket_type="REQ", ws_client=True, mechanism=PlainMechanism(b"u", b"p"))
    s = ZwsConnection(socket_type="REP", ws_client=False)
    with pytest.raises(ProtocolError, match="no subprotocol in common"):
        _pump(c, s)


def test_libzmq_server_bytes() -> None:
    """What libzmq 4.3.5 (zeromq.js) answered a raw client, captured on the wire."""
    c = ZwsConnection(socket_type="REQ", ws_client=True)
    key = c._upgrade.key  # type: ignore[union-attr]
    reply = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n"
    ).encode() + b"\x82\x1a\x02\x05READY\x0bSocket-Type\x00\x00\x00\x03REP"
    c.data_to_send()
    assert c.receive_data(reply) == []
    assert c.handshake_complete and c.peer_socket_type == "REP"
    c.data_to_send()  # our READY
    # ... then its reply [b"", b"r"] and a heartbeat ping (empty, unmasked).
    assert c.receive_data(b"\x82\x01\x01\x82\x02\x00r\x89\x00") == [[b"", b"r"]]
    assert c.data_to_send()[:2] == b"\x8a\x80"  # our pong, masked


# -- purezmq to purezmq over ws:// --------------------------------------------------------


PAIRS = [
    (zmq.PAIR, zmq.PAIR),
    (zmq.PUSH, zmq.PULL),
    (zmq.REQ, zmq.REP),
    (zmq.DEALER, zmq.ROUTER),
    (zmq.DEALER, zmq.DEALER),
    (zmq.ROUTER, zmq.ROUTER),
    (zmq.PUB, zmq.SUB),
    (zmq.XPUB, zmq.XSUB),
    (zmq.CLIENT, zmq.SERVER),
    (zmq.SCATTER, zmq.GATHER),
    (zmq.RADIO, zmq.DISH),
]


def _exchange(ctx: Any, tx_type: int, rx_type: int, endpoint: str, **opts: Any) -> None:
    """tx sends to rx over ``endpoint`` (rx binds); rx checks a multipart message."""
    rx = mk(ctx, rx_type, **opts)
    tx = mk(ctx, tx_type, **opts)
    if tx_type == zmq.ROUTER:
        rx.routing_id = b"rx"
    rx.bind(endpoint)
    ep = rx.last_endpoint.decode()
    tx.connect(ep)
    if rx_type == zmq.SUB:
        rx.subscribe(b"")
    if rx_type == zmq.DISH:
        rx.join("g")
    multipart = tx_type not in (zmq.CLIENT, zmq.SCATTER, zmq.RADIO)
    deadline = time.monotonic() + WAIT
    got = None
    seen = False
    while got is None and time.monotonic() < deadline:
        # PUB/XPUB/RADIO drop until the subscription arrives; ROUTER until connected.
        if tx_type == zmq.XPUB and not seen:
            rx.send(b"\x01")  # (a subscription sent before the pipe exists is not kept)
            tx.rcvtimeo = 100
            try:
                seen = tx.recv() == b"\x01"
            except zmq.Again:
                pass
            continue
        try:
            if tx_type == zmq.ROUTER:
                tx.send_multipart([b"rx", b"a", b"b"], zmq.NOBLOCK)
            elif tx_type == zmq.RADIO:
                tx.send(b"body", group="g")
            elif multipart:
                tx.send_multipart([b"a", b"x" * 1000])
            else:
                tx.send(b"one")
        except zmq.ZMQError:  # ROUTER_MANDATORY-less ROUTER drops; CLIENT EAGAIN
            pass
        rx.rcvtimeo = 100
        try:
            if rx_type in (zmq.SERVER, zmq.GATHER, zmq.DISH):
                f = rx.recv(copy=False)
                got = [f.bytes]
                if rx_type == zmq.SERVER:
                    rx.send(b"back", routing_id=f.routing_id)
                    assert tx.recv() == b"back"
                if rx_type == zmq.DISH:
                    assert f.group == "g"
            else:
                got = rx.recv_multipart()
        except zmq.Again:
            continue
    assert got is not None, "nothing arrived"
    if rx_type == zmq.ROUTER:
        got = got[1:]
    if tx_type == zmq.ROUTER:
        assert got == [b"a", b"b"]
    elif tx_type == zmq.RADIO:
        assert got == [b"body"]
    elif multipart:
        assert got == [b"a", b"x" * 1000]
        if tx_type == zmq.REQ:
            rx.send(b"reply")
            assert tx.recv() == b"reply"
    else:
        assert got == [b"one"]


@pytest.mark.parametrize(("tx", "rx"), PAIRS, ids=lambda t: zmq.SocketType(t).name)
def test_every_socket_type_over_ws(ctx: Any, tx: int, rx: int) -> None:
    _exchange(ctx, tx, rx, "ws://127.0.0.1:*/zmq")


def test_ws_endpoints_paths_and_unbind(ctx: Any) -> None:
    pull = mk(ctx, zmq.PULL)
    pull.bind("ws://127.0.0.1:*")
    ep = pull.last_endpoint.decode()
    assert ep.startswith("ws://127.0.0.1:") and ep.endswith("/")
    pull.bind("ws://127.0.0.1:0/deep/path?x=1")
    ep2 = pull.last_endpoint.decode()
    assert ep2.endswith("/deep/path?x=1")
    push = mk(ctx, zmq.PUSH)
    push.connect(ep2)
    push.connect(ep.rstrip("/") + "/any/other/path")  # the server does not check paths
    for i in range(4):
        push.send(b"%d" % i)
    assert sorted(pull.recv() for _ in range(4)) == [b"0", b"1", b"2", b"3"]
    pull.unbind(ep2)
    with pytest.raises(zmq.ZMQError) as info:
        mk(ctx, zmq.STREAM).bind("ws://127.0.0.1:*")
    assert info.value.errno == errno.EPROTONOSUPPORT
    with pytest.raises(zmq.ZMQError) as info:
        push.connect("ws://127.0.0.1:1/a b")
    assert info.value.errno == errno.EINVAL


def test_ws_heartbeats_and_monitor(ctx: Any) -> None:
    rep = mk(ctx, zmq.REP, heartbeat_ivl=50)
    rep.bind("ws://127.0.0.1:*")
    req = mk(ctx, zmq.REQ, heartbeat_ivl=50, heartbeat_timeout=2000)
    mon = req.get_monitor_socket()
    req.connect(rep.last_endpoint.decode())
    time.sleep(0.3)  # a few ws pings each way, answered with pongs
    req.send(b"q")
    assert rep.recv() == b"q"
    rep.send(b"a")
    assert req.recv() == b"a"
    from purezmq.utils.monitor import recv_monitor_message

    mon.rcvtimeo = 2000
    events = set()
    while zmq.EVENT_HANDSHAKE_SUCCEEDED not in events:
        events.add(recv_monitor_message(mon)["event"])
    assert zmq.EVENT_DISCONNECTED not in events


def test_plain_over_ws_with_zap(ctx: Any) -> None:
    from purezmq.auth.thread import ThreadAuthenticator

    auth = ThreadAuthenticator(ctx)
    auth.start()
    try:
        auth.configure_plain(domain="*", passwords={"u": "p"})
        rep = mk(ctx, zmq.REP, plain_server=True)
        rep.bind("ws://127.0.0.1:*")
        req = mk(ctx, zmq.REQ, plain_username=b"u", plain_password=b"p")
        req.connect(rep.last_endpoint.decode())
        req.send(b"hi")
        f = rep.recv(copy=False)
        assert f.bytes == b"hi" and f.get("User-Id") == "u"
        rep.send(b"yo")
        assert req.recv() == b"yo"
        bad = mk(ctx, zmq.REQ, plain_username=b"u", plain_password=b"wrong")
        mon = rep.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        mon.rcvtimeo = 5000
        bad.connect(rep.last_endpoint.decode())
        from purezmq.utils.monitor import recv_monitor_message

        assert recv_monitor_message(mon)["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH
    finally:
        auth.stop()


def test_curve_over_ws(ctx: Any) -> None:
    if not zmq.has("curve"):
        pytest.skip("CURVE needs PyNaCl")
    spub, ssec = zmq.curve_keypair()
    cpub, csec = zmq.curve_keypair()
    rep = mk(ctx, zmq.REP, curve_server=True, curve_secretkey=ssec)
    rep.bind("ws://127.0.0.1:*")
    req = mk(ctx, zmq.REQ, curve_serverkey=spub, curve_publickey=cpub, curve_secretkey=csec)
    req.connect(rep.last_endpoint.decode())
    for i in range(5):
        req.send_multipart([b"hi", b"%d" % i])
        assert rep.recv_multipart() == [b"hi", b"%d" % i]
        rep.send(b"yo" * 1000)
        assert req.recv() == b"yo" * 1000


# -- wss:// with a self-signed certificate made here ------------------------------------


def _self_signed(tmp: Path) -> tuple[bytes, bytes]:
    """(cert PEM, key PEM) for CN/SAN localhost + 127.0.0.1: cryptography, else openssl."""
    try:
        import datetime
        import ipaddress

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        openssl = shutil.which("openssl")
        if openssl is None:
            pytest.skip("wss:// tests need the cryptography package or the openssl CLI")
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-days", "2", "-subj", "/CN=localhost",
             "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
             "-keyout", str(tmp / "k.pem"), "-out", str(tmp / "c.pem")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        return (tmp / "c.pem").read_bytes(), (tmp / "k.pem").read_bytes()
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return (
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
    )


@pytest.fixture(scope="module")
def cert_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    return _self_signed(tmp_path_factory.mktemp("wss"))


@pytest.mark.parametrize("kinds", [(zmq.PUSH, zmq.PULL), (zmq.REQ, zmq.REP)], ids=["push", "req"])
@pytest.mark.parametrize("hostname", [b"", b"localhost"], ids=["no-hostname", "hostname"])
def test_wss(ctx: Any, cert_pair: tuple[bytes, bytes], kinds: tuple[int, int], hostname: bytes):
    cert, key = cert_pair
    server = mk(ctx, kinds[1], wss_cert_pem=cert, wss_key_pem=key)
    server.bind("wss://127.0.0.1:*/secure")
    ep = server.last_endpoint.decode()
    assert ep.startswith("wss://") and ep.endswith("/secure")
    client = mk(ctx, kinds[0], wss_trust_pem=cert, wss_hostname=hostname)
    client.connect(ep)
    for i in range(N):
        client.send_multipart(message(i))
        assert server.recv_multipart() == message(i)
        if kinds[0] == zmq.REQ:
            server.send_multipart([b"reply%d" % i, *message(i)])
            assert client.recv_multipart() == [b"reply%d" % i, *message(i)]
    big = b"B" * 300000  # several TLS records
    client.send(big)
    assert server.recv() == big


def _handshake_failures(sock: Any) -> Any:
    """A monitor on ``sock`` that counts failed handshakes."""
    return sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)


@pytest.mark.parametrize("case", ["untrusted", "wrong-hostname"])
def test_wss_verification_fails(
    ctx: Any, cert_pair: tuple[bytes, bytes], tmp_path: Path, case: str
):
    cert, key = cert_pair
    pull = mk(ctx, zmq.PULL, wss_cert_pem=cert, wss_key_pem=key)
    pull.bind("wss://127.0.0.1:*")
    ep = pull.last_endpoint.decode()
    if case == "untrusted":
        other, _ = _self_signed(tmp_path)
        push = mk(ctx, zmq.PUSH, wss_trust_pem=other)
    else:
        push = mk(ctx, zmq.PUSH, wss_trust_pem=cert, wss_hostname=b"elsewhere.example")
    mon = _handshake_failures(push)
    mon.rcvtimeo = 5000
    push.connect(ep)
    try:
        push.send(b"never", zmq.NOBLOCK)
    except zmq.Again:
        pass  # the failed endpoint has gone already (a protocol error ends it)
    from purezmq.utils.monitor import recv_monitor_message

    assert recv_monitor_message(mon)["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    pull.rcvtimeo = 200
    with pytest.raises(zmq.Again):
        pull.recv()
    # The listener lives on: a client that trusts the certificate gets through.
    good = mk(ctx, zmq.PUSH, wss_trust_pem=cert)
    good.connect(ep)
    good.send(b"fine")
    pull.rcvtimeo = 5000
    assert pull.recv() == b"fine"


def test_wss_option_errors(ctx: Any, cert_pair: tuple[bytes, bytes]) -> None:
    cert, key = cert_pair
    s = mk(ctx, zmq.PULL)
    with pytest.raises(zmq.ZMQError, match="WSS_CERT_PEM") as info:
        s.bind("wss://127.0.0.1:*")
    assert info.value.errno == errno.EINVAL
    s.wss_cert_pem = b"not a pem"
    s.wss_key_pem = key
    with pytest.raises(zmq.ZMQError) as info:
        s.bind("wss://127.0.0.1:*")
    assert info.value.errno == errno.EINVAL
    c = mk(ctx, zmq.PUSH)
    with pytest.raises(zmq.ZMQError, match="WSS_TRUST") as info:
        c.connect("wss://127.0.0.1:1")
    assert info.value.errno == errno.EINVAL
    c.wss_trust_system = 1
    c.connect("wss://127.0.0.1:1")  # the system's CAs are enough to try


def test_wss_plaintext_client_loses_only_its_connection(
    ctx: Any, cert_pair: tuple[bytes, bytes]
) -> None:
    cert, key = cert_pair
    pull = mk(ctx, zmq.PULL, wss_cert_pem=cert, wss_key_pem=key)
    pull.bind("wss://127.0.0.1:*")
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1].split("/")[0])
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    raw.sendall(_request())  # plain HTTP to a TLS port
    _expect_closed(raw)
    good = mk(ctx, zmq.PUSH, wss_trust_pem=cert)
    good.connect(pull.last_endpoint.decode())
    good.send(b"fine")
    assert pull.recv() == b"fine"


# -- interop with libzmq 4.3.5 (npm's zeromq 6) ---------------------------------------


ROLES = {zmq.PUSH: "push", zmq.PULL: "pull", zmq.REQ: "req", zmq.REP: "rep"}
PEER_OF = {zmq.PUSH: zmq.PULL, zmq.PULL: zmq.PUSH, zmq.REQ: zmq.REP, zmq.REP: zmq.REQ}


def _drive(sock: Any, kind: int) -> None:
    for i in range(N):
        if kind == zmq.PUSH:
            sock.send_multipart(message(i))
        elif kind == zmq.PULL:
            assert sock.recv_multipart() == message(i)
        elif kind == zmq.REQ:
            sock.send_multipart(message(i))
            assert sock.recv_multipart() == [b"reply%d" % i, *message(i)]
        else:
            req = sock.recv_multipart()
            assert req == message(i)
            sock.send_multipart([b"reply%d" % i, *req])


@pytest.mark.parametrize("ours", [zmq.PUSH, zmq.PULL, zmq.REQ, zmq.REP], ids=ROLES.get)
@pytest.mark.parametrize("we_bind", [True, False], ids=["we_bind", "they_bind"])
def test_interop_libzmq_ws(ctx: Any, zeromq_dir: Path, ours: int, we_bind: bool) -> None:
    sock = mk(ctx, ours, timeout=20000, heartbeat_ivl=100)
    role = ROLES[PEER_OF[ours]]
    options = json.dumps({"heartbeatInterval": 100})  # ws pings both ways meanwhile
    if we_bind:
        sock.bind("ws://127.0.0.1:*/zmq")
        peer = helpers.NodePeer(
            zeromq_dir, PEER_JS, role, "connect", sock.last_endpoint.decode(), str(N), options
        )
    else:
        peer = helpers.NodePeer(
            zeromq_dir, PEER_JS, role, "bind", "ws://127.0.0.1:*", str(N), options
        )
        sock.connect(peer.endpoint)
    try:
        _drive(sock, ours)
        assert peer.result() == str(N)
    finally:
        peer.close()


# -- hostile peers: each loses its own connection, nothing else -----------------------


def _expect_closed(raw: socket.socket) -> None:
    raw.settimeout(WAIT)
    try:
        while raw.recv(65536):
            pass
    except ConnectionResetError:
        pass
    finally:
        raw.close()


def _masked(b0: int, payload: bytes, key: bytes = b"\x11\x22\x33\x44") -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes((b0, 0x80 | n))
    else:
        head = bytes((b0, 0x80 | 126)) + struct.pack(">H", n)
    return head + key + mask_payload(payload, key)


def _upgraded(port: int) -> socket.socket:
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    raw.sendall(_request())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = raw.recv(4096)
        assert chunk, "server closed during the upgrade"
        buf += chunk
    assert buf.startswith(b"HTTP/1.1 101 ")
    return raw


_READY_PUSH = b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PUSH"

HOSTILE_FRAMES = {
    "unmasked frame": _unmasked(0x82, _READY_PUSH),
    "text frame": _masked(0x81, b"\x00hello"),
    "fragmented": _masked(0x02, b"\x00hel") + _masked(0x80, b"lo"),
    "reserved flags": _masked(0x82, _READY_PUSH) + _masked(0x82, b"\x80hi"),
    "command with more": _masked(0x82, b"\x03" + _READY_PUSH[1:]),
    "message before READY": _masked(0x82, b"\x00hello"),
    "wrong socket type": _masked(0x82, b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x03PUB"),
    "garbage command": _masked(0x82, b"\x02\xffnonsense"),
    "over MAXMSGSIZE": _masked(0x82, _READY_PUSH) + _masked(0x82, b"\x00" + b"x" * 2000),
    "empty binary": _masked(0x82, b""),
    "close": _masked(0x82, _READY_PUSH) + _masked(0x88, b"\x03\xe8"),
}


@pytest.fixture
def guarded_pull(ctx: Any) -> tuple[Any, Any, int]:
    """A PULL bound on ws:// (MAXMSGSIZE 1000) with a good PUSH already talking to it."""
    pull = mk(ctx, zmq.PULL, maxmsgsize=1000)
    pull.bind("ws://127.0.0.1:*")
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1].rstrip("/"))
    good = mk(ctx, zmq.PUSH)
    good.connect(pull.last_endpoint.decode())
    good.send(b"before")
    assert pull.recv() == b"before"
    return pull, good, port


def _still_fine(pull: Any, good: Any) -> None:
    good.send(b"after")
    assert pull.recv() == b"after"


@pytest.mark.parametrize("name", sorted(BAD_REQUESTS))
def test_hostile_upgrade_request(guarded_pull: tuple[Any, Any, int], name: str) -> None:
    pull, good, port = guarded_pull
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    raw.sendall(BAD_REQUESTS[name])
    _expect_closed(raw)
    _still_fine(pull, good)


@pytest.mark.parametrize("name", sorted(HOSTILE_FRAMES))
def test_hostile_frames(guarded_pull: tuple[Any, Any, int], name: str) -> None:
    pull, good, port = guarded_pull
    raw = _upgraded(port)
    raw.sendall(HOSTILE_FRAMES[name])
    _expect_closed(raw)
    _still_fine(pull, good)


def test_hostile_truncated_then_silent_peer_times_out(ctx: Any) -> None:
    pull = mk(ctx, zmq.PULL, handshake_ivl=300)
    pull.bind("ws://127.0.0.1:*")
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1].rstrip("/"))
    raw = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    raw.sendall(_request()[:30])  # half a request, then nothing
    _expect_closed(raw)  # HANDSHAKE_IVL ends it


class _BadServer:
    """A tcp listener that answers every ws upgrade with ``reply`` (a hostile server)."""

    def __init__(self, reply: Any) -> None:
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(8)
        self.lsock.settimeout(WAIT)
        self.port = self.lsock.getsockname()[1]
        self.reply = reply
        self.accepted = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.lsock.accept()
            except OSError:
                return
            self.accepted += 1
            with conn:
                conn.settimeout(WAIT)
                buf = b""
                try:
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    if b"Sec-WebSocket-Key: " not in buf:
                        continue  # the client went away mid-request (a reconnect cut short)
                    key = buf.split(b"Sec-WebSocket-Key: ")[1].split(b"\r\n")[0].decode()
                    conn.sendall(self.reply(key))
                    while conn.recv(4096):
                        pass
                except OSError:
                    pass

    def close(self) -> None:
        self.lsock.close()


@pytest.mark.parametrize(
    "name", ["404", "wrong accept", "no protocol", "bad frame after 101", "masked frame"]
)
def test_hostile_server(ctx: Any, name: str) -> None:
    def reply(key: str) -> bytes:
        if name in BAD_RESPONSES:
            return _response(key, **BAD_RESPONSES[name])  # type: ignore[arg-type]
        head = _response(key)
        if name == "masked frame":
            return head + _masked(0x82, b"\x02\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL")
        return head + _unmasked(0x81, b"text")

    bad = _BadServer(reply)
    try:
        pull = mk(ctx, zmq.PULL)
        pull.bind("ws://127.0.0.1:*")
        push = mk(ctx, zmq.PUSH, reconnect_ivl=50, immediate=1)  # no pipe to the bad one
        mon = push.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
        mon.rcvtimeo = 5000
        push.connect(f"ws://127.0.0.1:{bad.port}/")
        push.connect(pull.last_endpoint.decode())
        from purezmq.utils.monitor import recv_monitor_message

        ev = recv_monitor_message(mon)
        assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
        # The good peer is served meanwhile (round-robin skips the dead one).
        for i in range(4):
            push.send(b"%d" % i)
        got = set()
        while len(got) < 4:
            got.add(pull.recv())
        assert got == {b"0", b"1", b"2", b"3"}
        # A protocol error ends the endpoint, as libzmq's ws_engine (protocol_error)
        # and session_base (no reconnect) do: 0.5 s at 50 ms would be ~10 tries.
        time.sleep(0.5)
        assert bad.accepted == 1
    finally:
        bad.close()
