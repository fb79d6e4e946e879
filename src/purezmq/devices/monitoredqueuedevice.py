"""MonitoredQueue devices: ``monitored_queue`` run in the background, as pyzmq's
``zmq.devices.monitoredqueuedevice``.

Configured like a ``Proxy`` (in, out and mon sockets, ``*_mon`` methods); the
mon socket (PUB by default) gets every message after ``in_prefix`` or
``out_prefix``, the side it arrived on.
"""

from __future__ import annotations

from purezmq import constants as C
from purezmq.devices.basedevice import ProcessDevice, ThreadDevice
from purezmq.devices.monitoredqueue import as_bytes, monitored_queue
from purezmq.devices.proxydevice import ProxyBase

__all__ = ["MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue"]


class MonitoredQueueBase(ProxyBase):
    """A device running ``monitored_queue`` on its in, out and mon sockets."""

    def __init__(
        self,
        in_type: int,
        out_type: int,
        mon_type: int = C.PUB,
        in_prefix: bytes | str = b"in",
        out_prefix: bytes | str = b"out",
    ) -> None:
        super().__init__(in_type, out_type, mon_type)
        self.in_prefix = as_bytes(in_prefix)
        self.out_prefix = as_bytes(out_prefix)

    def run_device(self) -> None:
        ins, outs = self._setup_sockets()
        mons = self._setup_socket("mon")
        monitored_queue(ins, outs, mons, self.in_prefix, self.out_prefix)


class MonitoredQueue(MonitoredQueueBase):
    """A monitored queue run in the calling thread by ``start()``."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadDevice):
    """A monitored queue in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessDevice):
    """A monitored queue in a child process."""
