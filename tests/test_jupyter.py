"""Jupyter end to end on purezmq: ipykernel + jupyter_client with no pyzmq (issue 10).

A private virtual environment (``.cache/jupyter-venv``, made once) holds
ipykernel and jupyter_client from PyPI with pyzmq uninstalled; a
``sitecustomize`` calls ``purezmq.install_as_zmq()``, so both run on purezmq
unmodified. ``tests/jupyter_driver.py`` then starts a kernel, executes, completes,
interrupts a long cell, checks the heartbeat and shuts the kernel down -- once
with the client on purezmq too, once with the client on pyzmq (this venv).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".cache" / "jupyter-venv"
PACKAGES = ["ipykernel>=6", "jupyter_client>=8"]

pytestmark = pytest.mark.timeout(600)


def _venv_python() -> Path:
    py = VENV / "bin" / "python"
    marker = VENV / ".ready"
    if py.exists() and marker.exists():
        return py
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    done = subprocess.run([*pip, *PACKAGES], capture_output=True, text=True, timeout=500)
    if done.returncode != 0:
        pytest.skip(f"cannot install {PACKAGES} from PyPI here: {done.stderr[-500:]}")
    # ipykernel depends on pyzmq: take it out again, so only purezmq can answer `import zmq`.
    subprocess.run([str(py), "-m", "pip", "uninstall", "-q", "-y", "pyzmq"], check=True)
    marker.write_text("ok\n")
    return py


@pytest.fixture(scope="session")
def jupyter_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    py = _venv_python()
    probe = subprocess.run([str(py), "-c", "import zmq"], capture_output=True)
    assert probe.returncode != 0, "pyzmq is still installed in the Jupyter venv"
    base = tmp_path_factory.mktemp("jupyter")
    site = base / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import purezmq\npurezmq.install_as_zmq()\n")
    pythonpath = os.pathsep.join([str(site), str(ROOT / "src")])
    spec = base / "share" / "kernels" / "purezmq-kernel"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python on purezmq",
                "language": "python",
                "env": {"PYTHONPATH": pythonpath},
            }
        )
    )
    return {"python": str(py), "pythonpath": pythonpath, "jupyter_path": str(base / "share")}


def _drive(python: str, env: dict[str, str]) -> str:
    out = subprocess.run(
        [python, str(ROOT / "tests" / "jupyter_driver.py"), "purezmq-kernel"],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for step in ("ready", "execute ok", "complete ok", "interrupt ok", "heartbeat ok"):
        assert step in out.stdout, out.stdout + out.stderr
    assert "kernel on purezmq: True" in out.stdout, out.stdout
    assert out.stdout.rstrip().endswith("shutdown ok"), out.stdout + out.stderr
    return out.stdout


def _env(jupyter_env: dict[str, Any], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "JUPYTER_PATH")}
    env["JUPYTER_PATH"] = jupyter_env["jupyter_path"]
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env.update(extra)
    return env


def test_kernel_and_client_on_purezmq(jupyter_env: dict[str, Any]) -> None:
    out = _drive(jupyter_env["python"], _env(jupyter_env, PYTHONPATH=jupyter_env["pythonpath"]))
    assert "purezmq" in out.splitlines()[0], out  # the client is purezmq too


def test_kernel_on_purezmq_client_on_pyzmq(jupyter_env: dict[str, Any]) -> None:
    pytest.importorskip("jupyter_client")
    pytest.importorskip("zmq")
    out = _drive(sys.executable, _env(jupyter_env))
    assert "purezmq" not in out.splitlines()[0], out  # the client is libzmq's
