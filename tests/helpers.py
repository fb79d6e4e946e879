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
