"""``purezmq SOCKTYPE``: one socket from the command line, stdin to the wire to stdout.

What each type does:

- push, pub: send the input messages, then exit (waiting up to --linger for
  them to leave). pub (and radio) wait --delay seconds first, half a second
  by default (subscribers need a moment to connect and subscribe: the
  zguide's slow joiner).
- pull, sub: print what arrives until -n messages (or Ctrl-C, or --timeout).
  sub subscribes to every --subscribe TOPIC (all messages if none).
- req: send each input message and print its reply.
- rep: print each request and answer it: with --reply TEXT, else an echo.
- dealer, router, pair: send the input messages and print what arrives; with
  -n, run until that many have arrived, else exit when the input ends (after
  --timeout seconds of quiet, if given). A router's first frame is the
  peer's routing id, in both directions.

Draft types (libzmq's, single-part messages only):

- client, channel: send the input and print what arrives, as dealer/pair.
- server, peer: each received message is printed as ``ROUTING_ID<TAB>BODY``
  (the 32-bit routing id in decimal); an input line ``ROUTING_ID<TAB>BODY``
  sends BODY to that peer, or ``--to ID`` sends every line to ID. A server
  with ``--reply TEXT`` (or ``--echo``) answers each message it receives.
  A peer's ``-c ENDPOINT`` is ``connect_peer``: the routing id it gives is
  printed on stderr (``connected ENDPOINT routing id N``), and ``--to c1``
  names the peer of the first ``-c`` (``c2`` the second...).
- radio: send each line to ``--group G``, or lines ``GROUP<TAB>BODY``.
- dish: ``--join G`` (repeatable); prints ``GROUP<TAB>BODY``.
- scatter, gather: as push and pull.
- dgram (udp only): prints ``ADDRESS<TAB>BODY``; sends lines
  ``ADDRESS<TAB>BODY`` (``ip:port``).

Input: one message per line from stdin (or ``-m TEXT``, repeatable; or
``--file PATH``, the whole file as one message). ``--delimiter D`` splits a
line into frames, and joins received frames on output (a tab by default).
Where a routing id, group or address comes first, a text line with no -d is
split at its first tab.

Endpoints and failures: a ``-b`` endpoint whose port the OS chooses
(``tcp://127.0.0.1:*``, ``:0``) is told on stderr as ``bound to
tcp://127.0.0.1:PORT``. An endpoint that cannot be bound or connected exits 1;
``--timeout`` with nothing arriving (or no peer to send to) exits 3; a
failed or refused handshake on a connection the socket made exits 4, while
one on a connection it accepted (a client that ``--allow`` or
``--curve-allow`` refused, a peer with other keys) is told on stderr and the
socket goes on serving the others.
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
    # libzmq's draft types (single-part messages)
    "client": C.CLIENT,
    "server": C.SERVER,
    "radio": C.RADIO,
    "dish": C.DISH,
    "scatter": C.SCATTER,
    "gather": C.GATHER,
    "peer": C.PEER,
    "channel": C.CHANNEL,
    "dgram": C.DGRAM,
}
DRAFT_TYPES = ("client", "server", "radio", "dish", "scatter", "gather", "peer", "channel", "dgram")

_SENDERS = {"pub", "push", "xpub", "radio", "scatter"}
_RECEIVERS = {"sub", "pull", "xsub", "dish", "gather"}
_SINGLE = {"client", "scatter", "channel", "gather"}  # one frame per message, nothing before it
_ROUTED = {"server", "peer"}  # ROUTING_ID<TAB>BODY

EXAMPLES = """\
examples:
  purezmq pull -b tcp://*:5555 -n 3              print three messages, then exit
  purezmq pull -b tcp://127.0.0.1:* -n 1000 --stats    port told on stderr; progress bar
  printf 'a\\nb\\nc\\n' | purezmq push -c tcp://127.0.0.1:5555
  purezmq sub -c tcp://127.0.0.1:5556 --subscribe weather --format json
  echo hello | purezmq req -c tcp://127.0.0.1:5557
  purezmq rep -b tcp://*:5557 --reply ok -n 1
  echo 'peer-id|hi' | purezmq router -b tcp://*:5558 --delimiter '|' -n 1
  purezmq req -c tcp://host:5557 --curve-serverkey server.key -m ping
  purezmq rep -b tcp://*:5557 --curve-server --curve-keyfile server.key_secret \\
      --curve-allow clients/                   only the clients whose .key files are there
  purezmq rep -b tcp://*:5557 --plain-server --allow admin:secret
  purezmq server -b tcp://*:5559 --echo                     answer CLIENTs
  echo hi | purezmq client -c tcp://127.0.0.1:5559 -n 1
  printf '1234\\thi\\n' | purezmq server -b tcp://*:5559    send to routing id 1234
  echo hi | purezmq peer -c tcp://127.0.0.1:5560 --to c1 -n 1
  echo news | purezmq radio -c udp://127.0.0.1:5561 --group weather
  purezmq dish -b udp://*:5561 --join weather -n 1
  printf '127.0.0.1:5562\\thi\\n' | purezmq dgram -b udp://*:0
"""


def add_parsers(sub: Any) -> None:
    for name in SOCKET_TYPES:
        draft = " (draft type)" if name in DRAFT_TYPES else ""
        p = sub.add_parser(
            name,
            help=f"run a {name.upper()} socket{draft}: stdin -> messages -> stdout",
            description=__doc__.split("\n\n")[0] + f" (a {name.upper()} socket)",
            epilog=EXAMPLES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        add_socket_arguments(p)
        p.set_defaults(run=run_socket, socktype=name)


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
    p.add_argument(
        "--reply", metavar="TEXT", help="rep, server: answer TEXT (rep's default: an echo)"
    )
    p.add_argument("--echo", action="store_true", help="server: send each message back")
    p.add_argument(
        "--to", metavar="ID", help="server, peer: send every line to routing id ID (peer: cN too)"
    )
    p.add_argument("--group", metavar="G", help="radio: send every line to group G")
    p.add_argument("--join", action="append", metavar="G", help="dish: join group G (repeatable)")
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
        self.to: int | None = None  # --to: the routing id every line goes to
        self.connected: list[int] = []  # peer: routing ids of the -c endpoints, in order

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
        self._check_draft_options()
        self.sec.apply(self.ctx, s)
        self.watch = common.HandshakeWatch(self.ctx, s, out=self.stderr)
        if self.name == "peer":
            self._attach_peer()
        else:
            self.watch.bound.update(common.attach(s, a, self.stderr))
        for group in a.join or []:
            s.join(group)
        if a.to is not None:
            self.to = self._routing_id(a.to)

    def _check_draft_options(self) -> None:
        """Options that belong to one socket type are refused on the others."""
        a, name = self.args, self.name
        for flag, value, types in (
            ("--group", a.group, {"radio"}),
            ("--join", a.join, {"dish"}),
            ("--to", a.to, _ROUTED),
            ("--echo", a.echo, {"server"}),
            ("--reply", a.reply, {"rep", "server"}),
        ):
            if value and name not in types:
                raise fail(f"{flag} is for {', '.join(sorted(types))} sockets", common.EXIT_USAGE)
        if name == "dish" and not a.join:
            raise fail("give at least one --join GROUP", common.EXIT_USAGE)
        if name == "server" and a.echo and a.reply is not None:
            raise fail("--echo or --reply, not both", common.EXIT_USAGE)

    def _attach_peer(self) -> None:
        """PEER: binds as usual; each -c is connect_peer, its routing id told on stderr."""
        a = self.args
        if not a.bind and not a.connect:
            raise fail("give at least one -b/--bind or -c/--connect ENDPOINT", common.EXIT_USAGE)
        assert self.watch is not None
        for ep in a.bind:
            self.watch.bound.add(common.bind(self.sock, ep, self.stderr))
        for ep in a.connect:
            try:
                rid = self.sock.connect_peer(ep)
            except purezmq.ZMQError as e:
                raise fail(f"cannot connect to {ep}: {e}") from None
            self.connected.append(rid)
            print(f"connected {ep} routing id {rid}", file=self.stderr, flush=True)

    def _routing_id(self, text: str | bytes) -> int:
        """A routing id from the command line or input: decimal, or cN (peer's N-th -c)."""
        t = text.decode("ascii", "replace") if isinstance(text, bytes) else text
        t = t.strip()
        if self.name == "peer" and t[:1] in ("c", "C") and t[1:].isdigit():
            k = int(t[1:])
            if not 1 <= k <= len(self.connected):
                raise fail(f"{t} names no -c endpoint (there are {len(self.connected)})")
            return self.connected[k - 1]
        if not t.isdigit() or not 0 < int(t) <= 0xFFFFFFFF:
            raise fail(f"routing id {t!r} is not a number from 1 to 4294967295")
        return int(t)

    def close(self, failed: bool = False) -> None:
        """Close everything; after a failure without lingering (nothing is on its way)."""
        if self.watch is not None:
            self.watch.close()
        if self.sock is not None:
            self.sock.close(linger=0 if failed else None)
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

    def _head_and_body(self, frames: list[bytes], what: str) -> tuple[bytes, bytes]:
        """[HEAD, BODY] of a message whose first frame routes it (split at a tab)."""
        if len(frames) == 1 and self.args.delimiter is None and self.args.format == "text":
            head, sep, body = frames[0].partition(b"\t")
            if sep:
                frames = [head, body]
        if len(frames) != 2:
            raise fail(
                f"a message is {what}<TAB>BODY (one frame of body), got {len(frames)} frame(s)"
            )
        return frames[0], frames[1]

    def send(self, frames: list[bytes]) -> None:
        self.wait(C.POLLOUT)
        name, s = self.name, self.sock
        rid = 0
        try:
            if name in _SINGLE:
                if len(frames) != 1:
                    raise fail(f"messages are single-part, got {len(frames)} frames")
                s.send(frames[0])
            elif name in _ROUTED:
                if self.to is not None and len(frames) == 1:
                    rid, body = self.to, frames[0]
                else:
                    head, body = self._head_and_body(frames, "ROUTING_ID")
                    rid = self._routing_id(head)
                s.send(body, routing_id=rid)
            elif name == "radio":
                if self.args.group is not None and len(frames) == 1:
                    group, body = self.args.group.encode(), frames[0]
                else:
                    group, body = self._head_and_body(frames, "GROUP")
                s.send(body, group=group.decode("utf-8", "surrogateescape"))
            elif name == "dgram":
                s.send_multipart(list(self._head_and_body(frames, "ADDRESS")))
            else:
                s.send_multipart(frames)
        except purezmq.ZMQError as e:
            if e.errno == C.EHOSTUNREACH:
                shown = common.hexdump_safe(frames[0]) if name == "router" else str(rid)
                raise fail(f"no connected peer with routing id {shown}") from None
            if e.errno == C.EINVAL and name in ("radio", "dgram"):
                raise fail(str(e)) from None
            raise
        self.stats.count(True, frames)

    def _recv_frames(self) -> list[bytes]:
        """The next message as the frames printed: routing id or group first where
        the type has one (the dgram address is a frame of its own already)."""
        if self.name in _ROUTED:
            f = self.sock.recv(copy=False)
            return [str(f.routing_id).encode(), f.bytes]
        if self.name == "dish":
            f = self.sock.recv(copy=False)
            return [f.group.encode("utf-8", "surrogateescape"), f.bytes]
        return list(self.sock.recv_multipart())

    def recv(self) -> list[bytes]:
        self.wait(C.POLLIN)
        frames = self._recv_frames()
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
            elif self.name in ("pub", "radio"):
                time.sleep(0.5)  # let subscribers (dishes) connect and subscribe (join)
            n = self.args.count
            if self.name in _SENDERS:
                self._send_all(n)
            elif self.name in _RECEIVERS:
                self._recv_n(n)
            elif self.name == "req":
                self._requests(n)
            elif self.name == "rep" or (
                self.name == "server" and (self.args.echo or self.args.reply is not None)
            ):
                self._replies(n)
            else:
                self._both(n)
            self._flush()
        except BaseException:
            self.stats.show(final=True)
            self.close(failed=True)
            raise
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
            if self.name == "server":  # [ROUTING_ID, BODY]: answer that CLIENT
                self.send([frames[0], *(reply or frames[1:])])
            else:
                self.send(reply or frames)

    def _both(self, n: int | None) -> None:
        """dealer/router/pair (client/server/peer/channel/dgram): send the input while
        printing what arrives."""
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
        """Before closing: what we sent needs a peer that completed its handshake (LINGER
        does the rest). A connect to a CURVE server without its key queues the messages
        at once and then fails every handshake: wait (up to --linger) to see which, so
        that is exit 4, not a silent 0. inproc and udp have no handshake to wait for."""
        if not self.stats.sent or self.watch is None:
            return
        endpoints = [*self.args.bind, *self.args.connect]
        if any(ep.startswith(("inproc://", "udp://")) for ep in endpoints):
            self.watch.check()
            return
        deadline = time.monotonic() + max(self.args.linger, 0.0)
        while True:
            self.watch.check()
            if self.watch.succeeded:
                return
            if time.monotonic() >= deadline:
                raise fail(
                    f"no peer completed a handshake within --linger {self.args.linger:g} s: "
                    "what was sent may not have been delivered",
                    common.EXIT_TIMEOUT,
                )
            self.watch.mon.poll(50)


def run_socket(args: argparse.Namespace) -> int:
    stdin = sys.stdin
    if args.count is not None and args.count < 0:
        raise fail("-n must be 0 or more", common.EXIT_USAGE)
    return Runner(args, stdin, sys.stdout.buffer, sys.stderr).run()
