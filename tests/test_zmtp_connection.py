"""Two ZmtpConnections talking through an in-memory byte pipe."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purezmq.zmtp import (
    AuthenticationFailed,
    ErrorReceived,
    HandshakeComplete,
    Join,
    Leave,
    Mechanism,
    NullMechanism,
    Ping,
    Pong,
    ProtocolError,
    ZapRequest,
    ZmtpConnection,
)
from purezmq.zmtp.commands import decode_command, encode_ready
from purezmq.zmtp.frames import COMMAND, MORE, Buffer, FrameDecoder, encode_command
from purezmq.zmtp.greeting import build_greeting
from tests.helpers import as_lists

Msgs = list[list[bytes]]


def feed(conn: ZmtpConnection, data: bytes, chunk: int | None = None) -> Msgs:
    """Feed ``data`` whole or in ``chunk``-sized pieces."""
    if not chunk:
        return as_lists(conn.receive_data(data))
    out: Msgs = []
    for i in range(0, len(data), chunk):
        out += as_lists(conn.receive_data(data[i : i + chunk]))
    return out


def pump(a: ZmtpConnection, b: ZmtpConnection, chunk: int | None = None) -> tuple[Msgs, Msgs]:
    """Shuttle bytes both ways until quiet; return (received by a, by b)."""
    got_a: Msgs = []
    got_b: Msgs = []
    for _ in range(50):
        da, db = a.data_to_send(), b.data_to_send()
        if not da and not db:
            return got_a, got_b
        if da:
            got_b += feed(b, da, chunk)
        if db:
            got_a += feed(a, db, chunk)
    raise AssertionError("connections never went quiet")


def pair(
    a_type: str = "PAIR", b_type: str = "PAIR", **kw: Any
) -> tuple[ZmtpConnection, ZmtpConnection]:
    """A connected (client a, server b) pair with handshake done."""
    a = ZmtpConnection(socket_type=a_type, **kw.get("a", {}))
    b = ZmtpConnection(socket_type=b_type, as_server=True, **kw.get("b", {}))
    pump(a, b)
    assert a.handshake_complete and b.handshake_complete
    a.events.clear()
    b.events.clear()
    return a, b


def wire_items(data: bytes) -> list[Any]:
    """Decode traffic bytes (after any greeting) into frames/commands."""
    return as_lists(FrameDecoder().feed(data))


# --- handshake -----------------------------------------------------------------


def test_greeting_is_queued_first() -> None:
    c = ZmtpConnection(socket_type="PUSH")
    assert c.has_data_to_send
    assert c.data_to_send() == build_greeting()
    assert c.data_to_send() == b""


def test_ready_bytes_match_rfc_worked_example() -> None:
    c = ZmtpConnection(socket_type="DEALER")
    c.data_to_send()
    c.receive_data(build_greeting())
    assert c.data_to_send() == (
        b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
    )


def test_handshake_events_and_attributes() -> None:
    a = ZmtpConnection(socket_type="DEALER", routing_id=b"alice", metadata={"X-App": b"test"})
    b = ZmtpConnection(socket_type="ROUTER", as_server=True)
    pump(a, b)
    (ev_b,) = b.events
    assert isinstance(ev_b, HandshakeComplete)
    assert ev_b.peer_socket_type == "DEALER"
    assert ev_b.peer_routing_id == b"alice"
    assert ev_b.peer_metadata["x-app"] == b"test"
    assert ev_b.peer_version == (3, 1)
    assert (b.peer_socket_type, b.peer_routing_id, b.peer_version) == ("DEALER", b"alice", (3, 1))
    assert b.peer_metadata is not None and b.peer_metadata["Identity"] == b"alice"
    (ev_a,) = a.events
    assert isinstance(ev_a, HandshakeComplete) and ev_a.peer_socket_type == "ROUTER"
    assert "ROUTER" in repr(b) and "ready" in repr(b)


def test_identity_only_sent_by_req_dealer_router() -> None:
    a, b = pair("PUSH", "PULL", a={"routing_id": b"ignored"})
    assert b.peer_metadata is not None and "Identity" not in b.peer_metadata
    assert b.peer_routing_id == b""


@settings(deadline=None, max_examples=30)
@given(chunk=st.integers(1, 70))
def test_handshake_with_any_chunking(chunk: int) -> None:
    a = ZmtpConnection(socket_type="REQ", routing_id=b"r")
    b = ZmtpConnection(socket_type="REP", as_server=True)
    a.send_message([b"", b"request"])
    _, got_b = pump(a, b, chunk)
    assert got_b == [[b"", b"request"]]
    assert a.handshake_complete and b.handshake_complete


def test_truncated_data_produces_nothing_until_complete() -> None:
    a = ZmtpConnection(socket_type="PAIR")
    b = ZmtpConnection(socket_type="PAIR", as_server=True)
    b.receive_data(a.data_to_send())
    wire = b.data_to_send()  # b's greeting + READY
    for i in range(len(wire) - 1):
        assert as_lists(a.receive_data(wire[i : i + 1])) == []
        assert a.events == []
    a.receive_data(wire[-1:])
    assert isinstance(a.events[0], HandshakeComplete)


def test_sends_before_handshake_are_replayed_in_order() -> None:
    a = ZmtpConnection(socket_type="SUB")
    b = ZmtpConnection(socket_type="PUB", as_server=True)
    a.send_subscribe(b"x")
    a.send_message([b"\x01y"])
    a.send_cancel(b"x")
    a.send_ping(1.0, b"p")
    _, got_b = pump(a, b)
    assert got_b == [[b"\x01x"], [b"\x01y"], [b"\x00x"]]
    assert any(isinstance(e, Ping) for e in b.events)


# --- traffic -------------------------------------------------------------------


def test_messages_both_ways() -> None:
    a, b = pair()
    a.send_messages([[b"a"], [b"b", b"c"], [b"d" * 1000]])
    b.send_message([b"reply"])
    got_a, got_b = pump(a, b)
    assert got_b == [[b"a"], [b"b", b"c"], [b"d" * 1000]]
    assert got_a == [[b"reply"]]


def test_large_frames_through_buffers_to_send() -> None:
    a, b = pair()
    big = bytearray(b"Z" * 200000)
    a.send_messages([[b"head", big], [b"small"]])
    bufs = a.buffers_to_send()
    assert any(x is big for x in bufs)
    assert a.buffers_to_send() == []
    assert as_lists(b.receive_data(b"".join(bufs))) == [[b"head", bytes(big)], [b"small"]]


@settings(deadline=None, max_examples=50)
@given(
    msgs=st.lists(st.lists(st.binary(max_size=400), min_size=1, max_size=3), max_size=10),
    chunk=st.integers(1, 200),
)
def test_random_messages_random_chunking(msgs: Msgs, chunk: int) -> None:
    a, b = pair()
    a.send_messages(msgs)
    _, got_b = pump(a, b, chunk)
    assert got_b == msgs


def test_unknown_command_after_handshake_is_ignored() -> None:
    a, b = pair()
    got = as_lists(b.receive_data(encode_command(b"\x05HELLO" + b"data") + b"\x00\x01x"))
    assert got == [[b"x"]]
    assert b.events == []


def test_error_after_handshake_finishes() -> None:
    a, b = pair()
    a.send_message([b"before"])
    a.send_error("going away")
    assert a.finished
    a.send_message([b"dropped"])
    _, got_b = pump(a, b)
    assert got_b == [[b"before"]]
    assert b.events == [ErrorReceived(b"going away")]
    assert b.finished
    assert as_lists(b.receive_data(b"\x00\x01x")) == []


def test_join_leave() -> None:
    a, b = pair("DISH", "RADIO")
    a.send_join(b"weather")
    a.send_leave(b"weather")
    pump(a, b)
    assert b.events == [Join(b"weather"), Leave(b"weather")]


# --- subscriptions ---------------------------------------------------------------


def test_subscribe_cancel_zmtp31_uses_commands() -> None:
    a, b = pair("SUB", "XPUB")
    a.send_subscribe(b"topic")
    a.send_cancel(b"topic")
    wire = a.data_to_send()
    assert wire == encode_command(b"\x09SUBSCRIBEtopic") + encode_command(b"\x06CANCELtopic")
    assert as_lists(b.receive_data(wire)) == [[b"\x01topic"], [b"\x00topic"]]


def test_sub_messages_translated_to_commands_for_31() -> None:
    a, b = pair("XSUB", "XPUB")
    a.send_messages([[b"\x01abc"], [b"\x00abc"], [b"user message"], [b"\x01", b"multi"]])
    items = wire_items(a.data_to_send())
    assert items == [
        b"\x09SUBSCRIBEabc",
        b"\x06CANCELabc",
        [b"user message"],
        [b"\x01", b"multi"],
    ]


@pytest.mark.parametrize("who", ["a", "b", "both"])
def test_subscribe_zmtp30_uses_messages(who: str) -> None:
    old = {"zmtp_version": (3, 0)}
    kw = {"a": old} if who == "a" else {"b": old} if who == "b" else {"a": old, "b": old}
    a, b = pair("SUB", "PUB", **kw)
    assert a.peer_version == b.peer_version == (3, 0)
    a.send_subscribe(b"t")
    a.send_message([b"\x00t"])
    wire = a.data_to_send()
    assert wire == b"\x00\x02\x01t\x00\x02\x00t"
    assert as_lists(b.receive_data(wire)) == [[b"\x01t"], [b"\x00t"]]


def test_zmtp30_has_no_ping() -> None:
    a, b = pair(a={"zmtp_version": (3, 0)})
    a.send_ping(1.0)
    b.send_ping(1.0)
    assert a.data_to_send() == b"" and b.data_to_send() == b""


# --- ping / pong -----------------------------------------------------------------


def test_ping_is_answered_with_pong() -> None:
    a, b = pair()
    a.send_ping(2.5, b"ctx-1")
    ping_wire = a.data_to_send()
    assert ping_wire == encode_command(b"\x04PING\x00\x19ctx-1")
    assert as_lists(b.receive_data(ping_wire)) == []
    assert b.events == [Ping(2.5, b"ctx-1")]
    pong_wire = b.data_to_send()
    assert pong_wire == encode_command(b"\x04PONGctx-1")
    a.receive_data(pong_wire)
    assert a.events == [Pong(b"ctx-1")]


def test_ping_interleaved_with_messages() -> None:
    a, b = pair()
    a.send_message([b"1"])
    a.send_ping(0)
    a.send_message([b"2"])
    _, got_b = pump(a, b)
    assert got_b == [[b"1"], [b"2"]]
    assert b.events == [Ping(0.0, b"")]
    assert a.events == [Pong(b"")]


def test_ping_argument_checks() -> None:
    a, _ = pair()
    with pytest.raises(ValueError):
        a.send_ping(7000.0)
    with pytest.raises(ValueError):
        a.send_ping(1.0, b"x" * 17)


# --- errors --------------------------------------------------------------------


def test_bad_signature() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    with pytest.raises(ProtocolError, match="bad greeting signature"):
        c.receive_data(b"GET / HTTP/1.1\r\n\r\n")
    assert c.finished
    assert as_lists(c.receive_data(b"more")) == []


def test_mechanism_mismatch() -> None:
    c = ZmtpConnection(socket_type="PULL")
    with pytest.raises(ProtocolError, match="mechanism mismatch"):
        c.receive_data(build_greeting(b"CURVE", as_server=True))


def test_bad_flags_after_handshake() -> None:
    a, b = pair()
    with pytest.raises(ProtocolError, match="reserved bits"):
        b.receive_data(b"\x00\x01x\x40\x00")
    assert b.finished


def test_maxmsgsize() -> None:
    a, b = pair(b={"maxmsgsize": 100})
    a.send_message([b"x" * 100])
    assert as_lists(b.receive_data(a.data_to_send())) == [[b"x" * 100]]
    a.send_message([b"x" * 101])
    with pytest.raises(ProtocolError, match="frame of 101 bytes exceeds MAXMSGSIZE 100"):
        b.receive_data(a.data_to_send())


@pytest.mark.parametrize(
    "ours,theirs", [("PUSH", "PUB"), ("REQ", "REQ"), ("SUB", "SUB"), ("PAIR", "PUSH")]
)
def test_incompatible_socket_types(ours: str, theirs: str) -> None:
    a = ZmtpConnection(socket_type=ours)
    b = ZmtpConnection(socket_type=theirs, as_server=True)
    b.receive_data(a.data_to_send())  # a's greeting: b answers greeting + READY
    with pytest.raises(ProtocolError, match=f"socket type {ours} cannot connect to {theirs}"):
        a.receive_data(b.data_to_send())
    assert a.finished


def test_incompatible_socket_type_sends_error() -> None:
    a = ZmtpConnection(socket_type="PUSH")
    b = ZmtpConnection(socket_type="PUB", as_server=True)
    b.receive_data(a.data_to_send())  # a's greeting: b sends greeting + READY
    wire = b.data_to_send()
    a.receive_data(wire[:64])  # b's greeting only: a sends READY
    with pytest.raises(ProtocolError, match="socket type PUB cannot connect to PUSH"):
        b.receive_data(a.data_to_send())
    err = wire_items(b.data_to_send())
    assert err == [b"\x05ERROR\x26socket type PUB cannot connect to PUSH"]
    with pytest.raises(ProtocolError, match="socket type PUSH cannot connect to PUB"):
        a.receive_data(wire[64:])


def test_message_before_handshake() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    with pytest.raises(ProtocolError, match="message received before"):
        c.receive_data(build_greeting() + b"\x00\x01x")


def test_command_before_handshake() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    with pytest.raises(ProtocolError, match="unexpected PING command in NULL handshake"):
        c.receive_data(build_greeting() + encode_command(b"\x04PING\x00\x00"))


def test_ready_without_socket_type() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    with pytest.raises(ProtocolError, match="no Socket-Type"):
        c.receive_data(build_greeting() + encode_command(encode_ready({"X-A": b"1"})))


def test_malformed_ready() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    with pytest.raises(ProtocolError, match="malformed metadata"):
        c.receive_data(build_greeting() + encode_command(b"\x05READY\x0bSocket-Type\x00\x00"))


def test_oversized_identity() -> None:
    c = ZmtpConnection(socket_type="ROUTER", as_server=True)
    ready = encode_ready({"Socket-Type": b"DEALER", "Identity": b"i" * 256})
    with pytest.raises(ProtocolError, match="Identity"):
        c.receive_data(build_greeting() + encode_command(ready))


def test_duplicate_ready_after_handshake_is_ignored() -> None:
    a, b = pair("PUSH", "PULL")
    assert as_lists(b.receive_data(encode_command(encode_ready({"Socket-Type": b"PUSH"})))) == []


def test_error_during_handshake() -> None:
    c = ZmtpConnection(socket_type="PULL", as_server=True)
    got = c.receive_data(build_greeting() + encode_command(b"\x05ERROR\x06denied") + b"\x00\x01x")
    assert got == []
    assert c.events == [ErrorReceived(b"denied")]
    assert c.finished and not c.handshake_complete


@pytest.mark.parametrize(
    "kw",
    [
        {"socket_type": "push"},
        {"socket_type": "STREAM"},
        {"socket_type": "PUB", "metadata": {"App": b"x"}},
        {"socket_type": "PUB", "mechanism": "GSSAPI"},
        {"socket_type": "PUB", "zmtp_version": (2, 0)},
        {"socket_type": "DEALER", "routing_id": b"r" * 256},
    ],
)
def test_constructor_rejects_bad_arguments(kw: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ZmtpConnection(**kw)


# --- ZAP -----------------------------------------------------------------------


def zap_pair() -> tuple[ZmtpConnection, ZmtpConnection, ZapRequest]:
    """Client a and a NULL server b that asks ZAP; returns the request."""
    a = ZmtpConnection(socket_type="DEALER", routing_id=b"id")
    b = ZmtpConnection(
        socket_type="ROUTER", as_server=True, mechanism=NullMechanism(zap_domain="global")
    )
    pump(a, b)
    assert not a.handshake_complete and not b.handshake_complete
    (req,) = b.events
    assert isinstance(req, ZapRequest)
    b.events.clear()
    return a, b, req


def test_zap_request_contents() -> None:
    _, _, req = zap_pair()
    # NULL asks at once, before the peer's READY (as libzmq): no Identity known yet.
    assert req == ZapRequest(domain="global", mechanism=b"NULL", credentials=(), identity=b"")


def test_zap_accepted() -> None:
    a, b, _ = zap_pair()
    b.zap_reply(200, b"OK", b"joe", {"X-Role": b"admin"})
    pump(a, b)
    assert a.handshake_complete and b.handshake_complete
    (ev,) = b.events
    assert isinstance(ev, HandshakeComplete)
    assert ev.peer_metadata["User-Id"] == b"joe"
    assert ev.peer_metadata["X-Role"] == b"admin"
    assert ev.peer_routing_id == b"id"


def test_zap_metadata_as_property_list() -> None:
    a, b, _ = zap_pair()
    b.zap_reply("200", b"", b"", b"\x06X-Team\x00\x00\x00\x03red")
    assert b.peer_metadata is not None and b.peer_metadata["x-team"] == b"red"


def test_zap_denied_sends_error() -> None:
    a, b, _ = zap_pair()
    b.zap_reply(400, b"no way")
    assert b.events == [AuthenticationFailed(400, b"no way")]
    assert b.finished
    pump(a, b)
    assert a.events == [ErrorReceived(b"400")]
    assert a.finished


def test_zap_temporary_failure_sends_nothing() -> None:
    a, b, _ = zap_pair()
    b.zap_reply(300, b"later")
    assert b.events == [AuthenticationFailed(300, b"later")]
    assert b.data_to_send() == b""


def test_zap_reply_without_request() -> None:
    a, b = pair()
    with pytest.raises(RuntimeError):
        b.zap_reply(200)


def test_null_without_domain_never_asks_zap() -> None:
    a = ZmtpConnection(socket_type="PAIR", mechanism=NullMechanism(zap_domain=""))
    b = ZmtpConnection(socket_type="PAIR", as_server=True, mechanism=NullMechanism())
    pump(a, b)
    assert a.handshake_complete and b.handshake_complete
    assert not [e for e in a.events + b.events if isinstance(e, ZapRequest)]


def test_null_both_sides_with_domain_ask_zap_without_deadlock() -> None:
    """libzmq's NULL asks ZAP on whichever side has a domain, connecting ones too."""
    a = ZmtpConnection(socket_type="PAIR", mechanism=NullMechanism(zap_domain="a"))
    b = ZmtpConnection(socket_type="PAIR", as_server=True, mechanism=NullMechanism(zap_domain="b"))
    pump(a, b)
    assert [e.domain for e in a.events if isinstance(e, ZapRequest)] == ["a"]
    assert [e.domain for e in b.events if isinstance(e, ZapRequest)] == ["b"]
    a.events.clear()
    b.events.clear()
    a.zap_reply(200)
    pump(a, b)
    assert not a.handshake_complete and not b.handshake_complete  # b's READY is held back
    b.zap_reply(200)
    pump(a, b)
    assert a.handshake_complete and b.handshake_complete


def test_mechanism_instances_serve_one_connection() -> None:
    m = NullMechanism()
    a = ZmtpConnection(socket_type="PAIR", mechanism=m)
    b = ZmtpConnection(socket_type="PAIR", as_server=True, mechanism=m)
    with pytest.raises(RuntimeError):
        pump(a, b)


# --- a traffic-transforming mechanism (stand-in for CURVE) -------------------


class XorMechanism(Mechanism):
    """Toy mechanism: HELLO/READY handshake, frames XOR-ed inside MESSAGE commands."""

    name = b"XOR"
    announces_role = True
    transforms_traffic = True

    def _on_start(self) -> None:
        if not self.as_server:
            self._send(b"\x05HELLO")
        self._state = "hello" if self.as_server else "ready"

    def _on_command(self, name: bytes, data: bytes) -> None:
        if self._state == "hello" and name == b"HELLO":
            self._send(b"\x05READY" + self._properties)
            self._state = "ready"
            return
        if self._state == "ready" and name == b"READY":
            self._accept_properties(data)
            if self.as_server:
                self._complete()
            else:
                self._send(b"\x05READY" + self._properties)
                self._complete()
            return
        raise self._unexpected(name, self._state)

    def wrap(self, flags: int, payload: Buffer) -> bytes:
        body = b"\x07MESSAGE" + bytes((flags,)) + bytes(x ^ 0x5A for x in bytes(payload))
        return encode_command(body)

    def unwrap(self, body: bytes) -> tuple[int, bytes]:
        name, data = decode_command(body)
        if name != b"MESSAGE":
            raise ProtocolError(f"expected MESSAGE, got {name!r}")
        return data[0] & (MORE | COMMAND), bytes(x ^ 0x5A for x in data[1:])


def test_transforming_mechanism_round_trip() -> None:
    a = ZmtpConnection(socket_type="SUB", mechanism=XorMechanism())
    b = ZmtpConnection(socket_type="XPUB", as_server=True, mechanism=XorMechanism())
    a.send_subscribe(b"news")
    got_a, got_b = pump(a, b)
    assert a.handshake_complete and b.handshake_complete
    assert a.peer_greeting is not None and a.peer_greeting.as_server
    assert b.peer_greeting is not None and not b.peer_greeting.as_server
    assert got_b == [[b"\x01news"]]
    b.send_messages([[b"news", b"today"], [b"more"]])
    a.send_ping(1.0, b"c")
    wire = b.data_to_send()
    assert b"today" not in wire
    assert as_lists(a.receive_data(wire)) == [[b"news", b"today"], [b"more"]]
    pump(a, b)
    assert Ping(1.0, b"c") in b.events and Pong(b"c") in a.events
    with pytest.raises(ProtocolError, match="unwrapped message frame"):
        a.receive_data(b"\x01\x01x\x00\x01y")  # a two-frame data message
    with pytest.raises(ProtocolError, match="malformed command"):
        b.receive_data(b"\x00\x01x")  # a data frame that is no MESSAGE
