"""pyzmq's ``zmq.utils.win32``: let Ctrl-C reach a program blocked in a poll on Windows.

On Windows, Python learns of Ctrl-C from a console control handler that only
sets a flag; the ``KeyboardInterrupt`` is raised when the main thread next
runs Python code. A thread asleep in a long poll does not, so the interrupt
waits. :class:`allow_interrupt` installs a second console control handler for
the duration of a ``with`` block. On Ctrl-C it calls your ``action`` -- which
should wake the poll, for instance by sending to a PAIR socket the poll
watches, or by stopping an event loop -- and then lets Python's own handler
run, so the ``KeyboardInterrupt`` follows as soon as the poll returns.

Everywhere else Ctrl-C already interrupts a blocking call (SIGINT), so the
class is a no-op there: programs can use it unconditionally.

How far this is tested: purezmq's CI has no Windows, so the Windows path has
never run on Windows. tests/test_win32.py runs it on Linux with only what
Linux lacks stubbed (``ctypes.WinDLL`` giving a Python SetConsoleCtrlHandler,
``WINFUNCTYPE`` as ``CFUNCTYPE``, ``WinError``/``get_last_error``): the
handler is a real ctypes callback, registered on entry, removed on exit, and
called through ctypes as Windows would call it; a registration failure
raises the OSError. A test using the real kernel32 runs only on Windows.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

__all__ = ["allow_interrupt"]

CTRL_C_EVENT = 0  # the event number a console control handler gets for Ctrl-C


def _is_windows() -> bool:
    return sys.platform == "win32"


def _console_api() -> tuple[
    Callable[[Any, bool], int], Callable[[Any], Any], Callable[[], OSError]
]:
    """kernel32's ``SetConsoleCtrlHandler``, the ctypes type of a handler routine
    (``BOOL WINAPI HandlerRoutine(DWORD)``), and a function making an OSError from
    the last Windows error. Windows only."""
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
    handler_type = ctypes.WINFUNCTYPE(wintypes.BOOL, wintypes.DWORD)  # type: ignore[attr-defined]
    set_handler = kernel32.SetConsoleCtrlHandler
    set_handler.argtypes = (handler_type, wintypes.BOOL)
    set_handler.restype = wintypes.BOOL

    def last_error() -> OSError:
        return ctypes.WinError(ctypes.get_last_error())  # type: ignore[attr-defined]

    return set_handler, handler_type, last_error


class allow_interrupt:
    """Context manager: on Windows, call ``action`` when Ctrl-C is pressed inside the block.

    ``action`` takes no arguments; its return value is ignored, and it runs in
    the thread Windows creates for console events, so it should only do
    something thread-safe and quick that unblocks the main thread (send to a
    socket the main thread polls, ``loop.call_soon_threadsafe(loop.stop)``).
    An exception it raises is printed and otherwise ignored. Without
    ``action`` the handler does nothing but is still installed.

    The ``KeyboardInterrupt`` itself is Python's: this handler reports the
    event as not handled, so the interpreter's handler runs after it.

    Not on Windows: entering and leaving do nothing.

    Example::

        def wake():
            waker.send(b"")          # a PAIR connected to one the poller watches

        with allow_interrupt(wake):
            while True:
                poller.poll()        # Ctrl-C: wake() makes it return, then KeyboardInterrupt
    """

    def __init__(self, action: Callable[[], Any] | None = None) -> None:
        self.action: Callable[[], Any] = action if action is not None else _nothing
        self._installed = False
        self._api: Any = None
        self.handle: Any = None  # the ctypes callback; kept referenced while installed
        if _is_windows():
            self._api = _console_api()
            handler_type = self._api[1]
            self.handle = handler_type(self._on_console_event)

    def _on_console_event(self, event: int) -> int:
        """The console control handler: run ``action`` for Ctrl-C, report "not handled"."""
        if event == CTRL_C_EVENT:
            try:
                self.action()
            except BaseException:
                import traceback

                traceback.print_exc()
        return 0  # not handled: Python's own handler turns it into KeyboardInterrupt

    def __enter__(self) -> allow_interrupt:
        if self._api is not None and not self._installed:
            set_handler, _, last_error = self._api
            if not set_handler(self.handle, True):
                raise last_error()
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._api is not None and self._installed:
            set_handler, _, last_error = self._api
            self._installed = False
            if not set_handler(self.handle, False):
                raise last_error()


def _nothing() -> None:
    return None
