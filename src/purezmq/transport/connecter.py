"""Connect side of tcp/ipc (and ws/wss, tcp underneath): connect, reconnect with
back-off, keep the pipe.

With SOCKS_PROXY set, a tcp connect goes to the proxy, which is asked
(transport/socks.py) to connect to the endpoint before ZMTP starts.

Unless IMMEDIATE is set (or the socket identifies peers by routing id, like
ROUTER), the pipe exists from ``connect()`` on and survives reconnects, so
messages sent before the connection is up, or while it is down, wait in it
(up to SNDHWM) as libzmq's do.
"""

from __future__ import annotations

import errno
import logging
import random
import socket
from typing import TYPE_CHECKING, Any

from purezmq import constants as C
from purezmq.error import ZMQError
from purezmq.transport import endpoint as E
from purezmq.transport import session
from purezmq.transport.engine import StreamEngine
from purezmq.transport.session import describe_peer, new_pipe
from purezmq.transport.socks import Socks5Client, SocksError

if TYPE_CHECKING:
    from purezmq.core.pipe import Pipe
    from purezmq.core.socketbase import SocketBase
    from purezmq.runtime.iothread import Reactor
    from purezmq.transport.ws import WsTransport
    from purezmq.zmtp import HandshakeComplete

log = logging.getLogger("purezmq")


def proxy_endpoint(proxy: bytes) -> E.Endpoint:
    """SOCKS_PROXY's ``host:port`` as a tcp endpoint to connect to (EINVAL if not one)."""
    text = proxy.rstrip(b"\x00").decode("utf-8", "replace")
    try:
        return E.parse_endpoint(f"tcp://{text}", connect=True)
    except E.EndpointError as e:
        raise ZMQError(C.EINVAL, f"SOCKS_PROXY {text!r} is not host:port ({e})") from None


class Connecter:
    """Keeps one outgoing connection alive for a socket."""

    def __init__(
        self,
        reactor: Reactor,
        sock: SocketBase,
        ep: E.Endpoint,
        endpoint: str,
        routing_id: bytes = b"",
        ws: WsTransport | None = None,
    ) -> None:
        self.reactor = reactor
        self.loop = reactor.loop
        self.sock = sock
        self.ep = ep
        self.endpoint = endpoint
        self.routing_id = routing_id  # CONNECT_ROUTING_ID given for this peer
        self.ws = ws  # ws:// or wss://: the engine speaks ZWS (transport/ws.py)
        self.pipe: Pipe | None = None
        self.engine: StreamEngine | None = None
        self.pending: socket.socket | None = None  # connect in progress
        self.timer: Any = None
        self.connect_timer: Any = None
        self.linger_timer: Any = None
        self.closing = False
        self.done = False
        self.ivl = sock.options.reconnect_ivl
        self.ever_connected = False
        # SOCKS_PROXY (tcp only): connect to the proxy, which connects to ``target``.
        self.target: E.Endpoint | None = None
        self.socks: Socks5Client | None = None
        proxy = bytes(sock.options.socks_proxy or b"")
        if proxy and ep.transport == "tcp":
            self.target = ep
            self.ep = proxy_endpoint(proxy)
        if not sock.options.immediate:
            self.pipe = self._new_pipe()
            sock.attach_pipe(self.pipe)

    def _new_pipe(self) -> Pipe:
        """The session pipe; a ROUTER learns the peer's id from the handshake."""
        pipe = new_pipe(self.sock, self.endpoint)
        if self.sock.recv_routing_id:
            pipe.routing_id = self.routing_id
            pipe.awaiting_id = not self.routing_id
        return pipe

    # -- connecting (loop thread) ----------------------------------------------------------

    def start(self) -> None:
        self.sock.engine_started(self)
        self._connect()

    def _connect(self) -> None:
        self.timer = None
        if self.done:
            return
        if E.needs_resolution(self.ep):
            ipv6 = bool(self.sock.options.ipv6)
            try:
                fut = self.loop.run_in_executor(
                    None, lambda: E.resolve_connect_address(self.ep, ipv6=ipv6)
                )
            except RuntimeError:
                # The interpreter is exiting (threading's shutdown ran, so no
                # executor takes work) while sockets flush within LINGER:
                # resolve here, blocking this loop as briefly as DNS allows.
                try:
                    address = E.resolve_connect_address(self.ep, ipv6=ipv6)
                except OSError as e:
                    self._retry(e.errno or 0)
                    return
                self._connect_to(address)
                return
            fut.add_done_callback(self._resolved)
            return
        self._connect_to(None)

    def _resolved(self, fut: Any) -> None:
        if self.done:
            return
        try:
            address = fut.result()
        except OSError as e:
            self._retry(e.errno or 0)
            return
        self._connect_to(address)

    def _connect_to(self, address: Any) -> None:
        opts = self.sock.options
        try:
            s, in_progress = E.start_connect(
                self.ep,
                ipv6=bool(opts.ipv6),
                sndbuf=opts.sndbuf,
                rcvbuf=opts.rcvbuf,
                tos=opts.tos,
                tcp_keepalive=opts.tcp_keepalive,
                tcp_keepalive_cnt=opts.tcp_keepalive_cnt,
                tcp_keepalive_idle=opts.tcp_keepalive_idle,
                tcp_keepalive_intvl=opts.tcp_keepalive_intvl,
                tcp_maxrt=opts.tcp_maxrt,
                address=address,
            )
        except OSError as e:
            fd = getattr(e, "fd", -1)
            if fd >= 0:  # as libzmq: the socket it tried with is closed, then a retry
                self.sock.event(C.EVENT_CLOSED, fd, self.endpoint)
            self._retry(e.errno or 0)
            return
        if in_progress:
            self.sock.event(C.EVENT_CONNECT_DELAYED, errno.EINPROGRESS, self.endpoint)
        session.tune_socket(s, opts)
        self.pending = s
        self.loop.add_writer(s.fileno(), self._on_connected)
        if opts.connect_timeout > 0:
            self.connect_timer = self.loop.call_later(
                opts.connect_timeout / 1000.0, self._connect_timed_out
            )

    def _connect_timed_out(self) -> None:
        self.connect_timer = None
        if self.pending is not None:
            self._drop_pending()
            self._retry(errno.ETIMEDOUT)

    def _drop_pending(self) -> None:
        """Close the connect in progress; EVENT_CLOSED tells of its socket, as
        libzmq's connecters' close() does (a failed or timed-out attempt, a
        refused SOCKS handshake, the socket closing meanwhile)."""
        s = self.pending
        self.pending = None
        if s is not None:
            self.sock.event(C.EVENT_CLOSED, s.fileno(), self.endpoint)
            try:
                self.loop.remove_writer(s.fileno())
                self.loop.remove_reader(s.fileno())  # a SOCKS handshake's
            except (ValueError, OSError):
                pass
            s.close()

    def _on_connected(self) -> None:
        s = self.pending
        if s is None:
            return
        self.loop.remove_writer(s.fileno())
        if self.connect_timer is not None:
            self.connect_timer.cancel()
            self.connect_timer = None
        err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._drop_pending()
            self._retry(err)
            return
        if self.target is not None:
            self._socks_start(s)
            return
        self.pending = None
        self._start_engine(s)

    def _start_engine(self, s: socket.socket) -> None:
        self.sock.event(C.EVENT_CONNECTED, s.fileno(), self.endpoint)
        self.ivl = self.sock.options.reconnect_ivl
        engine = StreamEngine(
            self.reactor, self.sock, s, self, self.endpoint, E.peer_address(s), ws=self.ws
        )
        engine.closing = self.closing
        self.engine = engine
        engine.start()

    # -- SOCKS_PROXY (transport/socks.py drives the handshake) ----------------------------

    def _socks_start(self, s: socket.socket) -> None:
        """Connected to the proxy: ask it for the endpoint (``pending`` stays ``s``)."""
        opts = self.sock.options
        target = self.target
        assert target is not None
        self.socks = Socks5Client(
            target.host, target.port, bytes(opts.socks_username), bytes(opts.socks_password)
        )
        try:
            s.send(self.socks.greeting())  # 3 octets on a fresh connection: taken whole
        except OSError as e:
            self._drop_pending()
            self._retry(e.errno or 0)
            return
        self.loop.add_reader(s.fileno(), self._socks_readable)
        if opts.handshake_ivl > 0:
            self.connect_timer = self.loop.call_later(
                opts.handshake_ivl / 1000.0, self._socks_failed, "no answer (HANDSHAKE_IVL)"
            )

    def _socks_readable(self) -> None:
        s, client = self.pending, self.socks
        if s is None or client is None:
            return
        try:
            data = s.recv(client.need())
            if not data:
                raise SocksError("the proxy closed the connection")
            out = client.feed(data)
            if out:
                s.sendall(out)  # a few octets, once per step: the buffer is empty
        except (BlockingIOError, InterruptedError):
            return
        except (OSError, SocksError) as e:
            self._socks_failed(str(e))
            return
        if client.done:
            self.loop.remove_reader(s.fileno())
            if self.connect_timer is not None:
                self.connect_timer.cancel()
                self.connect_timer = None
            self.pending = self.socks = None
            self._start_engine(s)

    def _socks_failed(self, why: str) -> None:
        self.connect_timer = None
        log.warning("purezmq: SOCKS5 proxy for %s: %s", self.endpoint, why)
        self.socks = None
        self._drop_pending()  # its reader too
        self._retry(errno.ECONNREFUSED if "refused" in why else 0)

    def _retry(self, err: int) -> None:
        """Schedule the next attempt with libzmq's back-off (ivl + jitter, doubling to max)."""
        opts = self.sock.options
        stop = opts.reconnect_stop
        if (
            self.done
            or opts.reconnect_ivl < 0
            or (err == errno.ECONNREFUSED and stop & C.RECONNECT_STOP_CONN_REFUSED)
            or (self.closing and stop & C.RECONNECT_STOP_AFTER_DISCONNECT)
        ):
            self._finish()
            return
        base = max(self.ivl, 1)
        delay = base + random.randrange(max(opts.reconnect_ivl, 1))
        if opts.reconnect_ivl_max > opts.reconnect_ivl > 0:
            self.ivl = min(self.ivl * 2, opts.reconnect_ivl_max)
        self.sock.event(C.EVENT_CONNECT_RETRIED, delay, self.endpoint)
        self.timer = self.loop.call_later(delay / 1000.0, self._connect)

    # -- EngineHost ----------------------------------------------------------------------------

    def engine_ready(self, engine: StreamEngine, info: HandshakeComplete) -> Pipe | None:
        self.ever_connected = True
        pipe = self.pipe
        if pipe is None:
            pipe = new_pipe(self.sock, self.endpoint)
            pipe.routing_id = self.routing_id
            describe_peer(pipe, info, engine.peer_address)
            session.connection_ready(self.sock, pipe)
            pipe.peer = engine
            self.sock.post_attach(pipe)
            if self.sock.recv_routing_id or self.sock.options.immediate:
                self.pipe = pipe
            return pipe
        describe_peer(pipe, info, engine.peer_address)
        reconnected = pipe.peer is None and getattr(self, "_had_engine", False)
        session.connection_ready(self.sock, pipe)
        pipe.peer = engine
        self._had_engine = True
        if pipe.awaiting_id:
            pipe.awaiting_id = False
            self.sock.post_identified(pipe)
        if reconnected:
            self.sock.post_hiccuped(pipe)
        return pipe

    def engine_closed(self, engine: StreamEngine, handshaken: bool) -> None:
        self.engine = None
        if engine.raw and engine.closing and not self.closing:
            # A STREAM application closed this connection itself: no reconnect.
            self.closing = True
        pipe = engine.pipe
        opts = self.sock.options
        stop = opts.reconnect_stop
        # RECONNECT_STOP: a failed handshake, or a disconnect() / close(), ends it here.
        stop_now = (
            (not handshaken and stop & C.RECONNECT_STOP_HANDSHAKE_FAILED)
            or (self.closing and stop & C.RECONNECT_STOP_AFTER_DISCONNECT)
            # A protocol error, or the peer sent ERROR (a ZAP refusal, mostly: RFC 37
            # says do not come back with the same credentials): libzmq's session ends.
            or engine.fatal
        )
        if pipe is not None:
            if not self.closing:
                session.connection_ended(self.sock, pipe, handshaken, connected=True)
            if self.sock.recv_routing_id or self.sock.options.immediate:
                # The next connection may be a different peer: a fresh pipe.
                self.pipe = None
                self.sock.post_terminated(pipe)
                if not self.sock.options.immediate and not self.closing and not stop_now:
                    self.pipe = self._new_pipe()
                    self.sock.post_attach(self.pipe)
            else:
                pipe.peer = None
        if stop_now or (self.closing and (self.pipe is None or not self.pipe.outq or self.done)):
            self._finish()
            return
        self._retry(0)

    # -- shutdown ---------------------------------------------------------------------------------

    def close(self, linger: int) -> None:
        """Stop (loop thread). Queued messages get ``linger`` ms to go out.

        A live engine always gets the linger, even with the pipe empty: it may
        still hold output the kernel has not taken (``outbuf``), and on ipc it
        waits for the peer to read what it wrote (``StreamEngine.terminate``);
        its ``engine_closed`` then finishes us.
        """
        self.closing = True
        pending_out = self.pipe is not None and bool(self.pipe.outq)
        if linger == 0 or not (pending_out or self.engine is not None):
            self.done = True
        elif linger > 0:
            self.linger_timer = self.loop.call_later(linger / 1000.0, self._linger_expired)
        if self.engine is not None:
            self.engine.terminate(0 if self.done else linger)
            return
        if self.done:
            self._finish()

    def _linger_expired(self) -> None:
        self.done = True
        if self.engine is not None:
            self.engine.close()
        else:
            self._finish()

    def _finish(self) -> None:
        self.done = True
        for t in (self.timer, self.connect_timer, self.linger_timer):
            if t is not None:
                t.cancel()
        self.timer = self.connect_timer = self.linger_timer = None
        self._drop_pending()
        if self.pipe is not None:
            pipe, self.pipe = self.pipe, None
            self.sock.post_terminated(pipe)
        self.sock.engine_finished(self)
