"""``purezmq proxy FRONTEND BACKEND``: a steerable proxy with live statistics.

FRONTEND and BACKEND are endpoints, bound unless written ``>ENDPOINT``
(connect; ``@ENDPOINT`` binds explicitly), as CZMQ's tools write them.
``--pattern`` picks the socket types: queue (ROUTER/DEALER, the default),
forwarder (XSUB/XPUB), streamer (PULL/PUSH); ``--frontend-type`` and
``--backend-type`` override either. ``--capture ENDPOINT`` publishes a copy of
every message (PUB, bound unless ``>``). The statistics (messages and bytes
in and out of each side, libzmq's STATISTICS command) are printed to stderr
every ``--interval`` seconds; Ctrl-C or ``--duration`` ends the proxy with
TERMINATE, and a last line of statistics.

Exit status: 1 when an endpoint cannot be bound or connected; 4 when the
handshake on a side it connected (``>ENDPOINT``) fails (a peer that fails its
handshake on a bound side is told on stderr, and the proxy goes on); 3 with
``--timeout SECONDS`` when no message has gone through for that long.
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
import threading
import time
from typing import Any

import purezmq
from purezmq import constants as C
from purezmq.cli import common
from purezmq.cli.common import fail
from purezmq.cli.sockets import DRAFT_TYPES, SOCKET_TYPES

PATTERNS = {
    "queue": ("router", "dealer"),
    "forwarder": ("xsub", "xpub"),
    "streamer": ("pull", "push"),
}

EXAMPLES = """\
examples:
  purezmq proxy tcp://*:5559 tcp://*:5560                   ROUTER/DEALER broker
  purezmq proxy --pattern forwarder tcp://*:6000 tcp://*:6001 --capture tcp://*:6002
  purezmq proxy '>tcp://upstream:5555' tcp://*:5555 --pattern streamer --duration 60
  purezmq proxy tcp://127.0.0.1:* tcp://127.0.0.1:* --timeout 30   OS-chosen ports, told
                                                                   on stderr; exit 3 if idle
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "proxy",
        help="run a steerable proxy between two endpoints, with live statistics",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("frontend", metavar="FRONTEND", help="endpoint; '>' in front connects")
    p.add_argument("backend", metavar="BACKEND", help="endpoint; '>' in front connects")
    p.add_argument("--pattern", choices=sorted(PATTERNS), default="queue")
    # The draft types are single-part and route by ids a proxy cannot carry across.
    classic = sorted(t for t in SOCKET_TYPES if t not in DRAFT_TYPES)
    p.add_argument("--frontend-type", choices=classic, help="frontend socket type")
    p.add_argument("--backend-type", choices=classic, help="backend socket type")
    p.add_argument("--capture", metavar="ENDPOINT", help="a PUB that gets a copy of everything")
    p.add_argument("--interval", type=float, default=1.0, metavar="SECONDS")
    p.add_argument("--quiet", action="store_true", help="no live statistics")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="give up (exit 3) when no message has gone through for SECONDS",
    )
    p.set_defaults(run=run_proxy)


def _attach(sock: Any, spec: str, what: str, watch: common.HandshakeWatch | None) -> str:
    """Bind (or, for ``>ENDPOINT``, connect) one side; where it went, in words."""
    connect = spec.startswith(">")
    ep = spec[1:] if spec[:1] in (">", "@") else spec
    if connect:
        common.connect(sock, ep, f"{what}: ")
        return f"connected to {ep}"
    real = common.bind(sock, ep, io.StringIO(), f"{what}: ")  # told below, with the type
    if watch is not None:
        watch.bound.add(real)
    return f"bound to {real}"


def _stats_line(values: list[int]) -> str:
    fi, fib, fo, fob, bi, bib, bo, bob = values
    return (
        f"frontend in {fi} ({fib} B) out {fo} ({fob} B) | "
        f"backend in {bi} ({bib} B) out {bo} ({bob} B)"
    )


def run_proxy(args: argparse.Namespace) -> int:
    ftype, btype = PATTERNS[args.pattern]
    ftype = args.frontend_type or ftype
    btype = args.backend_type or btype
    ctx = purezmq.Context()
    socks: list[Any] = []
    try:
        front = ctx.socket(SOCKET_TYPES[ftype])
        back = ctx.socket(SOCKET_TYPES[btype])
        socks += [front, back]
        for s in (front, back):
            s.linger = 0
        if ftype == "sub":
            front.subscribe(b"")  # a SUB frontend forwards everything
        capture = None
        if args.capture:
            capture = ctx.socket(C.PUB)
            capture.linger = 0
            socks.append(capture)
        ctl_addr = f"inproc://purezmq-cli-proxy-{id(ctx)}"
        ctl_in = ctx.socket(C.PAIR)
        ctl_in.bind(ctl_addr)
        ctl_out = ctx.socket(C.PAIR)
        ctl_out.rcvtimeo = 2000
        ctl_out.connect(ctl_addr)
        socks += [ctl_in, ctl_out]
        watches = [
            common.HandshakeWatch(ctx, front, "frontend: "),
            common.HandshakeWatch(ctx, back, "backend: "),
        ]
        socks[:0] = [w.mon for w in watches]
        where_f = _attach(front, args.frontend, "frontend", watches[0])
        where_b = _attach(back, args.backend, "backend", watches[1])
        print(f"proxy: frontend {ftype.upper()} {where_f}", file=sys.stderr)
        print(f"proxy: backend {btype.upper()} {where_b}", file=sys.stderr)
        if capture is not None:
            where_c = _attach(capture, args.capture, "capture", None)
            print(f"proxy: capture PUB {where_c}", file=sys.stderr)
        sys.stderr.flush()
        outcome: list[BaseException] = []

        def serve() -> None:
            try:
                purezmq.proxy_steerable(front, back, capture, ctl_in)
            except BaseException as e:  # noqa: BLE001 - reported by the main thread
                outcome.append(e)

        t = threading.Thread(target=serve, daemon=True, name="purezmq-cli-proxy")
        t.start()
        start = idle_since = next_stats = time.monotonic()
        last: list[int] = [0] * 8
        error: common.CliError | None = None
        try:
            while t.is_alive():
                now = time.monotonic()
                wait = min(0.1, max(0.0, next_stats - now))
                if args.duration is not None:
                    left = args.duration - (now - start)
                    if left <= 0:
                        break
                    wait = min(wait, left)
                t.join(wait)
                if not t.is_alive():
                    break
                for w in watches:  # a side we connected whose handshake failed ends it
                    w.check()
                now = time.monotonic()
                if args.timeout is not None or now >= next_stats:
                    stats = _statistics(ctl_out) or last
                    if stats[0] + stats[4] != last[0] + last[4]:
                        idle_since = now
                    last = stats
                if args.timeout is not None and now - idle_since >= args.timeout:
                    raise common.fail(
                        f"timed out: no message went through for {args.timeout:g} s",
                        common.EXIT_TIMEOUT,
                    )
                if now >= next_stats:
                    next_stats = now + args.interval
                    if not args.quiet:
                        sys.stderr.write("\r" + _stats_line(last))
                        sys.stderr.flush()
        except KeyboardInterrupt:
            pass
        except common.CliError as e:
            error = e
        if t.is_alive():
            last = _statistics(ctl_out) or last
            ctl_out.send(b"TERMINATE")
            t.join(5)
        if not args.quiet:
            sys.stderr.write("\r" + _stats_line(last) + "\n")
        if error is not None:
            raise error
        if outcome:
            raise fail(f"proxy stopped: {outcome[0]}")
        return common.EXIT_OK
    finally:
        for s in socks:
            s.close(linger=0)
        ctx.term()


def _statistics(ctl: Any) -> list[int] | None:
    ctl.send(b"STATISTICS")
    try:
        frames = ctl.recv_multipart()
    except purezmq.Again:
        return None
    return [struct.unpack("=Q", f)[0] for f in frames]
