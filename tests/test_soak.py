"""A long soak: mixed REQ/REP, PUSH/PULL and PUB/SUB traffic against libzmq.

Not part of the default run (``-m "not soak"`` in pyproject.toml); run it with

    PUREZMQ_SOAK_SECONDS=600 python -m pytest -p no:cacheprovider -m soak -s tests/test_soak.py

Six flows run at once for ``PUREZMQ_SOAK_SECONDS`` (default 600), each
between a purezmq socket in a thread of this process (one Context, so one
I/O thread serves them all) and a pyzmq (libzmq) socket in a child process,
in both directions:

- REQ/REP: purezmq REQ -> libzmq REP, and libzmq REQ -> purezmq REP. Every
  request gets its own reply (a missing one is a RCVTIMEO failure).
- PUSH/PULL: purezmq PUSH -> libzmq PULL and libzmq PUSH -> purezmq PULL,
  numbered multipart messages of 0-2 KiB; the receivers stall now and then
  so the senders block at SNDHWM. Every message arrives, in order.
- PUB/SUB: purezmq PUB -> libzmq SUB and libzmq PUB -> purezmq SUB, after a
  sync step, at about 10,000 messages/s with HWMs of 100,000 so that nothing
  should drop; gaps are counted (and must be zero).

Meanwhile this process's RSS and open-fd count are sampled; at the end the
figures are printed (``-s``) for README.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from helpers import mk

import purezmq

pytest.importorskip("zmq")

SOAK_SECONDS = float(os.environ.get("PUREZMQ_SOAK_SECONDS", "600"))
TIMEOUT_MS = 10_000  # RCVTIMEO / SNDTIMEO: a stuck flow fails instead of hanging
STALL_EVERY = 20_000  # the pipeline receivers pause every this many messages...
STALL_S = 0.05  # ...for this long, so the senders hit SNDHWM and block
PUB_BURST = 100  # the publishers send this many, then sleep 10 ms
HWM_PUBSUB = 100_000

pytestmark = [pytest.mark.soak, pytest.mark.timeout(SOAK_SECONDS + 180)]

# The libzmq side of every flow. argv: role, endpoint. Binders print {"endpoint": ...}
# first. A stdin line "synced" ends a publisher's probing; "stop" ends the flow; the
# last line is the child's counts as JSON.
CHILD = """
    import json, sys, threading, time, zmq
    role, endpoint = sys.argv[1:3]
    STALL_EVERY, STALL_S, PUB_BURST, HWM = (int(sys.argv[3]), float(sys.argv[4]),
                                            int(sys.argv[5]), int(sys.argv[6]))
    ctx = zmq.Context()
    stop, synced = threading.Event(), threading.Event()

    def watch():
        for line in sys.stdin:
            {"stop": stop, "synced": synced}.get(line.strip(), stop).set()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()

    def sock(kind, **opts):
        s = ctx.socket(kind)
        s.linger = 0
        s.rcvtimeo = s.sndtimeo = 10000
        for k, v in opts.items():
            setattr(s, k, v)
        if endpoint.endswith(":0"):
            s.bind(endpoint)
            print(json.dumps({"endpoint": s.last_endpoint.decode()}), flush=True)
        else:
            s.connect(endpoint)
        return s

    out = {}
    if role == "rep":
        s = sock(zmq.REP)
        n = 0
        while not stop.is_set():
            if s.poll(100):
                s.send_multipart(s.recv_multipart())
                n += 1
        out = {"served": n}
    elif role == "req":
        s = sock(zmq.REQ)
        n = bad = 0
        try:
            while not stop.is_set():
                req = [b"%d" % n, b"r" * (n % 300)]
                s.send_multipart(req)
                if s.recv_multipart() != req:
                    bad += 1
                n += 1
            out = {"rt": n, "bad": bad, "timeout": False}
        except zmq.Again:
            out = {"rt": n, "bad": bad, "timeout": True}
    elif role == "pull":
        s = sock(zmq.PULL)
        n = gaps = stalls = 0
        try:
            while True:
                m = s.recv_multipart()
                if m == [b"END"]:
                    break
                if int(m[0]) != n or len(m[1]) != n * 7 % 2048:
                    gaps += 1
                    n = int(m[0])
                n += 1
                if n % STALL_EVERY == 0:
                    time.sleep(STALL_S)
                    stalls += 1
            out = {"n": n, "gaps": gaps, "stalls": stalls, "timeout": False}
        except zmq.Again:
            out = {"n": n, "gaps": gaps, "stalls": stalls, "timeout": True}
    elif role == "push":
        s = sock(zmq.PUSH)
        n = 0
        try:
            while not stop.is_set():
                s.send_multipart([b"%d" % n, b"p" * (n * 7 % 2048)])
                n += 1
            s.send(b"END")
            out = {"sent": n, "timeout": False}
        except zmq.Again:
            out = {"sent": n, "timeout": True}
    elif role == "sub":
        s = sock(zmq.SUB, rcvhwm=HWM)
        s.subscribe(b"")
        while s.recv_multipart()[0] != b"probe":
            pass
        print(json.dumps({"synced": True}), flush=True)
        n = missing = disorder = 0
        try:
            while True:
                m = s.recv_multipart()
                if m[0] == b"END":
                    break
                if m[0] == b"probe":
                    continue
                k = int(m[0])
                if k > n:
                    missing += k - n
                elif k < n:
                    disorder += 1
                n = k + 1
            out = {"n": n, "missing": missing, "disorder": disorder, "timeout": False}
        except zmq.Again:
            out = {"n": n, "missing": missing, "disorder": disorder, "timeout": True}
    elif role == "pub":
        s = sock(zmq.PUB, sndhwm=HWM)
        while not synced.is_set() and not stop.is_set():
            s.send(b"probe")
            time.sleep(0.01)
        n = 0
        while not stop.is_set():
            for _ in range(PUB_BURST):
                s.send_multipart([b"%d" % n, b"s" * (n % 512)])
                n += 1
            time.sleep(0.01)
        for _ in range(100):
            s.send(b"END")
            time.sleep(0.01)
        out = {"sent": n}
    print(json.dumps(out), flush=True)
"""


# SIGKILL the child when its parent goes (PR_SET_PDEATHSIG): no orphans, even from a killed run.
PRELUDE = "import ctypes; ctypes.CDLL(None).prctl(1, 9)\n"


class Child:
    """One libzmq peer (``CHILD`` in its role)."""

    def __init__(self, role: str, endpoint: str) -> None:
        env = dict(os.environ)
        env.pop("PYTHONPATH", None)  # pyzmq, nothing of ours
        args = [str(STALL_EVERY), str(STALL_S), str(PUB_BURST), str(HWM_PUBSUB)]
        self.role = role
        self.proc = subprocess.Popen(
            [sys.executable, "-c", PRELUDE + textwrap.dedent(CHILD), role, endpoint, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )

    def json(self) -> Any:
        """The child's next line, parsed (readline blocks: the child always answers, or
        dies, within its own 10 s socket timeouts; the test's timeout bounds the rest)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line, f"{self.role} child exited ({self.proc.poll()})"
        return json.loads(line)

    def tell(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Flow(threading.Thread):
    """The purezmq side of one flow, in its own thread (its socket is made there)."""

    def __init__(self, name: str, body: Callable[[threading.Event], dict[str, Any]]) -> None:
        super().__init__(name=name, daemon=True)
        self.body = body
        self.stop = threading.Event()
        self.result: dict[str, Any] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self.body(self.stop)
        except BaseException as e:  # reported by the main thread
            self.error = e
            self.stop.set()


def test_soak_mixed_traffic_against_libzmq(ctx: purezmq.Context) -> None:
    kids: list[Child] = []

    def child(role: str, endpoint: str = "tcp://127.0.0.1:0") -> Child:
        k = Child(role, endpoint)
        kids.append(k)
        return k

    try:
        # -- the libzmq ends that bind, and the purezmq ends that bind ----------------
        rep_kid, pull_kid, push_kid, pub_kid = (child(r) for r in ("rep", "pull", "push", "pub"))
        ep = {k.role: k.json()["endpoint"] for k in (rep_kid, pull_kid, push_kid, pub_kid)}
        rep = mk(ctx, purezmq.REP, timeout=TIMEOUT_MS)
        rep.bind("tcp://127.0.0.1:0")
        pub = mk(ctx, purezmq.PUB, timeout=TIMEOUT_MS, sndhwm=HWM_PUBSUB)
        pub.bind("tcp://127.0.0.1:0")
        req_kid = child("req", rep.last_endpoint.decode())
        sub_kid = child("sub", pub.last_endpoint.decode())

        # -- the purezmq side of each flow ------------------------------------------------
        def req_flow(stop: threading.Event) -> dict[str, Any]:
            s = mk(ctx, purezmq.REQ, timeout=TIMEOUT_MS)
            s.connect(ep["rep"])
            n = 0
            while not stop.is_set():
                msg = [b"%d" % n, b"q" * (n % 300)]
                s.send_multipart(msg)
                assert s.recv_multipart() == msg, n
                n += 1
            s.close()
            return {"rt": n}

        def rep_flow(stop: threading.Event) -> dict[str, Any]:
            n = 0
            while not stop.is_set():
                if rep.poll(100):
                    rep.send_multipart(rep.recv_multipart())
                    n += 1
            return {"served": n}

        def push_flow(stop: threading.Event) -> dict[str, Any]:
            s = mk(ctx, purezmq.PUSH, timeout=TIMEOUT_MS)
            s.connect(ep["pull"])
            n = blocked = 0
            while not stop.is_set():
                msg = [b"%d" % n, b"p" * (n * 7 % 2048)]
                try:
                    s.send_multipart(msg, purezmq.NOBLOCK)
                except purezmq.Again:
                    blocked += 1  # at SNDHWM: now wait, SNDTIMEO-bounded
                    s.send_multipart(msg)
                n += 1
            s.send(b"END")
            s.close(linger=TIMEOUT_MS)
            return {"sent": n, "blocked": blocked}

        def pull_flow(stop: threading.Event) -> dict[str, Any]:
            s = mk(ctx, purezmq.PULL, timeout=TIMEOUT_MS)
            s.connect(ep["push"])
            n = 0
            while True:
                m = s.recv_multipart()
                if m == [b"END"]:
                    break
                assert int(m[0]) == n and len(m[1]) == n * 7 % 2048, (n, m[0])
                n += 1
                if n % STALL_EVERY == 0:
                    time.sleep(STALL_S)
            s.close()
            return {"n": n}

        def pub_flow(stop: threading.Event) -> dict[str, Any]:
            deadline = time.monotonic() + 15
            while not sub_synced.is_set():  # probes until the libzmq SUB has one
                assert time.monotonic() < deadline, "the libzmq SUB never synced"
                pub.send(b"probe")
                time.sleep(0.01)
            n = 0
            while not stop.is_set():
                for _ in range(PUB_BURST):
                    pub.send_multipart([b"%d" % n, b"s" * (n % 512)])
                    n += 1
                time.sleep(0.01)
            for _ in range(20):
                pub.send(b"END")
            return {"sent": n}

        def sub_flow(stop: threading.Event) -> dict[str, Any]:
            s = mk(ctx, purezmq.SUB, timeout=TIMEOUT_MS, rcvhwm=HWM_PUBSUB)
            s.subscribe(b"")
            s.connect(ep["pub"])
            while s.recv_multipart()[0] != b"probe":
                pass
            pub_kid.tell("synced")
            n = missing = disorder = 0
            while True:
                m = s.recv_multipart()
                if m[0] == b"END":
                    break
                if m[0] == b"probe":
                    continue
                k = int(m[0])
                if k > n:
                    missing += k - n
                elif k < n:
                    disorder += 1
                n = k + 1
            s.close()
            return {"n": n, "missing": missing, "disorder": disorder}

        sub_synced = threading.Event()
        flows = {
            "req->rep": Flow("req", req_flow),
            "rep<-req": Flow("rep", rep_flow),
            "push->pull": Flow("push", push_flow),
            "pull<-push": Flow("pull", pull_flow),
            "pub->sub": Flow("pub", pub_flow),
            "sub<-pub": Flow("sub", sub_flow),
        }
        for f in flows.values():
            f.start()
        assert sub_kid.json() == {"synced": True}
        sub_synced.set()

        # -- run, sampling this process ----------------------------------------------------
        t0 = time.monotonic()
        samples = [(0.0, _rss(), _fds())]
        while (now := time.monotonic() - t0) < SOAK_SECONDS:
            time.sleep(min(10.0, SOAK_SECONDS - now))
            samples.append((time.monotonic() - t0, _rss(), _fds()))
            broken = [n for n, f in flows.items() if f.error is not None]
            assert not broken, f"{broken} failed: {[flows[n].error for n in broken]!r}"

        # -- stop: the purezmq senders first, then tell the children ----------------------
        for name in ("req->rep", "push->pull", "pub->sub"):
            flows[name].stop.set()
            flows[name].join(30)
        for k in (req_kid, push_kid, pub_kid, rep_kid):
            k.tell("stop")
        theirs = {k.role: k.json() for k in (req_kid, push_kid, pub_kid, pull_kid, sub_kid)}
        flows["rep<-req"].stop.set()
        theirs["rep"] = rep_kid.json()
        for f in flows.values():
            f.join(30)
            assert not f.is_alive(), f"{f.name} never finished"
        errors = {n: f.error for n, f in flows.items() if f.error is not None}
        assert not errors, errors
        ours = {n: f.result for n, f in flows.items()}
        elapsed = time.monotonic() - t0
    finally:
        for k in kids:
            k.kill()

    rss = [s[1] for s in samples]
    fds = [s[2] for s in samples]
    warm = next((s for s in samples if s[0] >= min(60.0, SOAK_SECONDS / 2)), samples[-1])
    report = {
        "seconds": round(elapsed, 1),
        "ours": ours,
        "theirs": theirs,
        "rss_kib": {
            "start": rss[0] >> 10,
            "warm": warm[1] >> 10,
            "end": rss[-1] >> 10,
            "max": max(rss) >> 10,
        },
        "rss_kib_every_minute": [x >> 10 for x in rss[::6]],
        "fds": {"start": fds[0], "end": fds[-1], "min": min(fds), "max": max(fds)},
    }
    print("\n[soak] " + json.dumps(report))

    # REQ/REP: every request answered, both ways (each side stops between round trips).
    assert ours["req->rep"]["rt"] == theirs["rep"]["served"], (ours, theirs)
    assert theirs["req"] == {"rt": theirs["req"]["rt"], "bad": 0, "timeout": False}
    assert ours["rep<-req"]["served"] == theirs["req"]["rt"], (ours, theirs)
    # PUSH/PULL: every message, in order.
    assert theirs["pull"]["gaps"] == 0 and not theirs["pull"]["timeout"], theirs["pull"]
    assert theirs["pull"]["n"] == ours["push->pull"]["sent"], (ours, theirs)
    assert not theirs["push"]["timeout"] and ours["pull<-push"]["n"] == theirs["push"]["sent"]
    # PUB/SUB: with the HWMs this high and this rate, nothing may drop.
    assert theirs["sub"] == {
        "n": ours["pub->sub"]["sent"],
        "missing": 0,
        "disorder": 0,
        "timeout": False,
    }, (ours["pub->sub"], theirs["sub"])
    assert ours["sub<-pub"] == {"n": theirs["pub"]["sent"], "missing": 0, "disorder": 0}
    # Resources: no fd leak, RSS flat after warming up.
    assert set(fds) == {fds[0]}, fds
    assert rss[-1] - warm[1] < 32 * 1024 * 1024, (warm[1], rss[-1])
