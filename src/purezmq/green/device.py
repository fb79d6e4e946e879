"""Green proxy, proxy_steerable and device: the sync proxy loop, sleeping in the hub.

The loop (``purezmq.sugar.proxy.ProxyLoop``) already waits on one wake-up
object and never blocks elsewhere; here that object is a ``GreenSignal``, so
other greenlets run while the proxy has nothing to forward.
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.error import ZMQError
from purezmq.green.core import GreenSignal
from purezmq.sugar.proxy import ProxyLoop
from purezmq.sugar.socket import Socket

__all__ = ["device", "proxy", "proxy_steerable"]


def proxy(frontend: Socket, backend: Socket, capture: Socket | None = None) -> None:
    """``purezmq.proxy`` that yields to other greenlets while idle."""
    ProxyLoop(frontend, backend, capture, waker=GreenSignal).run()


def proxy_steerable(
    frontend: Socket,
    backend: Socket,
    capture: Socket | None = None,
    control: Socket | None = None,
) -> int:
    """``purezmq.proxy_steerable`` that yields to other greenlets while idle."""
    return ProxyLoop(frontend, backend, capture, control, waker=GreenSignal).run()


def device(device_type: int, frontend: Socket, backend: Socket | int | None = None) -> None:
    """``purezmq.device`` that yields to other greenlets while idle.

    ``backend`` may be the frontend itself, ``None`` or ``-1`` (pyzmq's
    spelling): one socket then serves both sides (a REP or ROUTER echoing).
    """
    if int(device_type) not in (C.QUEUE, C.FORWARDER, C.STREAMER):
        raise ZMQError(C.EINVAL, f"invalid device type {device_type!r}")
    back = None if isinstance(backend, int) and backend == -1 else backend
    ProxyLoop(frontend, back, waker=GreenSignal).run()  # type: ignore[arg-type]
