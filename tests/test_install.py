"""install_as_zmq(): unmodified pyzmq programs run on purezmq."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent(
    """
    import purezmq
    purezmq.install_as_zmq()

    import zmq
    import zmq.utils.z85
    import zmq.asyncio
    from zmq.utils import jsonapi
    import purezmq.asyncio
    assert zmq.asyncio is purezmq.asyncio and zmq.asyncio.Socket is purezmq.asyncio.Socket
    assert jsonapi is purezmq.utils.jsonapi
    try:
        import zmq.no_such_module
    except ImportError:
        pass
    else:
        raise AssertionError("zmq.no_such_module imported")
    from zmq import Context, PUSH, PULL
    from zmq.error import Again

    assert zmq is purezmq, zmq
    assert zmq.utils.z85.decode(zmq.utils.z85.encode(b"1234")) == b"1234"
    ctx = Context()
    push, pull = ctx.socket(PUSH), ctx.socket(PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push.connect(f"tcp://127.0.0.1:{port}")
    push.send_string("from an unmodified pyzmq program")
    print(pull.recv_string())
    try:
        pull.recv(zmq.NOBLOCK)
    except Again:
        print("Again raised")
    ctx.destroy(linger=0)
    """
)


@pytest.mark.timeout(60)
def test_install_as_zmq_runs_pyzmq_program() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=50, check=True
    ).stdout
    assert out.splitlines() == ["from an unmodified pyzmq program", "Again raised"]
