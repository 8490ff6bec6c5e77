"""Parameter checks shared by every decorator: each error names the parameter, the
value and what is allowed."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterable
from typing import Any

from .clock import SYSTEM_CLOCK, Clock
from .errors import InvalidUsage


def positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """``value`` as a float, if it is a finite number > 0 (or >= 0 with ``allow_zero``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and math.isfinite(value) and (value > 0 or (allow_zero and value == 0)):
        return float(value)
    allowed = "a finite number >= 0" if allow_zero else "a finite number > 0"
    raise InvalidUsage(f"{name}={value!r}: must be {allowed}")


def positive_int(name: str, value: int, *, allow_zero: bool = False) -> int:
    """``value`` if it is an int >= 1 (or >= 0 with ``allow_zero``)."""
    low = 0 if allow_zero else 1
    if isinstance(value, int) and not isinstance(value, bool) and value >= low:
        return value
    raise InvalidUsage(f"{name}={value!r}: must be an integer >= {low}")


def rate(name: str, value: float) -> float:
    """``value`` if it is a share in (0, 1]."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and 0 < value <= 1:
        return float(value)
    raise InvalidUsage(f"{name}={value!r}: must be a rate in (0, 1]")


def exception_types(
    name: str, value: type[BaseException] | Iterable[type[BaseException]]
) -> tuple[type[BaseException], ...]:
    """``value`` as a tuple of exception classes; one class alone is accepted."""
    if isinstance(value, str):  # iterable, so it would be taken letter by letter
        raise InvalidUsage(
            f"{name}={value!r}: a string, not an exception class; give the class itself "
            f"({value}, not {value!r})"
        )
    items = (value,) if isinstance(value, type) else value
    try:
        result = tuple(items)
    except TypeError:
        result = (value,)  # type: ignore[assignment]
    for item in result:
        if isinstance(item, str):
            raise InvalidUsage(
                f"{name}={value!r}: {item!r} is not an exception class but a string; give "
                f"the class itself ({item}, not {item!r})"
            )
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise InvalidUsage(
                f"{name}={value!r}: {item!r} is not an exception class; "
                "give exception classes, e.g. (ConnectionError, TimeoutError)"
            )
    return result


def clock(name: str, value: Clock | None) -> Clock:
    """``value`` if it is a clock (``monotonic()``, ``sleep()``, ``asleep()``); None gives
    :data:`~resilience.SYSTEM_CLOCK`."""
    if value is None:
        return SYSTEM_CLOCK
    if all(callable(getattr(value, method, None)) for method in ("monotonic", "sleep", "asleep")):
        return value
    raise InvalidUsage(
        f"{name}={value!r}: must have monotonic(), sleep() and async asleep(); give an object "
        "with those methods, e.g. resilience.SYSTEM_CLOCK or resilience.testing.FakeClock"
    )


def name_of(fn: Callable[..., Any]) -> str:
    """A readable name for ``fn``: its qualified name, or its repr."""
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def is_async(fn: Callable[..., Any]) -> bool:
    """True when calling ``fn`` returns a coroutine (decided once, at decoration)."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - callable objects with async __call__
    )
