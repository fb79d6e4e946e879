"""Local port forwarding over a paramiko SSH connection: the paramiko tunnel's worker.

:func:`purezmq.ssh.tunnel.paramiko_tunnel` starts ``main()`` in a fresh
Python process (never a fork of yours: your Context's I/O thread stays
yours). The protocol with the parent, over the child's stdin and stdout:

1. the parent writes one JSON line: ``lport``, ``rport``, ``server``,
   ``remoteip``, ``keyfile``, ``password``, ``timeout`` (the password goes
   through the pipe, never the command line);
2. the child connects and authenticates, listens on ``127.0.0.1:lport`` and
   answers one line: ``READY`` or ``ERROR <what went wrong>``;
3. it then forwards every accepted connection to ``remoteip:rport`` as seen
   from the server (an SSH ``direct-tcpip`` channel), until the parent closes
   its stdin (or dies), or -- as the OpenSSH tunnel does -- ``timeout``
   seconds have passed and no forwarded connection is open.
"""

from __future__ import annotations

import json
import os
import select
import socket
import sys
import threading
import time
from typing import Any

_CHUNK = 65536


def _pump(local: socket.socket, chan: Any, done: threading.Event) -> None:
    """Copy bytes both ways between a local connection and a channel until either ends."""
    try:
        while not done.is_set():
            ready, _, _ = select.select([local, chan], [], [], 0.5)
            if local in ready:
                data = local.recv(_CHUNK)
                if not data:
                    break
                chan.sendall(data)
            if chan in ready:
                data = chan.recv(_CHUNK)
                if not data:
                    break
                local.sendall(data)
    except OSError:
        pass
    finally:
        for end in (chan, local):
            try:
                end.close()
            except Exception:
                pass


def forward_tunnel(
    local_port: int,
    remote_host: str,
    remote_port: int,
    transport: Any,
    *,
    bind: str = "127.0.0.1",
    timeout: float | None = None,
    stop: threading.Event | None = None,
    on_listening: Any = None,
) -> None:
    """Forward ``bind:local_port`` to ``remote_host:remote_port`` through ``transport``.

    Returns when ``stop`` is set, the SSH transport dies, or (with ``timeout``)
    once ``timeout`` seconds have passed and no forwarded connection is open.
    ``on_listening()`` is called once the local port listens.
    """
    stop = stop or threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((bind, local_port))
    listener.listen(16)
    if on_listening is not None:
        on_listening()
    started = time.monotonic()
    active: list[threading.Thread] = []
    try:
        while not stop.is_set() and transport.is_active():
            active = [t for t in active if t.is_alive()]
            if timeout is not None and not active and time.monotonic() - started >= timeout:
                return
            ready, _, _ = select.select([listener], [], [], 0.2)
            if not ready:
                continue
            conn, peer = listener.accept()
            try:
                chan = transport.open_channel("direct-tcpip", (remote_host, remote_port), peer)
            except Exception as e:
                print(
                    f"purezmq.ssh: cannot open a channel to {remote_host}:{remote_port}: {e}",
                    file=sys.stderr,
                )
                conn.close()
                continue
            t = threading.Thread(target=_pump, args=(conn, chan, stop), daemon=True)
            t.start()
            active.append(t)
    finally:
        stop.set()
        listener.close()
        for t in active:
            t.join(1.0)


def _watch_parent(stop: threading.Event) -> None:
    """Set ``stop`` when the parent closes our stdin (or exits)."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except Exception:
        pass
    stop.set()


def _answer(line: str) -> None:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass  # the parent reads one answer and then closes the pipe (a late ERROR)


def main() -> int:
    """The worker process (see the module docstring)."""
    from purezmq.ssh.tunnel import _connect_paramiko

    cfg = json.loads(sys.stdin.buffer.readline())
    try:
        client = _connect_paramiko(cfg["server"], cfg.get("keyfile"), password=cfg.get("password"))
    except Exception as e:
        _answer(f"ERROR cannot connect to {cfg['server']}: {e!r}")
        return 1
    stop = threading.Event()
    threading.Thread(target=_watch_parent, args=(stop,), daemon=True).start()
    try:
        forward_tunnel(
            int(cfg["lport"]),
            cfg.get("remoteip") or "127.0.0.1",
            int(cfg["rport"]),
            client.get_transport(),
            timeout=cfg.get("timeout"),
            stop=stop,
            on_listening=lambda: _answer("READY"),
        )
    except OSError as e:
        _answer(f"ERROR cannot listen on 127.0.0.1:{cfg['lport']}: {e}")
        return 1
    finally:
        client.close()
    return 0


def run() -> None:
    """``main()``, then exit at once: the stdin watcher thread may still be reading."""
    try:
        code = main()
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
