"""purezmq.utils.z85 (RFC 32) and purezmq.utils.jsonapi, compared with pyzmq's."""

from __future__ import annotations

import ast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from purezmq.utils import jsonapi, z85

zmq_z85 = pytest.importorskip("zmq.utils.z85")
zmq_jsonapi = pytest.importorskip("zmq.utils.jsonapi")

RFC_BYTES = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])


def test_rfc32_test_vector() -> None:
    assert z85.encode(RFC_BYTES) == b"HelloWorld"
    assert z85.decode(b"HelloWorld") == RFC_BYTES
    assert z85.decode("HelloWorld") == RFC_BYTES


def test_alphabet() -> None:
    assert len(z85.Z85CHARS) == 85 == len(set(z85.Z85CHARS))
    assert z85.Z85CHARS == zmq_z85.Z85CHARS
    assert z85.encode(b"\x00\x00\x00\x00") == b"00000"
    assert z85.encode(b"\xff\xff\xff\xff") == b"%nSc0"
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""


@given(st.binary(max_size=256).map(lambda b: b[: len(b) - len(b) % 4]))
def test_round_trip_and_matches_pyzmq(raw: bytes) -> None:
    text = z85.encode(raw)
    assert len(text) == len(raw) // 4 * 5
    assert text == zmq_z85.encode(raw)
    assert z85.decode(text) == raw
    assert z85.decode(text.decode("ascii")) == raw


@given(st.lists(st.integers(0, 84), max_size=100).map(lambda v: v[: len(v) - len(v) % 5]))
def test_decode_any_valid_text_matches_pyzmq(values: list[int]) -> None:
    text = bytes(z85.Z85CHARS[v] for v in values)
    try:
        expected = zmq_z85.decode(text)
    except Exception:  # pyzmq raises struct.error for groups above 2**32-1
        with pytest.raises(ValueError, match="exceeds"):
            z85.decode(text)
    else:
        assert z85.decode(text) == expected


def test_accepts_bytes_like() -> None:
    assert z85.encode(bytearray(RFC_BYTES)) == b"HelloWorld"
    assert z85.encode(memoryview(RFC_BYTES)) == b"HelloWorld"
    assert z85.decode(bytearray(b"HelloWorld")) == RFC_BYTES


def test_curve_key_from_pyzmq() -> None:
    zmq = pytest.importorskip("zmq")
    public, secret = zmq.curve_keypair()
    assert len(z85.decode(public)) == 32
    assert z85.encode(z85.decode(secret)) == secret


@pytest.mark.parametrize("length", [1, 2, 3, 5, 7, 33])
def test_encode_bad_length(length: int) -> None:
    with pytest.raises(ValueError, match="multiple of 4"):
        z85.encode(b"x" * length)


@pytest.mark.parametrize("length", [1, 4, 6, 39, 41])
def test_decode_bad_length(length: int) -> None:
    with pytest.raises(ValueError, match="multiple of 5"):
        z85.decode(b"a" * length)


@pytest.mark.parametrize("text", [b"abc d", b"abc\x00d", b'abc"d', b"abc\\d", "abcdé"])
def test_decode_bad_characters(text: bytes | str) -> None:
    with pytest.raises(ValueError):
        z85.decode(text)


def test_decode_overflow() -> None:
    assert z85.decode(b"%nSc0") == b"\xff\xff\xff\xff"
    with pytest.raises(ValueError, match="exceeds"):
        z85.decode(b"%nSc1")
    with pytest.raises(ValueError, match="exceeds"):
        z85.decode(b"#####")


@pytest.mark.parametrize(
    "obj", [{"a": "é", "b": [1, 2.5, None, True]}, [], "text", 3, {"nested": {"x": []}}]
)
def test_jsonapi_matches_pyzmq(obj: object) -> None:
    assert jsonapi.dumps(obj) == zmq_jsonapi.dumps(obj)
    data = jsonapi.dumps(obj)
    assert isinstance(data, bytes)
    assert jsonapi.loads(data) == obj == zmq_jsonapi.loads(data)
    assert jsonapi.loads(data.decode("utf-8")) == obj
    assert jsonapi.loads(bytearray(data)) == obj


def test_jsonapi_kwargs() -> None:
    assert jsonapi.dumps({"b": 1, "a": 2}, sort_keys=True) == b'{"a": 2, "b": 1}'
    assert jsonapi.dumps("é", ensure_ascii=False) == '"é"'.encode()
    assert jsonapi.loads(b"1.5", parse_float=str) == "1.5"


def test_utils_package_imports_nothing() -> None:
    import purezmq.utils

    assert purezmq.utils.__file__ is not None
    with open(purezmq.utils.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
