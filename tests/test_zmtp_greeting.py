"""Greeting bytes (RFC 37 worked example), incremental parsing, negotiation."""

from __future__ import annotations

import pytest

from purezmq.zmtp import ProtocolError
from purezmq.zmtp.greeting import (
    GREETING_SIZE,
    Greeting,
    GreetingParser,
    build_greeting,
    negotiate_version,
)

# RFC 37 "Worked Example": signature, major; then minor, "NULL", as-server, filler.
RFC_GREETING = (
    b"\xff"
    + b"\x00" * 8
    + b"\x7f"
    + b"\x03"
    + b"\x01"
    + b"NULL"
    + b"\x00" * 16
    + b"\x00"
    + b"\x00" * 31
)


def test_build_greeting_matches_rfc_example() -> None:
    g = build_greeting()
    assert g == RFC_GREETING
    assert len(g) == GREETING_SIZE == 64


def test_build_greeting_fields() -> None:
    g = build_greeting(b"CURVE", as_server=True, version=(3, 0))
    assert g[10:12] == b"\x03\x00"
    assert g[12:32] == b"CURVE" + b"\x00" * 15
    assert g[32] == 1
    assert g[33:] == bytes(31)


@pytest.mark.parametrize("bad", [b"", b"null", b"A" * 21, b"NU LL"])
def test_build_greeting_rejects_bad_mechanism_names(bad: bytes) -> None:
    with pytest.raises(ValueError):
        build_greeting(bad)


def test_parse_whole_greeting() -> None:
    p = GreetingParser()
    assert p.feed(RFC_GREETING + b"extra") == 64
    assert p.complete
    assert p.greeting == Greeting(version=(3, 1), mechanism=b"NULL", as_server=False)


def test_parse_one_byte_at_a_time() -> None:
    p = GreetingParser()
    for i in range(63):
        assert p.feed(RFC_GREETING[i : i + 1]) == 1
        assert not p.complete
    assert p.feed(RFC_GREETING[63:] + b"\x00\x05") == 1
    assert p.complete


def test_parse_libzmq_style_chunks_with_nonzero_padding() -> None:
    # libzmq puts (identity size + 1) in the padding and sends 10, 1, 53 octets.
    g = b"\xff" + (1).to_bytes(8, "big") + b"\x7f" + RFC_GREETING[10:]
    p = GreetingParser()
    assert p.feed(g[:10]) == 10
    assert p.feed(g[10:11]) == 1
    assert p.feed(g[11:]) == 53
    assert p.greeting is not None and p.greeting.version == (3, 1)


def test_non_zmtp_peer_detected_from_first_byte() -> None:
    p = GreetingParser()
    with pytest.raises(ProtocolError, match="bad greeting signature"):
        p.feed(b"G")  # e.g. "GET / HTTP/1.1"


def test_zmtp10_peer_detected_from_tenth_byte() -> None:
    p = GreetingParser()
    p.feed(b"\xff" + bytes(8))
    with pytest.raises(ProtocolError, match="ZMTP 1.0"):
        p.feed(b"\x00")


def test_bad_signature_last_octet() -> None:
    with pytest.raises(ProtocolError, match="tenth octet"):
        GreetingParser().feed(b"\xff" + bytes(8) + b"\x01")


@pytest.mark.parametrize("major", [1, 2])
def test_pre_30_peer_detected_from_version_byte(major: int) -> None:
    p = GreetingParser()
    p.feed(RFC_GREETING[:10])
    with pytest.raises(ProtocolError, match=f"version {major}"):
        p.feed(bytes((major,)))


def test_mechanism_mismatch() -> None:
    p = GreetingParser(b"NULL")
    with pytest.raises(ProtocolError, match="mechanism mismatch: peer uses PLAIN, we use NULL"):
        p.feed(build_greeting(b"PLAIN", as_server=True))


def test_higher_versions_are_accepted() -> None:
    p = GreetingParser()
    p.feed(build_greeting(version=(4, 7)))
    assert p.greeting is not None and p.greeting.version == (4, 7)
    assert negotiate_version((3, 1), (4, 7)) == (3, 1)
    assert negotiate_version((3, 1), (3, 0)) == (3, 0)
    assert negotiate_version((3, 0), (3, 1)) == (3, 0)


def test_feed_after_complete_consumes_nothing() -> None:
    p = GreetingParser()
    p.feed(RFC_GREETING)
    assert p.feed(b"abc") == 0
