"""What a connection gets from its socket when it starts and when it ends (bind and connect).

libzmq's session_t, in functions the listener and the connecter call:

- ``new_pipe``/``describe_peer``: the pipe of a handshaken connection, with the
  socket's high-water marks and the peer's properties and routing id.
- ``tune_socket``: per-connection OS options (PRIORITY, BUSY_POLL: Linux's
  SO_PRIORITY and SO_BUSY_POLL, as libzmq sets them on its tcp sockets).
- ``connection_ready``/``connection_ended``: the draft options that put
  messages in a pipe when a connection comes or goes, as libzmq's session
  and engine do: HELLO_MSG (the first message on every new connection, ahead
  of anything queued: DEALER, ROUTER, CLIENT, SERVER, PEER), ROUTER_NOTIFY
  (ROUTER receives ``[routing id, b""]`` when a peer connects and/or
  disconnects, tcp/ipc only), DISCONNECT_MSG (ROUTER, SERVER, PEER receive
  it from an accepted peer whose connection ended after its handshake) and
  HICCUP_MSG (DEALER, CLIENT, PEER receive it from a connected peer whose
  connection ended after its handshake; the pipe lives on, reconnecting).

Rules: these run on the I/O loop, touch only the pipe's queues (``push``,
which activates the reader as any input does) and never the pattern state,
and nothing is added once the socket is closing.
"""

from __future__ import annotations

import logging
import socket
import sys
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.core.pipe import Pipe

if TYPE_CHECKING:
    from purezmq.core.options import SocketOptions
    from purezmq.core.socketbase import SocketBase
    from purezmq.zmtp import HandshakeComplete

log = logging.getLogger("purezmq")

HELLO_SENDERS = frozenset({C.DEALER, C.ROUTER, C.CLIENT, C.SERVER, C.PEER})
DISCONNECT_RECEIVERS = frozenset({C.ROUTER, C.SERVER, C.PEER})
HICCUP_RECEIVERS = frozenset({C.DEALER, C.CLIENT, C.PEER})

_LINUX = sys.platform.startswith("linux")
_SO_PRIORITY = getattr(socket, "SO_PRIORITY", 12 if _LINUX else None)
_SO_BUSY_POLL = getattr(socket, "SO_BUSY_POLL", 46 if _LINUX else None)


def new_pipe(sock: SocketBase, endpoint: str) -> Pipe:
    """A pipe with the socket's current high-water marks."""
    opts = sock.options
    pipe = Pipe(sock, out_hwm=opts.sndhwm, in_hwm=opts.rcvhwm, endpoint=endpoint)
    pipe.conflate = bool(opts.conflate)  # before the engine pushes anything
    return pipe


def describe_peer(pipe: Pipe, info: HandshakeComplete, peer_address: str) -> None:
    """Record the peer's properties (Frame.get) and routing id on the pipe."""
    meta = {k: v.decode("utf-8", "replace") for k, v in info.peer_metadata.items()}
    meta["Peer-Address"] = peer_address
    # No "User-Id" unless the mechanism/ZAP gave one: libzmq's Frame.get raises EINVAL then.
    pipe.metadata = meta
    if pipe.sock.recv_routing_id and not pipe.routing_id:
        pipe.routing_id = info.peer_routing_id


def tune_socket(os_sock: socket.socket, opts: SocketOptions) -> None:
    """PRIORITY and BUSY_POLL on a tcp connection (Linux; elsewhere the options are
    refused when set). A refusal by the kernel (PRIORITY > 6 needs CAP_NET_ADMIN)
    is logged and the connection goes on, as libzmq's does."""
    if os_sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    for value, name, num in (
        (opts.priority, "PRIORITY", _SO_PRIORITY),
        (opts.busy_poll, "BUSY_POLL", _SO_BUSY_POLL),
    ):
        if value and num is not None:
            try:
                os_sock.setsockopt(socket.SOL_SOCKET, num, value)
            except OSError as e:
                log.warning("purezmq: %s=%d refused by the kernel: %s", name, value, e)


def connection_ready(sock: SocketBase, pipe: Pipe) -> None:
    """A connection finished its handshake and feeds ``pipe`` (loop thread, before
    ``pipe.peer`` is set, so nothing the application sends gets ahead of HELLO_MSG)."""
    opts = sock.options
    if opts.hello_msg and sock.type in HELLO_SENDERS:
        pipe.outq.appendleft([opts.hello_msg])
    if sock.type == C.ROUTER and opts.router_notify & C.NOTIFY_CONNECT:
        pipe.push([[b""]])


def connection_ended(sock: SocketBase, pipe: Pipe, handshaken: bool, connected: bool) -> None:
    """The connection feeding ``pipe`` ended (loop thread, before the pipe is let go).

    ``connected``: we connected (else accepted). Only a handshaken connection of a
    socket still open gets ROUTER_NOTIFY's, DISCONNECT_MSG's or HICCUP_MSG's message.
    """
    if not handshaken or sock.closed:
        return
    opts = sock.options
    if sock.type == C.ROUTER and opts.router_notify & C.NOTIFY_DISCONNECT:
        pipe.push([[b""]])
    if connected:
        if opts.hiccup_msg and sock.type in HICCUP_RECEIVERS:
            pipe.push([[opts.hiccup_msg]])
    elif opts.disconnect_msg and sock.type in DISCONNECT_RECEIVERS:
        pipe.push([[opts.disconnect_msg]])
