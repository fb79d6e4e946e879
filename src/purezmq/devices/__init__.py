"""purezmq.devices: pyzmq's zmq.devices -- devices and proxies run in the background.

``ThreadDevice``/``ProcessDevice`` (and the Proxy, ProxySteerable and
MonitoredQueue variants) take socket types, record bind/connect/setsockopt
calls, and create the sockets in the thread or process that runs them.
``monitored_queue`` is the three-socket queue that also publishes traffic.
The modules are pyzmq's: basedevice, proxydevice, proxysteerabledevice,
monitoredqueue (the function), monitoredqueuedevice (the classes).
"""

from purezmq.devices import basedevice as basedevice
from purezmq.devices import monitoredqueue as monitoredqueue
from purezmq.devices import monitoredqueuedevice as monitoredqueuedevice
from purezmq.devices import proxydevice as proxydevice
from purezmq.devices import proxysteerabledevice as proxysteerabledevice
from purezmq.devices.basedevice import BackgroundDevice, Device, ProcessDevice, ThreadDevice
from purezmq.devices.monitoredqueue import monitored_queue
from purezmq.devices.monitoredqueuedevice import (
    MonitoredQueue,
    ProcessMonitoredQueue,
    ThreadMonitoredQueue,
)
from purezmq.devices.proxydevice import ProcessProxy, Proxy, ThreadProxy
from purezmq.devices.proxysteerabledevice import (
    ProcessProxySteerable,
    ProxySteerable,
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
