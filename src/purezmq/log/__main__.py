"""The log watcher: ``python -m purezmq.log [options] ENDPOINT...``.

Subscribes a SUB socket to the endpoints (a :class:`PUBHandler`'s, or any
PUB sending ``[topic, text]``) and prints one line per record::

    WARNING | WARNING app.py:12 - disk almost full

(topic, separator, text). ``-t TOPIC`` subscribes to a topic prefix (repeat
it for several; the default, '', is everything); ``--timestamp`` puts the
local time first, ``--align`` pads topic parts into columns, ``--color``
colours by level (ANSI escapes; colorama is used if installed, for old
Windows consoles), ``-n N`` exits after N records, ``--bind`` binds instead
of connecting (for handlers that connect). Ctrl-C stops it.

Runs as ``python -m zmq.log`` too under :func:`purezmq.install_as_zmq`, and
its options are pyzmq's watcher's (plus ``-n`` and ``--bind``).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL")

_ANSI = {
    "DEBUG": "\x1b[96m",
    "INFO": "\x1b[97m",
    "WARNING": "\x1b[33m",
    "WARN": "\x1b[33m",
    "ERROR": "\x1b[91m",
    "CRITICAL": "\x1b[91m",
    "FATAL": "\x1b[91m",
}
_RESET = "\x1b[39m"


def _prog() -> str:
    spec = globals().get("__spec__")
    package = getattr(spec, "parent", None) or "purezmq.log"
    return f"python -m {package}"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=_prog(),
        description="Print the log records a PUBHandler (or any PUB sending [topic, text]) publishes.",
        epilog=(
            "examples:\n"
            "  python -m purezmq.log tcp://127.0.0.1:12345\n"
            "  python -m purezmq.log -t myapp.ERROR --timestamp tcp://127.0.0.1:12345\n"
            "  python -m purezmq.log --align --color -n 10 ipc:///tmp/app-log"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "zmq_pub_url", nargs="+", help="endpoint(s) of the PUB socket(s) to subscribe to"
    )
    p.add_argument(
        "-t",
        "--topic",
        action="append",
        default=None,
        help="only records whose topic starts with this (repeatable; default: all)",
    )
    p.add_argument(
        "--timestamp", action="store_true", help="print the local time before each record"
    )
    p.add_argument(
        "--separator", default=" | ", help="printed between topic and text (default ' | ')"
    )
    p.add_argument(
        "--dateformat",
        default="%Y-%m-%d %H:%M",
        help="strftime format for --timestamp (default '%%Y-%%m-%%d %%H:%%M')",
    )
    p.add_argument("--align", action="store_true", help="pad topic parts into columns")
    p.add_argument("--color", action="store_true", help="colour records by level")
    p.add_argument("-n", "--count", type=int, default=0, help="exit after this many records")
    p.add_argument(
        "--bind", action="store_true", help="bind the endpoints instead of connecting to them"
    )
    return p


class Printer:
    """Turns ``[topic, text]`` messages into output lines (the watcher without the socket)."""

    def __init__(
        self,
        *,
        timestamp: bool = False,
        separator: str = " | ",
        dateformat: str = "%Y-%m-%d %H:%M",
        align: bool = False,
        colors: dict[str, str] | None = None,
        reset: str = "",
    ) -> None:
        self.timestamp = timestamp
        self.separator = separator
        self.dateformat = dateformat
        self.align = align
        self.colors = colors or {}
        self.reset = reset if colors else ""
        self.widths: list[int] = []

    def line(self, frames: list[bytes]) -> str:
        if len(frames) >= 2:
            topic = frames[0].decode("utf8", "replace").strip()
            text = "".join(f.decode("utf8", "replace") for f in frames[1:]).strip()
        else:
            topic, text = "", (frames[0].decode("utf8", "replace").strip() if frames else "")
        parts = topic.split(".")
        level = next((part for part in parts if part in LEVELS), "")
        shown = topic
        if self.align:
            for i, part in enumerate(parts):
                if i == len(self.widths):
                    self.widths.append(0)
                self.widths[i] = max(self.widths[i], len(part))
            padded = [part.ljust(w) for part, w in zip(parts, self.widths, strict=False)]
            padded += [" " * w for w in self.widths[len(parts) :]]
            shown = ".".join(padded)
        ts = datetime.now().strftime(self.dateformat) + " " if self.timestamp else ""
        color = self.colors.get(level, "")
        reset = self.reset if color else ""
        return f"{ts}{color}{shown}{self.separator}{text}{reset}"


def _colors() -> dict[str, str]:
    try:
        import colorama

        colorama.just_fix_windows_console()
    except Exception:
        pass
    return dict(_ANSI)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import purezmq

    printer = Printer(
        timestamp=args.timestamp,
        separator=args.separator,
        dateformat=args.dateformat,
        align=args.align,
        colors=_colors() if args.color else None,
        reset=_RESET,
    )
    ctx = purezmq.Context()
    sub: Any = ctx.socket(purezmq.SUB)
    sub.linger = 0
    for topic in args.topic or [""]:
        sub.subscribe(topic.encode("utf8"))
    try:
        for url in args.zmq_pub_url:
            (sub.bind if args.bind else sub.connect)(url)
    except (purezmq.ZMQError, ValueError) as e:
        print(f"{_prog()}: cannot {'bind' if args.bind else 'connect'} {url}: {e}", file=sys.stderr)
        sub.close()
        ctx.term()
        return 2
    seen = 0
    try:
        while not args.count or seen < args.count:
            # Wake now and then, so Ctrl-C is seen on every platform.
            if not sub.poll(200):
                continue
            frames = sub.recv_multipart()
            print(printer.line(frames), flush=True)
            seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        sub.close()
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
