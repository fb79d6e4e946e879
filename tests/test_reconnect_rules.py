"""When a connecting socket tries again, and what its monitor says, against libzmq.

libzmq's rules (session_base.cpp engine_error, stream_engine_base.cpp error,
tcp_connecter.cpp): a connection lost or timed out reconnects; a protocol
error (incompatible socket types, a mechanism mismatch seen in the greeting,
a malformed frame, ERROR from the peer) ends the connecting session for good;
every engine that ends, handshaken or not, reports EVENT_DISCONNECTED; a
refused connect reports CONNECT_DELAYED (tcp: EINPROGRESS), CLOSED (its
descriptor), CONNECT_RETRIED. Each scenario runs with libzmq (pyzmq) as the
connecting socket too: it is the oracle the purezmq run is compared with.
"""

from __future__ import annotations

import socket
import struct
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import zmq as lz

import purezmq

pytestmark = pytest.mark.timeout(60)


def _events(mod: Any, mon: Any, seconds: float) -> list[str]:
    """Every monitor event name seen for ``seconds``."""
    out: list[str] = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if mon.poll(max(1, int(left * 1000))):
            event, _value = struct.unpack("=HI", mon.recv_multipart()[0][:6])
            out.append(mod.Event(event).name)
    return out


def _connecting(impl: str, ctx: Any, lzctx: Any) -> tuple[Any, Any]:
    return (purezmq, ctx) if impl == "purezmq" else (lz, lzctx)


def _watched_connect(mod: Any, c: Any, kind: str, endpoint: str, ivl: int = 20) -> tuple[Any, Any]:
    """A ``kind`` socket (linger 0, RECONNECT_IVL ``ivl``) with its monitor,
    connected to ``endpoint`` once the monitor is there."""
    s = c.socket(getattr(mod, kind))
    s.linger = 0
    s.reconnect_ivl = ivl
    mon = s.get_monitor_socket()
    s.connect(endpoint)
    return s, mon


@pytest.mark.parametrize("binder", ["purezmq", "libzmq"])
@pytest.mark.parametrize("connector", ["purezmq", "libzmq"])
def test_incompatible_socket_type_is_not_retried(
    connector: str, binder: str, ctx: Any, lzctx: Any
) -> None:
    """A PUSH connecting to a PUB fails its handshake once and never comes back;
    the PUSH still serves its other endpoints."""
    bmod, bctx = _connecting(binder, ctx, lzctx)
    pub = bctx.socket(bmod.PUB)
    pub.linger = 0
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    mod, cctx = _connecting(connector, ctx, lzctx)
    push, mon = _watched_connect(mod, cctx, "PUSH", f"tcp://127.0.0.1:{port}")
    seen = Counter(_events(mod, mon, 0.8))
    assert seen["CONNECTED"] == 1, seen  # 0.8 s at 20 ms: ~40 tries if it retried
    assert seen["DISCONNECTED"] == 1, seen
    assert seen["CONNECT_RETRIED"] == 0, seen
    pull = cctx.socket(mod.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull_port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{pull_port}")
    push.send(b"still here")
    if connector == "purezmq":
        assert pull.recv() == b"still here"
    # libzmq keeps the failed endpoint's pipe (without IMMEDIATE) and queues the
    # message there for good (libzmq issue #4196, "zombie endpoint"); purezmq
    # drops that pipe with the endpoint, so the message reaches the live peer.
    mon.close(linger=0)


@pytest.mark.parametrize("connector", ["purezmq", "libzmq"])
def test_mechanism_mismatch_is_not_retried(connector: str, ctx: Any, lzctx: Any) -> None:
    """A NULL client meeting purezmq's CURVE server: HANDSHAKE_FAILED_PROTOCOL,
    DISCONNECTED, and no retry (purezmq's server sends its whole greeting at once,
    so the client always sees the mismatch)."""
    public, secret = purezmq.curve_keypair()
    server = ctx.socket(purezmq.ROUTER)
    server.linger = 0
    server.curve_server = True
    server.curve_secretkey = secret
    port = server.bind_to_random_port("tcp://127.0.0.1")
    mod, cctx = _connecting(connector, ctx, lzctx)
    _client, mon = _watched_connect(mod, cctx, "DEALER", f"tcp://127.0.0.1:{port}")
    seen = _events(mod, mon, 0.8)
    assert seen.count("HANDSHAKE_FAILED_PROTOCOL") == 1, seen
    assert seen[-1] == "DISCONNECTED", seen
    assert "CONNECT_RETRIED" not in seen, seen
    mon.close(linger=0)


@pytest.mark.parametrize("connector", ["purezmq", "libzmq"])
def test_lost_handshake_is_retried_with_disconnected(connector: str, ctx: Any, lzctx: Any) -> None:
    """A peer that accepts and closes at once: HANDSHAKE_FAILED_NO_DETAIL,
    DISCONNECTED, CONNECT_RETRIED -- and again."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    srv.settimeout(5)
    mod, cctx = _connecting(connector, ctx, lzctx)
    _c, mon = _watched_connect(mod, cctx, "DEALER", f"tcp://127.0.0.1:{srv.getsockname()[1]}")
    for _ in range(2):
        conn, _addr = srv.accept()
        conn.close()
    seen = _events(mod, mon, 0.3)
    srv.close()
    first = seen[: seen.index("CONNECT_RETRIED") + 1]
    assert first == [
        "CONNECT_DELAYED",
        "CONNECTED",
        "HANDSHAKE_FAILED_NO_DETAIL",
        "DISCONNECTED",
        "CONNECT_RETRIED",
    ], seen
    assert seen.count("CONNECTED") >= 2, seen
    mon.close(linger=0)


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_refused_connect_events_match_libzmq(
    transport: str, ctx: Any, lzctx: Any, tmp_path: Path
) -> None:
    """Nobody listening: the first events of each library are the same names in
    the same order (tcp: CONNECT_DELAYED, CLOSED, CONNECT_RETRIED; ipc: CLOSED,
    CONNECT_RETRIED)."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))  # bound, not listening: refused
    if transport == "tcp":
        ep = f"tcp://127.0.0.1:{holder.getsockname()[1]}"
    else:
        ep = f"ipc://{tmp_path}/nobody"
    runs = {}
    for name, mod, c in (("purezmq", purezmq, ctx), ("libzmq", lz, lzctx)):
        s, mon = _watched_connect(mod, c, "DEALER", ep, ivl=50)
        runs[name] = _events(mod, mon, 0.3)
        mon.close(linger=0)
        s.close()
    holder.close()
    n = 3 if transport == "tcp" else 2
    assert runs["purezmq"][:n] == runs["libzmq"][:n], runs
    assert runs["purezmq"][n - 1] == "CONNECT_RETRIED", runs


@pytest.mark.parametrize("server", ["purezmq", "libzmq"])
def test_zap_refusal_events_on_the_server(server: str, ctx: Any, lzctx: Any) -> None:
    """A PLAIN server whose ZAP handler says 400: ACCEPTED, HANDSHAKE_FAILED_AUTH
    (400), DISCONNECTED, as libzmq's."""
    import threading

    mod, sctx = _connecting(server, ctx, lzctx)
    zap = sctx.socket(mod.REP)
    zap.linger = 0
    zap.bind("inproc://zeromq.zap.01")

    def handler() -> None:
        try:
            request = zap.recv_multipart()
            zap.send_multipart([request[0], request[1], b"400", b"no", b"", b""])
        except Exception:  # the context ends under it
            pass

    t = threading.Thread(target=handler, daemon=True)
    t.start()
    srv = sctx.socket(mod.PULL)
    srv.linger = 0
    srv.plain_server = True
    mon = srv.get_monitor_socket()
    port = srv.bind_to_random_port("tcp://127.0.0.1")
    c = lzctx.socket(lz.PUSH)
    c.linger = 0
    c.plain_username, c.plain_password = b"u", b"p"
    c.connect(f"tcp://127.0.0.1:{port}")
    seen = [e for e in _events(mod, mon, 0.6) if e != "LISTENING"]
    assert seen[:3] == ["ACCEPTED", "HANDSHAKE_FAILED_AUTH", "DISCONNECTED"], seen
    mon.close(linger=0)
    t.join(2)
