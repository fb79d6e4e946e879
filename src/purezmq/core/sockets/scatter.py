"""SCATTER: load-balances messages over its GATHER peers (RFC 49); never receives.

PUSH's pattern, single-part only and thread-safe (see core/threadsafe.py).
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.sockets.push import Push
from purezmq.core.threadsafe import ThreadSafeSocket


class Scatter(ThreadSafeSocket, Push):
    """Round-robin to connected GATHERs; waits when all are at HWM (PUSH's hooks)."""

    type = C.SCATTER
    type_name = "SCATTER"
