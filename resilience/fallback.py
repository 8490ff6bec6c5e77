"""Fallback (graceful degradation): answer with a value or a handler when a call fails.

``@fallback(value)`` returns ``value`` when the decorated function raises one of the
exception types in ``on=``; ``@fallback(handler)`` returns ``handler(exc, *args,
**kwargs)`` instead, so the handler sees the exception and the call's arguments.

How the positional form decides: a callable is a handler, anything else is a value.
To return a callable as the fallback value, say so with ``fallback(value=fn)``; the
explicit ``fallback(handler=fn)`` is also accepted.

Exceptions:
    ``on=`` defaults to :data:`DEFAULT_ON`: a rejected call (:class:`CircuitOpenError`,
    :class:`BulkheadFull`), a timeout (:class:`TimeoutExceeded`) and any other
    :class:`Exception`. Exceptions outside ``on=`` pass through unchanged, and so does
    every ``BaseException`` that is not an ``Exception`` (``asyncio.CancelledError``,
    ``KeyboardInterrupt``, ``SystemExit``): a fallback never hides a cancellation,
    and ``on=`` refuses such types.

Nothing is swallowed silently: the triggering exception is passed to the handler and
logged at DEBUG level on the ``resilience.fallback`` logger with its traceback. When
the handler raises, that exception propagates (chained to the original one through
``__context__``), so stacked fallbacks degrade in grades, the outer one catching what
the inner one could not serve::

    @fallback(STATIC_PAGE)                          # last resort
    @fallback(read_from_replica, on=CircuitOpenError)  # second best
    def read(key): ...

Sync and async: the wrapper is chosen once, at decoration. On an ``async def``
function the handler may be ``async def`` (it is awaited) or plain; an ``async def``
handler on a plain function is refused with :class:`InvalidUsage`.

Hook for composition: ``on_fallback=callback`` is called as ``callback(exc)`` in the
caller's own thread or task each time the fallback served an answer (not when the
handler raised). :class:`resilience.Policy` uses it to record the outcome
``fallback`` in its ledger; any code can do the same with a context variable::

    served = contextvars.ContextVar("served", default=False)
    guarded = fallback(0, on_fallback=lambda exc: served.set(True))(fn)
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, TypeVar, cast

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import logger as _logger_named
from ._observe import names as _names
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._recording import error_type_of, record_inside, with_fallback_hook
from ._validate import clock as valid_clock
from ._validate import exception_types, is_async, name_of
from ._wraps import wraps
from .clock import SYSTEM_CLOCK, Clock
from .errors import BulkheadFull, CircuitOpenError, InvalidUsage, TimeoutExceeded
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = ["DEFAULT_ON", "Fallback", "fallback"]

P = ParamSpec("P")
R = TypeVar("R")

_log = _logger_named("resilience.fallback")


class _Missing:
    """Marks a parameter that was not given (``None`` is a valid fallback value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Final = _Missing()

DEFAULT_ON: tuple[type[Exception], ...] = (
    CircuitOpenError,
    TimeoutExceeded,
    BulkheadFull,
    Exception,
)
"""What ``fallback`` degrades on by default: rejections, timeouts and any Exception."""


@dataclass(frozen=True, slots=True)
class Fallback:
    """A fallback configuration; apply it to a function to guard the function.

    Build it with :func:`fallback`. Exactly one of ``value`` and ``handler`` is set.

    Attributes:
        value: what to return on failure (when ``handler`` is None).
        handler: called as ``handler(exc, *args, **kwargs)`` on failure; its result
            is returned.
        on: the exception types that trigger the fallback.
        on_fallback: called as ``on_fallback(exc)`` whenever the fallback served.
        ledger: where to record one call row per call (outcome ``fallback`` when it
            served) and one attempt row per call of the function.
        clock: times the ledger rows.
    """

    value: object
    handler: Callable[..., Any] | None
    on: tuple[type[Exception], ...]
    on_fallback: Callable[[Exception], object] | None
    ledger: Ledger | None = None
    clock: Clock = SYSTEM_CLOCK

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Wrap ``fn`` (plain or ``async def``) with this fallback."""
        return self.observed(fn)

    def observed(
        self, fn: Callable[P, R], *, site: Site | None = None, attempts: Site | None = None
    ) -> Callable[P, R]:
        """Wrap ``fn``; telemetry observes each call at ``site`` (the wrapper is a Policy's
        outermost) and the call of ``fn`` as an attempt at ``attempts`` (what
        :class:`resilience.Policy` uses)."""
        if not callable(fn):
            raise InvalidUsage(f"fn={fn!r}: fallback(...) decorates a function or callable")
        if self.ledger is not None:
            return record_inside(self.ledger, fn, with_fallback_hook(self), self.clock)
        if is_async(fn):
            return cast(
                Callable[P, R], self._wrap_async(cast(Callable[..., Any], fn), site, attempts)
            )
        if self.handler is not None and is_async(self.handler):
            raise InvalidUsage(
                f"handler={name_of(self.handler)}: an async handler needs an async function, "
                f"and {name_of(fn)} is not one; give a plain function as the handler"
            )
        return self._wrap_sync(fn, site, attempts)

    def _wrap_sync(
        self, fn: Callable[P, R], site: Site | None, attempts: Site | None
    ) -> Callable[P, R]:
        on, handler, value, notify = self.on, self.handler, self.value, self.on_fallback
        name = name_of(fn)

        def serve(exc: Exception, args: Any, kwargs: Any) -> R:
            _served(name, exc)
            result = value if handler is None else handler(exc, *args, **kwargs)
            if notify is not None:
                notify(exc)
            return cast(R, result)

        @wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None:  # telemetry on (None while off: one check)
                return observed(args, kwargs)
            try:
                return fn(*args, **kwargs)
            except on as exc:
                return serve(exc, args, kwargs)

        def observed(args: Any, kwargs: Any) -> R:
            """``wrapper`` while telemetry is on: the call observed at ``site`` (the
            Policy's outermost wrapper), the call of ``fn`` as an attempt at ``attempts``."""
            active = _switches.hooks
            if site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            try:
                if active is None or attempts is None:
                    return fn(*args, **kwargs)
                return active.run_attempt(attempts, fn, args, kwargs)
            except on as exc:
                return serve(exc, args, kwargs)

        me = weakref.ref(wrapper)  # for observe_call: no reference cycle

        return wrapper

    def _wrap_async(
        self, fn: Callable[..., Awaitable[Any]], site: Site | None, attempts: Site | None
    ) -> Callable[..., Awaitable[Any]]:
        on, handler, value, notify = self.on, self.handler, self.value, self.on_fallback
        name = name_of(fn)

        async def serve(exc: Exception, args: Any, kwargs: Any) -> Any:
            _served(name, exc)
            if handler is None:
                result = value
            else:
                result = handler(exc, *args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
            if notify is not None:
                notify(exc)
            return result

        @wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            if _switches.hooks is not None:  # telemetry on (None while off: one check)
                return await observed(args, kwargs)
            try:
                return await fn(*args, **kwargs)
            except on as exc:
                return await serve(exc, args, kwargs)

        async def observed(args: Any, kwargs: Any) -> Any:
            """``wrapper`` while telemetry is on (see the sync one)."""
            active = _switches.hooks
            if site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            try:
                if active is None or attempts is None:
                    return await fn(*args, **kwargs)
                return await active.arun_attempt(attempts, fn, args, kwargs)
            except on as exc:
                return await serve(exc, args, kwargs)

        me = weakref.ref(wrapper)  # for observe_call: no reference cycle

        return wrapper


def _served(name: str, exc: BaseException) -> None:
    """Log and emit (a ``fallback`` event) that ``name`` raised ``exc`` and was covered."""
    _log.debug(
        "%s raised %s; serving the fallback",
        name,
        _kind(exc),
        exc_info=exc,
        extra=_names(function=name),
    )
    if _listening():
        _emit(
            "fallback",
            {
                "callwise.function": name,
                "callwise.outcome": "fallback",
                "error.type": error_type_of(exc),
            },
        )


def _kind(exc: BaseException) -> str:
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def fallback(
    value_or_handler: object = _MISSING,
    /,
    *,
    value: object = _MISSING,
    handler: Callable[..., Any] | None = None,
    on: type[Exception] | Iterable[type[Exception]] = DEFAULT_ON,
    on_fallback: Callable[[Exception], object] | None = None,
    ledger: Ledger | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Fallback:
    """Degrade gracefully: answer with a value or a handler's result when a call fails.

    Args:
        value_or_handler: a callable is a handler, anything else a value (see
            ``value=`` to return a callable as the value).
        value: the value to return on failure (may be None or a callable).
        handler: called as ``handler(exc, *args, **kwargs)`` on failure; may be
            ``async def`` when the guarded function is.
        on: exception type(s) that trigger the fallback; Exception subclasses only.
            Default :data:`DEFAULT_ON` (any Exception, never a cancellation).
        on_fallback: called as ``on_fallback(exc)`` each time the fallback served.
        ledger: a :class:`resilience.Ledger` recording each call (outcome ``fallback``
            when the fallback served) and each call of the function.
        clock: times the ledger rows (seconds).

    Returns:
        A :class:`Fallback`, to apply to a function as a decorator.

    Raises:
        InvalidUsage: none or more than one of value/handler given, a handler that is
            not callable, or ``on`` holding something other than Exception classes.

    Example:
        >>> @fallback(0.0, on=ZeroDivisionError)
        ... def ratio(a, b):
        ...     return a / b
        >>> ratio(1, 0)
        0.0
    """
    given = [
        label
        for label, item in (
            ("a positional argument", value_or_handler),
            ("value=", value),
            ("handler=", handler),
        )
        if item is not _MISSING and not (label == "handler=" and item is None)
    ]
    if len(given) != 1:
        what = " and ".join(given) if given else "nothing"
        raise InvalidUsage(
            f"fallback() got {what}: give exactly one of a positional value or handler, "
            "value=..., or handler=..."
        )
    if value_or_handler is not _MISSING:
        if callable(value_or_handler):
            handler = value_or_handler
        else:
            value = value_or_handler
    if handler is not None and not callable(handler):
        raise InvalidUsage(
            f"handler={handler!r}: must be callable as handler(exc, *args, **kwargs)"
        )
    if on_fallback is not None and (not callable(on_fallback) or is_async(on_fallback)):
        raise InvalidUsage(
            f"on_fallback={on_fallback!r}: must be a plain (not async) callable taking the "
            "exception"
        )
    types = exception_types("on", on)
    if not types:
        raise InvalidUsage(f"on={on!r}: give at least one exception class")
    for item in types:
        if not issubclass(item, Exception):
            raise InvalidUsage(
                f"on={on!r}: {item.__qualname__} is a BaseException but not an Exception; "
                "a fallback never catches cancellations or exits, give Exception subclasses"
            )
    valid_ledger("ledger", ledger)
    clock = valid_clock("clock", clock)
    return Fallback(
        value=None if value is _MISSING else value,
        handler=handler,
        on=cast(tuple[type[Exception], ...], types),
        on_fallback=on_fallback,
        ledger=ledger,
        clock=clock,
    )
