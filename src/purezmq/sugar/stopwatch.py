"""pyzmq's deprecated ``zmq.Stopwatch`` (use ``time.monotonic`` instead)."""

from __future__ import annotations

import time
import warnings


class Stopwatch:
    """Measures microseconds between ``start()`` and ``stop()`` (deprecated, as in pyzmq)."""

    def __init__(self) -> None:
        warnings.warn(
            "zmq.Stopwatch is deprecated. Use stdlib time.monotonic and friends instead",
            DeprecationWarning,
            stacklevel=2,
        )
        self._start = 0.0

    def start(self) -> None:
        """Start counting."""
        self._start = time.monotonic()

    def stop(self) -> int:
        """Microseconds since ``start()``."""
        return int(1e6 * (time.monotonic() - self._start))
