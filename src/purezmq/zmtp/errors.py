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


class ProtocolError(Exception):
    """The peer sent malformed or disallowed ZMTP; close this connection."""
