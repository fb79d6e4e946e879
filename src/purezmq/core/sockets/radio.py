"""RADIO: send each message to the DISH peers that joined its group (RFC 48).

Messages in RADIO/DISH pipes are ``[group, body]``: the group frame then the
body frame, exactly what travels on a ZMTP connection (the group frame has
MORE set). A DISH's JOIN/LEAVE commands reach us as one-frame messages in the
pipe's inbound queue, ``[b"J" + group]`` / ``[b"L" + group]`` (the engine
turns the commands into them); we read them when the pipe is activated, as
libzmq's radio_t does. udp pipes have no JOIN: they get every message, and
the DISH at the other end filters.

Never blocks: a full peer misses the message (libzmq's "mute" state) --
unless XPUB_NODROP is set, which libzmq's radio_t honours too (radio.cpp,
``_lossy``; zmq_setsockopt(3) lists it for XPUB only): then a send with any
matching peer at SNDHWM waits, or is EAGAIN, and nobody gets it. Sending with
SNDMORE is EINVAL (single-part only).
"""

from __future__ import annotations

from typing import Any

from purezmq import constants as C
from purezmq.core.pipe import Msg, Pipe
from purezmq.core.strategies import Distributor
from purezmq.core.threadsafe import ThreadSafeSocket
from purezmq.error import ZMQError

JOIN_TAG = 0x4A  # b"J"
LEAVE_TAG = 0x4C  # b"L"
GROUP_MAX_LENGTH = 255


class Radio(ThreadSafeSocket):
    """Group fan-out to joined dishes (and every udp destination)."""

    type = C.RADIO
    type_name = "RADIO"

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.groups: dict[bytes, set[Pipe]] = {}
        self.joined: dict[Pipe, set[bytes]] = {}
        self.udp_pipes: list[Pipe] = []

    def xattach_pipe(self, pipe: Pipe) -> None:
        self.joined[pipe] = set()
        if getattr(pipe.peer, "is_udp", False):
            self.udp_pipes.append(pipe)
        self.xread_activated(pipe)

    def xpipe_terminated(self, pipe: Pipe) -> None:
        for group in self.joined.pop(pipe, ()):
            members = self.groups.get(group)
            if members is not None:
                members.discard(pipe)
                if not members:
                    del self.groups[group]
        if pipe in self.udp_pipes:
            self.udp_pipes.remove(pipe)

    def xhiccuped(self, pipe: Pipe) -> None:
        # A reconnected dish sends its joins again: forget the old ones.
        self.xpipe_terminated(pipe)
        self.joined[pipe] = set()
        if getattr(pipe.peer, "is_udp", False):
            self.udp_pipes.append(pipe)

    def xread_activated(self, pipe: Pipe) -> None:
        mine = self.joined.get(pipe)
        if mine is None:
            return
        while True:
            msg = pipe.read()
            if msg is None:
                return
            if len(msg) != 1 or not len(msg[0]):
                continue  # a dish sends nothing else; ignore it
            data = bytes(msg[0])
            group = data[1:]
            if data[0] == JOIN_TAG:
                mine.add(group)
                self.groups.setdefault(group, set()).add(pipe)
            elif data[0] == LEAVE_TAG and group in mine:
                mine.discard(group)
                members = self.groups.get(group)
                if members is not None:
                    members.discard(pipe)
                    if not members:
                        del self.groups[group]

    def xsend(self, msg: Msg) -> bool:
        if len(msg) != 2:
            raise ZMQError(C.EINVAL, "RADIO messages are single-part: [group, body] inside")
        members = self.groups.get(bytes(msg[0])) or ()
        udp = self.udp_pipes
        if self.options.xpub_nodrop and not (
            Distributor.all_writable(members) and Distributor.all_writable(udp)
        ):
            return False
        Distributor.send_to(members, msg)  # full peers miss it
        Distributor.send_to(udp, msg)
        return True

    def xhas_out(self) -> bool:
        return True
