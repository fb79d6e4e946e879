"""Bind side of tcp/ipc (and ws/wss, tcp underneath): accept connections, one
engine and one pipe each.

A pipe is created when a connection completes its handshake and torn down
when the connection ends (messages queued for it are dropped, as in libzmq).
"""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.transport import endpoint as E
from purezmq.transport import session
from purezmq.transport.engine import StreamEngine
from purezmq.transport.session import describe_peer, new_pipe

if TYPE_CHECKING:
    from purezmq.core.pipe import Pipe
    from purezmq.core.socketbase import SocketBase
    from purezmq.runtime.iothread import Reactor
    from purezmq.transport.ws import WsTransport
    from purezmq.zmtp import HandshakeComplete

log = logging.getLogger("purezmq")


class Listener:
    """A listening OS socket on the reactor's loop."""

    def __init__(
        self,
        reactor: Reactor,
        sock: SocketBase,
        os_sock: socket.socket,
        endpoint: str,
        ws: WsTransport | None = None,
    ) -> None:
        self.reactor = reactor
        self.loop = reactor.loop
        self.sock = sock
        self.os_sock = os_sock
        self.endpoint = endpoint
        self.ws = ws  # ws:// or wss://: the engines speak ZWS (transport/ws.py)
        self.engines: set[StreamEngine] = set()
        self.closed = False

    def start(self) -> None:
        self.loop.add_reader(self.os_sock.fileno(), self._on_accept)
        self.sock.event(C.EVENT_LISTENING, self.os_sock.fileno(), self.endpoint)

    def _on_accept(self) -> None:
        opts = self.sock.options
        for _ in range(64):
            try:
                conn, _addr = self.os_sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.sock.event(C.EVENT_ACCEPT_FAILED, e.errno or 0, self.endpoint)
                return
            try:
                E.configure_accepted(
                    conn,
                    sndbuf=opts.sndbuf,
                    rcvbuf=opts.rcvbuf,
                    tos=opts.tos,
                    tcp_keepalive=opts.tcp_keepalive,
                    tcp_keepalive_cnt=opts.tcp_keepalive_cnt,
                    tcp_keepalive_idle=opts.tcp_keepalive_idle,
                    tcp_keepalive_intvl=opts.tcp_keepalive_intvl,
                    tcp_maxrt=opts.tcp_maxrt,
                )
                session.tune_socket(conn, opts)
            except OSError:
                conn.close()
                continue
            self.sock.event(C.EVENT_ACCEPTED, conn.fileno(), self.endpoint)
            engine = StreamEngine(
                self.reactor,
                self.sock,
                conn,
                self,
                self.endpoint,
                E.peer_address(conn),
                as_server=True,
                ws=self.ws,
            )
            self.engines.add(engine)
            self.sock.engine_started(engine)
            engine.start()

    # EngineHost
    def engine_ready(self, engine: StreamEngine, info: HandshakeComplete) -> Pipe | None:
        if self.closed:
            return None
        pipe = new_pipe(self.sock, self.endpoint)
        describe_peer(pipe, info, engine.peer_address)
        session.connection_ready(self.sock, pipe)
        pipe.peer = engine
        self.sock.post_attach(pipe)  # refused later? the socket disconnects us
        return pipe

    def engine_closed(self, engine: StreamEngine, handshaken: bool) -> None:
        self.engines.discard(engine)
        if engine.pipe is not None:
            if not engine.closing:
                session.connection_ended(self.sock, engine.pipe, handshaken, connected=False)
            self.sock.post_terminated(engine.pipe)
        self.sock.engine_finished(engine)

    def close(self, linger: int) -> None:
        """Stop listening; connections flush within ``linger`` then close (loop thread)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.loop.remove_reader(self.os_sock.fileno())
        except (ValueError, OSError):
            pass
        E.close_listener(self.os_sock)
        self.sock.event(C.EVENT_CLOSED, 0, self.endpoint)
        for engine in list(self.engines):
            engine.terminate(linger)
