"""ZMTP frame codec: messages to bytes and bytes to messages, fast.

Rules this module keeps (RFC 37 "Framing"):

- A frame is a flags octet, a size (1 octet for a *short* frame, 8 octets
  in network order for a *long* one, flag bit 1) and a body. Bit 0 is MORE
  (more frames of this message follow), bit 2 is COMMAND. Bits 7-3 are
  reserved and MUST be zero: a frame with any of them set is a
  ``ProtocolError``, and so is a long size above 2**63-1.
- A command is exactly one frame: COMMAND with MORE is a ``ProtocolError``,
  as is a command arriving between the frames of a multipart message.
- MAXMSGSIZE (``-1`` = unlimited) applies to every frame, as libzmq's
  decoder applies it: a frame whose size header exceeds it is rejected as
  soon as the header is read, before any of its body is buffered.
- The encoder writes short frames for bodies of 0-255 octets and long
  frames otherwise (both peers accept either).

Decoder theory of operation: ``FrameDecoder.feed(data)`` walks the buffer
with plain indexing (no per-frame function calls), slicing each body out
of one ``bytes`` object. Single-frame messages (flags 0x00 or 0x02, no
multipart message pending) take a short fast path; everything else goes
through the general branch that checks flags and assembles multipart
messages. It returns, in wire order, complete messages as
``list[bytes]`` and commands as ``bytes`` (the command body: name-size
octet, name, data); ``saw_command`` tells the caller whether the batch
holds any command at all, so the common case needs no per-item check. A
partial frame at the end of a buffer is kept: if only part of its header
arrived, those few octets are prepended to the next buffer; once the
header is known, the body's pieces are collected in a list and joined
when complete, so a huge frame arriving in small reads costs linear, not
quadratic, copying. The frames of an unfinished multipart message are
carried across calls and delivered together. A large single-frame message
(IN_PLACE_MIN to IN_PLACE_MAX octets) is instead received in place: its
body is allocated when its header is decoded, and ``read_buffers`` /
``filled`` let the reader put the rest of it, and of the like messages
after it, straight into the objects delivered (see "In place" below).

Encoder theory of operation: the batch encoders build one list of
header/body pieces (short headers come from a precomputed table) and join
it once. ``encode_messages_iov`` does the same but passes bodies of
``COPY_THRESHOLD`` octets or more through untouched, between joined runs of
small pieces, so a caller can hand the list to ``socket.sendmsg`` without
copying large payloads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from struct import Struct
from typing import Any

from . import inplace as _inplace
from .errors import ProtocolError
from .heap import hold_heap

__all__ = [
    "COMMAND",
    "COPY_THRESHOLD",
    "LONG",
    "MORE",
    "Buffer",
    "FrameDecoder",
    "encode_command",
    "encode_message",
    "encode_messages",
    "encode_messages_iov",
]

#: A frame body the encoder accepts: any bytes-like object of 1-octet items.
Buffer = bytes | bytearray | memoryview

#: Flag bits of the frame flags octet.
MORE = 0x01
LONG = 0x02
COMMAND = 0x04
_RESERVED = 0xF8

#: Bodies of at least this many octets are not copied by ``encode_messages_iov``.
COPY_THRESHOLD = 65536

_MAX_SIZE = (1 << 63) - 1
_u64 = Struct(">Q")
_unpack_u64 = _u64.unpack_from
_pack_long = Struct(">BQ").pack

# Precomputed 2-octet headers of short frames, indexed by body size.
_LAST = tuple(bytes((0, n)) for n in range(256))
_MORE = tuple(bytes((MORE, n)) for n in range(256))


def _frame_header(flags: int, size: int) -> bytes:
    """Header of one frame with ``flags`` (MORE/COMMAND) and a body of ``size``."""
    if size < 256:
        return bytes((flags, size))
    return _pack_long(flags | LONG, size)


def encode_command(body: Buffer) -> bytes:
    """Frame a command body (name-size octet + name + data) as a command frame."""
    return _frame_header(COMMAND, len(body)) + body


def encode_message(parts: Sequence[Buffer]) -> bytes:
    """Encode one (multipart) message as wire bytes."""
    if len(parts) == 1:
        p = parts[0]
        n = len(p)
        if n < 256:
            return _LAST[n] + p
        return _pack_long(LONG, n) + p
    return encode_messages((parts,))


# Fan-out encodes messages up to this size once for every plain connection;
# bigger ones go by reference (sendmsg), as for any socket.
WIRE_MAX = 8192


def wire_bytes(msg: Sequence[Buffer]) -> bytes | None:
    """``msg`` as ZMTP wire bytes for a PUB's queues, or None when it is big
    (the queues then hold the message itself)."""
    if len(msg) == 1:
        p = msg[0]
        n = len(p)
        if n < 256:
            return _LAST[n] + p
        if n > WIRE_MAX:
            return None
        return _pack_long(LONG, n) + p
    if sum(map(len, msg)) > WIRE_MAX:
        return None
    return encode_messages((msg,))


def wire_message(data: bytes) -> list[bytes]:
    """The message ``wire_bytes`` encoded, back as frames (for a connection that
    frames messages itself; rare: a PUB's queue outliving its plain connection)."""
    frames = []
    pos, end = 0, len(data)
    while pos < end:
        flags = data[pos]
        if flags & LONG:
            (n,) = _u64.unpack_from(data, pos + 1)
            pos += 9
        else:
            n = data[pos + 1]
            pos += 2
        frames.append(data[pos : pos + n])
        pos += n
        if not flags & MORE:
            break
    return frames


def encode_messages(msgs: Iterable[Sequence[Buffer]]) -> bytes:
    """Encode many messages into one ``bytes`` (one write for a whole batch)."""
    pieces: list[Buffer] = []
    ap = pieces.append
    last = _LAST
    for msg in msgs:
        if len(msg) == 1:
            p = msg[0]
            n = len(p)
            if n < 256:
                ap(last[n])
            else:
                ap(_pack_long(LONG, n))
            ap(p)
        else:
            _encode_multipart(msg, ap)
    return b"".join(pieces)


def encode_messages_iov(
    msgs: Iterable[Sequence[Buffer]], copy_threshold: int = COPY_THRESHOLD
) -> list[Buffer]:
    """Encode many messages as a list of buffers for ``socket.sendmsg``.

    Headers and small bodies are joined into ``bytes`` runs; bodies of
    ``copy_threshold`` octets or more are placed in the list as given (not
    copied), so they must not be mutated until written. The list is never
    empty unless ``msgs`` is; it usually holds a single ``bytes``.
    """
    if type(msgs) is list and len(msgs) >= _RUN_MIN:
        joined = _encode_single_frames(msgs, copy_threshold)
        if joined is not None:
            return [joined]
    iov: list[Buffer] = []
    pieces: list[Buffer] = []
    ap = pieces.append
    last = _LAST
    for msg in msgs:
        if len(msg) == 1:
            p = msg[0]
            n = len(p)
            if n < 256:
                ap(last[n])
                ap(p)
                continue
            ap(_pack_long(LONG, n))
            if n >= copy_threshold:
                iov.append(b"".join(pieces))
                iov.append(p)
                pieces.clear()
            else:
                ap(p)
        else:
            if not msg:
                raise ValueError("cannot encode a message with no frames")
            final = len(msg) - 1
            for i, p in enumerate(msg):
                n = len(p)
                if n < 256:
                    ap(_MORE[n] if i < final else last[n])
                    ap(p)
                    continue
                ap(_pack_long(LONG | MORE if i < final else LONG, n))
                if n >= copy_threshold:
                    iov.append(b"".join(pieces))
                    iov.append(p)
                    pieces.clear()
                else:
                    ap(p)
    if pieces:
        iov.append(b"".join(pieces))
    return iov


_first = itemgetter(0)


def _encode_single_frames(msgs: list[Sequence[Buffer]], copy_threshold: int) -> bytes | None:
    """A batch of single-frame messages of one size (under ``copy_threshold``) as
    one ``bytes``; None for any other batch (the caller takes the general loop).

    The bulk case: with every header alike, ``header.join(bodies)`` puts one
    between each two bodies, so the whole batch is one join in C.
    """
    n = len(msgs)
    if list(map(len, msgs)).count(1) != n:
        return None
    bodies = list(map(_first, msgs))
    sizes = list(map(len, bodies))
    size = sizes[0]
    if sizes.count(size) != n or size >= copy_threshold:
        return None
    header = _LAST[size] if size < 256 else _pack_long(LONG, size)
    bodies.insert(0, b"")  # the first header too, in the same join: no second copy
    return header.join(bodies)


def _encode_multipart(msg: Sequence[Buffer], append: Callable[[Buffer], None]) -> None:
    """Append header/body pieces of a message with 0 or 2+ frames via ``append``."""
    if not msg:
        raise ValueError("cannot encode a message with no frames")
    final = len(msg) - 1
    for i, p in enumerate(msg):
        n = len(p)
        if i < final:
            append(_MORE[n] if n < 256 else _pack_long(MORE | LONG, n))
        else:
            append(_LAST[n] if n < 256 else _pack_long(LONG, n))
        append(p)


# Last frames of IN_PLACE_MIN to IN_PLACE_MAX octets are received in place
# ("In place" in FrameDecoder), reading up to IN_PLACE_READ octets at a time
# (more when one body's rest is longer). Same-library tcp pairs, receiver
# CPU per message, in place against sliced out of a read buffer, both with
# the heap held (zmtp/heap.py), two runs each: 128 KiB 37-44 us (sliced
# 45-46), 256 KiB 84-97 (128-136), 1 MiB 239-310 (276-405); at 32 KiB about
# level (16-17 against 15-16), so smaller bodies are sliced. Without the heap held, reading in place
# faulted more than slicing at 96-256 KiB (10-15 faults per message).
IN_PLACE_MIN = 40 * 1024
IN_PLACE_MAX = _inplace.MAX
IN_PLACE_READ = 256 * 1024
# The most octets of a message before its body for that body to go in place:
# room for the frame header behind a REQ/REP envelope or a few short frames.
HEAD_MAX = 64
# What a read after such a body takes when no message is guessed (decoded as usual).
AFTER_READ = 16 * 1024
assert IN_PLACE_MIN <= IN_PLACE_READ <= IN_PLACE_MAX <= _inplace.MAX
# Runs: at least this many like frames in a row are decoded in one go, and
# only bodies up to this size (bigger ones are few per read anyway).
_RUN_MIN = 8
_RUN_MAX_BODY = 16384
_run_structs: dict[tuple[int, int], Struct] = {}


def _take_run(buf: bytes, pos: int, n: int, hlen: int, size: int, out: list[Any]) -> int:
    """Decode the run of single-frame messages at ``buf[pos]`` whose headers all
    equal the one there (``hlen`` octets, bodies of ``size``): append them to
    ``out`` and return the position after the run, or 0 for a run under _RUN_MIN.

    A stream of like messages (same flags and size, the usual bulk flow) has
    its headers at a fixed stride, so each header octet is checked for the
    whole run with one strided slice, and the bodies are cut out by
    ``Struct.iter_unpack``: per-message work in C, not in this loop. Each
    message is the 1-tuple ``iter_unpack`` yields: turning them into lists
    cost 2.7 times as many instructions as the whole cut (callgrind).
    """
    step = hlen + size
    count = (n - pos) // step
    end = pos + count * step
    for j in range(hlen):
        column = buf[pos + j : end : step]
        same = len(column) - len(column.lstrip(column[:1]))
        if same < count:
            count = same
            if count < _RUN_MIN:
                return 0
            end = pos + count * step
    st = _run_structs.get((hlen, size))
    if st is None:
        if len(_run_structs) >= 512:  # many sizes seen: start over rather than grow
            _run_structs.clear()
        st = _run_structs[(hlen, size)] = Struct(f"{hlen}x{size}s")
    out.extend(st.iter_unpack(memoryview(buf)[pos:end]))
    return end


class FrameDecoder:
    """Incremental frame decoder: feed buffers, get messages and commands.

    ``feed`` returns a list whose items are, in wire order, complete
    messages and commands (``bytes``: the command body). A single-frame
    message is a 1-tuple, a multipart one a list of frames: a tuple of bytes
    is cheaper to make, and the cyclic collector untracks it at its first
    pass, so messages waiting in a pipe are never promoted to its oldest
    generation (whose full collections traverse every connection's objects). ``saw_command`` is true when the
    last ``feed`` result contains at least one command.
    """

    __slots__ = (
        "maxmsgsize",
        "_limit",
        "_tail",
        "_parts",
        "_need",
        "_chunks",
        "_flags",
        "_body",
        "_bview",
        "_filled",
        "_expect",
        "_head",
        "_prefix",
        "_bmore",
        "_after",
        "_spec",
        "_hdrs",
        "saw_command",
    )

    def __init__(self, maxmsgsize: int = -1) -> None:
        """Create a decoder rejecting frames over ``maxmsgsize`` (-1: no limit)."""
        self.maxmsgsize = maxmsgsize
        self._limit = maxmsgsize if maxmsgsize >= 0 else _MAX_SIZE
        self._tail = b""  # the start of a frame header (fewer octets than the header)
        self._parts: list[bytes] | None = None  # frames of an unfinished multipart message
        self._need = 0  # octets missing from the body being collected
        self._chunks: list[bytes] = []  # pieces of the body being collected
        self._flags = 0  # flags of the frame whose body is being collected
        # Large bodies read in place (see "In place" below): the body being
        # filled and its view, octets in it so far, the size of body guessed
        # next (0: none), the head of the last body's message and the frames
        # in it, spare bodies of the guessed size, the buffer of their head
        # slots.
        self._body: bytes | None = None
        self._bview: memoryview | None = None
        self._filled = 0
        self._expect = 0
        self._head = b""
        self._prefix: tuple[bytes, ...] = ()
        self._bmore = False  # the body filled in place has MORE: its message goes on
        self._after: bytearray | None = None  # read after a body when no head is guessed
        self._spec: list[tuple[bytes, memoryview]] = []
        self._hdrs: bytearray | None = None
        self.saw_command = False

    @property
    def pending(self) -> int:
        """Octets buffered that do not form a complete message yet."""
        parts = self._parts or ()
        return (
            len(self._tail)
            + sum(map(len, self._chunks))
            + sum(map(len, parts))
            + (self._filled + sum(map(len, self._prefix)) if self._body is not None else 0)
        )

    def _too_big(self, size: int) -> ProtocolError:
        """The error for a frame over the size limit."""
        if size > _MAX_SIZE:
            return ProtocolError(f"frame size {size} exceeds the ZMTP maximum 2**63-1")
        return ProtocolError(f"frame of {size} bytes exceeds MAXMSGSIZE {self.maxmsgsize}")

    def _deliver(self, flags: int, body: bytes, out: list[Any]) -> None:
        """Deliver one complete frame (slow path: the end of a collected body)."""
        parts = self._parts
        if flags & COMMAND:
            if parts is not None:
                raise ProtocolError("command frame inside a multipart message")
            out.append(body)
            self.saw_command = True
        elif flags & MORE:
            if parts is None:
                self._parts = [body]
            else:
                parts.append(body)
        elif parts is None:
            out.append((body,))
        else:
            parts.append(body)
            out.append(parts)
            self._parts = None

    def feed(self, data: bytes | bytearray | memoryview) -> list[Any]:
        """Decode ``data``; return the complete messages and commands in it."""
        self.saw_command = False
        if (
            type(data) is bytes
            and len(data) > 1
            and not data[0]
            and data[1] + 2 == len(data)
            and not (self._need or self._tail)
            and self._parts is None
            and data[1] <= self._limit
        ):
            # Exactly one short single-frame message, nothing pending: a
            # request or a reply, read on its own (56 bytecodes where the
            # general path takes 133).
            return [(data[2:],)]
        out: list[Any] = []
        if self._need:
            # Completing the body of a frame whose header we already have.
            if self._bview is not None:
                return self._feed_in_place(data)
            if type(data) is not bytes:
                data = bytes(data)
            need = self._need
            n = len(data)
            if n < need:
                self._chunks.append(data)
                self._need = need - n
                return out
            chunks = self._chunks
            chunks.append(data[:need])
            body = b"".join(chunks)
            self._chunks = []
            self._need = 0
            self._deliver(self._flags, body, out)
            buf = data
            pos = need
        elif self._tail:
            buf = self._tail + data
            self._tail = b""
            pos = 0
        else:
            buf = data if type(data) is bytes else bytes(data)
            pos = 0

        n = len(buf)
        n1 = n - 1  # every header has at least 2 octets
        limit = self._limit
        # Fast paths, unless the size limit is below 255 octets: single-frame
        # messages while no multipart message is pending, short (flags 0;
        # fast0) or long (flags 2; fast2), and short frames of multipart
        # messages (flags 0 or 1, below ``top``). -1 never matches.
        top = 2 if limit >= 255 else 0
        parts = self._parts
        fast0 = top - 2 if parts is None else -1
        fast2 = LONG if parts is None else -1
        ap = out.append
        unpack = _unpack_u64
        runs = True  # look for runs of like frames (``_take_run``) until one is too short
        mstart = -1  # where the pending multipart message began in buf (-1: before it)
        while pos < n1:
            flags = buf[pos]
            if flags == fast0:
                if runs and n - pos >= _RUN_MIN * (buf[pos + 1] + 2):
                    taken = _take_run(buf, pos, n, 2, buf[pos + 1], out)
                    if taken:
                        pos = taken
                        continue
                    runs = False
                start = pos + 2
                pos = start + buf[pos + 1]
                if pos > n:
                    pos = start - 2
                    break
                ap((buf[start:pos],))
                continue
            if flags < top:
                # A short frame of a multipart message (flags 0 with no
                # message pending took the path above).
                start = pos + 2
                pos = start + buf[pos + 1]
                if pos > n:
                    pos = start - 2
                    break
                if flags:
                    if parts is None:
                        parts = [buf[start:pos]]
                        mstart = start - 2
                        fast0 = fast2 = -1
                    else:
                        parts.append(buf[start:pos])
                else:
                    parts.append(buf[start:pos])  # type: ignore[union-attr]
                    ap(parts)
                    parts = None
                    fast0 = 0
                    fast2 = LONG
                continue
            if flags == fast2:
                # A long single-frame message.
                if pos + 9 > n:
                    break
                size = unpack(buf, pos + 1)[0]
                if size > limit:
                    raise self._too_big(size)
                if runs and size <= _RUN_MAX_BODY and n - pos >= _RUN_MIN * (size + 9):
                    taken = _take_run(buf, pos, n, 9, size, out)
                    if taken:
                        pos = taken
                        continue
                    runs = False
                start = pos + 9
                end = start + size
                if end > n:
                    break
                ap((buf[start:end],))
                pos = end
                continue
            if flags & _RESERVED:
                raise ProtocolError(f"frame flags 0x{flags:02x} have reserved bits set")
            if flags & LONG:
                if pos + 9 > n:
                    break
                size = unpack(buf, pos + 1)[0]
                start = pos + 9
            else:
                size = buf[pos + 1]
                start = pos + 2
            if size > limit:
                raise self._too_big(size)
            end = start + size
            if end > n:
                break
            body = buf[start:end]
            pos = end
            if flags & COMMAND:
                if flags & MORE:
                    raise ProtocolError("command frame has the MORE flag set")
                if parts is not None:
                    raise ProtocolError("command frame inside a multipart message")
                ap(body)
                self.saw_command = True
            elif flags & MORE:
                if parts is None:
                    parts = [body]
                    mstart = start - (9 if flags & LONG else 2)
                else:
                    parts.append(body)
            elif parts is None:
                ap((body,))
            else:
                parts.append(body)
                ap(parts)
                parts = None
            if parts is None:
                fast0 = top - 2
                fast2 = LONG
            else:
                fast0 = fast2 = -1
        self._parts = parts
        if pos < n:
            self._keep_partial(buf, pos, n, mstart)
        return out

    def _keep_partial(self, buf: bytes, pos: int, n: int, mstart: int = -1) -> None:
        """Keep an incomplete frame starting at ``buf[pos]`` for the next feed
        (``mstart``: where its multipart message began in ``buf``, -1 if before)."""
        flags = buf[pos]
        if flags & _RESERVED:
            raise ProtocolError(f"frame flags 0x{flags:02x} have reserved bits set")
        if flags & COMMAND and flags & MORE:
            raise ProtocolError("command frame has the MORE flag set")
        header = 9 if flags & LONG else 2
        if n - pos < header:
            self._tail = buf[pos:]
            return
        size = _unpack_u64(buf, pos + 1)[0] if flags & LONG else buf[pos + 1]
        if size > self._limit:
            raise self._too_big(size)
        start = pos + header
        if size >= IN_PLACE_MIN:
            hold_heap()
        if flags & ~MORE == LONG and IN_PLACE_MIN <= size <= IN_PLACE_MAX and _inplace.AVAILABLE:
            parts = self._parts
            self._parts = None
            more = flags != LONG
            head: bytes | None = None  # what to guess for the next message, if anything
            if more:
                pass
            elif parts is None:
                head = buf[pos:start]
            elif 0 <= mstart and start - mstart <= HEAD_MAX:
                head = buf[mstart:start]
            prefix = tuple(parts) if parts else ()
            self._start_in_place(size, head, prefix, more, memoryview(buf)[start:n])
            return
        self._flags = flags
        self._need = start + size - n
        self._chunks = [buf[start:]] if start < n else []

    # -- In place ----------------------------------------------------------------
    # A long frame of IN_PLACE_MIN..IN_PLACE_MAX octets whose header ends a read
    # is received in place: its body is a fresh ``bytes`` (zmtp/inplace.py) that
    # ``read_buffers`` offers for the rest of the body, so the kernel writes it
    # where the application gets it. What follows the body in that read goes
    # to a small ``_after`` buffer, decoded as any input -- unless the next
    # message can be guessed: when this frame ends its message, and the
    # message's head (the octets from its first frame to this body: the frame
    # header alone for a single-frame message, or small frames before it such
    # as a REQ/REP envelope or a topic) is in the same read, at most HEAD_MAX
    # octets, and the same as the head of the body before, spare bodies of the
    # same size follow instead, each behind a slot for a like head, up to
    # IN_PLACE_READ octets in all. (A head seen once is not guessed from:
    # routing ids that change with every message would have spares made and
    # copied out again each time.) A
    # stream of like messages then lands, one ``recvmsg_into`` per several
    # messages, in the very objects the application gets. ``filled`` checks
    # each head that arrived: one that differs ends the guess, and what was
    # read from it on is decoded by ``feed``. Equal heads hold equal frames,
    # so a guessed message reuses the first one's (``bytes``).

    def _start_in_place(
        self,
        size: int,
        head: bytes | None,
        prefix: tuple[bytes, ...],
        more: bool,
        first: memoryview,
    ) -> None:
        """The body of a ``size``-octet frame (``more``: not its message's last),
        after the frames ``prefix`` of its message, begins with ``first``: fill it
        in place. ``head``: the octets before it to guess the next message by, or
        None for no guess."""
        if head is not None and head == self._head:
            self._expect = size  # a second like head in a row: guess the next
        else:
            self._spec.clear()
            self._expect = 0
            self._head = head or b""
        self._prefix = prefix
        self._bmore = more
        body, view = _inplace.new_bytes(size)
        k = len(first)
        if k:
            view[:k] = first
        self._body, self._bview, self._filled, self._need = body, view, k, size - k

    def _body_done(self, body: bytes, out: list[Any]) -> None:
        """The body filled in place is complete: its message, or the frames so far."""
        prefix = self._prefix
        self._body = self._bview = None
        self._need = self._filled = 0
        if self._bmore:
            self._parts = [*prefix, body]
        else:
            out.append([*prefix, body] if prefix else (body,))

    def _feed_in_place(self, data: bytes | bytearray | memoryview) -> list[Any]:
        """``feed`` while a body is filled in place: copy into it."""
        view = self._bview
        body = self._body
        assert view is not None and body is not None
        need, filled = self._need, self._filled
        k = len(data)
        if k < need:
            view[filled : filled + k] = data
            self._filled = filled + k
            self._need = need - k
            return []
        view[filled:] = data[:need]
        out: list[Any] = []
        self._body_done(body, out)
        if k > need:
            out += self.feed(data[need:])
        return out

    def read_buffers(self) -> list[memoryview] | None:
        """Where the next read should go, or None for an ordinary read (see "In place")."""
        size = self._expect
        view = self._bview
        if not size:
            if view is None:
                return None
            after = self._after
            if after is None:
                after = self._after = bytearray(AFTER_READ)
            return [view[self._filled :], memoryview(after)]
        iov: list[memoryview] = []
        room = 0
        if view is not None:
            iov.append(view[self._filled :])
            room = self._need
        hdrs = self._hdrs
        if hdrs is None:
            hdrs = self._hdrs = bytearray(HEAD_MAX * (IN_PLACE_READ // IN_PLACE_MIN + 1))
        slots = memoryview(hdrs)
        hl = len(self._head)
        spec = self._spec
        i = 0
        while room < IN_PLACE_READ:
            if i == len(spec):
                spec.append(_inplace.new_bytes(size))
            iov.append(slots[hl * i : hl * i + hl])
            iov.append(spec[i][1])
            room += hl + size
            i += 1
        return iov

    def filled(self, n: int) -> list[Any]:
        """``n`` octets arrived in the last ``read_buffers`` (0: none did, the read
        would have blocked): what they complete. Spare bodies are kept only while a
        body is still being filled, so a connection between messages keeps none."""
        self.saw_command = False
        out: list[Any] = []
        body = self._body
        if body is not None:
            need = self._need
            if n < need:
                self._filled += n
                self._need = need - n
                return out
            n -= need
            self._body_done(body, out)
        spec = self._spec
        if not n:
            spec.clear()
            return out
        if not self._expect:  # no guess: the rest of the read is in _after
            after = self._after
            assert after is not None
            out += self.feed(memoryview(after)[:n].tobytes())
            return out
        size = self._expect
        head = self._head
        hl = len(head)
        hdrs = self._hdrs
        assert hdrs is not None  # octets beyond the body went to the head slots
        i = 0
        while n:
            p = hl * i
            if n < hl or hdrs[p : p + hl] != head:
                # Not the message guessed: decode the rest of the read as usual.
                rest: list[Any] = []
                while n:
                    h = hl if n > hl else n
                    rest.append(hdrs[hl * i : hl * i + h])
                    n -= h
                    if n:
                        b = size if n > size else n
                        rest.append(spec[i][1][:b])
                        n -= b
                    i += 1
                data = b"".join(rest)  # before the spare bodies (and views) go
                self._expect = 0  # (the head stays: when it comes again, so does the guess)
                spec.clear()
                out += self.feed(data)
                return out
            n -= hl
            body, view = spec[i]
            i += 1
            if n >= size:
                out.append([*self._prefix, body] if self._prefix else (body,))
                n -= size
            else:
                self._body, self._bview, self._filled, self._need = body, view, n, size - n
                self._bmore = False
                n = 0
        spec.clear()
        return out
