"""ZAP client: one connection's request to the Context's ZAP handler (RFC 27).

Rules this module keeps (libzmq 4.3's behaviour, checked against it):

- The handler is whatever socket of the same Context is bound at
  ``inproc://zeromq.zap.01`` (REP or ROUTER, as libzmq requires). Each
  request gets its own inproc pipe to it, made on the engine's loop thread
  and dropped once the reply is in: the handler sees a peer that sends one
  request, as a libzmq session's ZAP pipe looks to it.
- The request is ``["", "1.0", request id, domain, address, identity,
  mechanism, *credentials]``: the empty delimiter makes a REP handler happy
  and a ROUTER handler sees it after the routing id. ``identity`` is the
  *local* socket's ROUTING_ID, which is what libzmq puts there.
- The reply arrives on the handler's thread; it only posts to the engine's
  loop (``Reactor.call``), so waiting blocks neither the loop nor any other
  connection. A malformed reply (wrong version or request id, too few
  frames, a bad status code) fails that handshake as a protocol error with
  libzmq's ``PROTOCOL_ERROR_ZAP_*`` value; a handler that goes away with the
  request pending fails it too.
- Status 300 (temporary failure) sends no ERROR, as in libzmq, but closes
  the connection where libzmq leaves it open and idle: the client then
  reconnects after RECONNECT_IVL and is asked about again, which is what
  "temporary" asks for. 400/500 send ERROR and close, as libzmq does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from purezmq import constants as C
from purezmq.core.pipe import Pipe
from purezmq.transport.inproc import InprocPeer

if TYPE_CHECKING:
    from purezmq.core.pipe import Msg
    from purezmq.core.socketbase import SocketBase
    from purezmq.runtime.iothread import Reactor
    from purezmq.zmtp import ZapRequest

#: The inproc name a ZAP handler binds (RFC 27).
ZAP_ENDPOINT = "zeromq.zap.01"
ZAP_VERSION = b"1.0"

_request_ids = itertools.count(1)

#: ``on_reply(status_code, status_text, user_id, metadata)``
ReplyCallback = Callable[[int, bytes, bytes, bytes], None]
#: ``on_error(protocol_error_event_value, reason)``
ErrorCallback = Callable[[int, str], None]


def find_handler(sock: SocketBase) -> SocketBase | None:
    """The socket bound at inproc://zeromq.zap.01 in ``sock``'s Context, if any."""
    registry = getattr(sock.ctx, "_inproc", None)
    if registry is None:
        return None
    with registry.lock:
        return registry.bound.get(ZAP_ENDPOINT)


class ZapClient:
    """One pending ZAP request; quacks like the socket end of an inproc pipe.

    The handler socket's pipe calls ``post_read_activated`` (reply queued),
    ``post_write_activated`` and ``post_terminated`` (handler closed) on the
    pipe's ``sock``, which is this object; each hops to the engine's loop.
    """

    def __init__(
        self,
        reactor: Reactor,
        handler: SocketBase,
        on_reply: ReplyCallback,
        on_error: ErrorCallback,
    ) -> None:
        self.reactor = reactor
        self.handler = handler
        self.on_reply = on_reply
        self.on_error = on_error
        self.request_id = b"%d" % next(_request_ids)
        self.done = False
        # Our end: nothing is read until the handler kicks, so start inactive.
        self.pipe = Pipe(self, out_hwm=0, in_hwm=0, endpoint="inproc://" + ZAP_ENDPOINT)  # type: ignore[arg-type]
        self.pipe.in_active = False
        self.far = Pipe(handler, inq=self.pipe.outq, outq=self.pipe.inq, out_hwm=0, in_hwm=0)
        self.far.endpoint = self.pipe.endpoint
        self.pipe.inproc_peer, self.far.inproc_peer = self.far, self.pipe
        self.pipe.peer = InprocPeer(self.far)
        self.far.peer = InprocPeer(self.pipe)
        self.far.metadata = {"Socket-Type": "DEALER", "Peer-Address": "", "User-Id": ""}

    def send(self, req: ZapRequest, address: str, identity: bytes) -> None:
        """Queue the request and hand the handler its pipe (loop thread)."""
        frames = [
            b"",
            ZAP_VERSION,
            self.request_id,
            req.domain.encode(),
            address.encode(),
            identity,
            req.mechanism,
            *req.credentials,
        ]
        self.pipe.outq.append(frames)
        self.handler.post_attach(self.far)

    def cancel(self) -> None:
        """The connection went away first: drop the pipe, ignore any reply."""
        if not self.done:
            self.done = True
            self.handler.post_terminated(self.far)

    # -- the PipePeer side of ``self.far`` calls these (handler's thread) -------------------

    def post_read_activated(self, pipe: Pipe) -> None:
        self.reactor.call(self._on_readable)

    def post_write_activated(self, pipe: Pipe) -> None:
        """Our queue has no HWM: nothing waits for room."""

    def post_terminated(self, pipe: Pipe) -> None:
        pipe.dead = True
        self.reactor.call(self._on_handler_gone)

    # -- loop thread --------------------------------------------------------------------

    def _on_readable(self) -> None:
        pipe = self.pipe
        pipe.in_posted = False
        if self.done:
            return
        msg = pipe.read()
        if msg is None:
            return
        self.done = True
        self.handler.post_terminated(self.far)
        self._parse(msg)

    def _on_handler_gone(self) -> None:
        if self.done:
            return
        msg = self.pipe.read()  # a reply may have been queued just before the close
        self.done = True
        if msg is not None:
            self._parse(msg)
        else:
            self.on_error(C.PROTOCOL_ERROR_ZAP_UNSPECIFIED, "the ZAP handler closed")

    def _parse(self, msg: Msg) -> None:
        frames = [bytes(f) for f in msg]
        if len(frames) != 7 or frames[0] != b"":
            self.on_error(
                C.PROTOCOL_ERROR_ZAP_MALFORMED_REPLY,
                f"malformed ZAP reply: {len(frames)} frames, expected 7 starting with an empty one",
            )
            return
        _, version, request_id, status, text, user_id, metadata = frames
        if version != ZAP_VERSION:
            self.on_error(C.PROTOCOL_ERROR_ZAP_BAD_VERSION, f"ZAP reply version {version!r}")
            return
        if request_id != self.request_id:
            self.on_error(
                C.PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID,
                f"ZAP reply for request {request_id!r}, expected {self.request_id!r}",
            )
            return
        if status not in (b"200", b"300", b"400", b"500"):
            self.on_error(
                C.PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE, f"ZAP reply status code {status!r}"
            )
            return
        self.on_reply(int(status), text, user_id, metadata)
