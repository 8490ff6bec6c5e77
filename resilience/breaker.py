"""Circuit breaker: stop calling a function that keeps failing, probe it again later.

A :class:`CircuitBreaker` guards plain and ``async def`` functions (the same breaker can
guard both). It is **closed** while calls go through, **open** while it rejects them
with :class:`~resilience.CircuitOpenError`, and **half-open** while a few probe calls
test whether the function has recovered::

    closed --trip rule--> open --reset_timeout_s--> half-open --success_threshold--> closed
                           ^                            |
                           +-------- a probe fails -----+

Trip rules (any one trips the breaker):

- ``fail_max`` consecutive failures (pybreaker's rule; by default 5, and off when a rate
  rule is given, so that the window alone decides as in resilience4j);
- a failure rate ``>= failure_rate_threshold`` over the last ``window_size`` calls, once
  at least ``min_calls`` calls are in the window (resilience4j's count-based window);
- a slow-call rate ``>= slow_call_rate_threshold`` over the same window, where a call is
  slow when it takes longer than ``slow_call_s`` (resilience4j, Sentinel's ``SLOW_REQUEST_RATIO``).

An exception that ``exclude`` matches (its class, or a predicate of the exception that
returns True, as in pybreaker) counts as neither success nor failure, and so do
cancellation (anything that is a ``BaseException`` but not an ``Exception``:
``asyncio.CancelledError``, ``KeyboardInterrupt``, ``SystemExit``) and the rejections of
callwise's own guards inside the breaker, :class:`~resilience.BulkheadFull` and an inner
breaker's :class:`~resilience.CircuitOpenError`: shedding load locally says nothing about
the health of the dependency, so a full bulkhead in a Policy never opens the circuit. The guarded
function's exceptions always pass through unchanged, including on the call that trips.

Calls are never serialized: the breaker's lock is held only for a few lines of
bookkeeping before and after the call, never while the function runs.

Compatibility with pybreaker: ``listeners=`` takes ``pybreaker.CircuitBreakerListener``
objects and calls ``before_call``/``success``/``failure``/``state_change`` as pybreaker
does, with this breaker as ``cb``; ``state_change`` receives :class:`BreakerState` members,
whose ``.name`` is ``"closed"``, ``"open"`` or ``"half-open"`` like pybreaker's state
objects. ``storage=`` takes ``pybreaker.CircuitMemoryStorage`` or
``pybreaker.CircuitRedisStorage`` to share the state between processes; see
:class:`CircuitBreaker` for what is shared and how a storage outage is survived.
"""

from __future__ import annotations

import inspect
import itertools
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, Protocol, TypeVar, cast

from ._breaker_config import (
    FAIL_MAX_DEFAULT,
    BreakerConfig,
    Exclude,
    FailMax,
    build_config,
    check_clock,
    check_listener,
    check_name,
)
from ._breaker_states import CLOSED, HALF_OPEN, OPEN, BreakerState, Phase, Transition
from ._breaker_storage import SharedState, check_storage
from ._breaker_window import FAILURE, SLOW, OutcomeWindow, rate_verdict
from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import logger as _logger_named
from ._observe import names as _log_fields
from ._observe import observe_call as _observe_call
from ._observe import register as _register
from ._observe import switches as _switches
from ._recording import record_outside
from ._validate import is_async, name_of
from ._wraps import wraps
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .errors import BulkheadFull, CircuitOpenError, InvalidUsage, RateLimited
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger

__all__ = [
    "BreakerConfig",
    "BreakerListener",
    "BreakerState",
    "BreakerStats",
    "CircuitBreaker",
    "Guarded",
    "circuit_breaker",
]

P = ParamSpec("P")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)
T = TypeVar("T")

logger = _logger_named("resilience.breaker")

_CO_COROUTINE: Final = inspect.CO_COROUTINE
#: The resilience event (:mod:`resilience._events`) of each transition, by the new state.
_TRANSITION_EVENTS: Final = {
    OPEN: "breaker.opened",
    HALF_OPEN: "breaker.half_opened",
    CLOSED: "breaker.closed",
}

NEVER_COUNTED: Final[tuple[type[BaseException], ...]] = (
    BulkheadFull,
    CircuitOpenError,
    RateLimited,
)
"""Rejections by guards inside the breaker (a full bulkhead, an inner open breaker, our
rate limiter): they say nothing about the dependency's health, so they count as neither
success nor failure (and give a half-open probe slot back)."""

# defined next to the code that builds or uses them; public here, as they always were
BreakerConfig.__module__ = BreakerState.__module__ = __name__


class BreakerListener(Protocol):
    """What a listener provides; ``pybreaker.CircuitBreakerListener`` subclasses fit.

    Each method is called outside the breaker's lock; an exception raised by a listener
    is logged and does not reach the caller.
    """

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        """An admitted call is about to run ``func``."""

    def success(self, cb: Any) -> None:
        """A call succeeded."""

    def failure(self, cb: Any, exc: BaseException) -> None:
        """A call failed with ``exc`` (not for excluded errors, cancellation, local rejections)."""

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        """The breaker moved from ``old_state`` to ``new_state`` (:class:`BreakerState`)."""


class Guarded(Protocol[P, R_co]):
    """A function guarded by a breaker: same signature, plus the ``breaker`` attribute."""

    breaker: CircuitBreaker

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


@dataclass(frozen=True, slots=True)
class BreakerStats:
    """A consistent snapshot of a breaker's counters since it was created.

    Attributes:
        state: the state at the time of the snapshot.
        calls: calls that reached the function and finished
            (``successes + failures + ignored``).
        successes: calls that returned.
        failures: calls that raised a counted exception.
        ignored: calls that raised an excluded exception, were cancelled, or were
            rejected by a guard inside the breaker (see ``NEVER_COUNTED``).
        rejections: calls rejected with ``CircuitOpenError`` without calling the function.
        slow_calls: calls longer than ``slow_call_s`` (0 without a slow-call rule).
        consecutive_failures: failures since the last success or reset (failed half-open
            probes included, as pybreaker counts them).
        trips: times the breaker opened.
        failure_rate: share of failures in the sliding window, or None without one.
        slow_call_rate: share of slow calls in the sliding window, or None without one.
    """

    state: BreakerState
    calls: int
    successes: int
    failures: int
    ignored: int
    rejections: int
    slow_calls: int
    consecutive_failures: int
    trips: int
    failure_rate: float | None
    slow_call_rate: float | None


_names = itertools.count(1)


class CircuitBreaker:
    """A circuit breaker for plain and ``async def`` functions, built on pybreaker.

    Use it as a decorator (``@breaker``), or call through it with
    ``breaker.call(fn, *args, **kwargs)`` and ``await breaker.call_async(fn, *args, **kwargs)``.

    Args:
        name: shown in errors, logs and to listeners; default: the name of the
            :class:`~resilience.Policy` it is given to, else ``"breaker-<n>"``.
        fail_max: consecutive failures that trip the breaker; None disables the rule.
            Default: 5 when neither ``failure_rate_threshold`` nor ``slow_call_s`` is
            given, otherwise off (the window alone decides, as in resilience4j); an
            explicit value always applies.
        reset_timeout_s: seconds the breaker stays open before it admits probes.
        failure_rate_threshold: share of failed calls in the window, in (0, 1], that
            trips the breaker; None disables the rule.
        window_size: calls in the sliding window (default 100 when a rate rule is set).
        min_calls: calls the window must hold before a rate can trip the breaker
            (default: ``window_size``).
        slow_call_s: seconds above which a call counts as slow; None disables timing.
        slow_call_rate_threshold: share of slow calls in the window, in (0, 1], that
            trips the breaker (default 1.0 when ``slow_call_s`` is set, as in resilience4j).
            While half-open, a slow probe counts as a failed probe.
        half_open_max_calls: probes admitted at once while half-open; more are rejected
            with ``retry_after=0``.
        success_threshold: successful probes that close the breaker.
        exclude: exception classes, or predicates ``(exc) -> bool`` (True: excluded, as in
            pybreaker), whose matches count as neither success nor failure. A predicate that
            raises is logged and the error counts as a failure. Never
            counted either, whatever ``exclude`` says: cancellation,
            :class:`~resilience.BulkheadFull`, :class:`~resilience.CircuitOpenError` and
            :class:`~resilience.RateLimited` raised inside the breaker (a full bulkhead, an
            inner breaker's rejection, our rate limiter's refusal).
        listeners: ``pybreaker.CircuitBreakerListener`` objects (see :class:`BreakerListener`).
        storage: a pybreaker storage (``CircuitMemoryStorage``, ``CircuitRedisStorage``)
            shared with other breakers, in this process or others. Shared are the state
            and the time the breaker opened: a trip, a recovery or a manual
            ``open()``/``close()`` in one process is followed by the others. Failure
            counting, the window and half-open probe slots stay per process.
        sync_interval_s: with a storage, read the shared state at most this often
            (seconds on the clock); 0 reads it before every call, as pybreaker does.
        storage_retry_s: when the storage fails (Redis unreachable), the breaker logs
            one warning, runs on its local state, and tries the storage again at most
            this often (seconds). When it answers again the breaker logs that, publishes
            its own state if that changed in the meantime, and otherwise follows the
            shared state again. Storage operations are blocking calls made by the
            calling thread (pybreaker's storages are synchronous), also from coroutines.
        clock: where time comes from (default: the system's monotonic clock).
        ledger: a :class:`resilience.Ledger` recording each guarded call and attempt (a
            rejection is a ``rejected`` attempt); inside a Policy, give it to the Policy.

    Raises:
        InvalidUsage: an option is out of range, naming the option, the value and what
            is allowed.
    """

    __slots__ = (
        "__weakref__",  # telemetry's registry of live parts holds weak references
        "_clock",
        "_config",
        "_consecutive",
        "_exclude_if",
        "_failures",
        "_ignored",
        "_ledger",
        "_listeners",
        "_lock",
        "_min_calls",
        "_monotonic",
        "_name",
        "_named",
        "_not_counted",
        "_phase",
        "_rejections",
        "_shared",
        "_slow_calls",
        "_slow_s",
        "_successes",
        "_trips",
        "_window",
    )

    def __init__(
        self,
        *,
        name: str | None = None,
        fail_max: FailMax = FAIL_MAX_DEFAULT,
        reset_timeout_s: float = 60.0,
        failure_rate_threshold: float | None = None,
        window_size: int | None = None,
        min_calls: int | None = None,
        slow_call_s: float | None = None,
        slow_call_rate_threshold: float | None = None,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        exclude: Exclude = (),
        listeners: Iterable[BreakerListener] = (),
        storage: Any = None,
        sync_interval_s: float = 0.0,
        storage_retry_s: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
        ledger: Ledger | None = None,
    ) -> None:
        self._name = f"breaker-{next(_names)}" if name is None else check_name(name)
        self._named = name is not None
        self._config = build_config(
            fail_max=fail_max,
            reset_timeout_s=reset_timeout_s,
            failure_rate_threshold=failure_rate_threshold,
            window_size=window_size,
            min_calls=min_calls,
            slow_call_s=slow_call_s,
            slow_call_rate_threshold=slow_call_rate_threshold,
            half_open_max_calls=half_open_max_calls,
            success_threshold=success_threshold,
            exclude=exclude,
            sync_interval_s=sync_interval_s,
            storage_retry_s=storage_retry_s,
        )
        self._not_counted = (*NEVER_COUNTED, *self._config.exclude)
        self._exclude_if = self._config.exclude_if
        self._clock = check_clock(clock)
        self._ledger = valid_ledger("ledger", ledger)
        # the system clock's method only forwards to time.monotonic: skip the hop per call
        self._monotonic = time.monotonic if type(clock) is SystemClock else clock.monotonic
        self._listeners: tuple[BreakerListener, ...] = tuple(check_listener(x) for x in listeners)
        self._lock = threading.Lock()
        self._slow_s = self._config.slow_call_s
        size = self._config.window_size
        self._window = OutcomeWindow(size) if size is not None else None
        self._min_calls = self._config.min_calls or 0
        self._successes = self._failures = self._ignored = self._rejections = 0
        self._slow_calls = self._consecutive = self._trips = 0
        self._shared: SharedState | None = None
        self._phase = Phase(CLOSED, fast=storage is None)
        if storage is not None:
            self._shared = SharedState(self, check_storage(storage))
            self._shared.adopt()
        _register(self)  # the state gauge sees it while it lives

    # ---- public surface -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The breaker's name: as given, as inherited, or ``"breaker-<n>"``."""
        return self._name

    def inherit_name(self, name: str) -> bool:
        """Take ``name`` if the breaker was given none (a Policy gives its own); return
        whether it did. A name given to the constructor, or inherited once, stays.

        >>> breaker = CircuitBreaker()
        >>> breaker.inherit_name("prices"), breaker.name
        (True, 'prices')
        >>> breaker.inherit_name("other"), breaker.name
        (False, 'prices')
        """
        with self._lock:
            if self._named:
                return False
            self._name, self._named = check_name(name), True
            return True

    @property
    def config(self) -> BreakerConfig:
        """The validated options."""
        return self._config

    @property
    def ledger(self) -> Ledger | None:
        """Where each guarded call and attempt is recorded, if anywhere."""
        return self._ledger

    @property
    def clock(self) -> Clock:
        """The clock the breaker measures time on."""
        return self._clock

    @property
    def state(self) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half-open"`` (a :class:`BreakerState`).

        An open breaker becomes half-open when the first call after ``reset_timeout_s``
        arrives, as in pybreaker; until then it reports ``"open"``.
        """
        return self._phase.state

    @property
    def current_state(self) -> str:
        """The state as a plain string (pybreaker's name for it)."""
        return self._phase.state.value

    @property
    def fail_counter(self) -> int:
        """Consecutive failures (pybreaker's name and count for it).

        Counted while closed and for failed half-open probes, as pybreaker counts them;
        a success while closed, and closing, set it to 0.
        """
        return self._consecutive

    @property
    def success_counter(self) -> int:
        """Successful probes since the breaker last became half-open (pybreaker's name).

        ``success_threshold`` of them close it; 0 while closed or open.
        """
        return self._phase.probe_successes

    @property
    def stats(self) -> BreakerStats:
        """A snapshot of the counters (see :class:`BreakerStats`)."""
        with self._lock:
            window = self._window
            failure_rate = slow_rate = None
            if window is not None:
                failure_rate = window.failures / window.count if window.count else 0.0
                slow_rate = window.slow / window.count if window.count else 0.0
            return BreakerStats(
                state=self._phase.state,
                calls=self._successes + self._failures + self._ignored,
                successes=self._successes,
                failures=self._failures,
                ignored=self._ignored,
                rejections=self._rejections,
                slow_calls=self._slow_calls,
                consecutive_failures=self._consecutive,
                trips=self._trips,
                failure_rate=failure_rate,
                slow_call_rate=slow_rate,
            )

    @property
    def listeners(self) -> tuple[BreakerListener, ...]:
        """The registered listeners."""
        return self._listeners

    @property
    def storage(self) -> Any:
        """The shared pybreaker storage, or None."""
        return None if self._shared is None else self._shared.storage

    def add_listener(self, listener: BreakerListener) -> None:
        """Register one more listener."""
        self.add_listeners(listener)

    def add_listeners(self, *listeners: BreakerListener) -> None:
        """Register more listeners, in order (pybreaker's ``add_listeners``)."""
        checked = tuple(check_listener(listener) for listener in listeners)
        with self._lock:
            self._listeners = (*self._listeners, *checked)

    def remove_listener(self, listener: BreakerListener) -> None:
        """Unregister a listener.

        Raises:
            InvalidUsage: ``listener`` is not registered with this breaker.
        """
        with self._lock:
            listeners = list(self._listeners)
            if listener not in listeners:
                raise InvalidUsage(
                    f"listener={listener!r}: is not registered with breaker {self._name!r}; "
                    f"registered: {self._listeners!r}"
                )
            listeners.remove(listener)
            self._listeners = tuple(listeners)

    def open(self) -> None:
        """Open the breaker now; it admits probes again after ``reset_timeout_s``.

        With a storage, every breaker sharing it follows.
        """
        with self._lock:
            transition = self._enter(OPEN, "opened manually")
        self._announce_manual(transition)

    def close(self) -> None:
        """Close the breaker now and forget the failures counted so far.

        With a storage, every breaker sharing it follows.
        """
        with self._lock:
            transition = self._enter(CLOSED, "closed manually")
        self._announce_manual(transition)

    def _announce_manual(self, transition: Transition | None) -> None:
        if transition is not None:
            self._announce(transition)
        elif self._shared is not None:
            self._shared.publish()  # no local change, but the shared state may differ

    def __call__(self, fn: Callable[P, R]) -> Guarded[P, R]:
        """Guard ``fn``; the wrapper has ``fn``'s signature and a ``breaker`` attribute.

        Whether ``fn`` is a coroutine function is decided here, once.
        """
        return self.observed(fn)

    def observed(self, fn: Callable[P, R], *, site: Site | None = None) -> Guarded[P, R]:
        """Guard ``fn``; telemetry observes each call at ``site`` (the wrapper is a
        Policy's outermost; what :class:`resilience.Policy` uses). A generator function's
        wrapper does not observe."""
        if not callable(fn):
            raise InvalidUsage(f"fn={fn!r}: the breaker guards callables")
        if inspect.isasyncgenfunction(fn):
            raise InvalidUsage(
                f"fn={name_of(fn)}: an async generator function returns before its work is "
                "done; guard a coroutine function that does the work instead"
            )
        generator = inspect.isgeneratorfunction(fn)
        if generator and self._ledger is not None:
            raise InvalidUsage(
                f"fn={name_of(fn)}: ledger= records calls of functions, not of generators; "
                "record the function that consumes the generator instead"
            )
        wrapper: Any
        if generator:
            call_generator = self._call_generator

            def generator_wrapper(*args: Any, **kwargs: Any) -> Any:
                return (yield from call_generator(fn, args, kwargs))

            wrapper = wraps(fn)(generator_wrapper)
        elif is_async(fn):
            call_async = self._call_async
            afn = cast(Callable[..., Awaitable[Any]], fn)

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _switches.hooks is not None and site is not None and _entering(site):
                    return await _aobserve_call(site, me, args, kwargs)
                return await call_async(afn, args, kwargs)

            me = weakref.ref(async_wrapper)  # for observe_call: no reference cycle

            wrapper = wraps(fn)(async_wrapper)
        else:
            call = self._call

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                if _switches.hooks is not None and site is not None and _entering(site):
                    return _observe_call(site, me, args, kwargs)
                return call(fn, args, kwargs)

            me = weakref.ref(sync_wrapper)  # for observe_call: no reference cycle

            wrapper = wraps(fn)(sync_wrapper)
        wrapper.breaker = self
        if self._ledger is not None:  # a rejection is a ``rejected`` attempt
            wrapper = record_outside(self._ledger, fn, wrapper, self._clock)
        return cast(Guarded[P, R], wrapper)

    def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Call the plain function ``fn(*args, **kwargs)`` through the breaker.

        Raises:
            CircuitOpenError: the breaker is open (or half-open with every probe slot taken).
            InvalidUsage: ``fn`` is a coroutine function; use :meth:`call_async`.
        """
        code = getattr(fn, "__code__", None)
        if code.co_flags & _CO_COROUTINE if code is not None else is_async(fn):
            raise InvalidUsage(
                f"fn={name_of(fn)}: is a coroutine function; use await breaker.call_async(...)"
            )
        return self._call(fn, args, kwargs)

    async def call_async(
        self, fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await ``fn(*args, **kwargs)`` through the breaker.

        Raises:
            CircuitOpenError: the breaker is open (or half-open with every probe slot taken).
        """
        return await self._call_async(fn, args, kwargs)

    def __repr__(self) -> str:
        return f"CircuitBreaker(name={self._name!r}, state={self._phase.state.value!r})"

    # ---- the call path ----------------------------------------------------------------

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        phase = self._phase
        if not phase.fast:
            phase = self._admit(phase)
        if self._listeners:
            self._notify("before_call", fn, *args, **kwargs)
        slow_s = self._slow_s
        if slow_s is None:
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._record_error(phase, exc, False)
                raise
            self._record_ok(phase, False)
            return result
        monotonic = self._monotonic
        start = monotonic()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._record_error(phase, exc, monotonic() - start > slow_s)
            raise
        self._record_ok(phase, monotonic() - start > slow_s)
        return result

    def _call_generator(
        self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Generator[Any, Any, Any]:
        """Run a generator through the breaker: admitted at its first ``next()``, a success
        when it is exhausted, a failure when it raises (as in pybreaker's generator_call).

        Closing it early (``GeneratorExit``) is no verdict, like any BaseException that is
        not an Exception; a generator never started is never admitted, so it cannot hold
        a half-open probe slot.
        """
        phase = self._phase
        if not phase.fast:
            phase = self._admit(phase)
        if self._listeners:
            self._notify("before_call", fn, *args, **kwargs)
        slow_s, monotonic = self._slow_s, self._monotonic
        start = monotonic()
        try:
            result = yield from fn(*args, **kwargs)
        except BaseException as exc:
            self._record_error(phase, exc, slow_s is not None and monotonic() - start > slow_s)
            raise
        self._record_ok(phase, slow_s is not None and monotonic() - start > slow_s)
        return result

    async def _call_async(
        self, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> T:
        phase = self._phase
        if not phase.fast:
            phase = self._admit(phase)
        if self._listeners:
            self._notify("before_call", fn, *args, **kwargs)
        slow_s = self._slow_s
        if slow_s is None:
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._record_error(phase, exc, False)
                raise
            self._record_ok(phase, False)
            return result
        monotonic = self._monotonic
        start = monotonic()
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._record_error(phase, exc, monotonic() - start > slow_s)
            raise
        self._record_ok(phase, monotonic() - start > slow_s)
        return result

    def _admit(self, phase: Phase) -> Phase:
        """Admit a call (or raise CircuitOpenError); return the phase it runs in."""
        if self._shared is not None:
            self._shared.maybe_pull()
            phase = self._phase
        while True:
            state = phase.state
            if state is CLOSED:
                return phase
            if state is OPEN:
                now = self._monotonic()
                if now < phase.until:
                    with self._lock:
                        self._rejections += 1
                    retry_after_s = min(phase.until - now, self._config.reset_timeout_s)
                    if _listening():
                        self._event("breaker.rejected")
                    raise CircuitOpenError(self._name, retry_after_s)
                transition = None
                with self._lock:
                    if self._phase is phase:
                        transition = self._enter(
                            HALF_OPEN, f"{self._config.reset_timeout_s:g} s elapsed"
                        )
                self._announce(transition)
            else:
                with self._lock:
                    if self._phase is phase:
                        if phase.probes < self._config.half_open_max_calls:
                            phase.probes += 1
                            return phase
                        self._rejections += 1
                        if _listening():
                            self._event("breaker.rejected")
                        raise CircuitOpenError(self._name, 0.0)
            phase = self._phase

    def _record_ok(self, phase: Phase, slow: bool) -> None:
        with self._lock:
            self._successes += 1
            if slow:
                self._slow_calls += 1
            if phase.fast and self._window is None:  # closed, counting consecutive failures
                if phase is self._phase:
                    self._consecutive = 0
                transition = None
            else:
                transition = self._verdict_ok(phase, slow)
        if transition is not None:
            self._announce(transition)
        if self._listeners:
            self._notify("success")

    def _verdict_ok(self, phase: Phase, slow: bool) -> Transition | None:
        """What a success changes outside the fast case (a window to add to, a probe, a
        shared state); the caller holds the lock."""
        if phase is not self._phase:
            return None
        if phase.state is CLOSED:
            self._consecutive = 0
            window = self._window
            if window is not None:
                window.add(SLOW if slow else 0)
                if window.count >= self._min_calls:
                    reason = rate_verdict(window, self._config)
                    if reason:
                        return self._enter(OPEN, reason)
            return None
        if phase.state is not HALF_OPEN:
            return None
        phase.probes -= 1
        if slow:
            return self._enter(OPEN, f"a probe took longer than {self._slow_s:g} s")
        phase.probe_successes += 1
        if phase.probe_successes >= self._config.success_threshold:
            return self._enter(CLOSED, f"{phase.probe_successes} probe(s) succeeded")
        return None

    def _excluded(self, exc: BaseException) -> bool:
        """True when an ``exclude`` predicate matches ``exc`` (one that raises: logged, no)."""
        for predicate in self._exclude_if:
            try:
                if predicate(exc):
                    return True
            except Exception:
                logger.exception(
                    "circuit %r: exclude predicate %r raised",
                    self._name,
                    predicate,
                    extra=_log_fields(self._name),
                )
        return False

    def _record_error(self, phase: Phase, exc: BaseException, slow: bool) -> None:
        if (
            not isinstance(exc, Exception)
            or isinstance(exc, self._not_counted)
            or (self._exclude_if and self._excluded(exc))
        ):
            with self._lock:
                self._ignored += 1
                if phase is self._phase and phase.state is HALF_OPEN:
                    phase.probes -= 1
            return
        transition = None
        with self._lock:
            self._failures += 1
            if slow:
                self._slow_calls += 1
            if phase is self._phase:
                if phase.state is CLOSED:
                    self._consecutive += 1
                    window = self._window
                    reason = ""
                    if window is not None:
                        window.add(FAILURE | SLOW if slow else FAILURE)
                        if window.count >= self._min_calls:
                            reason = rate_verdict(window, self._config)
                    fail_max = self._config.fail_max
                    if fail_max is not None and self._consecutive >= fail_max:
                        reason = f"{self._consecutive} consecutive failures"
                    if reason:
                        transition = self._enter(OPEN, reason)
                elif phase.state is HALF_OPEN:
                    phase.probes -= 1
                    self._consecutive += 1  # pybreaker counts a failed probe too
                    transition = self._enter(OPEN, f"a probe failed ({type(exc).__name__})")
        if self._listeners:
            self._notify("failure", exc)
        if transition is not None:
            self._announce(transition)

    # ---- transitions ------------------------------------------------------------------

    def _enter(
        self,
        state: BreakerState,
        reason: str,
        *,
        open_for_s: float | None = None,
        publish: bool = True,
    ) -> Transition | None:
        """Move to ``state`` (caller holds the lock); None when nothing changed."""
        old = self._phase
        if state is OPEN:
            if open_for_s is None:
                open_for_s = self._config.reset_timeout_s
            self._phase = Phase(OPEN, until=self._clock.monotonic() + open_for_s)
            if old.state is OPEN:
                return None  # open() again: the timer restarts, nothing to report
            self._trips += 1
            return Transition(old.state, state, reason, publish, open_for_s)
        elif state is HALF_OPEN:
            self._phase = Phase(HALF_OPEN)
        else:
            self._consecutive = 0
            if self._window is not None:
                self._window.clear()
            if old.state is CLOSED:
                return None  # close() again: counts are reset, nothing to report
            self._phase = Phase(CLOSED, fast=self._shared is None)
        return Transition(old.state, state, reason, publish)

    # ---- the interface its SharedState uses (resilience._breaker_storage.SharingBreaker)

    def current_phase(self) -> Phase:
        """The state and, when open, until when on the breaker's clock (for the storage)."""
        return self._phase

    def adopt_shared(self, open_for_s: float) -> None:
        """Start open for ``open_for_s`` s, the shared state found when built: not a trip."""
        with self._lock:
            self._phase = Phase(OPEN, until=self._clock.monotonic() + open_for_s)

    def follow_shared(self, state: BreakerState, *, open_for_s: float | None = None) -> None:
        """Move to ``state``, which another breaker sharing the storage published."""
        transition = None
        with self._lock:
            if self._phase.state is not state:
                verb = "opened" if state is OPEN else "closed"
                transition = self._enter(
                    state,
                    f"{verb} by a breaker sharing its storage",
                    open_for_s=open_for_s,
                    publish=False,
                )
        self._announce(transition)

    def _announce(self, transition: Transition | None) -> None:
        """Log a transition, tell the listeners and the shared storage (outside the lock)."""
        if transition is None:
            return
        new = transition.new
        extra = _log_fields(self._name)
        if new is OPEN:
            logger.warning(
                "circuit %r opened: %s; rejecting calls for %g s",
                self._name,
                transition.reason,
                transition.open_for_s,
                extra=extra,
            )
        elif new is HALF_OPEN:
            logger.info(
                "circuit %r half-open: %s; admitting up to %d probe(s) at once",
                self._name,
                transition.reason,
                self._config.half_open_max_calls,
                extra=extra,
            )
        else:
            logger.info("circuit %r closed: %s", self._name, transition.reason, extra=extra)
        if _listening():
            self._event(_TRANSITION_EVENTS[new])
        if self._listeners:
            self._notify("state_change", transition.old, new)
        if transition.publish and self._shared is not None:
            self._shared.publish()

    def _event(self, name: str) -> None:
        """Emit a resilience event (:mod:`resilience._events`) about this breaker."""
        _emit(name, {"callwise.policy": self._name})

    def _notify(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, event)(self, *args, **kwargs)
            except Exception:
                logger.exception(
                    "circuit %r: listener %r failed in %s",
                    self._name,
                    listener,
                    event,
                    extra=_log_fields(self._name),
                )


def circuit_breaker(
    *,
    name: str | None = None,
    fail_max: FailMax = FAIL_MAX_DEFAULT,
    reset_timeout_s: float = 60.0,
    failure_rate_threshold: float | None = None,
    window_size: int | None = None,
    min_calls: int | None = None,
    slow_call_s: float | None = None,
    slow_call_rate_threshold: float | None = None,
    half_open_max_calls: int = 1,
    success_threshold: int = 1,
    exclude: Exclude = (),
    listeners: Iterable[BreakerListener] = (),
    storage: Any = None,
    sync_interval_s: float = 0.0,
    storage_retry_s: float = 5.0,
    clock: Clock = SYSTEM_CLOCK,
    ledger: Ledger | None = None,
) -> Callable[[Callable[P, R]], Guarded[P, R]]:
    """Decorator factory: guard a function with a new :class:`CircuitBreaker`.

    Takes the options of :class:`CircuitBreaker`; ``name`` defaults to the function's
    qualified name. The options are validated here, before any function is decorated.
    The breaker is the wrapper's ``breaker`` attribute. With ``ledger=``, every function
    decorated by this factory records its calls and attempts there.

    Example:
        >>> @circuit_breaker(fail_max=3, reset_timeout_s=30)
        ... def lookup(key: str) -> str:
        ...     return key.upper()
        >>> lookup("a"), lookup.breaker.state
        ('A', <BreakerState.CLOSED: 'closed'>)
    """
    listeners = tuple(check_listener(x) for x in listeners)
    if name is not None:
        check_name(name)
    check_clock(clock)
    valid_ledger("ledger", ledger)
    if storage is not None:
        check_storage(storage)
    config_options: dict[str, Any] = dict(
        fail_max=fail_max,
        reset_timeout_s=reset_timeout_s,
        failure_rate_threshold=failure_rate_threshold,
        window_size=window_size,
        min_calls=min_calls,
        slow_call_s=slow_call_s,
        slow_call_rate_threshold=slow_call_rate_threshold,
        half_open_max_calls=half_open_max_calls,
        success_threshold=success_threshold,
        exclude=exclude,
        sync_interval_s=sync_interval_s,
        storage_retry_s=storage_retry_s,
    )
    build_config(**config_options)
    options = {
        **config_options,
        "listeners": listeners,
        "storage": storage,
        "clock": clock,
        "ledger": ledger,
    }

    def decorate(fn: Callable[P, R]) -> Guarded[P, R]:
        return CircuitBreaker(name=name or name_of(fn), **options)(fn)

    return decorate
