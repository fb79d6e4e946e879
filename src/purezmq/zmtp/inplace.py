"""Fresh ``bytes`` objects that a reader fills in place (CPython only).

Rules this module keeps:

- ``new_bytes(n)`` returns a new ``bytes`` of ``n`` octets and a writable
  ``memoryview`` over its storage, so that ``socket.recvmsg_into`` can put a
  large frame body straight where ``recv()`` hands it to the application: no
  read buffer to copy it out of (at 64 KiB that copy was a fifth of the
  receiving process's py-spy samples). This is what C code does with
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
    # An array type per size, the last few kept (making one costs ~14 us).
    # Not one MAX-sized type with its view cut to ``n``: tried, and on 64 KiB
    # bodies it took the receiver from ~2 to ~6 page faults per message and
    # lost a third of the throughput (cause not found).
    array_types: dict[int, Any] = {}
    c_char = ctypes.c_char

    def new_bytes(n: int) -> tuple[bytes, memoryview]:
        if not 1 < n <= MAX:
            raise ValueError(f"in-place bytes hold 2 to {MAX} octets, not {n}")
        obj = alloc(None, n)
        kind = array_types.get(n)
        if kind is None:
            if len(array_types) > 64:
                array_types.clear()
            kind = array_types[n] = c_char * n
        return obj, memoryview(kind.from_address(id(obj) + offset)).cast("B")

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
