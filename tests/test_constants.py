"""purezmq.constants against pyzmq's zmq.constants (pyzmq is the reference)."""

from __future__ import annotations

import enum
import errno

import pytest

import purezmq.constants as C

zmq = pytest.importorskip("zmq")
zc = pytest.importorskip("zmq.constants")

ENUM_CLASSES = [
    "SocketType",
    "SocketOption",
    "Flag",
    "PollEvent",
    "Event",
    "Errno",
    "ContextOption",
    "MessageOption",
    "SecurityMechanism",
    "RouterNotify",
    "NormMode",
    "ReconnectStop",
    "DeviceType",
]

# prefix of the module-level names of each enum's members
PREFIXES = {"RouterNotify": "NOTIFY_", "NormMode": "NORM_", "ReconnectStop": "RECONNECT_STOP_"}


def _is_enum_class(obj: object) -> bool:
    return isinstance(obj, type) and issubclass(obj, enum.Enum)


def test_every_pyzmq_constant_exists_with_same_value() -> None:
    for name in zc.__all__:
        theirs = getattr(zc, name)
        assert hasattr(C, name), name
        ours = getattr(C, name)
        if _is_enum_class(theirs):
            assert _is_enum_class(ours), name
        else:
            assert ours == theirs, name
            assert type(ours).__name__ == type(theirs).__name__, name


def test_every_uppercase_int_of_zmq_exists_with_same_value() -> None:
    names = [n for n in dir(zmq) if n.isupper() and isinstance(getattr(zmq, n), int)]
    assert len(names) > 200
    for name in names:
        assert hasattr(C, name), name
        if name in ("DRAFT_API", "PYZMQ_DRAFT_API"):
            # ours follows purezmq's draft support, not pyzmq's build
            assert isinstance(getattr(C, name), bool)
            continue
        assert getattr(C, name) == getattr(zmq, name), name


@pytest.mark.parametrize("cls_name", ENUM_CLASSES)
def test_enum_classes_have_same_members(cls_name: str) -> None:
    theirs = getattr(zc, cls_name)
    ours = getattr(C, cls_name)
    assert {k: int(v) for k, v in ours.__members__.items()} == {
        k: int(v) for k, v in theirs.__members__.items()
    }
    # same kind of enum (IntEnum vs IntFlag)
    assert issubclass(ours, enum.IntFlag) == issubclass(theirs, enum.IntFlag)
    assert issubclass(ours, int)
    # canonical names (the one an alias resolves to) agree
    for name in theirs.__members__:
        assert ours[name].name == theirs[name].name, name


@pytest.mark.parametrize("cls_name", ENUM_CLASSES)
def test_module_names_are_the_enum_members(cls_name: str) -> None:
    cls = getattr(C, cls_name)
    for name, member in cls.__members__.items():
        if cls_name == "Event":
            prefix = "" if name.startswith("PROTOCOL_ERROR") else "EVENT_"
        else:
            prefix = PREFIXES.get(cls_name, "")
        module_name = prefix + name
        assert getattr(C, module_name) is member, module_name
        assert module_name in C.__all__


def test_all_is_complete_and_unique() -> None:
    assert len(C.__all__) == len(set(C.__all__))
    for name in C.__all__:
        assert hasattr(C, name), name
    assert set(zc.__all__) <= set(C.__all__)


def test_errno_values() -> None:
    assert C.ZMQ_HAUSNUMERO == 156384712
    assert C.EFSM == C.ZMQ_HAUSNUMERO + 51
    assert C.ENOCOMPATPROTO == C.ZMQ_HAUSNUMERO + 52
    assert C.ETERM == C.ZMQ_HAUSNUMERO + 53
    assert C.EMTHREAD == C.ZMQ_HAUSNUMERO + 54
    for member in C.Errno:
        platform_value = getattr(errno, member.name, None)
        if platform_value is not None:
            assert member == platform_value, member.name
        else:
            assert member > C.ZMQ_HAUSNUMERO, member.name


def test_enum_behaviour() -> None:
    assert C.NOBLOCK is C.DONTWAIT
    assert C.XREQ is C.DEALER and C.XREP is C.ROUTER
    assert C.IDENTITY is C.ROUTING_ID
    assert C.EVENT_ALL is C.EVENT_ALL_V1
    assert C.EVENT_ALL_V2 == C.EVENT_ALL_V1 | C.EVENT_PIPES_STATS
    assert C.DONTWAIT | C.SNDMORE == 3
    assert isinstance(C.POLLIN | C.POLLOUT, C.PollEvent)
    assert C.SocketType(1) is C.PUB
    assert C.SOCKET_LIMIT == C.THREAD_PRIORITY == 3
    assert C.RECONNECT_STOP == 109 and C.RECONNECT_STOP_CONN_REFUSED == 1
