"""XSUB: a subscriber whose subscriptions are messages the application sends.

Sending ``\\x01topic`` subscribes and ``\\x00topic`` cancels; both go to every
publisher, and are replayed to publishers that connect (or reconnect) later.
Other messages sent go upstream unchanged. Received messages are not
filtered here (SUB filters, XSUB does not, as in libzmq).
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
        if len(msg) == 1 and len(data) and data[0] in (0, 1):
            topic = bytes(data[1:])
            if data[0] == 1:
                self.subs.add(topic)
            elif not self.subs.remove(topic):
                return True  # still subscribed by an earlier SUBSCRIBE
        self.dist.send_to_all(msg)
        return True

    def xrecv(self) -> Msg | None:
        while True:
            msg = self.fq.recv()
            if msg is None:
                return None
            if self.filters and not self._match(msg[0]):
                continue
            return msg

    def _match(self, topic: Any) -> bool:
        """SUB's own filter; INVERT_MATCHING turns it around (libzmq xsub_t::match)."""
        return self.subs.matches(topic) != bool(self.options.invert_matching)

    def xhas_in(self) -> bool:
        if self.filters:
            # Drop leading non-matching messages so EVENTS tells the truth.
            for pipe in self.fq.pipes[: self.fq.active]:
                q = pipe.inq
                while q and not self._match(q[0][0]):
                    pipe.read()
        return self.fq.has_in()

    def xhas_out(self) -> bool:
        return True
