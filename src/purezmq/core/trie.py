"""Subscription matching: which pipes want a message, by topic prefix.

libzmq keeps a trie; a dict keyed by the exact subscribed prefix does the
same job in Python with less code. Matching a topic tries only the prefix
lengths somebody subscribed to (usually very few), so a publish costs a
handful of dict lookups whatever the number of subscribers.

With ``counted=True`` (a SUB's own subscriptions) subscribing twice to a
prefix needs two cancels, as libzmq's trie; with ``counted=False`` (an XPUB's
view of its peers) a pipe is in a prefix's set or not, as libzmq's mtrie.
"""

from __future__ import annotations

from collections.abc import Collection, Hashable
from typing import Any


class Subscriptions:
    """Counted prefix subscriptions of many subscribers (pipes, or None for self)."""

    __slots__ = ("_subs", "_lengths", "counted", "_few", "_only")

    # Up to this many prefixes, ``matches`` is one ``bytes.startswith(tuple)`` in C.
    FEW = 16

    def __init__(self, counted: bool = True) -> None:
        self.counted = counted
        self._subs: dict[bytes, dict[Hashable, int]] = {}
        self._lengths: dict[int, int] = {}  # prefix length -> number of prefixes
        self._few: tuple[bytes, ...] | None = ()  # every prefix, while there are FEW
        self._only: tuple[Hashable, ...] | None = None  # match's answer for one prefix

    def add(self, prefix: bytes, who: Hashable = None) -> bool:
        """Count a subscription; True when ``prefix`` was not subscribed by anyone."""
        self._only = None
        entry = self._subs.get(prefix)
        if entry is None:
            self._subs[prefix] = {who: 1}
            n = len(prefix)
            self._lengths[n] = self._lengths.get(n, 0) + 1
            self._changed()
            return True
        entry[who] = entry.get(who, 0) + 1 if self.counted else 1
        return False

    def remove(self, prefix: bytes, who: Hashable = None) -> bool:
        """Un-count one subscription; True when nobody subscribes ``prefix`` any more."""
        self._only = None
        entry = self._subs.get(prefix)
        if entry is None or who not in entry:
            return False
        entry[who] -= 1
        if entry[who] == 0:
            del entry[who]
            if not entry:
                self._drop(prefix)
                return True
        return False

    def _drop(self, prefix: bytes) -> None:
        del self._subs[prefix]
        n = len(prefix)
        left = self._lengths[n] - 1
        if left:
            self._lengths[n] = left
        else:
            del self._lengths[n]
        self._changed()

    def _changed(self) -> None:
        subs = self._subs
        self._few = tuple(subs) if len(subs) <= self.FEW else None

    def remove_all(self, who: Hashable) -> list[bytes]:
        """Forget every subscription of ``who``; return prefixes nobody wants now."""
        self._only = None
        gone = []
        for prefix in [p for p, e in self._subs.items() if who in e]:
            entry = self._subs[prefix]
            del entry[who]
            if not entry:
                self._drop(prefix)
                gone.append(prefix)
        return gone

    def match(self, topic: Any) -> Collection[Hashable]:
        """Everyone with a subscription that is a prefix of ``topic`` (never
        changed afterwards: the caller may change the subscriptions meanwhile).

        One prefix only (every subscriber on b"", or all on one topic) is the
        usual publisher: its subscribers are one tuple, kept until the
        subscriptions change, rather than a set merged per message.
        """
        few = self._few
        if few is not None and len(few) <= 1:
            if not few:
                return ()
            prefix = few[0]
            if prefix and topic[: len(prefix)] != prefix:
                return ()
            only = self._only
            if only is None:
                only = self._only = tuple(self._subs[prefix])
            return only
        found: set[Hashable] = set()
        subs = self._subs
        size = len(topic)
        for n in self._lengths:
            if n <= size:
                key = topic[:n]
                if type(key) is not bytes:  # bytes() of bytes costs more than the lookup
                    key = bytes(key)
                entry = subs.get(key)
                if entry:
                    found.update(entry)
        return found

    def matches(self, topic: Any) -> bool:
        """Does any subscription match ``topic``? (SUB-side filtering)"""
        lengths = self._lengths
        if 0 in lengths:  # b"": everything matches
            return True
        few = self._few
        if few is not None:
            if type(topic) is not bytes:
                topic = bytes(topic[: max(lengths, default=0)])
            return topic.startswith(few)
        subs = self._subs
        size = len(topic)
        for n in lengths:
            if n <= size:
                key = topic[:n]
                if type(key) is not bytes:
                    key = bytes(key)
                if key in subs:
                    return True
        return False

    def prefixes(self) -> list[bytes]:
        """Every subscribed prefix, once (replayed to a new upstream, as libzmq does)."""
        return list(self._subs)

    def __len__(self) -> int:
        return len(self._subs)
