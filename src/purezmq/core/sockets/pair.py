"""PAIR: exclusive pair (RFC 31); a second peer is refused while one is attached."""

from __future__ import annotations

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.socketbase import SocketBase


class Pair(SocketBase):
    """One peer at a time; messages go to it and come from it."""

    type = C.PAIR
    type_name = "PAIR"

    def __init__(self, *args: object, **kw: object) -> None:
        super().__init__(*args, **kw)  # type: ignore[arg-type]
        self.peer_pipe: Pipe | None = None
        self._draining: Pipe | None = None  # last peer's unread messages

    def xattach_pipe(self, pipe: Pipe) -> None:
        if self.peer_pipe is not None:
            pipe.refused = pipe.dead = True  # the engine closes that connection
            return
        self.peer_pipe = pipe

    def xpipe_terminated(self, pipe: Pipe) -> None:
        if pipe is self.peer_pipe:
            self.peer_pipe = None
            if pipe.inq:
                self._draining = pipe

    def xsend(self, msg: Msg) -> bool:
        pipe = self.peer_pipe
        if pipe is None or not pipe.writable():
            return False
        pipe.write(msg)
        return True

    def xrecv(self) -> Msg | None:
        pipe = self.peer_pipe or self._draining
        if pipe is None:
            return None
        msg = pipe.read()
        if msg is None and pipe is self._draining:
            self._draining = None
        if msg is not None:
            self.last_pipe = pipe
        return msg

    def xhas_in(self) -> bool:
        pipe = self.peer_pipe or self._draining
        return pipe is not None and pipe.check_read()

    def xhas_out(self) -> bool:
        return self.peer_pipe is not None and self.peer_pipe.writable()
