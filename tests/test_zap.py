"""ZAP (RFC 27) from the server's side: purezmq servers ask a handler socket.

The handler here is a bare REP (or ROUTER) socket bound at
inproc://zeromq.zap.01 and served by a thread of the test, so every frame
of the request and reply is visible. Clients are libzmq (pyzmq) and
purezmq. What libzmq 4.3.5 itself does was checked with the same handler
on a libzmq server: the request frames, NULL asking only with a ZAP domain
(on whichever side has one), the monitor events per status code.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import purezmq
from purezmq.utils.monitor import recv_monitor_message
from tests.helpers import mk

pytestmark = pytest.mark.timeout(30)
zmq = pytest.importorskip("zmq")
pytest.importorskip("nacl.bindings")

Reply = Callable[[list[bytes]], list[bytes] | None]


def ok_reply(user: bytes = b"the-user", metadata: bytes = b"") -> Reply:
    def reply(req: list[bytes]) -> list[bytes]:
        return [req[0], req[1], req[2], b"200", b"OK", user, metadata]

    return reply


def status_reply(code: bytes) -> Reply:
    def reply(req: list[bytes]) -> list[bytes]:
        return [req[0], req[1], req[2], code, b"no", b"", b""]

    return reply


class Handler:
    """A ZAP handler thread: records requests, answers with ``reply(request)``.

    ``reply`` gets ``["", version, request id, ...]`` and returns the reply in
    the same shape, or None to answer later with ``answer(i, reply)``.
    """

    def __init__(self, ctx: purezmq.Context, reply: Reply, kind: int = purezmq.REP) -> None:
        self.sock = ctx.socket(kind)
        self.sock.linger = 0
        self.sock.bind("inproc://zeromq.zap.01")
        self.router = kind == purezmq.ROUTER
        self.reply = reply
        self.requests: list[list[bytes]] = []
        self.envelopes: list[list[bytes]] = []
        self.outbox: queue.Queue[list[bytes]] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def answer(self, i: int, reply: list[bytes]) -> None:
        """Send the reply to request ``i`` later (needs a ROUTER handler)."""
        self.outbox.put(self.envelopes[i] + reply)

    def _run(self) -> None:
        try:
            while True:
                while not self.outbox.empty():
                    self.sock.send_multipart(self.outbox.get())
                if not self.sock.poll(10):
                    continue
                msg = self.sock.recv_multipart()
                # REP strips the envelope; ROUTER shows routing id + empty delimiter.
                envelope = msg[:1] if self.router else []
                req = msg[2:] if self.router else msg
                self.requests.append(req)
                self.envelopes.append(envelope)
                answer = self.reply([b"", *req])
                if answer is not None:
                    self.sock.send_multipart(envelope + (answer if self.router else answer[1:]))
        except purezmq.ZMQError:
            return


def events_until(mon: Any, wanted: int, timeout: float = 5.0) -> list[tuple[int, int]]:
    """Monitor events (event, value) up to and including the first ``wanted``."""
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mon.poll(50):
            m = recv_monitor_message(mon)
            seen.append((int(m["event"]), m["value"]))
            if int(m["event"]) == wanted:
                return seen
    raise AssertionError(f"event {wanted:#x} not seen; saw {[hex(e) for e, _ in seen]}")


def refused(server: Any, mon: Any, event: int) -> list[tuple[int, int]]:
    """Wait for ``event`` (a failed handshake) on ``mon``; nothing reached ``server``.

    Returns the monitor events seen, as ``events_until``.
    """
    seen = events_until(mon, event)
    with pytest.raises(purezmq.Again):
        server.recv()
    return seen


def secure(server: Any, client: Any, mech: str) -> list[bytes]:
    """Configure ``mech`` on both; return the credentials frames the handler should see."""
    if mech == "NULL":
        server.zap_domain = b"global"
        return []
    if mech == "PLAIN":
        server.plain_server = True
        client.plain_username = b"admin"
        client.plain_password = b"secret"
        return [b"admin", b"secret"]
    spub, ssec = purezmq.curve_keypair()
    cpub, csec = purezmq.curve_keypair()
    server.curve_server = True
    server.curve_secretkey = ssec
    client.curve_serverkey = spub
    client.curve_publickey = cpub
    client.curve_secretkey = csec
    return [purezmq.utils.z85.decode(cpub)]


def connect_tcp(server: Any, client: Any) -> int:
    """Bind ``server`` on a free local tcp port, connect ``client`` there; returns the port."""
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client.connect(f"tcp://127.0.0.1:{port}")
    return int(port)


@pytest.fixture(params=["libzmq", "purezmq"])
def client_ctx(request: Any, ctx: Any, lzctx: Any) -> Iterator[Any]:
    yield lzctx if request.param == "libzmq" else ctx


@pytest.mark.parametrize("mech", ["NULL", "PLAIN", "CURVE"])
def test_handler_accepts_with_user_id_and_metadata(ctx: Any, client_ctx: Any, mech: str) -> None:
    handler = Handler(ctx, ok_reply(b"alice", b"\x06X-Team\x00\x00\x00\x03red"))
    server = mk(ctx, purezmq.PULL, routing_id=b"srv-id")
    client = mk(client_ctx, zmq.PUSH)
    creds = secure(server, client, mech)
    connect_tcp(server, client)
    client.send(b"hello")
    frame = server.recv(copy=False)
    assert frame.bytes == b"hello"
    assert frame.get("User-Id") == "alice"
    assert frame.get("X-Team") == "red"
    (req,) = handler.requests
    domain = b"global" if mech == "NULL" else b""
    # version, request id, domain, address, identity (the server's own, as libzmq), mechanism
    assert req[0] == b"1.0" and req[1]
    assert req[2:] == [domain, b"127.0.0.1", b"srv-id", mech.encode(), *creds]


@pytest.mark.parametrize("code", [b"300", b"400", b"500"])
@pytest.mark.parametrize("mech", ["NULL", "PLAIN", "CURVE"])
def test_handler_refusal_keeps_messages_out(
    ctx: Any, client_ctx: Any, mech: str, code: bytes
) -> None:
    Handler(ctx, status_reply(code))
    server = mk(ctx, purezmq.PULL, rcvtimeo=300)
    mon = server.get_monitor_socket()
    client = mk(client_ctx, zmq.PUSH)
    secure(server, client, mech)
    connect_tcp(server, client)
    try:
        client.send(b"intruder", zmq.NOBLOCK)
    except (zmq.Again, purezmq.Again):
        # The refusal came first: libzmq drops a refused session's pipe
        # (protocol error), so there is nowhere to queue. Either way nothing gets in.
        pass
    seen = refused(server, mon, purezmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert seen[-1] == (purezmq.EVENT_HANDSHAKE_FAILED_AUTH, int(code))
    assert purezmq.EVENT_HANDSHAKE_SUCCEEDED not in [e for e, _ in seen]


def test_router_handler(ctx: Any, lzctx: Any) -> None:
    handler = Handler(ctx, ok_reply(b"bob"), kind=purezmq.ROUTER)
    server = mk(ctx, purezmq.PULL)
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "PLAIN")
    connect_tcp(server, client)
    client.send(b"via router")
    frame = server.recv(copy=False)
    assert (frame.bytes, frame.get("User-Id")) == (b"via router", "bob")
    assert len(handler.requests) == 1


def test_ipc_server_asks_zap(ctx: Any, lzctx: Any, tmp_path: Any) -> None:
    handler = Handler(ctx, ok_reply())
    server = mk(ctx, purezmq.PULL)
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "PLAIN")
    addr = f"ipc://{tmp_path}/zap.sock"
    server.bind(addr)
    client.connect(addr)
    client.send(b"over ipc")
    assert server.recv() == b"over ipc"
    assert handler.requests[0][5] == b"PLAIN"


def test_a_slow_decision_blocks_no_other_connection(ctx: Any, lzctx: Any) -> None:
    """The handler holds alice's request; bob gets in meanwhile, then alice does."""

    def reply(req: list[bytes]) -> list[bytes] | None:
        if req[7] == b"alice":
            return None  # decided later
        return [req[0], req[1], req[2], b"200", b"OK", req[7], b""]

    handler = Handler(ctx, reply, kind=purezmq.ROUTER)
    server = mk(ctx, purezmq.PULL)
    server.plain_server = True
    port = server.bind_to_random_port("tcp://127.0.0.1")
    alice = mk(lzctx, zmq.PUSH, plain_username=b"alice", plain_password=b"x")
    alice.connect(f"tcp://127.0.0.1:{port}")
    alice.send(b"from alice")
    deadline = time.monotonic() + 5
    while not handler.requests and time.monotonic() < deadline:
        time.sleep(0.005)
    assert handler.requests, "alice's request never reached the handler"
    bob = mk(lzctx, zmq.PUSH, plain_username=b"bob", plain_password=b"x")
    bob.connect(f"tcp://127.0.0.1:{port}")
    bob.send(b"from bob")
    frame = server.recv(copy=False)
    assert (frame.bytes, frame.get("User-Id")) == (b"from bob", "bob")
    assert server.poll(100) == 0  # alice still waits for her decision
    req = handler.requests[0]
    handler.answer(0, [b"", req[0], req[1], b"200", b"OK", b"alice", b""])
    frame = server.recv(copy=False)
    assert (frame.bytes, frame.get("User-Id")) == (b"from alice", "alice")


def test_handler_gone_fails_only_that_handshake(ctx: Any, lzctx: Any) -> None:
    """A request pending when the handler closes fails; the server goes on."""
    got = threading.Event()

    def reply(req: list[bytes]) -> list[bytes] | None:
        got.set()
        return None

    handler = Handler(ctx, reply)
    server = mk(ctx, purezmq.PULL, rcvtimeo=300)
    mon = server.get_monitor_socket()
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "PLAIN")
    connect_tcp(server, client)
    client.send(b"stranded")
    assert got.wait(5)
    handler.sock.close()
    seen = refused(server, mon, purezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert seen[-1] == (
        purezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL,
        purezmq.PROTOCOL_ERROR_ZAP_UNSPECIFIED,
    )


@pytest.mark.parametrize(
    "bad, value",
    [
        (lambda r: [r[0], b"2.0", r[2], b"200", b"", b"", b""], "BAD_VERSION"),
        (lambda r: [r[0], r[1], b"999999", b"200", b"", b"", b""], "BAD_REQUEST_ID"),
        (lambda r: [r[0], r[1], r[2], b"201", b"", b"", b""], "INVALID_STATUS_CODE"),
        (lambda r: [r[0], r[1], r[2], b"200"], "MALFORMED_REPLY"),
    ],
)
def test_malformed_reply_fails_that_handshake(ctx: Any, lzctx: Any, bad: Reply, value: str) -> None:
    """The bad reply costs admin's connection only: a later peer gets in."""

    def reply(req: list[bytes]) -> list[bytes] | None:
        return bad(req) if req[7] == b"admin" else ok_reply()(req)

    Handler(ctx, reply)
    server = mk(ctx, purezmq.PULL, rcvtimeo=300)
    mon = server.get_monitor_socket()
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "PLAIN")
    port = connect_tcp(server, client)
    client.send(b"x")
    seen = refused(server, mon, purezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert seen[-1][1] == getattr(purezmq, f"PROTOCOL_ERROR_ZAP_{value}")
    good = mk(lzctx, zmq.PUSH, plain_username=b"good", plain_password=b"pw")
    good.connect(f"tcp://127.0.0.1:{port}")
    good.send(b"still served")
    server.rcvtimeo = 3000
    assert server.recv() == b"still served"


def test_null_without_domain_never_asks(ctx: Any, lzctx: Any) -> None:
    handler = Handler(ctx, status_reply(b"400"))
    server = mk(ctx, purezmq.PULL)
    client = mk(lzctx, zmq.PUSH)
    connect_tcp(server, client)
    client.send(b"plain old NULL")
    assert server.recv() == b"plain old NULL"
    assert handler.requests == []


def test_null_client_with_domain_asks_too(ctx: Any, lzctx: Any) -> None:
    """As libzmq: NULL asks ZAP on whichever side has a domain, connecting ones too."""
    handler = Handler(ctx, ok_reply())
    server = mk(lzctx, zmq.PULL)
    client = mk(ctx, purezmq.PUSH, zap_domain=b"client-side")
    connect_tcp(server, client)
    client.send(b"asked")
    assert server.recv() == b"asked"
    assert [r[2] for r in handler.requests] == [b"client-side"]


@pytest.mark.parametrize("mech", ["NULL", "CURVE"])
def test_no_handler_lets_in_unless_domain_enforced(ctx: Any, lzctx: Any, mech: str) -> None:
    server = mk(ctx, purezmq.PULL)
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, mech)
    connect_tcp(server, client)
    client.send(b"in")
    assert server.recv() == b"in"

    strict = mk(ctx, purezmq.PULL, rcvtimeo=300, zap_enforce_domain=1)
    mon = strict.get_monitor_socket()
    client2 = mk(lzctx, zmq.PUSH)
    secure(strict, client2, mech)
    connect_tcp(strict, client2)
    client2.send(b"out")
    refused(strict, mon, purezmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


def test_handshake_ivl_bounds_the_wait_for_zap(ctx: Any, lzctx: Any) -> None:
    Handler(ctx, lambda req: None)  # never answers
    server = mk(ctx, purezmq.PULL, rcvtimeo=200, handshake_ivl=200)
    mon = server.get_monitor_socket()
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "PLAIN")
    connect_tcp(server, client)
    client.send(b"x")
    refused(server, mon, purezmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL)


def test_failed_curve_handshake_reports_libzmq_event(ctx: Any, lzctx: Any) -> None:
    """A client with the wrong server key: HANDSHAKE_FAILED_PROTOCOL, CRYPTOGRAPHIC, as libzmq."""
    server = mk(ctx, purezmq.PULL, rcvtimeo=200)
    mon = server.get_monitor_socket()
    client = mk(lzctx, zmq.PUSH)
    secure(server, client, "CURVE")
    client.curve_serverkey = purezmq.curve_keypair()[0]
    connect_tcp(server, client)
    client.send(b"x")
    seen = refused(server, mon, purezmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert seen[-1][1] == purezmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC


# -- the client's side of a ZAP refusal, against libzmq ------------------------------------


def _refusing_zap(lib: Any, c: Any) -> tuple[threading.Event, threading.Thread]:
    """A ZAP handler in context ``c`` (library ``lib``) that answers 400 to everyone."""
    h = c.socket(lib.REP)
    h.linger = 0
    h.rcvtimeo = 100
    h.bind("inproc://zeromq.zap.01")
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                req = h.recv_multipart()
            except lib.Again:
                continue
            h.send_multipart([req[0], req[1], b"400", b"denied", b"", b""])
        h.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    return stop, t


def _client_events(mon: Any, parse: Any, again: type[Exception], window: float) -> list[int]:
    """Monitor events seen within ``window`` seconds (bounded: a refusal is final)."""
    seen = []
    end = time.monotonic() + window
    while time.monotonic() < end:
        try:
            seen.append(int(parse(mon)["event"]))
        except again:
            pass
    return seen


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("client", ["purezmq", "libzmq"])
def test_client_refused_by_libzmq_zap_reports_auth_failure(
    ctx: purezmq.Context, lzctx: Any, mech: str, client: str
) -> None:
    """A client refused by a libzmq server's ZAP handler reports
    EVENT_HANDSHAKE_FAILED_AUTH with the status code (libzmq's
    mechanism_base_t::handle_error_reason on the ERROR command) and does not
    connect again (RFC 37; libzmq's session ends on the error) -- ours as libzmq's."""
    import zmq as pyzmq
    from zmq.utils.monitor import recv_monitor_message as lz_parse

    pz_parse = recv_monitor_message

    stop, t = _refusing_zap(pyzmq, lzctx)
    try:
        srv = lzctx.socket(pyzmq.REP)
        srv.linger = 0
        if client == "purezmq":
            cli, lib, parse, again = ctx.socket(purezmq.REQ), purezmq, pz_parse, purezmq.Again
        else:
            cli, lib, parse, again = lzctx.socket(pyzmq.REQ), pyzmq, lz_parse, pyzmq.Again
        cli.linger = 0
        cli.reconnect_ivl = 20
        if mech == "PLAIN":
            srv.plain_server = True
            cli.plain_username, cli.plain_password = b"user", b"wrong"
        else:
            spub, ssec = pyzmq.curve_keypair()
            cpub, csec = pyzmq.curve_keypair()
            srv.curve_server = True
            srv.curve_secretkey = ssec
            cli.curve_serverkey, cli.curve_publickey, cli.curve_secretkey = spub, cpub, csec
        port = srv.bind_to_random_port("tcp://127.0.0.1")
        mon = cli.get_monitor_socket(lib.EVENT_CONNECTED | lib.EVENT_HANDSHAKE_FAILED_AUTH)
        mon.rcvtimeo = 50
        cli.connect(f"tcp://127.0.0.1:{port}")
        seen = _client_events(mon, parse, again, 1.0)
        assert seen == [purezmq.EVENT_CONNECTED, purezmq.EVENT_HANDSHAKE_FAILED_AUTH], seen
        cli.disable_monitor()
    finally:
        stop.set()
        t.join(5)
