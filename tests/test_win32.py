"""purezmq.utils.win32.allow_interrupt: a console control handler on Windows, a no-op elsewhere.

Off Windows the Windows path runs against a stand-in for kernel32 (what the
handler registers and when, what it does with each console event); on
Windows a test registers the real handler and calls it as Windows would.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

from purezmq.utils import win32
from purezmq.utils.win32 import allow_interrupt


class FakeKernel32:
    """Stands in for SetConsoleCtrlHandler and the handler routine type."""

    def __init__(self, fail: bool = False) -> None:
        self.installed: list[Any] = []
        self.calls: list[tuple[Any, bool]] = []
        self.fail = fail

    def set_handler(self, handler: Any, add: bool) -> int:
        self.calls.append((handler, add))
        if self.fail:
            return 0
        if add:
            self.installed.append(handler)
        else:
            self.installed.remove(handler)
        return 1

    def api(self) -> tuple[Any, Any, Any]:
        return self.set_handler, (lambda f: f), (lambda: OSError("SetConsoleCtrlHandler failed"))


@pytest.fixture
def fake_windows(monkeypatch: pytest.MonkeyPatch) -> FakeKernel32:
    k = FakeKernel32()
    monkeypatch.setattr(win32, "_is_windows", lambda: True)
    monkeypatch.setattr(win32, "_console_api", k.api)
    return k


@pytest.mark.skipif(sys.platform == "win32", reason="the no-op is for other platforms")
def test_noop_off_windows() -> None:
    called = []
    with allow_interrupt(lambda: called.append(1)) as ai:
        assert isinstance(ai, allow_interrupt)
    with allow_interrupt():
        pass
    assert called == []


def test_handler_installed_for_the_block_only(fake_windows: FakeKernel32) -> None:
    ai = allow_interrupt()
    assert fake_windows.installed == []
    with ai:
        assert fake_windows.installed == [ai.handle]
    assert fake_windows.installed == []
    assert fake_windows.calls == [(ai.handle, True), (ai.handle, False)]


def test_ctrl_c_runs_the_action_and_leaves_the_event_to_python(fake_windows: FakeKernel32) -> None:
    called: list[str] = []
    with allow_interrupt(lambda: called.append("woken")):
        handler = fake_windows.installed[0]
        assert handler(win32.CTRL_C_EVENT) == 0  # "not handled": KeyboardInterrupt follows
        assert handler(1) == 0  # CTRL_BREAK_EVENT: not ours
        assert handler(2) == 0  # CTRL_CLOSE_EVENT
    assert called == ["woken"]


def test_an_action_that_raises_is_reported_not_propagated(
    fake_windows: FakeKernel32, capsys: pytest.CaptureFixture[str]
) -> None:
    def bad() -> None:
        raise RuntimeError("action broke")

    with allow_interrupt(bad):
        assert fake_windows.installed[0](win32.CTRL_C_EVENT) == 0
    assert "action broke" in capsys.readouterr().err


def test_registration_failure_raises_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    k = FakeKernel32(fail=True)
    monkeypatch.setattr(win32, "_is_windows", lambda: True)
    monkeypatch.setattr(win32, "_console_api", k.api)
    with pytest.raises(OSError, match="SetConsoleCtrlHandler"):
        with allow_interrupt():
            pass


@pytest.mark.skipif(sys.platform != "win32", reason="needs Windows' kernel32")
def test_real_console_handler_on_windows() -> None:
    called = []
    ai = allow_interrupt(lambda: called.append(1))
    with ai:
        # Call the registered ctypes callback the way Windows would, without
        # sending a real Ctrl-C to every process on the console.
        assert ai.handle(win32.CTRL_C_EVENT) == 0
    assert called == [1]


def test_windows_path_through_ctypes_with_kernel32_stubbed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ``_console_api`` and a real ctypes callback, with only what Linux lacks
    stubbed: ``WinDLL`` (kernel32's SetConsoleCtrlHandler is a Python function here),
    ``WINFUNCTYPE`` (CFUNCTYPE: cdecl instead of stdcall, the same ctypes machinery),
    ``WinError`` and ``get_last_error``. What this cannot show, Windows itself calling
    the handler on Ctrl-C, only ``test_real_console_handler_on_windows`` does."""
    import ctypes

    registered: list[tuple[Any, bool]] = []
    last_error = [0]

    def set_console_ctrl_handler(handler: Any, add: bool) -> int:
        registered.append((handler, bool(add)))
        return 0 if last_error[0] else 1

    class Kernel32:
        SetConsoleCtrlHandler = staticmethod(set_console_ctrl_handler)

    def win_dll(name: str, use_last_error: bool = False) -> Kernel32:
        assert name == "kernel32" and use_last_error
        return Kernel32()

    if sys.platform != "win32":
        monkeypatch.setattr(ctypes, "WinDLL", win_dll, raising=False)
        monkeypatch.setattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE, raising=False)
        monkeypatch.setattr(ctypes, "get_last_error", lambda: last_error[0], raising=False)
        monkeypatch.setattr(
            ctypes, "WinError", lambda code: OSError(code, f"Windows error {code}"), raising=False
        )
    else:
        pytest.skip("on Windows the real kernel32 is used (test_real_console_handler_on_windows)")
    monkeypatch.setattr(win32, "_is_windows", lambda: True)

    set_handler, handler_type, _ = win32._console_api()
    assert set_handler is set_console_ctrl_handler
    assert set_handler.argtypes == (handler_type, ctypes.c_long)  # type: ignore[attr-defined]
    called: list[int] = []
    ai = allow_interrupt(lambda: called.append(1))
    assert isinstance(ai.handle, handler_type)  # a ctypes callback Windows could call
    with ai:
        assert registered == [(ai.handle, True)]
        assert ai.handle(win32.CTRL_C_EVENT) == 0  # through ctypes, as from C
        assert ai.handle(2) == 0
    assert registered[-1] == (ai.handle, False)
    assert called == [1]
    last_error[0] = 5  # ERROR_ACCESS_DENIED
    with pytest.raises(OSError, match="Windows error 5"):
        with allow_interrupt():
            pass
