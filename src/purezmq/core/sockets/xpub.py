"""XPUB: a publisher that shows its subscriptions to the application (RFC 29).

Subscriptions arrive from subscribers as messages (``\\x01topic`` /
``\\x00topic``) and are applied at once; the application receives the ones
that change the overall set (all of them with XPUB_VERBOSE for subscribes,
XPUB_VERBOSER for cancels too). XPUB_MANUAL hands every subscription to the
application, which decides with SUBSCRIBE/UNSUBSCRIBE on the socket.
Published messages go to matching subscribers; a full subscriber drops the
message, or with XPUB_NODROP the send waits (EAGAIN when non-blocking).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import Distributor
from purezmq.core.trie import Subscriptions


class XPub(SocketBase):
    """Publisher with subscription messages visible to the application."""

    type = C.XPUB
    type_name = "XPUB"
    # PUB reuses all of XPUB but hides subscriptions from the application.
    shows_subscriptions = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.dist = Distributor()
        self.subs = Subscriptions(counted=False)
        self.pending: deque[tuple[Msg, Pipe | None]] = deque()
        self.manual_pipe: Pipe | None = None

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.dist.attach(pipe)
        welcome = self.options.xpub_welcome_msg
        if welcome and pipe.writable():
            pipe.write([welcome])
        self.xread_activated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        opts = self.options
        show = self.shows_subscriptions
        while (msg := pipe.read()) is not None:
            data = msg[0] if msg else b""
            if len(msg) == 1 and len(data) and data[0] in (0, 1):
                topic = bytes(data[1:])
                if opts.xpub_manual and show:
                    self.pending.append(([bytes(data)], pipe))
                    continue
                if data[0] == 1:
                    tell = self.subs.add(topic, pipe) or opts.xpub_verbose or opts.xpub_verboser
                else:
                    tell = self.subs.remove(topic, pipe) or opts.xpub_verboser
                if tell and show:
                    self.pending.append(([bytes(data)], pipe))
            elif show:
                self.pending.append((msg, pipe))  # a user message from an XSUB

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.dist.terminated(pipe)
        gone = self.subs.remove_all(pipe)
        if self.shows_subscriptions and not self.options.xpub_manual:
            for topic in gone:
                self.pending.append(([b"\x00" + topic], None))
        if self.manual_pipe is pipe:
            self.manual_pipe = None

    def _targets(self, topic: Any) -> set[Any]:
        matched = self.subs.match(topic)
        if self.options.invert_matching:
            return {p for p in self.dist.pipes if p not in matched}
        return matched

    def xsend(self, msg: Msg) -> bool:
        targets = self._targets(msg[0])
        if self.options.xpub_nodrop and not self.dist.all_writable(targets):
            return False
        self.dist.send_to(targets, msg)
        return True

    def xrecv(self) -> Msg | None:
        if not self.pending:
            return None
        msg, pipe = self.pending.popleft()
        if pipe is not None:
            self.manual_pipe = pipe
            self.last_pipe = pipe
        return msg

    def xhas_in(self) -> bool:
        return bool(self.pending)

    def xhas_out(self) -> bool:
        if self.options.xpub_nodrop:
            return self.dist.all_writable(self.dist.pipes)
        return True

    def xsetsockopt(self, opt: int, value: Any) -> bool:
        if opt in (C.SUBSCRIBE, C.UNSUBSCRIBE) and self.options.xpub_manual:
            topic = value.encode() if isinstance(value, str) else bytes(value)
            if self.manual_pipe is not None:
                if opt == C.SUBSCRIBE:
                    self.subs.add(topic, self.manual_pipe)
                else:
                    self.subs.remove(topic, self.manual_pipe)
            return True
        return False
