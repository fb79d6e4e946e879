"""``install_as_zmq()``: make ``import zmq`` resolve to purezmq.

A meta path finder maps every ``zmq.X`` import to the already-imported (or
freshly imported) ``purezmq.X`` module object, so ``import zmq.auth.thread``
or ``from zmq.eventloop import zmqstream`` give purezmq's modules -- never a
second copy of the same file under another name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

_PREFIX = "zmq."


class _AliasLoader(importlib.abc.Loader):
    """Hands out ``purezmq.X`` as the module for ``zmq.X``."""

    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """The target module was executed when it was imported."""

    def _real_loader(self) -> Any:
        spec = importlib.util.find_spec(self.target)
        if spec is None or spec.loader is None:
            raise ImportError(f"no module named {self.target!r}")
        return spec.loader

    def get_code(self, fullname: str) -> Any:
        """The target's code: ``python -m zmq.curve_keygen`` runs purezmq.curve_keygen."""
        return self._real_loader().get_code(self.target)

    def is_package(self, fullname: str) -> bool:
        return bool(self._real_loader().is_package(self.target))


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``zmq.X`` as ``purezmq.X`` (ImportError if purezmq has no X)."""

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if not fullname.startswith(_PREFIX):
            return None
        real = "purezmq." + fullname[len(_PREFIX) :]
        real_spec = importlib.util.find_spec(real)
        if real_spec is None:
            return None
        # A package stays a package under its alias, so that runpy looks for
        # ``zmq.X.__main__`` (``python -m zmq.log`` runs ``purezmq.log.__main__``).
        is_package = real_spec.submodule_search_locations is not None
        spec = importlib.machinery.ModuleSpec(fullname, _AliasLoader(real), is_package=is_package)
        if is_package:
            spec.submodule_search_locations = list(real_spec.submodule_search_locations or [])
        return spec


def install_as_zmq() -> None:
    """Alias purezmq (and its submodules) as ``zmq`` in ``sys.modules``.

    Run it before anything imports ``zmq``, so unmodified pyzmq programs use
    purezmq: ``import purezmq; purezmq.install_as_zmq(); import zmq``.
    Submodules (``zmq.asyncio``, ``zmq.auth.thread``, ``zmq.eventloop.zmqstream``,
    ...) resolve on import to the matching ``purezmq`` modules.
    """
    import purezmq

    sys.modules["zmq"] = purezmq
    for name, module in list(sys.modules.items()):
        if name.startswith("purezmq."):
            sys.modules["zmq." + name[len("purezmq.") :]] = module
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
