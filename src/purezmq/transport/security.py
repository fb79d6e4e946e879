"""Security for stream engines: which mechanism a connection uses, and ZAP.

Rules this module keeps (libzmq 4.3's, see zmq_plain / zmq_curve man pages):

- The mechanism and the security role come from the socket's options, not
  from bind/connect: PLAIN_SERVER=1 makes a PLAIN server, PLAIN_USERNAME /
  PLAIN_PASSWORD a PLAIN client, CURVE_SERVER=1 a CURVE server,
  CURVE_SERVERKEY (with CURVE_PUBLICKEY / CURVE_SECRETKEY) a CURVE client,
  anything else NULL (whose role stays the engine's bind/connect side).
  The last of those options set wins (``options.mechanism``).
- Every mechanism gets the ZAP_DOMAIN; whether it asks ZAP with it is the
  mechanism's rule (NULL only with a non-empty domain, PLAIN/CURVE servers
  always; ``transport/zap.py`` talks to the handler).
- Missing CURVE keys are 32 zero octets, as libzmq leaves them: the
  handshake then fails at the peer rather than here.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.zmtp.mechanisms import CurveMechanism, Mechanism, NullMechanism, PlainMechanism

if TYPE_CHECKING:
    from purezmq.core.socketbase import SocketBase

log = logging.getLogger("purezmq")

_ZERO_KEY = b"\x00" * 32


def build_mechanism(sock: SocketBase, bound: bool) -> tuple[Mechanism, bool]:
    """Return ``(mechanism, as_server)`` for a new connection of ``sock``.

    ``bound`` is True for a connection the socket accepted; it only decides
    the role under NULL.
    """
    opts = sock.options
    mech = opts.mechanism
    domain = bytes(opts.zap_domain or b"").decode("utf-8", "replace") or None
    if mech == C.PLAIN:
        if opts.as_server:
            return PlainMechanism(zap_domain=domain), True
        return PlainMechanism(bytes(opts.plain_username), bytes(opts.plain_password)), False
    if mech == C.CURVE:
        secret = bytes(opts.curve_secretkey) or _ZERO_KEY
        if opts.as_server:
            return CurveMechanism(secretkey=secret, zap_domain=domain), True
        if not opts.curve_secretkey:
            log.warning("purezmq: CURVE client has no CURVE_SECRETKEY; the handshake will fail")
        return (
            CurveMechanism(
                secretkey=secret,
                publickey=bytes(opts.curve_publickey),
                serverkey=bytes(opts.curve_serverkey) or _ZERO_KEY,
            ),
            False,
        )
    return NullMechanism(zap_domain=domain), bound
