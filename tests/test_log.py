"""purezmq.log: PUBHandler, TopicLogger and the log watcher (``python -m purezmq.log``).

Most tests publish on an XPUB socket: its ``recv()`` returns once a
subscription has arrived, so no record is sent before a subscriber can get it
(no sleeps). Interop: pyzmq's PUBHandler read by our watcher, ours read by
libzmq SUBs and by pyzmq's own watcher.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import purezmq
from purezmq.log import handlers
from purezmq.log.__main__ import Printer
from purezmq.log.handlers import TOPIC_DELIM, PUBHandler, TopicLogger
from tests.helpers import held_port, mk

SRC = str(Path(__file__).resolve().parent.parent / "src")


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"purezmq-test.{request.node.name}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)


def xpub_pair(ctx: Any, *subscriptions: bytes, kind: Any = purezmq) -> tuple[Any, Any]:
    """An XPUB (for the handler) and a SUB connected to it over tcp, the subscriptions
    having reached the XPUB."""
    xpub = ctx.socket(kind.XPUB)
    sub = ctx.socket(kind.SUB)
    for s in (xpub, sub):
        s.linger = 0
        s.rcvtimeo = 10000
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    sub.connect(f"tcp://127.0.0.1:{port}")
    for topic in subscriptions:
        sub.subscribe(topic)
        assert xpub.recv() == b"\x01" + topic
    return xpub, sub


def test_records_become_topic_and_text(ctx: purezmq.Context, logger: logging.Logger) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    handler = PUBHandler(xpub)
    assert handler.socket is xpub and handler.ctx is ctx
    logger.addHandler(handler)
    logger.info("hello %s", "world")
    assert sub.recv_multipart() == [b"INFO", b"hello world\n"]
    logger.warning("careful")
    topic, text = sub.recv_multipart()
    assert topic == b"WARNING"
    assert text.startswith(b"WARNING test_log.py:") and text.endswith(b" - careful\n")


def test_root_topic_and_subtopics(ctx: purezmq.Context, logger: logging.Logger) -> None:
    xpub, sub = xpub_pair(ctx, b"app.ERROR", b"app.INFO.db")
    handler = PUBHandler(xpub, root_topic="app")
    logger.addHandler(handler)
    logger.debug("filtered out by the subscriptions")
    logger.info("no subtopic: filtered out too")
    logger.info(f"db.pool{TOPIC_DELIM}pool %d exhausted", 3)
    logger.error("bad")
    assert sub.recv_multipart() == [b"app.INFO.db.pool", b"pool 3 exhausted\n"]
    topic, text = sub.recv_multipart()
    assert topic == b"app.ERROR" and b" - bad - None\n" in text
    handler.root_topic = b"other"  # bytes are decoded
    assert handler.root_topic == "other"
    handler.setRootTopic("")
    logger.error("no root")
    xpub2, sub2 = xpub_pair(ctx, b"ERROR")
    handler.socket = xpub2
    logger.error("now")
    assert sub2.recv_multipart()[0] == b"ERROR"


def test_subtopic_does_not_change_the_record_for_other_handlers(
    ctx: purezmq.Context, logger: logging.Logger
) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger.addHandler(PUBHandler(xpub))
    logger.addHandler(Keep())
    logger.info("t.u::msg")
    assert sub.recv_multipart() == [b"INFO.t.u", b"msg\n"]
    assert seen == ["t.u::msg"]


def test_unicode_and_non_string_messages(ctx: purezmq.Context, logger: logging.Logger) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    logger.addHandler(PUBHandler(xpub))

    class Thing:
        def __str__(self) -> str:
            return "thïng::wörld"

    logger.info("héllo")
    logger.info(Thing())
    assert sub.recv_multipart() == [b"INFO", "héllo\n".encode()]
    assert sub.recv_multipart() == ["INFO.thïng".encode(), "wörld\n".encode()]


def test_formatters_per_level_and_for_all(ctx: purezmq.Context, logger: logging.Logger) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    handler = PUBHandler(xpub)
    logger.addHandler(handler)
    handler.setFormatter(logging.Formatter("D:%(message)s"), logging.DEBUG)
    handler.formatters[logging.INFO] = logging.Formatter("I:%(message)s")
    logger.debug("a")
    logger.info("b")
    logger.warning("c")
    assert sub.recv_multipart()[1] == b"D:a"
    assert sub.recv_multipart()[1] == b"I:b"
    assert sub.recv_multipart()[1].startswith(b"WARNING ")
    handler.setFormatter(logging.Formatter("all:%(levelname)s:%(message)s"))
    logger.debug("d")
    logger.critical("e")
    assert sub.recv_multipart()[1] == b"all:DEBUG:d"
    assert sub.recv_multipart()[1] == b"all:CRITICAL:e"


def test_custom_level_uses_the_formatter_below_it(
    ctx: purezmq.Context, logger: logging.Logger
) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    logger.addHandler(PUBHandler(xpub))
    logger.log(25, "between info and warning")
    assert sub.recv_multipart() == [b"Level 25", b"between info and warning\n"]


def test_a_failing_send_goes_to_handle_error(
    ctx: purezmq.Context, logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    pub = mk(ctx, purezmq.PUB)
    handler = PUBHandler(pub)
    logger.addHandler(handler)
    errors: list[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pub.close()
    logger.info("socket is closed")  # must not raise into the caller
    assert [r.msg for r in errors] == ["socket is closed"]


def test_from_context_and_endpoint(ctx: purezmq.Context, logger: logging.Logger) -> None:
    handler = PUBHandler("inproc://purezmq-log", ctx)
    assert handler.ctx is ctx and handler.socket.type == purezmq.PUB
    sub = mk(ctx, purezmq.SUB, timeout=10000)
    sub.subscribe(b"")
    sub.connect("inproc://purezmq-log")  # inproc: subscribed once connected
    logger.addHandler(handler)
    logger.info("inproc")
    assert sub.recv_multipart() == [b"INFO", b"inproc\n"]
    handler.close()
    assert handler.socket.closed and not ctx.closed  # the context is the caller's


def test_from_endpoint_alone_owns_its_context(logger: logging.Logger) -> None:
    lz = pytest.importorskip("zmq")
    handler = PUBHandler("tcp://127.0.0.1:*")
    own_ctx = handler.ctx
    assert isinstance(own_ctx, purezmq.Context)
    endpoint = handler.socket.last_endpoint.decode()
    logger.addHandler(handler)
    lzctx = lz.Context()
    sub = lzctx.socket(lz.SUB)
    sub.linger = 0
    sub.subscribe(b"INFO")
    sub.connect(endpoint)
    try:
        # A PUB cannot tell when the subscription arrives: repeat until one gets through.
        got = None
        deadline = time.monotonic() + 20
        while got is None and time.monotonic() < deadline:
            logger.info("probe")
            if sub.poll(100):
                got = sub.recv_multipart()
        assert got == [b"INFO", b"probe\n"]
    finally:
        sub.close()
        lzctx.term()
    handler.close()
    assert handler.socket.closed and own_ctx.closed


def test_topic_logger(ctx: purezmq.Context) -> None:
    xpub, sub = xpub_pair(ctx, b"")
    log = TopicLogger("purezmq-test-topiclogger")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    handler = PUBHandler(xpub, root_topic="svc")
    log.addHandler(handler)
    try:
        log.log(logging.INFO, "a.b", "hello %s", "you")
        log.debug("d", "dbg")
        log.info("i", "inf")
        log.warning("w", "wrn")
        log.error("e", "err")
        log.critical("c", "crit")
        assert sub.recv_multipart() == [b"svc.INFO.a.b", b"hello you\n"]
        topics = [sub.recv_multipart()[0] for _ in range(5)]
        assert topics == [
            b"svc.DEBUG.d",
            b"svc.INFO.i",
            b"svc.WARNING.w",
            b"svc.ERROR.e",
            b"svc.CRITICAL.c",
        ]
        # The record names the caller, not the wrapper.
        records: list[logging.LogRecord] = []

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                records.append(record)

        log.addHandler(Keep())
        log.warning("x", "where")
        log.log(logging.ERROR, "x", "where")
        assert [r.filename for r in records] == ["test_log.py", "test_log.py"]
        assert records[0].getMessage() == f"x{TOPIC_DELIM}where"
    finally:
        log.handlers.clear()


# -- the watcher ------------------------------------------------------------------------


def test_printer_lines() -> None:
    p = Printer()
    assert p.line([b"app.INFO", b"hello\n"]) == "app.INFO | hello"
    assert p.line([b"only"]) == " | only"
    colored = Printer(colors={"ERROR": "<R>"}, reset="</R>", separator=": ")
    assert colored.line([b"x.ERROR.y", b"bad"]) == "<R>x.ERROR.y: bad</R>"
    assert colored.line([b"x.INFO", b"ok"]) == "x.INFO: ok"
    aligned = Printer(align=True)
    assert aligned.line([b"app.WARNING", b"a"]) == "app.WARNING | a"
    assert aligned.line([b"app.INFO.db", b"b"]) == "app.INFO   .db | b"
    assert aligned.line([b"x.INFO", b"c"]) == "x  .INFO   .   | c"
    stamped = Printer(timestamp=True, dateformat="[%Y]")
    assert stamped.line([b"t", b"m"]).startswith(f"[{time.localtime().tm_year}] t | m")


def _env(install: bool = False, tmp: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    paths = [SRC]
    if install:
        assert tmp is not None
        (tmp / "sitecustomize.py").write_text("import purezmq\npurezmq.install_as_zmq()\n")
        paths.insert(0, str(tmp))
    env["PYTHONPATH"] = os.pathsep.join(paths + [env.get("PYTHONPATH", "")])
    return env


class Lines:
    """A subprocess's stdout, read by a thread, with bounded waits for lines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait(self, n: int, timeout: float = 20) -> list[str]:
        with self.cond:
            self.cond.wait_for(lambda: len(self.lines) >= n, timeout)
            return list(self.lines)


def _watch(
    args: list[str], env: dict[str, str], module: str = "purezmq.log"
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


@pytest.mark.parametrize("module", ["purezmq.log", "zmq.log"])
def test_watcher_prints_records(
    module: str, ctx: purezmq.Context, logger: logging.Logger, tmp_path: Path
) -> None:
    """``python -m purezmq.log``, and ``python -m zmq.log`` with install_as_zmq() in
    sitecustomize (``-n`` only exists in ours, so the run proves which one ran)."""
    xpub = mk(ctx, purezmq.XPUB, timeout=20000)
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    env = _env(install=module == "zmq.log", tmp=tmp_path)
    proc = _watch(["-n", "2", "-t", "app", f"tcp://127.0.0.1:{port}"], env, module)
    try:
        assert xpub.recv() == b"\x01app"  # the watcher subscribed
        handler = PUBHandler(xpub, root_topic="app")
        logger.addHandler(handler)
        logger.info("first")
        logger.warning(f"disk{TOPIC_DELIM}almost full")
        out, err = proc.communicate(timeout=30)
    finally:
        _stop(proc)
    assert proc.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "app.INFO | first"
    assert lines[1].startswith("app.WARNING.disk | WARNING test_log.py:")
    assert lines[1].endswith(" - almost full")


def test_watcher_reads_a_libzmq_pubhandler(tmp_path: Path) -> None:
    """pyzmq's own PUBHandler (libzmq) -> our watcher, with --bind."""
    lz = pytest.importorskip("zmq")
    lz_handlers = pytest.importorskip("zmq.log.handlers")
    if lz.__name__ != "zmq" or not hasattr(lz, "backend"):
        pytest.skip("pyzmq is not importable as zmq here")
    port = held_port()
    proc = _watch(["--bind", "-n", "1", "--separator", " :: ", f"tcp://127.0.0.1:{port}"], _env())
    lzctx = lz.Context()
    pub = lzctx.socket(lz.PUB)
    pub.linger = 0
    log = logging.getLogger("purezmq-test-libzmq-handler")
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        pub.connect(f"tcp://127.0.0.1:{port}")
        log.addHandler(lz_handlers.PUBHandler(pub))
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            log.info("from libzmq")  # repeated: a PUB cannot tell when the SUB has joined
            try:
                proc.wait(0.1)
            except subprocess.TimeoutExpired:
                pass
        out, err = proc.communicate(timeout=10)
    finally:
        log.handlers.clear()
        _stop(proc)
        pub.close()
        lzctx.term()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["INFO :: from libzmq"]


def test_our_pubhandler_read_by_pyzmq_watcher(ctx: purezmq.Context, logger: logging.Logger) -> None:
    """Our PUBHandler -> pyzmq's ``python -m zmq.log`` (libzmq SUB), which runs until killed."""
    lz = pytest.importorskip("zmq")
    if not hasattr(lz, "backend"):
        pytest.skip("pyzmq is not importable as zmq here")
    xpub = mk(ctx, purezmq.XPUB, timeout=20000)
    port = xpub.bind_to_random_port("tcp://127.0.0.1")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("PYTHONPATH", None)  # pyzmq's zmq, not ours
    proc = _watch([f"tcp://127.0.0.1:{port}"], env, "zmq.log")
    try:
        assert xpub.recv() == b"\x01"  # its '' subscription
        logger.addHandler(PUBHandler(xpub, root_topic="ours"))
        logger.info("to libzmq")
        logger.error(f"sub{TOPIC_DELIM}oops")
        lines = Lines(proc).wait(2)
    finally:
        _stop(proc)
    assert lines[0] == "ours.INFO | to libzmq"
    assert lines[1].startswith("ours.ERROR.sub | ERROR test_log.py:") and "oops" in lines[1]


def test_watcher_bad_endpoint_exits_nonzero() -> None:
    proc = _watch(["nonsense://x"], _env())
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "cannot connect nonsense://x" in err


def test_handlers_module_names() -> None:
    assert handlers.TOPIC_DELIM == "::"
    assert set(handlers.__all__) == {"TOPIC_DELIM", "PUBHandler", "TopicLogger"}


def test_records_from_many_threads_all_arrive(ctx: purezmq.Context, logger: logging.Logger) -> None:
    """The handler's lock serialises sends, so one socket serves every thread's records."""
    xpub, sub = xpub_pair(ctx, b"")
    logger.addHandler(PUBHandler(xpub))

    def work(n: int) -> None:
        for i in range(50):
            logger.info("t%d-%d", n, i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    got = {sub.recv_multipart()[1] for _ in range(200)}
    assert got == {f"t{n}-{i}\n".encode() for n in range(4) for i in range(50)}
