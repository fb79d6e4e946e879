"""Shared fixtures: one purezmq context and one libzmq (pyzmq) context per test.

Both are torn down with ``destroy(linger=0)``: every socket the test opened
(monitor sockets included) is closed without lingering and the context is
terminated, so nothing (threads, fds, bound ports, ipc files) outlives a test.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import NodeDriver, install_zeromq_js

import purezmq


@pytest.fixture(autouse=True)
def _release_held_ports() -> Iterator[None]:
    """Close the sockets holding ports that helpers.held_port() gave this test.

    (Tests import the module as ``helpers`` or as ``tests.helpers``: two modules.)
    """
    yield
    for name in ("helpers", "tests.helpers"):
        held = getattr(sys.modules.get(name), "HELD", [])
        while held:
            held.pop().close()


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


@pytest.fixture(scope="session")
def zeromq_dir() -> Path:
    """node_modules holding npm's zeromq 6 (installed into .cache/npm if missing; skips without
    node, npm or the registry): the libzmq-with-drafts-and-ws reference peer."""
    return install_zeromq_js()


@pytest.fixture
def node(zeromq_dir: Path) -> Iterator[NodeDriver]:
    """A scripted libzmq-with-drafts peer (tests/node_driver.js), ended after the test."""
    d = NodeDriver(zeromq_dir)
    try:
        yield d
    finally:
        d.close()
