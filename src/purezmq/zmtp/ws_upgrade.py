"""The HTTP/1.1 upgrade that opens a ZWS connection (RFC 6455 4, RFC 45), sans-I/O.

Rules this module keeps:

- The client (the connecting side) sends ``GET <path> HTTP/1.1`` with Host,
  ``Upgrade: websocket``, ``Connection: Upgrade``, a fresh 16-octet
  ``Sec-WebSocket-Key``, ``Sec-WebSocket-Version: 13`` and the ZWS
  subprotocols it speaks, most wanted first: libzmq's client offers
  ``ZWS2.0/NULL,ZWS2.0`` with the NULL mechanism, ``ZWS2.0/PLAIN`` or
  ``ZWS2.0/CURVE`` with the others; so does this one.
- The server (the binding side) answers ``101 Switching Protocols`` with the
  ``Sec-WebSocket-Accept`` of RFC 6455 and the first subprotocol of the
  client's list that it speaks. The request path is not checked (libzmq's
  server does not check it either); it is kept in ``path``.
- Anything else is a ``ProtocolError`` naming the problem: a request line
  that is not ``GET <path> HTTP/1.1``, a status other than 101, missing or
  wrong Upgrade / Connection / key / version / accept headers, no
  subprotocol in common, control characters, a header line without a colon,
  header folding, or a head longer than ``MAX_HEAD`` octets. The caller
  closes the connection; nothing is retried here.
- Bytes after the head (a server's first ZWS frames may share a segment
  with its 101) are returned by ``feed`` for the framing layer.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from .errors import WS_UNSPECIFIED, ProtocolError

__all__ = ["MAX_HEAD", "ClientUpgrade", "ServerUpgrade", "accept_key", "zws_protocols"]

#: Longest request/response head accepted (request line, headers, blank line).
MAX_HEAD = 8192
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def accept_key(key: str) -> str:
    """``Sec-WebSocket-Accept`` for a ``Sec-WebSocket-Key`` (RFC 6455 4.2.2)."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def zws_protocols(mechanism: str) -> list[str]:
    """The subprotocols a side with ``mechanism`` (NULL, PLAIN, CURVE) speaks, best first."""
    if mechanism == "NULL":
        return ["ZWS2.0/NULL", "ZWS2.0"]
    return [f"ZWS2.0/{mechanism}"]


def _error(message: str) -> ProtocolError:
    return ProtocolError(message, WS_UNSPECIFIED)


class _Head:
    """Collects octets up to the blank line ending an HTTP head."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.buf = b""

    def feed(self, data: bytes) -> tuple[bytes, bytes] | None:
        """``(head, rest)`` once the head is complete, else None."""
        scan_from = max(len(self.buf) - 3, 0)
        self.buf += data
        end = self.buf.find(b"\r\n\r\n", scan_from)
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                raise _error(f"WebSocket {self.what} head longer than {MAX_HEAD} octets")
            return None
        if end + 4 > MAX_HEAD:
            raise _error(f"WebSocket {self.what} head longer than {MAX_HEAD} octets")
        head, rest = self.buf[:end], self.buf[end + 4 :]
        self.buf = b""
        return head, rest


def _parse_head(head: bytes, what: str) -> tuple[str, dict[str, str]]:
    """The first line and the headers (lower-cased names; repeats joined with ",")."""
    for c in head:
        if (c < 0x20 and c not in (0x09, 0x0D, 0x0A)) or c == 0x7F:
            raise _error(f"control character 0x{c:02x} in the WebSocket {what}")
    lines = head.decode("latin-1").split("\r\n")
    for line in lines:
        if "\n" in line or "\r" in line:
            raise _error(f"bare CR or LF in the WebSocket {what}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if line[:1] in (" ", "\t"):
            raise _error(f"folded header line in the WebSocket {what}: {line[:60]!r}")
        name, sep, value = line.partition(":")
        if not sep or not name or not set(name) <= _TOKEN:
            raise _error(f"malformed header line in the WebSocket {what}: {line[:60]!r}")
        key = name.lower()
        value = value.strip(" \t")
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    return lines[0], headers


def _tokens(value: str) -> list[str]:
    return [t.strip(" \t") for t in value.split(",") if t.strip(" \t")]


def _check_upgrade_headers(headers: dict[str, str], what: str) -> None:
    if "websocket" not in (t.lower() for t in _tokens(headers.get("upgrade", ""))):
        raise _error(
            f"WebSocket {what} lacks 'Upgrade: websocket' (got {headers.get('upgrade', 'none')!r})"
        )
    if "upgrade" not in (t.lower() for t in _tokens(headers.get("connection", ""))):
        raise _error(
            f"WebSocket {what} lacks 'Connection: Upgrade' "
            f"(got {headers.get('connection', 'none')!r})"
        )


class ClientUpgrade:
    """The connecting side's upgrade: ``request`` to send, then ``feed`` the reply."""

    def __init__(self, host: str, path: str, protocols: Sequence[str], key: bytes | None = None):
        """``host``: the Host header (``name[:port]``); ``path``: the request target."""
        if not path.startswith("/") or any(c <= " " or c > "~" for c in path):
            raise ValueError(f"invalid WebSocket request path {path!r}")
        if any(c <= " " or c > "~" for c in host):
            raise ValueError(f"invalid WebSocket Host {host!r}")
        raw_key = os.urandom(16) if key is None else key
        self.key = base64.b64encode(raw_key).decode("ascii")
        self.protocols = list(protocols)
        self.request = (
            f"GET {path} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {self.key}\r\n"
            f"Sec-WebSocket-Protocol: {','.join(self.protocols)}\r\n"
            "Sec-WebSocket-Version: 13\r\n"
            "\r\n"
        ).encode("ascii")
        #: The subprotocol the server chose, once ``feed`` returned.
        self.protocol = ""
        self._head = _Head("response")

    def feed(self, data: bytes) -> bytes | None:
        """Feed received octets; the octets after the response once it is complete."""
        got = self._head.feed(data)
        if got is None:
            return None
        head, rest = got
        status, headers = _parse_head(head, "response")
        parts = status.split(" ", 2)
        if len(parts) < 2 or parts[0] != "HTTP/1.1":
            raise _error(f"not an HTTP/1.1 status line: {status[:80]!r}")
        if parts[1] != "101":
            raise _error(f"the server refused the WebSocket upgrade: {status[:80]!r}")
        _check_upgrade_headers(headers, "response")
        accept = headers.get("sec-websocket-accept")
        if accept != accept_key(self.key):
            raise _error(f"wrong Sec-WebSocket-Accept {accept!r} in the server's response")
        proto = headers.get("sec-websocket-protocol", "")
        if proto not in self.protocols:
            raise _error(
                f"the server chose subprotocol {proto!r}, not one of {','.join(self.protocols)}"
            )
        self.protocol = proto
        return rest


class ServerUpgrade:
    """The binding side's upgrade: ``feed`` the request, then send ``response``."""

    def __init__(self, protocols: Sequence[str]) -> None:
        """``protocols``: the subprotocols this side speaks."""
        self.protocols = list(protocols)
        #: Set once ``feed`` returned: the 101 reply, the chosen subprotocol, the request.
        self.response = b""
        self.protocol = ""
        self.path = ""
        self.host = ""
        self._head = _Head("request")

    def feed(self, data: bytes) -> bytes | None:
        """Feed received octets; the octets after the request once it is complete."""
        got = self._head.feed(data)
        if got is None:
            return None
        head, rest = got
        line, headers = _parse_head(head, "request")
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "GET" or not parts[1] or parts[2] != "HTTP/1.1":
            raise _error(f"not a 'GET <path> HTTP/1.1' request line: {line[:80]!r}")
        _check_upgrade_headers(headers, "request")
        version = headers.get("sec-websocket-version")
        if version != "13":
            raise _error(f"Sec-WebSocket-Version {version!r}: only 13 is spoken")
        key = headers.get("sec-websocket-key", "")
        try:
            ok = len(base64.b64decode(key.encode("ascii"), validate=True)) == 16
        except (ValueError, UnicodeEncodeError):
            ok = False
        if not ok:
            raise _error(f"Sec-WebSocket-Key {key[:40]!r} is not 16 octets in base64")
        offered = _tokens(headers.get("sec-websocket-protocol", ""))
        chosen = next((p for p in offered if p in self.protocols), None)
        if chosen is None:
            raise _error(
                f"no subprotocol in common: the client offers {','.join(offered) or 'none'!r}, "
                f"this socket speaks {','.join(self.protocols)}"
            )
        self.protocol = chosen
        self.path = parts[1]
        self.host = headers.get("host", "")
        self.response = (
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n"
            f"Sec-WebSocket-Protocol: {chosen}\r\n"
            "\r\n"
        ).encode("ascii")
        return rest
