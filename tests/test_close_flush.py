"""close(linger) + term() deliver the tail: a sender process that closes and exits loses nothing.

Issue 9, "ipc loses the tail on close". The sender is always purezmq, in a
real subprocess that sends, calls ``close(linger)`` and ``Context.term()``,
and exits. The receiver runs in this process, as libzmq (pyzmq) or purezmq,
over ipc and tcp, with either side binding. Every message must arrive, in
order.

Two mechanisms lost the tail before the fix, and each has tests here:

- ipc: closing a unix stream socket raises POLLHUP at the peer at once,
  even with data still in its receive queue. libzmq, whose reading is
  stopped at RCVHWM, takes the HUP as the end and later drops what the
  kernel still holds. The sender now waits for the peer to read (shutdown of
  the write side, then the peer's EOF) before it closes its ipc fd.
- any transport: ``Connecter.close`` took "pipe empty" for "flushed" and
  closed the engine at once with output still in ``engine.outbuf`` (the
  kernel had taken only part of the last batch).

Rules these tests keep: no sleeps and no timing assertions (the sender says
where it is on stdout and the receiver waits for that, with a bound), OS-chosen
ports, ipc paths in tmp_path, every wait bounded, the sender killed if a
test fails.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import purezmq
from tests.helpers import held_port

zmq = pytest.importorskip("zmq")

pytestmark = pytest.mark.timeout(60)

WAIT_S = 20.0  # bound of every wait for the sender (a loaded machine is slow, not wrong)
RCVTIMEO_MS = 10_000  # the receiver's bound per message
LINGER_MS = 10_000  # the sender's LINGER: ample, so only a bug (never slowness) loses messages
N = 2000

SRC = str(Path(__file__).resolve().parent.parent / "src")

# The sender process. It reports on stdout: its endpoint (when it binds),
# "queued" when every message is sent, "closing" right before close(), "done"
# after term() returned. With "wait_go" it reads a line from stdin between
# "queued" and "closing".
SENDER = r"""
import json, sys
import purezmq as zmq

a = json.loads(sys.argv[1])
ctx = zmq.Context()
s = ctx.socket(zmq.PUSH)
s.sndhwm = a["sndhwm"]
s.sndtimeo = 30000  # a bug must fail the test, not hang the sender
if a["bind"]:
    s.bind(a["endpoint"])
    print(s.last_endpoint.decode(), flush=True)
else:
    s.connect(a["endpoint"])
size = a["size"]
for i in range(a["n"]):
    s.send_multipart([b"", b"%d" % i, b"x" * (size if size >= 0 else i % 300)])
print("queued", flush=True)
if a["wait_go"]:
    sys.stdin.readline()
print("closing", flush=True)
s.close(linger=a["linger"])
ctx.term()
print("done", flush=True)
"""


def message(i: int, size: int = -1) -> list[bytes]:
    return [b"", b"%d" % i, b"x" * (size if size >= 0 else i % 300)]


class Sender:
    """The sender subprocess, read line by line with a bound."""

    def __init__(self, tmp_path: Path, **args: Any) -> None:
        a = {"bind": False, "n": N, "size": -1, "sndhwm": 1000, "linger": LINGER_MS}
        a["wait_go"] = False
        a.update(args)
        env = dict(os.environ, PYTHONPATH=SRC)
        self.errpath = tmp_path / "sender.err"
        self.err = open(self.errpath, "wb")  # closed in kill()
        self.p = subprocess.Popen(
            [sys.executable, "-c", SENDER, json.dumps(a)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.err,
            bufsize=0,  # raw pipes: select() sees every line, none hides in a buffer
            env=env,
        )

    def stderr(self) -> str:
        self.err.flush()
        return self.errpath.read_text(errors="replace")

    def line(self) -> str:
        assert self.p.stdout is not None
        r, _, _ = select.select([self.p.stdout], [], [], WAIT_S)
        assert r, f"the sender said nothing for {WAIT_S}s; stderr:\n{self.stderr()}"
        line = self.p.stdout.readline().decode().strip()
        assert line, f"the sender ended early (rc {self.p.poll()}); stderr:\n{self.stderr()}"
        return line

    def expect(self, want: str) -> None:
        line = self.line()
        assert line == want, f"sender said {line!r}, expected {want!r}; stderr:\n{self.stderr()}"

    def go(self) -> None:
        assert self.p.stdin is not None
        self.p.stdin.write(b"go\n")
        self.p.stdin.flush()

    def finish(self) -> None:
        """The sender returned from term() and exited cleanly."""
        line = self.line()
        while line in ("queued", "closing"):  # progress not awaited by the test
            line = self.line()
        assert line == "done", f"sender said {line!r}; stderr:\n{self.stderr()}"
        rc = self.p.wait(timeout=WAIT_S)
        assert rc == 0, self.stderr()

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=WAIT_S)
        for f in (self.p.stdin, self.p.stdout):
            if f is not None:
                f.close()
        self.err.close()


@pytest.fixture
def senders(tmp_path: Path) -> Iterator[Any]:
    started: list[Sender] = []

    def start(**args: Any) -> Sender:
        s = Sender(tmp_path, **args)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def receiver(peer: str, ctx: purezmq.Context, lzctx: Any, rcvhwm: int = 1000) -> Any:
    mod, c = (zmq, lzctx) if peer == "libzmq" else (purezmq, ctx)
    s = c.socket(mod.PULL)
    s.setsockopt(mod.LINGER, 0)
    s.setsockopt(mod.RCVTIMEO, RCVTIMEO_MS)
    s.setsockopt(mod.RCVHWM, rcvhwm)
    return s


def bind_receiver(pull: Any, transport: str, tmp_path: Path) -> str:
    if transport == "tcp":
        pull.bind("tcp://127.0.0.1:*")
    else:
        pull.bind(f"ipc://{tmp_path}/r.ipc")
    return pull.last_endpoint.decode()


def receive_all(pull: Any, n: int = N, size: int = -1) -> None:
    """Every message, in order (on a timeout: how far it got)."""
    for i in range(n):
        try:
            msg = pull.recv_multipart()
        except (zmq.Again, purezmq.Again):
            pytest.fail(f"received only {i} of {n} messages")
        if msg != message(i, size):
            pytest.fail(f"message {i} is {[bytes(f[:12]) for f in msg]!r}")


def start_linked(
    senders: Any, pull: Any, transport: str, we_bind: bool, tmp_path: Path, **args: Any
) -> Sender:
    """The sender binding (``we_bind``, we being purezmq) or connecting to ``pull``."""
    if we_bind:
        ep = "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp_path}/s.ipc"
        sender = senders(bind=True, endpoint=ep, **args)
        pull.connect(sender.line())  # its sends block until we are connected
    else:
        sender = senders(endpoint=bind_receiver(pull, transport, tmp_path), **args)
    return sender


MATRIX = pytest.mark.parametrize(
    "peer, transport, we_bind",
    [
        (peer, transport, we_bind)
        for peer in ("libzmq", "purezmq")
        for transport in ("ipc", "tcp")
        for we_bind in (True, False)
    ],
    ids=lambda v: v if isinstance(v, str) else ("we_bind" if v else "they_bind"),
)


@MATRIX
def test_close_delivers_the_tail(
    senders: Any,
    ctx: purezmq.Context,
    lzctx: Any,
    tmp_path: Path,
    peer: str,
    transport: str,
    we_bind: bool,
) -> None:
    """The issue's scenario: 2000 messages, close(linger) + term(), the receiver reading along."""
    pull = receiver(peer, ctx, lzctx)
    sender = start_linked(senders, pull, transport, we_bind, tmp_path)
    receive_all(pull)
    sender.finish()


@MATRIX
def test_close_waits_for_a_receiver_that_reads_late(
    senders: Any,
    ctx: purezmq.Context,
    lzctx: Any,
    tmp_path: Path,
    peer: str,
    transport: str,
    we_bind: bool,
) -> None:
    """The receiver sits at RCVHWM, reading nothing, until the sender is closing.

    The sender's queue and the kernel hold the rest meanwhile; the sender must
    keep the connection until the receiver has read it (libzmq drops what is
    left in the kernel if an ipc peer closes while it is stopped at RCVHWM).
    """
    pull = receiver(peer, ctx, lzctx, rcvhwm=10)
    sender = start_linked(senders, pull, transport, we_bind, tmp_path, sndhwm=0)
    sender.expect("queued")
    sender.expect("closing")  # from here on the sender is in close() / term()
    receive_all(pull)
    sender.finish()


def _free_endpoint(transport: str, tmp_path: Path) -> str:
    """An endpoint nobody listens on yet (the tcp port is chosen by the OS)."""
    if transport == "ipc":
        return f"ipc://{tmp_path}/later.ipc"
    return f"tcp://127.0.0.1:{held_port()}"


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
@pytest.mark.parametrize("peer", ["libzmq", "purezmq"])
def test_close_flushes_what_the_kernel_has_not_taken(
    senders: Any, ctx: purezmq.Context, lzctx: Any, tmp_path: Path, peer: str, transport: str
) -> None:
    """The pipe is empty but the engine still holds output the kernel did not take.

    The sender connects before the receiver exists and queues every message,
    so the first drain after the handshake takes them all (N <= DRAIN_MSGS) and
    the kernel takes only part: the rest waits in ``outbuf``, with the pipe
    empty, while the receiver reads nothing (RCVHWM 10). Then the sender closes.
    """
    n, size = 1000, 20_000  # 20 MB: more than any socket buffer holds
    endpoint = _free_endpoint(transport, tmp_path)
    sender = senders(endpoint=endpoint, n=n, size=size, sndhwm=0, wait_go=True)
    sender.expect("queued")
    pull = receiver(peer, ctx, lzctx, rcvhwm=10)
    pull.bind(endpoint)
    first = pull.recv_multipart()  # handshake done, and the drain of all n has begun
    assert first == message(0, size)
    sender.go()
    sender.expect("closing")
    for i in range(1, n):
        try:
            msg = pull.recv_multipart()
        except (zmq.Again, purezmq.Again):
            pytest.fail(f"received only {i} of {n} messages")
        assert msg == message(i, size), i
    sender.finish()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
@pytest.mark.parametrize("peer", ["libzmq", "purezmq"])
def test_linger_bounds_the_wait_for_a_receiver_that_never_reads(
    senders: Any, ctx: purezmq.Context, lzctx: Any, tmp_path: Path, peer: str, transport: str
) -> None:
    """A receiver stuck at RCVHWM: the sender's term() still returns once LINGER is over."""
    pull = receiver(peer, ctx, lzctx, rcvhwm=10)
    ep = bind_receiver(pull, transport, tmp_path)
    sender = senders(endpoint=ep, sndhwm=0, linger=200, wait_go=True)
    sender.expect("queued")
    assert pull.poll(RCVTIMEO_MS)  # connected (LINGER bounds the flush, not the handshake)
    sender.go()  # and from here on stuck: we never read
    sender.expect("closing")
    sender.finish()
