"""SOCKS5 (RFC 1928) client handshake with username/password auth (RFC 1929), sans-I/O.

SOCKS_PROXY makes a tcp connect go through a SOCKS5 proxy, as libzmq's
socks_connecter does: the connecter opens a tcp connection to the proxy, this
class says what to write and reads the answers, and once the proxy has
connected to the endpoint the same connection carries ZMTP. Rules kept:

- One method is offered, as libzmq does: "no authentication", or
  username/password when SOCKS_USERNAME is set (with SOCKS_PASSWORD, empty
  by default).
- The endpoint's host goes to the proxy as it was written: an IPv4 or IPv6
  literal as an address, anything else as a domain name (ATYP 3) that the
  proxy resolves, never resolved here.
- Nothing past the proxy's reply is read (``need``): what follows it is the
  peer's ZMTP greeting, for the engine.
- Any refusal or malformed answer raises ``SocksError`` naming it; the
  connecter then drops that connection and retries with its usual back-off.
"""

from __future__ import annotations

import ipaddress
import struct

__all__ = ["Socks5Client", "SocksError"]

_VERSION = 5
_NO_AUTH = 0
_USER_PASS = 2
_NO_ACCEPTABLE = 0xFF
_CONNECT = 1
_ATYP_IPV4, _ATYP_DOMAIN, _ATYP_IPV6 = 1, 3, 4
_REPLIES = {
    1: "general SOCKS server failure",
    2: "connection not allowed by ruleset",
    3: "network unreachable",
    4: "host unreachable",
    5: "connection refused",
    6: "TTL expired",
    7: "command not supported",
    8: "address type not supported",
}


class SocksError(Exception):
    """The proxy refused, or answered something that is not SOCKS5."""


class Socks5Client:
    """Drives one CONNECT through a SOCKS5 proxy: ``greeting()``, then ``feed()``
    what the proxy sends until ``done``; each returns the bytes to write."""

    def __init__(self, host: str, port: int, username: bytes = b"", password: bytes = b"") -> None:
        if len(username) > 255 or len(password) > 255:
            raise ValueError("SOCKS username and password are at most 255 octets")
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.state = "method"
        self.done = False
        self._buf = b""

    def greeting(self) -> bytes:
        method = _USER_PASS if self.username else _NO_AUTH
        return bytes([_VERSION, 1, method])

    def _request(self) -> bytes:
        try:
            addr = ipaddress.ip_address(self.host)
        except ValueError:
            name = self.host.encode("idna")
            if not 0 < len(name) <= 255:
                raise SocksError(f"host name {self.host!r} is too long for SOCKS5") from None
            dest = bytes([_ATYP_DOMAIN, len(name)]) + name
        else:
            atyp = _ATYP_IPV4 if addr.version == 4 else _ATYP_IPV6
            dest = bytes([atyp]) + addr.packed
        self.state = "reply"
        return bytes([_VERSION, _CONNECT, 0]) + dest + struct.pack(">H", self.port)

    def feed(self, data: bytes) -> bytes:
        """Take what the proxy sent; return what to send next (may be empty)."""
        self._buf += data
        out = b""
        while not self.done:
            step = self._step()
            if step is None:
                break
            out += step
        return out

    def _take(self, n: int) -> bytes | None:
        if len(self._buf) < n:
            return None
        head, self._buf = self._buf[:n], self._buf[n:]
        return head

    def _step(self) -> bytes | None:
        if self.state == "method":
            got = self._take(2)
            if got is None:
                return None
            if got[0] != _VERSION:
                raise SocksError(f"not a SOCKS5 proxy (version {got[0]} in its answer)")
            if got[1] == _NO_ACCEPTABLE:
                want = "username/password" if self.username else "no authentication"
                raise SocksError(f"the proxy accepts no method we offer ({want})")
            if got[1] == _USER_PASS and self.username:
                self.state = "auth"
                u, p = self.username, self.password
                return bytes([1, len(u)]) + u + bytes([len(p)]) + p
            if got[1] == _NO_AUTH and not self.username:
                return self._request()
            raise SocksError(f"the proxy chose method {got[1]}, which we did not offer")
        if self.state == "auth":
            got = self._take(2)
            if got is None:
                return None
            if got[1] != 0:
                raise SocksError("the proxy refused the SOCKS username/password")
            return self._request()
        # "reply": VER REP RSV ATYP BND.ADDR BND.PORT
        if len(self._buf) < 5:
            return None
        ver, rep, _rsv, atyp = self._buf[:4]
        if ver != _VERSION:
            raise SocksError(f"not a SOCKS5 reply (version {ver})")
        if rep != 0:
            why = _REPLIES.get(rep, f"reply code {rep}")
            raise SocksError(f"the proxy could not connect to {self.host}:{self.port}: {why}")
        if atyp == _ATYP_IPV4:
            size = 4 + 4 + 2
        elif atyp == _ATYP_IPV6:
            size = 4 + 16 + 2
        elif atyp == _ATYP_DOMAIN:
            size = 4 + 1 + self._buf[4] + 2
        else:
            raise SocksError(f"bad address type {atyp} in the proxy's reply")
        if self._take(size) is None:
            return None
        self.done = True
        return b""

    def need(self) -> int:
        """How many octets to read next: never more than the handshake's, since what
        follows the proxy's reply is the peer's ZMTP greeting, the engine's to read."""
        have = len(self._buf)
        if self.state in ("method", "auth"):
            return max(1, 2 - have)
        if have < 5:
            return 5 - have
        atyp = self._buf[3]
        tail = {_ATYP_IPV4: 4 + 2, _ATYP_IPV6: 16 + 2}.get(atyp, 1 + self._buf[4] + 2)
        return max(1, 4 + tail - have)
