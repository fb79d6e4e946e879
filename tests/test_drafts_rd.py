"""RADIO/DISH (tcp, udp unicast and multicast) and DGRAM, against purezmq and
libzmq 4.3.5 with drafts (npm's zeromq 6, driven by tests/drafts_rd_peer.js)."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import purezmq as zmq

HERE = Path(__file__).resolve().parent
PEER_JS = HERE / "drafts_rd_peer.js"
N = 50


# -- the node peer (the shared zeromq_dir fixture, conftest.py, installs it once) ----------


class Peer:
    """A running drafts_rd_peer.js; its stdout lines in a queue."""

    def __init__(self, mods: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            ["node", str(PEER_JS), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, NODE_PATH=str(mods)),
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("EOF")

    def line(self, timeout: float = 20) -> str:
        line = self.lines.get(timeout=timeout)
        assert not line.startswith(("ERROR", "EOF")), line
        return line

    def ready(self) -> str:
        line = self.line()
        assert line.startswith("READY "), line
        return line.split(" ", 1)[1]

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


def free_udp_port() -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return int(port)


def dish_collect(dish: Any, count: int, group: str = "g", tries: int = 400) -> set[bytes]:
    """Receive until ``count`` distinct bodies came; every frame must be in ``group``."""
    seen: set[bytes] = set()
    dish.rcvtimeo = 100
    for _ in range(tries * 10):
        try:
            f = dish.recv(copy=False)
        except zmq.Again:
            tries -= 1
            if tries <= 0:
                break
            continue
        assert f.group == group, f"message of group {f.group!r} reached the DISH"
        seen.add(f.bytes)
        if len(seen) == count:
            break
    return seen


def radio_until(radio: Any, done: Any, seconds: float = 20.0) -> None:
    """Send rounds of N messages in "g" (and in "other") until ``done()``.

    Bounded by time, not by a count of rounds: over udp a round the peer is not
    scheduled for is dropped by its kernel (as with libzmq), and under load 400
    rounds once went by before the node process ran at all. ``done`` waits a
    little for the peer's output, which paces the rounds.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for i in range(N):
            radio.send(b"x%d" % i, group="other")
            radio.send(b"m%d" % i, group="g")
        if done():
            return
    raise AssertionError(f"the peer did not receive every message in {seconds:g} s")


def link(ctx: Any, transport: str) -> tuple[Any, Any]:
    """A DISH bound on ``transport`` that joined "g", and a RADIO connected to it."""
    dish = ctx.socket(zmq.DISH)
    dish.bind(f"{transport}://127.0.0.1:*")
    dish.join("g")
    radio = ctx.socket(zmq.RADIO)
    radio.connect(dish.last_endpoint.decode())
    return radio, dish


def sync(radio: Any, dish: Any, group: str = "g") -> None:
    """Send until the DISH hears something: joins have reached the RADIO."""
    dish.rcvtimeo = 50
    for _ in range(400):
        radio.send(b"sync", group=group)
        try:
            dish.recv()
            break
        except zmq.Again:
            continue
    else:
        raise AssertionError("DISH never heard the RADIO")
    dish.rcvtimeo = 20
    while True:  # drain the other sync messages
        try:
            dish.recv()
        except zmq.Again:
            break


# -- purezmq to purezmq --------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_pure_radio_dish_groups(ctx: Any, transport: str) -> None:
    radio, dish = link(ctx, transport)
    sync(radio, dish)
    for i in range(N):
        radio.send(b"x%d" % i, group="other")  # not joined: filtered out
        radio.send(b"m%d" % i, group="g")
    got = [dish.recv(copy=False) for _ in range(N)] if transport == "tcp" else None
    if got is not None:
        assert [f.bytes for f in got] == [b"m%d" % i for i in range(N)]
        assert {f.group for f in got} == {"g"}
    else:  # udp may drop, in principle; on loopback it does not
        assert dish_collect(dish, N) == {b"m%d" % i for i in range(N)}


def test_inproc_radio_dish(ctx: Any) -> None:
    dish = ctx.socket(zmq.DISH)
    dish.bind("inproc://rd")
    dish.join("g")
    radio = ctx.socket(zmq.RADIO)
    radio.connect("inproc://rd")
    sync(radio, dish)
    radio.send(b"no", group="h")
    radio.send(b"yes", group="g")
    dish.rcvtimeo = 2000
    f = dish.recv(copy=False)
    assert (f.bytes, f.group) == (b"yes", "g")


@pytest.mark.parametrize("nodrop", [0, 1])
def test_radio_at_hwm(ctx: Any, nodrop: int) -> None:
    """A DISH that does not read: by default the RADIO drops for it and never
    blocks; with XPUB_NODROP (libzmq's radio_t honours it) the send is EAGAIN,
    and what was queued arrives whole and in order."""
    dish = ctx.socket(zmq.DISH)
    dish.rcvhwm = 10
    dish.bind("inproc://rd-hwm")
    dish.join("g")
    radio = ctx.socket(zmq.RADIO)
    radio.sndhwm = 10
    radio.setsockopt(zmq.XPUB_NODROP, nodrop)
    radio.connect("inproc://rd-hwm")
    sync(radio, dish)
    sent = 0
    for i in range(200):
        try:
            radio.send(b"%d" % i, group="g", flags=zmq.NOBLOCK)
        except zmq.Again:
            assert nodrop, "a lossy RADIO never says EAGAIN"
            break
        sent = i + 1
        radio.send(b"x", group="not-joined", flags=zmq.NOBLOCK)  # nobody: never EAGAIN
    if nodrop:
        assert 0 < sent < 200
        with pytest.raises(zmq.Again):
            radio.send(b"more", group="g", flags=zmq.NOBLOCK)
    else:
        assert sent == 200
    dish.rcvtimeo = 200
    got = []
    while True:
        try:
            got.append(dish.recv())
        except zmq.Again:
            break
    assert got == [b"%d" % i for i in range(len(got))]  # a prefix: nothing reordered
    assert len(got) == sent if nodrop else 0 < len(got) < 200


def test_xpub_nodrop_is_a_radio_option_only_among_drafts(ctx: Any) -> None:
    with pytest.raises(zmq.ZMQError):
        ctx.socket(zmq.DISH).setsockopt(zmq.XPUB_NODROP, 1)


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_join_leave(ctx: Any, transport: str) -> None:
    radio, dish = link(ctx, transport)
    sync(radio, dish)
    dish.join("h")
    sync(radio, dish, "h")
    dish.leave("g")
    # After leave() returns, "g" never comes out of the DISH again, whether or
    # not the RADIO heard the LEAVE yet (the DISH filters too).
    dish.rcvtimeo = 50
    for _ in range(400):
        radio.send(b"late", group="g")
        radio.send(b"end", group="h")
        try:
            f = dish.recv(copy=False)
        except zmq.Again:
            continue
        assert (f.bytes, f.group) == (b"end", "h")
        break
    else:
        raise AssertionError("nothing in group h arrived")
    if transport == "tcp":  # the RADIO itself forgets the dish's membership
        for _ in range(200):
            radio.send(b"probe", group="h")  # runs the RADIO's mailbox
            if b"g" not in radio._core.groups:
                break
            dish.recv()
        assert b"g" not in radio._core.groups
    dish.join("g")  # join again after leave is fine
    sync(radio, dish)


def test_bad_input(ctx: Any) -> None:
    radio = ctx.socket(zmq.RADIO)
    dish = ctx.socket(zmq.DISH)
    big = "x" * 256
    with pytest.raises(zmq.ZMQError) as e:
        radio.send(b"body", group=big)
    assert e.value.errno == zmq.EINVAL
    radio.send(b"body", group="x" * 255)  # 255 octets is the limit, and fine
    with pytest.raises(zmq.ZMQError) as e:
        dish.join(big)
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        dish.join("é" * 128)  # 256 octets in utf-8
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        radio.send(b"a", zmq.SNDMORE, group="g")
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        radio.send_multipart([b"a", b"b"], group="g")
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        dish.send(b"a")
    assert e.value.errno == zmq.ENOTSUP
    with pytest.raises(zmq.ZMQError) as e:
        radio.recv(zmq.NOBLOCK)
    assert e.value.errno == zmq.ENOTSUP
    dish.join("g")
    with pytest.raises(zmq.ZMQError) as e:
        dish.join("g")
    assert e.value.errno == zmq.EINVAL
    with pytest.raises(zmq.ZMQError) as e:
        dish.leave("never")
    assert e.value.errno == zmq.EINVAL
    push = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        push.send(b"a", group="g")
    assert e.value.errno == zmq.ENOTSUP
    with pytest.raises(zmq.ZMQError) as e:
        push.join("g")
    assert e.value.errno == zmq.ENOTSUP
    for sock, how in ((radio, "bind"), (dish, "connect"), (push, "bind"), (push, "connect")):
        with pytest.raises(zmq.ZMQError) as e:
            getattr(sock, how)("udp://127.0.0.1:5555")
        assert e.value.errno == zmq.ENOCOMPATPROTO


def test_send_without_group_is_group_empty(ctx: Any) -> None:
    """As libzmq: a message without a group is in group "" (a DISH may join "")."""
    radio, dish = link(ctx, "tcp")
    dish.join("")
    sync(radio, dish)
    radio.send(b"nogroup")
    dish.rcvtimeo = 2000
    f = dish.recv(copy=False)
    assert (f.bytes, f.group) == (b"nogroup", "")
    frame = zmq.Frame(b"framed")
    frame.group = "g"
    radio.send(frame)  # the Frame's group is used
    f = dish.recv(copy=False)
    assert (f.bytes, f.group) == (b"framed", "g")


def test_udp_bad_datagrams_dropped(ctx: Any) -> None:
    dish = ctx.socket(zmq.DISH)
    dish.bind("udp://127.0.0.1:*")
    dish.join("g")
    port = int(dish.last_endpoint.decode().rsplit(":", 1)[1])
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        dish.rcvtimeo = 50
        for _ in range(200):
            for bad in (b"", b"\x09g", b"\xffshort"):
                raw.sendto(bad, ("127.0.0.1", port))
            raw.sendto(b"\x01gbody", ("127.0.0.1", port))
            try:
                f = dish.recv(copy=False)
            except zmq.Again:
                continue
            assert (f.bytes, f.group) == (b"body", "g")
            break
        else:
            raise AssertionError("the good datagram never arrived")
    finally:
        raw.close()


def test_multicast_options(ctx: Any) -> None:
    radio = ctx.socket(zmq.RADIO)
    radio.multicast_hops = 7
    radio.multicast_loop = 0
    assert radio.multicast_hops == 7
    radio.connect("udp://127.0.0.1;239.0.0.1:5555")
    engine = radio._core.endpoints["udp://127.0.0.1;239.0.0.1:5555"][0]
    s = engine.os_sock
    assert s.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL) == 7
    assert s.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP) == 0
    ifaddr = s.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4)
    assert socket.inet_ntoa(ifaddr) == "127.0.0.1"


def test_udp_multicast_loopback(ctx: Any) -> None:
    dishes = []
    port: int | str = "*"  # the OS picks it for the first; the second shares it
    try:
        for _ in range(2):  # two dishes on one multicast group and port
            d = ctx.socket(zmq.DISH)
            d.bind(f"udp://127.0.0.1;239.0.0.1:{port}")
            port = int(d.last_endpoint.decode().rsplit(":", 1)[1])
            d.join("g")
            dishes.append(d)
    except zmq.ZMQError as e:
        pytest.skip(f"this kernel refuses a multicast join on loopback: {e}")
    radio = ctx.socket(zmq.RADIO)
    radio.multicast_loop = 1
    radio.connect(f"udp://127.0.0.1;239.0.0.1:{port}")
    heard = [False, False]
    for _ in range(100):
        radio.send(b"mc", group="g")
        radio.send(b"not", group="h")
        for i, d in enumerate(dishes):
            try:
                f = d.recv(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                continue
            assert f.group == "g"
            heard[i] = True
        if all(heard):
            break
        threading.Event().wait(0.02)
    if not any(heard):
        pytest.skip("multicast on loopback is not routed here (no route for 239.0.0.0/8 via lo)")
    assert all(heard), "only one of two dishes on the group heard the radio"


def _ipv6_multicast_interface() -> str | None:
    """An interface with IPv6 and multicast (from /proc/net/if_inet6), if any."""
    try:
        names = {line.split()[-1] for line in Path("/proc/net/if_inet6").read_text().splitlines()}
    except OSError:
        return None
    for name in sorted(names - {"lo"}):  # lo carries no multicast on Linux
        try:
            flags = int(Path(f"/sys/class/net/{name}/flags").read_text(), 16)
        except (OSError, ValueError):
            continue
        if flags & 0x1000 and flags & 0x1:  # IFF_MULTICAST, IFF_UP
            return name
    return None


@pytest.mark.parametrize("group", ["ff02::4242", "ff12::4243"])
def test_udp_ipv6_multicast(ctx: Any, group: str) -> None:
    """RADIO -> DISH over an IPv6 link-local multicast group (``udp://IFACE;[GROUP]:PORT``),
    with a group the DISH did not join filtered out."""
    iface = _ipv6_multicast_interface()
    if iface is None:
        pytest.skip("no IPv6 multicast interface here")
    probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    probe.bind(("::", 0))
    port = probe.getsockname()[1]
    probe.close()
    ep = f"udp://{iface};[{group}]:{port}"
    dish = ctx.socket(zmq.DISH)
    try:
        dish.bind(ep)
    except zmq.ZMQError as e:
        pytest.skip(f"this kernel refuses an IPv6 multicast join on {iface}: {e}")
    assert dish.last_endpoint.decode() == ep
    dish.join("g")
    radio = ctx.socket(zmq.RADIO)
    radio.multicast_loop = 1
    radio.connect(ep)
    got: list[Any] = []
    for i in range(200):
        radio.send(b"no", group="h")
        radio.send(b"%d" % i, group="g")
        while True:
            try:
                got.append(dish.recv(zmq.NOBLOCK, copy=False))
            except zmq.Again:
                break
        if len(got) >= N:
            break
        threading.Event().wait(0.005)
    if not got:
        pytest.skip(f"IPv6 multicast is not looped back on {iface} here")
    assert {f.group for f in got} == {"g"}
    assert len(got) >= N


def test_dgram_pure(ctx: Any) -> None:
    a = ctx.socket(zmq.DGRAM)
    a.bind("udp://127.0.0.1:*")
    b = ctx.socket(zmq.DGRAM)
    b.bind("udp://127.0.0.1:*")
    b.rcvtimeo = a.rcvtimeo = 5000
    baddr = b.last_endpoint.decode()[len("udp://") :].encode()
    a.send(baddr, zmq.SNDMORE)
    a.send(b"ping")
    addr, body = b.recv_multipart()
    assert body == b"ping"
    b.send_multipart([addr, b"pong"])
    assert a.recv_multipart()[1] == b"pong"
    with pytest.raises(zmq.ZMQError) as e:
        a.send(b"single part")
    assert e.value.errno == zmq.EINVAL


# -- thread safety -------------------------------------------------------------------------


def test_concurrent_senders_and_receivers(ctx: Any) -> None:
    radio, dish = link(ctx, "tcp")
    sync(radio, dish)
    threads, per = 4, 200
    errors: list[BaseException] = []

    def send(t: int) -> None:
        try:
            for i in range(per):
                radio.send(b"%d-%d" % (t, i), group="g")
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    got: list[bytes] = []
    lock = threading.Lock()

    def recv() -> None:
        try:
            while True:
                try:
                    f = dish.recv(copy=False)
                except zmq.Again:
                    return
                with lock:
                    got.append(f.bytes)
                    if len(got) == threads * per:
                        return
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    dish.rcvtimeo = 3000
    receivers = [threading.Thread(target=recv) for _ in range(2)]
    senders = [threading.Thread(target=send, args=(t,)) for t in range(threads)]
    for th in receivers + senders:
        th.start()
    for th in senders + receivers:
        th.join(45)
    assert not errors, errors
    assert sorted(got) == sorted(b"%d-%d" % (t, i) for t in range(threads) for i in range(per))
    # each sender's messages stay in order
    for t in range(threads):
        mine = [m for m in got if m.startswith(b"%d-" % t)]
        assert len(mine) == per


# -- interop with libzmq (node zeromq 6) ----------------------------------------------------


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_node_radio_to_pure_dish_we_bind(ctx: Any, zeromq_dir: Path, transport: str) -> None:
    dish = ctx.socket(zmq.DISH)
    dish.bind(f"{transport}://127.0.0.1:*")
    dish.join("g")
    peer = Peer(zeromq_dir, "radio", "connect", dish.last_endpoint.decode(), "g", str(N))
    try:
        peer.ready()
        assert dish_collect(dish, N) == {b"m%d" % i for i in range(N)}
    finally:
        peer.kill()


def test_node_radio_binds_pure_dish_connects(ctx: Any, zeromq_dir: Path) -> None:
    peer = Peer(zeromq_dir, "radio", "bind", "tcp://127.0.0.1:*", "g", str(N))
    try:
        ep = peer.ready()
        dish = ctx.socket(zmq.DISH)
        dish.connect(ep)
        dish.join("g")
        assert dish_collect(dish, N) == {b"m%d" % i for i in range(N)}
    finally:
        peer.kill()


def _node_dish_hears(peer: Peer) -> Any:
    seen: set[str] = set()

    def done() -> bool:
        wait = 0.02  # for the first line only: then take what is there
        while True:
            try:
                line = peer.lines.get(timeout=wait)
            except queue.Empty:
                return False
            wait = 0
            assert not line.startswith(("ERROR", "EOF")), line
            if line == "DONE":
                return True
            group, _, body = line.partition(" ")
            assert group == "g", f"the node DISH got a message of group {group!r}"
            seen.add(body)

    return done


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_pure_radio_to_node_dish_they_bind(ctx: Any, zeromq_dir: Path, transport: str) -> None:
    ep = "tcp://127.0.0.1:*" if transport == "tcp" else f"udp://127.0.0.1:{free_udp_port()}"
    peer = Peer(zeromq_dir, "dish", "bind", ep, "g", str(N))
    try:
        shown = peer.ready()
        if transport == "tcp":  # (for udp, libzmq's LAST_ENDPOINT has no "udp://")
            ep = shown
        radio = ctx.socket(zmq.RADIO)
        radio.connect(ep)
        radio_until(radio, _node_dish_hears(peer))
    finally:
        peer.kill()


def test_pure_radio_binds_node_dish_connects(ctx: Any, zeromq_dir: Path) -> None:
    radio = ctx.socket(zmq.RADIO)
    radio.bind("tcp://127.0.0.1:*")
    peer = Peer(zeromq_dir, "dish", "connect", radio.last_endpoint.decode(), "g", str(N))
    try:
        peer.ready()
        radio_until(radio, _node_dish_hears(peer))
    finally:
        peer.kill()


def test_node_dgram_echo(ctx: Any, zeromq_dir: Path) -> None:
    port = free_udp_port()
    peer = Peer(zeromq_dir, "dgram", "bind", f"udp://127.0.0.1:{port}")
    try:
        peer.ready()
        d = ctx.socket(zmq.DGRAM)
        d.bind("udp://127.0.0.1:*")
        d.rcvtimeo = 100
        want = {b"d%d" % i for i in range(N)}
        got: set[bytes] = set()
        for _ in range(100):
            for body in sorted(want - got):
                d.send_multipart([b"127.0.0.1:%d" % port, body])
            try:
                while True:
                    addr, body = d.recv_multipart()
                    assert addr == b"127.0.0.1:%d" % port
                    got.add(body)
            except zmq.Again:
                pass
            if got == want:
                break
        assert got == want
    finally:
        peer.kill()
