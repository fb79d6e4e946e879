"""Frame codec: exact bytes per RFC 37, limits, errors, round trips."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from purezmq.zmtp import ProtocolError, frames, inplace
from purezmq.zmtp.frames import (
    FrameDecoder,
    encode_command,
    encode_message,
    encode_messages,
    encode_messages_iov,
)
from tests.helpers import as_lists


def decode_all(data: bytes, chunks: list[int] | None = None, maxmsgsize: int = -1) -> list[Any]:
    """Feed ``data`` cut at the given chunk sizes (cycled); collect items."""
    dec = FrameDecoder(maxmsgsize)
    out: list[Any] = []
    if not chunks:
        out += as_lists(dec.feed(data))
        return out
    pos = i = 0
    while pos < len(data):
        size = chunks[i % len(chunks)]
        out += as_lists(dec.feed(data[pos : pos + size]))
        pos += size
        i += 1
    assert dec.pending == 0
    return out


# --- exact bytes (RFC 37 "Framing") ------------------------------------------


def test_short_final_frame() -> None:
    assert encode_message([b"hello"]) == b"\x00\x05hello"


def test_empty_frame() -> None:
    assert encode_message([b""]) == b"\x00\x00"


def test_multipart_sets_more_on_all_but_last() -> None:
    assert encode_message([b"a", b"", b"bc"]) == b"\x01\x01a\x01\x00\x00\x02bc"


def test_long_frame_has_8_byte_network_order_size() -> None:
    body = b"x" * 256
    assert encode_message([body]) == b"\x02" + (256).to_bytes(8, "big") + body
    assert encode_message([body, b"y"]) == b"\x03" + (256).to_bytes(8, "big") + body + b"\x00\x01y"


def test_short_frame_boundary() -> None:
    assert encode_message([b"x" * 255])[:2] == b"\x00\xff"


def test_command_frames() -> None:
    assert encode_command(b"\x04PING\x00\x00") == b"\x04\x07\x04PING\x00\x00"
    long_body = b"\x05READY" + b"x" * 300
    assert encode_command(long_body) == b"\x06" + (306).to_bytes(8, "big") + long_body


def test_encode_messages_concatenates() -> None:
    msgs = [[b"a"], [b"b", b"c"], [b"d" * 300]]
    assert encode_messages(msgs) == b"".join(encode_message(m) for m in msgs)


def test_encode_rejects_empty_message() -> None:
    with pytest.raises(ValueError):
        encode_messages([[]])
    with pytest.raises(ValueError):
        encode_messages_iov([[]])


def test_encode_accepts_bytearray_and_memoryview() -> None:
    assert encode_message([bytearray(b"ab"), memoryview(b"cd")]) == b"\x01\x02ab\x00\x02cd"


def test_iov_passes_large_bodies_through_uncopied() -> None:
    big = b"B" * 70000
    big2 = bytearray(b"C" * 100000)
    iov = encode_messages_iov([[b"a"], [big], [b"b", big2], [b"c"]])
    assert any(x is big for x in iov)
    assert any(x is big2 for x in iov)
    assert b"".join(iov) == encode_messages([[b"a"], [big], [b"b", big2], [b"c"]])
    assert len(iov) == 5  # "a"+hdr | big | "b"+hdr | big2 | "c"


def test_iov_small_batch_is_one_bytes() -> None:
    iov = encode_messages_iov([[b"x" * 64]] * 10)
    assert len(iov) == 1 and type(iov[0]) is bytes


# --- decoding ----------------------------------------------------------------


def test_decode_rfc_bytes() -> None:
    data = b"\x00\x05hello" + b"\x01\x01a\x00\x02bc" + b"\x04\x07\x04PING\x00\x00"
    dec = FrameDecoder()
    assert as_lists(dec.feed(data)) == [[b"hello"], [b"a", b"bc"], b"\x04PING\x00\x00"]
    assert dec.saw_command


def test_saw_command_false_for_plain_batches() -> None:
    dec = FrameDecoder()
    assert as_lists(dec.feed(b"\x00\x01a")) == [[b"a"]]
    assert not dec.saw_command


def test_decode_long_frame_with_small_size() -> None:
    # A long frame carrying few octets is legal.
    assert as_lists(FrameDecoder().feed(b"\x02" + (3).to_bytes(8, "big") + b"abc")) == [[b"abc"]]


def test_truncated_data_yields_nothing_until_complete() -> None:
    wire = encode_message([b"first", b"second" * 100])
    dec = FrameDecoder()
    for i in range(len(wire) - 1):
        assert as_lists(dec.feed(wire[i : i + 1])) == []
    assert as_lists(dec.feed(wire[-1:])) == [[b"first", b"second" * 100]]


def test_multipart_split_across_feeds() -> None:
    dec = FrameDecoder()
    assert as_lists(dec.feed(b"\x01\x01a")) == []
    assert dec.pending == 1
    assert as_lists(dec.feed(b"\x01\x01b\x00")) == []
    assert as_lists(dec.feed(b"\x01c\x00\x01d")) == [[b"a", b"b", b"c"], [b"d"]]


def test_memoryview_input() -> None:
    buf = bytearray(encode_messages([[b"abc"], [b"de"]]))
    out = FrameDecoder().feed(memoryview(buf))
    assert as_lists(out) == [[b"abc"], [b"de"]]
    assert all(type(p) is bytes for m in out for p in m)


@pytest.mark.parametrize("flags", [0x08, 0x10, 0x20, 0x40, 0x80, 0xFF])
def test_reserved_flag_bits(flags: int) -> None:
    with pytest.raises(ProtocolError, match="reserved bits"):
        FrameDecoder().feed(bytes((flags, 0)))
    with pytest.raises(ProtocolError, match="reserved bits"):
        FrameDecoder().feed(b"\x00\x00" + bytes((flags,)))  # detected even alone


def test_command_with_more_flag() -> None:
    with pytest.raises(ProtocolError, match="MORE"):
        FrameDecoder().feed(b"\x05\x05\x04PING")


def test_command_inside_multipart_message() -> None:
    with pytest.raises(ProtocolError, match="inside a multipart"):
        FrameDecoder().feed(b"\x01\x01a\x04\x05\x04PONG")


def test_maxmsgsize_rejects_header_before_body() -> None:
    dec = FrameDecoder(maxmsgsize=1000000)
    header = b"\x02" + (2000000).to_bytes(8, "big")
    with pytest.raises(ProtocolError, match="frame of 2000000 bytes exceeds MAXMSGSIZE 1000000"):
        dec.feed(header)  # only the header: rejected without buffering


def test_maxmsgsize_small_limit_short_frames() -> None:
    dec = FrameDecoder(maxmsgsize=3)
    assert as_lists(dec.feed(b"\x00\x03abc")) == [[b"abc"]]
    with pytest.raises(ProtocolError, match="frame of 4 bytes exceeds MAXMSGSIZE 3"):
        dec.feed(b"\x00\x04")


def test_one_frame_per_read_keeps_every_rule() -> None:
    """A read holding exactly one short final frame takes a shortcut; it must
    not skip what the general path checks: MAXMSGSIZE, a multipart message
    in progress, a partial header or body kept from the read before."""
    dec = FrameDecoder(maxmsgsize=3)
    assert as_lists(dec.feed(b"\x00\x03abc")) == [[b"abc"]]
    with pytest.raises(ProtocolError, match="frame of 4 bytes exceeds MAXMSGSIZE 3"):
        dec.feed(b"\x00\x04abcd")
    dec = FrameDecoder()
    assert as_lists(dec.feed(b"\x01\x01a")) == []  # MORE: the next frame ends this message
    assert as_lists(dec.feed(b"\x00\x01b")) == [[b"a", b"b"]]
    assert as_lists(dec.feed(b"\x00")) == []  # half a header
    assert as_lists(dec.feed(b"\x01c")) == [[b"c"]]  # looks like a frame header itself
    assert as_lists(dec.feed(b"\x00\x04d")) == []  # part of a body, 3 octets to come
    assert as_lists(dec.feed(b"\x00\x01x")) == [[b"d\x00\x01x"]]  # they look like a frame
    assert as_lists(dec.feed(memoryview(b"\x00\x01e"))) == [[b"e"]]
    assert encode_messages_iov([[b"f" * 255]]) == [b"\x00\xff" + b"f" * 255]
    assert encode_messages_iov([[memoryview(b"g")]]) == [b"\x00\x01g"]


def test_maxmsgsize_applies_per_frame() -> None:
    dec = FrameDecoder(maxmsgsize=4)
    assert as_lists(dec.feed(encode_message([b"abcd", b"efgh"]))) == [[b"abcd", b"efgh"]]


def test_maxmsgsize_zero() -> None:
    dec = FrameDecoder(maxmsgsize=0)
    assert as_lists(dec.feed(b"\x00\x00")) == [[b""]]
    with pytest.raises(ProtocolError):
        dec.feed(b"\x00\x01x")


def test_size_above_2_63() -> None:
    with pytest.raises(ProtocolError, match="2\\*\\*63"):
        FrameDecoder().feed(b"\x02\xff\xff\xff\xff\xff\xff\xff\xff")


def test_big_frame_in_small_reads_is_linear() -> None:
    body = bytes(range(256)) * 4096  # 1 MiB
    wire = encode_message([body, b"tail"])
    dec = FrameDecoder()
    out: list[Any] = []
    for i in range(0, len(wire), 1000):
        out += dec.feed(wire[i : i + 1000])
    assert out == [[body, b"tail"]]


# --- property tests ----------------------------------------------------------

frames_st = st.binary(max_size=300) | st.builds(lambda n: b"L" * n, st.integers(256, 1200))
messages_st = st.lists(st.lists(frames_st, min_size=1, max_size=4), min_size=1, max_size=8)
commands_st = st.builds(
    lambda name, data: bytes((len(name),)) + name + data,
    st.sampled_from([b"PING", b"SUBSCRIBE", b"X"]),
    st.binary(max_size=300),
)


@settings(deadline=None)
@given(msgs=messages_st, chunks=st.lists(st.integers(1, 97), min_size=1, max_size=5))
def test_round_trip_any_chunking(msgs: list[list[bytes]], chunks: list[int]) -> None:
    assert decode_all(encode_messages(msgs), chunks) == msgs
    assert decode_all(b"".join(encode_messages_iov(msgs, copy_threshold=500)), chunks) == msgs


@settings(deadline=None, max_examples=50)
@given(msgs=messages_st)
def test_round_trip_one_byte_at_a_time(msgs: list[list[bytes]]) -> None:
    assert decode_all(encode_messages(msgs), [1]) == msgs


@settings(deadline=None)
@given(
    items=st.lists(st.one_of(st.lists(frames_st, min_size=1, max_size=3), commands_st), max_size=8),
    chunks=st.lists(st.integers(1, 50), min_size=1, max_size=4),
)
def test_round_trip_messages_and_commands(items: list[Any], chunks: list[int]) -> None:
    wire = b"".join(
        encode_message(it) if isinstance(it, list) else encode_command(it) for it in items
    )
    assert decode_all(wire, chunks) == items


def test_maxmsgsize_checked_when_header_arrives_in_pieces() -> None:
    dec = FrameDecoder(maxmsgsize=10)
    header = b"\x02" + (11).to_bytes(8, "big")
    for i in range(len(header) - 1):
        assert as_lists(dec.feed(header[i : i + 1])) == []
    with pytest.raises(ProtocolError, match="frame of 11 bytes exceeds MAXMSGSIZE 10"):
        dec.feed(header[-1:])


def test_command_inside_multipart_detected_across_feeds() -> None:
    dec = FrameDecoder()
    assert as_lists(dec.feed(b"\x01\x01a\x04\x05\x04P")) == []
    with pytest.raises(ProtocolError, match="inside a multipart"):
        dec.feed(b"ONG")


def test_runs_of_like_frames_decode_as_single_frames() -> None:
    """Runs of like single-frame messages (decoded in one go) interleaved with
    other sizes, multipart messages, long frames and commands, at every split."""
    msgs: list[Any] = []
    msgs += [[b"a" * 64] for _ in range(20)]
    msgs += [[b"b" * 65] for _ in range(3)]  # a run too short to take at once
    msgs += [[b"", b"c" * 64] for _ in range(10)]  # multipart: never a run
    msgs += [[b"d" * 1000] for _ in range(12)]  # long frames
    msgs += [[bytes([i]) * 64] for i in range(9)]  # same header, different bodies
    wire = encode_messages(msgs)
    wire += encode_command(b"\x04PING\x00\x00")
    wire += encode_messages([[b"e" * 300] for _ in range(9)])
    expected: list[Any] = [*msgs, b"\x04PING\x00\x00", *([b"e" * 300] for _ in range(9))]
    for cut in (1, 7, 66, 500, 4096, len(wire)):
        dec = FrameDecoder()
        got: list[Any] = []
        for i in range(0, len(wire), cut):
            got += dec.feed(wire[i : i + cut])
        # Single-frame messages are 1-tuples (a run's come from iter_unpack),
        # multipart ones lists.
        assert as_lists(got) == expected, cut
        assert all(type(m) is (tuple if len(m) == 1 else list) for m in got if type(m) is not bytes)


def test_run_respects_maxmsgsize() -> None:
    dec = FrameDecoder(maxmsgsize=999)
    with pytest.raises(ProtocolError):
        dec.feed(encode_messages([[b"x" * 1000] for _ in range(10)]))


@given(st.lists(st.binary(max_size=600), min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_wire_bytes_round_trip(msg: list[bytes]) -> None:
    """A PUB's once-encoded message is the codec's encoding, and turns back into
    the same frames (for a connection that must frame it itself)."""
    from purezmq.zmtp.frames import encode_message, wire_bytes, wire_message

    data = wire_bytes(msg)
    assert data == encode_message(msg)
    assert wire_message(data) == msg
    assert wire_bytes([b"x" * 70000]) is None  # big: left as a message


# --- large bodies read in place ("In place" in FrameDecoder) -----------------

_LARGE = [frames.IN_PLACE_MIN, frames.IN_PLACE_MIN + 1, 65536, frames.IN_PLACE_MAX]


def decode_reading_in_place(data: bytes, cuts: list[int]) -> tuple[list[Any], int]:
    """Read ``data`` as the engine does: into ``read_buffers()`` when offered
    (``filled``), else as new bytes (``feed``); each read takes at most the next
    of ``cuts`` (cycled) octets. Returns the items and how many reads went in place."""
    dec = FrameDecoder()
    out: list[Any] = []
    pos = i = in_place = 0
    while pos < len(data):
        want = cuts[i % len(cuts)]
        i += 1
        iov = dec.read_buffers()
        if iov is None:
            out += as_lists(dec.feed(data[pos : pos + want]))
            pos += want
            continue
        in_place += 1
        n = 0
        for buf in iov:  # what recvmsg_into does: fill each buffer in turn
            k = min(len(buf), want - n, len(data) - pos - n)
            buf[:k] = data[pos + n : pos + n + k]
            n += k
        pos += n
        out += as_lists(dec.filled(n))
    assert dec.pending == 0
    return out, in_place


def _large_body(size: int, seed: int) -> bytes:
    return bytes((seed + i * 7) & 0xFF for i in range(256)) * (size // 256) + b"z" * (size % 256)


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@pytest.mark.parametrize("cut", [300_000, 65_536, 9, 7, 4099])
def test_like_large_messages_land_in_place(cut: int) -> None:
    msgs = [[_large_body(65536, k)] for k in range(12)]
    got, in_place = decode_reading_in_place(encode_messages(msgs), [cut])
    assert got == msgs
    assert in_place > 0


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@pytest.mark.parametrize("head", [[b""], [b"peer-7", b""], [b"t" * 53]])
@pytest.mark.parametrize("cut", [300_000, 65_536, 70_000, 4099])
def test_like_large_multipart_messages_land_in_place(head: list[bytes], cut: int) -> None:
    # The large last frame behind a repeated envelope (REQ/REP's empty
    # delimiter, a routing id, a topic): the same head each time, so the next
    # message's head and body land in a slot and a spare body.
    msgs = [[*head, _large_body(65536, k)] for k in range(12)]
    got, in_place = decode_reading_in_place(encode_messages(msgs), [cut])
    assert got == msgs
    assert in_place > 0


def _iov_shapes(data: bytes, cut: int) -> tuple[list[Any], list[int]]:
    """Decode ``data`` read ``cut`` octets at a time as the engine does; the
    items and, for each read into ``read_buffers``, how many buffers it had."""
    dec = FrameDecoder()
    out: list[Any] = []
    shapes: list[int] = []
    pos = 0
    while pos < len(data):
        iov = dec.read_buffers()
        if iov is None:
            out += as_lists(dec.feed(data[pos : pos + cut]))
            pos += cut
            continue
        shapes.append(len(iov))
        n = 0
        for buf in iov:
            k = min(len(buf), cut - n, len(data) - pos - n)
            buf[:k] = data[pos + n : pos + n + k]
            n += k
        pos += n
        out += as_lists(dec.filled(n))
    assert dec.pending == 0
    return out, shapes


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@pytest.mark.parametrize(
    "msgs",
    [
        [[b"t" * 54, _large_body(65536, k)] for k in range(4)],  # a head over HEAD_MAX
        [[_large_body(65536, k), b"trailer"] for k in range(4)],  # a large frame with MORE
        [[_large_body(50_000, k), _large_body(70_000, k)] for k in range(4)],  # both
    ],
)
def test_in_place_without_a_guess(msgs: list[list[bytes]]) -> None:
    # Large bodies that cannot be guessed from the message before are still
    # read in place: the body's rest, then a small buffer for what follows
    # (two buffers, no spare bodies).
    got, shapes = _iov_shapes(encode_messages(msgs), 30_000)
    assert got == msgs
    assert shapes and set(shapes) == {2}


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
def test_in_place_heads_that_change_are_decoded_as_usual() -> None:
    # Envelopes that differ from the one guessed (another id, another length,
    # a single frame, a command), at every cut: each miss goes through feed.
    body = _large_body(65536, 1)
    items: list[Any] = []
    for k in range(24):
        items.append([b"id%d" % (k % 3), body])
        if k % 4 == 1:
            items.append([body])
        if k % 5 == 2:
            items.append([b"", b"", body])
        if k % 6 == 3:
            items.append(b"\x04PING\x00\x00")
    data = b"".join(
        encode_command(it) if isinstance(it, bytes) else encode_messages([it]) for it in items
    )
    for cuts in ([1 << 30], [300_000], [65_547, 9, 1], [4099, 70_001], [11, 65_536, 2]):
        got, _ = decode_reading_in_place(data, cuts)
        assert got == items, cuts


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
def test_in_place_guess_missed_decodes_the_rest_as_usual() -> None:
    # Large messages of changing sizes, small ones, multipart with large parts,
    # commands and short/long boundaries between them: every guess that misses
    # hands its octets to the ordinary decoder.
    items: list[Any] = []
    for k, size in enumerate(_LARGE * 3):
        items.append([_large_body(size, k)])
        items.append([_large_body(size, k + 1)])
        if k % 3 == 0:
            items.append([b"small", b""])
        if k % 3 == 1:
            items.append([_large_body(size, 9), _large_body(size, 10)])
        if k % 4 == 2:
            items.append(b"\x04PING\x00\x00")
        if k % 5 == 4:
            items.append([_large_body(frames.IN_PLACE_MAX + 1, k)])
    data = b"".join(
        encode_command(it) if isinstance(it, bytes) else encode_messages([it]) for it in items
    )
    for cuts in ([1 << 30], [300_000], [65_545, 9, 1], [4099, 70_001], [9, 65_536, 2, 200_000]):
        got, in_place = decode_reading_in_place(data, cuts)
        assert got == items, cuts
        assert in_place > 0 or cuts[0] > len(data)


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
def test_in_place_bodies_are_fresh_bytes_never_written_again() -> None:
    dec = FrameDecoder()
    data = encode_messages([[_large_body(65536, k)] for k in range(4)])
    first = dec.feed(data[:1000])  # a header and the start of the first body
    assert first == []
    delivered: list[bytes] = []
    pos = 1000
    while pos < len(data):
        iov = dec.read_buffers()
        assert iov is not None
        n = 0
        for buf in iov:
            k = min(len(buf), len(data) - pos - n)
            buf[:k] = data[pos + n : pos + n + k]
            n += k
        pos += n
        delivered += [m[0] for m in dec.filled(n)]
    assert [type(b) for b in delivered] == [bytes] * 4
    snapshot = [bytes(b) for b in delivered]
    # More reads (another stream of like messages) must not touch them.
    more = encode_messages([[b"\xff" * 65536] for _ in range(3)])
    iov = dec.read_buffers()
    assert iov is not None
    n = 0
    for buf in iov:
        k = min(len(buf), len(more) - n)
        buf[:k] = more[n : n + k]
        n += k
    assert [m[0] for m in dec.filled(n)] == [b"\xff" * 65536] * 3
    assert delivered == snapshot
    assert hash(delivered[0]) == hash(snapshot[0])


def test_in_place_respects_maxmsgsize() -> None:
    dec = FrameDecoder(maxmsgsize=65535)
    with pytest.raises(ProtocolError, match="exceeds MAXMSGSIZE"):
        dec.feed(encode_message([b"x" * 65536])[:100])
    assert dec.read_buffers() is None


# Up to 100 KB here (not IN_PLACE_MAX): hypothesis also reads an octet at a time.
_SOME_LARGE = [frames.IN_PLACE_MIN, frames.IN_PLACE_MIN + 1, 65536, 100_000]
_in_place_items = st.lists(
    st.one_of(
        st.builds(
            lambda size, seed: [bytes([seed]) * size],
            st.sampled_from([5, 300, frames.IN_PLACE_MIN - 1, *_SOME_LARGE]),
            st.integers(0, 255),
        ),
        st.builds(lambda n: [b"p" * n, b"q" * frames.IN_PLACE_MIN], st.integers(0, 300)),
        st.builds(
            lambda n, size, seed: [b"p" * n, b"", bytes([seed]) * size],
            st.integers(0, 80),
            st.sampled_from(_SOME_LARGE),
            st.integers(0, 255),
        ),
        st.builds(
            lambda size, seed, tail: [bytes([seed]) * size, *tail],
            st.sampled_from(_SOME_LARGE),
            st.integers(0, 255),
            st.lists(st.sampled_from([b"", b"t" * 9, b"u" * frames.IN_PLACE_MIN]), max_size=2),
        ),
        st.just(b"\x04PING\x00\x00"),
    ),
    min_size=1,
    max_size=12,
)


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@settings(max_examples=60, deadline=None)
@given(items=_in_place_items, cuts=st.lists(st.integers(1, 300_000), min_size=1, max_size=5))
def test_in_place_round_trip_any_reads(items: list[Any], cuts: list[int]) -> None:
    data = b"".join(
        encode_command(it) if isinstance(it, bytes) else encode_messages([it]) for it in items
    )
    got, _ = decode_reading_in_place(data, cuts)
    assert got == items


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
def test_in_place_spares_go_between_messages() -> None:
    dec = FrameDecoder()
    a, b = encode_messages([[b"a" * 65536]]), encode_messages([[b"b" * 65536]])
    assert dec.feed(a[:100]) == []
    iov = dec.read_buffers()  # a first head: the body's rest, then a buffer for what follows
    assert iov is not None and len(iov) == 2
    iov[0][:] = a[100:]
    iov[1][:100] = b[:100]  # the next message's head, the same: now it is guessed
    assert as_lists(dec.filled(len(a) - 100 + 100)) == [[b"a" * 65536]]
    iov = dec.read_buffers()
    assert iov is not None and len(iov) > 2  # the body's rest, then spare heads and bodies
    assert dec.filled(0) == []  # a read that would block: the body is still filled...
    assert dec.read_buffers() is not None
    iov = dec.read_buffers()
    assert iov is not None
    iov[0][:] = b[100:]
    assert as_lists(dec.filled(len(b) - 100)) == [[b"b" * 65536]]
    assert dec._spec == []  # ...and between messages no spare body is kept
    iov = dec.read_buffers()  # the next is guessed alike: spares again, dropped by filled(0)
    assert iov is not None and len(iov) > 2
    assert dec.filled(0) == [] and dec._spec == []


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@pytest.mark.parametrize("n", [2, 40_001, 65536, inplace.MAX])
def test_new_bytes_view_covers_exactly_the_bytes(n: int) -> None:
    b, view = inplace.new_bytes(n)
    assert type(b) is bytes and len(b) == n and len(view) == n and not view.readonly
    view[:] = b"\x5a" * n
    assert b == b"\x5a" * n
    with pytest.raises((ValueError, IndexError)):
        view[n - 1 : n + 1] = b"zz"


@pytest.mark.skipif(not inplace.AVAILABLE, reason="needs CPython's ctypes")
@pytest.mark.parametrize("n", [-1, 0, 1, inplace.MAX + 1])
def test_new_bytes_refuses_other_sizes(n: int) -> None:
    with pytest.raises(ValueError, match="in-place bytes hold"):
        inplace.new_bytes(n)
