"""pyzmq's ``zmq.decorators``: give a function a Context or a socket for the call.

``@context(...)`` makes a fresh :class:`~purezmq.Context` for each call and
terms it when the function returns; ``@socket(TYPE, ...)`` opens a socket for
each call and closes it on return (or on an exception). They nest, innermost
socket last::

    @context()
    @socket(zmq.PUSH)
    @socket(zmq.PULL)
    def work(ctx, push, pull):
        ...

How the object reaches the function:

- With a name -- a leading string argument (``@socket("out", zmq.PUSH)``) or
  ``name="out"`` -- it is passed as that keyword argument; a call that already
  gives that keyword is a ``TypeError`` (as Python says for a duplicate
  argument).
- Without one, it is appended to the positional arguments of the call.

Other arguments go to ``Context(...)`` or ``ctx.socket(...)``. A socket is made
from the Context found in the call's arguments: the keyword ``context_name``
(default ``"context"``) if that is a Context, else the first Context passed
positionally (which is where an outer ``@context()`` put its own), else
:meth:`Context.instance`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["context", "socket"]

F = TypeVar("F", bound=Callable[..., Any])


def _split_name(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[str | None, tuple[Any, ...]]:
    """Take the keyword name out of the decorator's arguments (``kwargs`` is changed)."""
    if isinstance(kwargs.get("name"), str):
        return kwargs.pop("name"), args
    if args and isinstance(args[0], str):
        return args[0], args[1:]
    return None, args


def _decorate(
    make: Callable[[tuple[Any, ...], dict[str, Any]], Any], name: str | None
) -> Callable[[F], F]:
    """A decorator that opens ``make(call_args, call_kwargs)`` as a context manager
    around each call and hands the object to the function."""

    def decorator(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name is not None and name in kwargs:
                raise TypeError(f"{func.__name__}() got multiple values for argument {name!r}")
            with make(args, kwargs) as obj:
                if name is None:
                    args = (*args, obj)
                else:
                    kwargs[name] = obj
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def context(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Decorator: call the function with a new Context, termed when it returns.

    ``@context()`` appends the Context to the positional arguments;
    ``@context("ctx")`` or ``@context(name="ctx")`` passes it as keyword
    ``ctx``. Remaining arguments go to ``Context(...)``
    (``@context(io_threads=2)``).
    """
    from purezmq.sugar.context import Context

    name, ctx_args = _split_name(args, kwargs)

    def make(call_args: tuple[Any, ...], call_kwargs: dict[str, Any]) -> Any:
        return Context(*ctx_args, **kwargs)

    return _decorate(make, name)


def socket(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """Decorator: call the function with a new socket, closed when it returns.

    ``@socket(zmq.PUSH)`` appends the socket to the positional arguments;
    ``@socket("push", zmq.PUSH)`` or ``@socket(zmq.PUSH, name="push")`` passes
    it as keyword ``push``. ``context_name="ctx"`` names the keyword argument
    that may carry the Context to use (default ``"context"``). Remaining
    arguments go to ``ctx.socket(...)``; leaving out the socket type is a
    ``TypeError`` at call time, as ``ctx.socket()`` is.
    """
    from purezmq.sugar.context import Context

    context_name = kwargs.pop("context_name", "context")
    name, sock_args = _split_name(args, kwargs)

    def find_context(call_args: tuple[Any, ...], call_kwargs: dict[str, Any]) -> Any:
        given = call_kwargs.get(context_name)
        if isinstance(given, Context):
            return given
        for arg in call_args:
            if isinstance(arg, Context):
                return arg
        return Context.instance()

    def make(call_args: tuple[Any, ...], call_kwargs: dict[str, Any]) -> Any:
        return find_context(call_args, call_kwargs).socket(*sock_args, **kwargs)

    return _decorate(make, name)
