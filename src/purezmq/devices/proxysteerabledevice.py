"""ProxySteerable devices: ``proxy_steerable`` in the background, as pyzmq's
``zmq.devices.proxysteerabledevice``.

A ``Proxy`` device plus a control socket configured with the ``*_ctrl``
methods; it takes PAUSE, RESUME, TERMINATE and STATISTICS
(``purezmq.sugar.proxy`` has the rules).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.devices.basedevice import ProcessDevice, ThreadDevice, _SocketPlan
from purezmq.devices.proxydevice import ProxyBase
from purezmq.sugar.proxy import proxy_steerable

__all__ = ["ProxySteerable", "ThreadProxySteerable", "ProcessProxySteerable"]


class ProxySteerableBase(ProxyBase):
    """A proxy device with a control socket (PAUSE/RESUME/TERMINATE/STATISTICS)."""

    def __init__(
        self, in_type: int, out_type: int, mon_type: int = C.PUB, ctrl_type: int | None = None
    ) -> None:
        super().__init__(in_type, out_type, mon_type)
        self.ctrl_type = ctrl_type
        if ctrl_type is not None:
            self._plans["ctrl"] = _SocketPlan(ctrl_type)

    def bind_ctrl(self, addr: str) -> None:
        """Enqueue a bind of the control socket."""
        self._plan("ctrl").binds.append(addr)

    def connect_ctrl(self, addr: str) -> None:
        """Enqueue a connect of the control socket."""
        self._plan("ctrl").connects.append(addr)

    def setsockopt_ctrl(self, opt: int, value: Any) -> None:
        """Enqueue ``setsockopt(opt, value)`` on the control socket."""
        self._plan("ctrl").sockopts.append((opt, value))

    def bind_ctrl_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Pick a free port on ``addr`` now, enqueue the bind of the control socket."""
        return self._bind_random("ctrl", addr, *args, **kwargs)

    def run_device(self) -> None:
        ins, outs = self._setup_sockets()
        mons = self._setup_socket("mon")
        ctrl = self._setup_socket("ctrl") if "ctrl" in self._plans else None
        proxy_steerable(ins, outs, mons, ctrl)


class ProxySteerable(ProxySteerableBase):
    """A steerable proxy device run in the calling thread by ``start()``."""


class ThreadProxySteerable(ProxySteerableBase, ThreadDevice):
    """A steerable proxy device in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessDevice):
    """A steerable proxy device in a child process."""
