"""Helpers shared by the behaviour tests."""

from __future__ import annotations

from typing import Any


def mk(ctx: Any, kind: int, **opts: Any) -> Any:
    """A socket with bounded blocking calls (and LINGER 0 for quick teardown)."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = 2000
    s.sndtimeo = 2000
    for k, v in opts.items():
        setattr(s, k, v)
    return s


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
