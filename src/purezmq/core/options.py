"""Socket and context options: the table (type, default, validation) and per-socket storage.

Rules this module keeps:

- Every option of ``zmq_setsockopt(3)`` / ``zmq_getsockopt(3)`` has one
  :class:`OptionSpec` in :data:`OPTIONS`, keyed by its libzmq number (so the
  deprecated aliases IDENTITY, CONNECT_RID, DELAY_ATTACH_ON_CONNECT,
  FAIL_UNROUTABLE, ROUTER_BEHAVIOR need no entry of their own).
- Types are pyzmq's: ``kind`` is ``"int"`` (C int), ``"int64"``,
  ``"bytes"`` or ``"fd"``.  Ints accept anything with ``__index__`` (bool
  included) and reject str with the TypeError pyzmq raises ("use
  setsockopt_string"); bytes options accept bytes/bytearray/memoryview and
  reject str the same way.  Reads return ``int`` or ``bytes``.
- Validation is libzmq 4.3's, as observed through pyzmq 27 (including its
  quirks: empty strings are rejected for ZAP_DOMAIN, PLAIN_*, SOCKS_PROXY,
  BINDTODEVICE because pyzmq never passes NULL; HEARTBEAT_TTL is rounded down
  to deciseconds).  A bad value raises ``ZMQError(EINVAL, "<NAME> must ...")``.
- Readability and socket-type applicability are libzmq's: options that
  libzmq only accepts in a socket class's ``xsetsockopt`` (ROUTER_MANDATORY,
  XPUB_VERBOSE, REQ_CORRELATE, ...) are write-only and limited to that class
  and its subclasses (REP is a ROUTER, REQ a DEALER, PUB an XPUB).
- Defaults are libzmq 4.3.5's as read back by pyzmq from a fresh socket,
  socket type by socket type (SUB, XSUB and DISH start with LINGER=0).
- Options the store cannot answer or apply are ``dynamic``: TYPE, RCVMORE,
  EVENTS, FD, LAST_ENDPOINT, THREAD_SAFE, TOPICS_COUNT, SUBSCRIBE,
  UNSUBSCRIBE.  The socket handles them before calling :meth:`SocketOptions.get`
  / :meth:`~SocketOptions.set`; ``get`` still answers TYPE, THREAD_SAFE and
  LAST_ENDPOINT (which the socket writes into ``options.last_endpoint``).
- MECHANISM is tracked here, as libzmq does: setting PLAIN_USERNAME/PASSWORD
  selects PLAIN (client), PLAIN_SERVER=1 PLAIN (server), any CURVE key CURVE,
  CURVE_SERVER=1 CURVE (server); PLAIN_SERVER=0 / CURVE_SERVER=0 go back to
  NULL.  PLAIN_SERVER and CURVE_SERVER read back 1 only while that mechanism
  is the server one.
- GSSAPI, VMCI and NORM options are known but ``unsupported``: purezmq has no
  such mechanism/transport, so they raise EINVAL, like a libzmq built without
  them; so do IN_BATCH_SIZE/OUT_BATCH_SIZE, which purezmq's engines cannot
  honour (they size their own reads and writes), and PRIORITY/BUSY_POLL away
  from Linux.  Draft options (``draft=True``) are EINVAL when DRAFT_API is off
  (PUREZMQ_DRAFT=0), as on a libzmq built without drafts.

Hot paths read the values as plain attributes named after the option in
lower case (``options.sndhwm``, ``options.linger``, ``options.routing_id``,
...).  Values are stored normalised: booleans as 0/1, CURVE keys as 32 raw
bytes (``b""`` when unset), TCP_ACCEPT_FILTER as a tuple of
``ipaddress`` networks, IPC_FILTER_* as tuples of ints, METADATA as a dict of
``bytes -> bytes`` (names include the ``X-`` prefix).  ``heartbeat_timeout``
is -1 until set, meaning "use HEARTBEAT_IVL".  ``xpub_verbose`` /
``xpub_verboser`` follow libzmq: XPUB_VERBOSE=v sets verbose subscribe=v and
verbose unsubscribe=0; XPUB_VERBOSER=v sets both to v; XPUB_MANUAL_LAST_VALUE=v
sets ``xpub_manual`` too.

Context options (``zmq_ctx_set(3)``) have their own small table,
:data:`CONTEXT_OPTIONS`, and store, :class:`ContextOptions`.
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from purezmq.constants import (
    DRAFT_API,
    ContextOption,
    SecurityMechanism,
    SocketOption,
    SocketType,
    _OptType,
)
from purezmq.error import ZMQError

__all__ = [
    "OptionSpec",
    "OPTIONS",
    "OPTIONS_BY_NAME",
    "SocketOptions",
    "CONTEXT_OPTIONS",
    "ContextOptions",
    "THREAD_SAFE_TYPES",
    "coerce_value",
]

_EINVAL = 22  # errno.EINVAL on every platform Python runs on

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_S = SocketOption
_T = SocketType

#: Socket types that are thread-safe (``zmq_socket(3)``): THREAD_SAFE reads 1.
THREAD_SAFE_TYPES: frozenset[int] = frozenset(
    {_T.CLIENT, _T.SERVER, _T.DISH, _T.RADIO, _T.SCATTER, _T.GATHER, _T.PEER, _T.CHANNEL}
)

# libzmq socket classes, with their subclasses (REP is a ROUTER, REQ a DEALER,
# PUB an XPUB); socket-specific options are accepted by the class and subclasses.
_ROUTERS = frozenset({_T.ROUTER, _T.REP})
_DEALERS = frozenset({_T.DEALER, _T.REQ})
_XPUBS = frozenset({_T.XPUB, _T.PUB})

_LINGER_ZERO_TYPES = frozenset({_T.SUB, _T.XSUB, _T.DISH})

_NULL = int(SecurityMechanism.NULL)
_PLAIN = int(SecurityMechanism.PLAIN)
_CURVE = int(SecurityMechanism.CURVE)

Check = Callable[[str, Any], Any]


def _einval(msg: str) -> ZMQError:
    return ZMQError(_EINVAL, msg)


def _type_name(socket_type: int) -> str:
    try:
        return SocketType(socket_type).name
    except ValueError:
        return f"type-{socket_type}"


# --- value checks: (option name, type-checked value) -> value to store --------


def _range(lo: int, hi: int = INT_MAX, what: str = "") -> Check:
    """Integer in [lo, hi]."""

    def check(name: str, value: int) -> int:
        if lo <= value <= hi:
            return value
        if what:
            raise _einval(f"{name} must be {what} (got {value})")
        if hi == INT_MAX:
            raise _einval(f"{name} must be >= {lo} (got {value})")
        raise _einval(f"{name} must be between {lo} and {hi} (got {value})")

    return check


def _no_check(name: str, value: Any) -> Any:
    return value


def _bool_strict(name: str, value: int) -> int:
    """libzmq's 'int as bool, strict': 0 or 1 only."""
    if value in (0, 1):
        return value
    raise _einval(f"{name} must be 0 or 1 (got {value})")


def _bool_relaxed(name: str, value: int) -> int:
    """libzmq's 'int as bool, relaxed': any int, nonzero is true."""
    return 1 if value else 0


def _bool_nonneg(name: str, value: int) -> int:
    """Socket-specific flags: any int >= 0, nonzero is true."""
    if value < 0:
        raise _einval(f"{name} must be 0 (off) or a positive number (on) (got {value})")
    return 1 if value else 0


def _blob(lo: int = 0, hi: int | None = None) -> Check:
    """Bytes of length lo..hi."""

    def check(name: str, value: bytes) -> bytes:
        n = len(value)
        if n >= lo and (hi is None or n <= hi):
            return value
        if hi is None:
            raise _einval(f"{name} must be at least {lo} byte{'s' if lo != 1 else ''} long")
        raise _einval(f"{name} must be {lo} to {hi} bytes long (got {n})")

    return check


def _routing_id(name: str, value: bytes) -> bytes:
    """1 to 255 bytes, not starting with a zero byte (those are ROUTER's own ids)."""
    if not 1 <= len(value) <= 255:
        raise _einval(f"{name} must be 1 to 255 bytes long (got {len(value)})")
    if value[0] == 0:
        raise _einval(f"{name} must not start with a zero byte (reserved for ids ROUTER generates)")
    return value


def _connect_routing_id(name: str, value: bytes) -> bytes:
    """At least 1 byte (libzmq sets no maximum: it names the peer locally)."""
    if not value:
        raise _einval(f"{name} must be at least 1 byte long")
    if value[0] == 0:
        raise _einval(f"{name} must not start with a zero byte (reserved for ids ROUTER generates)")
    return value


def _heartbeat_ttl(name: str, value: int) -> int:
    """Milliseconds, rounded toward zero to deciseconds; 0..6553599."""
    ds = -((-value) // 100) if value < 0 else value // 100
    if 0 <= ds <= 0xFFFF:
        return ds * 100
    raise _einval(f"{name} must be between 0 and 6553599 milliseconds (got {value})")


def _need_curve(name: str) -> None:
    """CURVE options fail without PyNaCl, as they do in a libzmq built without CURVE."""
    from purezmq.zmtp.mechanisms.curve import _INSTALL_HINT, HAVE_NACL

    if not HAVE_NACL:
        raise _einval(f"{name}: {_INSTALL_HINT}")


def _curve_server(name: str, value: int) -> int:
    _need_curve(name)
    return _bool_strict(name, value)


def _curve_key(name: str, value: bytes) -> bytes:
    """32 raw bytes, or 40 Z85 characters (optionally NUL-terminated) -> 32 raw bytes."""
    _need_curve(name)
    if len(value) == 32:
        return value
    if len(value) == 41 and value[40] == 0:
        value = value[:40]
    if len(value) == 40:
        from purezmq.utils.z85 import decode  # leaf module, no imports of its own

        try:
            return decode(value)
        except ValueError:
            raise _einval(f"{name} is not a valid Z85-encoded key") from None
    raise _einval(f"{name} must be 32 raw bytes or 40 Z85 characters (got {len(value)} bytes)")


def _metadata(name: str, value: bytes) -> tuple[bytes, bytes]:
    """'X-name:value' -> (b'X-name', b'value')."""
    if value.endswith(b"\x00"):
        value = value[:-1]
    key, sep, val = value.partition(b":")
    if not sep or not key or not val or not key.startswith(b"X-") or len(key) > 255:
        raise _einval(f"{name} must look like b'X-name:value' (name up to 255 bytes)")
    return key, val


def _linux_only(check: Check) -> Check:
    """PRIORITY and BUSY_POLL are Linux socket options (SO_PRIORITY, SO_BUSY_POLL):
    elsewhere purezmq cannot honour them and says so, as libzmq built without them."""

    def linux(name: str, value: Any) -> Any:
        import sys

        if value and not sys.platform.startswith("linux"):
            raise _einval(f"{name} is not supported here: it needs Linux's SO_{name}")
        return check(name, value)

    return linux


# --- the spec ------------------------------------------------------------------


@dataclass(frozen=True)
class OptionSpec:
    """How one option is typed, defaulted, validated and exposed."""

    opt: int
    name: str
    kind: str  # "int" | "int64" | "bytes" | "fd"
    default: object
    readable: bool
    writable: bool
    dynamic: bool = False  # the socket answers / applies it
    draft: bool = False  # a libzmq DRAFT option
    socket_types: frozenset[int] | None = None  # None: every socket type
    unsupported: str = ""  # non-empty: why purezmq rejects it
    check: Check = field(default=_no_check, compare=False, repr=False)

    @property
    def attr(self) -> str:
        """Attribute name on :class:`SocketOptions` (lower-case option name)."""
        return self.name.lower()

    def applies_to(self, socket_type: int) -> bool:
        """Whether sockets of ``socket_type`` know this option."""
        return self.socket_types is None or socket_type in self.socket_types

    def coerce(self, value: object) -> object:
        """Type-check and validate ``value``; return what to store.

        Socket-type applicability and state-dependent checks (TCP_ACCEPT_FILTER
        with IPv6) are :class:`SocketOptions`' job.
        """
        return coerce_value(self, value)

    validate = coerce


def coerce_value(spec: OptionSpec, value: object) -> object:
    """Check ``value``'s type for ``spec`` (TypeError) and its range (ZMQError EINVAL)."""
    if spec.kind == "bytes":
        if isinstance(value, bytes):
            raw = value
        elif isinstance(value, (bytearray, memoryview)):
            raw = bytes(value)
        elif isinstance(value, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        else:
            raise TypeError(f"expected bytes, got: {value!r}")
        return spec.check(spec.name, raw)
    if isinstance(value, str):
        raise TypeError("unicode not allowed, use setsockopt_string")
    try:
        num = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"expected int, got: {value!r}") from None
    lo, hi = (INT64_MIN, INT64_MAX) if spec.kind == "int64" else (INT_MIN, INT_MAX)
    if not lo <= num <= hi:
        size = "64-bit" if spec.kind == "int64" else "32-bit"
        raise _einval(f"{spec.name} must fit in a {size} signed integer (got {num})")
    return spec.check(spec.name, num)


OPTIONS: dict[int, OptionSpec] = {}


def _add(
    opt: SocketOption,
    kind: str,
    default: object,
    check: Check = _no_check,
    *,
    readable: bool = True,
    writable: bool = True,
    dynamic: bool = False,
    draft: bool = False,
    types: frozenset[int] | None = None,
    unsupported: str = "",
) -> None:
    OPTIONS[int(opt)] = OptionSpec(
        int(opt),
        opt.name,
        kind,
        default,
        readable,
        writable,
        dynamic,
        draft,
        types,
        unsupported,
        check,
    )


_ms = _range(-1, what="-1 (infinite) or >= 0 milliseconds")
_NO_GSSAPI = "purezmq has no GSSAPI mechanism"
_NO_VMCI = "purezmq has no vmci:// transport"
_NO_NORM = "purezmq has no norm:// transport"

# pyzmq-only: HWM sets both SNDHWM and RCVHWM; reads answer SNDHWM
_add(_S.HWM, "int", 1000, _range(0))
_add(_S.AFFINITY, "int64", 0)
_add(_S.ROUTING_ID, "bytes", b"", _routing_id)
_add(_S.SUBSCRIBE, "bytes", None, _blob(), readable=False, dynamic=True, types=_XPUBS | {_T.SUB})
_add(_S.UNSUBSCRIBE, "bytes", None, _blob(), readable=False, dynamic=True, types=_XPUBS | {_T.SUB})
_add(_S.RATE, "int", 100, _range(1))
_add(_S.RECOVERY_IVL, "int", 10000, _range(0))
_add(_S.SNDBUF, "int", -1, _range(-1, what="-1 (OS default) or >= 0 bytes"))
_add(_S.RCVBUF, "int", -1, _range(-1, what="-1 (OS default) or >= 0 bytes"))
_add(_S.RCVMORE, "int", 0, readable=True, writable=False, dynamic=True)
_add(_S.FD, "fd", -1, readable=True, writable=False, dynamic=True)
_add(_S.EVENTS, "int", 0, readable=True, writable=False, dynamic=True)
_add(_S.TYPE, "int", None, readable=True, writable=False, dynamic=True)
_add(_S.LINGER, "int", -1, _ms)
_add(_S.RECONNECT_IVL, "int", 100, _range(-1, what="-1 (no reconnect) or >= 0 milliseconds"))
_add(_S.BACKLOG, "int", 100, _range(0))
_add(_S.RECONNECT_IVL_MAX, "int", 0, _range(0))
_add(_S.MAXMSGSIZE, "int64", -1)
_add(_S.SNDHWM, "int", 1000, _range(0, what=">= 0 messages (0: no limit)"))
_add(_S.RCVHWM, "int", 1000, _range(0, what=">= 0 messages (0: no limit)"))
_add(_S.MULTICAST_HOPS, "int", 1, _range(1))
_add(_S.RCVTIMEO, "int", -1, _ms)
_add(_S.SNDTIMEO, "int", -1, _ms)
_add(_S.LAST_ENDPOINT, "bytes", b"", readable=True, writable=False, dynamic=True)
_add(_S.ROUTER_MANDATORY, "int", 0, _bool_nonneg, readable=False, types=_ROUTERS)
_add(_S.TCP_KEEPALIVE, "int", -1, _range(-1, 1, what="-1 (OS default), 0 or 1"))
_add(_S.TCP_KEEPALIVE_CNT, "int", -1, _range(-1, what="-1 (OS default) or >= 0"))
_add(_S.TCP_KEEPALIVE_IDLE, "int", -1, _range(-1, what="-1 (OS default) or >= 0"))
_add(_S.TCP_KEEPALIVE_INTVL, "int", -1, _range(-1, what="-1 (OS default) or >= 0"))
_add(_S.TCP_ACCEPT_FILTER, "bytes", (), readable=False)  # SocketOptions._set_tcp_accept_filter
_add(_S.IMMEDIATE, "int", 0, _bool_strict)
_add(_S.XPUB_VERBOSE, "int", 0, _bool_nonneg, readable=False, types=_XPUBS)
_add(_S.ROUTER_RAW, "int", 0, _bool_nonneg, readable=False, types=_ROUTERS)
_add(_S.IPV4ONLY, "int", 1, _bool_strict)  # the inverse of IPV6
_add(_S.IPV6, "int", 0, _bool_strict)
_add(_S.MECHANISM, "int", int(SecurityMechanism.NULL), writable=False)
_add(_S.PLAIN_SERVER, "int", 0, _bool_strict)
_add(_S.PLAIN_USERNAME, "bytes", b"", _blob(1, 255))
_add(_S.PLAIN_PASSWORD, "bytes", b"", _blob(1, 255))
_add(_S.CURVE_SERVER, "int", 0, _curve_server)
_add(_S.CURVE_PUBLICKEY, "bytes", b"", _curve_key)
_add(_S.CURVE_SECRETKEY, "bytes", b"", _curve_key)
_add(_S.CURVE_SERVERKEY, "bytes", b"", _curve_key)
_add(_S.PROBE_ROUTER, "int", 0, _bool_nonneg, readable=False, types=_ROUTERS | _DEALERS)
_add(_S.REQ_CORRELATE, "int", 0, _bool_nonneg, readable=False, types=frozenset({_T.REQ}))
_add(_S.REQ_RELAXED, "int", 0, _bool_nonneg, readable=False, types=frozenset({_T.REQ}))
_add(_S.CONFLATE, "int", 0, _bool_strict)
_add(_S.ZAP_DOMAIN, "bytes", b"", _blob(1, 255))
_add(_S.ROUTER_HANDOVER, "int", 0, _bool_nonneg, readable=False, types=_ROUTERS)
_add(_S.TOS, "int", 0, _range(0))
_add(_S.IPC_FILTER_PID, "int", (), readable=False)
_add(_S.IPC_FILTER_UID, "int", (), readable=False)
_add(_S.IPC_FILTER_GID, "int", (), readable=False)
_add(
    _S.CONNECT_ROUTING_ID,
    "bytes",
    b"",
    _connect_routing_id,
    readable=False,
    types=_ROUTERS | {_T.STREAM},
)
_add(_S.GSSAPI_SERVER, "int", 0, _bool_strict, unsupported=_NO_GSSAPI)
_add(_S.GSSAPI_PRINCIPAL, "bytes", b"", unsupported=_NO_GSSAPI)
_add(_S.GSSAPI_SERVICE_PRINCIPAL, "bytes", b"", unsupported=_NO_GSSAPI)
_add(_S.GSSAPI_PLAINTEXT, "int", 0, _bool_strict, unsupported=_NO_GSSAPI)
_add(_S.HANDSHAKE_IVL, "int", 30000, _range(0, what=">= 0 milliseconds (0: no limit)"))
_add(_S.SOCKS_PROXY, "bytes", b"", _blob(1))
# RADIO too, as libzmq's radio_t (radio.cpp xsetsockopt: XPUB_NODROP is its only option).
_add(_S.XPUB_NODROP, "int", 0, _bool_nonneg, readable=False, types=_XPUBS | {_T.RADIO})
_add(_S.XPUB_MANUAL, "int", 0, _bool_nonneg, readable=False, types=_XPUBS)
_add(_S.XPUB_WELCOME_MSG, "bytes", b"", _blob(), readable=False, types=_XPUBS)
_add(_S.STREAM_NOTIFY, "int", 1, _bool_strict, readable=False, types=frozenset({_T.STREAM}))
_add(_S.INVERT_MATCHING, "int", 0, _bool_relaxed)
_add(_S.HEARTBEAT_IVL, "int", 0, _range(0, what=">= 0 milliseconds (0: no heartbeats)"))
_add(_S.HEARTBEAT_TTL, "int", 0, _heartbeat_ttl)
_add(_S.HEARTBEAT_TIMEOUT, "int", -1, _range(0, what=">= 0 milliseconds"))
_add(_S.XPUB_VERBOSER, "int", 0, _bool_nonneg, readable=False, types=_XPUBS)
_add(_S.CONNECT_TIMEOUT, "int", 0, _range(0, what=">= 0 milliseconds (0: OS default)"))
_add(_S.TCP_MAXRT, "int", 0, _range(0, what=">= 0 milliseconds (0: OS default)"))
_add(_S.THREAD_SAFE, "int", 0, readable=True, writable=False, dynamic=True)
_add(_S.MULTICAST_MAXTPDU, "int", 1500, _range(1))
_add(_S.VMCI_BUFFER_SIZE, "int64", 65546, unsupported=_NO_VMCI)
_add(_S.VMCI_BUFFER_MIN_SIZE, "int64", 128, unsupported=_NO_VMCI)
_add(_S.VMCI_BUFFER_MAX_SIZE, "int64", 262144, unsupported=_NO_VMCI)
_add(_S.VMCI_CONNECT_TIMEOUT, "int", -1, unsupported=_NO_VMCI)
_add(_S.USE_FD, "int", -1, _range(-1, what="-1 (none) or a file descriptor"))
_add(_S.GSSAPI_PRINCIPAL_NAMETYPE, "int", 0, _range(0, 2), unsupported=_NO_GSSAPI)
_add(_S.GSSAPI_SERVICE_PRINCIPAL_NAMETYPE, "int", 0, _range(0, 2), unsupported=_NO_GSSAPI)
_add(_S.BINDTODEVICE, "bytes", b"", _blob(1, 16))
_add(_S.ZAP_ENFORCE_DOMAIN, "int", 0, _bool_relaxed)
_add(_S.LOOPBACK_FASTPATH, "int", 0, _bool_relaxed)
# Not refused with drafts off: libzmq 4.3.5 without drafts (pyzmq's wheels) takes it.
_add(_S.METADATA, "bytes", None, _metadata, readable=False)
_add(_S.MULTICAST_LOOP, "int", 1, _bool_relaxed)
_add(_S.ROUTER_NOTIFY, "int", 0, _range(0, 3, what="0 or a NOTIFY_* bit mask"), draft=True)
_add(_S.XPUB_MANUAL_LAST_VALUE, "int", 0, _bool_nonneg, readable=False, types=_XPUBS)
_add(_S.SOCKS_USERNAME, "bytes", b"", _blob(0, 255))
_add(_S.SOCKS_PASSWORD, "bytes", b"", _blob(0, 255))
_NO_BATCH = (
    "purezmq cannot honour it: its engines size their reads (64-256 KiB, adaptive) and "
    "writes (up to 2048 queued messages in one sendmsg) themselves"
)
_add(_S.IN_BATCH_SIZE, "int", 8192, _range(1), draft=True, unsupported=_NO_BATCH)
_add(_S.OUT_BATCH_SIZE, "int", 8192, _range(1), draft=True, unsupported=_NO_BATCH)
_add(_S.WSS_KEY_PEM, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.WSS_CERT_PEM, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.WSS_TRUST_PEM, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.WSS_HOSTNAME, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.WSS_TRUST_SYSTEM, "int", 0, _bool_relaxed, readable=False, draft=True)
_add(
    _S.ONLY_FIRST_SUBSCRIBE,
    "int",
    0,
    _bool_nonneg,
    readable=False,
    types=_XPUBS | {_T.XSUB},
)
_add(_S.RECONNECT_STOP, "int", 0)
_add(_S.HELLO_MSG, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.DISCONNECT_MSG, "bytes", b"", _blob(), readable=False, draft=True)
_add(_S.PRIORITY, "int", 0, _linux_only(_range(0)), draft=True)
_add(_S.BUSY_POLL, "int", 0, _linux_only(_bool_relaxed), readable=False, draft=True)
_add(_S.HICCUP_MSG, "bytes", b"", _blob(), readable=False, draft=True)
_add(
    _S.XSUB_VERBOSE_UNSUBSCRIBE,
    "int",
    0,
    _bool_nonneg,
    readable=False,
    draft=True,
    types=frozenset({_T.XSUB}),
)
_add(
    _S.TOPICS_COUNT,
    "int",
    0,
    writable=False,
    dynamic=True,
    types=_XPUBS | {_T.SUB, _T.XSUB},
)
_add(_S.NORM_MODE, "int", 1, _range(0, 4), unsupported=_NO_NORM)
_add(_S.NORM_UNICAST_NACK, "int", 0, _bool_strict, unsupported=_NO_NORM)
_add(_S.NORM_BUFFER_SIZE, "int", 2048, _range(1), unsupported=_NO_NORM)
_add(_S.NORM_SEGMENT_SIZE, "int", 1400, _range(1), unsupported=_NO_NORM)
_add(_S.NORM_BLOCK_SIZE, "int", 16, _range(1, 255), unsupported=_NO_NORM)
_add(_S.NORM_NUM_PARITY, "int", 4, _range(0, 254), unsupported=_NO_NORM)
_add(_S.NORM_NUM_AUTOPARITY, "int", 0, _range(0, 254), unsupported=_NO_NORM)
_add(_S.NORM_PUSH, "int", 0, _bool_strict, unsupported=_NO_NORM)

#: Specs by option name, aliases included (``OPTIONS_BY_NAME["IDENTITY"]``).
for _spec in OPTIONS.values():
    SocketOption(_spec.opt)._opt_type = _OptType(_spec.kind)  # type: ignore[attr-defined]
del _spec

OPTIONS_BY_NAME: dict[str, OptionSpec] = {
    name: OPTIONS[int(member)]
    for name, member in SocketOption.__members__.items()
    if int(member) in OPTIONS
}

# Options whose value is kept in the instance dict under spec.attr, with their
# initial values.  Computed (properties), dynamic and unsupported ones are absent.
_COMPUTED = frozenset(
    {
        _S.HWM,
        _S.IPV4ONLY,
        _S.PLAIN_SERVER,
        _S.CURVE_SERVER,
        _S.TYPE,
        _S.THREAD_SAFE,
        _S.METADATA,
    }
)
_INITIAL: dict[str, object] = {
    spec.attr: spec.default
    for spec in OPTIONS.values()
    if not spec.dynamic and not spec.unsupported and spec.opt not in _COMPUTED
}
_INITIAL["last_endpoint"] = b""
_INITIAL["as_server"] = 0


_STORED = (*dict.fromkeys([*_INITIAL, "socket_type", "metadata"]),)


class SocketOptions:
    """Option values of one socket.

    ``get``/``set`` are the checked ``getsockopt``/``setsockopt`` path; hot paths
    read attributes (``self.options.sndhwm``).  ``defaults`` (the Context's
    default socket options) are applied through :meth:`set`, skipping those that
    do not apply to this socket type, as pyzmq's ``Context.socket`` does; dynamic
    ones (SUBSCRIBE...) are left for the socket to apply.
    """

    # Every stored option is a slot: hot paths read them per message (a
    # SUB's invert_matching, ...), and a ~80-key instance dict is too big to
    # share keys, so each read was a full dict lookup. ``__dict__`` stays for
    # anything else a caller hangs on the object.
    __slots__ = (*_STORED, "__dict__")

    # -- per-option attributes --
    socket_type: int
    as_server: int
    last_endpoint: bytes
    affinity: int
    routing_id: bytes
    rate: int
    recovery_ivl: int
    sndbuf: int
    rcvbuf: int
    linger: int
    reconnect_ivl: int
    backlog: int
    reconnect_ivl_max: int
    maxmsgsize: int
    sndhwm: int
    rcvhwm: int
    multicast_hops: int
    rcvtimeo: int
    sndtimeo: int
    router_mandatory: int
    tcp_keepalive: int
    tcp_keepalive_cnt: int
    tcp_keepalive_idle: int
    tcp_keepalive_intvl: int
    tcp_accept_filter: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    immediate: int
    xpub_verbose: int
    router_raw: int
    ipv6: int
    mechanism: int
    plain_username: bytes
    plain_password: bytes
    curve_publickey: bytes
    curve_secretkey: bytes
    curve_serverkey: bytes
    probe_router: int
    req_correlate: int
    req_relaxed: int
    conflate: int
    zap_domain: bytes
    router_handover: int
    tos: int
    ipc_filter_pid: tuple[int, ...]
    ipc_filter_uid: tuple[int, ...]
    ipc_filter_gid: tuple[int, ...]
    connect_routing_id: bytes
    handshake_ivl: int
    socks_proxy: bytes
    xpub_nodrop: int
    xpub_manual: int
    xpub_welcome_msg: bytes
    stream_notify: int
    invert_matching: int
    heartbeat_ivl: int
    heartbeat_ttl: int
    heartbeat_timeout: int
    xpub_verboser: int
    connect_timeout: int
    tcp_maxrt: int
    multicast_maxtpdu: int
    use_fd: int
    bindtodevice: bytes
    zap_enforce_domain: int
    loopback_fastpath: int
    metadata: dict[bytes, bytes]
    multicast_loop: int
    router_notify: int
    xpub_manual_last_value: int
    socks_username: bytes
    socks_password: bytes
    wss_key_pem: bytes
    wss_cert_pem: bytes
    wss_trust_pem: bytes
    wss_hostname: bytes
    wss_trust_system: int
    only_first_subscribe: int
    reconnect_stop: int
    hello_msg: bytes
    disconnect_msg: bytes
    priority: int
    busy_poll: int
    hiccup_msg: bytes
    xsub_verbose_unsubscribe: int

    def __init__(self, socket_type: int, defaults: Mapping[int, object] | None = None) -> None:
        for name, value in _INITIAL.items():
            setattr(self, name, value)
        self.socket_type = int(socket_type)
        self.metadata = {}
        if socket_type in _LINGER_ZERO_TYPES:
            self.linger = 0
        if defaults:
            for opt, value in defaults.items():
                spec = OPTIONS.get(int(opt))
                if spec is not None and spec.dynamic:
                    continue
                try:
                    self.set(opt, value)
                except ZMQError:
                    pass  # not for this socket type

    def __repr__(self) -> str:
        return f"<SocketOptions {_type_name(self.socket_type)}>"

    # -- computed options and aliases --

    @property
    def type(self) -> int:
        """TYPE: the socket type."""
        return self.socket_type

    @property
    def thread_safe(self) -> int:
        """THREAD_SAFE: 1 for the thread-safe (draft) socket types."""
        return 1 if self.socket_type in THREAD_SAFE_TYPES else 0

    @property
    def hwm(self) -> int:
        """HWM (pyzmq): reads SNDHWM; setting it sets SNDHWM and RCVHWM."""
        return self.sndhwm

    @property
    def ipv4only(self) -> int:
        """IPV4ONLY (deprecated): the inverse of IPV6."""
        return 0 if self.ipv6 else 1

    @property
    def plain_server(self) -> int:
        """PLAIN_SERVER: 1 while this socket is a PLAIN server."""
        return 1 if self.as_server and self.mechanism == _PLAIN else 0

    @property
    def curve_server(self) -> int:
        """CURVE_SERVER: 1 while this socket is a CURVE server."""
        return 1 if self.as_server and self.mechanism == _CURVE else 0

    @property
    def identity(self) -> bytes:
        """IDENTITY: deprecated alias of ROUTING_ID."""
        return self.routing_id

    @property
    def connect_rid(self) -> bytes:
        """CONNECT_RID: deprecated alias of CONNECT_ROUTING_ID."""
        return self.connect_routing_id

    @property
    def delay_attach_on_connect(self) -> int:
        """DELAY_ATTACH_ON_CONNECT: deprecated alias of IMMEDIATE."""
        return self.immediate

    @property
    def fail_unroutable(self) -> int:
        """FAIL_UNROUTABLE: deprecated alias of ROUTER_MANDATORY."""
        return self.router_mandatory

    router_behavior = fail_unroutable

    # -- checked access --

    def _spec(self, opt: int) -> OptionSpec:
        try:
            spec = OPTIONS[int(opt)]
        except (KeyError, TypeError, ValueError):
            raise _einval(f"unknown socket option {opt!r}") from None
        if spec.unsupported:
            raise _einval(f"{spec.name} is not supported ({spec.unsupported})")
        if spec.draft and not DRAFT_API:
            raise _einval(f"{spec.name} is a draft option, and drafts are off (PUREZMQ_DRAFT=0)")
        if spec.socket_types is not None and self.socket_type not in spec.socket_types:
            raise _einval(f"{spec.name} is not valid on a {_type_name(self.socket_type)} socket")
        return spec

    def spec(self, opt: int) -> OptionSpec:
        """The spec of ``opt`` if this socket knows it, else ZMQError(EINVAL)."""
        return self._spec(opt)

    def validate(self, opt: int, value: object) -> object:
        """Check ``value`` for ``opt`` on this socket; return the value to store.

        Raises ZMQError(EINVAL) for unknown, read-only, inapplicable options and
        bad values, TypeError for a value of the wrong type.  Does not store:
        the socket uses it for the dynamic options it applies itself.
        """
        spec = self._spec(opt)
        if not spec.writable:
            raise _einval(f"{spec.name} is read-only")
        return coerce_value(spec, value)

    def set(self, opt: int, value: object) -> None:
        """setsockopt: validate and store ``value``."""
        spec = self._spec(opt)
        if not spec.writable:
            raise _einval(f"{spec.name} is read-only")
        value = coerce_value(spec, value)
        if spec.dynamic:
            if spec.opt in (_S.SUBSCRIBE, _S.UNSUBSCRIBE) and self.socket_type in _XPUBS:
                raise _einval(
                    f"{spec.name} on a {_type_name(self.socket_type)} socket needs XPUB_MANUAL=1"
                )
            raise _einval(f"{spec.name} is applied by the socket, not the option store")
        setter = _SETTERS.get(spec.opt)
        if setter is not None:
            setter(self, value)
        else:
            setattr(self, spec.attr, value)

    def get(self, opt: int) -> object:
        """getsockopt: the current value (int or bytes)."""
        spec = self._spec(opt)
        if not spec.readable:
            raise _einval(f"{spec.name} is write-only")
        if spec.dynamic and spec.opt not in (_S.TYPE, _S.THREAD_SAFE, _S.LAST_ENDPOINT):
            raise _einval(f"{spec.name} is answered by the socket, not the option store")
        value: object = getattr(self, spec.attr)
        return value

    def snapshot(self) -> dict[str, object]:
        """All stored values by attribute name (for debugging and copies)."""
        out = {name: getattr(self, name) for name in _STORED if hasattr(self, name)}
        out.update(self.__dict__)
        out["metadata"] = dict(self.metadata)
        return out

    # -- setters with side effects --

    def _set_hwm(self, value: int) -> None:
        self.sndhwm = value
        self.rcvhwm = value

    def _set_ipv4only(self, value: int) -> None:
        self.ipv6 = 0 if value else 1

    def _set_plain_server(self, value: int) -> None:
        self.as_server = value
        self.mechanism = _PLAIN if value else _NULL

    def _set_plain_username(self, value: bytes) -> None:
        self.plain_username = value
        self.as_server = 0
        self.mechanism = _PLAIN

    def _set_plain_password(self, value: bytes) -> None:
        self.plain_password = value
        self.as_server = 0
        self.mechanism = _PLAIN

    def _set_curve_server(self, value: int) -> None:
        self.as_server = value
        self.mechanism = _CURVE if value else _NULL

    def _set_curve_publickey(self, value: bytes) -> None:
        self.curve_publickey = value
        self.mechanism = _CURVE

    def _set_curve_secretkey(self, value: bytes) -> None:
        self.curve_secretkey = value
        self.mechanism = _CURVE

    def _set_curve_serverkey(self, value: bytes) -> None:
        self.curve_serverkey = value
        self.as_server = 0
        self.mechanism = _CURVE

    def _set_xpub_verbose(self, value: int) -> None:
        self.xpub_verbose = value
        self.xpub_verboser = 0

    def _set_xpub_verboser(self, value: int) -> None:
        self.xpub_verbose = value
        self.xpub_verboser = value

    def _set_xpub_manual_last_value(self, value: int) -> None:
        self.xpub_manual = value
        self.xpub_manual_last_value = value

    def _set_tcp_accept_filter(self, value: bytes) -> None:
        text = value[:-1] if value.endswith(b"\x00") else value
        bad = _einval(
            "TCP_ACCEPT_FILTER must be a numeric IP address with an optional /mask, "
            f"like b'10.0.0.0/8' (IPv6 needs IPV6=1), got {value!r}"
        )
        try:
            addr_s, slash, mask_s = text.decode("ascii").partition("/")
            addr = ipaddress.ip_address(addr_s)
        except (UnicodeDecodeError, ValueError):
            raise bad from None
        if addr.version == 6 and not self.ipv6:
            raise bad
        if slash:
            if not mask_s.isdigit() or int(mask_s) > addr.max_prefixlen:
                raise bad
            prefix = int(mask_s)
        else:
            prefix = addr.max_prefixlen
        net = ipaddress.ip_network(f"{addr}/{prefix}", strict=False)
        self.tcp_accept_filter = (*self.tcp_accept_filter, net)

    def _set_ipc_filter_pid(self, value: int) -> None:
        self.ipc_filter_pid = (*self.ipc_filter_pid, value)

    def _set_ipc_filter_uid(self, value: int) -> None:
        self.ipc_filter_uid = (*self.ipc_filter_uid, value)

    def _set_ipc_filter_gid(self, value: int) -> None:
        self.ipc_filter_gid = (*self.ipc_filter_gid, value)

    def _set_metadata(self, value: tuple[bytes, bytes]) -> None:
        key, val = value
        self.metadata[key] = val


_SETTERS: dict[int, Callable[[SocketOptions, Any], None]] = {
    _S.HWM: SocketOptions._set_hwm,
    _S.IPV4ONLY: SocketOptions._set_ipv4only,
    _S.PLAIN_SERVER: SocketOptions._set_plain_server,
    _S.PLAIN_USERNAME: SocketOptions._set_plain_username,
    _S.PLAIN_PASSWORD: SocketOptions._set_plain_password,
    _S.CURVE_SERVER: SocketOptions._set_curve_server,
    _S.CURVE_PUBLICKEY: SocketOptions._set_curve_publickey,
    _S.CURVE_SECRETKEY: SocketOptions._set_curve_secretkey,
    _S.CURVE_SERVERKEY: SocketOptions._set_curve_serverkey,
    _S.XPUB_VERBOSE: SocketOptions._set_xpub_verbose,
    _S.XPUB_VERBOSER: SocketOptions._set_xpub_verboser,
    _S.XPUB_MANUAL_LAST_VALUE: SocketOptions._set_xpub_manual_last_value,
    _S.TCP_ACCEPT_FILTER: SocketOptions._set_tcp_accept_filter,
    _S.IPC_FILTER_PID: SocketOptions._set_ipc_filter_pid,
    _S.IPC_FILTER_UID: SocketOptions._set_ipc_filter_uid,
    _S.IPC_FILTER_GID: SocketOptions._set_ipc_filter_gid,
    _S.METADATA: SocketOptions._set_metadata,
}


# --- context options -------------------------------------------------------------

_C = ContextOption

#: Context option table.  Number 3 is both SOCKET_LIMIT (read) and
#: THREAD_PRIORITY (write), as in libzmq; its spec is named SOCKET_LIMIT.
CONTEXT_OPTIONS: dict[int, OptionSpec] = {}


def _add_ctx(
    opt: int,
    name: str,
    default: object,
    check: Check = _no_check,
    *,
    readable: bool = True,
    writable: bool = True,
) -> None:
    CONTEXT_OPTIONS[opt] = OptionSpec(opt, name, "int", default, readable, writable, check=check)


_add_ctx(_C.IO_THREADS, "IO_THREADS", 1, _range(0))
_add_ctx(_C.MAX_SOCKETS, "MAX_SOCKETS", 1023, _range(1))
_add_ctx(_C.SOCKET_LIMIT, "SOCKET_LIMIT", 65535, _range(0))  # write: THREAD_PRIORITY
_add_ctx(_C.THREAD_SCHED_POLICY, "THREAD_SCHED_POLICY", -1, _range(0))
_add_ctx(_C.MAX_MSGSZ, "MAX_MSGSZ", INT_MAX, _range(0))
_add_ctx(_C.MSG_T_SIZE, "MSG_T_SIZE", 64, writable=False)
_add_ctx(_C.THREAD_AFFINITY_CPU_ADD, "THREAD_AFFINITY_CPU_ADD", None, _range(0), readable=False)
_add_ctx(
    _C.THREAD_AFFINITY_CPU_REMOVE, "THREAD_AFFINITY_CPU_REMOVE", None, _range(0), readable=False
)
_add_ctx(_C.THREAD_NAME_PREFIX, "THREAD_NAME_PREFIX", 0)
_add_ctx(_S.IPV6, "IPV6", 0, _bool_nonneg)
_add_ctx(_S.BLOCKY, "BLOCKY", 1, _bool_nonneg)


class ContextOptions:
    """Option values of one Context (``zmq_ctx_set`` / ``zmq_ctx_get``)."""

    io_threads: int
    max_sockets: int
    socket_limit: int
    thread_priority: int
    thread_sched_policy: int
    max_msgsz: int
    msg_t_size: int
    thread_affinity_cpus: set[int]
    thread_name_prefix: int
    ipv6: int
    blocky: int

    def __init__(self) -> None:
        self.io_threads = 1
        self.max_sockets = 1023
        self.socket_limit = 65535
        self.thread_priority = -1
        self.thread_sched_policy = -1
        self.max_msgsz = INT_MAX
        self.msg_t_size = 64
        self.thread_affinity_cpus = set()
        self.thread_name_prefix = 0
        self.ipv6 = 0
        self.blocky = 1

    def _spec(self, opt: int) -> OptionSpec:
        try:
            return CONTEXT_OPTIONS[int(opt)]
        except (KeyError, TypeError, ValueError):
            raise _einval(f"unknown context option {opt!r}") from None

    def set(self, opt: int, value: object) -> None:
        """zmq_ctx_set: validate and store."""
        spec = self._spec(opt)
        if not spec.writable:
            raise _einval(f"{spec.name} is read-only")
        num = coerce_value(spec, value)
        assert isinstance(num, int)
        if spec.opt == _C.SOCKET_LIMIT:
            self.thread_priority = num  # 3 is THREAD_PRIORITY when set
        elif spec.opt == _C.THREAD_AFFINITY_CPU_ADD:
            self.thread_affinity_cpus.add(num)
        elif spec.opt == _C.THREAD_AFFINITY_CPU_REMOVE:
            if num not in self.thread_affinity_cpus:
                raise _einval(f"THREAD_AFFINITY_CPU_REMOVE: CPU {num} was not added")
            self.thread_affinity_cpus.discard(num)
        else:
            setattr(self, spec.name.lower(), num)

    def get(self, opt: int) -> int:
        """zmq_ctx_get: the current value."""
        spec = self._spec(opt)
        if not spec.readable:
            raise _einval(f"{spec.name} is write-only")
        value: int = getattr(self, spec.name.lower())
        return value

    def socket_defaults(self) -> dict[int, object]:
        """Socket options a new socket inherits from this context (IPV6, BLOCKY's LINGER)."""
        out: dict[int, object] = {int(_S.IPV6): self.ipv6}
        if not self.blocky:
            out[int(_S.LINGER)] = 0
        return out
