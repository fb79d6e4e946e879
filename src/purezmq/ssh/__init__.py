"""pyzmq's ``zmq.ssh``: reach a ZeroMQ endpoint through an SSH tunnel.

Everything is in :mod:`purezmq.ssh.tunnel` and re-exported here::

    from purezmq import ssh
    tunnel = ssh.tunnel_connection(sock, "tcp://10.0.1.2:5555", "user@gateway")
"""

from purezmq.ssh.tunnel import (
    MaxRetryExceeded,
    SSHException,
    TunnelProcess,
    open_tunnel,
    openssh_tunnel,
    paramiko_tunnel,
    select_random_ports,
    ssh_tunnel,
    try_passwordless_ssh,
    tunnel_connection,
)

__all__ = [
    "MaxRetryExceeded",
    "SSHException",
    "TunnelProcess",
    "open_tunnel",
    "openssh_tunnel",
    "paramiko_tunnel",
    "select_random_ports",
    "ssh_tunnel",
    "try_passwordless_ssh",
    "tunnel_connection",
]
