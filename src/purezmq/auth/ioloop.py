"""IOLoopAuthenticator: the tornado-era name, kept as pyzmq keeps it (deprecated).

Tornado 6 runs on asyncio, so this is ``AsyncioAuthenticator`` accepting
pyzmq's ``io_loop`` argument; new code should use ``purezmq.auth.asyncio``.
"""

from __future__ import annotations

import warnings
from typing import Any

from purezmq.auth.asyncio import AsyncioAuthenticator

__all__ = ["IOLoopAuthenticator"]


class IOLoopAuthenticator(AsyncioAuthenticator):
    """Deprecated alias of AsyncioAuthenticator for tornado IOLoop users."""

    def __init__(
        self, context: Any = None, encoding: str = "utf-8", log: Any = None, io_loop: Any = None
    ) -> None:
        warnings.warn(
            "IOLoopAuthenticator is deprecated: use purezmq.auth.asyncio.AsyncioAuthenticator",
            DeprecationWarning,
            stacklevel=2,
        )
        loop = getattr(io_loop, "asyncio_loop", io_loop)
        super().__init__(context=context, loop=loop, encoding=encoding, log=log)
