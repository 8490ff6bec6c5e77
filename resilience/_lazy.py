"""Lazy re-exports for a package ``__init__`` (PEP 562): a name's module loads on first use.

Both packages list their public names in ``__all__`` and say where each one lives; the
modules behind them (pandas and matplotlib for costmodel, pybreaker and tenacity for
resilience) load only when a name is first used. ``__version__`` comes from the installed
distribution's metadata.

Some public names are functions named like the module that defines them
(``resilience.retry`` the decorator, in ``resilience/retry.py``). When Python imports such
a submodule it binds the module to the package attribute of the same name; the package's
module class refuses that one binding, so ``resilience.retry`` stays the decorator, as it
was with eager imports.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]

DISTRIBUTION = "callwise"


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package that re-exports lazily.

    Args:
        package: the package's ``__name__``.
        exports: public name -> the module (relative to ``package``) that defines it.
        namespace: the package's ``globals()``; a loaded name is cached there, so each
            is looked up once.
    """

    def __getattr__(name: str) -> Any:
        if name == "__version__":
            from importlib.metadata import version

            return version(DISTRIBUTION)
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    shadowed = frozenset(name for name, module in exports.items() if module == f".{name}")
    if shadowed:
        sys.modules[package].__class__ = _package_class(shadowed)
    return __getattr__, __dir__


def _package_class(shadowed: frozenset[str]) -> type[types.ModuleType]:
    """A module class that keeps ``shadowed`` names from being rebound to submodules."""

    class Package(types.ModuleType):
        def __setattr__(self, name: str, value: Any) -> None:
            if name in shadowed and isinstance(value, types.ModuleType):
                return  # the import system binding resilience/retry.py over resilience.retry
            super().__setattr__(name, value)

    return Package
