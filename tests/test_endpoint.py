"""Tests for purezmq.transport.endpoint: parsing, bind/connect, options, libzmq parity."""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import select
import socket
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from purezmq.transport.endpoint import (
    Endpoint,
    EndpointError,
    bind_socket,
    close_listener,
    configure_accepted,
    connect_error,
    connect_socket,
    format_ipc_endpoint,
    format_tcp_endpoint,
    needs_resolution,
    parse_endpoint,
    peer_address,
    resolve_connect_address,
    set_keepalive,
)

pytestmark = pytest.mark.timeout(20)

LINUX = sys.platform.startswith("linux")
WAIT = 5.0  # seconds; every wait in this file is bounded by it


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def _has_interface(name: str) -> bool:
    try:
        socket.if_nametoindex(name)
        return True
    except OSError:
        return False


HAS_IPV6 = _has_ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback (::1)")
needs_linux = pytest.mark.skipif(not LINUX, reason="Linux only")
needs_lo = pytest.mark.skipif(not (LINUX and _has_interface("lo")), reason="needs Linux 'lo'")
needs_unix = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no AF_UNIX")


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("tcp://*:5555", dict(host="*", port=5555)),
        ("tcp://*:*", dict(host="*", port=0)),
        ("tcp://*:0", dict(host="*", port=0)),
        ("tcp://127.0.0.1:0", dict(host="127.0.0.1", port=0)),
        ("tcp://[::1]:5555", dict(host="::1", port=5555)),
        ("tcp://[::]:*", dict(host="::", port=0)),
        ("tcp://::1:5555", dict(host="::1", port=5555)),
        ("tcp://[fe80::1%eth0]:5555", dict(host="fe80::1%eth0", port=5555)),
        ("tcp://eth0:5555", dict(host="eth0", port=5555)),
        ("tcp://lo:5555", dict(host="lo", port=5555)),
        ("tcp://localhost:5555", dict(host="localhost", port=5555)),
        ("tcp://*:65535", dict(host="*", port=65535)),
        (
            "tcp://192.168.1.17:5555;192.168.1.1:5556",
            dict(host="192.168.1.1", port=5556, source_host="192.168.1.17", source_port=5555),
        ),
        (
            "tcp://eth1:0;server1:5555",
            dict(host="server1", port=5555, source_host="eth1", source_port=0),
        ),
        (
            "tcp://[::1]:*;[::1]:5555",
            dict(host="::1", port=5555, source_host="::1", source_port=0),
        ),
        ("ipc:///tmp/x.sock", dict(path="/tmp/x.sock", abstract=False)),
        ("ipc://relative/path", dict(path="relative/path", abstract=False)),
        ("ipc://*", dict(path="*", abstract=False)),
        ("inproc://name", dict(address="name")),
        ("inproc://#1", dict(address="#1")),
        ("inproc://a://b", dict(address="a://b")),
    ],
)
def test_parse_good(text: str, fields: dict[str, object]) -> None:
    ep = parse_endpoint(text)
    assert str(ep) == text
    assert ep.transport == text.split("://", 1)[0]
    assert ep.address == text.split("://", 1)[1]
    for name, value in fields.items():
        assert getattr(ep, name) == value, name


@needs_linux
def test_parse_abstract() -> None:
    ep = parse_endpoint("ipc://@abstract-name")
    assert (ep.path, ep.abstract, str(ep)) == ("abstract-name", True, "ipc://@abstract-name")


def test_endpoint_helpers() -> None:
    ep = parse_endpoint("inproc://x")
    assert isinstance(ep, Endpoint) and ep.name == "x"
    assert ep == Endpoint("inproc", "x") and hash(ep) == hash(Endpoint("inproc", "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.address = "y"  # type: ignore[misc]
    assert parse_endpoint("tcp://*:5555").is_wildcard
    assert parse_endpoint("tcp://127.0.0.1:*").is_wildcard
    assert not parse_endpoint("tcp://127.0.0.1:5555").is_wildcard
    assert parse_endpoint("ipc://*").is_wildcard
    assert not parse_endpoint("ipc:///tmp/x").is_wildcard
    assert format_tcp_endpoint("::1", 5) == "tcp://[::1]:5"
    assert format_tcp_endpoint("10.0.0.1", 5) == "tcp://10.0.0.1:5"
    assert format_ipc_endpoint("name", abstract=True) == "ipc://@name"
    assert format_ipc_endpoint("/p") == "ipc:///p"
    assert needs_resolution(parse_endpoint("tcp://example.invalid:1"))
    assert not needs_resolution(parse_endpoint("tcp://127.0.0.1:1"))
    assert not needs_resolution(parse_endpoint("tcp://[::1]:1"))
    assert not needs_resolution(parse_endpoint("tcp://localhost:1"))
    assert not needs_resolution(parse_endpoint("ipc:///tmp/x"))


# (endpoint, role, errno). role: None = syntax only, "bind", "connect".
# Every row is libzmq 4.3's errno for zmq_bind / zmq_connect (checked live in
# test_errno_matches_libzmq) except the rows in DEVIATIONS.
BAD = [
    ("nothing", None, errno.EINVAL),
    ("tcp:/127.0.0.1:5555", None, errno.EINVAL),
    ("tcp:127.0.0.1:5555", None, errno.EINVAL),
    ("://x", None, errno.EINVAL),
    ("tcp://", None, errno.EINVAL),
    ("ipc://", None, errno.EINVAL),
    ("inproc://", None, errno.EINVAL),
    ("foo://", None, errno.EINVAL),
    ("pgm://eth0;239.192.1.1:5555", None, errno.EPROTONOSUPPORT),
    ("epgm://eth0;239.192.1.1:5555", None, errno.EPROTONOSUPPORT),
    ("norm://1", None, errno.EPROTONOSUPPORT),
    ("vmci://1:2", None, errno.EPROTONOSUPPORT),
    ("vsock://1:2", None, errno.EPROTONOSUPPORT),
    ("foo://bar", None, errno.EPROTONOSUPPORT),
    ("TCP://127.0.0.1:5555", None, errno.EPROTONOSUPPORT),
    ("tcp://127.0.0.1", None, errno.EINVAL),
    ("tcp://*", None, errno.EINVAL),
    ("tcp://127.0.0.1:", None, errno.EINVAL),
    ("tcp://127.0.0.1:abc", None, errno.EINVAL),
    ("tcp://127.0.0.1:0x10", None, errno.EINVAL),
    ("tcp://*:65536", None, errno.EINVAL),
    ("tcp://;127.0.0.1:5555", None, errno.EINVAL),
    ("tcp://127.0.0.1;127.0.0.1:5555", None, errno.EINVAL),
    ("tcp://[::1]", None, errno.EINVAL),
    ("tcp://[::1:5555", None, errno.EINVAL),
    ("tcp://[]:5555", None, errno.EINVAL),
    ("tcp://127.0.0.1:5555;", None, errno.EINVAL),
    ("tcp://a:1;b:2;c:3", None, errno.EINVAL),
    ("ipc://@", None, errno.EINVAL),
    ("tcp://:5555", "bind", errno.ENODEV),
    ("tcp://*:5555", "connect", errno.EINVAL),
    ("tcp://*:*", "connect", errno.EINVAL),
    ("tcp://127.0.0.1:*", "connect", errno.EINVAL),
    ("tcp://:5555", "connect", errno.EINVAL),
    ("tcp://bad host:5555", "connect", errno.EINVAL),
    ("ipc://*", "connect", errno.EINVAL),
]

# Where we knowingly differ from libzmq 4.3 (it accepts these syntactically and
# then fails forever in the background, or misparses brackets as an interface).
DEVIATIONS = {
    ("tcp://[::1]", "bind"),  # libzmq: ENODEV (misparsed); ours: EINVAL missing port
    ("tcp://[::1:5555", "bind"),  # libzmq: ENODEV; ours: EINVAL unterminated '['
    ("tcp://[]:5555", "bind"),  # libzmq: ENODEV; ours: EINVAL empty '[]'
    ("tcp://127.0.0.1:0x10", "connect"),  # libzmq connect: accepted (first char a digit)
    ("tcp://[::1]", "connect"),  # libzmq connect: accepted, never connects
    ("tcp://[::1:5555", "connect"),
    ("tcp://[]:5555", "connect"),
    ("tcp://127.0.0.1:5555;", "connect"),
    ("tcp://a:1;b:2;c:3", "connect"),
    ("tcp://a:1;b:2;c:3", "bind"),
    ("tcp://127.0.0.1;127.0.0.1:5555", "connect"),  # source without port
    ("tcp://:5555", "connect"),
    ("ipc://*", "connect"),  # libzmq connects to a file named '*'
}


def _roles(role: str | None) -> list[bool | None]:
    if role is None:
        return [None, True, False]
    return [role == "connect"]


@pytest.mark.parametrize(("text", "role", "code"), BAD)
def test_parse_bad(text: str, role: str | None, code: int) -> None:
    for connect in _roles(role):
        with pytest.raises(EndpointError) as info:
            parse_endpoint(text, connect=connect)
        assert info.value.errno == code, (text, connect, str(info.value))
        assert isinstance(info.value, OSError)
        assert text in str(info.value)  # the message names the endpoint


def test_error_message_names_problem() -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint("tcp://127.0.0.1:abc")
    assert str(info.value) == "invalid port 'abc' in endpoint 'tcp://127.0.0.1:abc'"
    assert info.value.errno == errno.EINVAL


@pytest.mark.parametrize("bad", [None, b"tcp://x:1", 5])
def test_parse_non_str(bad: object) -> None:
    with pytest.raises(EndpointError) as info:
        parse_endpoint(bad)  # type: ignore[arg-type]
    assert info.value.errno == errno.EINVAL


@given(
    st.one_of(st.text(max_size=40), st.text(max_size=30).map(lambda t: "tcp://" + t)),
    st.sampled_from([None, True, False]),
)
def test_parse_fuzz(text: str, connect: bool | None) -> None:
    try:
        ep = parse_endpoint(text, connect=connect)
    except EndpointError as e:
        assert e.errno in (errno.EINVAL, errno.EPROTONOSUPPORT, errno.ENODEV)
    else:
        assert str(ep) == text


# --------------------------------------------------------------------------- helpers


def _accept(lsock: socket.socket) -> socket.socket:
    ready, _, _ = select.select([lsock], [], [], WAIT)
    assert ready, "no connection to accept"
    conn, _ = lsock.accept()
    configure_accepted(conn)
    return conn


def _wait_connected(csock: socket.socket) -> None:
    _, ready, _ = select.select([], [csock], [], WAIT)
    assert ready, "connect did not complete"
    assert connect_error(csock) == 0


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        ready, _, _ = select.select([sock], [], [], WAIT)
        assert ready, "timed out reading"
        chunk = sock.recv(n - len(data))
        assert chunk, "peer closed"
        data += chunk
    return data


def _connectable(last_endpoint: str) -> str:
    """Turn a wildcard LAST_ENDPOINT into one a client can connect to."""
    return last_endpoint.replace("tcp://0.0.0.0:", "tcp://127.0.0.1:").replace(
        "tcp://[::]:", "tcp://[::1]:"
    )


def _roundtrip(
    bind_text: str, *, ipv6: bool = False, connect_ipv6: bool | None = None
) -> tuple[str, str]:
    """Bind, connect, accept, exchange bytes both ways; return (LAST_ENDPOINT, Peer-Address)."""
    lsock, last = bind_socket(parse_endpoint(bind_text, connect=False), ipv6=ipv6)
    try:
        assert not lsock.getblocking()
        cep = parse_endpoint(_connectable(last), connect=True)
        csock = connect_socket(cep, ipv6=ipv6 if connect_ipv6 is None else connect_ipv6)
        try:
            assert not csock.getblocking()
            conn = _accept(lsock)
            try:
                _wait_connected(csock)
                csock.sendall(b"ping")
                assert _recv_exact(conn, 4) == b"ping"
                conn.sendall(b"pong")
                assert _recv_exact(csock, 4) == b"pong"
                return last, peer_address(conn)
            finally:
                conn.close()
        finally:
            csock.close()
    finally:
        close_listener(lsock)


PORT = r"[1-9][0-9]*"


# --------------------------------------------------------------------------- bind + connect


def test_tcp_ipv4_roundtrip() -> None:
    last, peer = _roundtrip("tcp://127.0.0.1:0")
    assert re.fullmatch(rf"tcp://127\.0\.0\.1:{PORT}", last)
    assert peer == "127.0.0.1"


def test_tcp_wildcard_roundtrip() -> None:
    for text in ("tcp://*:0", "tcp://*:*"):
        last, _ = _roundtrip(text)
        assert re.fullmatch(rf"tcp://0\.0\.0\.0:{PORT}", last)


@needs_ipv6
def test_tcp_ipv6_roundtrip() -> None:
    last, peer = _roundtrip("tcp://[::1]:0", ipv6=True)
    assert re.fullmatch(rf"tcp://\[::1\]:{PORT}", last)
    assert peer == "::1"


@needs_ipv6
def test_tcp_ipv6_wildcard_accepts_ipv4() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://*:0"), ipv6=True)
    try:
        assert re.fullmatch(rf"tcp://\[::\]:{PORT}", last)
        assert lsock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0
        port = int(last.rsplit(":", 1)[1])
        csock = connect_socket(parse_endpoint(f"tcp://127.0.0.1:{port}"))
        try:
            conn = _accept(lsock)
            _wait_connected(csock)
            assert peer_address(conn) == "::ffff:127.0.0.1"
            conn.close()
        finally:
            csock.close()
    finally:
        close_listener(lsock)


@needs_ipv6
def test_tcp_ipv4_address_with_ipv6_option_is_mapped() -> None:
    last, peer = _roundtrip("tcp://127.0.0.1:0", ipv6=True, connect_ipv6=False)
    assert re.fullmatch(rf"tcp://\[::ffff:127\.0\.0\.1\]:{PORT}", last)
    assert peer == "::ffff:127.0.0.1"


def test_ipv6_literal_needs_ipv6_option() -> None:
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint("tcp://[::1]:0"), ipv6=False)
    assert info.value.errno == errno.ENODEV
    assert "IPV6" in str(info.value)
    with pytest.raises(EndpointError) as info:
        resolve_connect_address(parse_endpoint("tcp://[::1]:5555"), ipv6=False)
    assert info.value.errno == errno.EINVAL


@needs_lo
def test_tcp_interface_name() -> None:
    last, peer = _roundtrip("tcp://lo:0")
    assert re.fullmatch(rf"tcp://127\.0\.0\.1:{PORT}", last)
    assert peer == "127.0.0.1"


@needs_lo
@needs_ipv6
def test_tcp_interface_name_ipv6() -> None:
    last, _ = _roundtrip("tcp://lo:0", ipv6=True)
    assert re.fullmatch(rf"tcp://\[::1\]:{PORT}", last)


def test_unknown_interface_is_enodev() -> None:
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint("tcp://nosuchif0:0"))
    assert info.value.errno == errno.ENODEV
    assert "nosuchif0" in str(info.value)


def test_bind_does_not_resolve_names_except_localhost() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://localhost:0"))
    close_listener(lsock)
    assert re.fullmatch(rf"tcp://127\.0\.0\.1:{PORT}", last)
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint("tcp://example.invalid:0"))
    assert info.value.errno == errno.ENODEV


def test_tcp_connect_by_name() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0"))
    try:
        port = int(last.rsplit(":", 1)[1])
        ep = parse_endpoint(f"tcp://localhost:{port}", connect=True)
        csock = connect_socket(ep, address=resolve_connect_address(ep, ipv6=False))
        try:
            _accept(lsock).close()
            _wait_connected(csock)
        finally:
            csock.close()
    finally:
        close_listener(lsock)


def test_tcp_connect_with_source_address() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0"))
    try:
        port = int(last.rsplit(":", 1)[1])
        ep = parse_endpoint(f"tcp://127.0.0.1:*;127.0.0.1:{port}", connect=True)
        assert (ep.source_host, ep.source_port) == ("127.0.0.1", 0)
        csock = connect_socket(ep)
        try:
            conn = _accept(lsock)
            _wait_connected(csock)
            assert conn.getpeername() == csock.getsockname()
            conn.close()
        finally:
            csock.close()
    finally:
        close_listener(lsock)


def test_bind_ignores_source_like_libzmq() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0;127.0.0.1:0", connect=False))
    close_listener(lsock)
    assert re.fullmatch(rf"tcp://127\.0\.0\.1:{PORT}", last)


def test_connect_refused() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0"))
    close_listener(lsock)
    try:
        csock = connect_socket(parse_endpoint(last))
    except EndpointError as e:  # some systems refuse loopback connects at once
        assert e.errno == errno.ECONNREFUSED
        return
    try:
        _, ready, _ = select.select([], [csock], [], WAIT)
        assert ready
        assert connect_error(csock) == errno.ECONNREFUSED
    finally:
        csock.close()


def test_tcp_address_in_use() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0"))
    try:
        with pytest.raises(EndpointError) as info:
            bind_socket(parse_endpoint(last))
        assert info.value.errno == errno.EADDRINUSE
        assert last in str(info.value)
        port = last.rsplit(":", 1)[1]
        with pytest.raises(EndpointError) as info:
            bind_socket(parse_endpoint(f"tcp://*:{port}"))
        assert info.value.errno == errno.EADDRINUSE
    finally:
        close_listener(lsock)


def test_not_local_address() -> None:
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint("tcp://203.0.113.77:0"))  # TEST-NET-3
    assert info.value.errno == errno.EADDRNOTAVAIL


def test_bind_connect_reject_other_transports() -> None:
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint("inproc://x"))
    assert info.value.errno == errno.EPROTONOSUPPORT
    with pytest.raises(EndpointError):
        connect_socket(parse_endpoint("inproc://x"))
    with pytest.raises(EndpointError) as info:
        connect_socket(parse_endpoint("tcp://*:5555"))
    assert info.value.errno == errno.EINVAL


# --------------------------------------------------------------------------- ipc


@needs_unix
def test_ipc_path_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "a.sock"
    last, peer = _roundtrip(f"ipc://{path}")
    assert last == f"ipc://{path}"
    assert not path.exists()  # close_listener removed it
    if LINUX:
        assert peer == f"localhost:{os.getuid()}:{os.getgid()}:{os.getpid()}"


@needs_unix
def test_ipc_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    last, _ = _roundtrip("ipc://rel.sock")
    assert last == "ipc://rel.sock"
    assert not (tmp_path / "rel.sock").exists()


@needs_linux
def test_ipc_abstract_roundtrip() -> None:
    name = f"purezmq-test-{os.getpid()}"
    last, peer = _roundtrip(f"ipc://@{name}")
    assert last == f"ipc://@{name}"
    assert peer.startswith("localhost:")


@needs_linux
def test_ipc_abstract_in_use() -> None:
    ep = parse_endpoint(f"ipc://@purezmq-inuse-{os.getpid()}")
    lsock, _ = bind_socket(ep)
    try:
        with pytest.raises(EndpointError) as info:
            bind_socket(ep)
        assert info.value.errno == errno.EADDRINUSE
    finally:
        close_listener(lsock)


@needs_unix
def test_ipc_wildcard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    lsock, last = bind_socket(parse_endpoint("ipc://*"))
    path = Path(last[len("ipc://") :])
    try:
        assert path.name == "socket" and path.parent.parent == tmp_path
        assert stat.S_ISSOCK(path.stat().st_mode)
        csock = connect_socket(parse_endpoint(last, connect=True))
        _accept(lsock).close()
        csock.close()
    finally:
        close_listener(lsock)
    assert not path.exists() and not path.parent.exists()


@needs_unix
def test_ipc_stale_socket_replaced_and_not_unlinked_by_old_owner(tmp_path: Path) -> None:
    ep = parse_endpoint(f"ipc://{tmp_path / 's.sock'}")
    first, _ = bind_socket(ep)
    second, _ = bind_socket(ep)  # overrides, as libzmq's ipc bind does
    close_listener(first)  # must not remove the file now owned by `second`
    assert (tmp_path / "s.sock").exists()
    csock = connect_socket(ep)
    try:
        _accept(second).close()
    finally:
        csock.close()
        close_listener(second)
    assert not (tmp_path / "s.sock").exists()


@needs_unix
def test_ipc_regular_file_not_replaced(tmp_path: Path) -> None:
    victim = tmp_path / "data.txt"
    victim.write_text("keep me")
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint(f"ipc://{victim}"))
    assert info.value.errno == errno.EADDRINUSE
    assert victim.read_text() == "keep me"


@needs_unix
def test_ipc_errors(tmp_path: Path) -> None:
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint(f"ipc://{tmp_path / 'nodir' / 'x.sock'}"))
    assert info.value.errno == errno.ENOENT
    long = "ipc://" + str(tmp_path / ("x" * 120))
    with pytest.raises(EndpointError) as info:
        bind_socket(parse_endpoint(long))
    assert info.value.errno == errno.ENAMETOOLONG
    with pytest.raises(EndpointError) as info:
        connect_socket(parse_endpoint(long))
    assert info.value.errno == errno.ENAMETOOLONG
    with pytest.raises(EndpointError) as info:  # nobody listening: immediate failure
        connect_socket(parse_endpoint(f"ipc://{tmp_path / 'absent.sock'}"))
    assert info.value.errno == errno.ENOENT


# --------------------------------------------------------------------------- options


def test_keepalive_options_visible() -> None:
    lsock, last = bind_socket(parse_endpoint("tcp://127.0.0.1:0"))
    try:
        csock = connect_socket(
            parse_endpoint(last),
            tcp_keepalive=1,
            tcp_keepalive_cnt=7,
            tcp_keepalive_idle=33,
            tcp_keepalive_intvl=11,
        )
        try:
            assert csock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            if hasattr(socket, "TCP_KEEPCNT"):
                assert csock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 7
            if hasattr(socket, "TCP_KEEPIDLE"):
                assert csock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 33
            if hasattr(socket, "TCP_KEEPINTVL"):
                assert csock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 11
            assert csock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            conn = _accept(lsock)
            configure_accepted(conn, tcp_keepalive=1, tcp_keepalive_idle=44)
            assert conn.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
            assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
            assert not conn.getblocking()
            if hasattr(socket, "TCP_KEEPIDLE"):
                assert conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 44
            conn.close()
        finally:
            csock.close()
    finally:
        close_listener(lsock)


def test_keepalive_defaults_left_alone() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        before = s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
        idle_before = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) if LINUX else 0
        set_keepalive(s, -1, 7, 33, 11)  # like libzmq: sub-options need keepalive 0/1
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == before
        if LINUX:
            assert s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == idle_before
        set_keepalive(s, 0)
        assert s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0


@needs_linux
def test_buffers_tos_maxrt() -> None:
    lsock, last = bind_socket(
        parse_endpoint("tcp://127.0.0.1:0"), sndbuf=65536, rcvbuf=65536, tos=0x10, backlog=5
    )
    try:
        assert lsock.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF) >= 65536
        assert lsock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 0x10
        assert lsock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        csock = connect_socket(parse_endpoint(last), rcvbuf=32768, tos=0x08, tcp_maxrt=1500)
        try:
            assert csock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 32768
            assert csock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 0x08
            assert csock.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT) == 1500
        finally:
            csock.close()
    finally:
        close_listener(lsock)


# --------------------------------------------------------------------------- libzmq parity

zmq: Any
try:
    import zmq
except ImportError:  # pragma: no cover - pyzmq is a test dependency
    zmq = None


@pytest.fixture
def zctx() -> Iterator[Any]:
    if zmq is None:
        pytest.skip("pyzmq (reference libzmq) not installed")
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


def _libzmq_errno(ctx: Any, text: str, role: str, ipv6: bool) -> int:
    s = ctx.socket(zmq.PUB)
    s.linger = 0
    s.ipv6 = int(ipv6)
    try:
        getattr(s, role)(text)
        return 0
    except zmq.ZMQError as e:
        return int(e.errno or 0)
    finally:
        s.close()


def _our_errno(text: str, role: str, ipv6: bool) -> int:
    try:
        ep = parse_endpoint(text, connect=(role == "connect"))
        if role == "bind" and ep.transport in ("tcp", "ipc"):
            close_listener(bind_socket(ep, ipv6=ipv6)[0])
        return 0
    except EndpointError as e:
        return e.errno


PARITY = [(text, r) for text, role, _ in BAD for r in ([role] if role else ["bind", "connect"])] + [
    ("tcp://nosuchif0:0", "bind"),
    ("tcp://256.0.0.1:0", "bind"),
    ("tcp://example.invalid:0", "bind"),
    ("tcp://[::1]:0", "bind"),
    ("tcp://127.0.0.1:0", "connect"),
    ("tcp://example.invalid:5555", "connect"),
    ("tcp://[::1]:5555", "connect"),
    ("tcp://203.0.113.77:0", "bind"),
]


@pytest.mark.parametrize(("text", "role"), PARITY)
def test_errno_matches_libzmq(zctx: Any, text: str, role: str) -> None:
    if text.startswith("ipc://@") and not LINUX:
        pytest.skip("abstract ipc is Linux only")
    theirs = _libzmq_errno(zctx, text, role, ipv6=False)
    ours = _our_errno(text, role, ipv6=False)
    if (text, role) in DEVIATIONS:
        assert ours != 0  # we reject what libzmq accepts or misparses
    else:
        assert ours == theirs, (errno.errorcode.get(ours), errno.errorcode.get(theirs))


def _shape(last: str) -> str:
    return re.sub(r":\d+$", ":PORT", last)


LAST_ENDPOINT_CASES = [
    ("tcp://127.0.0.1:0", False),
    ("tcp://127.0.0.1:*", False),
    ("tcp://*:0", False),
    ("tcp://*:*", False),
    ("tcp://localhost:0", False),
    ("tcp://127.0.0.1:0", True),
    ("tcp://localhost:0", True),
    pytest.param("tcp://*:0", True, marks=needs_ipv6),
    pytest.param("tcp://[::1]:0", True, marks=needs_ipv6),
    pytest.param("tcp://lo:0", False, marks=needs_lo),
    pytest.param("tcp://lo:0", True, marks=[needs_lo, needs_ipv6]),
]


@pytest.mark.parametrize(("text", "ipv6"), LAST_ENDPOINT_CASES)
def test_last_endpoint_matches_libzmq_tcp(zctx: Any, text: str, ipv6: bool) -> None:
    s = zctx.socket(zmq.PULL)
    s.linger = 0
    s.ipv6 = int(ipv6)
    s.bind(text)
    theirs = s.last_endpoint.decode()
    s.close()
    lsock, ours = bind_socket(parse_endpoint(text), ipv6=ipv6)
    close_listener(lsock)
    assert _shape(ours) == _shape(theirs)
    assert parse_endpoint(ours) == parse_endpoint(ours)  # LAST_ENDPOINT parses back


@needs_unix
def test_last_endpoint_matches_libzmq_ipc(zctx: Any, tmp_path: Path) -> None:
    names = [f"ipc://{tmp_path / 'z.sock'}", "ipc://rel-z.sock"]
    if LINUX:
        names.append(f"ipc://@purezmq-last-{os.getpid()}")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for text in names:
            s = zctx.socket(zmq.PULL)
            s.linger = 0
            s.bind(text)
            theirs = s.last_endpoint.decode()
            s.unbind(theirs)
            s.close()
            ours_text = text.replace("z.sock", "p.sock").replace("last-", "last-p-")
            lsock, ours = bind_socket(parse_endpoint(ours_text))
            close_listener(lsock)
            assert theirs == text and ours == ours_text
    finally:
        os.chdir(cwd)


@needs_unix
def test_last_endpoint_ipc_wildcard_shape(
    zctx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # libzmq: ipc://<$TMPDIR>tmpXXXXXX/socket (relative to cwd if TMPDIR unset);
    # ours: the same shape, but in the system temp dir when TMPDIR is unset.
    monkeypatch.chdir(tmp_path)  # libzmq may create its directory in the cwd
    s = zctx.socket(zmq.PULL)
    s.linger = 0
    s.bind("ipc://*")
    theirs = s.last_endpoint.decode()
    s.close()
    lsock, ours = bind_socket(parse_endpoint("ipc://*"))
    close_listener(lsock)
    assert theirs.endswith("/socket") and ours.endswith("/socket")
    assert os.path.basename(os.path.dirname(ours)).startswith("tmp")
    assert os.path.isabs(ours[len("ipc://") :])
