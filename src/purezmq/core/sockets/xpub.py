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
from collections.abc import Collection
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
    fans_out_wire = True

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
        show = self.shows_subscriptions
        while (msg := pipe.read()) is not None:
            data = msg[0] if msg else b""
            if len(msg) == 1:
                if len(data) and data[0] in (0, 1):
                    self._subscription(data, pipe)
                elif show:
                    self.pending.append((msg, pipe))  # a user message from an XSUB
            else:
                self._multipart(msg, pipe)

    def _subscription(self, data: Any, pipe: Pipe) -> None:
        """Apply a subscription or cancel from ``pipe``; queue it for the application."""
        if self._apply(data, pipe):
            self.pending.append(([bytes(data)], pipe))

    def _apply(self, data: Any, pipe: Pipe) -> bool:
        """Apply a subscription or cancel; should the application see it? (when it
        changes the set, always with XPUB_VERBOSE/VERBOSER, and with XPUB_MANUAL,
        which leaves the applying to the application)"""
        opts = self.options
        show = self.shows_subscriptions
        if opts.xpub_manual and show:
            return True
        topic = bytes(data[1:])
        if data[0] == 1:
            changed = self.subs.add(topic, pipe)
            return show and bool(changed or opts.xpub_verbose or opts.xpub_verboser)
        changed = self.subs.remove(topic, pipe)
        return show and bool(changed or opts.xpub_verboser)

    def _multipart(self, msg: Msg, pipe: Pipe) -> None:
        """libzmq looks at every frame of a multipart message from an XSUB: those that
        start with 1 or 0 are subscriptions, the others user data; with
        ONLY_FIRST_SUBSCRIBE only the first frame, and when it is neither, the
        frames after it are user data whatever they start with. The application
        reads the frames in order as libzmq hands them over: a subscription it is
        told of ends a message, user frames keep their MORE flag."""
        frames: list[tuple[Any, bool]] = []  # (frame, more)
        process = True
        last = len(msg) - 1
        for i, part in enumerate(msg):
            is_sub = process and len(part) > 0 and part[0] in (0, 1)
            if i == 0 and self.options.only_first_subscribe:
                process = is_sub
            if is_sub:
                if self._apply(part, pipe):
                    frames.append((bytes(part), False))
            else:
                frames.append((part, i != last))
        if not self.shows_subscriptions:
            return
        out: list[Any] = []
        for part, more in frames:
            out.append(part)
            if not more:
                self.pending.append((out, pipe))
                out = []
        if out:
            self.pending.append((out, pipe))

    def topics_count(self) -> int:
        """TOPICS_COUNT: distinct prefixes the subscribers asked for."""
        return len(self.subs)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.dist.terminated(pipe)
        gone = self.subs.remove_all(pipe)
        if self.shows_subscriptions and not self.options.xpub_manual:
            for topic in gone:
                self.pending.append(([b"\x00" + topic], None))
        if self.manual_pipe is pipe:
            self.manual_pipe = None

    def _inverted(self, matched: Collection[Any]) -> list[Pipe]:
        """INVERT_MATCHING: the pipes that did not match."""
        skip = set(matched)
        return [p for p in self.dist.pipes if p not in skip]

    def xsend(self, msg: Msg) -> bool:
        self.take_input()  # subscriptions already sent apply to this message
        targets: Collection[Any] = self.subs.match(msg[0])
        if self.options.invert_matching:
            targets = self._inverted(targets)
        if self.options.xpub_nodrop and not self.dist.all_writable(targets):
            return False
        self.dist.publish(targets, msg)
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
