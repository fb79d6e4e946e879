"""Helpers shared by the behaviour tests."""

from __future__ import annotations

from typing import Any


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
