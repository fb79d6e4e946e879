"""Proxy devices: ``proxy`` in the background.

Same recorded-configuration model as ``Device``, plus a monitor (capture)
socket configured with the ``*_mon`` methods. The steerable ones, with a
control socket, are in ``proxysteerabledevice``.
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.devices.basedevice import Device, ProcessDevice, ThreadDevice, _SocketPlan
from purezmq.sugar.proxy import proxy

__all__ = [
    "Proxy",
    "ThreadProxy",
    "ProcessProxy",
]


class ProxyBase(Device):
    """A device with a third socket that gets a copy of every message."""

    def __init__(self, in_type: int, out_type: int, mon_type: int = C.PUB) -> None:
        super().__init__(C.QUEUE, in_type, out_type)
        self.mon_type = mon_type
        self._plans["mon"] = _SocketPlan(mon_type)

    def bind_mon(self, addr: str) -> None:
        """Enqueue a bind of the monitor socket."""
        self._plan("mon").binds.append(addr)

    def connect_mon(self, addr: str) -> None:
        """Enqueue a connect of the monitor socket."""
        self._plan("mon").connects.append(addr)

    def setsockopt_mon(self, opt: int, value: Any) -> None:
        """Enqueue ``setsockopt(opt, value)`` on the monitor socket."""
        self._plan("mon").sockopts.append((opt, value))

    def bind_mon_to_random_port(self, addr: str, *args: Any, **kwargs: Any) -> int:
        """Pick a free port on ``addr`` now, enqueue the bind of the monitor socket."""
        return self._bind_random("mon", addr, *args, **kwargs)

    def run_device(self) -> None:
        ins, outs = self._setup_sockets()
        mons = self._setup_socket("mon")
        proxy(ins, outs, mons)


class Proxy(ProxyBase):
    """A proxy device run in the calling thread by ``start()``."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """A proxy device in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """A proxy device in a child process."""
