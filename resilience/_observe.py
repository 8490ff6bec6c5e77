"""Where telemetry meets the call path: call and attempt layers, live parts, log fields.

Nothing here imports OpenTelemetry. :func:`resilience.telemetry.enable` installs a
:class:`Hooks` object (built in ``resilience/_otel.py``, the one module that imports the
OpenTelemetry API); :func:`resilience.telemetry.disable` removes it. Until then:

- a :class:`resilience.Policy` adds no layer of its own: the wrapper already outermost
  (a part's, or the ledger's call layer) checks :data:`switches` and, while telemetry is
  on, hands itself to :func:`observe_call` (which calls it back: :func:`entering` tells
  the two entries apart); the wrapper that calls each attempt (the ledger's attempt
  layer, retry, cache, fallback) calls it through :meth:`Hooks.run_attempt` instead. Off,
  each boundary costs one global lookup, one attribute and one comparison (three bytecode
  instructions), and no Python frame: the switch is read first, and retry and fallback
  then run exactly the path they ran before telemetry existed, their observed path being
  a function of its own (one frame more, while telemetry is on);
- :func:`call_layer` and :func:`attempt_layer` remain where no wrapper of a part can do
  that: a Policy of no part (the one wrapper it returns), attempts inside a hedge (run in
  threads or tasks of its own), a part with a ledger of its own;
- the **registry** of live parts (breakers, bulkheads, adaptive limits, cached
  functions) holds weak references only, so telemetry never keeps a part alive; the
  observable gauges read it when the SDK collects;
- the **log filter** on every callwise logger adds ``callwise_policy`` and
  ``callwise_function`` to each record (from the record's ``extra``, or from the call
  being observed), and ``otelTraceID`` / ``otelSpanID`` (the field names of
  opentelemetry-instrumentation-logging) when a span is active.
"""

from __future__ import annotations

import contextvars
import logging
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar, cast

from ._wraps import wraps
from .clock import Clock

__all__ = [
    "CallState",
    "Hooks",
    "Site",
    "Switches",
    "aobserve_call",
    "attempt_layer",
    "call_layer",
    "current",
    "entering",
    "hooks",
    "install",
    "live_parts",
    "logger",
    "names",
    "observe_call",
    "register",
    "switches",
]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True, eq=False)  # identity: one per decorated function
class Site:
    """One decorated function: the names on its metrics and spans, and its clock.

    Attributes:
        policy: the Policy's name (the function's name when the Policy has none), as on
            ledger rows.
        function: the decorated function's qualified name.
        clock: times durations (seconds).
        whole: the call boundary observes the call's one attempt too (nothing sits
            between the two boundaries: no retry, hedge, cache, fallback or ledger).
    """

    policy: str
    function: str
    clock: Clock
    whole: bool = False


@dataclass(slots=True)
class CallState:
    """What the call layer knows while a call runs (shared with its attempt layers)."""

    site: Site
    attempts: int = 0
    outcome: str | None = None  # set by a fallback or cache event: "fallback", "cache_hit"
    error_type: str | None = None
    entering: bool = True  # until the observed wrapper is called back (see ``entering``)


current: contextvars.ContextVar[CallState | None] = contextvars.ContextVar(
    "callwise_observed_call", default=None
)


class Hooks(Protocol):
    """What :mod:`resilience.telemetry` installs (see ``resilience/_otel.py``)."""

    def run_call(self, site: Site, fn: Callable[..., R], args: Any, kwargs: Any) -> R: ...

    async def arun_call(
        self, site: Site, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any
    ) -> R: ...

    def run_attempt(self, site: Site, fn: Callable[..., R], args: Any, kwargs: Any) -> R: ...

    async def arun_attempt(
        self, site: Site, fn: Callable[..., Awaitable[R]], args: Any, kwargs: Any
    ) -> R: ...

    def client_span(
        self, name: str, attributes: dict[str, str]
    ) -> AbstractContextManager[dict[str, str]]: ...

    def producer_link(self, function: str) -> object: ...

    def consumer(
        self, fn: Callable[..., Any], link: object, function: str, attempt: int
    ) -> Callable[..., Any]: ...

    def log_ids(self) -> tuple[str, str] | None: ...


class Switches:
    """What the call path reads to learn whether anyone observes it: attributes, not
    calls, so a check costs one global lookup, one attribute and one comparison, and no
    Python frame.

    Attributes:
        hooks: telemetry's hooks (None while it is off; set by :func:`install`).
        listening: whether the event hub (:mod:`resilience._events`) has listeners.
    """

    __slots__ = ("hooks", "listening")

    def __init__(self) -> None:
        self.hooks: Hooks | None = None
        self.listening = False


switches = Switches()


def install(new: Hooks | None) -> None:
    """Make ``new`` the active hooks (None: telemetry off)."""
    switches.hooks = new


def hooks() -> Hooks | None:
    """The active hooks, or None while telemetry is off."""
    return switches.hooks


# -- boundaries inside the parts' own wrappers ---------------------------------------------


def entering(site: Site) -> bool:
    """Whether a call-boundary wrapper of ``site``, telemetry on, starts a call to observe.

    False once per observed call: when :func:`observe_call` calls the wrapper back (the
    call it opened has not been entered yet); a call of the same function from inside
    it (recursion) is a call of its own again.
    """
    state = current.get()
    if state is not None and state.site is site and state.entering:
        state.entering = False
        return False
    return True


def observe_call(
    site: Site, boundary: Callable[[], Callable[..., R] | None], args: Any, kwargs: Any
) -> R:
    """Run one observed call (telemetry on) of the call boundary ``boundary()``.

    ``boundary`` is a weak reference to the wrapper calling this (so that the wrapper does
    not refer to itself: dropped, it is freed at once); the wrapper is called back, and
    :func:`entering` lets it through. With ``site.whole`` its one attempt is observed too.
    """
    wrapper, active = boundary(), switches.hooks
    assert wrapper is not None and active is not None  # the wrapper is running: telemetry on
    if site.whole:
        return active.run_call(site, _attempt_of(active, site, wrapper), args, kwargs)
    return active.run_call(site, wrapper, args, kwargs)


async def aobserve_call(
    site: Site, boundary: Callable[[], Callable[..., Awaitable[R]] | None], args: Any, kwargs: Any
) -> R:
    """:func:`observe_call` for a coroutine function's wrapper."""
    wrapper, active = boundary(), switches.hooks
    assert wrapper is not None and active is not None  # the wrapper is running: telemetry on
    if site.whole:
        return await active.arun_call(site, _attempt_of_async(active, site, wrapper), args, kwargs)
    return await active.arun_call(site, wrapper, args, kwargs)


# -- layers (where no wrapper of a part sits at the boundary) -------------------------------


def call_layer(fn: Callable[P, R], site: Site, *, is_async: bool) -> Callable[P, R]:
    """Wrap ``fn`` in a layer that observes each logical call (a span, a duration).

    For a Policy whose outermost wrapper cannot observe (a Policy of no part: the layer is
    then the distinct wrapper it returns anyway). With ``site.whole`` the layer observes
    the call's one attempt too.
    """
    if is_async:
        afn = cast("Callable[..., Awaitable[Any]]", fn)

        @wraps(fn)
        async def observed_call_async(*args: Any, **kwargs: Any) -> Any:
            active = switches.hooks
            if active is None:
                return await afn(*args, **kwargs)
            if site.whole:
                afn_ = _attempt_of_async(active, site, afn)
                return await active.arun_call(site, afn_, args, kwargs)
            return await active.arun_call(site, afn, args, kwargs)

        return cast("Callable[P, R]", observed_call_async)

    @wraps(fn)
    def observed_call(*args: P.args, **kwargs: P.kwargs) -> R:
        active = switches.hooks
        if active is None:
            return fn(*args, **kwargs)
        if site.whole:
            return active.run_call(site, _attempt_of(active, site, fn), args, kwargs)
        return active.run_call(site, fn, args, kwargs)

    return observed_call


def _attempt_of(active: Hooks, site: Site, fn: Callable[..., R]) -> Callable[..., R]:
    def one_attempt(*args: Any, **kwargs: Any) -> R:
        return active.run_attempt(site, fn, args, kwargs)

    return one_attempt


def _attempt_of_async(
    active: Hooks, site: Site, fn: Callable[..., Awaitable[R]]
) -> Callable[..., Awaitable[R]]:
    async def one_attempt(*args: Any, **kwargs: Any) -> R:
        return await active.arun_attempt(site, fn, args, kwargs)

    return one_attempt


def attempt_layer(fn: Callable[P, R], site: Site, *, is_async: bool) -> Callable[P, R]:
    """Wrap ``fn`` in the layer that observes each attempt (a child span, a duration)."""
    if is_async:
        afn = cast("Callable[..., Awaitable[Any]]", fn)

        @wraps(fn)
        async def observed_attempt_async(*args: Any, **kwargs: Any) -> Any:
            active = switches.hooks
            if active is None:
                return await afn(*args, **kwargs)
            return await active.arun_attempt(site, afn, args, kwargs)

        return cast("Callable[P, R]", observed_attempt_async)

    @wraps(fn)
    def observed_attempt(*args: P.args, **kwargs: P.kwargs) -> R:
        active = switches.hooks
        if active is None:
            return fn(*args, **kwargs)
        return active.run_attempt(site, fn, args, kwargs)

    return observed_attempt


# -- live parts ----------------------------------------------------------------------------

_parts: weakref.WeakSet[Any] = weakref.WeakSet()


def register(part: object) -> None:
    """Let the observable gauges see ``part`` while it lives (a weak reference)."""
    _parts.add(part)


def live_parts() -> Iterator[Any]:
    """The registered parts still alive (a snapshot)."""
    return iter(list(_parts))


# -- log fields ----------------------------------------------------------------------------


def names(policy: str | None = None, function: str | None = None) -> dict[str, str | None]:
    """``extra=`` for a log call: the policy and function names the line is about."""
    return {"callwise_policy": policy, "callwise_function": function or policy}


class _LogFields(logging.Filter):
    """Adds the policy/function names and, under an active span, the trace and span ids."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = current.get()
        given = record.__dict__
        if given.get("callwise_policy") is None:
            record.callwise_policy = None if state is None else state.site.policy
        if given.get("callwise_function") is None:
            record.callwise_function = None if state is None else state.site.function
        active = switches.hooks
        if active is not None:
            ids = active.log_ids()
            if ids is not None:
                record.otelTraceID, record.otelSpanID = ids
        return True


_FIELDS = _LogFields()


def logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` with the callwise log fields on every record."""
    log = logging.getLogger(name)
    if _FIELDS not in log.filters:
        log.addFilter(_FIELDS)
    return log
