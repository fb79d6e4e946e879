"""What the CLI's commands share: exit codes, message formats, security options,
endpoint set-up with clear errors, and the ``--stats`` line on stderr.

Exit codes: 0 done; 1 a ZeroMQ or OS error (bad endpoint, address in use, ...);
2 usage (argparse); 3 a timeout; 4 a refused or failed handshake; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import purezmq
from purezmq import constants as C

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_HANDSHAKE = 4
EXIT_INTERRUPTED = 130

FORMATS = ("text", "json", "hex", "raw")


class CliError(Exception):
    """A failure to report in one line, with the exit status to use."""

    def __init__(self, message: str, status: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.status = status


def fail(message: str, status: int = EXIT_ERROR) -> CliError:
    return CliError(message, status)


# -- message formats --------------------------------------------------------------------


def parse_line(line: str, fmt: str, delimiter: str | None) -> list[bytes]:
    """One input line (no newline) as the frames of one message."""
    if fmt == "json":
        try:
            value = json.loads(line)
        except ValueError as e:
            raise fail(f"--format json: not JSON: {line[:60]!r} ({e})") from None
        items = value if isinstance(value, list) else [value]
        return [_json_frame(v) for v in items]
    parts = line.split(delimiter) if delimiter else [line]
    if fmt == "hex":
        try:
            return [bytes.fromhex(p) for p in parts]
        except ValueError:
            raise fail(f"--format hex: not hexadecimal: {line[:60]!r}") from None
    return [p.encode("utf-8", "surrogateescape") for p in parts]


def _json_frame(v: Any) -> bytes:
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, dict) and "base64" in v:
        return base64.b64decode(v["base64"])
    return json.dumps(v).encode()


def format_message(frames: list[bytes], fmt: str, delimiter: str | None) -> bytes:
    """A received message as bytes to write to stdout (newline included but for raw)."""
    if fmt == "raw":
        return b"".join(frames)
    if fmt == "hex":
        return (" " if delimiter is None else delimiter).join(
            f.hex() for f in frames
        ).encode() + b"\n"
    if fmt == "json":
        out = []
        for f in frames:
            try:
                out.append(f.decode("utf-8"))
            except UnicodeDecodeError:
                out.append({"base64": base64.b64encode(f).decode()})  # type: ignore[arg-type]
        return json.dumps(out).encode() + b"\n"
    sep = "\t" if delimiter is None else delimiter
    return sep.join(f.decode("utf-8", "backslashreplace") for f in frames).encode() + b"\n"


def read_messages(args: argparse.Namespace, stdin: IO[str]) -> Any:
    """The messages to send: ``-m`` texts, then ``--file`` (one message), else stdin lines."""
    if args.message:
        for text in args.message:
            yield parse_line(text, args.format, args.delimiter)
        return
    if args.file:
        try:
            yield [Path(args.file).read_bytes()]
        except OSError as e:
            raise fail(f"--file {args.file}: {e.strerror}") from None
        return
    for line in stdin:
        yield parse_line(line.rstrip("\r\n"), args.format, args.delimiter)


# -- options shared by every socket-running command ---------------------------------------


def add_endpoint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "-b",
        "--bind",
        action="append",
        default=[],
        metavar="ENDPOINT",
        help="bind to ENDPOINT (repeatable), e.g. tcp://*:5555, ipc:///tmp/s",
    )
    p.add_argument(
        "-c",
        "--connect",
        action="append",
        default=[],
        metavar="ENDPOINT",
        help="connect to ENDPOINT (repeatable), e.g. tcp://127.0.0.1:5555",
    )


def add_security_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("security (PLAIN, CURVE)")
    g.add_argument("--plain-user", metavar="NAME", help="PLAIN client: user name")
    g.add_argument("--plain-password", metavar="PW", default="", help="PLAIN client: password")
    g.add_argument(
        "--plain-server",
        action="store_true",
        help="PLAIN server; checks --allow USER:PASSWORD pairs if given, else accepts anyone",
    )
    g.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="USER:PASSWORD",
        help="with --plain-server: a user allowed in (repeatable)",
    )
    g.add_argument(
        "--curve-server",
        action="store_true",
        help="CURVE server (needs --curve-secretkey or --curve-keyfile)",
    )
    g.add_argument(
        "--curve-serverkey",
        metavar="KEY|FILE",
        help="CURVE client: the server's public key (Z85, or a .key certificate file)",
    )
    g.add_argument(
        "--curve-secretkey",
        metavar="KEY",
        help="our CURVE secret key (Z85); the public key is derived from it",
    )
    g.add_argument(
        "--curve-keyfile",
        metavar="FILE",
        help="our CURVE key pair from a .key_secret certificate (purezmq keygen --dir)",
    )
    g.add_argument(
        "--curve-allow",
        metavar="DIR",
        help="with --curve-server: accept only the clients whose .key files are in DIR",
    )


def _key(value: str, what: str, secret: bool = False) -> bytes:
    """A Z85 key given inline or read from a certificate file."""
    if len(value) == 40 and not Path(value).exists():
        return value.encode("ascii")
    path = Path(value)
    if not path.exists():
        raise fail(f"{what}: {value!r} is neither a 40-character Z85 key nor a file")
    from purezmq.auth.certs import load_certificate

    try:
        public, sec = load_certificate(path)
    except (OSError, ValueError) as e:
        raise fail(f"{what}: cannot read certificate {value}: {e}") from None
    if secret:
        if not sec:
            raise fail(f"{what}: {value} has no secret key (use the .key_secret file)")
        return sec
    return public


class Security:
    """The mechanism options asked for, applied to a socket; an authenticator if needed."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.auth: Any = None

    @property
    def mechanism(self) -> str:
        a = self.args
        if a.curve_server or a.curve_serverkey:
            return "CURVE"
        if a.plain_server or a.plain_user is not None:
            return "PLAIN"
        return "NULL"

    def our_keypair(self) -> tuple[bytes, bytes]:
        a = self.args
        if a.curve_keyfile:
            secret = _key(a.curve_keyfile, "--curve-keyfile", secret=True)
            public = _key(a.curve_keyfile, "--curve-keyfile")
            return public, secret
        if a.curve_secretkey:
            secret = _key(a.curve_secretkey, "--curve-secretkey", secret=True)
            return purezmq.curve_public(secret), secret
        return purezmq.curve_keypair()

    def apply(self, ctx: purezmq.Context, sock: purezmq.Socket) -> None:
        a = self.args
        if a.curve_server or a.curve_serverkey:
            if not purezmq.has("curve"):
                raise fail("CURVE needs PyNaCl: pip install purezmq[curve]")
            if a.curve_server:
                if not (a.curve_secretkey or a.curve_keyfile):
                    raise fail("--curve-server needs --curve-secretkey or --curve-keyfile")
                _public, secret = self.our_keypair()
                sock.curve_server = True
                sock.curve_secretkey = secret
                if a.curve_allow:
                    self._authenticator(ctx).configure_curve(domain="*", location=a.curve_allow)
            else:
                public, secret = self.our_keypair()
                sock.curve_serverkey = _key(a.curve_serverkey, "--curve-serverkey")
                sock.curve_publickey = public
                sock.curve_secretkey = secret
        elif a.plain_server:
            sock.plain_server = True
            if a.allow:
                passwords = {}
                for item in a.allow:
                    user, sep, pw = item.partition(":")
                    if not sep:
                        raise fail(f"--allow {item!r}: expected USER:PASSWORD")
                    passwords[user] = pw
                self._authenticator(ctx).configure_plain(domain="*", passwords=passwords)
        elif a.plain_user is not None:
            sock.plain_username = a.plain_user.encode()
            sock.plain_password = a.plain_password.encode()

    def _authenticator(self, ctx: purezmq.Context) -> Any:
        if self.auth is None:
            from purezmq.auth.thread import ThreadAuthenticator

            self.auth = ThreadAuthenticator(ctx)
            self.auth.start()
        return self.auth

    def stop(self) -> None:
        if self.auth is not None:
            self.auth.stop()
            self.auth = None


def attach(sock: purezmq.Socket, args: argparse.Namespace, out: IO[str] | None = None) -> list[str]:
    """Bind and connect as asked; a bad endpoint is a CliError naming it.

    Returns the endpoints bound, as the socket reports them (``LAST_ENDPOINT``).
    When that differs from what was asked (``tcp://127.0.0.1:*``: a port the OS
    chose; ``tcp://*:5555``) a line ``bound to ENDPOINT`` goes to ``out``
    (stderr), so a script can bind to port 0 and read which port it got.
    """
    if not args.bind and not args.connect:
        raise fail("give at least one -b/--bind or -c/--connect ENDPOINT", EXIT_USAGE)
    bound = [bind(sock, ep, out) for ep in args.bind]
    for ep in args.connect:
        connect(sock, ep)
    return bound


def bind(sock: purezmq.Socket, ep: str, out: IO[str] | None = None, what: str = "") -> str:
    """Bind ``sock`` to ``ep`` (CliError if that fails); tell ``out`` where, if the OS chose."""
    try:
        sock.bind(ep)
    except purezmq.ZMQError as e:
        raise fail(f"{what}cannot bind {ep}: {e}") from None
    real = bytes(sock.last_endpoint or b"").decode(errors="replace") or ep
    if real != ep:
        print(f"{what}bound to {real}", file=sys.stderr if out is None else out, flush=True)
    return real


def connect(sock: purezmq.Socket, ep: str, what: str = "") -> None:
    """Connect ``sock`` to ``ep``; CliError naming the endpoint if it is refused at once."""
    try:
        sock.connect(ep)
    except purezmq.ZMQError as e:
        raise fail(f"{what}cannot connect to {ep}: {e}") from None


class HandshakeWatch:
    """Watches a socket's monitor for failed handshakes, to report them.

    A failed handshake on a connection we made (``-c``) ends the command:
    the peer refused us, or speaks another mechanism, and nothing will get
    through. One on a connection we accepted (a ``-b`` endpoint, listed in
    ``bound``) is a peer we refused, or a stranger: it is told on stderr and
    the command goes on serving the others.
    """

    FAILED = (
        C.EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | C.EVENT_HANDSHAKE_FAILED_PROTOCOL
        | C.EVENT_HANDSHAKE_FAILED_AUTH
    )

    def __init__(
        self,
        ctx: purezmq.Context,
        sock: purezmq.Socket,
        label: str = "",
        out: IO[str] | None = None,
    ) -> None:
        addr = f"inproc://purezmq-cli-watch-{id(sock)}"
        sock.monitor(addr, self.FAILED | C.EVENT_HANDSHAKE_SUCCEEDED)
        self.mon = ctx.socket(C.PAIR)
        self.mon.linger = 0
        self.mon.connect(addr)
        self.succeeded = 0
        self.refused = 0  # failed handshakes on accepted connections
        self.bound: set[str] = set()  # our bind endpoints, as monitor events name them
        self.label = label
        self.out = out

    def check(self) -> None:
        """Raise CliError(EXIT_HANDSHAKE) if a handshake we started failed since the last
        look; tell stderr about failures on accepted connections."""
        from purezmq.utils.monitor import recv_monitor_message

        while self.mon.poll(0):
            evt = recv_monitor_message(self.mon)
            ev = int(evt["event"])
            if ev == C.EVENT_HANDSHAKE_SUCCEEDED:
                self.succeeded += 1
                continue
            if not ev & self.FAILED:
                continue
            if evt["endpoint"].decode(errors="replace") in self.bound:
                self.refused += 1
                out = sys.stderr if self.out is None else self.out
                print(self.label + describe_handshake_failure(evt, accepted=True), file=out)
                out.flush()
                continue
            raise fail(self.label + describe_handshake_failure(evt), EXIT_HANDSHAKE)

    def close(self) -> None:
        self.mon.close()


def describe_handshake_failure(evt: dict[str, Any], accepted: bool = False) -> str:
    """A failed-handshake monitor event in words; ``accepted``: a peer that connected to us."""
    ep = evt["endpoint"].decode(errors="replace")
    ev, value = int(evt["event"]), int(evt["value"])
    who = f"a peer on {ep}" if accepted else f"handshake with {ep}"
    if ev == C.EVENT_HANDSHAKE_FAILED_AUTH:
        if accepted:
            return f"refused a peer on {ep}: authentication said no (ZAP status {value})"
        return f"handshake with {ep} refused by authentication (ZAP status {value})"
    if ev == C.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        try:
            name = C.Event(value).name
        except ValueError:
            name = hex(value)
        return f"{who} failed: protocol error {name}"
    return (
        f"{who} failed (the peer closed the connection or timed out: "
        "different security mechanisms or keys?)"
    )


# -- --stats ------------------------------------------------------------------------------


class Stats:
    """Message and byte counts, a rate, and a bar when the count is known; on stderr."""

    def __init__(self, enabled: bool, total: int | None, out: IO[str] = sys.stderr) -> None:
        self.enabled = enabled
        self.total = total
        self.out = out
        self.sent = self.received = self.nbytes = 0
        self.start = time.monotonic()
        self.last = 0.0

    def count(self, sent: bool, frames: list[bytes]) -> None:
        if sent:
            self.sent += 1
        else:
            self.received += 1
        self.nbytes += sum(len(f) for f in frames)
        if self.enabled:
            now = time.monotonic()
            if now - self.last >= 0.25:
                self.last = now
                self.show(now)

    def show(self, now: float | None = None, final: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic() if now is None else now
        dt = max(now - self.start, 1e-9)
        n = self.sent + self.received
        line = (
            f"sent {self.sent}  received {self.received}  {_human(self.nbytes)}B  "
            f"{n / dt:,.0f} msg/s  {_human(self.nbytes / dt)}B/s"
        )
        if self.total:
            done = min(n, self.total)
            width = 24
            fill = int(width * done / self.total)
            line = f"[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total}  " + line
        self.out.write("\r" + line + ("\n" if final else ""))
        self.out.flush()


def _human(n: float) -> str:
    for unit in ("", "Ki", "Mi", "Gi"):
        if n < 1024 or unit == "Gi":
            return f"{n:,.0f} {unit}" if unit == "" else f"{n:,.1f} {unit}"
        n /= 1024
    return str(n)


def hexdump_safe(b: bytes) -> str:
    """Bytes as text if printable, else hex (for routing ids and metadata)."""
    try:
        s = b.decode("ascii")
        if s.isprintable():
            return s
    except UnicodeDecodeError:
        pass
    return "0x" + binascii.hexlify(b).decode()
