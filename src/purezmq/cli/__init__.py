"""The ``purezmq`` command line: ZeroMQ sockets, keys, proxies and probes from a shell.

One module per command: ``sockets`` (``purezmq pub|sub|push|...``), ``keygen``,
``proxy``, ``probe``, ``monitor``; ``common`` holds what they share (formats,
security options, exit codes, ``--stats``). ``demo`` and ``bench`` live in
``purezmq.demo`` and ``purezmq.bench``. ``main()`` is the entry point.
"""

from __future__ import annotations

import argparse
import sys

from purezmq.cli.common import EXIT_INTERRUPTED, EXIT_USAGE, CliError

__all__ = ["build_parser", "main"]

EPILOG = """\
examples:
  purezmq pull -b tcp://*:5555 -n 3
  printf 'a\\nb\\nc\\n' | purezmq push -c tcp://127.0.0.1:5555
  purezmq keygen --dir certs --name server
  purezmq proxy tcp://*:5559 tcp://*:5560
  purezmq probe tcp://127.0.0.1:5555
  purezmq monitor dealer -c tcp://127.0.0.1:5555 --duration 5
  purezmq SUBCOMMAND --help        options and examples of one command

exit status: 0 done, 1 error (bad endpoint, ...), 2 usage, 3 timeout,
4 handshake refused or failed, 130 interrupted.
"""


DEMO_EPILOG = """\
examples:
  purezmq demo                  REQ/REP, PUB/SUB, a pipeline, then a throughput figure

It binds its own sockets on 127.0.0.1 (ports the OS chooses) and talks to
itself, so it takes no endpoint. Exit status 0 when every section worked, 1
when one failed (it says which), 130 on Ctrl-C.
"""

BENCH_EPILOG = """\
examples:
  purezmq bench --quick                         a rough table in seconds
  purezmq bench --list                          the cases
  purezmq bench --only 'thr-tcp-*' lat-tcp --repeat 7

Each cell is the best of N runs, the implementations interleaved (pyzmq is
needed for its column). ratio = purezmq/pyzmq: for throughput (msg/s) higher
is better, for REQ/REP round-trip latency lower is better. It binds its own
sockets on 127.0.0.1, so it takes no endpoint; a measurement that stalls
past --timeout fails that cell.
"""


def build_parser() -> argparse.ArgumentParser:
    from purezmq import bench, demo
    from purezmq.cli import keygen, monitor, probe, proxy, sockets

    parser = argparse.ArgumentParser(
        prog="purezmq",
        description="ZeroMQ from the command line (pure Python, talks to any libzmq peer).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sockets.add_parsers(sub)
    keygen.add_parser(sub)
    proxy.add_parser(sub)
    probe.add_parser(sub)
    monitor.add_parser(sub)
    demo_parser = sub.add_parser(
        "demo",
        help="show REQ/REP, PUB/SUB and a pipeline over localhost, then a throughput figure",
        description=demo.__doc__.split("\n\n")[0] if demo.__doc__ else None,
    )
    demo.add_arguments(demo_parser)
    demo_parser.epilog = DEMO_EPILOG
    demo_parser.formatter_class = argparse.RawDescriptionHelpFormatter
    demo_parser.set_defaults(run=demo.run_demo_args)
    bench_parser = sub.add_parser(
        "bench",
        help="benchmark purezmq against pyzmq side by side",
        description=bench.__doc__.split("\n\n")[0] if bench.__doc__ else None,
    )
    bench.add_arguments(bench_parser)
    bench_parser.epilog = BENCH_EPILOG
    bench_parser.formatter_class = argparse.RawDescriptionHelpFormatter
    bench_parser.set_defaults(run=bench.run_bench_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(run(args))
    except CliError as e:
        print(f"purezmq {args.command}: {e}", file=sys.stderr)
        return e.status
    except KeyboardInterrupt:
        print(f"purezmq {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0
