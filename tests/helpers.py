"""Helpers shared by the behaviour tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

# Sockets holding the ports held_port() handed out; tests/conftest.py closes them
# after each test.
HELD: list[socket.socket] = []


def held_port(host: str = "127.0.0.1") -> int:
    """A tcp port on ``host`` for a peer that binds it later, which nobody else can take.

    The OS picks it; a socket stays bound to it (with SO_REUSEADDR, not listening)
    until the test ends. Meanwhile connections to it are refused, no other process
    gets it from bind(0) or as a connection's source port, and purezmq, libzmq and
    sshd (which all set SO_REUSEADDR on listeners) can still bind and listen there.
    A port found free and released at once can be taken by anyone before the late
    peer binds it: on a shared host that failed tests now and then.
    """
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, 0))
    HELD.append(s)
    return int(s.getsockname()[1])


def mk(ctx: Any, kind: int, *, timeout: int = 2000, **opts: Any) -> Any:
    """A socket with blocking calls bounded by ``timeout`` ms (and LINGER 0 for quick
    teardown); ``opts`` are further attributes to set."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = timeout
    s.sndtimeo = timeout
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def link(ours: Any, theirs: Any, we_bind: bool, endpoint: str) -> None:
    """Bind one socket (``ours`` if ``we_bind``, else ``theirs``) at ``endpoint``
    (which may end in ``:*``) and connect the other to the address it got."""
    binder, connecter = (ours, theirs) if we_bind else (theirs, ours)
    binder.bind(endpoint)
    connecter.connect(binder.last_endpoint.decode())


def run_example(name: str) -> str:
    """Run ``examples/<name>`` in a fresh interpreter (dev mode, ResourceWarnings as errors).

    Asserts it exited 0, printed "done" and warned about nothing; returns stdout.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root / "src"), PYTHONWARNINGS="error::ResourceWarning")
    out = subprocess.run(
        [sys.executable, "-X", "dev", str(root / "examples" / name)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines and "done" in lines[-1], out.stdout
    assert "Warning" not in out.stderr and "never retrieved" not in out.stderr, out.stderr
    return out.stdout


# -- the node reference peer: npm's zeromq 6 (libzmq 4.3.5 with drafts and ws://) ----------

REPO = Path(__file__).resolve().parent.parent
NPM_CACHE = REPO / ".cache" / "npm"  # git-ignored (.cache/)


def install_zeromq_js() -> Path:
    """node_modules holding npm's zeromq 6, installed into .cache/npm if missing.

    Calls ``pytest.skip`` (saying why) without node, npm or the registry. The
    ``zeromq_dir`` fixture (conftest.py) runs this once per session.
    """
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the libzmq draft reference peer (zeromq@6)")
    modules = NPM_CACHE / "node_modules"
    probe = [node, "-e", 'process.stdout.write(String(require("zeromq").capability.draft))']
    env = {**os.environ, "NODE_PATH": str(modules)}

    def works() -> bool:
        if not (modules / "zeromq").is_dir():
            return False
        try:
            r = subprocess.run(
                probe, cwd=NPM_CACHE, env=env, capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0 and r.stdout.strip() == "true"

    if not works():
        NPM_CACHE.mkdir(parents=True, exist_ok=True)
        try:
            r = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--prefix", str(NPM_CACHE), "zeromq@6"],
                capture_output=True,
                text=True,
                timeout=300,
            )
        except subprocess.TimeoutExpired:
            pytest.skip("npm install zeromq@6 took more than 300 s (registry unreachable?)")
        if r.returncode != 0:
            pytest.skip(f"npm install zeromq@6 failed (registry unavailable?): {r.stderr[-500:]}")
        if not works():
            pytest.skip("npm's zeromq@6 installed but does not load with drafts in this node")
    return modules


class NodePeer:
    """One run of a node peer script (``node SCRIPT ARGS...``); killed in ``close``.

    The script gets the node_modules directory in $ZEROMQ_DIR. With ``bind`` in
    its arguments its first line out must be ``ENDPOINT <address bound>``
    (kept in ``endpoint``); its last line ``OK ...`` on success (``result``).
    """

    def __init__(self, zeromq_dir: Path, script: Path, *args: str) -> None:
        env = {**os.environ, "ZEROMQ_DIR": str(zeromq_dir)}
        self.proc = subprocess.Popen(
            ["node", str(script), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.endpoint = ""
        if "bind" in args:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()  # the script's watchdog bounds this
            if not line.startswith("ENDPOINT "):
                self.close()
                raise AssertionError(f"node peer did not bind: {line!r} {self._stderr()}")
            self.endpoint = line.split(" ", 1)[1].strip()

    def _stderr(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError):
            return ""
        return err or ""

    def result(self, timeout: float = 45) -> str:
        """The peer's "OK ..." line (fails the test on any other outcome)."""
        out, err = self.proc.communicate(timeout=timeout)
        assert self.proc.returncode == 0, f"node peer failed ({self.proc.returncode}): {err}"
        last = out.strip().splitlines()[-1]
        assert last.startswith("OK"), out
        return last[2:].strip()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass


NODE_DRIVER_JS = Path(__file__).resolve().parent / "node_driver.js"


class NodeDriver:
    """libzmq with drafts, scripted: ``node node_driver.js`` answering one JSON command
    per line (see that file). ``call`` sends a command and returns its answer, failing
    the test if none comes within ``wait`` seconds; ``close`` ends the process.

    Frames go as bytes here and as latin1 strings on the line.
    """

    def __init__(self, zeromq_dir: Path) -> None:
        import queue
        import threading

        env = {**os.environ, "ZEROMQ_DIR": str(zeromq_dir)}
        self.proc = subprocess.Popen(
            ["node", str(NODE_DRIVER_JS)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.lines.put(line)
            self.lines.put("")

        threading.Thread(target=pump, daemon=True).start()

    def call(self, op: str, wait: float = 20, **kw: Any) -> dict[str, Any]:
        import json
        import queue

        assert self.proc.stdin is not None
        if "frames" in kw:
            kw["frames"] = [bytes(f).decode("latin1") for f in kw["frames"]]
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self.lines.get(timeout=wait)
        except queue.Empty:
            raise AssertionError(f"node driver: no answer to {op} in {wait} s") from None
        if not line:
            raise AssertionError(f"node driver exited: {self._stderr()}")
        ans: dict[str, Any] = json.loads(line)
        if "frames" in ans:
            ans["frames"] = [f.encode("latin1") for f in ans["frames"]]
        return ans

    def ok(self, op: str, **kw: Any) -> dict[str, Any]:
        """``call`` that fails the test unless the command succeeded."""
        ans = self.call(op, **kw)
        assert ans["ok"], f"node driver: {op} {kw}: {ans}"
        return ans

    def recv(self, sid: str, timeout: int = 10000) -> dict[str, Any] | None:
        """The next message on socket ``sid`` ({"frames", "rid"?, "group"?}), or None
        when none came within ``timeout`` ms."""
        ans = self.call("recv", wait=timeout / 1000 + 20, id=sid, timeout=timeout)
        if not ans["ok"]:
            assert ans["error"] == "EAGAIN", ans
            return None
        return ans

    def _stderr(self) -> str:
        try:
            _, err = self.proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError):
            return ""
        return err or ""

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (subprocess.TimeoutExpired, OSError, ValueError):
                self.proc.kill()
        try:
            self.proc.communicate(timeout=10)
        except (subprocess.TimeoutExpired, ValueError):
            pass


def as_lists(items: Any) -> list[Any]:
    """A decoder's output with every message as a list of frames (commands stay bytes).

    The decoder hands out a single-frame message as a 1-tuple (core/pipe.py: a
    message is a list or a tuple); the tests compare messages by their frames.
    """
    return [m if type(m) is bytes else list(m) for m in items]
