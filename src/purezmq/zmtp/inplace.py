"""Fresh ``bytes`` objects that a reader fills in place (CPython only).

Rules this module keeps:

- ``new_bytes(n)`` returns a new ``bytes`` of ``n`` octets and a writable
  ``memoryview`` over its storage, so that ``socket.recvmsg_into`` can put a
  large frame body straight where ``recv()`` hands it to the application: no
  read buffer to copy it out of (at 64 KiB that copy was a fifth of the
  receiving process's CPU). This is what C code does with
  ``PyBytes_FromStringAndSize(NULL, n)``: the object is unshared and its hash
  not computed until the caller is done writing.
- The caller keeps the ``bytes`` alive as long as it keeps the view (the view
  does not own the memory), writes only before handing the ``bytes`` to anyone
  else, and drops the view then.
- ``AVAILABLE`` is false where this cannot be done safely (not CPython, no
  ctypes, or the self-test at import fails): callers then copy, as before.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["AVAILABLE", "MAX", "new_bytes"]

MAX = 1 << 20  # the largest ``new_bytes``


def _make() -> Callable[[int], tuple[bytes, memoryview]] | None:
    """The allocator, or None where it is not safe."""
    if sys.implementation.name != "cpython":
        return None
    try:
        import ctypes

        alloc = ctypes.pythonapi.PyBytes_FromStringAndSize
    except (ImportError, AttributeError, OSError):
        return None
    alloc.restype = ctypes.py_object
    alloc.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]
    # The storage (ob_sval) is the last member of a bytes object; the type's
    # basic size counts one octet of it (the terminating NUL).
    offset = bytes.__basicsize__ - 1
    # One array type for every size, its view cut to ``n`` before anyone sees
    # it (nothing reads past it): no ``c_char * n`` type to make per size
    # (ctypes caches them only weakly, and making one costs ~14 us).
    span: Any = ctypes.c_char * MAX

    def new_bytes(n: int) -> tuple[bytes, memoryview]:
        if not 1 < n <= MAX:
            raise ValueError(f"in-place bytes hold 2 to {MAX} octets, not {n}")
        obj = alloc(None, n)
        return obj, memoryview(span.from_address(id(obj) + offset)).cast("B")[:n]

    try:  # the layout is what we think it is, or we do not use it
        probe, view = new_bytes(40)
        view[:] = bytes(range(40))
        if probe != bytes(range(40)) or len(probe) != 40:
            return None
        del view
    except Exception:
        return None
    return new_bytes


_new = _make()
AVAILABLE = _new is not None


def new_bytes(n: int) -> tuple[bytes, memoryview]:
    """A new ``bytes`` of ``n`` (2 to ``MAX``) octets, uninitialised, and a writable view of it."""
    if _new is None:
        raise NotImplementedError("filling bytes in place needs CPython's ctypes")
    return _new(n)
