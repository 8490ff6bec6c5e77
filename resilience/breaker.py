"""Circuit breaker: stop calling a function that keeps failing, probe it again later.

A :class:`CircuitBreaker` guards plain and ``async def`` functions (the same breaker can
guard both). It is **closed** while calls go through, **open** while it rejects them
with :class:`~resilience.CircuitOpenError`, and **half-open** while a few probe calls
test whether the function has recovered::

    closed --trip rule--> open --reset_timeout_s--> half-open --success_threshold--> closed
                           ^                            |
                           +-------- a probe fails -----+

Trip rules (any one trips the breaker):

- ``fail_max`` consecutive failures (pybreaker's rule);
- a failure rate ``>= failure_rate_threshold`` over the last ``window_size`` calls, once
  at least ``min_calls`` calls are in the window (resilience4j's count-based window);
- a slow-call rate ``>= slow_call_rate_threshold`` over the same window, where a call is
  slow when it takes longer than ``slow_call_s`` (resilience4j, Sentinel's ``SLOW_REQUEST_RATIO``).

An exception of an ``exclude`` type counts as neither success nor failure, and so does
cancellation: anything that is a ``BaseException`` but not an ``Exception``
(``asyncio.CancelledError``, ``KeyboardInterrupt``, ``SystemExit``). The guarded
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

import enum
import functools
import inspect
import itertools
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, ParamSpec, Protocol, TypeVar, cast

from ._breaker_window import FAILURE, SLOW, OutcomeWindow
from ._recording import record_outside
from ._validate import exception_types, is_async, name_of, positive, positive_int, rate
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .errors import CircuitOpenError, InvalidUsage
from .ledger import Ledger

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

logger = logging.getLogger("resilience.breaker")

_CO_COROUTINE: Final = inspect.CO_COROUTINE
_DEFAULT_WINDOW_SIZE: Final = 100


class BreakerState(enum.StrEnum):
    """The state of a breaker; equal to its string (``BreakerState.OPEN == "open"``).

    ``.name`` is the same string, as on pybreaker's state objects, so listeners written
    for pybreaker can compare ``new_state.name`` with ``pybreaker.STATE_OPEN``.
    """

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"

    @property
    def name(self) -> str:
        return self.value


_CLOSED: Final = BreakerState.CLOSED
_OPEN: Final = BreakerState.OPEN
_HALF_OPEN: Final = BreakerState.HALF_OPEN


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
        """A call failed with ``exc`` (never called for excluded errors or cancellation)."""

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        """The breaker moved from ``old_state`` to ``new_state`` (:class:`BreakerState`)."""


class Guarded(Protocol[P, R_co]):
    """A function guarded by a breaker: same signature, plus the ``breaker`` attribute."""

    breaker: CircuitBreaker

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


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
    sync_interval_s: float
    storage_retry_s: float


@dataclass(frozen=True, slots=True)
class BreakerStats:
    """A consistent snapshot of a breaker's counters since it was created.

    Attributes:
        state: the state at the time of the snapshot.
        calls: calls that reached the function and finished
            (``successes + failures + ignored``).
        successes: calls that returned.
        failures: calls that raised a counted exception.
        ignored: calls that raised an excluded exception or were cancelled.
        rejections: calls rejected with ``CircuitOpenError`` without calling the function.
        slow_calls: calls longer than ``slow_call_s`` (0 without a slow-call rule).
        consecutive_failures: failures since the last success or reset, while closed.
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


class _Phase:
    """One stay in one state. A new object per transition, so a call can tell whether
    the breaker is still in the phase that admitted it (outcomes of calls admitted in an
    earlier phase update the counters but never the state)."""

    __slots__ = ("fast", "probe_successes", "probes", "state", "until")

    def __init__(self, state: BreakerState, *, fast: bool = False, until: float = 0.0) -> None:
        self.state = state
        self.fast = fast  # closed and nothing to check before a call
        self.until = until  # open: clock time when probes may start
        self.probes = 0  # half-open: probes in flight
        self.probe_successes = 0  # half-open: probes that succeeded


@dataclass(frozen=True, slots=True)
class _Transition:
    old: BreakerState
    new: BreakerState
    reason: str
    publish: bool  # tell the shared storage (False when the storage told us)
    open_for_s: float = 0.0  # into open: seconds until probes may start


_names = itertools.count(1)


class CircuitBreaker:
    """A circuit breaker for plain and ``async def`` functions, built on pybreaker.

    Use it as a decorator (``@breaker``), or call through it with
    ``breaker.call(fn, *args, **kwargs)`` and ``await breaker.call_async(fn, *args, **kwargs)``.

    Args:
        name: shown in errors, logs and to listeners; default ``"breaker-<n>"``.
        fail_max: consecutive failures that trip the breaker; None disables the rule.
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
        exclude: exception types that count as neither success nor failure.
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
        "_clock",
        "_config",
        "_consecutive",
        "_failures",
        "_ignored",
        "_ledger",
        "_listeners",
        "_lock",
        "_min_calls",
        "_monotonic",
        "_name",
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
        fail_max: int | None = 5,
        reset_timeout_s: float = 60.0,
        failure_rate_threshold: float | None = None,
        window_size: int | None = None,
        min_calls: int | None = None,
        slow_call_s: float | None = None,
        slow_call_rate_threshold: float | None = None,
        half_open_max_calls: int = 1,
        success_threshold: int = 1,
        exclude: type[BaseException] | Iterable[type[BaseException]] = (),
        listeners: Iterable[BreakerListener] = (),
        storage: Any = None,
        sync_interval_s: float = 0.0,
        storage_retry_s: float = 5.0,
        clock: Clock = SYSTEM_CLOCK,
        ledger: Ledger | None = None,
    ) -> None:
        self._name = f"breaker-{next(_names)}" if name is None else _check_name(name)
        self._config = _build_config(
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
        self._clock = _check_clock(clock)
        if ledger is not None and not isinstance(ledger, Ledger):
            raise InvalidUsage(f"ledger={ledger!r}: must be a resilience.Ledger or None")
        self._ledger = ledger
        # the system clock's method only forwards to time.monotonic: skip the hop per call
        self._monotonic = time.monotonic if type(clock) is SystemClock else clock.monotonic
        self._listeners: tuple[BreakerListener, ...] = tuple(_check_listener(x) for x in listeners)
        self._lock = threading.Lock()
        self._slow_s = self._config.slow_call_s
        size = self._config.window_size
        self._window = OutcomeWindow(size) if size is not None else None
        self._min_calls = self._config.min_calls or 0
        self._successes = self._failures = self._ignored = self._rejections = 0
        self._slow_calls = self._consecutive = self._trips = 0
        self._shared: _Shared | None = None
        self._phase = _Phase(_CLOSED, fast=storage is None)
        if storage is not None:
            self._shared = _Shared(self, _check_storage(storage))
            self._shared.pull(self._clock.monotonic())

    # ---- public surface -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The breaker's name, as given or ``"breaker-<n>"``."""
        return self._name

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
        """Consecutive failures while closed (pybreaker's name for it)."""
        return self._consecutive

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
        _check_listener(listener)
        with self._lock:
            self._listeners = (*self._listeners, listener)

    def remove_listener(self, listener: BreakerListener) -> None:
        """Unregister a listener (ValueError when it is not registered)."""
        with self._lock:
            listeners = list(self._listeners)
            listeners.remove(listener)
            self._listeners = tuple(listeners)

    def open(self) -> None:
        """Open the breaker now; it admits probes again after ``reset_timeout_s``.

        With a storage, every breaker sharing it follows.
        """
        with self._lock:
            transition = self._enter(_OPEN, "opened manually")
        self._announce_manual(transition)

    def close(self) -> None:
        """Close the breaker now and forget the failures counted so far.

        With a storage, every breaker sharing it follows.
        """
        with self._lock:
            transition = self._enter(_CLOSED, "closed manually")
        self._announce_manual(transition)

    def _announce_manual(self, transition: _Transition | None) -> None:
        if transition is not None:
            self._announce(transition)
        elif self._shared is not None:
            self._shared.publish()  # no local change, but the shared state may differ

    def __call__(self, fn: Callable[P, R]) -> Guarded[P, R]:
        """Guard ``fn``; the wrapper has ``fn``'s signature and a ``breaker`` attribute.

        Whether ``fn`` is a coroutine function is decided here, once.
        """
        if not callable(fn):
            raise InvalidUsage(f"fn={fn!r}: the breaker guards callables")
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise InvalidUsage(
                f"fn={name_of(fn)}: a generator function returns before its work is done; "
                "guard a function that does the work (or collects the items) instead"
            )
        wrapper: Any
        if is_async(fn):
            call_async = self._call_async
            afn = cast(Callable[..., Awaitable[Any]], fn)

            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await call_async(afn, args, kwargs)

            wrapper = functools.wraps(fn)(async_wrapper)
        else:
            call = self._call

            def sync_wrapper(*args: Any, **kwargs: Any) -> Any:
                return call(fn, args, kwargs)

            wrapper = functools.wraps(fn)(sync_wrapper)
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

    def _admit(self, phase: _Phase) -> _Phase:
        """Admit a call (or raise CircuitOpenError); return the phase it runs in."""
        if self._shared is not None:
            self._shared.maybe_pull()
            phase = self._phase
        while True:
            state = phase.state
            if state is _CLOSED:
                return phase
            if state is _OPEN:
                now = self._monotonic()
                if now < phase.until:
                    with self._lock:
                        self._rejections += 1
                    retry_after_s = min(phase.until - now, self._config.reset_timeout_s)
                    raise CircuitOpenError(self._name, retry_after_s)
                transition = None
                with self._lock:
                    if self._phase is phase:
                        transition = self._enter(
                            _HALF_OPEN, f"{self._config.reset_timeout_s:g} s elapsed"
                        )
                self._announce(transition)
            else:
                with self._lock:
                    if self._phase is phase:
                        if phase.probes < self._config.half_open_max_calls:
                            phase.probes += 1
                            return phase
                        self._rejections += 1
                        raise CircuitOpenError(self._name, 0.0)
            phase = self._phase

    def _record_ok(self, phase: _Phase, slow: bool) -> None:
        transition = None
        with self._lock:
            self._successes += 1
            if slow:
                self._slow_calls += 1
            if phase is self._phase:
                if phase.state is _CLOSED:
                    self._consecutive = 0
                    window = self._window
                    if window is not None:
                        window.add(SLOW if slow else 0)
                        if window.count >= self._min_calls:
                            reason = self._window_verdict(window)
                            if reason:
                                transition = self._enter(_OPEN, reason)
                elif phase.state is _HALF_OPEN:
                    phase.probes -= 1
                    if slow:
                        transition = self._enter(
                            _OPEN, f"a probe took longer than {self._slow_s:g} s"
                        )
                    else:
                        phase.probe_successes += 1
                        if phase.probe_successes >= self._config.success_threshold:
                            transition = self._enter(
                                _CLOSED, f"{phase.probe_successes} probe(s) succeeded"
                            )
        if transition is not None:
            self._announce(transition)
        if self._listeners:
            self._notify("success")

    def _record_error(self, phase: _Phase, exc: BaseException, slow: bool) -> None:
        if not isinstance(exc, Exception) or isinstance(exc, self._config.exclude):
            with self._lock:
                self._ignored += 1
                if phase is self._phase and phase.state is _HALF_OPEN:
                    phase.probes -= 1
            return
        transition = None
        with self._lock:
            self._failures += 1
            if slow:
                self._slow_calls += 1
            if phase is self._phase:
                if phase.state is _CLOSED:
                    self._consecutive += 1
                    window = self._window
                    reason = ""
                    if window is not None:
                        window.add(FAILURE | SLOW if slow else FAILURE)
                        if window.count >= self._min_calls:
                            reason = self._window_verdict(window)
                    fail_max = self._config.fail_max
                    if fail_max is not None and self._consecutive >= fail_max:
                        reason = f"{self._consecutive} consecutive failures"
                    if reason:
                        transition = self._enter(_OPEN, reason)
                elif phase.state is _HALF_OPEN:
                    phase.probes -= 1
                    transition = self._enter(_OPEN, f"a probe failed ({type(exc).__name__})")
        if self._listeners:
            self._notify("failure", exc)
        if transition is not None:
            self._announce(transition)

    def _window_verdict(self, window: OutcomeWindow) -> str:
        """Why the window (holding >= min_calls calls) trips the breaker, or "" (under the lock)."""
        config = self._config
        count = window.count
        threshold = config.failure_rate_threshold
        if threshold is not None and window.failures / count >= threshold:
            return (
                f"failure rate {window.failures / count:.0%} >= {threshold:.0%} "
                f"over the last {count} calls"
            )
        threshold = config.slow_call_rate_threshold
        if threshold is not None and window.slow / count >= threshold:
            return (
                f"slow-call rate {window.slow / count:.0%} >= {threshold:.0%} "
                f"over the last {count} calls (slow: > {config.slow_call_s:g} s)"
            )
        return ""

    # ---- transitions ------------------------------------------------------------------

    def _enter(
        self,
        state: BreakerState,
        reason: str,
        *,
        open_for_s: float | None = None,
        publish: bool = True,
    ) -> _Transition | None:
        """Move to ``state`` (caller holds the lock); None when nothing changed."""
        old = self._phase
        if state is _OPEN:
            if open_for_s is None:
                open_for_s = self._config.reset_timeout_s
            self._phase = _Phase(_OPEN, until=self._clock.monotonic() + open_for_s)
            if old.state is _OPEN:
                return None  # open() again: the timer restarts, nothing to report
            self._trips += 1
            return _Transition(old.state, state, reason, publish, open_for_s)
        elif state is _HALF_OPEN:
            self._phase = _Phase(_HALF_OPEN)
        else:
            self._consecutive = 0
            if self._window is not None:
                self._window.clear()
            if old.state is _CLOSED:
                return None  # close() again: counts are reset, nothing to report
            self._phase = _Phase(_CLOSED, fast=self._shared is None)
        return _Transition(old.state, state, reason, publish)

    def _announce(self, transition: _Transition | None) -> None:
        """Log a transition, tell the listeners and the shared storage (outside the lock)."""
        if transition is None:
            return
        new = transition.new
        if new is _OPEN:
            logger.warning(
                "circuit %r opened: %s; rejecting calls for %g s",
                self._name,
                transition.reason,
                transition.open_for_s,
            )
        elif new is _HALF_OPEN:
            logger.info(
                "circuit %r half-open: %s; admitting up to %d probe(s) at once",
                self._name,
                transition.reason,
                self._config.half_open_max_calls,
            )
        else:
            logger.info("circuit %r closed: %s", self._name, transition.reason)
        if self._listeners:
            self._notify("state_change", transition.old, new)
        if transition.publish and self._shared is not None:
            self._shared.publish()

    def _notify(self, event: str, /, *args: Any, **kwargs: Any) -> None:
        for listener in self._listeners:
            try:
                getattr(listener, event)(self, *args, **kwargs)
            except Exception:
                logger.exception(
                    "circuit %r: listener %r failed in %s", self._name, listener, event
                )


class _StorageErrorTrap(logging.Filter):
    """Notices the errors pybreaker's Redis storage logs (instead of raising) while a
    breaker of ours is using it, in the same thread, and keeps them from the log: the
    breaker reports the outage itself, once. Records from anyone else pass unchanged."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        local = self.local
        if getattr(local, "watching", False) and record.exc_info:
            local.error = record.exc_info[1] or RuntimeError(record.getMessage())
            return False
        return True


_trap = _StorageErrorTrap()
_trap_lock = threading.Lock()
_trapped: set[int] = set()
_FAILED: Final = object()


def _install_trap(storage: Any) -> None:
    """Put the trap on the logger the storage reports its errors to (once per logger)."""
    storage_logger = getattr(storage, "logger", None)
    if isinstance(storage_logger, logging.Logger):
        with _trap_lock:
            if id(storage_logger) not in _trapped:
                storage_logger.addFilter(_trap)
                _trapped.add(id(storage_logger))


class _Shared:
    """Keeps one breaker in step with a pybreaker storage, and survives its outages.

    Pull: read the shared ``state``; when it changed since we last saw it, follow it
    (another process tripped: open for what is left of its reset timeout, from the
    shared ``opened_at``; another process recovered or closed: close; half-open: keep
    our own state, we will follow the probes' verdict). Publish: after each of our own
    transitions write ``opened_at`` and ``state`` and reset the counters, as pybreaker does.
    """

    def __init__(self, breaker: CircuitBreaker, storage: Any) -> None:
        self.breaker = breaker
        self.storage = storage
        self.seen: object = None  # the shared state we last read or wrote
        self.next_pull = float("-inf")
        self.down = False
        self.dirty = False  # a transition of ours has not reached the storage yet
        self.retry_at = 0.0
        self.lock = threading.Lock()  # guards the down flag
        self.publish_lock = threading.Lock()  # writes leave in the order of transitions
        _install_trap(storage)

    def io(self, operation: Callable[[], Any]) -> Any:
        """Run one storage operation; _FAILED (and note the outage) when it fails."""
        local = _trap.local
        local.watching, local.error = True, None
        try:
            value = operation()
            error = local.error
        except Exception as exc:
            error = exc
        finally:
            local.watching = False
        if error is None:
            return value
        with self.lock:
            first = not self.down
            self.down = True
            self.retry_at = self.breaker._clock.monotonic() + self.breaker._config.storage_retry_s
        if first:
            logger.warning(
                "circuit %r: shared state storage %s failed (%s: %s); using local state "
                "only, trying the storage again every %g s",
                self.breaker._name,
                type(self.storage).__name__,
                type(error).__name__,
                error,
                self.breaker._config.storage_retry_s,
            )
        return _FAILED

    def maybe_pull(self) -> None:
        now = self.breaker._clock.monotonic()
        if now >= self.next_pull:
            self.next_pull = now + self.breaker._config.sync_interval_s
            self.pull(now)

    def pull(self, now: float) -> None:
        was_down = self.down
        if was_down and now < self.retry_at:
            return
        remote = self.io(lambda: self.storage.state)
        if remote is _FAILED:
            return
        breaker = self.breaker
        if was_down:
            with self.lock:
                recovered, self.down = self.down, False
            if recovered:
                logger.info("circuit %r: shared state storage answers again", breaker._name)
            if self.dirty:
                self.publish()  # our state changed while it was away: tell the others
                return
            self.seen = None
        if remote == self.seen:
            return
        self.seen = remote
        transition = None
        if remote == "open":
            if breaker.state is _OPEN:
                return
            opened_at = self.io(lambda: self.storage.opened_at)
            if opened_at is _FAILED:
                return
            open_for_s = _remaining_s(opened_at, breaker._config.reset_timeout_s)
            with breaker._lock:
                if breaker._phase.state is not _OPEN:
                    transition = breaker._enter(
                        _OPEN,
                        "opened by a breaker sharing its storage",
                        open_for_s=open_for_s,
                        publish=False,
                    )
        elif remote == "closed":
            with breaker._lock:
                if breaker._phase.state is not _CLOSED:
                    transition = breaker._enter(
                        _CLOSED, "closed by a breaker sharing its storage", publish=False
                    )
        breaker._announce(transition)

    def publish(self) -> None:
        """Write the breaker's current state to the storage (after one of our transitions)."""
        breaker, storage = self.breaker, self.storage
        with self.publish_lock:
            if self.down:
                self.dirty = True  # published when the storage answers again
                return
            phase = breaker._phase
            state = phase.state
            if state is _OPEN:
                opened_s = phase.until - breaker._config.reset_timeout_s  # on the clock
                open_s = breaker._clock.monotonic() - opened_s
                opened_at = datetime.now(UTC) - timedelta(seconds=max(0.0, open_s))

                def write() -> None:
                    storage.opened_at = opened_at
                    storage.state = state.value
                    storage.reset_success_counter()

            elif state is _HALF_OPEN:

                def write() -> None:
                    storage.state = state.value
                    storage.reset_success_counter()

            else:

                def write() -> None:
                    storage.state = state.value
                    storage.reset_counter()
                    storage.reset_success_counter()

            self.seen = state.value
            self.dirty = self.io(write) is _FAILED


def _remaining_s(opened_at: Any, reset_timeout_s: float) -> float:
    """Seconds left of an open period that started at ``opened_at`` (wall clock, UTC).

    As in pybreaker, an open state without a time has run out. pybreaker's Redis
    storage keeps whole seconds, so a shared open period may end up to 1 s early.
    """
    if not isinstance(opened_at, datetime):
        return 0.0
    if opened_at.tzinfo is None:
        opened_at = opened_at.replace(tzinfo=UTC)
    elapsed_s = (datetime.now(UTC) - opened_at).total_seconds()
    return float(min(reset_timeout_s, max(0.0, reset_timeout_s - elapsed_s)))


def _build_config(
    *,
    fail_max: int | None,
    reset_timeout_s: float,
    failure_rate_threshold: float | None,
    window_size: int | None,
    min_calls: int | None,
    slow_call_s: float | None,
    slow_call_rate_threshold: float | None,
    half_open_max_calls: int,
    success_threshold: int,
    exclude: type[BaseException] | Iterable[type[BaseException]],
    sync_interval_s: float,
    storage_retry_s: float,
) -> BreakerConfig:
    """Validate the options; each error names the option, the value and what is allowed."""
    if fail_max is not None:
        positive_int("fail_max", fail_max)
    positive("reset_timeout_s", reset_timeout_s)
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
    uses_window = failure_rate_threshold is not None or slow_call_s is not None
    for option, value in (("window_size", window_size), ("min_calls", min_calls)):
        if value is None:
            continue
        positive_int(option, value)
        if not uses_window:
            raise InvalidUsage(
                f"{option}={value!r}: only used by the rate rules; "
                "also give failure_rate_threshold or slow_call_s"
            )
    if uses_window:
        window_size = _DEFAULT_WINDOW_SIZE if window_size is None else window_size
        min_calls = window_size if min_calls is None else min_calls
        if min_calls > window_size:
            raise InvalidUsage(
                f"min_calls={min_calls!r}: must be <= window_size ({window_size}), "
                "the window never holds more calls than that"
            )
    if fail_max is None and not uses_window:
        raise InvalidUsage(
            "fail_max=None: with no failure_rate_threshold and no slow_call_s nothing "
            "would ever trip the breaker; give at least one trip rule"
        )
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
        exclude=exception_types("exclude", exclude),
        sync_interval_s=positive("sync_interval_s", sync_interval_s, allow_zero=True),
        storage_retry_s=positive("storage_retry_s", storage_retry_s),
    )


_LISTENER_METHODS: Final = ("before_call", "success", "failure", "state_change")
_STORAGE_ATTRIBUTES: Final = ("state", "opened_at", "reset_counter", "reset_success_counter")


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidUsage(f"name={name!r}: must be a non-empty string")
    return name


def _check_clock(clock: Clock) -> Clock:
    if not isinstance(clock, Clock):
        raise InvalidUsage(
            f"clock={clock!r}: must have monotonic(), sleep() and asleep(), "
            "e.g. resilience.SYSTEM_CLOCK or resilience.testing.FakeClock"
        )
    return clock


def _check_listener(listener: BreakerListener) -> BreakerListener:
    missing = [m for m in _LISTENER_METHODS if not callable(getattr(listener, m, None))]
    if missing:
        raise InvalidUsage(
            f"listeners: {listener!r} lacks {', '.join(missing)}; give objects with "
            "before_call, success, failure and state_change, e.g. subclasses of "
            "pybreaker.CircuitBreakerListener"
        )
    return listener


def _check_storage(storage: Any) -> Any:
    missing = [a for a in _STORAGE_ATTRIBUTES if not hasattr(type(storage), a)]
    if missing:
        raise InvalidUsage(
            f"storage={storage!r}: lacks {', '.join(missing)}; give a pybreaker storage, "
            "e.g. pybreaker.CircuitRedisStorage('closed', redis.Redis(...), namespace=...)"
        )
    return storage


def circuit_breaker(
    *,
    name: str | None = None,
    fail_max: int | None = 5,
    reset_timeout_s: float = 60.0,
    failure_rate_threshold: float | None = None,
    window_size: int | None = None,
    min_calls: int | None = None,
    slow_call_s: float | None = None,
    slow_call_rate_threshold: float | None = None,
    half_open_max_calls: int = 1,
    success_threshold: int = 1,
    exclude: type[BaseException] | Iterable[type[BaseException]] = (),
    listeners: Iterable[BreakerListener] = (),
    storage: Any = None,
    sync_interval_s: float = 0.0,
    storage_retry_s: float = 5.0,
    clock: Clock = SYSTEM_CLOCK,
) -> Callable[[Callable[P, R]], Guarded[P, R]]:
    """Decorator factory: guard a function with a new :class:`CircuitBreaker`.

    Takes the options of :class:`CircuitBreaker`; ``name`` defaults to the function's
    qualified name. The options are validated here, before any function is decorated.
    The breaker is the wrapper's ``breaker`` attribute.

    Example:
        >>> @circuit_breaker(fail_max=3, reset_timeout_s=30)
        ... def lookup(key: str) -> str:
        ...     return key.upper()
        >>> lookup("a"), lookup.breaker.state
        ('A', <BreakerState.CLOSED: 'closed'>)
    """
    listeners = tuple(_check_listener(x) for x in listeners)
    if name is not None:
        _check_name(name)
    _check_clock(clock)
    if storage is not None:
        _check_storage(storage)
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
    _build_config(**config_options)
    options = {**config_options, "listeners": listeners, "storage": storage, "clock": clock}

    def decorate(fn: Callable[P, R]) -> Guarded[P, R]:
        return CircuitBreaker(name=name or name_of(fn), **options)(fn)

    return decorate
