"""``purezmq SOCKTYPE``: one socket from the command line, stdin to the wire to stdout.

What each type does:

- push, pub: send the input messages, then exit (waiting up to --linger for
  them to leave). pub waits --delay seconds first (subscribers need a moment
  to connect and subscribe: the zguide's slow joiner).
- pull, sub: print what arrives until -n messages (or Ctrl-C, or --timeout).
  sub subscribes to every --subscribe TOPIC (all messages if none).
- req: send each input message and print its reply.
- rep: print each request and answer it: with --reply TEXT, else an echo.
- dealer, router, pair: send the input messages and print what arrives; with
  -n, run until that many have arrived, else exit when the input ends (after
  --timeout seconds of quiet, if given). A router's first frame is the
  peer's routing id, in both directions.

Input: one message per line from stdin (or ``-m TEXT``, repeatable; or
``--file PATH``, the whole file as one message). ``--delimiter D`` splits a
line into frames, and joins received frames on output (a tab by default).
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
import time
from typing import IO, Any

import purezmq
from purezmq import constants as C
from purezmq.cli import common
from purezmq.cli.common import CliError, fail

SOCKET_TYPES = {
    "pub": C.PUB,
    "sub": C.SUB,
    "push": C.PUSH,
    "pull": C.PULL,
    "req": C.REQ,
    "rep": C.REP,
    "dealer": C.DEALER,
    "router": C.ROUTER,
    "pair": C.PAIR,
    "xpub": C.XPUB,
    "xsub": C.XSUB,
}
# Draft types of libzmq: named so that asking for one gets a clear answer.
DRAFT_TYPES = ("client", "server", "radio", "dish", "scatter", "gather", "peer", "channel")

_SENDERS = {"pub", "push", "xpub"}
_RECEIVERS = {"sub", "pull", "xsub"}

EXAMPLES = """\
examples:
  purezmq pull -b tcp://*:5555 -n 3              print three messages, then exit
  printf 'a\\nb\\nc\\n' | purezmq push -c tcp://127.0.0.1:5555
  purezmq sub -c tcp://127.0.0.1:5556 --subscribe weather --format json
  echo hello | purezmq req -c tcp://127.0.0.1:5557
  purezmq rep -b tcp://*:5557 --reply ok -n 1
  echo 'peer-id|hi' | purezmq router -b tcp://*:5558 --delimiter '|' -n 1
  purezmq req -c tcp://host:5557 --curve-serverkey server.key -m ping
"""


def add_parsers(sub: Any) -> None:
    for name in SOCKET_TYPES:
        p = sub.add_parser(
            name,
            help=f"run a {name.upper()} socket: stdin -> messages -> stdout",
            description=__doc__.split("\n\n")[0] + f" (a {name.upper()} socket)",
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_socket_arguments(p)
        p.set_defaults(run=run_socket, socktype=name)
    for name in DRAFT_TYPES:
        p = sub.add_parser(name, help=f"{name.upper()} (draft socket type: not in purezmq yet)")
        add_socket_arguments(p)
        p.set_defaults(run=_draft, socktype=name)


def _draft(args: argparse.Namespace) -> int:
    raise fail(
        f"{args.socktype.upper()} is one of libzmq's draft socket types, which purezmq does "
        "not implement yet; the standard types are: " + ", ".join(SOCKET_TYPES),
        common.EXIT_USAGE,
    )


def add_socket_arguments(p: argparse.ArgumentParser) -> None:
    common.add_endpoint_options(p)
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N messages")
    p.add_argument(
        "--format", choices=common.FORMATS, default="text", help="input and output format"
    )
    p.add_argument("-d", "--delimiter", metavar="D", help="frame delimiter within a line")
    p.add_argument(
        "-m", "--message", action="append", metavar="TEXT", help="send TEXT (repeatable)"
    )
    p.add_argument("-f", "--file", metavar="PATH", help="send the file's bytes as one message")
    p.add_argument("--subscribe", action="append", metavar="TOPIC", help="sub: a topic prefix")
    p.add_argument("--identity", metavar="ID", help="our routing id (ROUTING_ID)")
    p.add_argument("--reply", metavar="TEXT", help="rep: answer TEXT instead of an echo")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up (exit 3) after SECONDS without a message or a peer",
    )
    p.add_argument(
        "--delay", type=float, default=None, metavar="SECONDS", help="wait before sending"
    )
    p.add_argument(
        "--linger", type=float, default=5.0, metavar="SECONDS", help="time to flush at exit"
    )
    p.add_argument("--stats", action="store_true", help="live counts and rates on stderr")
    common.add_security_options(p)


class Runner:
    """One run of ``purezmq SOCKTYPE``."""

    def __init__(
        self, args: argparse.Namespace, stdin: IO[str], stdout: IO[bytes], stderr: IO[str]
    ) -> None:
        self.args = args
        self.name: str = args.socktype
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.stats = common.Stats(args.stats, args.count, stderr)
        self.ctx = purezmq.Context()
        self.sec = common.Security(args)
        self.sock: Any = None
        self.watch: common.HandshakeWatch | None = None
        self.timeout_ms = -1 if args.timeout is None else int(args.timeout * 1000)

    # -- set-up ----------------------------------------------------------------------------

    def open(self) -> None:
        a = self.args
        s = self.sock = self.ctx.socket(SOCKET_TYPES[self.name])
        s.linger = int(a.linger * 1000)
        if a.identity is not None:
            s.routing_id = a.identity.encode()
        if self.name == "sub":
            for topic in a.subscribe or [""]:
                s.subscribe(topic.encode())
        elif a.subscribe:
            raise fail("--subscribe is for sub sockets", common.EXIT_USAGE)
        if self.name == "router":
            s.router_mandatory = True  # say so when a routing id is unknown
        self.sec.apply(self.ctx, s)
        self.watch = common.HandshakeWatch(self.ctx, s)
        common.attach(s, a)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.close()
        if self.sock is not None:
            self.sock.close()
        self.sec.stop()
        self.ctx.term()

    # -- waiting -----------------------------------------------------------------------------

    def wait(self, events: int) -> None:
        """Wait until the socket is ready for ``events`` (--timeout bounds it)."""
        deadline = None if self.timeout_ms < 0 else time.monotonic() + self.timeout_ms / 1000
        while True:
            assert self.watch is not None
            self.watch.check()
            step = 100
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    what = "a message" if events == C.POLLIN else "a peer to send to"
                    raise fail(
                        f"timed out after {self.args.timeout:g} s waiting for {what}",
                        common.EXIT_TIMEOUT,
                    )
                step = max(1, min(step, int(left * 1000)))
            if self.sock.poll(step, events):
                return

    def send(self, frames: list[bytes]) -> None:
        self.wait(C.POLLOUT)
        try:
            self.sock.send_multipart(frames)
        except purezmq.ZMQError as e:
            if e.errno == C.EHOSTUNREACH:
                rid = common.hexdump_safe(frames[0])
                raise fail(f"router: no connected peer with routing id {rid}") from None
            raise
        self.stats.count(True, frames)

    def recv(self) -> list[bytes]:
        self.wait(C.POLLIN)
        frames = self.sock.recv_multipart()
        self.stats.count(False, frames)
        self.stdout.write(common.format_message(frames, self.args.format, self.args.delimiter))
        self.stdout.flush()
        return list(frames)

    # -- the patterns ------------------------------------------------------------------------

    def run(self) -> int:
        self.open()
        try:
            if self.args.delay:
                time.sleep(self.args.delay)
            elif self.name == "pub":
                time.sleep(0.5)  # let subscribers connect and subscribe
            n = self.args.count
            if self.name in _SENDERS:
                self._send_all(n)
            elif self.name in _RECEIVERS:
                self._recv_n(n)
            elif self.name == "req":
                self._requests(n)
            elif self.name == "rep":
                self._replies(n)
            else:
                self._both(n)
            self._flush()
        finally:
            self.stats.show(final=True)
            self.close()
        return common.EXIT_OK

    def _messages(self) -> Any:
        return common.read_messages(self.args, self.stdin)

    def _send_all(self, n: int | None) -> None:
        for i, frames in enumerate(self._messages()):
            if n is not None and i >= n:
                break
            self.send(frames)

    def _recv_n(self, n: int | None) -> None:
        got = 0
        while n is None or got < n:
            self.recv()
            got += 1

    def _requests(self, n: int | None) -> None:
        for i, frames in enumerate(self._messages()):
            if n is not None and i >= n:
                break
            self.send(frames)
            self.recv()

    def _replies(self, n: int | None) -> None:
        got = 0
        reply = None if self.args.reply is None else [self.args.reply.encode()]
        while n is None or got < n:
            frames = self.recv()
            got += 1
            self.send(reply or frames)

    def _both(self, n: int | None) -> None:
        """dealer/router/pair: send the input while printing what arrives."""
        inbox: queue.Queue[Any] = queue.Queue()
        use_stdin = not (self.args.message or self.args.file)
        if use_stdin and self.stdin.isatty() and n is None:
            raise fail(
                f"{self.name}: type messages on stdin, or give -n COUNT to only receive",
                common.EXIT_USAGE,
            )
        stop = threading.Event()

        def feed() -> None:
            try:
                for frames in self._messages():
                    if stop.is_set():
                        return
                    inbox.put(frames)
            except CliError as e:
                inbox.put(e)
            inbox.put(None)

        threading.Thread(target=feed, daemon=True, name="purezmq-cli-input").start()
        got = 0
        input_done = False
        quiet_since = time.monotonic()
        try:
            while n is None or got < n:
                assert self.watch is not None
                self.watch.check()
                while not input_done:
                    try:
                        item = inbox.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        input_done = True
                    elif isinstance(item, CliError):
                        raise item
                    else:
                        self.send(item)
                if input_done and n is None:
                    # nothing more to send: collect what is already on its way
                    if self.timeout_ms < 0 or not self.sock.poll(self.timeout_ms):
                        break
                if self.sock.poll(50, C.POLLIN):
                    self.sock.rcvtimeo = 0
                    self.recv()
                    got += 1
                    quiet_since = time.monotonic()
                elif (
                    self.timeout_ms >= 0
                    and time.monotonic() - quiet_since > self.timeout_ms / 1000
                    and (input_done or n is not None)
                ):
                    raise fail(
                        f"timed out after {self.args.timeout:g} s waiting for a message",
                        common.EXIT_TIMEOUT,
                    )
        finally:
            stop.set()

    def _flush(self) -> None:
        """Before closing: make sure a peer got what we sent (LINGER does the rest)."""
        if self.stats.sent and self.watch is not None:
            self.watch.check()


def run_socket(args: argparse.Namespace) -> int:
    stdin = sys.stdin
    if args.count is not None and args.count < 0:
        raise fail("-n must be 0 or more", common.EXIT_USAGE)
    return Runner(args, stdin, sys.stdout.buffer, sys.stderr).run()
