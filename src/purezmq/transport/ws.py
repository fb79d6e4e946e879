"""ws:// and wss://: ZeroMQ over WebSocket (RFC 45) on the tcp listener, connecter and engine.

Rules this module keeps:

- ws is tcp underneath: the same ``Listener``, ``Connecter`` and
  ``StreamEngine`` carry it (endpoint.py parses and binds it as tcp). What
  differs is the connection object the engine drives: a
  ``zmtp.ws_connection.ZwsConnection`` (HTTP upgrade, ZWS framing, ZMTP's
  mechanisms) instead of a ``ZmtpConnection``. ``WsTransport.connection``
  builds it; one ``WsTransport`` is made per bind or connect.
- The WebSocket roles follow bind/connect (the connecting side sends the
  upgrade request and masks); the security role follows the options, as on
  tcp (transport/security.py).
- wss:// adds TLS with the standard library's ``ssl`` (zmtp/tls.py, memory
  BIOs: the engine keeps its plain socket). Options, read at bind/connect as
  libzmq reads them: WSS_CERT_PEM + WSS_KEY_PEM (PEM text) make the server's
  certificate, required to bind; the client trusts WSS_TRUST_PEM and, with
  WSS_TRUST_SYSTEM=1, the system's CAs, and checks the server's name only
  when WSS_HOSTNAME is set (also sent as SNI), as libzmq does. A client with
  nothing to trust fails at connect with EINVAL (libzmq would fail every
  handshake instead). Bad PEM fails at bind/connect with EINVAL.
"""

from __future__ import annotations

import errno
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.transport import endpoint as E
from purezmq.transport import security
from purezmq.zmtp.tls import TlsLayer
from purezmq.zmtp.ws_connection import ZwsConnection

if TYPE_CHECKING:
    from purezmq.core.options import SocketOptions as Options
    from purezmq.core.socketbase import SocketBase

__all__ = ["WsTransport", "for_bind", "for_connect"]


@dataclass(frozen=True)
class WsTransport:
    """What a ws:// or wss:// endpoint adds to a tcp connection."""

    scheme: str  # "ws" or "wss"
    host: str  # the Host header a client sends
    path: str  # the request target a client sends
    ssl_context: ssl.SSLContext | None = None
    server_hostname: str | None = None  # wss client: SNI and the name checked

    def connection(self, sock: SocketBase, bound: bool) -> ZwsConnection:
        """A fresh ZWS connection for one accepted (``bound``) or connected socket."""
        mechanism, as_server = security.build_mechanism(sock, bound)
        tls = None
        if self.ssl_context is not None:
            tls = TlsLayer(
                self.ssl_context, server_side=bound, server_hostname=self.server_hostname
            )
        opts = sock.options
        return ZwsConnection(
            socket_type=sock.type_name,
            ws_client=not bound,
            as_server=as_server,
            mechanism=mechanism,
            routing_id=bytes(opts.routing_id or b""),
            maxmsgsize=opts.maxmsgsize,
            host=self.host,
            path=self.path,
            tls=tls,
        )


def _check_type(sock: SocketBase, text: str) -> None:
    if sock.type == C.STREAM:
        raise E.EndpointError(
            errno.EPROTONOSUPPORT,
            f"STREAM sockets speak raw tcp, not ZWS: {text!r} needs another socket type",
        )


def for_bind(ep: E.Endpoint, sock: SocketBase) -> WsTransport:
    """The ws/wss settings of a bind (raises EndpointError for bad wss options)."""
    text = str(ep)
    _check_type(sock, text)
    ctx = _server_context(sock.options, text) if ep.transport == "wss" else None
    return WsTransport(ep.transport, "", ep.path, ctx)


def for_connect(ep: E.Endpoint, sock: SocketBase) -> WsTransport:
    """The ws/wss settings of a connect (raises EndpointError for bad wss options)."""
    text = str(ep)
    _check_type(sock, text)
    host = f"[{ep.host}]:{ep.port}" if ":" in ep.host else f"{ep.host}:{ep.port}"
    if ep.transport != "wss":
        return WsTransport("ws", host, ep.path)
    opts = sock.options
    hostname = bytes(opts.wss_hostname or b"").decode("utf-8", "replace") or None
    return WsTransport("wss", host, ep.path, _client_context(opts, text, hostname), hostname)


def _invalid(message: str) -> E.EndpointError:
    return E.EndpointError(errno.EINVAL, message)


def _server_context(opts: Options, text: str) -> ssl.SSLContext:
    cert = bytes(opts.wss_cert_pem or b"")
    key = bytes(opts.wss_key_pem or b"")
    if not cert or not key:
        raise _invalid(f"binding {text!r} needs the WSS_CERT_PEM and WSS_KEY_PEM options")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    # load_cert_chain reads files only: write the PEM to a private directory
    # (mode 0700) for as long as it takes to load it.
    tmpdir = tempfile.mkdtemp(prefix="purezmq-wss-")
    try:
        cert_path = os.path.join(tmpdir, "cert.pem")
        key_path = os.path.join(tmpdir, "key.pem")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except (ssl.SSLError, OSError) as e:
            raise _invalid(
                f"WSS_CERT_PEM / WSS_KEY_PEM for {text!r} are not a PEM certificate and "
                f"its private key: {e}"
            ) from None
    finally:
        for name in os.listdir(tmpdir):
            os.unlink(os.path.join(tmpdir, name))
        os.rmdir(tmpdir)
    return ctx


def _client_context(opts: Options, text: str, hostname: str | None) -> ssl.SSLContext:
    trust = bytes(opts.wss_trust_pem or b"")
    system = bool(opts.wss_trust_system)
    if not trust and not system:
        raise _invalid(
            f"connecting to {text!r} needs something to trust: set WSS_TRUST_PEM "
            "(the server's certificate or its CA, PEM) or WSS_TRUST_SYSTEM=1"
        )
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = hostname is not None
    ctx.verify_mode = ssl.CERT_REQUIRED
    if trust:
        try:
            ctx.load_verify_locations(cadata=trust.decode("ascii"))
        except (ssl.SSLError, ValueError, UnicodeDecodeError) as e:
            raise _invalid(f"WSS_TRUST_PEM for {text!r} is not PEM certificates: {e}") from None
    if system:
        ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return ctx
