"""StreamEngine: couples a non-blocking OS socket, a ZmtpConnection and a pipe.

The connection is ZMTP's for tcp/ipc, a ZwsConnection (the same interface,
ZMTP's mechanisms, WebSocket framing, TLS for wss) for ws/wss: see
transport/ws.py. Nothing below depends on which.

Rules this module keeps:

- Everything here runs on the reactor's loop, except ``kick`` and
  ``read_progress`` which any thread may call (they only schedule work).
- Reads are batched: one ``recv`` of up to ``READ_SIZE`` bytes (``read_size``), every complete
  message in it decoded and appended to the pipe in one ``push``. While the connection
  offers ``read_buffers`` (a large body and its like successors, received in place:
  zmtp/frames.py) the read is one ``recvmsg_into`` those buffers instead.
- Writes are batched: a drain pops up to ``DRAIN_MSGS`` queued messages and
  writes their encoding with one ``send`` (``sendmsg`` when bodies of
  ``COPY_THRESHOLD`` octets or more ride uncopied next to the joined small
  pieces); what the kernel does not take waits for writability, and the
  queue is not drained meanwhile (that is the back-pressure that makes
  SNDHWM bite).
- Bad input closes this connection only, with a log line and a monitor event.
- Closing with LINGER (``terminate``) closes the fd only once every queued
  message and ``outbuf`` is in the kernel -- and, on ipc, once the peer has
  read it too: closing a unix stream socket the peer has not drained raises
  POLLHUP there at once, and libzmq, stopped at its RCVHWM, then drops what
  is still in the kernel. So an ipc connection with unread output shuts down
  its write side and waits for the peer's EOF (``_close_flushed``).
- The I/O thread always serves the connection: handshakes, heartbeats,
  reconnects, draining. The application side (a thread blocked in ``recv``,
  or an asyncio loop awaiting a reply) may read and write it too while it
  actively waits (see "Reading in the application thread" below), so a
  request/reply exchange crosses no thread; it is never the only reader.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import sys
import threading
from itertools import groupby, islice
from time import monotonic as _monotonic
from typing import TYPE_CHECKING, Any, Protocol

from purezmq import constants as C
from purezmq.transport import endpoint as E
from purezmq.transport import security, zap
from purezmq.zmtp import (
    AuthenticationFailed,
    ErrorReceived,
    HandshakeComplete,
    Join,
    Leave,
    PeerClosed,
    Ping,
    ProtocolError,
    ZapRequest,
    ZmtpConnection,
)
from purezmq.zmtp.frames import wire_bytes, wire_message
from purezmq.zmtp.raw import RawConnection

if TYPE_CHECKING:
    from purezmq.core.pipe import Msg, Pipe
    from purezmq.core.socketbase import SocketBase
    from purezmq.runtime.iothread import Reactor
    from purezmq.transport.ws import WsTransport

log = logging.getLogger("purezmq")

# Read sizes. A recv of more than glibc's mmap threshold (128 KiB) costs an
# mmap, an mremap and a munmap plus page faults even when a few octets come
# back, so after a read of less than READ_BULK octets (request/reply) the
# next asks for READ_SMALL; bulk flows read READ_SIZE at a time.
READ_SMALL = 64 * 1024
READ_SIZE = 256 * 1024
READ_BULK = 4096
# Sends closer together than this are left to the loop thread to batch (s).
DIRECT_GAP = 100e-6
# A drain posted this long ago and not run means the loop is starved of the
# GIL (see ``relieve``): twice CPython's switch interval, after which a waiter
# normally gets it (s).
STARVED = 2 * sys.getswitchinterval()
DRAIN_MSGS = 2048
# The loop takes reading back from an application thread that has not waited
# on the connection for this long (s); see "Reading in the application thread".
RECLAIM_IDLE = 0.01
# Buffers handed to one sendmsg (well under the kernel's IOV_MAX).
_IOV_MAX = 64

# SIOCOUTQ (= TIOCOUTQ) on a Linux unix stream socket: octets written that
# the peer has not read yet. Elsewhere unknown (None): ipc closes at once.
if sys.platform.startswith("linux"):
    import fcntl
    import termios

    _SIOCOUTQ: int | None = termios.TIOCOUTQ
else:  # pragma: no cover
    _SIOCOUTQ = None


def _is_bytes(m: Any) -> bool:
    """A PUB's message it encoded already (see StreamEngine._send_wire)."""
    return type(m) is bytes


def _unread_by_peer(os_sock: socket.socket) -> bool:
    """ipc on Linux: has the peer yet to read some of what we wrote?"""
    if _SIOCOUTQ is None or os_sock.family != getattr(socket, "AF_UNIX", None):
        return False
    try:
        n = struct.unpack("i", fcntl.ioctl(os_sock.fileno(), _SIOCOUTQ, b"\0\0\0\0"))[0]
    except OSError:
        return False
    return n > 0


class EngineHost(Protocol):
    """The session that owns an engine: decides what pipe it feeds."""

    def engine_ready(self, engine: StreamEngine, info: HandshakeComplete) -> Pipe | None: ...

    def engine_closed(self, engine: StreamEngine, handshaken: bool) -> None: ...


def zap_status(reason: bytes) -> int:
    """The ZAP status code (300, 400, 500) an ERROR's reason is, or 0 if it is not one
    (libzmq: exactly three octets, "3", "4" or "5" then "00")."""
    if len(reason) == 3 and reason[1:] == b"00" and reason[:1] in (b"3", b"4", b"5"):
        return int(reason)
    return 0


class StreamEngine:
    """One ZMTP connection over tcp or ipc (or ZWS over tcp: ws, wss)."""

    __slots__ = (
        "_reader",
        "app_owned",
        "app_seen",
        "app_stale",
        "app_waiting",
        "broken",
        "closed",
        "closing",
        "conn",
        "direct_ok",
        "dish",
        "endpoint",
        "failed",
        "fatal",
        "fd",
        "handshaken",
        "heartbeat_timeout",
        "host",
        "kick_at",
        "kick_pending",
        "last_kick",
        "last_recv",
        "local_uri",
        "lone",
        "loop",
        "os_sock",
        "outbuf",
        "peer_address",
        "pipe",
        "raw",
        "reactor",
        "read_size",
        "reading",
        "remote_uri",
        "rlock",
        "shut_wr",
        "sock",
        "sub_commands",
        "timers",
        "wlock",
        "write_blocked",
        "writer_armed",
        "zap_client",
        "zap_consulted",
        "__weakref__",
    )

    # It calls Pipe.drainer_idle whenever it stops draining (_drain_locked).
    reports_drained = True

    def __init__(
        self,
        reactor: Reactor,
        sock: SocketBase,
        os_sock: socket.socket,
        host: EngineHost,
        endpoint: str,
        peer_address: str = "",
        as_server: bool = False,
        ws: WsTransport | None = None,
    ) -> None:
        self.reactor = reactor
        self.loop = reactor.loop
        self.sock = sock
        self.os_sock = os_sock
        self.fd = os_sock.fileno()
        self.host = host
        self.endpoint = endpoint
        self.peer_address = peer_address
        # Monitor v2's endpoint pair, as libzmq's: the connection's own local
        # address, and the peer's (accepted) or the endpoint connected to.
        try:
            self.local_uri = E.sockname_endpoint(os_sock)
            self.remote_uri = E.peername_endpoint(os_sock) if as_server else endpoint
        except OSError:
            self.local_uri, self.remote_uri = "", endpoint
        if ws is not None:
            scheme = ws.scheme + "://"
            self.local_uri = self.local_uri.replace("tcp://", scheme, 1)
            self.remote_uri = self.remote_uri.replace("tcp://", scheme, 1)
        opts = sock.options
        # STREAM sockets speak no ZMTP: raw bytes both ways (zmtp/raw.py).
        self.raw = sock.type == C.STREAM
        self.conn: ZmtpConnection
        if self.raw:
            # Duck-typed: it has every member the engine uses on a STREAM
            # connection (no ZAP, no subscriptions there).
            self.conn = RawConnection()  # type: ignore[assignment]
        elif ws is not None:
            self.conn = ws.connection(sock, as_server)
        else:
            mechanism, as_server = security.build_mechanism(sock, as_server)
            self.conn = ZmtpConnection(
                socket_type=sock.type_name,
                as_server=as_server,
                mechanism=mechanism,
                routing_id=bytes(opts.routing_id or b""),
                metadata={k.decode(): v for k, v in opts.metadata.items()},  # METADATA
                maxmsgsize=opts.maxmsgsize,
            )
        self.zap_consulted = False
        self.zap_client: zap.ZapClient | None = None
        self.pipe: Pipe | None = None
        # SUB/XSUB send subscriptions, DISH joins/leaves as commands (see
        # _send_with_subscriptions); RADIO hears JOIN/LEAVE (_handle_event_batch).
        self.sub_commands = sock.type in (C.SUB, C.XSUB, C.DISH)
        self.dish = sock.type == C.DISH
        self.closed = False
        self.closing = False  # socket closed: flush then close
        self.shut_wr = False  # closing on ipc: write side shut, waiting for the peer's EOF
        self.reading = False
        self.read_size = READ_SMALL
        self.write_blocked = False
        self.kick_pending = False
        self.kick_at = 0.0  # when the pending drain was posted
        self.outbuf: list[Any] | None = None  # buffers the kernel has not taken yet
        self.wlock = threading.Lock()
        self.rlock = threading.Lock()  # held by whoever reads (loop or app thread)
        self.last_kick = 0.0
        self.writer_armed = False
        self.failed: str | None = None  # a write error seen off the loop thread
        self._reader = self._on_readable
        self.handshaken = False
        # A lone queued message may go out as wire bytes (_drain_here): a plain
        # ZMTP connection (no mechanism transforming traffic, no ws framing) of
        # a socket that queues messages (not a PUB's wire bytes, not a SUB's
        # subscriptions, not STREAM's raw data). Set by the handshake.
        self.lone = False
        # A protocol error, or ERROR from the peer: a retry would fail the same way, so
        # the connecter stops, as libzmq's session ends (session_base.cpp engine_error).
        self.fatal = False
        self.broken = False  # ended by a failure, not closed by us: EVENT_DISCONNECTED
        # Reading in the application thread (see the section below).
        self.direct_ok = True  # cleared for good on EOF / errors
        self.app_waiting = False  # an app thread (or loop) waits on our fd and will read
        self.app_owned = False  # the loop stepped aside: its reader is removed
        self.app_seen = 0.0  # when the app side last read or left a direct wait
        # The app side waited but did not read what the kernel had (an asyncio
        # loop blocked in a coroutine): the loop reads until the app reads again.
        self.app_stale = False
        self.timers: dict[str, asyncio_TimerHandle] = {}
        self.last_recv = 0.0
        self.heartbeat_timeout = 0.0

    # -- lifecycle (loop thread) --------------------------------------------------------

    def _event(self, event: int, value: int) -> None:
        """A monitor event about this connection."""
        self.sock.event(event, value, self.endpoint, self.local_uri, self.remote_uri)

    def start(self) -> None:
        opts = self.sock.options
        self.loop.add_reader(self.fd, self._reader)
        self.reading = True
        if opts.handshake_ivl > 0 and not self.raw:
            self._timer("handshake", opts.handshake_ivl / 1000.0, self._handshake_timeout)
        self._send_pending()
        if self.conn.events and not self.closed:  # a raw stream is "handshaken" at once
            self._handle_events()

    def _timer(self, name: str, delay: float, fn: Any) -> None:
        old = self.timers.pop(name, None)
        if old is not None:
            old.cancel()
        self.timers[name] = self.loop.call_later(delay, fn)

    def _handshake_timeout(self) -> None:
        if not self.handshaken:
            log.warning("purezmq: handshake with %s timed out", self.peer_address or self.endpoint)
            self._event(C.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0)
            self.broken = True
            self.close()

    def close(self) -> None:
        """Drop the connection now (pending output is lost)."""
        if self.closed:
            return
        self.closed = True
        if self.zap_client is not None:
            self.zap_client.cancel()
            self.zap_client = None
        for t in self.timers.values():
            t.cancel()
        self.timers.clear()
        try:
            self.loop.remove_reader(self.fd)
            self.loop.remove_writer(self.fd)
        except Exception:  # loop already closed at interpreter exit
            pass
        with self.wlock:  # never close the fd under a writer in another thread
            try:
                self.os_sock.close()
            except OSError:
                pass
        if self.handshaken or self.broken:  # libzmq: after HANDSHAKE_FAILED_* too
            self._event(C.EVENT_DISCONNECTED, self.fd)
        self.host.engine_closed(self, self.handshaken)

    def terminate(self, linger: int) -> None:
        """The socket is closing: flush what is queued within ``linger`` ms, then close."""
        self.closing = True
        if linger == 0 or not self.handshaken:
            self.close()
            return
        if linger > 0:
            self._timer("linger", linger / 1000.0, self.close)
        self._drain()  # closes (``_close_flushed``) once everything is in the kernel

    def _flushed(self) -> bool:
        return self.outbuf is None and (self.pipe is None or not self.pipe.outq)

    def _close_flushed(self) -> None:
        """Loop thread, closing: everything queued is in the kernel. Close -- unless
        this is ipc and the peer has yet to read some of it.

        Closing a unix stream socket raises POLLHUP at the peer at once, even
        with our data still in its receive queue (for tcp a FIN is only
        POLLIN). libzmq, whose reading is stopped at RCVHWM, takes that HUP
        as the end and later drops what the kernel still holds. So we shut
        down the write side instead (the peer sees nothing until it reads its
        way to the EOF), read and discard until the peer closes in turn, and
        close then; the linger timer bounds the wait.
        """
        if self.closed or self.shut_wr:
            return
        with self.wlock:  # a writer in another thread may have popped and not written yet
            if not self._flushed():
                return  # that writer's _after_write / the writability callback comes back here
        if not _unread_by_peer(self.os_sock):
            self.close()
            return
        try:
            self.os_sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()
            return
        self.shut_wr = True
        t = self.timers.pop("ping", None)
        if t is not None:
            t.cancel()
        self._resume_reading()  # EOF (or an error) in _on_readable closes

    def disconnect(self) -> None:
        """Thread-safe request to drop this connection (ROUTER_HANDOVER)."""
        self.reactor.call(self.close)

    # -- reading ------------------------------------------------------------------------

    def _on_readable(self) -> None:
        """Read callback on the I/O thread, which may share reading with the app thread."""
        if self.app_waiting and not self.app_stale:
            # An application thread sleeps in poll() on this fd (or an asyncio
            # loop awaits a reply) and reads the data itself: step aside rather
            # than race it (and wake it twice).
            self.loop.remove_reader(self.fd)
            self.reading = False
            self.app_owned = True
            self._timer("reclaim", RECLAIM_IDLE, self._reclaim)
            return
        # ``rlock`` keeps the bytes in order with an application thread that
        # reads too (read_direct): whoever holds it reads, decodes and pushes.
        # (The read itself is inline: this runs once per ready fd.)
        conn = self.conn
        with self.rlock:
            try:
                data, got = self._read_os()
            except OSError as e:
                self._fail(f"read error: {e}")
                return
            if got < 0:
                return
            if not got:
                self._fail("closed by the peer")
                return
            self.read_size = READ_SIZE if got >= READ_BULK else READ_SMALL
            if self.heartbeat_timeout:
                self.last_recv = self.loop.time()
            # The connection's output buffer is shared with writers (PONG replies,
            # handshake commands come out of receive_data): hold the write lock.
            with self.wlock:
                try:
                    msgs = conn.receive_data(data) if data is not None else conn.receive_filled(got)
                except ProtocolError as e:
                    self._last_words()
                    error: str | None = str(e)
                else:
                    error = None
                    if conn.has_data_to_send:  # handshake replies, PONG
                        self._flush_locked()
            if error is not None:
                self._protocol_error(error)
                return
            if conn.events:
                self._handle_events()
                if self.closed:
                    return
            if msgs:
                pipe = self.pipe
                if pipe is not None and not self.closing:
                    if pipe.push(msgs):
                        self.loop.remove_reader(self.fd)
                        self.reading = False
            # _after_write's cases, tested here first: most reads leave none of them.
            if self.failed or self.write_blocked or (self.pipe is not None and self.pipe.outq):
                self._after_write()

    def _read_os(self) -> tuple[bytes | None, int]:
        """One read of the OS socket (the caller holds ``rlock``): ``(data, n)``, or
        ``(None, n)`` when it went into the connection's ``read_buffers`` (a large
        body's place, zmtp/frames.py "In place": decode with ``receive_filled``).
        ``n`` is 0 at EOF and -1 if the read would block; OSError passes through."""
        conn = self.conn
        into = conn.read_buffers()
        try:
            if into is None:
                data = self.os_sock.recv(self.read_size)
                return data, len(data)
            return None, self.os_sock.recvmsg_into(into)[0]
        except (BlockingIOError, InterruptedError):
            if into is not None:
                conn.receive_filled(0)  # lets the spare bodies go
            return None, -1

    def read_progress(self) -> None:
        """The application read enough to resume (any thread)."""
        self.reactor.call(self._resume_reading)

    def _resume_reading(self) -> None:
        self.app_owned = False
        if not self.closed and not self.reading:
            self.reading = True
            self.loop.add_reader(self.fd, self._reader)

    # -- reading in the application thread ------------------------------------------------
    #
    # A round trip through the I/O thread costs two thread hand-offs (loop
    # wakes, reads, signals the app thread, which then needs the GIL), tens of
    # microseconds each in CPython. So an application thread that blocks in
    # recv() polls the fds of its socket's connections next to its wake-up fd
    # (``direct_fd``) and, when one is readable, reads and decodes it itself
    # (``read_direct``) under ``wlock`` -- the lock every reader and writer of
    # the connection holds, so bytes are decoded and pushed in order whoever
    # reads. To keep the loop from waking for the same bytes, the app sets
    # ``app_waiting`` around its poll(); the loop, woken while it is set, removes
    # its reader without reading (``app_owned``) and from then on the app alone
    # reads while it waits. The loop takes reading back (``_reclaim``, a timer)
    # once no app thread has waited for RECLAIM_IDLE, or at once when asked
    # (``read_progress`` after RCVHWM, ``reclaim`` when a poller or FD starts
    # watching the socket): until then a non-blocking recv/EVENTS reads owned
    # connections itself (``read_owned``). Anything that is not data -- EOF,
    # errors, commands such as PING -- goes to the loop (``reactor.call``), and
    # after EOF or an error the app never reads again (``direct_ok``).
    #
    # The app side may stop running while it is counted as waiting: an asyncio
    # loop that awaits a reply is "waiting", yet one of its coroutines may
    # block it (time.sleep, input(), a long computation). So the reclaim timer
    # also looks at the fd: readable, and the app has not read for
    # RECLAIM_IDLE, means nobody is reading; the loop takes reading back at
    # once (``app_stale``) and does not step aside again until the app side
    # reads. PINGs are answered and input flows to RCVHWM whatever the
    # application does, as with libzmq's I/O thread.

    def direct_fd(self) -> int:
        """App thread: the fd to poll (and read) in a blocking recv, or -1."""
        if self.direct_ok and self.handshaken and not self.closed and not self.closing:
            pipe = self.pipe
            if pipe is not None and not pipe.reading_paused:
                return self.fd
        return -1

    def set_waiting(self, waiting: bool) -> None:
        """App thread: entering (True) or leaving (False) a poll() on ``direct_fd``."""
        self.app_waiting = waiting
        if not waiting:
            self.app_seen = _monotonic()

    def read_owned(self) -> None:
        """App thread, not waiting: read what the loop left to the app (non-blocking)."""
        if self.app_owned and self.direct_fd() >= 0:
            self.read_direct()

    def read_direct(self) -> None:
        """App thread: read and decode what the kernel has; hand anything else to the loop."""
        with self.rlock:
            if self.closed or not self.direct_ok or self.closing:
                return
            conn = self.conn
            try:
                data, got = self._read_os()
            except OSError as e:
                self.direct_ok = False
                self.reactor.call(self._fail, f"read error: {e}")
                return
            if got < 0:
                return
            if not got:
                self.direct_ok = False
                self.reactor.call(self._fail, "closed by the peer")
                return
            self.read_size = READ_SIZE if got >= READ_BULK else READ_SMALL
            self.app_seen = now = _monotonic()
            self.app_stale = False
            if self.heartbeat_timeout:
                self.last_recv = now
            with self.wlock:
                try:
                    msgs = conn.receive_data(data) if data is not None else conn.receive_filled(got)
                except ProtocolError as e:
                    self.conn.data_to_send()
                    self.direct_ok = False
                    self.reactor.call(self._protocol_error, str(e))
                    return
                if self.conn.has_data_to_send:  # PONG
                    self._flush_locked()
            if msgs:
                pipe = self.pipe
                if pipe is not None:
                    pipe.push(msgs)  # at RCVHWM: direct_fd() says no until read_progress
            if self.conn.events or self.failed or self.write_blocked:
                self.reactor.call(self._after_app_read)

    def _after_app_read(self) -> None:
        """Loop thread: handle what an app-thread read left (commands, a full kernel buffer)."""
        if self.closed:
            return
        if self.conn.events:
            self._handle_events()
            if self.closed:
                return
        self._after_write()

    def reclaim(self) -> None:
        """Take reading back to the loop now (any thread; e.g. a poller starts watching)."""
        if self.app_owned:
            self.reactor.call(self._reclaim, True)

    def _reclaim(self, now: bool = False) -> None:
        if self.closed or not self.app_owned:
            return
        if not now:
            recent = _monotonic() - self.app_seen < RECLAIM_IDLE
            if recent or (self.app_waiting and not self._readable_now()):
                self._timer("reclaim", RECLAIM_IDLE, self._reclaim)
                return
            if self.app_waiting:
                self.app_stale = True  # waiting, yet not reading: see above
        self.app_owned = False
        pipe = self.pipe
        if pipe is None or not pipe.reading_paused:
            self._resume_reading()

    def _readable_now(self) -> bool:
        """Has the kernel input for us right now? (one poll, no wait)"""
        p = select.poll()
        p.register(self.fd, select.POLLIN)
        try:
            return bool(p.poll(0))
        except OSError:
            return True

    def _handle_events(self) -> None:
        while self.conn.events and not self.closed:
            self._handle_event_batch()

    def _handle_event_batch(self) -> None:
        with self.wlock:  # an app-thread read may be appending (read_direct)
            events = self.conn.events
            self.conn.events = []
        for ev in events:
            if isinstance(ev, ZapRequest):
                self._zap_request(ev)
                if self.closed:
                    return
            elif isinstance(ev, AuthenticationFailed):
                log.info(
                    "purezmq: %s authentication of %s failed: %s %r",
                    self.conn.mechanism.name.decode(),
                    self.peer_address,
                    ev.status_code,
                    ev.status_text,
                )
                if self.zap_consulted:
                    self._event(C.EVENT_HANDSHAKE_FAILED_AUTH, ev.status_code)
                else:
                    self._event(C.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0)
                self.broken = True  # libzmq: DISCONNECTED follows
                self.close()
                return
            elif isinstance(ev, HandshakeComplete):
                self._handshake_done(ev)
                if self.closed:
                    return
            elif isinstance(ev, Ping):
                if ev.ttl > 0:
                    self.heartbeat_timeout = max(self.heartbeat_timeout, ev.ttl)
                    self.last_recv = self.loop.time()
                    self._arm_ttl()
            elif isinstance(ev, (Join, Leave)):
                # A DISH's JOIN/LEAVE: RADIO reads them from the pipe (core/sockets/radio.py).
                pipe = self.pipe
                if pipe is not None and self.sock.type == C.RADIO and not self.closing:
                    tag = b"J" if isinstance(ev, Join) else b"L"
                    pipe.push([[tag + bytes(ev.group)]])
            elif isinstance(ev, PeerClosed):
                # ws: the peer closed the WebSocket; our echo of its close frame is written.
                self._fail(f"closed by the peer (WebSocket close {ev.code})")
                return
            elif isinstance(ev, ErrorReceived):
                log.warning("purezmq: peer %s sent ERROR: %r", self.peer_address, ev.reason)
                code = zap_status(ev.reason)
                if code and not self.handshaken:
                    # The server's ZAP handler refused us: libzmq's client reports the
                    # status code (mechanism_base_t::handle_error_reason).
                    self._event(C.EVENT_HANDSHAKE_FAILED_AUTH, code)
                self.fatal = self.broken = True  # RFC 37, and libzmq: no reconnect
                self.close()
                return

    def _zap_request(self, ev: ZapRequest) -> None:
        """A server mechanism wants a ZAP decision (RFC 27): ask the handler, or apply policy."""
        handler = zap.find_handler(self.sock)
        if handler is not None:
            self.zap_consulted = True
            self.zap_client = zap.ZapClient(
                self.reactor, handler, self._zap_answered, self._zap_failed
            )
            self.zap_client.send(ev, self.peer_address, bytes(self.sock.options.routing_id or b""))
            return
        opts = self.sock.options
        if opts.zap_enforce_domain and self.conn.mechanism.name != b"PLAIN":
            # libzmq 4.3: with ZAP_ENFORCE_DOMAIN a missing handler fails NULL (with a
            # domain) and CURVE too, instead of letting the peer in unauthenticated.
            log.info(
                "purezmq: ZAP_ENFORCE_DOMAIN is set and no ZAP handler is bound; refusing %s",
                self.peer_address,
            )
            self._event(C.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0)
            self.broken = True
            self.close()
            return
        self._zap_apply(self.conn.zap_unavailable)

    def _zap_answered(self, status: int, text: bytes, user_id: bytes, metadata: bytes) -> None:
        """The handler replied (loop thread): resume the handshake."""
        self.zap_client = None
        if self.closed:
            return

        def answer() -> None:
            self.conn.zap_reply(status, text, user_id, metadata)

        self._zap_apply(answer)
        if not self.closed and self.conn.events:
            self._handle_events()
        if not self.closed:
            self._after_write()

    def _zap_failed(self, code: int, reason: str) -> None:
        """The handler's reply was unusable, or the handler went away (loop thread)."""
        self.zap_client = None
        if self.closed:
            return
        log.warning("purezmq: ZAP failed for %s: %s", self.peer_address, reason)
        self._event(C.EVENT_HANDSHAKE_FAILED_PROTOCOL, code)
        self.broken = True
        self.close()

    def _zap_apply(self, answer: Any) -> None:
        with self.wlock:
            try:
                answer()
            except ProtocolError as e:
                self._last_words()
                error: str | None = str(e)
            else:
                error = None
                if self.conn.has_data_to_send:  # handshake replies, PONG
                    self._flush_locked()
        if error is not None:
            self._protocol_error(error)

    def _last_words(self) -> None:
        """A protocol error (write lock held): what the connection queued before it
        still goes out -- its READY, mostly. libzmq sends its READY before it looks
        at the peer's, so the peer sees why (incompatible socket types) and stops
        rather than seeing a bare close and coming back."""
        if self.conn.has_data_to_send:
            self._flush_locked()

    def _handshake_done(self, info: HandshakeComplete) -> None:
        self.handshaken = True
        t = self.timers.pop("handshake", None)
        if t is not None:
            t.cancel()
        pipe = self.host.engine_ready(self, info)
        if pipe is None:
            log.info(
                "purezmq: %s refused a connection from %s", self.sock.type_name, self.peer_address
            )
            self.handshaken = False
            self.close()
            return
        self.pipe = pipe
        pipe.set_wire(self.sock.fans_out_wire and self.conn.takes_encoded())
        self.lone = not (self.raw or self.sub_commands or self.sock.fans_out_wire) and (
            self.conn.takes_encoded()
        )
        self._event(C.EVENT_HANDSHAKE_SUCCEEDED, 0)
        opts = self.sock.options
        if self.raw:
            if opts.stream_notify:
                pipe.push([[b""]])  # STREAM: "a peer connected"
        elif opts.heartbeat_ivl > 0:
            self._timer("ping", opts.heartbeat_ivl / 1000.0, self._send_ping)
            hb_timeout = (
                opts.heartbeat_timeout if opts.heartbeat_timeout > 0 else opts.heartbeat_ivl
            )
            self.heartbeat_timeout = max(self.heartbeat_timeout, hb_timeout / 1000.0)
            self.last_recv = self.loop.time()
            self._arm_ttl()
        if pipe.outq:
            self._drain()

    # -- heartbeats -----------------------------------------------------------------------

    def _send_ping(self) -> None:
        opts = self.sock.options
        with self.wlock:
            self.conn.send_ping(max(opts.heartbeat_ttl, 0) / 1000.0, b"")
            self._flush_locked()
        self._after_write()
        self._timer("ping", opts.heartbeat_ivl / 1000.0, self._send_ping)

    def _arm_ttl(self) -> None:
        self._timer("ttl", self.heartbeat_timeout, self._check_ttl)

    def _check_ttl(self) -> None:
        idle = self.loop.time() - self.last_recv
        if idle >= self.heartbeat_timeout:
            log.info(
                "purezmq: peer %s silent for %.1fs: heartbeat timeout", self.peer_address, idle
            )
            self.close()
        else:
            self._timer("ttl", self.heartbeat_timeout - idle, self._check_ttl)

    # -- writing --------------------------------------------------------------------------
    #
    # Output goes through ``wlock`` so that the application thread may write
    # itself (``kick`` on an idle connection: no thread hop, which is most of
    # a round trip's cost) while the loop thread writes handshakes, pings and
    # the bulk of a busy queue. Only the loop thread touches the loop; a
    # writer in another thread leaves ``_after_write`` work for it.

    def kick(self) -> None:
        """The pipe's outbound queue went non-empty (any thread).

        A lone message (request/reply) is written by the caller itself; in a
        stream of sends (kicks closer than DIRECT_GAP apart) the loop thread
        writes, so that messages queue up meanwhile and go out in batches --
        unless the socket had to wait for input since its last send
        (``sock.pingpong``: request/reply, where nothing would batch anyway).
        Streams are told apart per socket as well as per connection: a PUSH
        load-balancing over 1000 peers, or a PUB publishing to 100, kicks each
        connection seldom, yet the socket sends a stream; written here, each
        such message cost the sender one syscall (and kept every connection
        looking idle). So the caller writes only when the connection and the
        socket are both idle -- or the connection is idle and this message
        answers the peer whose request the socket just received (ROUTER:
        ``sock.answering``), which waits for it and has nothing to batch with.
        Kicks for the loop coalesce into one wake-up (``Reactor.post``).
        """
        now = _monotonic()
        gap = now - self.last_kick
        self.last_kick = now
        sock = self.sock
        sgap = now - sock.last_kick
        sock.last_kick = now
        if now >= sock._relieve_at:
            sock.relieve_io(now)
        if (
            sock.pingpong or (gap > DIRECT_GAP and (sgap > DIRECT_GAP or sock.answering))
        ) and self._drain_here():
            return
        if not self.kick_pending:
            self.kick_pending = True
            self.kick_at = now
            self.reactor.post(self._drain)

    def relieve(self, stale: float = STARVED) -> bool:
        """The pipe is at SNDHWM, or a publisher's queue is long (the socket's
        thread): write now if the loop is starved.

        A drain scheduled ``stale`` ago and not run means the loop thread cannot
        get the GIL: the application holds it and releases it only briefly (a
        syscall every millisecond or so keeps CPython's GIL waiters from asking
        for it). A PUB would then drop everything at SNDHWM while the kernel
        buffer sits empty; libzmq's I/O thread never starves. So the caller
        writes a batch itself. True if the queue has room now.
        """
        if not self.kick_pending or _monotonic() - self.kick_at < stale or not self._drain_here():
            return False
        self.kick_at = _monotonic()
        return True

    def _drain_here(self) -> bool:
        """Write queued messages in the calling thread, if the connection is ready
        and no other thread is writing it; the loop finishes what is left.
        False if it did not write.

        A lone message (a reply, a request: what kick writes here most) on a
        plain connection with nothing else pending goes out as its wire bytes
        (``frames.wire_bytes``) without the batch machinery of _drain_locked:
        ~40 bytecodes instead of ~200 (the same steps, for one message)."""
        if (
            not self.handshaken
            or self.write_blocked
            or self.closed
            or not self.wlock.acquire(False)
        ):
            return False
        try:
            pipe = self.pipe  # set whenever lone is (kick may come before: engine_ready)
            if (
                self.lone
                and len(q := pipe.outq) == 1  # type: ignore[union-attr]
                and not self.closed  # again, under the lock: close() may have won the race
                and not self.conn.out
                and self.conn.takes_encoded()  # not once the connection has finished
                and self.outbuf is None
                and not (self.failed or self.shut_wr)
                and (data := wire_bytes(q[0])) is not None
            ):
                q.popleft()
                if not pipe.out_active:  # type: ignore[union-attr]
                    pipe.popped()  # type: ignore[union-attr]
                # _write_locked's one-buffer case, inline.
                try:
                    sent = self.os_sock.send(data)
                except (BlockingIOError, InterruptedError):
                    sent = 0
                except OSError as e:
                    self.failed = f"write error: {e}"
                    sent = len(data)
                if sent < len(data):
                    self.outbuf = [memoryview(data)[sent:]] if sent else [data]
                    self.write_blocked = True
                more = bool(q) or pipe.drainer_idle()  # type: ignore[union-attr]
            else:
                more = self._drain_locked()
        finally:
            self.wlock.release()
        # More queued and a drain already scheduled (kick_pending is cleared as
        # a drain starts): it takes the rest, no need to wake the loop.
        if self.write_blocked or self.failed or (more and not self.kick_pending):
            self.reactor.call(self._after_write)
        return True

    def _drain(self) -> None:
        """Loop thread: write queued messages, then arrange for the rest."""
        self.kick_pending = False
        with self.wlock:
            more = self._drain_locked()
        if self.closed:
            return
        if self.failed or self.write_blocked:
            self._after_write()  # fail, or wait for writability
        elif more:
            # The next batch once the loop's other callbacks had their turn (not
            # through _after_write, which drains at once: a queue refilled
            # faster than it drains, SNDHWM above DRAIN_MSGS, recursed there).
            # Pending like a kick's, so that a starved loop shows (relieve).
            self.kick_pending = True
            self.kick_at = _monotonic()
            self.loop.call_soon(self._drain)
        elif self.closing and self._flushed():
            self._close_flushed()

    def _drain_locked(self) -> bool:
        """Encode and send up to DRAIN_MSGS messages; True if more are queued."""
        pipe = self.pipe
        if pipe is None or self.closed or self.write_blocked:
            return False
        q = pipe.outq
        if not q:
            return pipe.drainer_idle()
        n = len(q)
        if n == 1:
            batch = [q.popleft()]
        else:
            # popleft() called by islice in C: the drainer is the queue's only
            # reader, so the n it saw are there (messages are lists, never None).
            batch = list(islice(iter(q.popleft, None), min(n, DRAIN_MSGS)))
        if self.sock.fans_out_wire:  # the queue may hold wire bytes (Pipe.wire)
            self._send_wire(batch)
        elif self.sub_commands:
            self._send_with_subscriptions(batch)
        else:
            self.conn.send_messages(batch)
            if self.raw and self.conn.close_requested and not self.closing:  # type: ignore[attr-defined]
                # STREAM: the application closes this connection; it goes once flushed.
                self.closing = True
                self.reactor.call(self._drain)
        pipe.popped()
        self._flush_locked()
        return bool(q) or pipe.drainer_idle()

    def _send_wire(self, batch: list[Any]) -> None:
        """A PUB's batch: messages it encoded once for all its connections (bytes),
        with maybe a few it did not (big ones, those queued before the handshake).

        A connection that cannot take wire bytes -- finished after a protocol
        error, or a reconnect whose mechanism now encrypts -- gets them back as
        messages (a finished one drops them, as for any send)."""
        conn = self.conn
        if not conn.takes_encoded():
            conn.send_messages([wire_message(m) if type(m) is bytes else m for m in batch])
            return
        try:
            conn.send_encoded(b"".join(batch))
        except TypeError:  # runs of each kind, in order (big bodies still by reference)
            for encoded, run in groupby(batch, _is_bytes):
                if encoded:
                    conn.send_encoded(b"".join(run))
                else:
                    conn.send_messages(list(run))

    def _send_with_subscriptions(self, batch: list[Msg]) -> None:
        conn = self.conn
        if self.dish:  # everything a DISH queues is a join (b"J" group) or a leave (b"L")
            for msg in batch:
                data = bytes(msg[0])
                if data[:1] == b"J":
                    conn.send_join(data[1:])
                else:
                    conn.send_leave(data[1:])
            return
        for msg in batch:
            if len(msg) == 1 and len(msg[0]) and msg[0][0] in (0, 1):
                topic = bytes(msg[0][1:])
                if msg[0][0] == 1:
                    conn.send_subscribe(topic)
                else:
                    conn.send_cancel(topic)
            else:
                conn.send_message(msg)

    def _flush_locked(self) -> None:
        """Write what the connection has to say; keep the rest for writability."""
        bufs = self.conn.buffers_to_send()
        if not bufs or self.closed or self.failed or self.shut_wr:
            return
        if self.outbuf is not None:
            self.outbuf += bufs
            return
        self._write_locked(bufs)

    def _write_locked(self, bufs: list[Any]) -> None:
        """Send ``bufs`` (one ``send``, or ``sendmsg`` for several: large bodies
        are not joined); what the kernel does not take goes to ``outbuf``."""
        sock = self.os_sock
        nb = len(bufs)
        if nb == 1:  # the usual case, in short
            b = bufs[0]
            try:
                sent = sock.send(b)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as e:
                self.failed = f"write error: {e}"
                return
            if sent < len(b):
                self.outbuf = [memoryview(b)[sent:]] if sent else bufs
                self.write_blocked = True
            return
        i = 0
        while i < nb:
            part = bufs[i : i + _IOV_MAX] if i or nb > _IOV_MAX else bufs
            try:
                sent = sock.send(part[0]) if len(part) == 1 else sock.sendmsg(part)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError as e:
                self.failed = f"write error: {e}"
                return
            for b in part:
                n = len(b)
                if sent < n:
                    if sent:
                        bufs[i] = memoryview(b)[sent:]
                    self.outbuf = bufs[i:] if i else bufs
                    self.write_blocked = True
                    return
                sent -= n
                i += 1

    def _send_pending(self) -> None:
        """Loop thread: flush the connection's output (greeting, handshake)."""
        with self.wlock:
            self._flush_locked()
        self._after_write()

    def _after_write(self) -> None:
        """Loop thread: act on what a write left behind (failure, full kernel buffer)."""
        if self.closed:
            return
        if self.failed:
            self._fail(self.failed)
            return
        if self.write_blocked and not self.writer_armed:
            self.writer_armed = True
            self.loop.add_writer(self.fd, self._on_writable)
        elif self.pipe is not None and self.pipe.outq and not self.write_blocked:
            self._drain()

    def _on_writable(self) -> None:
        with self.wlock:
            bufs = self.outbuf
            if bufs is not None:
                self.outbuf = None
                self.write_blocked = False
                self._write_locked(bufs)
                if self.write_blocked and not self.failed:
                    return
            self.outbuf = None
            self.write_blocked = False
        self.writer_armed = False
        self.loop.remove_writer(self.fd)
        if self.failed:
            self._fail(self.failed)
            return
        self._drain()

    # -- failures ---------------------------------------------------------------------------

    def _fail(self, why: str) -> None:
        log.debug("purezmq: connection to %s lost: %s", self.peer_address or self.endpoint, why)
        pipe = self.pipe
        if self.raw and pipe is not None and not self.closing and self.sock.options.stream_notify:
            pipe.push([[b""]])  # STREAM: "the peer went away", after its last data
        if not self.handshaken and not self.closed:
            # As libzmq: a connection lost mid-handshake is a handshake failure.
            self._event(C.EVENT_HANDSHAKE_FAILED_NO_DETAIL, 0)
        self.broken = True
        self.close()

    def _protocol_error(self, why: str) -> None:
        log.warning(
            "purezmq: closing connection from %s: %s", self.peer_address or self.endpoint, why
        )
        if not self.handshaken:
            code = self.conn.failure_code
            self._event(C.EVENT_HANDSHAKE_FAILED_PROTOCOL, code)
        self.fatal = self.broken = True
        self.close()


asyncio_TimerHandle = Any
