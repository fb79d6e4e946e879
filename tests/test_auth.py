"""purezmq.auth: the Authenticator classes, certificates, and the five security scenarios.

The scenarios follow the descriptions in pyzmq's security examples (written
anew here): grasslands (no security), strawhouse (NULL + IP filtering),
woodhouse (PLAIN usernames/passwords), stonehouse (CURVE, any client key)
and ironhouse (CURVE, only clients whose certificates are on file). Each
runs with a purezmq server + purezmq ThreadAuthenticator against a libzmq
client, and with a libzmq server + pyzmq's ThreadAuthenticator against a
purezmq client, allowed and refused.
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import purezmq
import purezmq.asyncio
from purezmq.auth import (
    CURVE_ALLOW_ANY,
    Authenticator,
    create_certificates,
    load_certificate,
    load_certificates,
)
from purezmq.auth.thread import ThreadAuthenticator
from tests.helpers import mk

pytestmark = pytest.mark.timeout(30)
pytest.importorskip("zmq.auth.thread")  # also makes zmq.auth.thread an attribute
zmq = pytest.importorskip("zmq")
pytest.importorskip("nacl.bindings")

REFUSED_WAIT_MS = 300


# -- certificates ---------------------------------------------------------------------------


def test_create_and_load_certificates(tmp_path: Path) -> None:
    pub_file, sec_file = create_certificates(tmp_path, "server", metadata={"role": "broker"})
    assert pub_file == str(tmp_path / "server.key")
    assert sec_file == str(tmp_path / "server.key_secret")
    public, secret = load_certificate(sec_file)
    assert secret is not None and purezmq.curve_public(secret) == public
    assert load_certificate(pub_file) == (public, None)
    assert stat.S_IMODE(os.stat(sec_file).st_mode) == 0o600
    assert 'role = "broker"' in Path(pub_file).read_text()
    create_certificates(tmp_path, "client")
    assert set(load_certificates(tmp_path)) == {
        public,
        load_certificate(tmp_path / "client.key")[0],
    }


def test_certificates_interchange_with_pyzmq(tmp_path: Path) -> None:
    theirs_pub, theirs_sec = zmq.auth.create_certificates(tmp_path, "theirs")
    ours_pub, ours_sec = create_certificates(tmp_path, "ours")
    assert load_certificate(theirs_sec) == zmq.auth.load_certificate(theirs_sec)
    assert zmq.auth.load_certificate(ours_sec) == load_certificate(ours_sec)
    assert load_certificates(tmp_path) == zmq.auth.load_certificates(tmp_path)


def test_bad_certificates_are_named(tmp_path: Path) -> None:
    bad = tmp_path / "bad.key"
    bad.write_text("curve\n    nothing = here\n")
    with pytest.raises(ValueError, match="no public key"):
        load_certificate(bad)
    with pytest.raises(ValueError, match="invalid certificate directory"):
        load_certificates(tmp_path / "missing")


# -- the authenticator's answers, asked directly over inproc -----------------------------------


@pytest.fixture
def auth(ctx: Any) -> Iterator[ThreadAuthenticator]:
    a = ThreadAuthenticator(ctx)
    a.start()
    try:
        yield a
    finally:
        a.stop()


def ask(ctx: Any, *frames: bytes) -> list[bytes]:
    """Send a raw ZAP request to the Context's handler; return its reply."""
    req = mk(ctx, purezmq.REQ)
    req.connect("inproc://zeromq.zap.01")
    req.send_multipart(list(frames))
    reply = req.recv_multipart()
    req.close()
    return reply


def test_raw_zap_answers(ctx: Any, auth: ThreadAuthenticator) -> None:
    auth.configure_plain("*", {"admin": "secret"})
    plain = [b"1.0", b"7", b"", b"127.0.0.1", b"", b"PLAIN"]
    assert ask(ctx, *plain, b"admin", b"secret") == [b"1.0", b"7", b"200", b"OK", b"admin", b""]
    assert ask(ctx, *plain, b"admin", b"wrong")[2:5] == [
        b"400",
        b"Invalid username or password",
        b"",
    ]
    assert ask(ctx, b"2.0", b"8", b"", b"", b"", b"NULL")[:4] == [
        b"1.0",
        b"8",
        b"400",
        b"Invalid version",
    ]
    assert ask(ctx, b"1.0", b"9", b"")[:3] == [b"1.0", b"9", b"400"]
    assert ask(ctx, b"1.0", b"10", b"", b"", b"", b"GSSAPI", b"tok")[2] == b"400"
    assert ask(ctx, b"1.0", b"11", b"", b"", b"", b"NULL")[2] == b"200"


def test_allow_and_deny_are_exclusive(ctx: Any) -> None:
    a = Authenticator(ctx)
    a.allow("127.0.0.1")
    with pytest.raises(ValueError, match="mutually exclusive"):
        a.deny("10.0.0.1")


def test_gssapi_is_clearly_unsupported(ctx: Any) -> None:
    with pytest.raises(NotImplementedError, match="GSSAPI"):
        Authenticator(ctx).configure_gssapi()


def test_thread_authenticator_lifecycle(ctx: Any) -> None:
    a = ThreadAuthenticator(ctx)
    assert not a.is_alive()
    a.start()
    assert a.is_alive()
    a.stop()
    assert not a.is_alive()
    a.start()  # the ZAP endpoint was released, so it can be bound again
    a.stop()


# -- the five scenarios -----------------------------------------------------------------------


class Scenario:
    """One server socket with its authenticator (ours or libzmq's), and clients."""

    def __init__(self, ours: bool, ctx: Any, lzctx: Any) -> None:
        self.ours = ours
        self.server_ctx, self.client_ctx = (ctx, lzctx) if ours else (lzctx, ctx)
        self.auth: Any = None
        self.server = mk(self.server_ctx, zmq.PULL, rcvtimeo=2000)
        self.clients: list[Any] = []

    def start_auth(self) -> Any:
        cls = ThreadAuthenticator if self.ours else zmq.auth.thread.ThreadAuthenticator
        self.auth = cls(self.server_ctx)
        self.auth.start()
        return self.auth

    def bind(self) -> str:
        port = self.server.bind_to_random_port("tcp://127.0.0.1")
        return f"tcp://127.0.0.1:{port}"

    def client(self, **opts: Any) -> Any:
        c = mk(self.client_ctx, zmq.PUSH, **opts)
        self.clients.append(c)
        return c

    def delivered(self, client: Any, addr: str, payload: bytes = b"hi") -> Any:
        """The frame that arrived from ``client``, or None if nothing did."""
        client.connect(addr)
        try:
            client.send(payload)
        except (zmq.Again, purezmq.Again):
            # A refused handshake ends that connection for good (libzmq does not
            # reconnect after an ERROR, nor does purezmq), and its pipe with it. If
            # the refusal came first -- this thread descheduled between connect()
            # and send() under load -- there is nowhere to queue: nothing arrives.
            if self.refusing:
                return None
            raise
        if not self.server.poll(REFUSED_WAIT_MS if self.refusing else 3000):
            return None
        return self.server.recv(copy=False)

    refusing = False

    def close(self) -> None:
        if self.auth is not None:
            self.auth.stop()


@pytest.fixture(params=["purezmq-server", "libzmq-server"])
def scenario(request: Any, ctx: Any, lzctx: Any) -> Iterator[Scenario]:
    s = Scenario(request.param == "purezmq-server", ctx, lzctx)
    try:
        yield s
    finally:
        s.close()


def test_grasslands(scenario: Scenario) -> None:
    addr = scenario.bind()
    assert scenario.delivered(scenario.client(), addr).bytes == b"hi"


@pytest.mark.parametrize("allowed", [True, False])
def test_strawhouse(scenario: Scenario, allowed: bool) -> None:
    auth = scenario.start_auth()
    if allowed:
        auth.allow("127.0.0.1")
    else:
        auth.deny("127.0.0.1")
    scenario.server.zap_domain = b"global"  # NULL asks ZAP only with a domain
    scenario.refusing = not allowed
    frame = scenario.delivered(scenario.client(), scenario.bind())
    assert (frame is not None) == allowed


@pytest.mark.parametrize("password", ["secret", "wrong"])
def test_woodhouse(scenario: Scenario, password: str) -> None:
    auth = scenario.start_auth()
    auth.allow("127.0.0.1")
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    scenario.server.plain_server = True
    scenario.refusing = password != "secret"
    client = scenario.client(plain_username=b"admin", plain_password=password.encode())
    frame = scenario.delivered(client, scenario.bind())
    if password == "secret":
        assert frame.bytes == b"hi" and frame.get("User-Id") == "admin"
    else:
        assert frame is None


@pytest.mark.parametrize("right_server_key", [True, False])
def test_stonehouse(scenario: Scenario, right_server_key: bool) -> None:
    auth = scenario.start_auth()
    auth.configure_curve(domain="*", location=CURVE_ALLOW_ANY)
    spub, ssec = purezmq.curve_keypair()
    cpub, csec = purezmq.curve_keypair()
    scenario.server.curve_server = True
    scenario.server.curve_secretkey = ssec
    scenario.refusing = not right_server_key
    client = scenario.client(
        curve_publickey=cpub,
        curve_secretkey=csec,
        curve_serverkey=spub if right_server_key else purezmq.curve_keypair()[0],
    )
    frame = scenario.delivered(client, scenario.bind())
    assert (frame is not None) == right_server_key


@pytest.mark.parametrize("known_client", [True, False])
def test_ironhouse(scenario: Scenario, known_client: bool, tmp_path: Path) -> None:
    public_dir, secret_dir = tmp_path / "public", tmp_path / "private"
    public_dir.mkdir()
    secret_dir.mkdir()
    create_certificates(secret_dir, "server")
    create_certificates(secret_dir, "client")
    create_certificates(secret_dir, "stranger")
    os.replace(secret_dir / "client.key", public_dir / "client.key")
    auth = scenario.start_auth()
    auth.allow("127.0.0.1")
    auth.configure_curve(domain="*", location=str(public_dir))
    spub, ssec = load_certificate(secret_dir / "server.key_secret")
    cpub, csec = load_certificate(
        secret_dir / ("client.key_secret" if known_client else "stranger.key_secret")
    )
    scenario.server.curve_server = True
    scenario.server.curve_secretkey = ssec
    scenario.refusing = not known_client
    client = scenario.client(curve_publickey=cpub, curve_secretkey=csec, curve_serverkey=spub)
    frame = scenario.delivered(client, scenario.bind())
    if known_client:
        assert frame.bytes == b"hi" and frame.get("User-Id") == cpub.decode()
    else:
        assert frame is None


# -- CURVE callbacks, asyncio, logging ---------------------------------------------------------


class Provider:
    def __init__(self, allowed: set[bytes]) -> None:
        self.allowed = allowed
        self.asked: list[tuple[str, bytes]] = []

    def callback(self, domain: str, key: bytes) -> bool:
        self.asked.append((domain, key))
        return key in self.allowed


class AsyncProvider(Provider):
    async def callback(self, domain: str, key: bytes) -> bool:  # type: ignore[override]
        await asyncio.sleep(0)
        return super().callback(domain, key)


@pytest.mark.parametrize("provider_cls", [Provider, AsyncProvider])
def test_curve_callback(
    ctx: Any, lzctx: Any, auth: ThreadAuthenticator, provider_cls: type
) -> None:
    spub, ssec = purezmq.curve_keypair()
    good_pub, good_sec = purezmq.curve_keypair()
    bad_pub, bad_sec = purezmq.curve_keypair()
    provider = provider_cls({good_pub})
    auth.configure_curve_callback("*", credentials_provider=provider)
    server = mk(ctx, purezmq.PULL, curve_server=True, curve_secretkey=ssec)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    clients = []
    for pub, sec in ((bad_pub, bad_sec), (good_pub, good_sec)):
        c = mk(lzctx, zmq.PUSH, curve_publickey=pub, curve_secretkey=sec, curve_serverkey=spub)
        c.connect(f"tcp://127.0.0.1:{port}")
        c.send(pub)
        clients.append(c)  # keep it: pyzmq closes a collected socket
    assert server.recv() == good_pub
    assert server.poll(REFUSED_WAIT_MS) == 0
    assert sorted(k for _, k in provider.asked) == sorted([good_pub, bad_pub])


def test_asyncio_authenticator(lzctx: Any) -> None:
    from purezmq.auth.asyncio import AsyncioAuthenticator

    async def main() -> tuple[bytes, str]:
        actx = purezmq.asyncio.Context()
        auth = AsyncioAuthenticator(actx)
        auth.start()
        auth.configure_plain("*", {"admin": "secret"})
        server = actx.socket(purezmq.PULL)
        server.plain_server = True
        port = server.bind_to_random_port("tcp://127.0.0.1")
        clients = []
        for pw in (b"wrong", b"secret"):
            c = mk(lzctx, zmq.PUSH, plain_username=b"admin", plain_password=pw)
            c.connect(f"tcp://127.0.0.1:{port}")
            c.send(b"from " + pw)
            clients.append(c)
        frame = await asyncio.wait_for(server.recv(copy=False), 5)
        assert await server.poll(REFUSED_WAIT_MS) == 0
        auth.stop()
        server.close(linger=0)
        actx.term()
        return frame.bytes, frame.get("User-Id")

    assert asyncio.run(main()) == (b"from secret", "admin")


def test_ioloop_authenticator_is_a_deprecated_asyncio_one(ctx: Any) -> None:
    from purezmq.auth.asyncio import AsyncioAuthenticator
    from purezmq.auth.ioloop import IOLoopAuthenticator

    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        a = IOLoopAuthenticator(ctx)
    assert isinstance(a, AsyncioAuthenticator)
    assert any(issubclass(x.category, DeprecationWarning) for x in w)


def test_no_password_or_secret_key_is_logged(
    ctx: Any, lzctx: Any, auth: ThreadAuthenticator, caplog: Any, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    auth.configure_plain("*", {"admin": "hunter2-password"})
    server = mk(ctx, purezmq.PULL, plain_server=True)
    port = server.bind_to_random_port("tcp://127.0.0.1")
    clients = []
    for pw in (b"hunter2-password", b"wrong-hunter3"):
        c = mk(lzctx, zmq.PUSH, plain_username=b"admin", plain_password=pw)
        c.connect(f"tcp://127.0.0.1:{port}")
        c.send(b"x")
        clients.append(c)
    assert server.recv() == b"x"
    spub, ssec = purezmq.curve_keypair()
    cpub, csec = purezmq.curve_keypair()
    auth.configure_curve("*", CURVE_ALLOW_ANY)
    cserver = mk(ctx, purezmq.PULL, curve_server=True, curve_secretkey=ssec)
    port = cserver.bind_to_random_port("tcp://127.0.0.1")
    c = mk(ctx, purezmq.PUSH, curve_publickey=cpub, curve_secretkey=csec, curve_serverkey=spub)
    c.connect(f"tcp://127.0.0.1:{port}")
    c.send(b"y")
    assert cserver.recv() == b"y"
    text = caplog.text
    for secret in ("hunter2-password", "wrong-hunter3", ssec.decode(), csec.decode()):
        assert secret not in text


def test_bad_key_errors_do_not_echo_the_key(ctx: Any) -> None:
    s = mk(ctx, purezmq.PULL)
    for bad in (b'"' * 40, b"k" * 33):
        with pytest.raises(purezmq.ZMQError) as info:
            s.curve_secretkey = bad
        assert bad.decode() not in str(info.value)


def test_curve_without_pynacl_names_the_extra() -> None:
    """Without PyNaCl: has("curve") is False and CURVE options say what to install."""
    import subprocess
    import sys
    import textwrap

    program = textwrap.dedent(
        """
        import sys
        sys.modules["nacl"] = None  # as if PyNaCl were not installed
        import purezmq
        assert not purezmq.has("curve")
        s = purezmq.Context().socket(purezmq.PULL)
        for opt in ("curve_server", "curve_secretkey"):
            try:
                setattr(s, opt, 1 if opt == "curve_server" else b"k" * 32)
            except purezmq.ZMQError as e:
                print(opt, e.errno == purezmq.EINVAL, "purezmq[curve]" in str(e))
        try:
            purezmq.curve_keypair()
        except ImportError as e:
            print("keypair", "purezmq[curve]" in str(e))
        s.close(0)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=30
    )
    assert out.stdout.split("\n")[:3] == [
        "curve_server True True",
        "curve_secretkey True True",
        "keypair True",
    ], out.stderr
