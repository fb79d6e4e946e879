"""XSUB: a subscriber whose subscriptions are messages the application sends.

Sending ``\\x01topic`` subscribes and ``\\x00topic`` cancels; both go to every
publisher, and are replayed to publishers that connect (or reconnect) later.
Other messages sent go upstream unchanged. Received messages are not
filtered here (SUB filters, XSUB does not, as in libzmq).

As libzmq's, every frame of a multipart message sent is looked at: one that
starts with 1 or 0 is a subscription or a cancel. With ONLY_FIRST_SUBSCRIBE
only the first frame is, and when it is neither the rest of the message is
user data whatever it starts with (when it is one, so are the frames after it
that look like one: libzmq's rule). A cancel of something not subscribed (or
still subscribed by an earlier SUBSCRIBE) is not passed on, unless
XSUB_VERBOSE_UNSUBSCRIBE. TOPICS_COUNT is the number of distinct prefixes
subscribed.
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase
from purezmq.core.strategies import Distributor, FairQueue
from purezmq.core.trie import Subscriptions


class XSub(SocketBase):
    """Subscriber with subscriptions as messages."""

    type = C.XSUB
    type_name = "XSUB"
    filters = False

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        self.dist = Distributor()
        self.subs = Subscriptions()

    def _replay(self, pipe: Pipe) -> None:
        for prefix in self.subs.prefixes():
            if pipe.writable():
                pipe.write([b"\x01" + prefix])

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.fq.attach(pipe)
        self.dist.attach(pipe)
        self._replay(pipe)

    def xhiccuped(self, pipe: Pipe) -> None:
        self._replay(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        self.fq.terminated(pipe)
        self.dist.terminated(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        self.fq.activated(pipe)

    def xsend(self, msg: Msg) -> bool:
        data = msg[0]
        if len(msg) == 1:
            if len(data) and data[0] in (0, 1) and not self._subscription(data):
                return True  # a cancel not passed on
            self.dist.send_to_all(msg)
            return True
        out = []
        process = True
        for i, part in enumerate(msg):
            if not process:
                out.append(part)
                continue
            is_sub = len(part) > 0 and part[0] in (0, 1)
            if i == 0 and self.options.only_first_subscribe:
                process = is_sub  # libzmq: the frames after it only if it was one
            if not is_sub or self._subscription(part):
                out.append(part)
        if out:
            self.dist.send_to_all(out)
        return True

    def _subscription(self, data: Any) -> bool:
        """Apply a subscription or cancel frame; should it go upstream?"""
        topic = bytes(data[1:])
        if data[0] == 1:
            self.subs.add(topic)
            return True
        # Not passed on when still subscribed by an earlier SUBSCRIBE (or never was).
        return self.subs.remove(topic) or bool(self.options.xsub_verbose_unsubscribe)

    def topics_count(self) -> int:
        """TOPICS_COUNT: distinct prefixes this socket subscribed to."""
        return len(self.subs)

    def xrecv(self) -> Msg | None:
        recv = self.fq.recv
        while True:
            msg = recv()
            if msg is None or not self.filters:
                return msg
            # _match, inline: this runs for every message a SUB receives.
            if self.subs.matches(msg[0]):
                if not self.options.invert_matching:
                    return msg
            elif self.options.invert_matching:
                return msg

    def _match(self, topic: Any) -> bool:
        """SUB's own filter; INVERT_MATCHING turns it around (libzmq xsub_t::match)."""
        return self.subs.matches(topic) != bool(self.options.invert_matching)

    def xhas_in(self) -> bool:
        if self.filters:
            # Drop leading non-matching messages so EVENTS tells the truth.
            for pipe in self.fq.ready:  # (pipe.read leaves ready as it is)
                q = pipe.inq
                while q and not self._match(q[0][0]):
                    pipe.read()
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return True
