"""zmtp/heap.py: glibc keeps freed large bodies mapped once a large frame arrives."""

from __future__ import annotations

import subprocess
import sys

import pytest

from purezmq.zmtp import frames, heap
from purezmq.zmtp.frames import FrameDecoder, encode_message

# In a fresh process (the thresholds are process-wide): minor page faults per
# 256 KiB body, eight alive at a time as in a receiver's queue, before and
# after hold_heap. (One body made and freed over and over does not show it:
# glibc's own adjustment after the first free covers that.)
_FAULTS = r"""
import resource
from purezmq.zmtp import heap

def faults_per_body():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        bodies = [b"x" * 262144 for _ in range(8)]
        del bodies
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 400

cold = faults_per_body()
heap.hold_heap()
held = faults_per_body()
print(cold, held)
"""


@pytest.mark.skipif(not heap._glibc(), reason="glibc's malloc thresholds")
def test_freed_large_bodies_stay_mapped_once_held() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _FAULTS], capture_output=True, text=True, timeout=30, check=True
    )
    cold, held = map(float, out.stdout.split())
    assert cold > 16  # the heap trimmed after each round: its pages fault in again
    assert held < 4  # kept mapped, reused


def test_a_large_frame_holds_the_heap(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(frames, "hold_heap", lambda: calls.append(1))
    dec = FrameDecoder()
    dec.feed(encode_message([b"s" * 1000])[:500])  # a small frame's start: not yet
    assert calls == []
    dec = FrameDecoder()
    dec.feed(encode_message([b"L" * frames.IN_PLACE_MIN])[:500])
    assert calls == [1]


def test_hold_heap_runs_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(heap, "_pending", True)
    heap.hold_heap()
    assert heap._pending is False
    heap.hold_heap()  # a no-op now
