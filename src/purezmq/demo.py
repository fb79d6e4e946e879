"""A tour of purezmq over localhost: REQ/REP, PUB/SUB, a pipeline, then throughput.

``python -m purezmq demo``

Everything runs in this process over ``tcp://127.0.0.1`` with OS-chosen ports,
using purezmq exactly as a pyzmq program would (``import purezmq as zmq``).
Every wait is bounded (``RCVTIMEO``/``SNDTIMEO``, ``poll`` timeouts, thread
joins with timeouts, and a watchdog for the whole run), so a bug prints an
error and a non-zero exit status instead of hanging.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import os
import queue
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

TIMEOUT_MS = 3000  # any single receive or send
WATCHDOG_S = 40.0  # the whole demo
THROUGHPUT_S = 1.0  # length of the throughput measurement
LOCALHOST = "tcp://127.0.0.1:0"


class DemoError(Exception):
    """Something did not behave as the pattern promises."""


def _say(section: str, text: str) -> None:
    print(f"[{section}] {text}", flush=True)


class _Thread(threading.Thread):
    """A daemon thread that keeps its exception for ``finish`` to re-raise."""

    def __init__(self, name: str, target: Callable[[], None]) -> None:
        super().__init__(name=name, daemon=True)
        self._fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._fn()
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = 5.0) -> None:
        """Join with a timeout; raise if the thread is stuck or failed."""
        self.join(timeout)
        if self.is_alive():
            raise DemoError(f"thread {self.name} did not finish within {timeout:g} s")
        if self.error is not None:
            raise DemoError(f"thread {self.name} failed: {_describe(self.error)}")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _term(ctx: Any, timeout: float = 5.0) -> None:
    """``ctx.term()``, but give up (and say so) if it blocks."""
    t = _Thread("context.term", ctx.term)
    t.start()
    t.finish(timeout)


def _endpoint(sock: Any, zmq: Any) -> str:
    return str(sock.getsockopt(zmq.LAST_ENDPOINT).decode())


def _recv_or_fail(sock: Any, zmq: Any, what: str) -> list[bytes]:
    """Receive one multipart message; a timeout becomes a DemoError naming ``what``."""
    try:
        return list(sock.recv_multipart())
    except zmq.Again:
        raise DemoError(f"timed out after {TIMEOUT_MS} ms waiting for {what}") from None


def _socket(ctx: Any, zmq: Any, kind: int) -> Any:
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
    sock.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
    return sock


# ---------------------------------------------------------------------------
# 1. Request/reply
# ---------------------------------------------------------------------------


def demo_reqrep(zmq: Any) -> None:
    """A REP server thread answers three requests from a REQ client."""
    s = "reqrep"
    ctx = zmq.Context()
    endpoints: queue.Queue[str] = queue.Queue()
    n_requests = 3

    def server() -> None:
        rep = _socket(ctx, zmq, zmq.REP)
        try:
            rep.bind(LOCALHOST)
            endpoints.put(_endpoint(rep, zmq))
            for _ in range(n_requests):
                [request] = _recv_or_fail(rep, zmq, "a request")
                name = request.decode().split()[-1]
                rep.send(f"hello, {name} (from {threading.current_thread().name})".encode())
        finally:
            rep.close(linger=1000)  # let the last reply go out

    thread = _Thread("rep-server", server)
    thread.start()
    try:
        endpoint = endpoints.get(timeout=TIMEOUT_MS / 1000)
    except queue.Empty:
        thread.finish(0.1)
        raise DemoError("the REP server did not bind") from None
    _say(s, f"REP server thread bound {endpoint}")
    req = _socket(ctx, zmq, zmq.REQ)
    try:
        req.connect(endpoint)
        for name in ("alice", "bob", "carol")[:n_requests]:
            request = f"hi, I am {name}"
            req.send(request.encode())
            [reply] = _recv_or_fail(req, zmq, f"the reply to {request!r}")
            _say(s, f"REQ sent {request!r:<16} -> REP replied {reply.decode()!r}")
            if name not in reply.decode():
                raise DemoError(f"reply {reply!r} does not answer {request!r}")
    finally:
        req.close(linger=0)
    thread.finish()
    _term(ctx)
    _say(s, f"OK: {n_requests} requests, each answered in turn")


# ---------------------------------------------------------------------------
# 2. Publish/subscribe
# ---------------------------------------------------------------------------

NEWS = [
    (b"weather.paris", b"18C, cloudy"),
    (b"sports.football", b"Lyon 2 - 1 Nantes"),
    (b"news.world", b"no one subscribed to this"),
    (b"weather.tokyo", b"25C, sunny"),
    (b"sports.tennis", b"6-4 6-3"),
]


def demo_pubsub(zmq: Any) -> None:
    """One publisher, two subscribers with different topic filters."""
    s = "pubsub"
    ctx = zmq.Context()
    # XPUB is a PUB that also shows us the subscriptions arriving, so we can
    # publish only once both subscribers are listening (no slow-joiner loss).
    pub = _socket(ctx, zmq, zmq.XPUB)
    subs: dict[bytes, Any] = {}
    try:
        pub.bind(LOCALHOST)
        endpoint = _endpoint(pub, zmq)
        _say(s, f"publisher bound {endpoint}")
        for topic in (b"weather.", b"sports."):
            sub = _socket(ctx, zmq, zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, topic)
            sub.connect(endpoint)
            subs[topic] = sub
        seen: set[bytes] = set()
        while len(seen) < len(subs):
            [event] = _recv_or_fail(pub, zmq, "the subscriptions to reach the publisher")
            if event[:1] == b"\x01":
                seen.add(bytes(event[1:]))
        names = ", ".join(repr(t.decode()) for t in sorted(seen))
        _say(s, f"publisher saw subscriptions {names}")
        for topic, body in NEWS:
            pub.send_multipart([topic, body])
        _say(s, f"published {len(NEWS)} messages: {', '.join(t.decode() for t, _ in NEWS)}")
        for prefix, sub in subs.items():
            expected = [(t, b) for t, b in NEWS if t.startswith(prefix)]
            got = []
            for _ in expected:
                topic, body = _recv_or_fail(sub, zmq, f"news for {prefix.decode()!r}")
                got.append((bytes(topic), bytes(body)))
            if sub.poll(200):  # anything beyond what the filter allows?
                extra = sub.recv_multipart()
                raise DemoError(f"subscriber {prefix.decode()!r} also got {extra!r}")
            shown = "; ".join(f"{t.decode()}: {b.decode()}" for t, b in got)
            _say(s, f"subscriber {prefix.decode()!r:<10} got {shown}")
            if got != expected:
                raise DemoError(f"subscriber {prefix.decode()!r} got {got!r}, not {expected!r}")
    finally:
        for sock in [pub, *subs.values()]:
            sock.close(linger=0)
    _term(ctx)
    _say(s, "OK: each subscriber got exactly its topics; 'news.world' reached no one")


# ---------------------------------------------------------------------------
# 3. Pipeline
# ---------------------------------------------------------------------------


def demo_pipeline(zmq: Any, n_tasks: int = 20, task_ms: int = 5) -> None:
    """Ventilator PUSH -> two workers (PULL, PUSH) -> sink PULL."""
    s = "pipeline"
    ctx = zmq.Context()
    stop = threading.Event()
    worker_endpoints: queue.Queue[str] = queue.Queue()
    sink = _socket(ctx, zmq, zmq.PULL)
    vent = _socket(ctx, zmq, zmq.PUSH)
    threads: list[_Thread] = []
    try:
        sink.bind(LOCALHOST)
        sink_endpoint = _endpoint(sink, zmq)

        def worker(name: str) -> None:
            tasks = _socket(ctx, zmq, zmq.PULL)
            results = _socket(ctx, zmq, zmq.PUSH)
            try:
                tasks.bind(LOCALHOST)
                results.connect(sink_endpoint)
                worker_endpoints.put(_endpoint(tasks, zmq))
                while not stop.is_set():
                    if not tasks.poll(100):
                        continue
                    [task] = tasks.recv_multipart()
                    time.sleep(task_ms / 1000)  # the "work"
                    results.send_multipart([name.encode(), task])
            finally:
                tasks.close(linger=0)
                results.close(linger=1000)

        for i in (1, 2):
            t = _Thread(f"worker-{i}", functools.partial(worker, f"worker-{i}"))
            t.start()
            threads.append(t)
        # The ventilator connects to both workers: connect creates each peer's
        # queue at once, so the round robin covers both from the first task.
        for _ in threads:
            try:
                vent.connect(worker_endpoints.get(timeout=TIMEOUT_MS / 1000))
            except queue.Empty:
                raise DemoError("a worker did not start") from None
        _say(s, f"ventilator -> 2 workers -> sink {sink_endpoint}; {n_tasks} tasks of {task_ms} ms")
        t0 = time.perf_counter()
        for task_id in range(n_tasks):
            vent.send(str(task_id).encode())
        done: dict[str, list[int]] = {}
        for _ in range(n_tasks):
            who, what = _recv_or_fail(sink, zmq, "results at the sink")
            done.setdefault(who.decode(), []).append(int(what))
        elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        for t in threads:
            t.join(2)
        vent.close(linger=0)
        sink.close(linger=0)
    for t in threads:
        t.finish()
    _term(ctx)
    for name in sorted(done):
        mine = sorted(done[name])
        _say(s, f"{name} did {len(mine):>2} tasks: {' '.join(map(str, mine))}")
    all_tasks = sorted(t for ts in done.values() for t in ts)
    if all_tasks != list(range(n_tasks)):
        raise DemoError(f"tasks done {all_tasks}, expected each of 0..{n_tasks - 1} once")
    if len(done) < 2:
        raise DemoError(f"only {', '.join(done)} got work: tasks were not load-balanced")
    serial = n_tasks * task_ms / 1000
    _say(
        s,
        f"OK: {n_tasks} results at the sink in {elapsed:.2f} s "
        f"(one worker alone needs >= {serial:.2f} s)",
    )


# ---------------------------------------------------------------------------
# 4. Throughput
# ---------------------------------------------------------------------------


def demo_throughput(zmq: Any, seconds: float = THROUGHPUT_S, size: int = 64) -> None:
    """PUSH (a thread) -> PULL (this thread), 64 B messages over tcp."""
    s = "throughput"
    ctx = zmq.Context()
    stop = threading.Event()
    pull = _socket(ctx, zmq, zmq.PULL)
    try:
        pull.bind(LOCALHOST)
        endpoint = _endpoint(pull, zmq)

        def sender() -> None:
            push = ctx.socket(zmq.PUSH)
            push.setsockopt(zmq.SNDTIMEO, 100)
            try:
                push.connect(endpoint)
                msg = b"x" * size
                while not stop.is_set():
                    try:
                        for _ in range(100):
                            push.send(msg)
                    except zmq.Again:  # queue full for 100 ms: check stop, retry
                        continue
            finally:
                push.close(linger=0)

        thread = _Thread("sender", sender)
        thread.start()
        try:
            _recv_or_fail(pull, zmq, "the first message")
            n = 0
            t0 = time.perf_counter()
            while True:
                pull.recv()
                n += 1
                if n % 1000 == 0 and time.perf_counter() - t0 >= seconds:
                    break
            elapsed = time.perf_counter() - t0
        except zmq.Again:
            raise DemoError(f"timed out after {TIMEOUT_MS} ms waiting for messages") from None
        finally:
            stop.set()
            thread.join(2)
    finally:
        pull.close(linger=0)
    thread.finish()
    _term(ctx)
    _say(
        s,
        f"PUSH -> PULL, {size} B messages over tcp: {n / elapsed:,.0f} msg/s "
        f"({n:,} messages in {elapsed:.2f} s)",
    )


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

SECTIONS: list[tuple[str, Callable[[Any], None]]] = [
    ("request/reply", demo_reqrep),
    ("publish/subscribe", demo_pubsub),
    ("pipeline", demo_pipeline),
    ("throughput", demo_throughput),
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo options to ``parser`` (shared with ``python -m purezmq``)."""
    # Hidden: run the same tour on pyzmq (``--impl zmq``) to check the demo itself.
    parser.add_argument("--impl", default="purezmq", help=argparse.SUPPRESS)


def _watchdog() -> None:
    print(f"demo: gave up after {WATCHDOG_S:g} s: a call blocked past its timeout", flush=True)
    os._exit(1)


def run_demo_args(args: argparse.Namespace) -> int:
    """Run every section; 0 if all worked, 1 otherwise."""
    try:
        zmq = importlib.import_module(args.impl)
    except Exception as exc:
        print(f"demo: cannot import {args.impl}: {_describe(exc)}", file=sys.stderr)
        return 1
    watchdog = threading.Timer(WATCHDOG_S, _watchdog)
    watchdog.daemon = True
    watchdog.start()
    version = getattr(zmq, "__purezmq_version__", None) or getattr(zmq, "__version__", "?")
    print(f"{args.impl} {version} demo, Python {sys.version.split()[0]}", flush=True)
    failed = []
    for title, section in SECTIONS:
        print(f"\n== {title} ==", flush=True)
        try:
            section(zmq)
        except Exception as exc:
            failed.append(title)
            print(f"FAILED: {title}: {_describe(exc)}", flush=True)
    watchdog.cancel()
    print()
    if failed:
        print(f"demo: {len(failed)} of {len(SECTIONS)} sections failed: {', '.join(failed)}")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)  # stuck threads or contexts must not keep the process alive
    print("demo: all sections worked", flush=True)
    return 0


def run_demo(argv: list[str] | None = None) -> int:
    """CLI entry point for the demo alone."""
    parser = argparse.ArgumentParser(prog="python -m purezmq demo", description=__doc__)
    add_arguments(parser)
    return run_demo_args(parser.parse_args(argv))
