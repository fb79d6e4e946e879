"""Command bodies, metadata properties and the socket-type table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purezmq.zmtp import ProtocolError
from purezmq.zmtp.commands import (
    COMPATIBLE_PEERS,
    ZMTP_SOCKET_TYPES,
    Metadata,
    check_socket_type,
    decode_command,
    decode_error,
    decode_ping,
    decode_properties,
    encode_cancel,
    encode_error,
    encode_join,
    encode_leave,
    encode_ping,
    encode_pong,
    encode_properties,
    encode_ready,
    encode_subscribe,
    is_compatible,
)
from purezmq.zmtp.frames import encode_command

# RFC 37 worked example: the DEALER client's READY (flags, size 41, body).
RFC_DEALER_READY = (
    b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER\x08Identity\x00\x00\x00\x00"
)
# ... and the ROUTER server's (size 28; the RFC's ROUTER sends no Identity).
RFC_ROUTER_READY = b"\x04\x1c\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER"


def test_ready_matches_rfc_worked_example() -> None:
    body = encode_ready({"Socket-Type": b"DEALER", "Identity": b""})
    assert encode_command(body) == RFC_DEALER_READY
    assert encode_command(encode_ready({"Socket-Type": b"ROUTER"})) == RFC_ROUTER_READY


def test_decode_ready() -> None:
    name, data = decode_command(RFC_DEALER_READY[2:])
    assert name == b"READY"
    props = decode_properties(data)
    assert props == {"Socket-Type": b"DEALER", "Identity": b""}


def test_metadata_is_case_insensitive() -> None:
    props = decode_properties(encode_properties({"Socket-Type": b"PUB", "X-Foo": b"1"}))
    assert props["socket-type"] == b"PUB"
    assert props.get("SOCKET-TYPE") == b"PUB"
    assert "x-foo" in props
    assert props.get("missing") is None
    with pytest.raises(KeyError):
        props["missing"]
    props["socket-TYPE"] = b"SUB"
    assert list(props) == ["X-Foo", "socket-TYPE"]


def test_metadata_duplicate_names_last_wins() -> None:
    raw = encode_properties([("X-A", b"1"), ("x-a", b"2")])
    assert decode_properties(raw) == Metadata({"x-a": b"2"})


@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x00", "empty property name"),
        (b"\x03ab", "truncated"),
        (b"\x01a\x00\x00", "truncated"),
        (b"\x01a\x00\x00\x00\x05abc", "value of 5 octets truncated"),
        (b"\x01a\x80\x00\x00\x00", "exceeds 2\\*\\*31-1"),
    ],
)
def test_malformed_metadata(data: bytes, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        decode_properties(data)


@pytest.mark.parametrize("name", ["", "a b", "é", "x" * 256])
def test_encode_properties_rejects_bad_names(name: str) -> None:
    with pytest.raises(ValueError):
        encode_properties({name: b""})


@settings(deadline=None)
@given(
    st.dictionaries(
        st.text(alphabet="abcXYZ019-_.+", min_size=1, max_size=20).map(lambda s: "X-" + s),
        st.binary(max_size=50),
        max_size=5,
    )
)
def test_properties_round_trip(props: dict[str, bytes]) -> None:
    # Names differing only in case collapse; build the expectation that way.
    expected = Metadata()
    for k, v in props.items():
        expected[k] = v
    assert decode_properties(encode_properties(expected)) == expected


def test_error_command() -> None:
    body = encode_error(b"bad thing")
    assert body == b"\x05ERROR\x09bad thing"
    name, data = decode_command(body)
    assert (name, decode_error(data)) == (b"ERROR", b"bad thing")
    assert decode_error(encode_error("x" * 300)[6:]) == b"x" * 255
    with pytest.raises(ProtocolError):
        decode_error(b"")
    with pytest.raises(ProtocolError, match="truncated"):
        decode_error(b"\x05abc")


def test_subscribe_cancel_join_leave() -> None:
    assert encode_subscribe(b"topic") == b"\x09SUBSCRIBEtopic"
    assert encode_cancel(b"topic") == b"\x06CANCELtopic"
    assert encode_subscribe(b"") == b"\x09SUBSCRIBE"
    assert encode_join(b"g") == b"\x04JOINg"
    assert encode_leave(b"g") == b"\x05LEAVEg"
    with pytest.raises(ValueError):
        encode_join(b"g" * 256)


def test_ping_pong() -> None:
    body = encode_ping(15, b"ctx")
    assert body == b"\x04PING\x00\x0fctx"
    assert decode_ping(decode_command(body)[1]) == (15, b"ctx")
    assert encode_pong(b"ctx") == b"\x04PONGctx"
    with pytest.raises(ValueError):
        encode_ping(70000)
    with pytest.raises(ValueError):
        encode_ping(1, b"x" * 17)
    with pytest.raises(ProtocolError, match="TTL"):
        decode_ping(b"\x00")
    assert decode_ping(b"\x00\x01" + b"c" * 20) == (1, b"c" * 16)  # cut like libzmq


@pytest.mark.parametrize("body", [b"", b"\x00", b"\x05PING", b"\x09SUB"])
def test_malformed_command_names(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="malformed command"):
        decode_command(body)


def test_socket_type_table_rfc37() -> None:
    pairs = {
        "REQ": {"REP", "ROUTER"},
        "REP": {"REQ", "DEALER"},
        "DEALER": {"REP", "DEALER", "ROUTER"},
        "ROUTER": {"REQ", "DEALER", "ROUTER"},
        "PUB": {"SUB", "XSUB"},
        "XPUB": {"SUB", "XSUB"},
        "SUB": {"PUB", "XPUB"},
        "XSUB": {"PUB", "XPUB"},
        "PUSH": {"PULL"},
        "PULL": {"PUSH"},
        "PAIR": {"PAIR"},
        "CLIENT": {"SERVER"},
        "SERVER": {"CLIENT"},
        "RADIO": {"DISH"},
        "DISH": {"RADIO"},
        "SCATTER": {"GATHER"},
        "GATHER": {"SCATTER"},
        "PEER": {"PEER"},
        "CHANNEL": {"CHANNEL"},
    }
    for ours, expected in pairs.items():
        assert COMPATIBLE_PEERS[ours] == expected
    assert set(pairs) == ZMTP_SOCKET_TYPES
    # The relation is symmetric.
    for ours, theirs in COMPATIBLE_PEERS.items():
        for t in theirs:
            assert is_compatible(t, ours)
    assert COMPATIBLE_PEERS["STREAM"] == frozenset()


def test_check_socket_type_messages() -> None:
    check_socket_type("PUSH", "PULL")
    with pytest.raises(ProtocolError, match="socket type PUSH cannot connect to PUB"):
        check_socket_type("PUSH", "PUB")
    with pytest.raises(ProtocolError, match="unknown socket type 'push'"):
        check_socket_type("PULL", "push")
