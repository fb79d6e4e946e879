"""Pipe creation for a connection that finished its handshake (shared by bind and connect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from purezmq.core.pipe import Pipe

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase
    from purezmq.zmtp import HandshakeComplete


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
