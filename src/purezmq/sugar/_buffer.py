"""``BufferExporter``: a base class that lets a Python class export the buffer protocol.

Rules this module keeps:

- From Python 3.12 on a class exports a buffer by defining ``__buffer__``
  (PEP 688), and ``BufferExporter`` is plain ``object``.
- Before 3.12 only a C type can fill a ``Py_buffer``. On CPython,
  ``BufferExporter`` is such a type, made at import with ``PyType_FromSpec``
  (stable ABI since 3.2; buffer slots accepted since 3.9) through ctypes: its
  one slot, ``bf_getbuffer``, asks the instance for ``_buffer_source(flags)``
  and hands the request to that object's own buffer (``PyObject_GetBuffer``).
  The view's owner (``view.obj``) is that object, so its ``bf_releasebuffer``
  is the one that runs when the view is released, and no slot of ours is
  needed for that.
- A subclass (``Frame``) inherits the slot; ``memoryview(frame)``,
  ``bytes(...)``-style consumers, ``socket.send(frame)``, ``numpy.frombuffer``
  and ``readinto(frame)`` all go through it.
- A request the source cannot satisfy (writable on read-only data) fails with
  no exception set (a ctypes callback cannot set one): callers that try a
  second kind of request (numpy, argument parsing: ``readinto`` raises its
  TypeError) clear it; the others raise SystemError. Only such refusals differ
  from 3.12, where ``__buffer__`` raises BufferError.
- Elsewhere (PyPy, no ctypes) it is ``object``: such objects have no buffer
  before 3.12, as before.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

__all__ = ["BufferExporter", "EXPORTS_BUFFER"]


def _make_exporter() -> Any:
    """The C base type, or None where it cannot be made."""
    if sys.implementation.name != "cpython" or sys.version_info < (3, 9):
        return None
    try:
        import ctypes
    except ImportError:
        return None

    class Slot(ctypes.Structure):
        _fields_ = [("slot", ctypes.c_int), ("pfunc", ctypes.c_void_p)]

    class Spec(ctypes.Structure):
        _fields_ = [
            ("name", ctypes.c_char_p),
            ("basicsize", ctypes.c_int),
            ("itemsize", ctypes.c_int),
            ("flags", ctypes.c_uint),
            ("slots", ctypes.POINTER(Slot)),
        ]

    py_bf_getbuffer = 1  # Include/typeslots.h
    tpflags = (1 << 18) | (1 << 10)  # Py_TPFLAGS_DEFAULT (HAVE_VERSION_TAG) | BASETYPE

    api = ctypes.pythonapi
    get_buffer = api.PyObject_GetBuffer
    get_buffer.argtypes = [ctypes.py_object, ctypes.c_void_p, ctypes.c_int]
    get_buffer.restype = ctypes.c_int

    proto = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_void_p, ctypes.c_int)

    def getbuffer(obj: Any, view: int, flags: int) -> int:
        try:
            return int(get_buffer(obj._buffer_source(flags), view, flags))
        except BaseException:  # noqa: BLE001 - cannot cross into C; see the module docstring
            return -1

    callback = proto(getbuffer)
    slots = (Slot * 2)(Slot(py_bf_getbuffer, ctypes.cast(callback, ctypes.c_void_p)), Slot(0, None))
    name = b"purezmq.sugar._buffer.BufferExporter"
    spec = Spec(name, 0, 0, tpflags, slots)
    from_spec = api.PyType_FromSpec
    from_spec.argtypes = [ctypes.POINTER(Spec)]
    from_spec.restype = ctypes.py_object
    try:
        cls = from_spec(ctypes.byref(spec))
    except Exception:  # noqa: BLE001 - an interpreter that refuses: no buffer, as before
        return None
    # The type points at these (tp_name at the spec's name on older versions, the
    # slot at the callback): keep them for the life of the process.
    cls._keep = (callback, slots, spec, name)
    cls.__doc__ = "Exports the buffer of ``self._buffer_source(flags)`` (Python < 3.12)."
    return cls


if TYPE_CHECKING:
    BufferExporter = object
    EXPORTS_BUFFER = True
elif sys.version_info >= (3, 12):
    BufferExporter = object
    EXPORTS_BUFFER = True
else:
    _made = _make_exporter()
    BufferExporter = object if _made is None else _made
    EXPORTS_BUFFER = _made is not None
