"""Subscription matching (core/trie.py) against a brute-force reference."""

from __future__ import annotations

import random

import pytest

from purezmq.core.trie import Subscriptions


def _reference(prefixes: set[bytes], topic: bytes) -> bool:
    return any(topic.startswith(p) for p in prefixes)


@pytest.mark.parametrize("count", [0, 1, 3, Subscriptions.FEW, Subscriptions.FEW + 1, 200])
def test_matches_agrees_with_brute_force(count: int) -> None:
    rng = random.Random(count)
    subs = Subscriptions()
    live: set[bytes] = set()
    alphabet = b"abc"
    for _ in range(count):
        p = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 6)))
        if p not in live:  # counted: a second add would need a second remove
            assert subs.add(p)
            live.add(p)
    topics = [bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 8))) for _ in range(300)]
    for step in range(3):
        for t in topics:
            want = _reference(live, t)
            assert subs.matches(t) is want, (t, sorted(live))
            assert subs.matches(memoryview(t)) is want  # zero-copy frames
            assert subs.matches(bytearray(t)) is want
            assert bool(subs.match(t)) == want
        # Remove half (and later everything), then check again.
        for p in sorted(live)[: max(1, len(live) // 2)] if step < 2 else sorted(live):
            if p in live:
                assert subs.remove(p)
                live.discard(p)


def test_empty_prefix_matches_everything_until_cancelled() -> None:
    subs = Subscriptions()
    subs.add(b"x")
    assert not subs.matches(b"y")
    subs.add(b"")
    assert subs.matches(b"y") and subs.matches(b"") and subs.matches(memoryview(b"z"))
    subs.remove(b"")
    assert not subs.matches(b"y") and subs.matches(b"xy")
