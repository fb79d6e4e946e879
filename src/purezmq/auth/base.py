"""Authenticator: the policy behind a ZAP handler (RFC 27), as pyzmq's zmq.auth.

It owns a REP socket bound at ``inproc://zeromq.zap.01`` in its Context;
servers of that Context (PLAIN_SERVER, CURVE_SERVER, or NULL with a
ZAP_DOMAIN) ask it about every new peer. Decisions:

- IP filter first: with an ``allow`` list only listed addresses may go on;
  with a ``deny`` list listed addresses are refused. The two are exclusive.
- NULL: allowed unless the IP filter refused it.
- PLAIN: the username/password must match ``configure_plain``'s dict for
  the request's domain (or ``"*"``); otherwise refused.
- CURVE: with ``CURVE_ALLOW_ANY`` any key; with ``configure_curve_callback``
  the provider's ``callback(domain, z85_key)`` decides (it may be async);
  else the key must be among the certificates loaded for the domain.
- GSSAPI: purezmq has no GSSAPI mechanism; such requests are refused.
- Everything else gets 400. Accepted peers get 200 with the user id
  (PLAIN: the username; CURVE: ``curve_user_id(key)``, Z85 by default).

Only the decision logic lives here; thread.py and asyncio.py run it.
Passwords and keys are never logged.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

from purezmq import constants as C
from purezmq.auth.certs import load_certificates
from purezmq.utils import z85

__all__ = ["Authenticator", "CURVE_ALLOW_ANY", "VERSION"]

#: Pass as ``location`` to ``configure_curve`` to accept every client key.
CURVE_ALLOW_ANY = "*"
#: The ZAP protocol version this handler speaks.
VERSION = b"1.0"
ZAP_ENDPOINT = "inproc://zeromq.zap.01"


class Authenticator:
    """ZAP authentication policy and handler socket; call ``handle_zap_message`` yourself.

    ``ThreadAuthenticator`` and ``AsyncioAuthenticator`` run it for you.
    """

    context: Any
    encoding: str
    log: Any
    allow_any: bool
    credentials_providers: dict[str, Any]
    zap_socket: Any
    passwords: dict[str, dict[str, str]]
    certs: dict[str, dict[bytes, Any]]

    def __init__(self, context: Any = None, encoding: str = "utf-8", log: Any = None) -> None:
        if context is None:
            from purezmq.sugar.context import Context

            context = Context.instance()
        self.context = context
        self.encoding = encoding
        self.log = log or logging.getLogger("purezmq.auth")
        self.allow_any = False
        self.credentials_providers = {}
        self.zap_socket = None
        self._allowed: set[str] = set()
        self._denied: set[str] = set()
        self.passwords = {}
        self.certs = {}

    # -- the handler socket ---------------------------------------------------------------

    def start(self) -> None:
        """Create the ZAP socket and bind it at inproc://zeromq.zap.01."""
        self.zap_socket = self.context.socket(C.REP, socket_class=self._socket_class())
        self.zap_socket.linger = 1
        self.zap_socket.bind(ZAP_ENDPOINT)
        self.log.debug("Starting ZAP at %s", ZAP_ENDPOINT)

    def _socket_class(self) -> Any:
        """The socket class of ``self.context`` (subclasses may want another)."""
        return None

    def stop(self) -> None:
        """Close the ZAP socket (its Context stays open)."""
        if self.zap_socket is not None:
            self.zap_socket.close()
        self.zap_socket = None

    # -- configuration ---------------------------------------------------------------------

    def allow(self, *addresses: str) -> None:
        """Accept connections only from these IP addresses (exclusive with ``deny``)."""
        if self._denied:
            raise ValueError("allow() and deny() are mutually exclusive; this one already denies")
        self.log.debug("Allowing %s", ",".join(addresses))
        self._allowed.update(addresses)

    def deny(self, *addresses: str) -> None:
        """Refuse connections from these IP addresses (exclusive with ``allow``)."""
        if self._allowed:
            raise ValueError("allow() and deny() are mutually exclusive; this one already allows")
        self.log.debug("Denying %s", ",".join(addresses))
        self._denied.update(addresses)

    def configure_plain(self, domain: str = "*", passwords: dict[str, str] | None = None) -> None:
        """PLAIN for ``domain`` ("*" for all): ``passwords`` maps username to password."""
        self.passwords[domain] = dict(passwords or {})
        self.log.debug("Configure plain: %s", domain)

    def configure_curve(self, domain: str = "*", location: str | os.PathLike[str] = ".") -> None:
        """CURVE for ``domain``: accept the public keys of the certificates in ``location``.

        ``location=CURVE_ALLOW_ANY`` accepts any key. Call again after the
        directory changes. A bad directory is logged and leaves no keys.
        """
        self.log.debug("Configure curve: %s[%s]", domain, location)
        if location == CURVE_ALLOW_ANY:
            self.allow_any = True
            return
        self.allow_any = False
        try:
            self.certs[domain] = load_certificates(location)
        except Exception as e:
            self.log.error("Failed to load CURVE certificates from %s: %s", location, e)
            self.certs[domain] = {}

    def configure_curve_callback(self, domain: str = "*", credentials_provider: Any = None) -> None:
        """CURVE for ``domain``: ``credentials_provider.callback(domain, z85_key)`` decides.

        The callback returns a truth value, or an awaitable of one.
        """
        self.allow_any = False
        if credentials_provider is not None:
            self.credentials_providers[domain] = credentials_provider
        else:
            self.log.error("configure_curve_callback: no credentials provider for %s", domain)

    def configure_gssapi(self, domain: str = "*", location: str | None = None) -> None:
        """GSSAPI is not available: purezmq implements no GSSAPI mechanism."""
        raise NotImplementedError(
            "purezmq does not support the GSSAPI security mechanism (only NULL, PLAIN and CURVE)"
        )

    def curve_user_id(self, client_public_key: bytes) -> str:
        """The User-Id for an accepted CURVE client: its key in Z85 (override to map keys)."""
        return z85.encode(client_public_key).decode("ascii")

    # -- decisions -------------------------------------------------------------------------

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        """Decide on one ZAP request and send the reply on ``zap_socket``."""
        reply = self._decide(msg)
        if inspect.isawaitable(reply):
            reply = await reply
        if reply is not None:
            self._send_zap_reply(*reply)

    def _decide(self, msg: list[Any]) -> Any:
        """The reply tuple for a request, or an awaitable of it (async CURVE callbacks)."""
        frames = [bytes(f) for f in msg]
        if len(frames) < 6:
            self.log.error("Invalid ZAP message, not enough frames: %d", len(frames))
            if len(frames) < 2:
                self.log.error("Not enough information to reply")
                return None
            return frames[1], b"400", b"Not enough frames", b""
        version, request_id, domain_b, address_b, _identity, mechanism = frames[:6]
        credentials = frames[6:]
        if version != VERSION:
            self.log.error("Invalid ZAP version: %r", version)
            return request_id, b"400", b"Invalid version", b""
        domain = domain_b.decode(self.encoding, "replace")
        address = address_b.decode(self.encoding, "replace")
        self.log.debug(
            "version: %r, request_id: %r, domain: %r, address: %r, mechanism: %r",
            version,
            request_id,
            domain,
            address,
            mechanism,
        )

        denied = False
        reason = b"NO ACCESS"
        if self._allowed:
            if address in self._allowed:
                self.log.debug("PASSED (allowed) address=%s", address)
            else:
                denied = True
                reason = b"Address not allowed"
                self.log.debug("DENIED (not allowed) address=%s", address)
        elif self._denied:
            if address in self._denied:
                denied = True
                reason = b"Address denied"
                self.log.debug("DENIED (denied) address=%s", address)
            else:
                self.log.debug("PASSED (not denied) address=%s", address)

        if denied:
            return request_id, b"400", reason, b""
        if mechanism == b"NULL":
            # NULL has nothing more to check: allowed unless the IP filter refused it.
            return request_id, b"200", b"OK", b"anonymous"
        if mechanism == b"PLAIN":
            if len(credentials) != 2:
                self.log.error("Invalid PLAIN credentials: %d frames", len(credentials))
                return request_id, b"400", b"Invalid credentials", b""
            username = credentials[0].decode(self.encoding, "replace")
            password = credentials[1].decode(self.encoding, "replace")
            ok, reason = self._authenticate_plain(domain, username, password)
            if ok:
                return request_id, b"200", b"OK", username.encode(self.encoding)
            return request_id, b"400", reason, b""
        if mechanism == b"CURVE":
            if len(credentials) != 1 or len(credentials[0]) != 32:
                self.log.error("Invalid CURVE credentials")
                return request_id, b"400", b"Invalid credentials", b""
            key = credentials[0]
            verdict = self._authenticate_curve(domain, key)
            if inspect.isawaitable(verdict):
                return self._finish_curve(request_id, key, verdict)
            return self._curve_reply(request_id, key, verdict)
        if mechanism == b"GSSAPI":
            self.log.error("GSSAPI request refused: purezmq does not support GSSAPI")
            return request_id, b"400", b"GSSAPI is not supported", b""
        self.log.error("Unknown ZAP mechanism %r", mechanism)
        return request_id, b"400", b"Unknown mechanism", b""

    async def _finish_curve(self, request_id: bytes, key: bytes, verdict: Any) -> Any:
        return self._curve_reply(request_id, key, await verdict)

    def _curve_reply(self, request_id: bytes, key: bytes, verdict: tuple[bool, bytes]) -> Any:
        ok, reason = verdict
        if ok:
            return request_id, b"200", b"OK", self.curve_user_id(key).encode(self.encoding)
        return request_id, b"400", reason, b""

    def _authenticate_plain(self, domain: str, username: str, password: str) -> tuple[bool, bytes]:
        """Check a PLAIN username/password against ``configure_plain``'s dicts."""
        if not self.passwords:
            self.log.debug("DENIED (PLAIN) no passwords defined")
            return False, b"No passwords defined"
        table = self.passwords.get(domain or "*", self.passwords.get("*"))
        if table is None:
            self.log.debug("DENIED (PLAIN) domain not found: %s", domain)
            return False, b"Domain not found"
        if username in table and table[username] == password:
            self.log.debug("ALLOWED (PLAIN) domain=%s username=%s", domain, username)
            return True, b"OK"
        self.log.debug("DENIED (PLAIN) domain=%s username=%s", domain, username)
        return False, b"Invalid username or password"

    def _authenticate_curve(self, domain: str, client_key: bytes) -> Any:
        """(allowed, reason) for a CURVE client key; an awaitable of it for async callbacks."""
        z85_key = z85.encode(client_key)
        if self.allow_any:
            self.log.debug("ALLOWED (CURVE allow any client)")
            return True, b"OK"
        if self.credentials_providers:
            provider = self.credentials_providers.get(
                domain or "*", self.credentials_providers.get("*")
            )
            if provider is None:
                self.log.debug("DENIED (CURVE) unknown domain %s", domain)
                return False, b"Unknown domain"
            answer = provider.callback(domain or "*", z85_key)
            if inspect.isawaitable(answer):
                return self._await_provider(answer)
            return self._provider_verdict(answer)
        certs = self.certs.get(domain or "*", self.certs.get("*"))
        if certs is None:
            self.log.debug("DENIED (CURVE) unknown domain %s", domain)
            return False, b"Unknown domain"
        if z85_key in certs:
            self.log.debug("ALLOWED (CURVE) domain=%s client_key=%s", domain, z85_key)
            return True, b"OK"
        self.log.debug("DENIED (CURVE) domain=%s client_key=%s", domain, z85_key)
        return False, b"Unknown key"

    async def _await_provider(self, answer: Any) -> tuple[bool, bytes]:
        return self._provider_verdict(await answer)

    def _provider_verdict(self, answer: Any) -> tuple[bool, bytes]:
        if answer:
            return True, b"OK"
        return False, b"Unknown key"

    def _send_zap_reply(
        self, request_id: bytes, status_code: bytes, status_text: bytes, user_id: bytes = b""
    ) -> None:
        """Send the reply: version, request id, status, text, user id, no metadata."""
        user_id = user_id if status_code == b"200" else b""
        self.log.debug("ZAP reply code=%s text=%s", status_code, status_text)
        self.zap_socket.send_multipart(
            [VERSION, request_id, status_code, status_text, user_id, b""]
        )
