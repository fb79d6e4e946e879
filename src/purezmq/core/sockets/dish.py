"""DISH: receive the messages of the groups joined (RFC 48).

``join``/``leave`` keep the set of groups and tell every RADIO peer with a
``[b"J" + group]`` / ``[b"L" + group]`` message in the pipe, which the
engine sends as a JOIN/LEAVE command (udp engines drop them: the filter is
ours). A new or reconnected pipe hears every join again. Received messages
are ``[group, body]``; those of groups not joined are dropped here too (a
udp sender, or a radio that has not heard a LEAVE yet, sends them anyway).
``xrecv`` hands out ``[body]`` as a ``GroupMsg`` carrying the group, so that
``Frame.group`` is set.
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.sockets.radio import GROUP_MAX_LENGTH
from purezmq.core.strategies import Distributor, FairQueue
from purezmq.core.threadsafe import ThreadSafeSocket
from purezmq.error import ZMQError


class GroupMsg(list):
    """A received one-part message with the group it belongs to."""

    __slots__ = ("group",)

    def __init__(self, body: Any, group: bytes) -> None:
        super().__init__((body,))
        self.group = group


def check_group(group: Any) -> bytes:
    """The group as bytes (str is utf-8); EINVAL beyond 255 octets."""
    if isinstance(group, str):
        group = group.encode("utf-8")
    elif isinstance(group, (bytes, bytearray, memoryview)):
        group = bytes(group)
    else:
        raise TypeError(f"group must be str or bytes, not {type(group).__name__}")
    if len(group) > GROUP_MAX_LENGTH:
        raise ZMQError(C.EINVAL, f"group is {len(group)} octets; at most {GROUP_MAX_LENGTH}")
    return group


class Dish(ThreadSafeSocket):
    """Group subscriber: fair-queues the messages of joined groups."""

    type = C.DISH
    type_name = "DISH"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.fq = FairQueue()
        self.dist = Distributor()
        self.groups: set[bytes] = set()

    def _replay(self, pipe: Pipe) -> None:
        for group in self.groups:
            pipe.write([b"J" + group])  # joins are never dropped: no HWM check

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

    def join(self, group: Any) -> None:
        g = check_group(group)
        with self.tslock:
            if self.mailbox:
                self.process_commands()
            self._check()
            if g in self.groups:
                raise ZMQError(C.EINVAL, f"already joined group {g!r}")
            self.groups.add(g)
            for pipe in self.dist.pipes:
                pipe.write([b"J" + g])

    def leave(self, group: Any) -> None:
        g = check_group(group)
        with self.tslock:
            if self.mailbox:
                self.process_commands()
            self._check()
            if g not in self.groups:
                raise ZMQError(C.EINVAL, f"not a member of group {g!r}")
            self.groups.discard(g)
            for pipe in self.dist.pipes:
                pipe.write([b"L" + g])

    def xsend(self, msg: Msg) -> bool:
        raise ZMQError(C.ENOTSUP, "DISH sockets cannot send (use join()/leave())")

    def xrecv(self) -> Msg | None:
        while True:
            msg = self.fq.recv()
            if msg is None:
                return None
            if len(msg) != 2:
                continue  # not a RADIO message: dropped
            group = bytes(msg[0])
            if group in self.groups:
                return GroupMsg(msg[1], group)

    def xhas_in(self) -> bool:
        for pipe in self.fq.ready:  # (pipe.read leaves ready as it is)
            q = pipe.inq
            while q and (len(q[0]) != 2 or bytes(q[0][0]) not in self.groups):
                pipe.read()
        return self.fq.has_in()
