"""``python -m purezmq.curve_keygen`` and ``python -m zmq.curve_keygen`` (installed as zmq)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import purezmq as zmq
from purezmq.utils import z85

pytest.importorskip("nacl")

SRC = str(Path(zmq.__file__).resolve().parent.parent)


def _run(args: list[str], cwd: Path, site: Path | None = None) -> subprocess.CompletedProcess[str]:
    path = [SRC] if site is None else [str(site), SRC]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=60
    )


def test_prints_a_key_pair_as_libzmq_tool(tmp_path: Path) -> None:
    out = _run(["-m", "purezmq.curve_keygen"], tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "== CURVE PUBLIC KEY ==" and lines[2] == "== CURVE SECRET KEY =="
    public, secret = lines[1].encode(), lines[3].encode()
    assert len(public) == len(secret) == 40
    assert zmq.curve_public(secret) == public
    assert len(z85.decode(public)) == 32


def test_as_zmq_writes_certificates(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import purezmq\npurezmq.install_as_zmq()\n")
    out = _run(["-m", "zmq.curve_keygen", "server", str(tmp_path)], tmp_path, site)
    assert out.returncode == 0, out.stderr
    from purezmq.auth.certs import load_certificate

    public, secret = load_certificate(tmp_path / "server.key_secret")
    assert secret is not None and zmq.curve_public(secret) == public
