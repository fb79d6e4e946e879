"""purezmq.decorators: @context and @socket give a function fresh objects for each call."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import purezmq
from purezmq.decorators import context, socket


def test_context_is_appended_and_termed_after_the_call() -> None:
    seen: list[purezmq.Context] = []

    @context()
    def f(a: int, ctx: purezmq.Context) -> int:
        assert not ctx.closed
        seen.append(ctx)
        return a * 2

    assert f(21) == 42
    assert seen[0].closed
    assert f.__name__ == "f"  # functools.wraps


def test_context_by_keyword_and_its_arguments() -> None:
    @context("c", io_threads=2)
    def positional_name(c: purezmq.Context) -> int:
        return int(c.io_threads)

    @context(name="c")
    def keyword_name(*, c: purezmq.Context) -> bool:
        return isinstance(c, purezmq.Context)

    assert positional_name() == 2
    assert keyword_name()


def test_named_argument_given_twice_is_a_type_error() -> None:
    @context(name="ctx")
    def f(ctx: Any = None) -> None:
        raise AssertionError("not called")

    with pytest.raises(TypeError, match="multiple values"):
        f(ctx="mine")


def test_sockets_nest_under_their_context_and_close_on_return() -> None:
    kept: dict[str, Any] = {}

    @context()
    @socket(purezmq.PUSH)
    @socket("pull", purezmq.PULL)
    def f(ctx: purezmq.Context, push: purezmq.Socket, *, pull: purezmq.Socket) -> bytes:
        assert push.context is ctx and pull.context is ctx
        assert (push.type, pull.type) == (purezmq.PUSH, purezmq.PULL)
        pull.bind("inproc://decorated")
        push.connect("inproc://decorated")
        push.send(b"hi")
        pull.rcvtimeo = 2000
        kept.update(ctx=ctx, push=push, pull=pull)
        return pull.recv()

    assert f() == b"hi"
    assert kept["push"].closed and kept["pull"].closed and kept["ctx"].closed


def test_sockets_close_when_the_function_raises() -> None:
    kept: list[purezmq.Socket] = []

    @socket(purezmq.PAIR)
    def f(s: purezmq.Socket) -> None:
        kept.append(s)
        raise KeyError("boom")

    with pytest.raises(KeyError):
        f()
    assert kept[0].closed


def test_socket_uses_the_context_keyword_or_the_instance(ctx: purezmq.Context) -> None:
    @socket(purezmq.PUB, name="pub", context_name="c")
    def f(*, c: Any = None, pub: purezmq.Socket) -> Any:
        return pub.context

    assert f(c=ctx) is ctx
    try:
        assert f() is purezmq.Context.instance()
    finally:
        purezmq.Context.instance().term()


def test_socket_options_pass_through_and_a_missing_type_is_a_type_error(
    ctx: purezmq.Context,
) -> None:
    @socket("s")
    def no_type(ctx: purezmq.Context, s: Any) -> None:
        raise AssertionError("not called")

    with pytest.raises(TypeError):
        no_type(ctx)


def test_methods_and_threads_get_their_own_objects() -> None:
    class Worker:
        @context()
        @socket(purezmq.DEALER)
        def run(self, ctx: purezmq.Context, dealer: purezmq.Socket) -> tuple[int, int]:
            assert isinstance(self, Worker)
            return id(ctx), id(dealer)

    results: list[tuple[int, int]] = []
    lock = threading.Lock()
    objs: list[Any] = []

    @context()
    def keep(ctx: purezmq.Context) -> None:
        with lock:
            objs.append(ctx)  # keep them alive so ids are not reused

    def work() -> None:
        r = Worker().run()
        keep()
        with lock:
            results.append(r)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 4
    assert len(objs) == 4 and len({id(c) for c in objs}) == 4
