"""purezmq.ssh against a real OpenSSH server on loopback.

A session fixture starts Debian's ``sshd`` (package openssh-server) on a port
the OS picked, with a throw-away host key and a key pair authorised for the
current user, and no password logins. Tunnels are opened through it both
ways (the system ``ssh`` via pexpect, and paramiko), and a REQ on this side
reaches a REP (libzmq's or ours) that listens on loopback "behind" the
server. The system ssh is reached through a wrapper script put first on
PATH, which adds ``-F <our config>`` (known_hosts in the temp directory), so
nothing in ``~/.ssh`` is read or written; paramiko finds its known_hosts
through ``$HOME``, pointed at a temp directory.

Tests skip, saying why, when sshd, ssh, ssh-keygen, pexpect or paramiko are
missing or sshd cannot start.
"""

from __future__ import annotations

import gc
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import purezmq
from purezmq import ssh
from purezmq.ssh import tunnel as tunnel_mod
from tests.helpers import held_port, mk

SSHD = shutil.which("sshd") or next(
    (p for p in ("/usr/sbin/sshd", "/usr/local/sbin/sshd") if os.path.exists(p)), None
)
SSH = shutil.which("ssh")
KEYGEN = shutil.which("ssh-keygen")


@dataclass
class Sshd:
    port: int
    dir: Path
    key: Path  # authorised private key
    wrong_key: Path  # a key the server does not know
    server: str  # user@127.0.0.1:port
    user: str
    proc: subprocess.Popen[bytes]


def _children(pid: int) -> list[int]:
    """Descendants of ``pid`` (from /proc), deepest last."""
    found: list[int] = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    by_parent: dict[int, list[int]] = {}
    for e in entries:
        if not e.isdigit():
            continue
        try:
            stat = Path(f"/proc/{e}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        by_parent.setdefault(ppid, []).append(int(e))
    todo = [pid]
    while todo:
        for child in by_parent.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _processes_mentioning(text: str) -> list[int]:
    """Pids whose command line contains ``text`` (our ssh clients: they name our config)."""
    pids = []
    for e in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not e.isdigit() or int(e) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{e}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            pids.append(int(e))
    return pids


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if SSHD is None:
        pytest.skip("sshd not found: install Debian's openssh-server (.ci/run does)")
    if SSH is None or KEYGEN is None:
        pytest.skip("ssh / ssh-keygen not found: install openssh-client")
    d = tmp_path_factory.mktemp("sshd")
    user = tunnel_mod.getuser()
    for name in ("host_key", "id_test", "id_wrong"):
        subprocess.run(
            [KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(d / name)],
            check=True,
            timeout=30,
        )
    (d / "authorized_keys").write_text((d / "id_test.pub").read_text())
    for name in ("host_key", "id_test", "id_wrong", "authorized_keys"):
        os.chmod(d / name, 0o600)
    if os.geteuid() == 0:
        # Debian's sshd refuses to start without its privilege separation directory.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    port = held_port()
    (d / "sshd_config").write_text(
        f"""Port {port}
ListenAddress 127.0.0.1
HostKey {d / "host_key"}
PidFile {d / "sshd.pid"}
AuthorizedKeysFile {d / "authorized_keys"}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowTcpForwarding yes
UsePAM no
StrictModes no
AllowUsers {user}
LogLevel ERROR
"""
    )
    host_pub = (d / "host_key.pub").read_text().split()
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    (d / "empty_known_hosts").write_text("")
    home = d / "home"
    (home / ".ssh").mkdir(parents=True)
    shutil.copy(d / "known_hosts", home / ".ssh" / "known_hosts")
    for variant, known, control in (
        ("ssh_config", "known_hosts", "none"),
        ("ssh_config_unknown", "empty_known_hosts", "none"),
        ("ssh_config_master", "known_hosts", str(d / "cm-%p")),
    ):
        (d / variant).write_text(
            f"""Host *
  UserKnownHostsFile {d / known}
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  IdentitiesOnly yes
  ControlMaster no
  ControlPath {control}
  UpdateHostKeys no
  LogLevel ERROR
  ConnectTimeout 20
"""
        )
    bindir = d / "bin"
    bindir.mkdir()
    (bindir / "ssh").write_text(
        f'#!/bin/sh\nexec {SSH} -F "${{PUREZMQ_TEST_SSH_CONFIG:-{d / "ssh_config"}}}" "$@"\n'
    )
    os.chmod(bindir / "ssh", 0o755)

    proc = subprocess.Popen(
        [SSHD, "-D", "-e", "-f", str(d / "sshd_config")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                pytest.skip(f"sshd could not start (exit {proc.returncode}): {err.strip()}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.skip("sshd did not listen within 20 s")
                time.sleep(0.05)
        yield Sshd(
            port=port,
            dir=d,
            key=d / "id_test",
            wrong_key=d / "id_wrong",
            server=f"{user}@127.0.0.1:{port}",
            user=user,
            proc=proc,
        )
    finally:
        # Sessions outlive the listening sshd, so end them (and our ssh clients) by pid.
        _kill(_children(proc.pid))
        _kill(_processes_mentioning(str(d)))
        proc.kill()
        proc.wait(10)
        if proc.stderr:
            proc.stderr.close()


@pytest.fixture
def openssh(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> Sshd:
    """The system ssh, through our wrapper (our config, our known_hosts)."""
    pytest.importorskip("pexpect", reason="pexpect (the ssh extra) is needed for openssh tunnels")
    monkeypatch.setenv("PATH", f"{sshd.dir / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("PUREZMQ_TEST_SSH_CONFIG", raising=False)
    return sshd


@pytest.fixture
def paramiko_home(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> Sshd:
    """paramiko with $HOME pointing at a home whose known_hosts has our server."""
    pytest.importorskip(
        "paramiko", reason="paramiko (the ssh extra) is needed for paramiko tunnels"
    )
    monkeypatch.setenv("HOME", str(sshd.dir / "home"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("PYZMQ_PARAMIKO_HOST_KEY_POLICY", raising=False)
    return sshd


def _round_trip(req: Any, rep: Any) -> None:
    """REQ -> REP -> REQ, each wait bounded by the sockets' timeouts."""
    req.send(b"through the tunnel")
    assert rep.recv() == b"through the tunnel"
    rep.send(b"and back")
    assert req.recv() == b"and back"


# -- no server needed --------------------------------------------------------------------


def test_select_random_ports_are_distinct_and_free() -> None:
    ports = ssh.select_random_ports(20)
    assert len(set(ports)) == 20
    for p in ports:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        finally:
            s.close()


def test_split_server() -> None:
    assert tunnel_mod._split_server("alice@gw.example:2222") == ("alice", "gw.example", 2222)
    assert tunnel_mod._split_server("gw.example") == (tunnel_mod.getuser(), "gw.example", 22)
    assert tunnel_mod._split_server("bob@[::1]:2200") == ("bob", "::1", 2200)
    assert tunnel_mod._ssh_args("alice@gw:2222", "/k") == (["-i", "/k", "-p", "2222"], "alice@gw")
    assert tunnel_mod._ssh_args("gw", None) == ([], "gw")
    assert tunnel_mod._forward_spec(5, "::1", 7) == "127.0.0.1:5:[::1]:7"


def test_open_tunnel_wants_a_tcp_endpoint() -> None:
    with pytest.raises(ValueError, match="tcp"):
        ssh.open_tunnel("ipc:///tmp/x", "server")
    with pytest.raises(ValueError, match="port"):
        ssh.open_tunnel("tcp://10.0.0.1", "server")


def test_imports_as_pyzmq_names() -> None:
    assert ssh.tunnel_connection is tunnel_mod.tunnel_connection
    assert issubclass(ssh.SSHException, Exception)
    assert ssh.ssh_tunnel in (ssh.openssh_tunnel, ssh.paramiko_tunnel)


# -- the system ssh (pexpect) -------------------------------------------------------------


def test_openssh_tunnel_req_to_libzmq_rep(openssh: Sshd, lzctx: Any, ctx: purezmq.Context) -> None:
    zmq = pytest.importorskip("zmq")
    rep = lzctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = rep.sndtimeo = 20000
    rport = rep.bind_to_random_port("tcp://127.0.0.1")
    req = mk(ctx, purezmq.REQ, timeout=20000)
    t = ssh.tunnel_connection(
        req,
        f"tcp://127.0.0.1:{rport}",
        openssh.server,
        keyfile=str(openssh.key),
        paramiko=False,
        timeout=15,
    )
    assert isinstance(t, int)
    _round_trip(req, rep)


def test_openssh_open_tunnel_to_purezmq_rep(openssh: Sshd, ctx: purezmq.Context) -> None:
    rep = mk(ctx, purezmq.REP, timeout=20000)
    rport = rep.bind_to_random_port("tcp://127.0.0.1")
    url, _ = ssh.open_tunnel(
        f"tcp://127.0.0.1:{rport}",
        openssh.server,
        keyfile=str(openssh.key),
        paramiko=False,
        timeout=15,
    )
    assert url.startswith("tcp://127.0.0.1:") and int(url.rsplit(":", 1)[1]) != rport
    req = mk(ctx, purezmq.REQ, timeout=20000)
    req.connect(url)
    _round_trip(req, rep)


def test_openssh_tunnel_through_a_control_master(
    openssh: Sshd, ctx: purezmq.Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a ControlMaster running for the server, the forward is added to it."""
    monkeypatch.setenv("PUREZMQ_TEST_SSH_CONFIG", str(openssh.dir / "ssh_config_master"))
    args, dest = tunnel_mod._ssh_args(openssh.server, str(openssh.key))
    ssh_cmd = str(openssh.dir / "bin" / "ssh")
    subprocess.run(
        [ssh_cmd, "-M", "-f", "-N", *args, dest], check=True, timeout=30, stdin=subprocess.DEVNULL
    )
    try:
        rep = mk(ctx, purezmq.REP, timeout=20000)
        rport = rep.bind_to_random_port("tcp://127.0.0.1")
        req = mk(ctx, purezmq.REQ, timeout=20000)
        master = ssh.tunnel_connection(
            req, f"tcp://127.0.0.1:{rport}", openssh.server, keyfile=str(openssh.key)
        )
        check = subprocess.run(
            [ssh_cmd, *args, "-O", "check", dest], capture_output=True, timeout=30
        )
        assert f"pid={master}".encode() in check.stderr + check.stdout
        _round_trip(req, rep)
    finally:
        subprocess.run([ssh_cmd, *args, "-O", "exit", dest], capture_output=True, timeout=30)


def test_openssh_passwordless(openssh: Sshd) -> None:
    assert ssh.try_passwordless_ssh(openssh.server, str(openssh.key), paramiko=False) is True
    assert ssh.try_passwordless_ssh(openssh.server, str(openssh.wrong_key), paramiko=False) is False


def test_openssh_refused_key_fails_clearly(openssh: Sshd) -> None:
    lport = ssh.select_random_ports(1)[0]
    with pytest.raises(RuntimeError, match="failed to start"):
        ssh.openssh_tunnel(lport, 1, openssh.server, keyfile=str(openssh.wrong_key), timeout=5)


def test_openssh_unknown_host_key(openssh: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUREZMQ_TEST_SSH_CONFIG", str(openssh.dir / "ssh_config_unknown"))
    with pytest.raises(ssh.SSHException, match="authenticity"):
        ssh.try_passwordless_ssh(openssh.server, str(openssh.key), paramiko=False)
    lport = ssh.select_random_ports(1)[0]
    # StrictHostKeyChecking=yes in that config: ssh refuses without asking.
    with pytest.raises((ssh.SSHException, RuntimeError)):
        ssh.openssh_tunnel(lport, 1, openssh.server, keyfile=str(openssh.key), timeout=5)


# -- paramiko ---------------------------------------------------------------------------


def test_paramiko_tunnel_req_to_libzmq_rep(
    paramiko_home: Sshd, lzctx: Any, ctx: purezmq.Context
) -> None:
    zmq = pytest.importorskip("zmq")
    rep = lzctx.socket(zmq.REP)
    rep.linger = 0
    rep.rcvtimeo = rep.sndtimeo = 20000
    rport = rep.bind_to_random_port("tcp://127.0.0.1")
    req = mk(ctx, purezmq.REQ, timeout=20000)
    t = ssh.tunnel_connection(
        req,
        f"tcp://127.0.0.1:{rport}",
        paramiko_home.server,
        keyfile=str(paramiko_home.key),
        paramiko=True,
    )
    try:
        assert isinstance(t, ssh.TunnelProcess) and t.is_alive()
        _round_trip(req, rep)
        _round_trip(req, rep)
    finally:
        req.close()
        t.terminate()
        t.join(10)
    assert not t.is_alive()


def test_paramiko_tunnel_to_purezmq_rep_and_idle_timeout(
    paramiko_home: Sshd, ctx: purezmq.Context
) -> None:
    rep = mk(ctx, purezmq.REP, timeout=20000)
    rport = rep.bind_to_random_port("tcp://127.0.0.1")
    lport = ssh.select_random_ports(1)[0]
    t = ssh.paramiko_tunnel(
        lport, rport, paramiko_home.server, keyfile=str(paramiko_home.key), timeout=1
    )
    try:
        req = mk(ctx, purezmq.REQ, timeout=20000)
        req.connect(f"tcp://127.0.0.1:{lport}")
        _round_trip(req, rep)
        # Once the only connection through it is gone (and `timeout` has passed),
        # the tunnel ends by itself.
        req.close(linger=0)
        t.join(20)
        assert t.exitcode == 0
    finally:
        t.kill()
        t.join(5)


def test_paramiko_passwordless(paramiko_home: Sshd) -> None:
    assert ssh.try_passwordless_ssh(paramiko_home.server, str(paramiko_home.key), paramiko=True)
    assert not ssh.try_passwordless_ssh(
        paramiko_home.server, str(paramiko_home.wrong_key), paramiko=True
    )


def test_paramiko_tunnel_leaves_no_pipe_to_the_garbage_collector(paramiko_home: Sshd) -> None:
    """The worker's stdout carries one line (READY or ERROR): it is closed once
    read, on success as on failure, not left open until the TunnelProcess is
    collected (an fd per tunnel meanwhile, and a ResourceWarning then)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        t = ssh.paramiko_tunnel(
            ssh.select_random_ports(1)[0], 1, paramiko_home.server, keyfile=str(paramiko_home.key)
        )
        t.kill()
        t.join(5)
        with pytest.raises(RuntimeError, match="failed"):
            ssh.paramiko_tunnel(
                ssh.select_random_ports(1)[0],
                1,
                paramiko_home.server,
                keyfile=str(paramiko_home.wrong_key),
                password="nope",
            )
        del t
        gc.collect()
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks


def test_paramiko_refused_login_raises(paramiko_home: Sshd) -> None:
    lport = ssh.select_random_ports(1)[0]
    with pytest.raises(RuntimeError, match="failed"):
        # A password is given, so nothing prompts; the server takes keys only.
        ssh.paramiko_tunnel(
            lport, 1, paramiko_home.server, keyfile=str(paramiko_home.wrong_key), password="nope"
        )


def test_paramiko_unknown_host_key(paramiko_home: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = paramiko_home.dir / "home_unknown"
    (empty / ".ssh").mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("HOME", str(empty))
    with pytest.raises(ssh.SSHException):
        ssh.try_passwordless_ssh(paramiko_home.server, str(paramiko_home.key), paramiko=True)
    lport = ssh.select_random_ports(1)[0]
    with pytest.raises(ssh.SSHException):
        ssh.paramiko_tunnel(lport, 1, paramiko_home.server, keyfile=str(paramiko_home.key))
