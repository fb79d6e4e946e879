"""Security mechanisms: handshake state machines (NULL, PLAIN, CURVE).

``make_mechanism`` turns what a caller passes as ``mechanism=`` (None, a
name, or a fresh instance) into a mechanism object for one connection.
"""

from __future__ import annotations

from .base import Mechanism
from .curve import CurveMechanism
from .null import NullMechanism
from .plain import PlainMechanism

__all__ = [
    "MECHANISMS",
    "CurveMechanism",
    "Mechanism",
    "NullMechanism",
    "PlainMechanism",
    "make_mechanism",
]

#: Mechanism classes by greeting name (CURVE needs keys: build it yourself).
MECHANISMS: dict[bytes, type[Mechanism]] = {b"NULL": NullMechanism, b"PLAIN": PlainMechanism}


def make_mechanism(mechanism: Mechanism | str | bytes | None = None) -> Mechanism:
    """Return a mechanism instance for one connection (default NULL)."""
    if mechanism is None:
        return NullMechanism()
    if isinstance(mechanism, Mechanism):
        return mechanism
    name = mechanism.encode("ascii") if isinstance(mechanism, str) else bytes(mechanism)
    try:
        cls = MECHANISMS[name.upper()]
    except KeyError:
        known = ", ".join(n.decode() for n in MECHANISMS)
        raise ValueError(f"unknown security mechanism {name!r} (known: {known})") from None
    return cls()
