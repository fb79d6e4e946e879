"""purezmq.error against pyzmq's zmq.error."""

from __future__ import annotations

import errno
import os
import pickle

import pytest

import purezmq.error as E
from purezmq.constants import Errno

zmq = pytest.importorskip("zmq")
ze = pytest.importorskip("zmq.error")

CLASSES = [
    "ZMQBaseError",
    "ZMQError",
    "Again",
    "ContextTerminated",
    "NotDone",
    "ZMQBindError",
    "ZMQVersionError",
    "InterruptedSystemCall",
    "DraftFDWarning",
]
BUILTINS = [Exception, OSError, InterruptedError, NotImplementedError, RuntimeError, Warning]


@pytest.mark.parametrize("name", CLASSES)
def test_hierarchy_matches_pyzmq(name: str) -> None:
    ours = getattr(E, name)
    theirs = getattr(ze, name)
    for other in CLASSES:
        assert issubclass(ours, getattr(E, other)) == issubclass(theirs, getattr(ze, other)), (
            name,
            other,
        )
    for base in BUILTINS:
        assert issubclass(ours, base) == issubclass(theirs, base), (name, base)


def test_public_names() -> None:
    for name in ze.__all__:
        assert hasattr(E, name), name


def _view(err: BaseException) -> tuple[object, ...]:
    e = err  # ZMQError-like
    return (
        type(e).__name__,
        getattr(e, "errno", None),
        type(getattr(e, "errno", None)).__name__,
        getattr(e, "strerror", None),
        str(e),
    )


@pytest.mark.parametrize(
    "args",
    [
        (),
        (None, "m"),
        (errno.EAGAIN,),
        (errno.EINVAL, "boom"),
        (12345,),
        (int(Errno.EFSM),),
        (int(Errno.ETERM),),
        (int(Errno.EHOSTUNREACH),),
        (errno.EINTR,),
        ("just a message",),
    ],
)
def test_zmqerror_constructor_matches_pyzmq(args: tuple[object, ...]) -> None:
    ours = E.ZMQError(*args)  # type: ignore[arg-type]
    theirs = ze.ZMQError(*args)
    assert _view(ours) == _view(theirs)
    assert ours.args == theirs.args
    assert repr(ours) == repr(theirs)


def test_zmqerror_does_not_pick_a_subclass() -> None:
    # like pyzmq: ZMQError(EAGAIN) is a plain ZMQError; make_error picks Again
    assert type(E.ZMQError(errno.EAGAIN)) is E.ZMQError
    assert type(ze.ZMQError(errno.EAGAIN)) is ze.ZMQError


@pytest.mark.parametrize("name", ["Again", "ContextTerminated", "InterruptedSystemCall"])
def test_fixed_errno_subclasses_match_pyzmq(name: str) -> None:
    ours = getattr(E, name)()
    theirs = getattr(ze, name)()
    assert ours.errno == theirs.errno
    assert ours.strerror == theirs.strerror
    assert ours.args == theirs.args
    assert str(ours).replace("purezmq", "pyzmq").lower() == str(theirs).lower()


def test_subclasses_keep_a_given_message() -> None:
    err = E.Again(errno.EAGAIN, "send timed out")
    assert str(err) == "send timed out"
    assert err.errno == errno.EAGAIN


def test_interrupted_system_call_is_an_oserror() -> None:
    err = E.InterruptedSystemCall()
    assert isinstance(err, InterruptedError)
    assert err.errno == errno.EINTR
    with pytest.raises(OSError):
        raise err


@pytest.mark.parametrize(
    "num, cls",
    [
        (errno.EAGAIN, "Again"),
        (int(Errno.ETERM), "ContextTerminated"),
        (errno.EINTR, "InterruptedSystemCall"),
        (errno.EINVAL, "ZMQError"),
        (int(Errno.EFSM), "ZMQError"),
    ],
)
def test_make_error_picks_subclass(num: int, cls: str) -> None:
    err = E.make_error(num)
    assert type(err) is getattr(E, cls)
    assert err.errno == num
    assert err.strerror == E.strerror(num)
    assert str(E.make_error(num, "custom")) == "custom"
    with pytest.raises(getattr(E, cls)):
        E.raise_errno(num)


def test_library_eagain_is_caught_by_again() -> None:
    with pytest.raises(E.Again):
        E.raise_errno(errno.EAGAIN, "no message available")
    with pytest.raises(E.ZMQError) as info:
        E.raise_errno(int(Errno.ETERM))
    assert isinstance(info.value, E.ContextTerminated)


def test_errno_is_kept_as_given() -> None:
    # like pyzmq: no conversion, but the fixed subclasses use Errno members
    assert type(E.ZMQError(errno.EINVAL).errno) is int
    assert E.ZMQError(Errno.EINVAL).errno is Errno.EINVAL
    assert E.Again().errno is Errno.EAGAIN
    assert E.ContextTerminated().errno is Errno.ETERM


def test_strerror_matches_pyzmq() -> None:
    for member in Errno:
        assert E.strerror(member) == zmq.strerror(member), member.name
    for num in range(0, 134):
        assert E.strerror(num) == zmq.strerror(num), num
    assert E.strerror(int(Errno.EHOSTUNREACH)) == "Host unreachable"
    assert E.strerror(int(Errno.ETERM)) == "Context was terminated"


def test_strerror_fallback_texts() -> None:
    assert E.strerror(E.ZMQ_HAUSNUMERO + 1) == "Not supported"
    assert E.strerror(123456789) == os.strerror(123456789)


@pytest.mark.parametrize(
    "err",
    [
        E.ZMQError(errno.EINVAL, "bad"),
        E.ZMQError("message only"),  # type: ignore[arg-type]
        E.Again(),
        E.Again(errno.EAGAIN, "custom"),
        E.ContextTerminated(),
        E.InterruptedSystemCall(),
    ],
)
def test_pickle_round_trip(err: E.ZMQError) -> None:
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert copy.errno == err.errno
    assert str(copy) == str(err)


def test_version_error() -> None:
    err = E.ZMQVersionError("4.5", "Frobnication")
    assert isinstance(err, NotImplementedError)
    assert err.min_version == "4.5" and err.msg == "Frobnication"
    assert str(err) == f"Frobnication requires libzmq >= 4.5, have {err.version}"


def test_other_errors() -> None:
    assert str(E.ZMQBindError("no port")) == "no port"
    assert isinstance(E.NotDone(), E.ZMQBaseError)
    assert "DraftFDWarning" in str(E.DraftFDWarning())
