"""Command line: ``python -m purezmq {demo,bench} ...``."""

from __future__ import annotations

import argparse
import sys

from purezmq import bench, demo


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-command per tool."""
    parser = argparse.ArgumentParser(
        prog="python -m purezmq",
        description="purezmq tools: a tour of the socket patterns, and a benchmark against pyzmq.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{demo,bench}")
    demo_parser = sub.add_parser(
        "demo",
        help="show REQ/REP, PUB/SUB and a pipeline over localhost, then a throughput figure",
        description=demo.__doc__.split("\n\n")[0] if demo.__doc__ else None,
    )
    demo.add_arguments(demo_parser)
    bench_parser = sub.add_parser(
        "bench",
        help="benchmark purezmq against pyzmq side by side",
        description=bench.__doc__.split("\n\n")[0] if bench.__doc__ else None,
    )
    bench.add_arguments(bench_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Dispatch to ``demo`` or ``bench``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo.run_demo_args(args)
    if args.command == "bench":
        return bench.run_bench_args(args)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
