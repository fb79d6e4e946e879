"""The one exception the ZMTP layer raises about its peer.

Rules this module keeps:

- ``ProtocolError`` means *the bytes we received* (or a handshake outcome)
  are malformed or not allowed. Its message names exactly what was wrong,
  in words a user reading a log line can act on, e.g.
  ``"frame of 2000000 bytes exceeds MAXMSGSIZE 1000000"``.
- It is never raised for mistakes in *our caller's* arguments: those are
  ``ValueError`` / ``TypeError`` as usual in Python.
- After a ``ProtocolError`` the connection object is finished: the caller
  must close the transport (it may first write whatever ``data_to_send()``
  still holds, e.g. an ERROR command, on a best-effort basis).
"""

from __future__ import annotations

__all__ = ["ProtocolError"]

# libzmq's ZMQ_PROTOCOL_ERROR_ZMTP_* values: the monitor event's value on
# HANDSHAKE_FAILED_PROTOCOL, so a monitor tells the same story as libzmq's.
UNSPECIFIED = 0x10000000
UNEXPECTED_COMMAND = 0x10000001
MALFORMED_COMMAND = 0x10000011
MALFORMED_MESSAGE = 0x10000012
MALFORMED_HELLO = 0x10000013
MALFORMED_INITIATE = 0x10000014
MALFORMED_ERROR = 0x10000015
MALFORMED_READY = 0x10000016
MALFORMED_WELCOME = 0x10000017
INVALID_METADATA = 0x10000018
CRYPTOGRAPHIC = 0x11000001
MECHANISM_MISMATCH = 0x11000002
# ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED: a failed WebSocket upgrade (and TLS under wss://).
WS_UNSPECIFIED = 0x30000000


class ProtocolError(Exception):
    """The peer sent malformed or disallowed ZMTP; close this connection.

    ``code`` is libzmq's ZMQ_PROTOCOL_ERROR_ZMTP_* value for what went wrong.
    """

    def __init__(self, message: str, code: int = UNSPECIFIED) -> None:
        super().__init__(message)
        self.code = code
