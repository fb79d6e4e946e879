"""Shared fixtures: one purezmq context and one libzmq (pyzmq) context per test.

Both are torn down with ``destroy(linger=0)``: every socket the test opened
(monitor sockets included) is closed without lingering and the context is
terminated, so nothing (threads, fds, bound ports, ipc files) outlives a test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import purezmq


@pytest.fixture
def ctx() -> Iterator[purezmq.Context]:
    """A fresh purezmq Context."""
    c = purezmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)


@pytest.fixture
def lzctx() -> Iterator[object]:
    """A fresh libzmq Context (pyzmq), the reference peer; skips if pyzmq is missing."""
    zmq = pytest.importorskip("zmq")
    c = zmq.Context()
    try:
        yield c
    finally:
        c.destroy(linger=0)
