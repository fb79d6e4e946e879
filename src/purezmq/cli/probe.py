"""``purezmq probe ENDPOINT``: does a ZeroMQ peer answer there, and how?

It opens one connection itself and walks it step by step, saying in plain
words which step worked and which did not:

1. the TCP (or ipc) connect;
2. the ZMTP greeting: the peer's protocol version and security mechanism
   (for ws://, the WebSocket upgrade and the ZWS subprotocol instead);
3. the handshake (NULL, PLAIN or CURVE, as the options ask), and with it the
   server's authentication (ZAP) decision: the peer's socket type, routing id
   and metadata on success, the reason on failure;
4. a round trip: a ZMTP PING answered by PONG (ZMTP 3.1 peers), which the
   peer's application never sees.

Endpoints: ``tcp://HOST:PORT``, ``ipc://PATH`` (``ipc://@NAME`` abstract) and
``ws://HOST:PORT/PATH`` (ZeroMQ over WebSocket, RFC 45). Not ``wss://`` (TLS:
use ``purezmq monitor`` with the WSS options of a socket instead), nor
``inproc://`` (in one process only), ``udp://`` (no handshake to probe),
``pgm``/``epgm``, ``tipc`` or ``vmci``: those are refused with a usage error.

Exit status: 0 all steps passed, 1 connect failed, 2 an endpoint probe does
not speak, 3 a step timed out, 4 the greeting or handshake failed.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from typing import Any

from purezmq.cli import common
from purezmq.cli.common import fail
from purezmq.cli.sockets import SOCKET_TYPES
from purezmq.utils import z85
from purezmq.zmtp import ErrorReceived, HandshakeComplete, Pong, ProtocolError, ZmtpConnection
from purezmq.zmtp.ws_connection import ZwsConnection

EXAMPLES = """\
examples:
  purezmq probe tcp://127.0.0.1:5555                  as a DEALER, no security
  purezmq probe tcp://10.0.0.2:5556 --type sub
  purezmq probe tcp://host:5557 --curve-serverkey server.key
  purezmq probe ipc:///tmp/feed --plain-user me --plain-password secret
  purezmq probe ws://127.0.0.1:8080/zmq --type req        ZeroMQ over WebSocket
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "probe",
        help="check an endpoint step by step: connect, greeting, handshake, round trip",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "endpoint", metavar="ENDPOINT", help="tcp://HOST:PORT, ipc://PATH or ws://HOST:PORT/PATH"
    )
    p.add_argument(
        "--type",
        default="dealer",
        choices=sorted(t for t in SOCKET_TYPES if t != "dgram"),  # dgram: no ZMTP
        help="the socket type we present (default dealer: REP, ROUTER and DEALER accept it)",
    )
    p.add_argument("-t", "--timeout", type=float, default=5.0, metavar="SECONDS", help="per step")
    p.add_argument("--identity", metavar="ID", help="our routing id")
    common.add_security_options(p)
    p.set_defaults(run=run_probe)


class Probe:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = sys.stdout
        self.ws_host = ""  # ws://: the Host header and request path
        self.ws_path = "/"

    def say(self, step: str, text: str) -> None:
        self.out.write(f"{step + ':':<12} {text}\n")
        self.out.flush()

    # -- 1. connect --------------------------------------------------------------------------

    def connect(self) -> socket.socket:
        ep = self.args.endpoint
        timeout = self.args.timeout
        t0 = time.perf_counter()
        scheme, sep, rest = ep.partition("://")
        if not sep:
            raise fail(f"bad endpoint {ep!r}: expected tcp://HOST:PORT", common.EXIT_USAGE)
        if scheme in ("tcp", "ws"):
            hostport, slash, path = rest.partition("/")
            if scheme == "tcp" and slash:
                raise fail(f"bad endpoint {ep!r}: expected tcp://HOST:PORT", common.EXIT_USAGE)
            self.ws_path = "/" + path
            host, sep, port_s = hostport.rpartition(":")
            if not sep or not port_s.isdigit():
                raise fail(
                    f"bad endpoint {ep!r}: expected {scheme}://HOST:PORT"
                    + ("/PATH" if scheme == "ws" else ""),
                    common.EXIT_USAGE,
                )
            self.ws_host = hostport
            host = host.strip("[]")
            try:
                infos = socket.getaddrinfo(host, int(port_s), 0, socket.SOCK_STREAM)
            except socket.gaierror as e:
                self.say("connect", f"FAILED: cannot resolve {host!r} ({e.strerror})")
                raise fail(f"cannot resolve {host!r}") from None
            family, stype, proto, _, addr = infos[0]
            s = socket.socket(family, stype, proto)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the PING goes at once
            where = f"{host} port {port_s}"
        elif scheme == "ipc":
            path = rest
            addr = "\0" + path[1:] if path.startswith("@") else path
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            where = path
        else:
            why = _UNSUPPORTED.get(scheme, "not a transport probe knows")
            raise fail(
                f"cannot probe {ep!r}: {scheme}:// {why}; probe speaks tcp://, ipc:// and ws://",
                common.EXIT_USAGE,
            )
        s.settimeout(timeout)
        try:
            s.connect(addr)
        except TimeoutError:
            s.close()
            self.say("connect", f"FAILED: no answer from {where} within {timeout:g} s")
            raise fail("connect timed out", common.EXIT_TIMEOUT) from None
        except OSError as e:
            s.close()
            why = e.strerror or str(e)
            hint = " (nothing listens there?)" if e.errno in (111, 2) else ""
            self.say("connect", f"FAILED: {where}: {why}{hint}")
            raise fail(f"cannot connect to {ep}: {why}") from None
        self.say("connect", f"ok, {where} ({(time.perf_counter() - t0) * 1000:.1f} ms)")
        return s

    # -- 2-4. the ZMTP conversation -----------------------------------------------------------

    def mechanism(self) -> tuple[Any, str]:
        a = self.args
        sec = common.Security(a)
        name = sec.mechanism
        if a.curve_server or a.plain_server:
            raise fail("probe is a client: --curve-server/--plain-server do not apply", 2)
        if name == "CURVE":
            from purezmq.zmtp.mechanisms import CurveMechanism

            public, secret = sec.our_keypair()
            server = common._key(a.curve_serverkey, "--curve-serverkey")
            mech = CurveMechanism(
                secretkey=z85.decode(secret),
                publickey=z85.decode(public),
                serverkey=z85.decode(server),
            )
            return mech, name
        if name == "PLAIN":
            from purezmq.zmtp.mechanisms import PlainMechanism

            return PlainMechanism(a.plain_user.encode(), a.plain_password.encode()), name
        return None, name

    def run(self) -> int:
        a = self.args
        mech, mech_name = self.mechanism()
        stype = a.type.upper()
        print(f"probing {a.endpoint} as a {stype} socket, mechanism {mech_name}")
        s = self.connect()
        try:
            if a.endpoint.startswith("ws://"):
                return self._talk_ws(s, mech, mech_name, stype)
            return self._talk(s, mech, mech_name, stype)
        finally:
            s.close()

    def _talk_ws(self, s: socket.socket, mech: Any, mech_name: str, stype: str) -> int:
        """ws://: the HTTP upgrade (in place of the greeting), then the handshake and a
        WebSocket ping, answered by the peer's WebSocket layer."""
        a = self.args
        conn = ZwsConnection(
            socket_type=stype,
            ws_client=True,
            mechanism=mech,
            routing_id=(a.identity or "").encode(),
            host=self.ws_host,
            path=self.ws_path,
        )
        s.sendall(conn.data_to_send())
        deadline = time.monotonic() + a.timeout
        upgraded = False
        t_ping = 0.0
        while True:
            left = deadline - time.monotonic()
            step = "handshake" if upgraded else "upgrade"
            if left <= 0:
                self.say(step, f"FAILED: no answer within {a.timeout:g} s")
                raise fail(f"{step} timed out", common.EXIT_TIMEOUT)
            s.settimeout(left)
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            except OSError as e:
                data, reset = b"", f" ({e.strerror or e})"
            else:
                reset = ""
            if not data:
                self.say(step, f"FAILED: the peer closed the connection{reset}")
                if upgraded:
                    self.say("hint", _WS_CLOSED_HINT.get(mech_name, _WS_CLOSED_HINT["NULL"]))
                raise fail("the peer closed the connection", common.EXIT_HANDSHAKE)
            try:
                conn.receive_data(data)
            except ProtocolError as e:
                if not upgraded and conn.protocol:
                    self._upgraded(conn.protocol)
                self.say("handshake" if conn.protocol else "upgrade", f"FAILED: {e}")
                raise self._failed(e) from None
            if not upgraded and conn.protocol:
                upgraded = True
                self._upgraded(conn.protocol)
            out = conn.data_to_send()
            if out:
                s.sendall(out)
            for ev in conn.events:
                if isinstance(ev, ErrorReceived):
                    raise self._refused(ev, mech_name)
                if isinstance(ev, HandshakeComplete):
                    self._handshake(ev, mech_name, ws=True)
                    conn.send_ping(context=b"purezmq-probe")
                    t_ping = time.perf_counter()
                    s.sendall(conn.data_to_send())
                    deadline = time.monotonic() + a.timeout
                if isinstance(ev, Pong) and t_ping:
                    rtt = (time.perf_counter() - t_ping) * 1000
                    self.say("round trip", f"{rtt:.2f} ms (WebSocket ping/pong)")
                    return common.EXIT_OK
            conn.events.clear()

    def _talk(self, s: socket.socket, mech: Any, mech_name: str, stype: str) -> int:
        a = self.args
        conn = ZmtpConnection(
            socket_type=stype,
            mechanism=mech,
            routing_id=(a.identity or "").encode(),
        )
        raw = bytearray()  # the first 64 bytes: the peer's greeting, read by hand too
        greeted = False
        deadline = time.monotonic() + a.timeout
        # Our greeting in two steps, as libzmq sends its own: the signature and
        # major version first. A libzmq peer then sends its whole greeting
        # (mechanism included) before it sees ours and hangs up on a mismatch,
        # so we can say which mechanism it wanted.
        first = conn.data_to_send()
        held: bytes | None = first[11:]
        s.sendall(first[:11])
        held_until = time.monotonic() + min(0.5, a.timeout / 2)
        t_ping = 0.0
        while True:
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                step = "handshake" if greeted else "greeting"
                self.say(step, f"FAILED: no answer within {a.timeout:g} s")
                raise fail(f"{step} timed out", common.EXIT_TIMEOUT)
            if held is not None and (len(raw) >= 64 or now >= held_until):
                s.sendall(held)
                held = None
            s.settimeout(left if held is None else max(0.01, held_until - now))
            try:
                data = s.recv(65536)
            except TimeoutError:
                continue
            except OSError as e:
                data = b""
                reset = e.strerror or str(e)
            else:
                reset = ""
            if not data:
                self._closed(raw, greeted, mech_name, reset)
                raise fail("the peer closed the connection", common.EXIT_HANDSHAKE)
            if len(raw) < 64:
                raw += data[: 64 - len(raw)]
            if held is not None and len(raw) >= 64:
                s.sendall(held)
                held = None
            try:
                conn.receive_data(data)
            except ProtocolError as e:
                if not greeted and len(raw) >= 12:
                    self._greeting(raw)
                step = "handshake" if greeted or len(raw) >= 64 else "greeting"
                self.say(step, f"FAILED: {e}")
                self._hint(raw, mech_name)
                raise self._failed(e) from None
            if not greeted and conn.peer_greeting is not None:
                greeted = True
                self._greeting(raw)
            out = conn.data_to_send()
            if out:
                s.sendall(out)
            for ev in conn.events:
                if isinstance(ev, ErrorReceived):
                    raise self._refused(ev, mech_name)
                if isinstance(ev, HandshakeComplete):
                    self._handshake(ev, mech_name)
                    if ev.peer_version >= (3, 1):
                        conn.send_ping(ttl=a.timeout, context=b"purezmq-probe")
                        t_ping = time.perf_counter()
                        s.sendall(conn.data_to_send())
                        deadline = time.monotonic() + a.timeout
                    else:
                        self.say("round trip", "not measured: ZMTP 3.0 peers have no PING")
                        return common.EXIT_OK
                if isinstance(ev, Pong) and t_ping:
                    rtt = (time.perf_counter() - t_ping) * 1000
                    self.say("round trip", f"{rtt:.2f} ms (ZMTP PING/PONG)")
                    return common.EXIT_OK
            conn.events.clear()

    def _upgraded(self, protocol: str) -> None:
        self.say("upgrade", f"ok, WebSocket subprotocol {protocol} (ZeroMQ over WebSocket)")

    def _greeting(self, raw: bytes | bytearray) -> None:
        major, minor = raw[10], raw[11]
        mech = bytes(raw[12:32]).rstrip(b"\0").decode("ascii", "replace") if len(raw) >= 32 else "?"
        # The as-server octet: libzmq 4.3 sends 0 even from a PLAIN server, so only a
        # 1 tells anything.
        role = ", as server" if len(raw) >= 33 and mech == "PLAIN" and raw[32] else ""
        self.say("greeting", f"ok, the peer speaks ZMTP {major}.{minor}, mechanism {mech}{role}")

    def _failed(self, e: Exception) -> Exception:
        """The handshake failed (tcp/ipc and ws alike): a hint when the peer's type is known."""
        peer = str(e).rsplit(" ", 1)[-1] if "cannot connect to" in str(e) else ""
        if peer in _MATCHING:
            self.say("hint", f"the peer is a {peer} socket: try --type {_MATCHING[peer]}")
        return fail(str(e), common.EXIT_HANDSHAKE)

    def _refused(self, ev: ErrorReceived, mech_name: str) -> Exception:
        """The peer sent ERROR (tcp/ipc and ws alike): report it, with ZAP's reading."""
        reason = ev.reason.decode(errors="replace")
        self.say("handshake", f"REFUSED by the peer: {reason!r}")
        if mech_name != "NULL":
            self.say("zap", "the server's authentication refused us" + _zap(reason))
        return fail(f"handshake refused: {reason}", common.EXIT_HANDSHAKE)

    def _hint(self, raw: bytes | bytearray, ours: str) -> None:
        if len(raw) >= 32:
            theirs = bytes(raw[12:32]).rstrip(b"\0").decode("ascii", "replace")
            if theirs != ours:
                what = {
                    "CURVE": "give the server's public key with --curve-serverkey",
                    "PLAIN": "give --plain-user and --plain-password",
                    "NULL": "drop the security options",
                }.get(theirs, "")
                self.say("hint", f"the peer uses {theirs} and we offered {ours}: {what}")

    def _closed(self, raw: bytes | bytearray, greeted: bool, mech: str, reset: str) -> None:
        how = f"reset the connection ({reset})" if reset else "closed the connection"
        if len(raw) < 64:
            if len(raw) >= 12:
                self._greeting(raw)
            self.say("greeting", f"FAILED: the peer {how} before its greeting was complete")
            self._hint(raw, mech)
            return
        self.say("handshake", f"FAILED: the peer {how} during the handshake")
        theirs = bytes(raw[12:32]).rstrip(b"\0").decode("ascii", "replace")
        if theirs != mech:
            self._hint(raw, mech)
        elif mech == "CURVE":
            self.say(
                "hint",
                "a CURVE server hangs up like this when --curve-serverkey is not its public key",
            )
        elif mech == "PLAIN":
            self.say(
                "zap",
                "the server may have refused the user name or password (a libzmq PLAIN "
                "server with no ZAP handler refuses everyone)",
            )
        else:
            self.say(
                "hint",
                f"a peer hangs up like this when a {self.args.type.upper()} socket cannot "
                "talk to its type: try another --type (sub for a PUB, pull for a PUSH, ...)",
            )

    def _handshake(self, ev: HandshakeComplete, mech: str, ws: bool = False) -> None:
        rid = common.hexdump_safe(ev.peer_routing_id) if ev.peer_routing_id else "none"
        v = "ZWS 2.0" if ws else "ZMTP " + ".".join(map(str, ev.peer_version))
        if ev.peer_socket_type:
            self.say("handshake", f"ok, the peer is a {ev.peer_socket_type} socket ({v})")
        else:  # ZWS2.0 with no mechanism: no READY, so no socket type
            self.say("handshake", f"ok ({v} without a mechanism: the peer names no socket type)")
        self.say("routing id", rid)
        for k, val in ev.peer_metadata.items():
            self.say("metadata", f"{k} = {common.hexdump_safe(bytes(val))}")
        if mech == "NULL":
            self.say("zap", "no credentials asked (NULL); any ZAP handler let us in")
        else:
            self.say("zap", f"passed: the server accepted our {mech} credentials")


# What to probe a peer of each type as.
_MATCHING = {
    "PUB": "sub",
    "XPUB": "sub",
    "SUB": "pub",
    "XSUB": "pub",
    "PUSH": "pull",
    "PULL": "push",
    "PAIR": "pair",
    "REQ": "rep",
    "REP": "dealer",
    "DEALER": "dealer",
    "ROUTER": "dealer",
}


# Why probe does not speak some transports (it is refused with exit status 2).
_UNSUPPORTED = {
    "wss": "needs TLS, which probe does not do (purezmq monitor with a WSS socket does)",
    "inproc": "works inside one process only",
    "udp": "carries RADIO/DISH and DGRAM datagrams, with no handshake to probe",
    "pgm": "(multicast) is not supported by purezmq",
    "epgm": "(multicast) is not supported by purezmq",
    "tipc": "is not supported by purezmq",
    "vmci": "is not supported by purezmq",
}

_WS_CLOSED_HINT = {
    "CURVE": "a CURVE server hangs up like this when --curve-serverkey is not its public key",
    "PLAIN": "the server may have refused the user name or password",
    "NULL": "a peer hangs up like this when its socket type cannot talk to ours: try --type",
}


def _zap(reason: str) -> str:
    codes = {"300": " (300: try later)", "400": " (400: denied)", "500": " (500: ZAP error)"}
    return codes.get(reason.strip(), f": {reason}")


def run_probe(args: argparse.Namespace) -> int:
    return Probe(args).run()
