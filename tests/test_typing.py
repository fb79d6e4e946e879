"""Typing as pyzmq has it: generic classes at runtime, mypy --strict on a user program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import purezmq as zmq
import purezmq.asyncio as zaio

SRC = Path(zmq.__file__).resolve().parent.parent
PROGRAM = Path(__file__).parent / "typing_cases" / "user_program.py"


def test_classes_subscriptable_at_runtime() -> None:
    # ipykernel evaluates annotations such as zmq.Context[Any] at runtime.
    for cls in (zmq.Context, zmq.Socket, zmq.Poller, zaio.Context, zaio.Socket, zaio.Poller):
        alias: Any = cls[Any]  # type: ignore[index]
        assert alias.__origin__ is cls
    assert zmq.SyncSocket.__origin__ is zmq.Socket  # type: ignore[attr-defined]
    assert zmq.SyncContext.__origin__ is zmq.Context  # type: ignore[attr-defined]
    ctx = zmq.Context[Any]()  # a subscripted class still makes instances
    ctx.term()


def test_versions() -> None:
    assert zmq.__version__ == zmq.pyzmq_version() == "27.1.0"
    assert zmq.pyzmq_version_info() == (27, 1, 0)
    assert zmq.zmq_version() == "4.3.5" and zmq.zmq_version_info() == (4, 3, 5)
    assert zmq.__purezmq_version__ == zmq.purezmq_version()
    assert zmq.purezmq_version_info() == tuple(int(x) for x in zmq.purezmq_version().split("."))


@pytest.mark.timeout(180)
def test_mypy_strict_accepts_a_typical_program(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    # Errors inside purezmq are mypy's own CI job (`mypy src/purezmq`); here only
    # the user's program is held to --strict, against purezmq's annotations.
    cfg = tmp_path / "mypy.ini"
    cfg.write_text(
        "[mypy]\nstrict = True\n\n[mypy-purezmq.*]\nignore_errors = True\n"
        "\n[mypy-nacl.*,gevent.*,tornado.*,uvloop.*]\nignore_missing_imports = True\n"
    )
    env = dict(os.environ, MYPYPATH=str(SRC))
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(cfg),
            "--cache-dir",
            str(tmp_path / "cache"),
            str(PROGRAM),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=170,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_typed_program_runs() -> None:
    proc = subprocess.run(
        [sys.executable, str(PROGRAM)],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(SRC)),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[b'HELLO', b'a', b'b']" in proc.stdout and "[b'ping']" in proc.stdout
