"""The CURVE security mechanism (RFC 25 ZMTP-CURVE, RFC 26 CurveZMQ).

Rules this module keeps:

- Crypto is PyNaCl's low-level libsodium bindings (``crypto_box``,
  ``crypto_box_beforenm``, ``crypto_secretbox``) and, with the precomputed
  key, libsodium's ``crypto_box_*easy_afternm`` called straight through
  PyNaCl's cffi module (``nacl._sodium``, PyNaCl >= 1.5): traffic seals
  and opens a frame per call, so the per-call Python is kept to one cffi
  call. Without PyNaCl, constructing the mechanism raises ``ImportError``
  saying to ``pip install purezmq[curve]``.
- Secret keys (long-term and transient) and the cookie key never appear
  in a repr, log line or exception message.
- Wire format, command bodies as libzmq sends them (``S``/``s``: server
  long-term public/secret, ``S'``/``s'`` server transient, ``C``/``c``,
  ``C'``/``c'`` the client's; ``Box[X](A->B)``: crypto_box of X from A's
  secret to B's public; short nonces are 8-octet big-endian counters)::

    HELLO    = "\\x05HELLO" version(1,0) padding(72 zeros) C'
               short-nonce Box[64 zeros](C'->S)                        200 octets
    WELCOME  = "\\x07WELCOME" long-nonce(16) Box[S' cookie](S->C')       168 octets
    cookie   = nonce(16) SecretBox[C' s'](cookie-key)                    96 octets
    INITIATE = "\\x08INITIATE" cookie short-nonce
               Box[C vouch-nonce(16) vouch metadata](C'->S')     >= 257 octets
    vouch    = Box[C' S](C->S')                                        80 octets
    READY    = "\\x05READY" short-nonce Box[metadata](S'->C')       >= 30 octets
    MESSAGE  = "\\x07MESSAGE" short-nonce Box[flags(1) payload](C'<->S')
               nonce prefix "CurveZMQMESSAGEC" from the client, "...S" from
               the server; flags 0x01 MORE, 0x02 COMMAND    >= 33 octets

- Every check CurveZMQ asks for: exact sizes, HELLO version 1.0, every box
  opens (wrong key or one flipped bit: ``ProtocolError``), the cookie
  holds the C' and s' of this connection, the vouch holds C' and S, the
  peer's short nonces strictly increase across HELLO/INITIATE/MESSAGE
  (client: READY/MESSAGE); a replayed or decreasing nonce is a
  ``ProtocolError``. Our own nonce never wraps (error at 2**64-1).
- The server always asks ZAP on INITIATE (mechanism "CURVE", credentials
  ``(C,)``: the client's 32-octet long-term public key), whatever
  ZAP_DOMAIN is; with no ZAP handler it accepts the client (libzmq 4.3's
  "Stonehouse" behaviour, verified against libzmq 4.3.5).
- After the handshake every frame travels in a MESSAGE command
  (``transforms_traffic``), itself sent in a data frame with flags 0 as
  libzmq does (libzmq accepts it in a command frame too, and so do we): ``wrap`` and ``unwrap`` use the precomputed
  key of ``crypto_box_beforenm`` (C', s' / S', c').

State machine (``_state``; ERROR from the peer in any state ends it with
``ErrorReceived``, handled by the base class)::

    side    state          input               action                  next
    ------  -------------  ------------------  ----------------------  -------------
    client  START          start()             send HELLO              WAIT_WELCOME
    client  WAIT_WELCOME   WELCOME             check, send INITIATE    WAIT_READY
    client  WAIT_READY     READY               check, validate         DONE
    server  START          start()             -                       WAIT_HELLO
    server  WAIT_HELLO     HELLO               check, send WELCOME     WAIT_INITIATE
    server  WAIT_INITIATE  INITIATE            check, validate, ZAP    WAIT_ZAP
    server  WAIT_ZAP       zap_reply 200       send READY              DONE
    server  WAIT_ZAP       zap_unavailable     send READY              DONE
    server  WAIT_ZAP       zap_reply other     AuthenticationFailed    FAILED
    any     any            other command       ProtocolError           -
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from .. import errors
from ..commands import READY
from ..errors import ProtocolError
from ..frames import COMMAND, MORE, Buffer
from .base import Mechanism

_nacl: Any
_ffi: Any
_lib: Any
try:
    from nacl import bindings as _nacl
    from nacl._sodium import ffi as _ffi  # type: ignore[no-redef]  # PyNaCl's cffi libsodium
    from nacl._sodium import lib as _lib  # type: ignore[no-redef]
    from nacl.exceptions import CryptoError as _CryptoError
except ImportError:  # pragma: no cover - exercised only without PyNaCl
    _nacl = _ffi = _lib = None

    class _CryptoError(Exception):  # type: ignore[no-redef]
        """Placeholder so the except clauses below stay valid."""


__all__ = ["CurveMechanism", "HAVE_NACL", "curve_keypair_raw", "curve_public_raw"]

HAVE_NACL = _nacl is not None

HELLO = b"HELLO"
WELCOME = b"WELCOME"
INITIATE = b"INITIATE"
MESSAGE = b"MESSAGE"

_HELLO = b"\x05HELLO"
_WELCOME = b"\x07WELCOME"
_INITIATE = b"\x08INITIATE"
_READY = b"\x05READY"
_MESSAGE = b"\x07MESSAGE"

_HELLO_DATA = 194  # 200 minus the name
_WELCOME_DATA = 160  # 168 minus the name
_INITIATE_MIN = 96 + 8 + 16 + 32 + 16 + 80  # cookie, nonce, mac, C, vouch nonce, vouch
_READY_MIN = 8 + 16
_MESSAGE_MIN = 8 + 8 + 16 + 1  # name, nonce, mac, flags
_MAX_NONCE = (1 << 64) - 1

START = "START"
WAIT_HELLO = "WAIT_HELLO"
WAIT_WELCOME = "WAIT_WELCOME"
WAIT_INITIATE = "WAIT_INITIATE"
WAIT_READY = "WAIT_READY"
WAIT_ZAP = "WAIT_ZAP"
DONE = "DONE"

_FLAG_BYTES = (b"\x00", b"\x01", b"\x02", b"\x03")
# wire flags (1 MORE, 2 COMMAND) -> the frame bits MORE (1) and COMMAND (4)
_FRAME_FLAGS = tuple((f & 1) | ((f & 2) << 1) for f in range(256))
_pack_nonce = struct.Struct(">Q").pack
_unpack_nonce = struct.Struct(">Q").unpack_from
_long_nonce = struct.Struct(">16sQ").pack  # MESSAGE nonce: prefix, short nonce
# A MESSAGE's head: ZMTP frame header (flags 2 + u64 size, or flags 0 + u8),
# then the name and the short nonce; unframed for other framings (ws).
_head_long = struct.Struct(">BQ8sQ").pack_into
_head_short = struct.Struct(">BB8sQ").pack_into
_head_bare = struct.Struct(">8sQ").pack_into
_name_nonce = struct.Struct(">8sQ").unpack_from  # a MESSAGE body's name and short nonce
_NO_SCRATCH: Any = _ffi.new("unsigned char[]", 0) if _ffi is not None else None
_SCRATCH_MAX = 1 << 18  # a bigger scratch buffer is not kept between calls
_UCHARS: Any = _ffi.typeof("unsigned char[]") if _ffi is not None else None
_new_unzeroed: Any = (
    _ffi.new_allocator(should_clear_after_alloc=False) if _ffi is not None else None
)

_INSTALL_HINT = (
    "the CURVE security mechanism needs PyNaCl >= 1.5 (libsodium, and its cffi module"
    " nacl._sodium): pip install purezmq[curve]"
)


def _require_nacl() -> Any:
    """Return the nacl bindings module or raise a helpful ImportError."""
    if _nacl is None:
        raise ImportError(_INSTALL_HINT)
    return _nacl


def curve_keypair_raw() -> tuple[bytes, bytes]:
    """A new long-term key pair ``(public, secret)``, 32 raw octets each."""
    public, secret = _require_nacl().crypto_box_keypair()
    return bytes(public), bytes(secret)


def curve_public_raw(secret: bytes) -> bytes:
    """The 32-octet public key of a 32-octet secret key."""
    if len(secret) != 32:
        raise ValueError("a CURVE secret key is 32 octets (40 in Z85)")
    return bytes(_require_nacl().crypto_scalarmult_base(bytes(secret)))


def _seal(m: Buffer, nonce: bytes, k: bytes) -> bytes:
    """crypto_box_easy_afternm: the box of ``m`` under the precomputed key ``k``."""
    out = _ffi.new(_UCHARS, len(m) + 16)
    if _lib.crypto_box_easy_afternm(out, m, len(m), nonce, k):
        raise ProtocolError("CURVE encryption failed")
    return _ffi.buffer(out)[:]


def _unseal(c: bytes, nonce: bytes, k: bytes) -> bytes | None:
    """crypto_box_open_easy_afternm: the plaintext of box ``c``, None if it does not open."""
    if len(c) < 16:
        return None
    out = _ffi.new(_UCHARS, len(c) - 16 or 1)
    if _lib.crypto_box_open_easy_afternm(out, c, len(c), nonce, k):
        return None
    return _ffi.buffer(out, len(c) - 16)[:]


class CurveMechanism(Mechanism):
    """CURVE: CurveZMQ handshake, then every frame in an encrypted MESSAGE."""

    name = b"CURVE"
    announces_role = True
    transforms_traffic = True

    def __init__(
        self,
        *,
        secretkey: bytes,
        publickey: bytes = b"",
        serverkey: bytes = b"",
        zap_domain: str | None = None,
    ) -> None:
        """Create a CURVE mechanism for one connection.

        A server needs ``secretkey`` (its public key is derived from it); a
        client needs ``secretkey``, ``publickey`` and the server's public
        key ``serverkey``. Keys are 32 raw octets.
        """
        super().__init__(zap_domain)
        nacl = _require_nacl()
        for what, key in (("secret", secretkey), ("public", publickey), ("server", serverkey)):
            if key and len(key) != 32:
                raise ValueError(f"CURVE {what} key must be 32 raw octets (got {len(key)})")
        if len(secretkey) != 32:
            raise ValueError("CURVE needs a 32-octet secret key (CURVE_SECRETKEY)")
        self._nacl = nacl
        self._secret = bytes(secretkey)
        self._public = bytes(publickey) or bytes(nacl.crypto_scalarmult_base(self._secret))
        self._server_key = bytes(serverkey)
        self._state = START
        self._nonce = 1  # our next short nonce
        self._peer_nonce = 0  # the last short nonce the peer used
        self._key = b""  # precomputed transient key (beforenm)
        self._tx_prefix = b""
        self._rx_prefix = b""
        self._scratch = _NO_SCRATCH  # where unwrap_many opens boxes, grown on demand
        #: The client's long-term public key, once the server authenticated it.
        self.client_key = b""
        # Transient state.
        self._cn_public = b""
        self._cn_secret = b""
        self._peer_transient = b""
        self._cookie_key = b""

    def __repr__(self) -> str:
        """Role and state only: never a key."""
        role = "server" if self.as_server else "client"
        return f"<CurveMechanism {role} {self._state}>"

    # -- helpers -------------------------------------------------------------

    def _next_nonce(self) -> bytes:
        """Our next short nonce, 8 octets big-endian."""
        n = self._nonce
        if n >= _MAX_NONCE:
            raise ProtocolError("CURVE short nonce exhausted: reconnect")
        self._nonce = n + 1
        return _pack_nonce(n)

    def _check_peer_nonce(self, short: bytes) -> None:
        """The peer's short nonce must strictly increase."""
        (n,) = _unpack_nonce(short)
        if n <= self._peer_nonce:
            raise ProtocolError(
                f"CURVE nonce not increasing ({n} after {self._peer_nonce}): replayed or reordered"
            )
        self._peer_nonce = n

    def _open(self, box: bytes, nonce: bytes, pk: bytes, sk: bytes, what: str) -> bytes:
        """crypto_box_open or ProtocolError naming the box."""
        try:
            return bytes(self._nacl.crypto_box_open(box, nonce, pk, sk))
        except (_CryptoError, ValueError, TypeError):
            raise ProtocolError(
                f"CURVE {what} box did not open (wrong key or tampered)", errors.CRYPTOGRAPHIC
            ) from None

    def _open_k(self, box: bytes, nonce: bytes, what: str) -> bytes:
        """Open a box with the precomputed key or raise ProtocolError."""
        plain = _unseal(box, nonce, self._key)
        if plain is None:
            raise ProtocolError(
                f"CURVE {what} box did not open (wrong key or tampered)", errors.CRYPTOGRAPHIC
            )
        return plain

    # -- handshake ------------------------------------------------------------

    def _on_start(self) -> None:
        """Client: send HELLO. Server: wait for it."""
        if self.as_server:
            self._state = WAIT_HELLO
            return
        if len(self._server_key) != 32:
            raise ValueError("a CURVE client needs the server's public key (CURVE_SERVERKEY)")
        nacl = self._nacl
        self._cn_public, self._cn_secret = (bytes(k) for k in nacl.crypto_box_keypair())
        short = self._next_nonce()
        box = nacl.crypto_box(
            b"\x00" * 64, b"CurveZMQHELLO---" + short, self._server_key, self._cn_secret
        )
        self._send(_HELLO + b"\x01\x00" + b"\x00" * 72 + self._cn_public + short + bytes(box))
        self._state = WAIT_WELCOME

    def _on_command(self, name: bytes, data: bytes) -> None:
        """Dispatch on (state, command)."""
        state = self._state
        if state == WAIT_HELLO and name == HELLO:
            self._on_hello(data)
        elif state == WAIT_WELCOME and name == WELCOME:
            self._on_welcome(data)
        elif state == WAIT_INITIATE and name == INITIATE:
            self._on_initiate(data)
        elif state == WAIT_READY and name == READY:
            self._on_ready(data)
        else:
            raise self._unexpected(name, state)

    def _on_hello(self, data: bytes) -> None:
        """Server: check HELLO, answer WELCOME with a cookie."""
        if len(data) != _HELLO_DATA:
            raise ProtocolError(
                f"malformed CURVE HELLO: {len(data) + 6} octets, expected 200",
                errors.MALFORMED_HELLO,
            )
        if data[0:2] != b"\x01\x00":
            raise ProtocolError(
                f"CURVE HELLO version {data[0]}.{data[1]} is not 1.0", errors.MALFORMED_HELLO
            )
        cn_client = data[74:106]
        short = data[106:114]
        self._check_peer_nonce(short)
        plain = self._open(
            data[114:194], b"CurveZMQHELLO---" + short, cn_client, self._secret, "HELLO"
        )
        if not hmac.compare_digest(plain, b"\x00" * 64):
            raise ProtocolError(
                "CURVE HELLO box does not hold 64 zero octets", errors.CRYPTOGRAPHIC
            )
        nacl = self._nacl
        self._peer_transient = cn_client
        self._cn_public, self._cn_secret = (bytes(k) for k in nacl.crypto_box_keypair())
        self._cookie_key = bytes(nacl.randombytes(32))
        cookie_nonce = bytes(nacl.randombytes(16))
        cookie = cookie_nonce + bytes(
            nacl.crypto_secretbox(
                cn_client + self._cn_secret, b"COOKIE--" + cookie_nonce, self._cookie_key
            )
        )
        welcome_nonce = bytes(nacl.randombytes(16))
        box = nacl.crypto_box(
            self._cn_public + cookie, b"WELCOME-" + welcome_nonce, cn_client, self._secret
        )
        self._send(_WELCOME + welcome_nonce + bytes(box))
        self._state = WAIT_INITIATE

    def _on_welcome(self, data: bytes) -> None:
        """Client: open WELCOME (proves the server holds S's secret), send INITIATE."""
        if len(data) != _WELCOME_DATA:
            raise ProtocolError(
                f"malformed CURVE WELCOME: {len(data) + 8} octets, expected 168",
                errors.MALFORMED_WELCOME,
            )
        plain = self._open(
            data[16:], b"WELCOME-" + data[:16], self._server_key, self._cn_secret, "WELCOME"
        )
        server_transient = plain[:32]
        cookie = plain[32:128]
        nacl = self._nacl
        self._peer_transient = server_transient
        self._key = bytes(nacl.crypto_box_beforenm(server_transient, self._cn_secret))
        vouch_nonce = bytes(nacl.randombytes(16))
        vouch = nacl.crypto_box(
            self._cn_public + self._server_key,
            b"VOUCH---" + vouch_nonce,
            server_transient,
            self._secret,
        )
        short = self._next_nonce()
        box = _seal(
            self._public + vouch_nonce + bytes(vouch) + self._properties,
            b"CurveZMQINITIATE" + short,
            self._key,
        )
        self._send(_INITIATE + cookie + short + bytes(box))
        self._state = WAIT_READY

    def _on_initiate(self, data: bytes) -> None:
        """Server: check cookie, box, vouch and metadata; then ask ZAP."""
        if len(data) < _INITIATE_MIN:
            raise ProtocolError(
                f"malformed CURVE INITIATE: {len(data) + 9} octets, at least 257",
                errors.MALFORMED_INITIATE,
            )
        cookie_nonce = data[:16]
        try:
            cookie = bytes(
                self._nacl.crypto_secretbox_open(
                    data[16:96], b"COOKIE--" + cookie_nonce, self._cookie_key
                )
            )
        except (_CryptoError, ValueError, TypeError):
            raise ProtocolError(
                "CURVE INITIATE cookie did not open (tampered)", errors.CRYPTOGRAPHIC
            ) from None
        if not hmac.compare_digest(cookie, self._peer_transient + self._cn_secret):
            raise ProtocolError(
                "CURVE INITIATE cookie is not this connection's", errors.CRYPTOGRAPHIC
            )
        short = data[96:104]
        self._check_peer_nonce(short)
        self._key = bytes(self._nacl.crypto_box_beforenm(self._peer_transient, self._cn_secret))
        plain = self._open_k(data[104:], b"CurveZMQINITIATE" + short, "INITIATE")
        client_key = plain[:32]
        vouch_nonce = plain[32:48]
        vouch = self._open(
            plain[48:128], b"VOUCH---" + vouch_nonce, client_key, self._cn_secret, "vouch"
        )
        if not hmac.compare_digest(vouch, self._peer_transient + self._public):
            raise ProtocolError(
                "CURVE vouch does not match this connection's keys", errors.CRYPTOGRAPHIC
            )
        # The cookie key has served its purpose: forget it.
        self._cookie_key = b""
        self.client_key = client_key
        self._accept_properties(plain[128:])
        self._state = WAIT_ZAP
        self._request_zap((client_key,))

    def _zap_accepted(self) -> None:
        """ZAP accepted the client (or there is no handler): send READY."""
        short = self._next_nonce()
        box = _seal(self._properties, b"CurveZMQREADY---" + short, self._key)
        self._send(_READY + short + bytes(box))
        self._finish_handshake()

    def _on_ready(self, data: bytes) -> None:
        """Client: open READY, validate the server's metadata."""
        if len(data) < _READY_MIN:
            raise ProtocolError(
                f"malformed CURVE READY: {len(data) + 6} octets, at least 30",
                errors.MALFORMED_READY,
            )
        short = data[:8]
        self._check_peer_nonce(short)
        props = self._open_k(data[8:], b"CurveZMQREADY---" + short, "READY")
        self._accept_properties(props)
        self._finish_handshake()

    def _finish_handshake(self) -> None:
        """Set the MESSAGE nonce prefixes, drop transient secrets we no longer need."""
        if self.as_server:
            self._tx_prefix, self._rx_prefix = b"CurveZMQMESSAGES", b"CurveZMQMESSAGEC"
        else:
            self._tx_prefix, self._rx_prefix = b"CurveZMQMESSAGEC", b"CurveZMQMESSAGES"
        self._cn_secret = b""
        self._state = DONE
        self._complete()

    # -- traffic -------------------------------------------------------------
    # One loop per batch, sealing or opening each frame with one libsodium
    # call: per frame, the Python around the crypto is what CURVE costs us
    # beyond libzmq (callgrind, 1 KiB: ~19k instructions of it per frame
    # sent and ~23k per frame received, against ~13k in libsodium, before
    # these loops).

    def wrap_messages(self, msgs: Iterable[Sequence[Buffer]], out: list[Buffer]) -> None:
        """Every frame of ``msgs`` as a MESSAGE in a ZMTP data frame, appended to ``out``."""
        self._seal_frames(msgs, out, b"\x00", True)

    def wrap(self, flags: int, payload: Buffer) -> bytes:
        """One frame -> a MESSAGE command frame (header included)."""
        out: list[Buffer] = []
        self._seal_frames(
            ((payload,),), out, _FLAG_BYTES[(flags & MORE) | ((flags & COMMAND) >> 1)], True
        )
        return b"".join(out)

    def wrap_body(self, flags: int, payload: Buffer) -> bytes:
        """One frame -> the body of its MESSAGE command (for framings other than ZMTP's)."""
        out: list[Buffer] = []
        self._seal_frames(
            ((payload,),), out, _FLAG_BYTES[(flags & MORE) | ((flags & COMMAND) >> 1)], False
        )
        return b"".join(out)

    def _seal_frames(
        self, msgs: Iterable[Sequence[Buffer]], out: list[Buffer], last: bytes, framed: bool
    ) -> None:
        """Seal every frame of ``msgs``: MORE on all but each message's last, whose
        wire flags are ``last``. All the frames go into one buffer appended to
        ``out``, each as its head (the ZMTP frame header if ``framed``, the name,
        the short nonce) and its box, sealed in place."""
        if type(msgs) is not list:
            msgs = list(msgs)
        if not all(msgs):
            raise ValueError("cannot send a message with no frames")
        count = sum(map(len, msgs))
        n = self._nonce
        if n + count > _MAX_NONCE:
            raise ProtocolError("CURVE short nonce exhausted: reconnect")
        # Room for the longest head (25 octets), the MAC and the flags octet.
        room = count * 42 + sum(map(len, chain.from_iterable(msgs)))
        whole = _new_unzeroed(_UCHARS, room)  # only the part written is sent
        view = _ffi.buffer(whole)
        prefix = self._tx_prefix
        key = self._key
        seal = _lib.crypto_box_easy_afternm
        pos = 0
        for msg in msgs:
            more = len(msg) - 1
            for part in msg:
                plain = (b"\x01" if more else last) + part
                more -= 1
                size = len(plain)
                if pos + size + 41 > room:  # grown since counted: a buffer changed meanwhile
                    raise ValueError("a frame changed size while being sent")
                body = size + 32  # the MESSAGE body: name, nonce, MAC, plaintext
                if not framed:
                    _head_bare(view, pos, _MESSAGE, n)
                    pos += 16
                elif body > 255:
                    _head_long(view, pos, 2, body, _MESSAGE, n)
                    pos += 25
                else:
                    _head_short(view, pos, 0, body, _MESSAGE, n)
                    pos += 18
                if seal(whole + pos, plain, size, _long_nonce(prefix, n), key):
                    raise ProtocolError("CURVE encryption failed")  # libsodium: too long
                pos += size + 16
                n += 1
        self._nonce = n
        if pos:
            out.append(_ffi.buffer(whole, pos))

    def unwrap_many(self, bodies: Sequence[bytes], start: int) -> tuple[list[int], list[bytes]]:
        """Open the MESSAGE bodies from ``bodies[start]`` on, up to and including
        the first that carries a command: their flags (MORE, COMMAND) and payloads.
        ProtocolError on the first that is malformed, replayed or does not open."""
        peer = self._peer_nonce
        prefix = self._rx_prefix
        key = self._key
        unseal = _lib.crypto_box_open_easy_afternm
        frame_flags = _FRAME_FLAGS
        todo = bodies[start:] if start else bodies
        # Each box opens into one scratch buffer, copied out as the payload.
        scratch = self._scratch
        need = max(map(len, todo), default=0) - 32
        if need > len(scratch):
            scratch = _new_unzeroed(_UCHARS, need)
            if need <= _SCRATCH_MAX:
                self._scratch = scratch
        view = _ffi.buffer(scratch)
        flags: list[int] = []
        payloads: list[bytes] = []
        fap = flags.append
        pap = payloads.append
        try:
            for body in todo:
                size = len(body) - 32  # the plaintext: flags octet and payload
                if size < 1:
                    raise _bad_message(body, peer)
                name, n = _name_nonce(body)
                if name != _MESSAGE or n <= peer:
                    raise _bad_message(body, peer)
                if unseal(scratch, body[16:], size + 16, _long_nonce(prefix, n), key):
                    raise ProtocolError(
                        "CURVE MESSAGE box did not open (wrong key or tampered)",
                        errors.CRYPTOGRAPHIC,
                    )
                peer = n
                f = frame_flags[scratch[0]]
                fap(f)
                pap(view[1:size])
                if f & COMMAND:
                    break
        finally:
            self._peer_nonce = peer
        return flags, payloads

    def unwrap(self, body: bytes) -> tuple[int, bytes]:
        """A MESSAGE command body -> ``(flags, payload)``; ProtocolError if bad."""
        flags, payloads = self.unwrap_many((body,), 0)
        return flags[0], payloads[0]


def _bad_message(body: bytes, peer: int) -> ProtocolError:
    """The error for a body that is not a well-formed MESSAGE, or replays a nonce
    (``peer``: the peer's last short nonce)."""
    if body[:8] != _MESSAGE:
        return ProtocolError("expected a CURVE MESSAGE command after the handshake")
    if len(body) < _MESSAGE_MIN:
        return ProtocolError(
            f"malformed CURVE MESSAGE: {len(body)} octets, at least 33", errors.MALFORMED_MESSAGE
        )
    (n,) = _unpack_nonce(body, 8)
    return ProtocolError(f"CURVE nonce not increasing ({n} after {peer}): replayed or reordered")
