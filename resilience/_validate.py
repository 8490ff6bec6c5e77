"""Parameter checks shared by both packages: each error names the parameter, the value
and what is allowed.

Numbers have one checker, :func:`number`, driven by a :class:`Number` rule (the type, the
range and the message of one field), so that a table ``{field: Number(...)}`` describes the
numeric fields of a constructor or a file. :func:`positive`, :func:`positive_int` and
:func:`rate` are its common rules.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .clock import SYSTEM_CLOCK, Clock
from .errors import InvalidUsage


@dataclass(frozen=True, slots=True)
class Number:
    """What a numeric field allows, and what its error says: one row of a table of fields.

    NaN and bool (True, False) are never allowed. A value outside ``types`` fails with
    ``type_message``; any other refusal with ``message``. Both are ``str.format`` templates
    with ``name``, ``value`` (its repr) and ``allowed`` (``allowed``, or a text made from
    the rule, e.g. ``"a finite number > 0"``). An int too large for a float (``10**400``)
    is out of range for a rule that is not ``integral``, and one beyond a 64-bit integer
    (:data:`MAX_INTEGER`) for an ``integral`` rule: the message says so, and shows an
    int of more than 30 digits shortened.

    Attributes:
        low: the smallest value allowed; None for no lower bound.
        high: the largest value allowed; None for no upper bound.
        low_open: ``low`` itself is refused (``> low``, not ``>= low``).
        high_open: ``high`` itself is refused (``< high``, not ``<= high``).
        integral: only integers (``types`` that are ``numbers.Integral``, e.g. int or
            numpy's integers), returned as they are; otherwise the value is returned as a
            float.
        finite: infinities are refused.
        types: the types accepted (bool never is, whatever they say).
        convert: instead of ``types``, anything ``float()`` takes (numeric strings,
            ``Decimal``); for an API that has always converted with ``float()``.
        allowed: what is allowed, in words; default made from the rule.
        message: the error text.
        type_message: the error text for a value that is not of ``types``; default
            ``message``.
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integral: bool = False
    finite: bool = True
    types: tuple[type, ...] = (int, float)
    convert: bool = False
    allowed: str = ""
    message: str = "{name}={value}: must be {allowed}"
    type_message: str = ""

    def describe(self) -> str:
        """What the rule allows, in words (``allowed``, or e.g. ``"an integer >= 1"``)."""
        if self.allowed:
            return self.allowed
        kind = "an integer" if self.integral else "a finite number" if self.finite else "a number"
        return f"{kind} {self._bounds()}".rstrip()

    def _bounds(self) -> str:
        """The bounds in words: ``"in (0, 1]"``, ``">= 0"``, ``"< 1"`` or ``""``."""
        low, high = self.low, self.high
        if low is not None and high is not None:
            opening, closing = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"in {opening}{low:g}, {high:g}{closing}"
        if low is not None:
            return f"{'>' if self.low_open else '>='} {low:g}"
        if high is not None:
            return f"{'<' if self.high_open else '<='} {high:g}"
        return ""

    def in_range(self, value: Any) -> bool:
        """True when ``value`` (a number) is within the bounds; compared exactly, so a huge
        int is compared without becoming a float."""
        low, high = self.low, self.high
        above = low is None or (value > low if self.low_open else value >= low)
        below = high is None or (value < high if self.high_open else value <= high)
        return bool(above and below)


def number(
    name: str,
    value: object,
    rule: Number,
    *,
    error: Callable[[str], Exception] = InvalidUsage,
) -> float:
    """``value`` if ``rule`` allows it: as a float, or as it is for an ``integral`` rule.

    Args:
        name: the parameter or field, shown in the message.
        value: what was given.
        rule: what is allowed and what the error says.
        error: builds the exception from the message (default :class:`InvalidUsage`),
            e.g. one that also carries a file and a field.

    Raises:
        Exception: ``error(message)`` when ``value`` is not allowed.

    Example:
        >>> FIELDS = {
        ...     "seed": Number(low=0, integral=True),
        ...     "memory_mb": Number(low=0, low_open=True, allowed="a number of MB > 0"),
        ... }
        >>> number("seed", 7, FIELDS["seed"]), number("memory_mb", 128, FIELDS["memory_mb"])
        (7, 128.0)
        >>> number("memory_mb", 10**400, FIELDS["memory_mb"])
        Traceback (most recent call last):
        ...
        resilience.errors.InvalidUsage: memory_mb=1000...000 (401 digits): must be a number of MB > 0 (out of range: too large for a float)
    """  # noqa: E501
    checked, refusal = _checked(value, rule)
    if refusal is None:
        return checked
    template = rule.type_message or rule.message if refusal == _WRONG_TYPE else rule.message
    note = {
        _TOO_LARGE: " (out of range: too large for a float)",
        _TOO_LARGE_INT: " (out of range: too large for a 64-bit integer)",
    }.get(refusal, "")
    raise error(template.format(name=name, value=_shown(value), allowed=rule.describe()) + note)


# Why number() refuses a value.
_WRONG_TYPE, _OUT_OF_RANGE, _TOO_LARGE = "wrong type", "out of range", "too large for a float"
_TOO_LARGE_INT = "too large for a 64-bit integer"
#: The largest count any rule admits: what a 64-bit machine can hold and count to.
MAX_INTEGER = 2**63 - 1


def _checked(value: object, rule: Number) -> tuple[float, str | None]:
    """``(what number() returns, None)``, or ``(nan, why it is refused)``."""
    if isinstance(value, bool) or not (rule.convert or isinstance(value, rule.types)):
        return math.nan, _WRONG_TYPE
    if rule.integral:
        if not isinstance(value, numbers.Integral) or not rule.in_range(value):
            return math.nan, _OUT_OF_RANGE
        if abs(int(value)) > MAX_INTEGER:  # 10**400 workers: no machine can honour it
            return math.nan, _TOO_LARGE_INT
        return value, None  # type: ignore[return-value]  # an int (numpy's too), as it is
    return _checked_real(value, rule)


def _checked_real(value: object, rule: Number) -> tuple[float, str | None]:
    """:func:`_checked` for a rule that is not ``integral``: the value as a float."""
    try:
        as_float = float(value)  # type: ignore[arg-type]
    except OverflowError:  # an int no float holds: compared exactly
        return math.nan, _TOO_LARGE if rule.in_range(value) else _OUT_OF_RANGE
    except (TypeError, ValueError):  # with ``convert``: not something float() takes
        return math.nan, _WRONG_TYPE
    # Bounds are compared on the number itself (exactly); on the float for what only
    # converts to one (a numeric string).
    exact = value if isinstance(value, numbers.Real) else as_float
    finite_enough = not math.isnan(as_float) and (not rule.finite or math.isfinite(as_float))
    if finite_enough and rule.in_range(exact):
        return as_float, None
    return math.nan, _OUT_OF_RANGE


def _shown(value: object) -> str:
    """``repr(value)``; an int of more than 30 digits shortened (``1000...000 (401
    digits)``), one too long to print at all (over 4300 digits) by its size."""
    try:
        text = repr(value)
    except ValueError:  # int -> str conversion limit (sys.set_int_max_str_digits)
        return f"<int of {value.bit_length()} bits>"  # type: ignore[attr-defined]
    digits = text.lstrip("-")
    if isinstance(value, int) and len(digits) > 30:
        return f"{text[: len(text) - len(digits) + 4]}...{digits[-3:]} ({len(digits)} digits)"
    return text


_POSITIVE = Number(low=0, low_open=True)
_POSITIVE_OR_ZERO = Number(low=0)
_INTEGER_FROM_1 = Number(low=1, integral=True, types=(int,))
_INTEGER_FROM_0 = Number(low=0, integral=True, types=(int,))
_RATE = Number(low=0, high=1, low_open=True, allowed="a rate in (0, 1]")


def positive(name: str, value: float, *, allow_zero: bool = False) -> float:
    """``value`` as a float, if it is a finite number > 0 (or >= 0 with ``allow_zero``)."""
    return number(name, value, _POSITIVE_OR_ZERO if allow_zero else _POSITIVE)


def positive_int(name: str, value: int, *, allow_zero: bool = False) -> int:
    """``value`` if it is an int >= 1 (or >= 0 with ``allow_zero``)."""
    number(name, value, _INTEGER_FROM_0 if allow_zero else _INTEGER_FROM_1)
    return value


def rate(name: str, value: float) -> float:
    """``value`` as a float, if it is a share in (0, 1]."""
    return number(name, value, _RATE)


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
