"""The options of a circuit breaker: :class:`BreakerConfig` and the checks behind it.

Every check fails at construction with :class:`~resilience.InvalidUsage` naming the
option, the value and what is allowed.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias, TypeVar

from ._validate import exception_types, positive, positive_int, rate
from .clock import Clock
from .errors import InvalidUsage

__all__ = [
    "FAIL_MAX_DEFAULT",
    "BreakerConfig",
    "FailMax",
    "build_config",
    "check_clock",
    "check_listener",
    "check_name",
]

L = TypeVar("L")

DEFAULT_WINDOW_SIZE: Final = 100
"""Calls in the sliding window when a rate rule is set and ``window_size`` is not."""

DEFAULT_FAIL_MAX: Final = 5
"""Consecutive failures that trip a breaker given no rate rule (pybreaker's default)."""


class _FailMaxDefault(enum.Enum):
    """The type of :data:`FAIL_MAX_DEFAULT` (an enum, so that type checkers narrow it)."""

    FAIL_MAX_DEFAULT = enum.auto()

    def __repr__(self) -> str:  # shown by help(): say what the default means
        return f"<{DEFAULT_FAIL_MAX}, or off when a rate or slow-call rule is set>"


FAIL_MAX_DEFAULT: Final = _FailMaxDefault.FAIL_MAX_DEFAULT
"""``fail_max``'s default: 5 when no rate or slow-call rule is given, otherwise off, so
that the window alone decides as in resilience4j. An explicit ``fail_max=`` always applies."""

FailMax: TypeAlias = int | Literal[_FailMaxDefault.FAIL_MAX_DEFAULT] | None
"""What ``fail_max=`` takes: a count, None (off), or :data:`FAIL_MAX_DEFAULT`."""

_LISTENER_METHODS: Final = ("before_call", "success", "failure", "state_change")


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """The validated options of a :class:`CircuitBreaker` (see there for their meaning)."""

    fail_max: int | None
    reset_timeout_s: float
    failure_rate_threshold: float | None
    slow_call_s: float | None
    slow_call_rate_threshold: float | None
    window_size: int | None
    min_calls: int | None
    half_open_max_calls: int
    success_threshold: int
    exclude: tuple[type[BaseException], ...]
    exclude_if: tuple[Callable[[BaseException], bool], ...]
    sync_interval_s: float
    storage_retry_s: float


#: One ``exclude`` rule: an exception class, or a predicate of the exception (True: excluded).
ExcludeRule: TypeAlias = type[BaseException] | Callable[[BaseException], bool]
#: What ``exclude=`` takes: one rule or several.
Exclude: TypeAlias = ExcludeRule | Iterable[ExcludeRule]


def build_config(
    *,
    fail_max: FailMax,
    reset_timeout_s: float,
    failure_rate_threshold: float | None,
    window_size: int | None,
    min_calls: int | None,
    slow_call_s: float | None,
    slow_call_rate_threshold: float | None,
    half_open_max_calls: int,
    success_threshold: int,
    exclude: Exclude,
    sync_interval_s: float,
    storage_retry_s: float,
) -> BreakerConfig:
    """Validate the options; each error names the option, the value and what is allowed."""
    if isinstance(fail_max, _FailMaxDefault):
        uses_rate = failure_rate_threshold is not None or slow_call_s is not None
        fail_max = None if uses_rate else DEFAULT_FAIL_MAX
    elif fail_max is not None:
        positive_int("fail_max", fail_max)
    positive("reset_timeout_s", reset_timeout_s)
    slow_call_rate_threshold = _rate_rules(
        failure_rate_threshold, slow_call_s, slow_call_rate_threshold
    )
    uses_window = failure_rate_threshold is not None or slow_call_s is not None
    window_size, min_calls = _window(window_size, min_calls, uses_window=uses_window)
    if fail_max is None and not uses_window:
        raise InvalidUsage(
            "fail_max=None: with no failure_rate_threshold and no slow_call_s nothing "
            "would ever trip the breaker; give at least one trip rule"
        )
    rules = _exclude_rules(exclude)
    return BreakerConfig(
        fail_max=fail_max,
        reset_timeout_s=float(reset_timeout_s),
        failure_rate_threshold=failure_rate_threshold,
        slow_call_s=slow_call_s,
        slow_call_rate_threshold=slow_call_rate_threshold,
        window_size=window_size,
        min_calls=min_calls,
        half_open_max_calls=positive_int("half_open_max_calls", half_open_max_calls),
        success_threshold=positive_int("success_threshold", success_threshold),
        exclude=exception_types("exclude", [r for r in rules if isinstance(r, type)]),
        exclude_if=tuple(r for r in rules if not isinstance(r, type)),
        sync_interval_s=positive("sync_interval_s", sync_interval_s, allow_zero=True),
        storage_retry_s=positive("storage_retry_s", storage_retry_s),
    )


def _rate_rules(
    failure_rate_threshold: float | None,
    slow_call_s: float | None,
    slow_call_rate_threshold: float | None,
) -> float | None:
    """Check the rate rules; the slow-call rate threshold (1.0 when only slow_call_s)."""
    if failure_rate_threshold is not None:
        rate("failure_rate_threshold", failure_rate_threshold)
    if slow_call_s is not None:
        positive("slow_call_s", slow_call_s)
        if slow_call_rate_threshold is None:
            slow_call_rate_threshold = 1.0
    if slow_call_rate_threshold is not None:
        rate("slow_call_rate_threshold", slow_call_rate_threshold)
        if slow_call_s is None:
            raise InvalidUsage(
                f"slow_call_rate_threshold={slow_call_rate_threshold!r}: needs slow_call_s, "
                "the duration in seconds above which a call counts as slow"
            )
    return slow_call_rate_threshold


def _window(
    window_size: int | None, min_calls: int | None, *, uses_window: bool
) -> tuple[int | None, int | None]:
    """Check the sliding window's size and minimum calls; their defaults with a rate rule."""
    for option, value in (("window_size", window_size), ("min_calls", min_calls)):
        if value is None:
            continue
        positive_int(option, value)
        if not uses_window:
            raise InvalidUsage(
                f"{option}={value!r}: only used by the rate rules; "
                "also give failure_rate_threshold or slow_call_s"
            )
    if not uses_window:
        return window_size, min_calls
    window_size = DEFAULT_WINDOW_SIZE if window_size is None else window_size
    min_calls = window_size if min_calls is None else min_calls
    if min_calls > window_size:
        raise InvalidUsage(
            f"min_calls={min_calls!r}: must be <= window_size ({window_size}), "
            "the window never holds more calls than that"
        )
    return window_size, min_calls


def _exclude_rules(exclude: Exclude) -> tuple[ExcludeRule, ...]:
    """``exclude`` as a tuple of exception classes and predicates ``(exc) -> bool``."""
    if isinstance(exclude, str):  # else its letters would be checked one by one
        raise InvalidUsage(
            f"exclude={exclude!r}: give exception classes, not their names, "
            "e.g. exclude=KeyError or exclude=(KeyError, LookupError)"
        )
    if isinstance(exclude, type) or not isinstance(exclude, Iterable):
        exclude = (exclude,)
    rules = tuple(exclude)
    for rule in rules:
        if isinstance(rule, type) and issubclass(rule, BaseException):
            continue
        if isinstance(rule, (type, str)) or not callable(rule):
            raise InvalidUsage(
                f"exclude={exclude!r}: {rule!r} is neither an exception class nor a "
                "predicate; give classes (KeyError) or functions of the exception that "
                "return True to exclude it (lambda e: e.status == 404)"
            )
    return rules


def check_name(name: str) -> str:
    """``name`` if it is a non-empty string."""
    if not isinstance(name, str) or not name:
        raise InvalidUsage(f"name={name!r}: must be a non-empty string")
    return name


def check_clock(clock: Clock) -> Clock:
    """``clock`` if it has ``monotonic()``, ``sleep()`` and ``asleep()``."""
    if not isinstance(clock, Clock):
        raise InvalidUsage(
            f"clock={clock!r}: must have monotonic(), sleep() and asleep(), "
            "e.g. resilience.SYSTEM_CLOCK or resilience.testing.FakeClock"
        )
    return clock


def check_listener(listener: L) -> L:
    """``listener`` if it has the four methods of :class:`~resilience.BreakerListener`."""
    missing = [m for m in _LISTENER_METHODS if not callable(getattr(listener, m, None))]
    if missing:
        raise InvalidUsage(
            f"listeners: {listener!r} lacks {', '.join(missing)}; give objects with "
            "before_call, success, failure and state_change, e.g. subclasses of "
            "pybreaker.CircuitBreakerListener"
        )
    return listener
