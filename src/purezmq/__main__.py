"""Command line: ``purezmq COMMAND ...`` or ``python -m purezmq COMMAND ...``.

The commands live in ``purezmq.cli`` (sockets, keygen, proxy, probe,
monitor) and in ``purezmq.demo`` / ``purezmq.bench``.
"""

from __future__ import annotations

import sys

from purezmq.cli import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
