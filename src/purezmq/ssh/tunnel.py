"""pyzmq's ``zmq.ssh.tunnel``: SSH tunnels for ZeroMQ connections.

A tunnel makes ``127.0.0.1:lport`` on this machine lead to ``remoteip:rport``
as the SSH ``server`` sees it (``ssh -L 127.0.0.1:lport:remoteip:rport
server``). :func:`tunnel_connection` does it for one socket: it picks a free
local port, opens the tunnel and connects the socket to
``tcp://127.0.0.1:lport``::

    from purezmq import ssh
    ssh.tunnel_connection(req, "tcp://10.0.1.2:5555", "user@gateway:2222")

``server`` is ``[user@]host[:port]`` (``[::1]:2222`` for an IPv6 address).
Two ways to make the tunnel:

- :func:`openssh_tunnel`, the default except on Windows: the system ``ssh``
  run through ``pexpect`` (``pip install purezmq[ssh]``), so your ssh
  configuration (users, aliases, keys, agents, ControlMaster) applies. It
  starts ``ssh -f -L ... server sleep TIMEOUT``, which goes to the background
  once logged in and ends by itself when ``timeout`` seconds have passed and
  no connection uses the tunnel any more. With a running ControlMaster for
  the server, the forward is added to the master instead (and cancelled at
  exit).
- :func:`paramiko_tunnel` (``paramiko=True``; paramiko from the ``ssh``
  extra): a separate Python process forwards the port over a paramiko
  connection, with the same ``timeout`` rule; it stops when you call
  ``terminate()`` on the :class:`TunnelProcess` it returns, or when your
  process exits. Host keys are checked against ``~/.ssh/known_hosts``; an
  unknown host is refused unless ``$PYZMQ_PARAMIKO_HOST_KEY_POLICY`` names
  another paramiko policy (``AutoAdd``, ``Warning``).

Passwords: with ``password=None`` a key (or agent) is tried first and the
password is asked on the terminal (``getpass``) only if one is needed. An
unknown host key raises :class:`SSHException`: connect once with ``ssh`` by
hand to accept it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import socket as _socket
import subprocess
import sys
import threading
import time
import weakref
from getpass import getpass, getuser
from pathlib import Path
from typing import Any

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

# How long ssh may take to connect and log in before we give up (seconds).
CONNECT_TIMEOUT = 30.0

_PASSWORD_PROMPT = re.compile(rb"pass(word|phrase)", re.IGNORECASE)
_NEW_HOST_PROMPT = "Are you sure you want to continue connecting"


def _paramiko_exception() -> type[Exception]:
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import paramiko
    except ImportError:
        return _NoParamikoSSHException
    return paramiko.SSHException


class _NoParamikoSSHException(Exception):
    """The SSH error class when paramiko is not installed."""


SSHException = _paramiko_exception()
"""Raised for SSH failures such as an unknown host key (paramiko's SSHException if installed)."""


class MaxRetryExceeded(Exception):
    """ssh did not finish connecting in time (``CONNECT_TIMEOUT``)."""


def select_random_ports(n: int) -> list[int]:
    """``n`` distinct TCP ports that are free now (the OS picks them).

    All are held open together while they are picked, so they differ; they
    are released before returning, so another program could take one first.
    """
    held = []
    try:
        for _ in range(n):
            s = _socket.socket()
            held.append(s)
            s.bind(("", 0))
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def _split_server(server: str) -> tuple[str, str, int]:
    """``[user@]host[:port]`` -> ``(user, host, port)``; user defaults to yours, port to 22."""
    user, sep, hostport = server.rpartition("@")
    if not sep:
        user = getuser()
    host, port = _split_hostport(hostport)
    return user, host, port if port is not None else 22


def _split_hostport(hostport: str) -> tuple[str, int | None]:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` -> ``(host, port or None)``."""
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        if rest.startswith(":"):
            return host, int(rest[1:])
        return host, None
    if hostport.count(":") == 1:
        host, port = hostport.split(":")
        return host, int(port)
    return hostport, None


def _ssh_args(server: str, keyfile: str | None) -> tuple[list[str], str]:
    """The options and the destination for the system ssh."""
    user, sep, hostport = server.rpartition("@")
    host, port = _split_hostport(hostport)
    args = []
    if keyfile:
        args += ["-i", os.fspath(keyfile)]
    if port is not None:
        args += ["-p", str(port)]
    return args, (user + "@" + host if sep else host)


def _forward_spec(lport: int, remoteip: str, rport: int) -> str:
    if ":" in remoteip:  # IPv6: ssh wants brackets in -L
        remoteip = f"[{remoteip}]"
    return f"127.0.0.1:{lport}:{remoteip}:{rport}"


def _env_without_askpass() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SSH_ASKPASS", None)  # a graphical prompt must not pop up behind our back
    return env


# -- passwordless check --------------------------------------------------------------------


def try_passwordless_ssh(server: str, keyfile: str | None, paramiko: bool | None = None) -> bool:
    """Whether ``server`` lets us log in without a password (key or agent).

    Tunnels ask for a password only when this is False. ``paramiko=None``
    picks paramiko on Windows and the system ssh elsewhere. An unknown host
    key raises :class:`SSHException`.
    """
    if paramiko is None:
        paramiko = sys.platform == "win32"
    if paramiko:
        return _try_passwordless_paramiko(server, keyfile)
    return _try_passwordless_openssh(server, keyfile)


def _try_passwordless_openssh(server: str, keyfile: str | None) -> bool:
    # BatchMode: ssh fails instead of prompting, which is exactly the question.
    args, dest = _ssh_args(server, keyfile)
    cmd = ["ssh", "-o", "BatchMode=yes", *args, dest, "exit"]
    try:
        done = subprocess.run(
            cmd,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=CONNECT_TIMEOUT,
            env=_env_without_askpass(),
        )
    except subprocess.TimeoutExpired:
        raise MaxRetryExceeded(f"{' '.join(cmd)} did not finish in {CONNECT_TIMEOUT} s") from None
    if done.returncode == 0:
        return True
    if b"Host key verification failed" in done.stderr:
        raise SSHException(
            f"The authenticity of host {dest!r} can't be established: its key is not in "
            "known_hosts (ssh to it once by hand to check and accept it)"
        )
    return False


def _import_paramiko() -> Any:
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import paramiko
    except ImportError:
        hint = (
            "it is needed for ssh tunnels on Windows"
            if sys.platform == "win32"
            else "or use OpenSSH (paramiko=False)"
        )
        raise ImportError(f"paramiko is not installed: pip install purezmq[ssh] ({hint})") from None
    return paramiko


def _host_key_policy(paramiko: Any) -> Any:
    name = os.environ.get("PYZMQ_PARAMIKO_HOST_KEY_POLICY")
    if not name:
        return paramiko.RejectPolicy()
    cls = getattr(paramiko, name if name.endswith("Policy") else f"{name}Policy", None)
    if cls is None:
        raise ValueError(f"PYZMQ_PARAMIKO_HOST_KEY_POLICY={name!r} is not a paramiko policy")
    return cls()


def _connect_paramiko(server: str, keyfile: str | None, password: str | None = None) -> Any:
    """A logged-in ``paramiko.SSHClient`` (host keys from ``~/.ssh/known_hosts``)."""
    paramiko = _import_paramiko()
    user, host, port = _split_server(server)
    client = paramiko.SSHClient()
    try:
        client.load_system_host_keys()
    except OSError:
        pass
    client.set_missing_host_key_policy(_host_key_policy(paramiko))
    try:
        client.connect(
            host,
            port,
            username=user,
            key_filename=os.fspath(keyfile) if keyfile else None,
            password=password,
            look_for_keys=True,
            timeout=CONNECT_TIMEOUT,
        )
    except BaseException:
        client.close()
        raise
    return client


def _try_passwordless_paramiko(server: str, keyfile: str | None) -> bool:
    paramiko = _import_paramiko()
    try:
        client = _connect_paramiko(server, keyfile)
    except paramiko.AuthenticationException:
        return False
    client.close()
    return True


# -- tunnels ---------------------------------------------------------------------------------


def tunnel_connection(
    socket: Any,
    addr: str,
    server: str,
    keyfile: str | None = None,
    password: str | None = None,
    paramiko: bool | None = None,
    timeout: float = 60,
) -> Any:
    """Connect ``socket`` to ``addr`` (``tcp://ip:port`` as ``server`` sees it) through SSH.

    Opens the tunnel with :func:`open_tunnel` and connects the socket to its
    local end. Returns the tunnel (see :func:`open_tunnel`).
    """
    url, tunnel = open_tunnel(
        addr, server, keyfile=keyfile, password=password, paramiko=paramiko, timeout=timeout
    )
    socket.connect(url)
    return tunnel


def open_tunnel(
    addr: str,
    server: str,
    keyfile: str | None = None,
    password: str | None = None,
    paramiko: bool | None = None,
    timeout: float = 60,
) -> tuple[str, Any]:
    """Tunnel a free local port to ``addr`` (``tcp://ip:port``) through ``server``.

    Returns ``(url, tunnel)``: ``url`` is ``tcp://127.0.0.1:LPORT`` to connect
    to, ``tunnel`` is what :func:`openssh_tunnel` (a pid) or
    :func:`paramiko_tunnel` (a :class:`TunnelProcess`) returned. ``paramiko``
    None picks paramiko on Windows, the system ssh elsewhere.
    """
    transport, sep, hostport = addr.partition("://")
    if not sep or transport != "tcp":
        raise ValueError(f"ssh tunnels carry tcp:// endpoints only, not {addr!r}")
    ip, rport = _split_hostport(hostport)
    if rport is None:
        raise ValueError(f"{addr!r} has no port")
    lport = select_random_ports(1)[0]
    if paramiko is None:
        paramiko = sys.platform == "win32"
    make = paramiko_tunnel if paramiko else openssh_tunnel
    tunnel = make(
        lport, rport, server, remoteip=ip, keyfile=keyfile, password=password, timeout=timeout
    )
    return f"tcp://127.0.0.1:{lport}", tunnel


def _run_quiet(cmd: list[str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=CONNECT_TIMEOUT,
        env=_env_without_askpass(),
    )


def _via_control_master(args: list[str], dest: str, forward: str) -> int | None:
    """Add the forward to a running ControlMaster for ``dest``: its pid, or None if none runs."""
    try:
        check = _run_quiet(["ssh", *args, "-O", "check", dest])
    except (OSError, subprocess.TimeoutExpired):
        return None
    if check.returncode != 0:
        return None
    found = re.search(rb"pid=(\d+)", check.stdout + check.stderr)
    try:
        added = _run_quiet(["ssh", *args, "-O", "forward", "-L", forward, dest])
    except subprocess.TimeoutExpired:
        return None
    if added.returncode != 0:
        return None
    atexit.register(_cancel_forward, ["ssh", *args, "-O", "cancel", "-L", forward, dest])
    return int(found.group(1)) if found else 0


def _cancel_forward(cmd: list[str]) -> None:
    try:
        _run_quiet(cmd)
    except Exception:
        pass


def openssh_tunnel(
    lport: int,
    rport: int,
    server: str,
    remoteip: str = "127.0.0.1",
    keyfile: str | None = None,
    password: str | None = None,
    timeout: float = 60,
) -> int:
    """Tunnel ``127.0.0.1:lport`` here to ``remoteip:rport`` as ``server`` sees it, with the system ssh.

    ``server`` is ``[user@]host[:port]``; ``keyfile`` is passed as ``ssh -i``;
    ``password`` answers a password prompt if one comes (asked on the
    terminal if None and needed). The tunnel stays up at least ``timeout``
    seconds for a first connection, then until no connection uses it.
    Returns the pid of the ssh process started (it forks into the background
    once logged in), or of the ControlMaster the forward was added to.
    Needs pexpect (``pip install purezmq[ssh]``).
    """
    try:
        import pexpect
    except ImportError:
        raise ImportError(
            "pexpect is not installed: pip install purezmq[ssh] (or use paramiko=True)"
        ) from None
    args, dest = _ssh_args(server, keyfile)
    forward = _forward_spec(lport, remoteip, rport)
    master = _via_control_master(args, dest, forward)
    if master is not None:
        return master
    cmd = [
        "ssh",
        "-f",
        "-S",
        "none",
        "-o",
        "ExitOnForwardFailure=yes",
        "-L",
        forward,
        *args,
        dest,
        "sleep",
        str(int(timeout)),
    ]
    # ssh is the session leader of pexpect's terminal: when it exits after forking,
    # the kernel hangs up the terminal, and the background ssh -- which may not have
    # left the session yet -- would die of that SIGHUP. Ignored, ssh keeps ignoring it.
    child = pexpect.spawn(cmd[0], cmd[1:], env=_env_without_askpass(), ignore_sighup=True)
    deadline = time.monotonic() + CONNECT_TIMEOUT
    answered = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MaxRetryExceeded(f"{' '.join(cmd)} did not log in within {CONNECT_TIMEOUT} s")
            try:
                # Short waits: once logged in, ssh forks into the background and the
                # process we started exits, but the background one keeps the terminal
                # open, so the end of output never comes; pexpect reports EOF when a
                # wait times out with the process we started gone.
                i = child.expect(
                    [_NEW_HOST_PROMPT, _PASSWORD_PROMPT, pexpect.EOF], timeout=min(left, 0.1)
                )
            except pexpect.TIMEOUT:
                if child.isalive():
                    continue
                i = 2
            if i == 0:
                raise SSHException(
                    f"The authenticity of host {dest!r} can't be established: its key is not "
                    "in known_hosts (ssh to it once by hand to check and accept it)"
                )
            if i == 1:
                if answered:
                    print("Password rejected, try again", file=sys.stderr)
                    password = None
                if password is None:
                    password = getpass(f"{server}'s password: ")
                child.sendline(password)
                answered = True
                continue
            child.close()
            if child.exitstatus:
                said = (child.before or b"").decode("utf8", "replace").strip()
                raise RuntimeError(
                    f"tunnel {' '.join(cmd)!r} failed to start (exit {child.exitstatus}): {said}"
                )
            return int(child.pid)
    except BaseException:
        if child.isalive():
            child.terminate(force=True)
        raise


class TunnelProcess:
    """The process a paramiko tunnel runs in (what :func:`paramiko_tunnel` returns).

    Offers what pyzmq's ``multiprocessing.Process`` gave (``pid``,
    ``is_alive()``, ``terminate()``, ``kill()``, ``join()``, ``exitcode``,
    ``daemon``) and ``Popen``'s ``poll()``/``wait()``. It ends with your
    process at the latest.
    """

    daemon = True

    def __init__(self, popen: subprocess.Popen[bytes]) -> None:
        self._popen = popen
        self.pid = popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def poll(self) -> int | None:
        return self._popen.poll()

    @property
    def exitcode(self) -> int | None:
        return self._popen.poll()

    def terminate(self) -> None:
        """Stop forwarding: close the worker's stdin (it exits), then signal it."""
        self._close_stdin()
        if self.is_alive():
            try:
                self._popen.wait(1.0)
            except subprocess.TimeoutExpired:
                self._popen.terminate()

    def kill(self) -> None:
        self._close_stdin()
        if self.is_alive():
            self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def wait(self, timeout: float | None = None) -> int:
        return self._popen.wait(timeout)

    def _close_stdin(self) -> None:
        stdin = self._popen.stdin
        if stdin is not None and not stdin.closed:
            try:
                stdin.close()
            except OSError:
                pass

    def __repr__(self) -> str:
        state = "running" if self.is_alive() else f"exited {self._popen.returncode}"
        return f"<TunnelProcess pid={self.pid} {state}>"


_TUNNELS: weakref.WeakSet[TunnelProcess] = weakref.WeakSet()


@atexit.register
def _stop_tunnels() -> None:
    for t in list(_TUNNELS):
        try:
            t.kill()
            t.join(1.0)
        except Exception:
            pass


def _read_line(stream: Any, timeout: float) -> bytes | None:
    """One line from a pipe within ``timeout`` seconds (None if it did not come)."""
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0] if got else None


def paramiko_tunnel(
    lport: int,
    rport: int,
    server: str,
    remoteip: str = "127.0.0.1",
    keyfile: str | None = None,
    password: str | None = None,
    timeout: float = 60,
) -> TunnelProcess:
    """Tunnel ``127.0.0.1:lport`` here to ``remoteip:rport`` as ``server`` sees it, with paramiko.

    The forwarding runs in a separate Python process, which is listening when
    this returns; a failed login or an unknown host key raises here. The
    tunnel stays up at least ``timeout`` seconds for a first connection,
    then until no connection uses it, and ends with your process at the
    latest. Returns a :class:`TunnelProcess`.
    """
    _import_paramiko()
    if password is None and not _try_passwordless_paramiko(server, keyfile):
        password = getpass(f"{server}'s password: ")
    package_root = str(Path(__file__).resolve().parent.parent.parent)
    bootstrap = (
        "import sys; sys.path.insert(0, sys.argv[1]); from purezmq.ssh.forward import run; run()"
    )
    popen = subprocess.Popen(
        [sys.executable, "-c", bootstrap, package_root],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env_without_askpass(),
    )
    assert popen.stdin is not None and popen.stdout is not None
    tunnel = TunnelProcess(popen)
    _TUNNELS.add(tunnel)
    config = {
        "lport": lport,
        "rport": rport,
        "server": server,
        "remoteip": remoteip,
        "keyfile": os.fspath(keyfile) if keyfile else None,
        "password": password,
        "timeout": timeout,
    }
    try:
        popen.stdin.write(json.dumps(config).encode() + b"\n")
        popen.stdin.flush()
        line = _read_line(popen.stdout, CONNECT_TIMEOUT + 5)
    except BaseException:
        tunnel.kill()
        tunnel.join(5)
        popen.stdout.close()
        raise
    answer = (line or b"").decode("utf8", "replace").strip()
    if answer == "READY":
        popen.stdout.close()  # the worker says nothing after READY (forward.py)
        return tunnel
    tunnel.kill()
    tunnel.join(5)
    popen.stdout.close()  # after the worker ended: a reader that timed out has EOF now
    if not answer:
        raise MaxRetryExceeded(
            f"the paramiko tunnel to {server} did not start within {CONNECT_TIMEOUT} s"
        )
    message = answer.removeprefix("ERROR ").strip()
    if "BadHostKeyException" in message or "not found in known_hosts" in message:
        raise SSHException(message)
    raise RuntimeError(f"paramiko tunnel to {server} failed: {message}")


ssh_tunnel = paramiko_tunnel if sys.platform == "win32" else openssh_tunnel
