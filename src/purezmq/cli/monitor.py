"""``purezmq monitor SOCKTYPE``: run a socket and print its monitor events.

The socket binds and connects as asked (and a SUB subscribes to everything);
each event is printed with a timestamp: connects, retries, accepts,
handshakes (with the failure reason), disconnects. Messages that arrive are
read and counted, not printed (``--show-messages`` prints them). ``--v2``
uses monitor events version 2 (local and remote endpoint of each event).
Runs until ``-n`` events, ``--duration`` seconds, or Ctrl-C.

Exit status: 1 when an endpoint cannot be bound or connected; 3 when ``-n``
events have not come within ``--duration`` (or ``--timeout``) seconds; 4 when
a handshake on a connection the socket made fails (the event is printed
first; ``--keep-going`` prints on and exits 4 at the end). A peer failing its
handshake on a bound endpoint is just an event: the monitor goes on.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from typing import Any

import purezmq
from purezmq import constants as C
from purezmq.cli import common
from purezmq.cli.sockets import SOCKET_TYPES
from purezmq.utils.monitor import recv_monitor_message

EXAMPLES = """\
examples:
  purezmq monitor dealer -c tcp://127.0.0.1:5555          why does it not connect?
  purezmq monitor router -b tcp://*:5555 --v2 -n 10       who connects, from where
  purezmq monitor req -c tcp://host:5555 --curve-serverkey server.key --duration 5
  purezmq monitor dealer -c tcp://host:5555 -n 3 --timeout 10   exit 3 unless 3 events come
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "monitor",
        help="run a socket and print its monitor events with timestamps",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("socktype", metavar="SOCKTYPE", choices=sorted(SOCKET_TYPES))
    common.add_endpoint_options(p)
    p.add_argument("-n", "--count", type=int, metavar="N", help="stop after N events")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after SECONDS")
    p.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="with -n: give up (exit 3) if N events have not come within SECONDS",
    )
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="go on after a failed handshake on a connection we made (still exit 4)",
    )
    p.add_argument("--v2", action="store_true", help="monitor events version 2")
    p.add_argument("--show-messages", action="store_true", help="print arriving messages too")
    p.add_argument("--identity", metavar="ID", help="our routing id")
    common.add_security_options(p)
    p.set_defaults(run=run_monitor)


def _describe(evt: dict[str, Any]) -> str:
    ev = evt["event"]
    name = ev.name if isinstance(ev, C.Event) and ev.name else str(ev)
    value = int(evt["value"])
    extra = ""
    if ev == C.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        try:
            extra = f" ({C.Event(value).name})"
        except ValueError:
            extra = f" (0x{value:x})"
    elif ev == C.EVENT_HANDSHAKE_FAILED_AUTH:
        extra = f" (ZAP status {value})"
    elif ev == C.EVENT_CONNECT_RETRIED:
        extra = f" (next try in {value} ms)"
    elif ev in (C.EVENT_BIND_FAILED, C.EVENT_ACCEPT_FAILED, C.EVENT_CLOSE_FAILED):
        extra = f" (errno {value})"
    if "local_endpoint" in evt:
        where = (
            f"local={evt['local_endpoint'].decode(errors='replace') or '-'} "
            f"remote={evt['remote_endpoint'].decode(errors='replace') or '-'}"
        )
    else:
        where = evt["endpoint"].decode(errors="replace")
    return f"{name}{extra} {where}"


def _endpoints(evt: dict[str, Any]) -> tuple[str, bytes]:
    """(local endpoint as text, remote endpoint): v1 events carry one endpoint, the bound
    one for accepted connections and the connect endpoint for ours; v2 events carry both."""
    if "local_endpoint" in evt:
        return evt["local_endpoint"].decode(errors="replace"), evt["remote_endpoint"]
    ep = evt["endpoint"]
    return ep.decode(errors="replace"), ep


def run_monitor(args: argparse.Namespace) -> int:
    ctx = purezmq.Context()
    sec = common.Security(args)
    sock = ctx.socket(SOCKET_TYPES[args.socktype])
    sock.linger = 0
    mon: Any = None
    try:
        if args.identity is not None:
            sock.routing_id = args.identity.encode()
        if args.socktype == "sub":
            sock.subscribe(b"")
        sec.apply(ctx, sock)
        addr = f"inproc://purezmq-cli-monitor-{id(sock)}"
        if args.v2:
            sock.monitor(addr, C.EVENT_ALL_V2, version=2)
        else:
            sock.monitor(addr, C.EVENT_ALL)
        mon = ctx.socket(C.PAIR)
        mon.linger = 0
        mon.connect(addr)
        bound = set(common.attach(sock, args))
        poller = purezmq.Poller()
        poller.register(mon, C.POLLIN)
        poller.register(sock, C.POLLIN)
        start = time.monotonic()
        events = messages = 0
        failed: str | None = None
        limits = [x for x in (args.duration, args.timeout) if x is not None]
        limit = min(limits) if limits else None
        while args.count is None or events < args.count:
            wait = 200
            if limit is not None:
                left = limit - (time.monotonic() - start)
                if left <= 0:
                    if args.count is not None:
                        print(f"{events} events, {messages} messages", file=sys.stderr)
                        raise common.fail(
                            f"timed out: {events} of {args.count} events in {limit:g} s",
                            common.EXIT_TIMEOUT,
                        )
                    break
                wait = max(1, min(wait, int(left * 1000)))
            ready = dict(poller.poll(wait))
            if mon in ready:
                evt = recv_monitor_message(mon)
                stamp = datetime.datetime.now().isoformat(timespec="milliseconds")
                print(f"{stamp} {_describe(evt)}", flush=True)
                events += 1
                local, remote = _endpoints(evt)
                if int(evt["event"]) & common.HandshakeWatch.FAILED and local not in bound:
                    failed = common.describe_handshake_failure({**evt, "endpoint": remote})
                    if not args.keep_going:
                        break
            if sock in ready:
                frames = sock.recv_multipart()
                messages += 1
                if args.show_messages:
                    sys.stdout.buffer.write(common.format_message(frames, "text", None))
                    sys.stdout.flush()
        print(f"{events} events, {messages} messages", file=sys.stderr)
        if failed is not None:
            raise common.fail(failed, common.EXIT_HANDSHAKE)
        return common.EXIT_OK
    finally:
        if mon is not None:
            sock.disable_monitor()
            mon.close()
        sock.close()
        sec.stop()
        ctx.term()
