"""ZAP authentication (RFC 27) as pyzmq's ``zmq.auth``.

``ThreadAuthenticator`` (``purezmq.auth.thread``) answers in a background
thread, ``AsyncioAuthenticator`` (``purezmq.auth.asyncio``) in a task of the
running loop; both take their policy from ``Authenticator``: IP allow/deny
lists, PLAIN passwords per domain, CURVE certificates or a callback.
Certificates are made and read with ``create_certificates``,
``load_certificate`` and ``load_certificates``.
"""

from purezmq.auth.base import CURVE_ALLOW_ANY, Authenticator
from purezmq.auth.certs import create_certificates, load_certificate, load_certificates

__all__ = [
    "CURVE_ALLOW_ANY",
    "Authenticator",
    "create_certificates",
    "load_certificate",
    "load_certificates",
]
