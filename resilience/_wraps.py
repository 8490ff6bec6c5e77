"""``functools.wraps`` for our decorators: the wrapper also carries the defaults.

tenacity's wrappers copy ``__defaults__`` and ``__kwdefaults__`` besides what
``functools.wraps`` copies, so code that reads a decorated function's defaults (argument
parsers, dependency injectors) sees the original ones; ours do the same.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["wraps"]

F = TypeVar("F", bound=Callable[..., Any])

ASSIGNED = (*functools.WRAPPER_ASSIGNMENTS, "__defaults__", "__kwdefaults__")


def wraps(fn: Callable[..., Any]) -> Callable[[F], F]:
    """Like ``functools.wraps(fn)``, copying ``__defaults__`` and ``__kwdefaults__`` too."""

    def decorate(wrapper: F) -> F:
        functools.update_wrapper(wrapper, fn, assigned=ASSIGNED)
        return wrapper

    return decorate
