"""purezmq.devices: pyzmq's zmq.devices -- devices and proxies run in the background.

``ThreadDevice``/``ProcessDevice`` (and the Proxy, ProxySteerable and
MonitoredQueue variants) take socket types, record bind/connect/setsockopt
calls, and create the sockets in the thread or process that runs them.
``monitored_queue`` is the three-socket queue that also publishes traffic.
"""

from purezmq.devices.basedevice import BackgroundDevice, Device, ProcessDevice, ThreadDevice
from purezmq.devices.monitoredqueue import (
    MonitoredQueue,
    ProcessMonitoredQueue,
    ThreadMonitoredQueue,
    monitored_queue,
)
from purezmq.devices.proxydevice import (
    ProcessProxy,
    ProcessProxySteerable,
    Proxy,
    ProxySteerable,
    ThreadProxy,
    ThreadProxySteerable,
)

__all__ = [
    "BackgroundDevice",
    "Device",
    "MonitoredQueue",
    "ProcessDevice",
    "ProcessMonitoredQueue",
    "ProcessProxy",
    "ProcessProxySteerable",
    "Proxy",
    "ProxySteerable",
    "ThreadDevice",
    "ThreadMonitoredQueue",
    "ThreadProxy",
    "ThreadProxySteerable",
    "monitored_queue",
]
