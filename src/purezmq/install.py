"""``install_as_zmq()``: make ``import zmq`` resolve to purezmq."""

from __future__ import annotations

import importlib
import sys

_SUBMODULES = ("constants", "error", "utils", "utils.z85", "utils.jsonapi", "sugar")
_OPTIONAL = (
    "asyncio",
    "eventloop",
    "green",
    "auth",
    "devices",
    "log",
    "ssh",
    "decorators",
    "utils.monitor",
)


def install_as_zmq() -> None:
    """Alias purezmq (and its submodules) as ``zmq`` in ``sys.modules``.

    Run it before anything imports ``zmq``, so unmodified pyzmq programs use
    purezmq: ``import purezmq; purezmq.install_as_zmq(); import zmq``.
    """
    import purezmq

    sys.modules["zmq"] = purezmq
    for name in _SUBMODULES:
        sys.modules[f"zmq.{name}"] = importlib.import_module(f"purezmq.{name}")
    for name in _OPTIONAL:
        try:
            sys.modules[f"zmq.{name}"] = importlib.import_module(f"purezmq.{name}")
        except ImportError:
            pass
