"""Endpoint parsing and creation of configured non-blocking OS sockets (tcp, ipc, ws).

Rules this module keeps:

- No event loop, no threads: plain functions the engine layer calls from its
  asyncio loop (or, for name resolution, from an executor).
- Every failure is an :class:`EndpointError` carrying the errno libzmq uses
  for the same case (EINVAL, EPROTONOSUPPORT, ENODEV, EADDRINUSE, ...) and a
  message naming the endpoint and what is wrong with it.
- Sockets returned are non-blocking and configured the way libzmq configures
  them (SO_REUSEADDR on listeners, IPv4-mapped IPv6, TCP_NODELAY, keepalive).

Theory of operation:

``parse_endpoint`` is pure syntax (no system calls). ``bind_socket`` resolves
the local address (``*``, a numeric IP, ``localhost``, or an interface name;
never DNS, as libzmq), binds, listens and returns the socket with the
endpoint string libzmq would report as ``LAST_ENDPOINT``. ``connect_socket``
resolves the peer (possibly DNS: it can block, see ``needs_resolution`` and
``resolve_connect_address``) and starts a non-blocking connect; the caller
waits for writability and reads :func:`connect_error`.

``ws://host:port[/path]`` and ``wss://...`` are tcp underneath: their host
and port follow tcp's rules exactly (``ws_tcp_endpoint`` gives the tcp
endpoint), the path defaults to ``/`` and is the request target of the HTTP
upgrade (transport/ws.py). libzmq 4.3.5 accepts a path of one segment only
(it splits at the last ``/``); any path of visible ASCII is accepted here.
``LAST_ENDPOINT`` keeps the path, as libzmq's: ``ws://127.0.0.1:5555/``.

The ZMQ_IPV6 option shapes tcp addresses exactly as in libzmq: with it off,
only IPv4 is used (an IPv6 literal fails with ENODEV on bind); with it on,
listeners are AF_INET6 with IPV6_V6ONLY off, ``*`` is ``[::]``, and IPv4
addresses are bound as IPv4-mapped IPv6 (``tcp://[::ffff:127.0.0.1]:N``).
"""

from __future__ import annotations

import errno as _errno
import ipaddress
import os
import socket
import stat
import struct
import sys
import tempfile
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from purezmq.constants import DRAFT_API

__all__ = [
    "SUPPORTED_TRANSPORTS",
    "KNOWN_TRANSPORTS",
    "IPC_PATH_MAX_LEN",
    "EndpointError",
    "Endpoint",
    "parse_endpoint",
    "bind_socket",
    "close_listener",
    "needs_resolution",
    "resolve_connect_address",
    "connect_socket",
    "start_connect",
    "connect_error",
    "configure_accepted",
    "set_keepalive",
    "peer_address",
    "format_tcp_endpoint",
    "format_ipc_endpoint",
    "sockname_endpoint",
    "ws_tcp_endpoint",
]

#: Transports this module (tcp, ipc; ws and wss over tcp), transport/inproc.py and
#: transport/udp.py implement.
SUPPORTED_TRANSPORTS: frozenset[str] = frozenset({"tcp", "ipc", "inproc", "udp", "ws", "wss"})
#: The WebSocket transports (transport/ws.py): tcp underneath.
WS_TRANSPORTS: frozenset[str] = frozenset({"ws", "wss"})
#: Transports libzmq knows; all but the supported ones give EPROTONOSUPPORT.
KNOWN_TRANSPORTS: frozenset[str] = frozenset(
    {"tcp", "ipc", "inproc", "pgm", "epgm", "norm", "udp", "vmci", "tipc", "vsock", "ws", "wss"}
)
#: Longest ipc path in bytes (sizeof(sockaddr_un.sun_path) - 1 on Linux).
IPC_PATH_MAX_LEN: int = 107 if sys.platform.startswith("linux") else 103

_LINUX = sys.platform.startswith("linux")
_WINDOWS = sys.platform == "win32"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:%_")
# connect() on a non-blocking socket: these mean "in progress", not failure.
_IN_PROGRESS = frozenset(
    e
    for e in (
        _errno.EINPROGRESS,
        _errno.EWOULDBLOCK,
        _errno.EALREADY,
        getattr(_errno, "WSAEWOULDBLOCK", None),
        getattr(_errno, "WSAEINPROGRESS", None),
    )
    if e is not None
)


class EndpointError(OSError):
    """An endpoint could not be parsed, bound or connected; ``.errno`` is libzmq's."""

    errno: int

    def __init__(self, errno: int, message: str, fd: int = -1) -> None:
        super().__init__(errno, message)
        self.message = message
        self.fd = fd  # a connect that failed at once: the socket it closed (EVENT_CLOSED)

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Endpoint:
    """A parsed endpoint; ``str(ep)`` gives back ``transport://address``.

    tcp: ``host`` is the IP / interface / host name without brackets, ``"*"``
    for all interfaces; ``port`` is 0 for ``*`` or ``0`` (OS-chosen);
    ``source_host``/``source_port`` hold the ``tcp://src;host:port`` source
    (``source_host == ""`` when absent). ipc: ``path`` is the filesystem path,
    the abstract name without ``@`` (``abstract=True``), or ``"*"``.
    inproc: the name is ``address``. ws/wss: ``host``/``port`` as tcp,
    ``path`` the URL path (``/`` when absent).
    """

    transport: str
    address: str
    host: str = ""
    port: int = 0
    source_host: str = ""
    source_port: int = 0
    path: str = ""
    abstract: bool = False

    def __str__(self) -> str:
        return f"{self.transport}://{self.address}"

    @property
    def name(self) -> str:
        """The inproc name (the whole address)."""
        return self.address

    @property
    def is_wildcard(self) -> bool:
        """True if binding picks something: tcp host ``*`` or port ``*``/0, ``ipc://*``."""
        if self.transport == "tcp" or self.transport in WS_TRANSPORTS:
            return self.host == "*" or self.port == 0
        if self.transport == "ipc":
            return self.path == "*" and not self.abstract
        return False


def _err(code: int, message: str) -> EndpointError:
    return EndpointError(code, message)


# --------------------------------------------------------------------------- parsing


def parse_endpoint(text: str, *, connect: bool | None = None) -> Endpoint:
    """Parse ``transport://address``; raise EndpointError with libzmq's errno.

    ``connect=None`` checks syntax only; ``connect=True`` also applies
    zmq_connect's rules (no ``*`` host or port, no ``ipc://*``) and
    ``connect=False`` zmq_bind's (an empty host is ENODEV). A tcp
    ``src:port;`` source part needs its port; bind ignores it, as libzmq.
    """
    if not isinstance(text, str):
        raise _err(_errno.EINVAL, f"endpoint must be a str, not {type(text).__name__}")
    transport, sep, address = text.partition("://")
    if not sep:
        raise _err(_errno.EINVAL, f"missing '://' in endpoint {text!r}")
    if not transport:
        raise _err(_errno.EINVAL, f"missing transport before '://' in endpoint {text!r}")
    if not address:
        raise _err(_errno.EINVAL, f"missing address after '{transport}://' in endpoint {text!r}")
    if transport not in SUPPORTED_TRANSPORTS:
        what = "is not supported" if transport in KNOWN_TRANSPORTS else "is unknown"
        raise _err(
            _errno.EPROTONOSUPPORT,
            f"transport {transport!r} {what} in endpoint {text!r} "
            f"(supported: {', '.join(sorted(SUPPORTED_TRANSPORTS))})",
        )
    if transport in WS_TRANSPORTS and not DRAFT_API:
        raise _err(
            _errno.EPROTONOSUPPORT,
            f"{transport}:// is a draft transport, and drafts are off (PUREZMQ_DRAFT=0)",
        )
    if "\0" in address:
        raise _err(_errno.EINVAL, f"NUL character in endpoint {text!r}")
    if transport == "tcp":
        ep = _parse_tcp(text, address)
    elif transport == "ipc":
        ep = _parse_ipc(text, address)
    elif transport == "udp":
        ep = _parse_udp(text, address)
    elif transport in WS_TRANSPORTS:
        ep = _parse_ws(text, transport, address)
    else:
        ep = Endpoint("inproc", address)
    if connect is True:
        _check_connect(ep)
    elif connect is False:
        _check_bind(ep)
    return ep


def _split_host_port(part: str, text: str) -> tuple[str, str]:
    """Split ``host:port`` / ``[v6]:port``; brackets are removed from the host."""
    if part.startswith("["):
        close = part.find("]")
        if close < 0:
            raise _err(_errno.EINVAL, f"unterminated '[' in endpoint {text!r}")
        host, rest = part[1:close], part[close + 1 :]
        if not rest.startswith(":"):
            raise _err(_errno.EINVAL, f"missing ':port' after ']' in endpoint {text!r}")
        if not host:
            raise _err(_errno.EINVAL, f"empty address in '[]' in endpoint {text!r}")
        return host, rest[1:]
    host, sep, port = part.rpartition(":")
    if not sep:
        raise _err(_errno.EINVAL, f"missing ':port' in endpoint {text!r}")
    return host, port


def _parse_port(port: str, text: str) -> int:
    """``*`` and ``0`` mean OS-chosen (0); otherwise decimal digits up to 65535."""
    if port == "*":
        return 0
    if not port:
        raise _err(_errno.EINVAL, f"missing port after ':' in endpoint {text!r}")
    if not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise _err(_errno.EINVAL, f"invalid port {port!r} in endpoint {text!r}")
    return int(port)


def _parse_tcp(text: str, address: str) -> Endpoint:
    source_host, source_port = "", 0
    dest = address
    if ";" in address:
        source, _, dest = address.partition(";")
        if ";" in dest:
            raise _err(_errno.EINVAL, f"more than one ';' in endpoint {text!r}")
        if not source:
            raise _err(_errno.EINVAL, f"empty source address before ';' in endpoint {text!r}")
        if not dest:
            raise _err(_errno.EINVAL, f"missing address after ';' in endpoint {text!r}")
        source_host, sport = _split_host_port(source, text)
        source_port = _parse_port(sport, text)
        if not source_host:
            raise _err(_errno.EINVAL, f"empty source host in endpoint {text!r}")
    host, port_text = _split_host_port(dest, text)
    port = _parse_port(port_text, text)
    return Endpoint(
        "tcp", address, host=host, port=port, source_host=source_host, source_port=source_port
    )


def _parse_udp(text: str, address: str) -> Endpoint:
    """udp (transport/udp.py): ``[iface;]host:port``; ``source_host`` is the interface."""
    iface, sep, dest = address.rpartition(";")
    if sep and not iface:
        raise _err(_errno.EINVAL, f"empty interface before ';' in endpoint {text!r}")
    host, port_text = _split_host_port(dest, text)
    if not host:
        raise _err(_errno.EINVAL, f"missing host in endpoint {text!r}")
    return Endpoint("udp", address, host=host, port=_parse_port(port_text, text), source_host=iface)


def _parse_ws(text: str, transport: str, address: str) -> Endpoint:
    """ws/wss: ``host:port`` as tcp (no ``src;`` part), then an optional ``/path``."""
    hostport, slash, rest = address.partition("/")
    path = "/" + rest if slash else "/"
    bad = next((c for c in path if not "!" <= c <= "~"), None)
    if bad is not None:
        raise _err(_errno.EINVAL, f"invalid character {bad!r} in the path of endpoint {text!r}")
    if ";" in hostport:
        raise _err(_errno.EINVAL, f"{transport}:// has no source address (';') in {text!r}")
    if not hostport:
        raise _err(_errno.EINVAL, f"missing host:port in endpoint {text!r}")
    host, port_text = _split_host_port(hostport, text)
    return Endpoint(transport, address, host=host, port=_parse_port(port_text, text), path=path)


def ws_tcp_endpoint(ep: Endpoint) -> Endpoint:
    """The tcp endpoint under a ws/wss one (the same ``ep`` for any other)."""
    if ep.transport not in WS_TRANSPORTS:
        return ep
    hostport = ep.address.partition("/")[0]
    return Endpoint("tcp", hostport, host=ep.host, port=ep.port)


def _parse_ipc(text: str, address: str) -> Endpoint:
    if _LINUX and address.startswith("@"):
        name = address[1:]
        if not name:
            raise _err(_errno.EINVAL, f"empty abstract socket name in endpoint {text!r}")
        return Endpoint("ipc", address, path=name, abstract=True)
    return Endpoint("ipc", address, path=address)


def _check_bind(ep: Endpoint) -> None:
    if ep.transport == "tcp" or ep.transport in WS_TRANSPORTS:
        if not ep.host:
            raise _err(_errno.ENODEV, f"no interface or address before ':' in endpoint {str(ep)!r}")


def _check_connect(ep: Endpoint) -> None:
    text = str(ep)
    if ep.transport in WS_TRANSPORTS:
        ep = ws_tcp_endpoint(ep)
    if ep.transport == "tcp":
        if ep.host == "*":
            raise _err(_errno.EINVAL, f"wildcard host '*' is only valid for bind: {text!r}")
        if ep.address.rpartition(":")[2] == "*":
            raise _err(_errno.EINVAL, f"wildcard port '*' is only valid for bind: {text!r}")
        if not ep.host:
            raise _err(_errno.EINVAL, f"missing host before ':' in endpoint {text!r}")
        bad = next((c for c in ep.host if c not in _HOST_CHARS), None)
        if bad is not None:
            raise _err(_errno.EINVAL, f"invalid character {bad!r} in host of endpoint {text!r}")
    elif ep.transport == "ipc" and ep.path == "*" and not ep.abstract:
        raise _err(_errno.EINVAL, f"wildcard 'ipc://*' is only valid for bind: {text!r}")


# --------------------------------------------------------------------------- formatting


def _scoped(host: str, scope_id: int) -> str:
    if not scope_id:
        return host
    try:
        return f"{host}%{socket.if_indextoname(scope_id)}"
    except OSError:
        return f"{host}%{scope_id}"


def format_tcp_endpoint(host: str, port: int) -> str:
    """``tcp://host:port``, with ``[...]`` around IPv6 addresses as libzmq prints them."""
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"


def format_ipc_endpoint(path: str, abstract: bool = False) -> str:
    """``ipc://path`` or ``ipc://@name`` for the Linux abstract namespace."""
    return f"ipc://@{path}" if abstract else f"ipc://{path}"


def sockname_endpoint(sock: socket.socket) -> str:
    """The endpoint string of a bound tcp or ipc socket's local address."""
    return _address_endpoint(sock, sock.getsockname())


def peername_endpoint(sock: socket.socket) -> str:
    """The endpoint string of a connected tcp or ipc socket's peer ("" if unnamed)."""
    return _address_endpoint(sock, sock.getpeername())


def _address_endpoint(sock: socket.socket, addr: Any) -> str:
    if not addr:
        return ""  # an unbound unix socket (the connecting side of ipc)
    if sock.family == socket.AF_INET:
        return format_tcp_endpoint(addr[0], addr[1])
    if sock.family == socket.AF_INET6:
        return format_tcp_endpoint(_scoped(addr[0], addr[3]), addr[1])
    if isinstance(addr, bytes):
        if addr.startswith(b"\0"):
            return format_ipc_endpoint(os.fsdecode(addr[1:]), abstract=True)
        addr = os.fsdecode(addr)
    return format_ipc_endpoint(str(addr))


# --------------------------------------------------------------------------- local addresses


def _numeric_address(host: str) -> tuple[int, str, int] | None:
    """(family, ip, scope_id) if ``host`` is a numeric IPv4/IPv6 address, else None."""
    try:
        flags = socket.AI_NUMERICHOST | socket.AI_PASSIVE
        infos = socket.getaddrinfo(host, None, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, flags)
    except (OSError, UnicodeError, ValueError):
        return None
    family, _, _, _, sockaddr = infos[0]
    scope = sockaddr[3] if len(sockaddr) == 4 else 0
    return int(family), str(sockaddr[0]), int(scope)


def _linux_ipv6_addresses(name: str) -> list[tuple[str, int]]:
    """Usable IPv6 addresses of interface ``name`` as (address, scope), globals first."""
    found: list[tuple[int, str, int]] = []
    try:
        with open("/proc/net/if_inet6", encoding="ascii") as f:
            lines = f.readlines()
    except OSError:
        return []
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or fields[5] != name:
            continue
        scope, flags = int(fields[3], 16), int(fields[4], 16)
        if flags & 0x48:  # IFA_F_TENTATIVE | IFA_F_DADFAILED: not bindable
            continue
        addr = str(ipaddress.IPv6Address(bytes.fromhex(fields[0])))
        rank = {0x00: 0, 0x10: 1, 0x40: 2}.get(scope, 3)  # global, host, site, link
        found.append((rank, addr, scope))
    found.sort(key=lambda t: t[0])
    return [(addr, scope) for _, addr, scope in found]


def _ipv4_of_interface(name: str) -> str | None:
    """The primary IPv4 address of an interface via ioctl(SIOCGIFADDR), or None."""
    if _LINUX:
        request = 0x8915
    elif sys.platform == "darwin" or "bsd" in sys.platform:
        request = 0xC0206921
    else:
        return None
    try:
        import fcntl
    except ImportError:
        return None
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        raw = fcntl.ioctl(probe.fileno(), request, struct.pack("256s", os.fsencode(name)[:15]))
    except OSError:
        return None
    finally:
        probe.close()
    return socket.inet_ntoa(raw[20:24])


def _interface_address(name: str, *, ipv6: bool, text: str) -> tuple[int, str, int] | None:
    """(family, ip, scope_id) of interface ``name``; None if no such interface."""
    try:
        index = socket.if_nametoindex(name)
    except (OSError, ValueError):
        return None
    v6 = _linux_ipv6_addresses(name) if ipv6 and _LINUX else []
    if v6:
        addr, scope = v6[0]
        return socket.AF_INET6, addr, (index if scope == 0x20 else 0)
    v4 = _ipv4_of_interface(name)
    if v4 is None:
        family = "IPv6 or IPv4" if ipv6 else "IPv4"
        raise _err(_errno.ENODEV, f"interface {name!r} has no {family} address: {text!r}")
    return socket.AF_INET, v4, 0


def _shape_address(
    family: int, ip: str, scope: int, port: int, *, ipv6: bool, text: str
) -> tuple[int, tuple[Any, ...]]:
    """Apply the ZMQ_IPV6 rules: map IPv4 into IPv6 when on, refuse IPv6 when off."""
    if family == socket.AF_INET:
        if ipv6:
            return socket.AF_INET6, (f"::ffff:{ip}", port, 0, 0)
        return socket.AF_INET, (ip, port)
    mapped = ipaddress.IPv6Address(ip.partition("%")[0]).ipv4_mapped
    if not ipv6:
        if mapped is not None:
            return socket.AF_INET, (str(mapped), port)
        raise _err(
            _errno.ENODEV,
            f"IPv6 address {ip!r} in endpoint {text!r} needs the IPV6 socket option enabled",
        )
    return socket.AF_INET6, (ip, port, 0, scope)


def _resolve_local(host: str, port: int, *, ipv6: bool, text: str) -> tuple[int, tuple[Any, ...]]:
    """Resolve a bind (or connect-source) host: ``*``, numeric IP, localhost, interface."""
    if host == "*":
        return (
            (socket.AF_INET6, ("::", port, 0, 0)) if ipv6 else (socket.AF_INET, ("0.0.0.0", port))
        )
    if host == "localhost":  # libzmq binds localhost to the IPv4 loopback
        host = "127.0.0.1"
    found = _numeric_address(host) or _interface_address(host, ipv6=ipv6, text=text)
    if found is None:
        raise _err(
            _errno.ENODEV,
            f"{host!r} in endpoint {text!r} is neither a numeric address nor a known "
            "network interface (bind does not resolve host names)",
        )
    return _shape_address(*found, port, ipv6=ipv6, text=text)


# --------------------------------------------------------------------------- socket options


def _set_buffers(sock: socket.socket, sndbuf: int, rcvbuf: int) -> None:
    if sndbuf >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    if rcvbuf >= 0:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)


def _set_tos(sock: socket.socket, tos: int) -> None:
    """IP_TOS (and IPV6_TCLASS on IPv6 sockets); 0 leaves the OS default."""
    if not tos:
        return
    if sock.family == socket.AF_INET6 and hasattr(socket, "IPV6_TCLASS"):
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, tos)
        try:  # for IPv4-mapped traffic; not every OS accepts it on AF_INET6
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)
        except OSError:
            pass
    elif sock.family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, tos)


def _set_bindtodevice(sock: socket.socket, device: bytes, text: str) -> None:
    if not device:
        return
    opt = getattr(socket, "SO_BINDTODEVICE", None)
    if opt is None:
        raise _err(_errno.EINVAL, f"BINDTODEVICE is not supported on this platform: {text!r}")
    try:
        sock.setsockopt(socket.SOL_SOCKET, opt, device)
    except OSError as e:
        raise _err(
            e.errno or _errno.EINVAL,
            f"cannot bind {text!r} to device {device!r}: {e.strerror} "
            "(SO_BINDTODEVICE needs CAP_NET_RAW)",
        ) from None


def _is_tcp(sock: socket.socket) -> bool:
    return sock.family in (socket.AF_INET, socket.AF_INET6)


def set_keepalive(
    sock: socket.socket, keepalive: int, cnt: int = -1, idle: int = -1, intvl: int = -1
) -> None:
    """Apply ZMQ_TCP_KEEPALIVE[_CNT/_IDLE/_INTVL]; -1 leaves the OS default.

    As in libzmq, cnt/idle/intvl are only applied when ``keepalive`` is 0 or 1.
    """
    if keepalive == -1:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1 if keepalive else 0)
    idle_opt = getattr(socket, "TCP_KEEPIDLE", None) or getattr(socket, "TCP_KEEPALIVE", None)
    for value, opt in (
        (cnt, getattr(socket, "TCP_KEEPCNT", None)),
        (idle, idle_opt),
        (intvl, getattr(socket, "TCP_KEEPINTVL", None)),
    ):
        if value != -1 and opt is not None:
            sock.setsockopt(socket.IPPROTO_TCP, opt, value)


def _set_maxrt(sock: socket.socket, tcp_maxrt: int) -> None:
    """ZMQ_TCP_MAXRT in ms, via TCP_USER_TIMEOUT where the OS has it; 0 = OS default."""
    opt = getattr(socket, "TCP_USER_TIMEOUT", None)
    if tcp_maxrt > 0 and opt is not None:
        sock.setsockopt(socket.IPPROTO_TCP, opt, tcp_maxrt)


def _tune_connection(
    sock: socket.socket,
    *,
    keepalive: int,
    keepalive_cnt: int,
    keepalive_idle: int,
    keepalive_intvl: int,
    tcp_maxrt: int,
) -> None:
    if _is_tcp(sock):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        set_keepalive(sock, keepalive, keepalive_cnt, keepalive_idle, keepalive_intvl)
        _set_maxrt(sock, tcp_maxrt)


def configure_accepted(
    sock: socket.socket,
    *,
    sndbuf: int = -1,
    rcvbuf: int = -1,
    tos: int = 0,
    tcp_keepalive: int = -1,
    tcp_keepalive_cnt: int = -1,
    tcp_keepalive_idle: int = -1,
    tcp_keepalive_intvl: int = -1,
    tcp_maxrt: int = 0,
) -> None:
    """Configure a socket returned by ``accept()``: non-blocking, buffers, TOS, NODELAY, keepalive."""
    sock.setblocking(False)
    _set_buffers(sock, sndbuf, rcvbuf)
    if _is_tcp(sock):
        _set_tos(sock, tos)
    _tune_connection(
        sock,
        keepalive=tcp_keepalive,
        keepalive_cnt=tcp_keepalive_cnt,
        keepalive_idle=tcp_keepalive_idle,
        keepalive_intvl=tcp_keepalive_intvl,
        tcp_maxrt=tcp_maxrt,
    )


# --------------------------------------------------------------------------- ipc helpers


@dataclass(frozen=True)
class _IpcCleanup:
    path: str  # absolute path of the socket file
    dev: int
    ino: int
    tmpdir: str  # directory created for ipc://*, else ""


_ipc_cleanups: weakref.WeakKeyDictionary[socket.socket, _IpcCleanup] = weakref.WeakKeyDictionary()
_ipc_lock = threading.Lock()


def _ipc_sockaddr(path: str, abstract: bool, text: str) -> bytes:
    raw = os.fsencode(path)
    if abstract:
        raw = b"\0" + raw
    if len(raw) > IPC_PATH_MAX_LEN + (1 if abstract else 0):
        raise _err(
            _errno.ENAMETOOLONG,
            f"ipc path {path!r} in endpoint {text!r} is longer than {IPC_PATH_MAX_LEN} bytes "
            "(sizeof(sockaddr_un.sun_path))",
        )
    return raw


def _ipc_tmp_base() -> str:
    """Directory for ``ipc://*``: $TMPDIR, $TEMPDIR, $TMP (as libzmq), else the system temp dir."""
    for var in ("TMPDIR", "TEMPDIR", "TMP"):
        value = os.environ.get(var)
        if value:
            return value
    return tempfile.gettempdir()


def _require_af_unix(text: str) -> None:
    if not hasattr(socket, "AF_UNIX"):
        raise _err(_errno.EPROTONOSUPPORT, f"ipc needs AF_UNIX sockets, absent here: {text!r}")


def _bind_ipc(ep: Endpoint, backlog: int, sndbuf: int, rcvbuf: int) -> tuple[socket.socket, str]:
    text = str(ep)
    _require_af_unix(text)
    tmpdir = ""
    path = ep.path
    if path == "*" and not ep.abstract:
        try:
            tmpdir = tempfile.mkdtemp(prefix="tmp", dir=_ipc_tmp_base())
        except OSError as e:
            raise _err(
                e.errno or _errno.EINVAL, f"cannot create a directory for {text!r}: {e}"
            ) from None
        path = os.path.join(tmpdir, "socket")
    try:
        addr = _ipc_sockaddr(path, ep.abstract, text)
        if not ep.abstract:
            _remove_stale_socket(path, text)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    except BaseException:
        if tmpdir:
            os.rmdir(tmpdir)
        raise
    try:
        _set_buffers(sock, sndbuf, rcvbuf)
        try:
            sock.bind(addr)
        except OSError as e:
            raise _bind_error(e, text, path) from None
        sock.listen(backlog)
        sock.setblocking(False)
        if not ep.abstract:
            abspath = os.path.abspath(path)
            st = os.stat(abspath)
            with _ipc_lock:
                _ipc_cleanups[sock] = _IpcCleanup(abspath, st.st_dev, st.st_ino, tmpdir)
    except BaseException:
        sock.close()
        if tmpdir:
            try:
                os.rmdir(tmpdir)
            except OSError:
                pass
        raise
    return sock, format_ipc_endpoint(path, ep.abstract)


def _remove_stale_socket(path: str, text: str) -> None:
    """Unlink an existing socket file at ``path`` (ipc bind overrides, as in libzmq).

    Unlike libzmq, a path that exists but is not a socket is left alone (EADDRINUSE).
    """
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise _err(
            _errno.EADDRINUSE,
            f"ipc path {path!r} in endpoint {text!r} exists and is not a socket; not replacing it",
        )
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        raise _bind_error(e, text, path) from None


def close_listener(sock: socket.socket) -> None:
    """Close a socket from ``bind_socket``; for ipc, remove its file (and ``ipc://*`` dir).

    The file is removed only if it is still the one this socket created (a later
    bind to the same path by another socket or process replaced it otherwise).
    """
    with _ipc_lock:
        info = _ipc_cleanups.pop(sock, None)
    sock.close()
    if info is None:
        return
    try:
        st = os.lstat(info.path)
        if (st.st_dev, st.st_ino) == (info.dev, info.ino):
            os.unlink(info.path)
    except OSError:
        pass
    if info.tmpdir:
        try:
            os.rmdir(info.tmpdir)
        except OSError:
            pass


# --------------------------------------------------------------------------- bind


def _bind_error(e: OSError, text: str, what: str) -> EndpointError:
    code = e.errno or _errno.EINVAL
    if code == _errno.EADDRINUSE:
        return _err(code, f"address already in use: {text!r}")
    if code == _errno.EADDRNOTAVAIL:
        return _err(code, f"address {what!r} is not a local address: {text!r}")
    if code == _errno.ENOENT:
        return _err(code, f"No such file or directory for ipc path {what!r}: {text!r}")
    return _err(code, f"cannot bind to {text!r}: {e.strerror or e}")


def bind_socket(
    ep: Endpoint,
    *,
    ipv6: bool = False,
    backlog: int = 100,
    sndbuf: int = -1,
    rcvbuf: int = -1,
    tos: int = 0,
    bindtodevice: bytes = b"",
) -> tuple[socket.socket, str]:
    """Create, configure, bind and listen a non-blocking tcp/ipc socket.

    Returns ``(sock, last_endpoint)`` where ``last_endpoint`` is the string
    libzmq reports in ZMQ_LAST_ENDPOINT. Close it with :func:`close_listener`.
    """
    _check_bind(ep)
    if ep.transport == "ipc":
        return _bind_ipc(ep, backlog, sndbuf, rcvbuf)
    if ep.transport in WS_TRANSPORTS:
        sock, last = bind_socket(
            ws_tcp_endpoint(ep),
            ipv6=ipv6,
            backlog=backlog,
            sndbuf=sndbuf,
            rcvbuf=rcvbuf,
            tos=tos,
            bindtodevice=bindtodevice,
        )
        return sock, f"{ep.transport}://{last.partition('://')[2]}{ep.path}"
    if ep.transport != "tcp":
        raise _err(_errno.EPROTONOSUPPORT, f"bind_socket handles tcp and ipc only: {str(ep)!r}")
    text = str(ep)
    family, addr = _resolve_local(ep.host, ep.port, ipv6=ipv6, text=text)
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        if family != socket.AF_INET6 or e.errno != _errno.EAFNOSUPPORT:
            raise _err(
                e.errno or _errno.EINVAL, f"cannot create socket for {text!r}: {e}"
            ) from None
        # No IPv6 on this host: libzmq falls back to IPv4.
        family, addr = _resolve_local(ep.host, ep.port, ipv6=False, text=text)
        sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if _WINDOWS:
            excl = getattr(socket, "SO_EXCLUSIVEADDRUSE", None)
            if excl is not None:
                sock.setsockopt(socket.SOL_SOCKET, excl, 1)
        else:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        _set_tos(sock, tos)
        _set_buffers(sock, sndbuf, rcvbuf)
        _set_bindtodevice(sock, bindtodevice, text)
        try:
            sock.bind(addr)
        except OSError as e:
            raise _bind_error(e, text, ep.host) from None
        sock.listen(backlog)
        sock.setblocking(False)
        return sock, sockname_endpoint(sock)
    except BaseException:
        sock.close()
        raise


# --------------------------------------------------------------------------- connect


def needs_resolution(ep: Endpoint) -> bool:
    """True if connecting to ``ep`` may do a (blocking) DNS lookup."""
    ep = ws_tcp_endpoint(ep)
    return ep.transport == "tcp" and ep.host != "localhost" and _numeric_address(ep.host) is None


def resolve_connect_address(ep: Endpoint, *, ipv6: bool = False) -> tuple[int, Any]:
    """Return ``(family, sockaddr)`` to connect to; may block on DNS for tcp host names.

    With ``ipv6`` off only IPv4 addresses are considered; with it on, the
    system's preferred order (getaddrinfo) decides. Failure: EINVAL, as libzmq.
    """
    _check_connect(ep)
    ep = ws_tcp_endpoint(ep)
    text = str(ep)
    if ep.transport == "ipc":
        _require_af_unix(text)
        return socket.AF_UNIX, _ipc_sockaddr(ep.path, ep.abstract, text)
    if ep.transport != "tcp":
        raise _err(_errno.EPROTONOSUPPORT, f"connect_socket handles tcp and ipc only: {text!r}")
    family = socket.AF_UNSPEC if ipv6 else socket.AF_INET
    try:
        infos = socket.getaddrinfo(ep.host, ep.port, family, socket.SOCK_STREAM)
    except (OSError, UnicodeError) as e:
        hint = ""
        if not ipv6 and ":" in ep.host:
            hint = " (an IPv6 address needs the IPV6 socket option enabled)"
        raise _err(
            _errno.EINVAL, f"cannot resolve host {ep.host!r} in {text!r}: {e}{hint}"
        ) from None
    fam, _, _, _, sockaddr = infos[0]
    if fam == socket.AF_INET6 and not ipv6:  # defensive: AF_INET asked for
        raise _err(_errno.EINVAL, f"{ep.host!r} in {text!r} is IPv6 but the IPV6 option is off")
    return int(fam), sockaddr


def connect_socket(ep: Endpoint, **kw: Any) -> socket.socket:
    """:func:`start_connect` without the in-progress flag."""
    return start_connect(ep, **kw)[0]


def start_connect(
    ep: Endpoint,
    *,
    ipv6: bool = False,
    sndbuf: int = -1,
    rcvbuf: int = -1,
    tos: int = 0,
    tcp_keepalive: int = -1,
    tcp_keepalive_cnt: int = -1,
    tcp_keepalive_idle: int = -1,
    tcp_keepalive_intvl: int = -1,
    tcp_maxrt: int = 0,
    bindtodevice: bytes = b"",
    address: tuple[int, Any] | None = None,
) -> tuple[socket.socket, bool]:
    """Create a configured non-blocking socket and start connecting it to ``ep``.

    Returns at once, with whether the connect is still in progress (libzmq's
    EVENT_CONNECT_DELAYED); wait for the socket to be writable, then check
    :func:`connect_error`. Resolves the host unless ``address`` (from
    :func:`resolve_connect_address`) is given, so it can block on DNS.
    Immediate failures (ECONNREFUSED/ENOENT for ipc, EAGAIN when an ipc
    listener's backlog is full, ...) raise EndpointError: retry later.
    """
    text = str(ep)
    family, sockaddr = address if address is not None else resolve_connect_address(ep, ipv6=ipv6)
    ep = ws_tcp_endpoint(ep)
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as e:
        raise _err(e.errno or _errno.EINVAL, f"cannot create socket for {text!r}: {e}") from None
    try:
        sock.setblocking(False)
        if family == socket.AF_INET6:
            try:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            except OSError:
                pass
        _set_buffers(sock, sndbuf, rcvbuf)
        if _is_tcp(sock):
            _set_tos(sock, tos)
            _set_bindtodevice(sock, bindtodevice, text)
        _tune_connection(
            sock,
            keepalive=tcp_keepalive,
            keepalive_cnt=tcp_keepalive_cnt,
            keepalive_idle=tcp_keepalive_idle,
            keepalive_intvl=tcp_keepalive_intvl,
            tcp_maxrt=tcp_maxrt,
        )
        if ep.transport == "tcp" and ep.source_host:
            _bind_source(sock, ep, family)
        code = sock.connect_ex(sockaddr)
        if code and code not in _IN_PROGRESS:
            raise EndpointError(
                code, f"cannot connect to {text!r}: {os.strerror(code)}", sock.fileno()
            )
        return sock, bool(code)
    except BaseException:
        sock.close()
        raise


def _bind_source(sock: socket.socket, ep: Endpoint, family: int) -> None:
    """Bind a connecting socket to the ``src;`` part, in the destination's family."""
    text = str(ep)
    fam, addr = _resolve_local(
        ep.source_host, ep.source_port, ipv6=(family == socket.AF_INET6), text=text
    )
    if fam != family:
        raise _err(
            _errno.EINVAL,
            f"source {ep.source_host!r} and destination {ep.host!r} are of different "
            f"address families in {text!r}",
        )
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        raise _bind_error(e, text, ep.source_host) from None


def connect_error(sock: socket.socket) -> int:
    """The pending error of a non-blocking connect (SO_ERROR); 0 means connected."""
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)


# --------------------------------------------------------------------------- metadata


def peer_address(sock: socket.socket) -> str:
    """The ``Peer-Address`` message property libzmq gives for this connection.

    tcp: the peer's numeric IP (``127.0.0.1``, ``::1``, ``::ffff:127.0.0.1``).
    ipc on Linux: ``localhost:<uid>:<gid>:<pid>`` from SO_PEERCRED; else "".
    """
    try:
        addr = sock.getpeername()
    except OSError:
        return ""
    if sock.family == socket.AF_INET:
        return str(addr[0])
    if sock.family == socket.AF_INET6:
        return _scoped(str(addr[0]), addr[3])
    peercred = getattr(socket, "SO_PEERCRED", None)
    if not _LINUX or peercred is None:
        return ""
    try:
        raw = sock.getsockopt(socket.SOL_SOCKET, peercred, 12)
    except OSError:
        return ""
    pid, uid, gid = struct.unpack("iII", raw[:12])
    return f"localhost:{uid}:{gid}:{pid}"
