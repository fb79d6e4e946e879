"""udp:// for RADIO/DISH and DGRAM: datagrams, no ZMTP (zmq_udp(7)).

Wire format, as libzmq's udp_engine:

- RADIO/DISH: one message per datagram, ``[len(group)] group body`` (one
  length octet, the group, the body). A datagram shorter than its length
  octet says is dropped (nothing else happens: a bad sender loses its own
  datagram). At most ``MAX_UDP_MSG`` octets; a longer message is dropped.
- DGRAM: the datagram is the body; the message is ``[address, body]`` with
  the peer's ``"ip:port"`` as the address frame, both ways.

Who binds and who connects (libzmq's rules): DISH and DGRAM bind, RADIO and
DGRAM connect; anything else is ENOCOMPATPROTO. ``bind("udp://239.0.0.1:P")``
joins that multicast group (on the interface named before a ``;``:
``udp://eth0;239.0.0.1:P`` or ``udp://127.0.0.1;239.0.0.1:P``), and several
sockets may bind it (SO_REUSEADDR). A RADIO connected to a multicast group
sends with ``MULTICAST_HOPS`` as TTL, ``MULTICAST_LOOP`` (deliver to this host
too) and the ``;`` interface as the outgoing one. Port ``*``/``0`` on bind
lets the OS choose (LAST_ENDPOINT tells which); libzmq wants a number.

The engine sits at the far end of one pipe, like a tcp engine, but
stateless: it is attached at bind/connect time, lives on the I/O loop,
drains its pipe into ``sendto`` and pushes what ``recvfrom`` gives. A DISH's
joins reach it too and are dropped (the DISH filters).
"""

from __future__ import annotations

import errno as _errno
import ipaddress
import logging
import socket
import struct
from typing import TYPE_CHECKING, Any

from purezmq import constants as C
from purezmq.transport import endpoint as E
from purezmq.transport.session import new_pipe

if TYPE_CHECKING:
    from purezmq.core.pipe import Pipe
    from purezmq.core.socketbase import SocketBase
    from purezmq.runtime.iothread import Reactor

log = logging.getLogger("purezmq")

MAX_UDP_MSG = 8192  # libzmq's limit for one datagram
READ_BATCH = 64  # datagrams read per readable callback

BIND_TYPES = frozenset({C.DISH, C.DGRAM})
CONNECT_TYPES = frozenset({C.RADIO, C.DGRAM})


def _is_multicast(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_multicast
    except ValueError:
        return False


def _numeric(host: str) -> tuple[int, str] | None:
    found = E._numeric_address(host)
    return None if found is None else (found[0], found[1])


def _iface_ipv4(iface: str, text: str) -> str:
    """The IPv4 address for an interface given by name or address."""
    if _numeric(iface) is not None:
        return iface
    v4 = E._ipv4_of_interface(iface)
    if v4 is None:
        raise E.EndpointError(_errno.ENODEV, f"no IPv4 interface {iface!r} in {text!r}")
    return v4


def _resolve(host: str, port: int, text: str) -> tuple[int, tuple[Any, ...]]:
    try:
        infos = socket.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as e:
        raise E.EndpointError(_errno.EINVAL, f"cannot resolve {host!r} in {text!r}: {e}") from None
    infos.sort(key=lambda i: i[0] != socket.AF_INET)  # IPv4 first, as libzmq without IPV6
    family, _, _, _, sockaddr = infos[0]
    return int(family), tuple(sockaddr)


def open_bind(ep: E.Endpoint, text: str) -> tuple[socket.socket, str]:
    """A bound, non-blocking UDP socket for ``ep`` and its resolved endpoint."""
    host, iface = ep.host, ep.source_host
    mcast = _is_multicast(host)
    family: int
    if host == "*":
        family, ip = socket.AF_INET, "0.0.0.0"
    else:
        num = _numeric(host)
        if num is not None:
            family, ip = num
        else:  # an interface name
            family, ip = socket.AF_INET, _iface_ipv4(host, text)
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.setblocking(False)
        if mcast:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # IPv6 multicast binds the wildcard, as libzmq's udp_engine does for every
        # family (the join names the group and interface): a link- or interface-
        # local group address is not bindable without a scope.
        s.bind(("::" if mcast and family == socket.AF_INET6 else ip, ep.port))
        if mcast:
            if family == socket.AF_INET:
                local = _iface_ipv4(iface, text) if iface else "0.0.0.0"
                mreq = socket.inet_aton(ip) + socket.inet_aton(local)
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            else:
                index = socket.if_nametoindex(iface) if iface else 0
                mreq6 = socket.inet_pton(socket.AF_INET6, ip) + struct.pack("@I", index)
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
    except OSError as e:
        s.close()
        if isinstance(e, E.EndpointError):
            raise
        code = e.errno or _errno.EINVAL
        raise E.EndpointError(code, f"cannot bind {text!r}: {e.strerror or e}") from None
    port = s.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    prefix = f"{iface};" if iface else ""
    return s, f"udp://{prefix}{shown}:{port}"


def open_connect(ep: E.Endpoint, text: str, opts: Any) -> tuple[socket.socket, tuple[Any, ...]]:
    """A non-blocking UDP socket to send to ``ep``, with the multicast options."""
    if ep.host == "*" or ep.port == 0:
        raise E.EndpointError(_errno.EINVAL, f"connect needs a host and a port: {text!r}")
    family, dest = _resolve(ep.host, ep.port, text)
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.setblocking(False)
        if _is_multicast(dest[0]):
            if family == socket.AF_INET:
                s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, opts.multicast_hops)
                s.setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, int(bool(opts.multicast_loop))
                )
                if ep.source_host:
                    local = socket.inet_aton(_iface_ipv4(ep.source_host, text))
                    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, local)
            else:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, opts.multicast_hops)
                s.setsockopt(
                    socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, int(bool(opts.multicast_loop))
                )
                if ep.source_host:
                    index = socket.if_nametoindex(ep.source_host)
                    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
    except OSError as e:
        s.close()
        if isinstance(e, E.EndpointError):
            raise
        raise E.EndpointError(e.errno or _errno.EINVAL, f"cannot use {text!r}: {e}") from None
    return s, dest


def encode_group_datagram(group: bytes, body: Any) -> bytes | None:
    """``[len] group body``, or None when it does not fit a datagram."""
    if len(group) > 255 or 1 + len(group) + len(body) > MAX_UDP_MSG:
        return None
    return bytes((len(group),)) + group + bytes(body)


def decode_group_datagram(data: bytes) -> list[bytes] | None:
    """``[group, body]`` of a RADIO datagram, or None when it is malformed."""
    if not data:
        return None
    n = data[0]
    if len(data) < 1 + n:
        return None
    return [data[1 : 1 + n], data[1 + n :]]


def _format_addr(addr: tuple[Any, ...]) -> bytes:
    host = addr[0]
    return (f"[{host}]:{addr[1]}" if ":" in host else f"{host}:{addr[1]}").encode()


def _parse_addr(frame: Any) -> tuple[str, int] | None:
    try:
        text = bytes(frame).decode("ascii")
        host, port = E._split_host_port(text, text)
        return host, int(port)
    except (UnicodeDecodeError, E.EndpointError, ValueError):
        return None


class UdpEngine:
    """One UDP socket at the far end of one pipe (loop thread, except ``kick``)."""

    # Drains are its own; it never flags the queue idle (Pipe.drainer_idle).
    reports_drained = False

    is_udp = True  # RADIO sends every group to it (core/sockets/radio.py)

    def __init__(
        self,
        reactor: Reactor,
        sock: SocketBase,
        os_sock: socket.socket,
        endpoint: str,
        *,
        dest: tuple[Any, ...] | None = None,
        receive: bool = False,
    ) -> None:
        self.reactor = reactor
        self.loop = reactor.loop
        self.sock = sock
        self.os_sock = os_sock
        self.endpoint = endpoint
        self.dest = dest  # where RADIO datagrams go (connect); DGRAM names its own
        self.receive = receive
        self.raw = sock.type == C.DGRAM
        self.sends = self.raw or sock.type == C.RADIO
        self.reading = False
        self.writer_armed = False
        self.kick_pending = False
        self.closed = False
        self.pipe: Pipe = new_pipe(sock, endpoint)
        self.pipe.peer = self
        self.pipe.metadata = {"Peer-Address": endpoint}

    # -- PipePeer ---------------------------------------------------------------------------

    def kick(self) -> None:
        if not self.kick_pending:
            self.kick_pending = True
            self.reactor.call(self._drain)

    def read_progress(self) -> None:
        self.reactor.call(self._resume)

    def relieve(self, stale: float = 0.0) -> bool:
        return False  # datagrams: the loop's own sends; a full queue drops, as libzmq's udp engine does

    def disconnect(self) -> None:
        self.reactor.call(self.close, 0)

    def direct_fd(self) -> int:
        return -1

    def set_waiting(self, waiting: bool) -> None:
        pass

    def read_direct(self) -> None:
        pass

    def read_owned(self) -> None:
        pass

    def reclaim(self) -> None:
        pass

    # -- loop thread ------------------------------------------------------------------------

    def start(self) -> None:
        self.sock.engine_started(self)
        if self.closed:
            return
        if self.receive:
            self.reading = True
            self.loop.add_reader(self.os_sock.fileno(), self._on_readable)
        self._drain()

    def _resume(self) -> None:
        if not self.closed and self.receive and not self.reading:
            self.reading = True
            self.loop.add_reader(self.os_sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        msgs: list[list[Any]] = []
        for _ in range(READ_BATCH):
            try:
                data, addr = self.os_sock.recvfrom(65536)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:  # ICMP errors of earlier sends, mostly
                log.debug("purezmq: udp %s: %s", self.endpoint, e)
                break
            if self.raw:
                msgs.append([_format_addr(addr), data])
                continue
            msg = decode_group_datagram(data)
            if msg is None:
                log.info("purezmq: udp %s: malformed datagram from %s dropped", self.endpoint, addr)
                continue
            msgs.append(msg)
        if msgs and self.pipe.push(msgs):
            self.loop.remove_reader(self.os_sock.fileno())  # RCVHWM: resume on read_progress
            self.reading = False

    def _drain(self) -> None:
        self.kick_pending = False
        if self.closed:
            return
        q = self.pipe.outq
        took = False
        while q:
            msg = q[0]
            if not self.sends:
                q.popleft()  # a DISH's join/leave: the filter is the DISH's own
                took = True
                continue
            dest: tuple[Any, ...] | None = self.dest
            if self.raw:
                if len(msg) != 2 or (dest := _parse_addr(msg[0])) is None:
                    log.info("purezmq: DGRAM message without a valid 'ip:port' frame dropped")
                    q.popleft()
                    took = True
                    continue
                data: bytes | None = bytes(msg[1])
            else:
                data = encode_group_datagram(bytes(msg[0]), msg[1])
                if data is None:
                    log.info("purezmq: udp message over %d octets dropped", MAX_UDP_MSG)
                    q.popleft()
                    took = True
                    continue
            try:
                self.os_sock.sendto(data, dest)  # type: ignore[arg-type]
            except (BlockingIOError, InterruptedError):
                if not self.writer_armed:
                    self.writer_armed = True
                    self.loop.add_writer(self.os_sock.fileno(), self._on_writable)
                break
            except OSError as e:  # unreachable, too big...: that datagram is lost
                log.debug("purezmq: udp send to %s failed: %s", dest, e)
            q.popleft()
            took = True
        if took:
            self.pipe.popped()

    def _on_writable(self) -> None:
        self.writer_armed = False
        self.loop.remove_writer(self.os_sock.fileno())
        self._drain()

    def close(self, linger: int = 0) -> None:
        """Send what is queued (UDP does not wait), then close (loop thread)."""
        if self.closed:
            return
        if linger != 0:
            self._drain()
        self.closed = True
        fd = self.os_sock.fileno()
        if self.reading:
            self.loop.remove_reader(fd)
        if self.writer_armed:
            self.loop.remove_writer(fd)
        self.os_sock.close()
        self.sock.post_terminated(self.pipe)
        self.sock.engine_finished(self)


def open_engine(
    reactor: Reactor, core: SocketBase, ep: E.Endpoint, text: str, bind: bool
) -> tuple[UdpEngine, str]:
    """Bind or connect ``core`` on udp: the engine (pipe attached) and its endpoint."""
    allowed = BIND_TYPES if bind else CONNECT_TYPES
    if core.type not in allowed:
        what = "bind" if bind else "connect"
        who = "DISH and DGRAM" if bind else "RADIO and DGRAM"
        raise E.EndpointError(
            C.ENOCOMPATPROTO, f"udp: only {who} sockets may {what} ({core.type_name} cannot)"
        )
    if bind:
        os_sock, resolved = open_bind(ep, text)
        engine = UdpEngine(reactor, core, os_sock, resolved, receive=True)
    else:
        os_sock, dest = open_connect(ep, text, core.options)
        resolved = text
        if core.type == C.DGRAM:
            os_sock.bind(("0.0.0.0", 0) if os_sock.family == socket.AF_INET else ("::", 0))
        engine = UdpEngine(
            reactor, core, os_sock, resolved, dest=dest, receive=core.type == C.DGRAM
        )
    core.attach_pipe(engine.pipe)
    return engine, resolved
