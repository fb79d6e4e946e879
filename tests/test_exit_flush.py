"""LINGER at interpreter exit: what a program leaves open is flushed, as with pyzmq.

Each test runs a purezmq sender in its own interpreter that ends without
``close()`` or ``term()`` -- returning from ``main()`` (the sockets die with
its locals), keeping them in module globals, or using ``Context.instance()``
-- and receives with libzmq (pyzmq) in the test process. Everything sent
must arrive, in order, and the sender must exit 0 without a traceback.
LINGER decides how long exit may wait for a peer that is not there: 0 or a
finite LINGER ends the wait, -1 waits until the peer comes (and Ctrl-C ends
the wait).

Rules these tests keep: no timing assertions and no bare sleeps (every wait
is a poll timeout, a queue timeout or a process timeout, and only bounds a
failure), OS-chosen ports, ipc paths in tmp_path, senders killed on teardown.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import held_port

zmq = pytest.importorskip("zmq")

ROOT = Path(__file__).resolve().parent.parent
N = 100_000  # messages per sender: the tail lost before the fix was ~400 of these
TIMEOUT_MS = 10_000  # longest gap between two messages before a receiver gives up
EXIT_S = 30.0  # a sender that has not exited by then hangs (a failure, not a timing)
LINE_S = 20.0  # how long to wait for a line the sender prints

pytestmark = pytest.mark.timeout(60)

# Prepended to every sender: argv and a PUSH socket that binds or connects.
PRELUDE = """\
import sys
import purezmq as zmq

N, ENDPOINT, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]


def push_from(ctx):
    push = ctx.socket(zmq.PUSH)
    if MODE == "bind":
        push.bind(ENDPOINT)
        print(push.last_endpoint.decode(), flush=True)
    else:
        push.connect(ENDPOINT)
    return push

"""

SENDERS = {
    # The sockets and the Context die with main()'s locals; nobody closes them.
    "locals": """
        def main():
            push = push_from(zmq.Context())
            for i in range(N):
                push.send(b"%d" % i)

        main()
    """,
    "global": """
        ctx = zmq.Context()
        push = push_from(ctx)
        for i in range(N):
            push.send(b"%d" % i)
    """,
    "instance": """
        push = push_from(zmq.Context.instance())
        for i in range(N):
            push.send(b"%d" % i)
    """,
}


class Sender:
    """A sender script in a fresh interpreter; its stdout lines arrive on a queue."""

    def __init__(self, tmp_path: Path, body: str, *args: object, prelude: str = PRELUDE) -> None:
        script = tmp_path / "sender.py"
        script.write_text(prelude + textwrap.dedent(body))
        self.err_path = tmp_path / "sender.err"
        self.err = open(self.err_path, "w")  # a file: a full pipe could block the sender
        env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
        self.proc = subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            stdout=subprocess.PIPE,
            stderr=self.err,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self) -> str:
        """The next line the sender prints (fails if it ends first)."""
        try:
            line = self.lines.get(timeout=LINE_S)
        except queue.Empty:
            pytest.fail(f"the sender printed nothing in {LINE_S} s; stderr: {self.stderr()}")
        assert line is not None, f"the sender ended early: {self.stderr()}"
        return line

    def stderr(self) -> str:
        self.err.flush()
        return self.err_path.read_text()

    def exit_code(self) -> int:
        """Wait for the sender to exit (a hang is a failure) and return its status."""
        try:
            return self.proc.wait(EXIT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the sender did not exit within {EXIT_S} s; stderr: {self.stderr()}")

    def assert_clean_exit(self) -> None:
        rc = self.exit_code()
        err = self.stderr()
        assert rc == 0, err
        assert "Traceback" not in err and "Exception" not in err, err

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.err.close()


@pytest.fixture
def run_sender(tmp_path: Path) -> Iterator[Callable[..., Sender]]:
    """``run_sender(body, *argv)`` starts a sender; every one is killed at teardown."""
    started: list[Sender] = []

    def start(body: str, *args: object, prelude: str = PRELUDE) -> Sender:
        s = Sender(tmp_path, body, *args, prelude=prelude)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def pull(lzctx: Any, transport: str = "tcp") -> Any:
    """libzmq's PULL. Over ipc with RCVHWM 0: libzmq stops reading a connection
    whose pipe is at RCVHWM, and if the peer hangs up meanwhile (EPOLLHUP, which
    an AF_UNIX close raises at once and epoll reports even while reading is
    paused) it abandons the bytes still in the kernel -- a libzmq-to-libzmq
    loss too (stream_engine's in_event with ``_input_stopped``), not the
    sender's. With no RCVHWM libzmq never pauses, so what these tests see is
    what the sender delivered."""
    s = lzctx.socket(zmq.PULL)
    s.linger = 0
    if transport == "ipc":
        s.rcvhwm = 0
    return s


def receive(sock: Any, n: int) -> list[bytes]:
    """Up to ``n`` messages; stops early if none comes for TIMEOUT_MS."""
    got: list[bytes] = []
    while len(got) < n and sock.poll(TIMEOUT_MS):
        got.append(sock.recv())
    return got


def expected(n: int) -> list[bytes]:
    return [b"%d" % i for i in range(n)]


def endpoint(transport: str, tmp_path: Path, name: str = "exit.ipc") -> str:
    return "tcp://127.0.0.1:0" if transport == "tcp" else f"ipc://{tmp_path / name}"


# -- everything sent before the program ends arrives ---------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("case", ["locals", "global", "instance"])
def test_unclosed_push_is_flushed_at_exit(
    case: str, transport: str, lzctx: Any, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    receiver = pull(lzctx, transport)
    receiver.bind(endpoint(transport, tmp_path))
    sender = run_sender(SENDERS[case], N, receiver.last_endpoint.decode(), "connect")
    got = receive(receiver, N)
    assert len(got) == N and got == expected(N)
    sender.assert_clean_exit()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_unclosed_binding_push_is_flushed_at_exit(
    transport: str, lzctx: Any, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    # The sender binds; its first send waits for our connection.
    sender = run_sender(SENDERS["locals"], N, endpoint(transport, tmp_path), "bind")
    receiver = pull(lzctx, transport)
    receiver.connect(sender.line())
    got = receive(receiver, N)
    assert len(got) == N and got == expected(N)
    sender.assert_clean_exit()


SYNC_PUB = """
    SUBS = int(MODE)


    def main():
        # The zguide's synchronized publisher, ending by falling off the end.
        ctx = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        pub.sndhwm = 0  # keep every update: the subscribers read slower than we send
        pub.bind(ENDPOINT)
        sync = ctx.socket(zmq.REP)
        sync.bind(ENDPOINT)
        print(pub.last_endpoint.decode(), sync.last_endpoint.decode(), flush=True)
        synced = probes = 0
        # Probes until every subscriber has seen one and said so (bounded).
        while synced < SUBS:
            probes += 1
            if probes > 2000:
                sys.exit(3)
            pub.send(b"probe")
            if sync.poll(10):
                sync.recv()
                sync.send(b"go")
                synced += 1
        for i in range(N):
            pub.send(b"%d" % i)
        pub.send(b"END")


    main()
"""


def test_synchronized_publisher_completes(lzctx: Any, run_sender: Callable[..., Sender]) -> None:
    subs_n, n = 3, N // 2
    sender = run_sender(SYNC_PUB, n, "tcp://127.0.0.1:0", subs_n)
    pub_ep, sync_ep = sender.line().split()
    subs, reqs = [], []
    poller = zmq.Poller()
    for _ in range(subs_n):
        sub = lzctx.socket(zmq.SUB)
        sub.linger = 0
        sub.subscribe(b"")
        sub.connect(pub_ep)
        req = lzctx.socket(zmq.REQ)
        req.linger = 0
        req.rcvtimeo = TIMEOUT_MS
        req.connect(sync_ep)
        poller.register(sub, zmq.POLLIN)
        subs.append(sub)
        reqs.append(req)
    synced = [False] * subs_n
    counts = [0] * subs_n
    done = [False] * subs_n
    while not all(done):
        ready = dict(poller.poll(TIMEOUT_MS))
        assert ready, f"no update for {TIMEOUT_MS} ms: counts {counts}, synced {synced}"
        for i, sub in enumerate(subs):
            if sub not in ready:
                continue
            msg = sub.recv()
            if msg == b"probe":
                if not synced[i]:
                    reqs[i].send(b"ready")
                    assert reqs[i].recv() == b"go"
                    synced[i] = True
            elif msg == b"END":
                done[i] = True
            else:
                assert msg == b"%d" % counts[i], f"subscriber {i}: out of order"
                counts[i] += 1
    assert counts == [n] * subs_n
    sender.assert_clean_exit()


GEVENT_SENDER = """
    def main():
        push = push_from(zmq.Context())
        for i in range(N):
            push.send(b"%d" % i)

    main()
"""


def test_gevent_patched_sender_is_flushed_at_exit(
    lzctx: Any, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    # Under patch_all the I/O thread is a raw OS thread (runtime/iothread.py).
    pytest.importorskip("gevent")
    receiver = pull(lzctx)
    receiver.bind("tcp://127.0.0.1:0")
    prelude = "from gevent import monkey\nmonkey.patch_all()\n" + PRELUDE
    sender = run_sender(
        GEVENT_SENDER, N, receiver.last_endpoint.decode(), "connect", prelude=prelude
    )
    got = receive(receiver, N)
    assert len(got) == N and got == expected(N)
    sender.assert_clean_exit()


ASYNCIO_SENDER = """
    import asyncio

    import purezmq.asyncio

    # Connected before the loop runs: served by the Context's I/O thread.
    push = push_from(purezmq.asyncio.Context())


    async def main():
        for i in range(N):
            await push.send(b"%d" % i)


    asyncio.run(main())
"""


def test_asyncio_context_with_io_thread_is_flushed_at_exit(
    lzctx: Any, run_sender: Callable[..., Sender]
) -> None:
    receiver = pull(lzctx)
    receiver.bind("tcp://127.0.0.1:0")
    sender = run_sender(ASYNCIO_SENDER, N, receiver.last_endpoint.decode(), "connect")
    got = receive(receiver, N)
    assert len(got) == N and got == expected(N)
    sender.assert_clean_exit()


# -- LINGER bounds the wait for a peer that is not there ------------------------------------

UNREACHABLE = """
    LINGER = int(sys.argv[4])


    def main():
        ctx = zmq.Context()
        push = push_from(ctx)
        push.linger = LINGER
        for i in range(N):
            push.send(b"%d" % i)


    main()
"""


@pytest.mark.parametrize("linger", [0, 300])
@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_finite_linger_ends_the_exit_wait(
    transport: str, linger: int, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    # Nobody ever listens there: the queued messages are dropped after LINGER.
    if transport == "tcp":
        ep = f"tcp://127.0.0.1:{held_port()}"
    else:
        ep = endpoint("ipc", tmp_path, "nobody.ipc")
    sender = run_sender(UNREACHABLE, 500, ep, "connect", linger)
    sender.assert_clean_exit()


# Says when main() has returned: this hook is registered after purezmq's, so
# (atexit being last-in first-out) it runs just before the exit wait begins.
ANNOUNCE_EXIT = """
    import atexit

    atexit.register(lambda: print("exiting", flush=True))
"""


def test_linger_forever_waits_at_exit_until_delivered(
    lzctx: Any, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    # As pyzmq: with LINGER -1 the sender waits at exit for a peer that comes late.
    ep = endpoint("ipc", tmp_path, "late.ipc")
    sender = run_sender(ANNOUNCE_EXIT + UNREACHABLE, 500, ep, "connect", -1)
    assert sender.line() == "exiting"
    assert sender.proc.poll() is None, "the sender exited without delivering"
    receiver = pull(lzctx, "ipc")
    receiver.bind(ep)
    got = receive(receiver, 500)
    assert got == expected(500)
    sender.assert_clean_exit()


def test_exit_wait_resolves_host_names_after_threading_shutdown(
    lzctx: Any, run_sender: Callable[..., Sender]
) -> None:
    # A host name is resolved in an executor, which takes no work once
    # threading's shutdown has run; the reconnects at exit resolve it anyway.
    host = socket.gethostname()
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        pytest.skip(f"the host name {host!r} does not resolve")
    addr = str(infos[0][4][0])
    if not addr.startswith("127."):
        pytest.skip(f"the host name {host!r} is not a loopback address")
    port = held_port(addr)
    sender = run_sender(ANNOUNCE_EXIT + UNREACHABLE, 500, f"tcp://{host}:{port}", "connect", -1)
    assert sender.line() == "exiting"
    receiver = pull(lzctx)
    receiver.bind(f"tcp://{addr}:{port}")
    got = receive(receiver, 500)
    assert got == expected(500)
    sender.assert_clean_exit()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
def test_ctrl_c_ends_the_exit_wait(tmp_path: Path, run_sender: Callable[..., Sender]) -> None:
    ep = endpoint("ipc", tmp_path, "nobody.ipc")
    sender = run_sender(ANNOUNCE_EXIT + UNREACHABLE, 500, ep, "connect", -1)
    assert sender.line() == "exiting"
    # One SIGINT could land in the hook that printed "exiting", before the
    # wait: send one every 0.5 s until the process ends (bounded).
    for _ in range(20):
        sender.proc.send_signal(signal.SIGINT)
        try:
            sender.proc.wait(0.5)
            break
        except subprocess.TimeoutExpired:
            pass
    assert sender.proc.poll() is not None, "Ctrl-C did not end the exit wait"
    assert "purezmq: interrupted at exit" in sender.stderr()


# -- what exit leaves alone, and in which order it closes ---------------------------------

DAEMON_RECEIVER = """
    import threading
    import time

    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(ENDPOINT)
    waiting = threading.Event()


    def worker():
        poller = zmq.Poller()
        poller.register(pull, zmq.POLLIN)
        waiting.set()
        while True:  # blocked in recv or poll when the program ends
            if MODE == "poll":
                poller.poll()
            print(pull.recv().decode(), flush=True)


    threading.Thread(target=worker, daemon=True).start()
    waiting.wait()
    for _ in range(10_000):  # until the worker is blocked in it (bounded)
        if pull._core.in_use():
            break
        time.sleep(0.001)
    push = ctx.socket(zmq.PUSH)
    push.connect(pull.last_endpoint.decode())
    push.send(b"sent just before exit")
"""


@pytest.mark.parametrize("blocked_in", ["recv", "poll"])
def test_socket_a_daemon_thread_is_blocked_in_is_left_to_it(
    blocked_in: str, run_sender: Callable[..., Sender]
) -> None:
    # Exit does not close or terminate under a (daemon) thread blocked in a
    # socket: no ContextTerminated traceback, and the receiver -- in this same
    # process -- is still there for what was sent just before exit.
    sender = run_sender(DAEMON_RECEIVER, 0, "tcp://127.0.0.1:0", blocked_in)
    assert sender.line() == "sent just before exit"
    sender.assert_clean_exit()


SAME_PROCESS = """
    ctx = zmq.Context()
    pull = ctx.socket(zmq.PULL)
    pull.bind(ENDPOINT)
    push = ctx.socket(zmq.PUSH)
    push.connect(pull.last_endpoint.decode())
    for i in range(N):
        push.send(b"%d" % i)
"""


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_receiver_in_the_same_process_is_closed_after_the_sender(
    transport: str, tmp_path: Path, run_sender: Callable[..., Sender]
) -> None:
    # LINGER -1: were the PULL closed first, the PUSH could never flush and
    # the exit would wait forever. Sockets with queued output go first.
    sender = run_sender(SAME_PROCESS, 500, endpoint(transport, tmp_path), "connect")
    sender.assert_clean_exit()
