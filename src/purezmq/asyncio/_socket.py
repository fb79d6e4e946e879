"""asyncio Socket: pyzmq's Future-returning socket over a core socket.

The public methods check their arguments and hand the operation to the
socket's ``Waiting`` (``_waiting.py``), which tries it at once and queues it
on the loop if it would block.
"""

from __future__ import annotations

import asyncio
import pickle
import types
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from purezmq import constants as C
from purezmq.asyncio._waiting import Waiting, _failed, _resolved
from purezmq.error import ZMQError
from purezmq.sugar.socket import Socket as _SyncSocket
from purezmq.sugar.socket import _out_part, _out_parts, _single_message
from purezmq.utils import jsonapi

T = TypeVar("T", bound="Socket")


class Socket(_SyncSocket["asyncio.Future[Any]"]):
    """Socket whose send/recv/poll methods return asyncio Futures (pyzmq's zmq.asyncio.Socket)."""

    __slots__ = ("_waiting",)  # read on every operation (see the base class's __slots__)
    _waiting: Waiting

    if not TYPE_CHECKING:
        # Subscriptable at runtime (``zmq.asyncio.Socket[Any]``, as code evaluating
        # annotations needs); to type checkers it is not generic, as in pyzmq.
        def __class_getitem__(cls, item):
            return types.GenericAlias(cls, item)

    def __init__(
        self,
        context: Any = None,
        socket_type: int = -1,
        io_loop: Any = None,
        _from_socket: _SyncSocket | None = None,
        **kwargs: Any,
    ) -> None:
        if isinstance(context, _SyncSocket):
            context, _from_socket = None, context
        if _from_socket is not None:
            super().__init__(shadow=_from_socket)
        else:
            if context is None:
                from purezmq.asyncio._context import Context

                context = Context.instance()
            super().__init__(context, socket_type, **kwargs)
        object.__setattr__(self, "_waiting", Waiting(self))

    @classmethod
    def from_socket(cls: type[T], socket: _SyncSocket, io_loop: Any = None) -> T:
        """An async Socket over the same core socket as ``socket`` (sync or async)."""
        return cls(_from_socket=socket)

    @classmethod
    def shadow(cls: type[T], socket: Any) -> T:
        """Like ``from_socket``: purezmq has no C pointers, so shadow a Socket object."""
        if not isinstance(socket, _SyncSocket):
            raise ZMQError(C.ENOTSUP, "purezmq can only shadow a purezmq Socket object")
        return cls(_from_socket=socket)

    # -- pyzmq's API -----------------------------------------------------------------------------

    def send(  # type: ignore[override]
        self,
        data: Any,
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        routing_id: int | None = None,
        group: str | None = None,
    ) -> asyncio.Future[Any]:
        """Send one frame; returns a Future that resolves once the message is queued."""
        try:
            if routing_id is not None or group is not None or self._core.single_part:
                msg, tracker = _single_message(
                    self._core,
                    data,
                    int(flags),
                    copy,
                    track,
                    routing_id,
                    group,
                    self.copy_threshold,
                )
                return self._waiting.send_op(msg, flags, tracker)
            tracker = None
            if type(data) is not bytes or not copy or track:
                data, tracker = _out_part(data, copy, track, self.copy_threshold)
        except Exception as e:
            return _failed(e)
        return self._waiting.send_op([data], flags, tracker)

    def send_multipart(  # type: ignore[override]
        self,
        msg_parts: Sequence[Any],
        flags: int = 0,
        copy: bool = True,
        track: bool = False,
        **kwargs: Any,
    ) -> asyncio.Future[Any]:
        """Send a sequence of frames as one message; returns a Future."""
        try:
            if self._core.single_part:
                if len(msg_parts) != 1:
                    raise ZMQError(
                        C.EINVAL, f"{self._core.type_name} sockets send single-part messages only"
                    )
                return self.send(msg_parts[0], flags, copy, track, **kwargs)
            parts, tracker = _out_parts(msg_parts, copy, track, self.copy_threshold)
            if not parts:
                raise ZMQError(C.EINVAL, "cannot send a message with no frames")
        except Exception as e:
            return _failed(e)
        return self._waiting.send_op(parts, flags, tracker)

    def recv(self, flags: int = 0, copy: bool = True, track: bool = False) -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive one frame; returns a Future (bytes, or a Frame with copy=False)."""
        return self._waiting.recv_op("recv", flags, (copy, None))

    def recv_multipart(  # type: ignore[override]
        self, flags: int = 0, copy: bool = True, track: bool = False
    ) -> asyncio.Future[Any]:
        """Receive a whole multipart message; returns a Future of the list of frames."""
        return self._waiting.recv_op("recv_multipart", flags, (copy, None))

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0, flags: int = 0) -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive a frame into ``buffer``; returns a Future of the frame's full size."""
        try:
            view = memoryview(buffer)
            if view.readonly:
                raise BufferError("recv_into needs a writable buffer")  # as pyzmq
            if not view.c_contiguous:
                raise BufferError("recv_into needs a contiguous buffer")
            view = view.cast("B")
            if nbytes < 0:
                raise ValueError(f"nbytes must be non-negative: {nbytes}")
            if nbytes > len(view):
                raise ValueError(f"nbytes={nbytes} is larger than the buffer ({len(view)})")
        except Exception as e:
            return _failed(e)
        return self._waiting.recv_op("recv_into", flags, (buffer, nbytes))

    # send_string, send_pyobj, send_json, send_serialized come from the sync Socket:
    # they call self.send / self.send_multipart and so return our Futures.

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> asyncio.Future[Any]:  # type: ignore[override]
        """Receive a frame as str; returns a Future."""
        return self._waiting.recv_op("recv", flags, (True, lambda b: b.decode(encoding)))

    recv_unicode = recv_string  # type: ignore[assignment]

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future[Any]:
        """Receive a pickled object (only from peers you trust); returns a Future."""
        return self._waiting.recv_op("recv", flags, (True, pickle.loads))

    def recv_json(self, flags: int = 0, **kwargs: Any) -> asyncio.Future[Any]:
        """Receive a JSON message; returns a Future."""
        return self._waiting.recv_op("recv", flags, (True, lambda b: jsonapi.loads(b, **kwargs)))

    def recv_serialized(
        self, deserialize: Callable[[list[Any]], Any], flags: int = 0, copy: bool = True
    ) -> asyncio.Future[Any]:
        """Receive a message and return a Future of ``deserialize(frames)``."""
        return self._waiting.recv_op("recv_multipart", flags, (copy, deserialize))

    def poll(self, timeout: int | None = None, flags: int = C.POLLIN) -> asyncio.Future[Any]:  # type: ignore[override]
        """A Future of the events (``flags`` subset) seen within ``timeout`` ms (None: forever)."""
        if self._core.closed:
            raise ZMQError(C.ENOTSOCK, "socket is closed")
        from purezmq.asyncio._poll import Poller

        p = Poller()
        p.register(self, flags)
        fut = _chain(p.poll(timeout), lambda res: dict(res).get(self, 0))
        if not fut.done():
            # close() cancels it, as pyzmq cancels a pending poll of a closed socket.
            polls: set[asyncio.Future[Any]] = self.__dict__.setdefault("_polls", set())
            polls.add(fut)
            fut.add_done_callback(polls.discard)
        return fut

    @property
    def _recv_futures(self) -> list[asyncio.Future[Any]]:
        """The pending receive and poll Futures of this object (pyzmq's attribute)."""
        pending = [op.fut for op in self._waiting.recvq if not op.fut.done()]
        return pending + [f for f in self.__dict__.get("_polls", ()) if not f.done()]

    def close(self, linger: int | None = None) -> None:
        """Close the socket; pending Futures of this object are cancelled (as pyzmq does)."""
        if not self._core.closed:
            for fut in list(self.__dict__.get("_polls", ())):
                fut.cancel()
            self._waiting.cancel_all()
        super().close(linger)


def _chain(inner: asyncio.Future[Any], fn: Callable[[Any], Any]) -> asyncio.Future[Any]:
    """A Future of ``fn(inner's result)``; cancelling it cancels ``inner``."""
    if inner.done() and not inner.cancelled():
        exc = inner.exception()
        if exc is not None:
            return inner
        try:
            return _resolved(fn(inner.result()))
        except Exception as e:
            return _failed(e)
    outer: asyncio.Future[Any] = inner.get_loop().create_future()

    def on_inner(f: asyncio.Future[Any]) -> None:
        if outer.done():
            return
        if f.cancelled():
            outer.cancel()
            return
        exc = f.exception()
        if exc is not None:
            outer.set_exception(exc)
            return
        try:
            outer.set_result(fn(f.result()))
        except Exception as e:
            outer.set_exception(e)

    def on_outer(f: asyncio.Future[Any]) -> None:
        if f.cancelled() and not inner.done():
            inner.cancel()

    inner.add_done_callback(on_inner)
    outer.add_done_callback(on_outer)
    return outer
