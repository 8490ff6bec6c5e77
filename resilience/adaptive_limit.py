"""An adaptive concurrency limit: a bulkhead whose number of slots follows the dependency.

:class:`AdaptiveLimiter` admits calls like :class:`resilience.Bulkhead` (the same pool
shared by plain and ``async def`` functions, threads and event loops, waiters served
first come first served, ``max_wait_s``, then :class:`resilience.BulkheadFull`), but
its limit moves after every call, by one of the update rules of Netflix's
concurrency-limits library:

- ``"aimd"``: additive increase, multiplicative decrease. A drop multiplies the limit
  by ``backoff``; a success while at least half the limit was in use adds 1.
- ``"gradient2"``: compares a short-term RTT (the last call) with a long-term one (an
  exponential average over ``long_window`` calls): ``gradient = clamp(rtt_tolerance x
  long / short, 0.5, 1)``, ``new = limit x gradient + queue_size``, smoothed by
  ``smoothing``. No growth while less than half the limit is in use.
- ``"vegas"``: estimates the queue at the dependency from the no-load RTT (the lowest
  seen, re-probed every ``probe_multiplier x limit`` calls): ``queue = limit x (1 -
  rtt_noload / rtt)``; grows fast while the queue is short, slowly while it is under
  ``alpha = 3 log10(limit)``, shrinks above ``beta = 6 log10(limit)``.

What counts as what:

- **drop** (the dependency is overloaded): a :class:`TimeoutError` (so
  :class:`resilience.TimeoutExceeded`), any error :func:`resilience.throttle_info`
  recognises (HTTP 429/503, Lambda's ``TooManyRequestsException``, FC's
  ``ResourceExhausted`` / ``ResourceThrottled``, ...), the classes given as
  ``drop_on``, and for AIMD a success slower than ``timeout_s``. A drop's RTT is never
  used as a latency sample: a throttled call returns at once, and its near-zero RTT
  would read as "no queue" (Netflix issue #176).
- **success**: the call returned; its RTT (measured on ``clock=``) feeds the algorithm,
  unless it is shorter than ``min_rtt_s`` (Netflix's ``minRttThreshold``).
- **ignored**: any other exception, and cancellation: the call says nothing about the
  dependency's capacity (a validation error, a bug). Its slot is freed, the limit
  does not move.

Differences from Netflix's library, on purpose:

- ``min_limit`` defaults to 1 (Netflix: 20 for AIMD and Gradient2). A downstream
  function with a reserved concurrency of 5 must be able to pull a caller below 20.
- Gradient2 adds ``queue_size`` only when the gradient is 1 (``queue_only_at_gradient_1
  =True``, proposed in Netflix PR #134): under a modest overload (gradient 0.8 to 0.99)
  Netflix's ``limit x gradient + queue_size`` keeps growing, since the queue term
  outweighs the decrease once ``limit x (1 - gradient) < queue_size``.
- Gradient2 and Vegas count a drop: Gradient2 as the steepest gradient (0.5, as PR #134
  proposes), Vegas as its decrease (``limit - log10(limit)``) whether or not a no-load
  RTT is known yet. Netflix's Gradient2 ignores drops.
- Each call updates the limit (no sampling window), under the limiter's lock; the lock
  is never held while the guarded function runs.

As in Netflix's library, Gradient2 reacts to changes of latency, not to its level: its
long RTT follows a latency that stays high, which then becomes the new normal, and the
limit grows back. A steady overload whose latency stays within ``rtt_tolerance`` of that
moving baseline is not seen; a timeout (a drop) or a downstream's throttling is what
bounds the limit then, which is why AIMD on throttles is the default. Neither Gradient2
nor Vegas moves while fewer than half the limit are in flight (the caller, not the
dependency, limits the load).

Threads wait for a slot on ``clock=`` (real slices of 2 ms under a clock other than the
system's), tasks on their own loop, as :class:`resilience.Bulkhead` does.
"""

from __future__ import annotations

import asyncio
import math
import random
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, ParamSpec, Protocol, TypeVar, cast

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import register as _register
from ._observe import switches as _switches
from ._recording import record_outside
from ._validate import Number, exception_types, is_async, name_of, number, positive
from ._validate import clock as valid_clock
from ._waiters import TaskWaiter, ThreadWaiter, wait_for
from ._wraps import wraps
from .clock import Clock
from .errors import BulkheadFull, InvalidUsage
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger
from .throttling import throttle_info

__all__ = ["ALGORITHMS", "AdaptiveLimiter", "AdaptiveLimiterStatistics", "adaptive_limit"]

P = ParamSpec("P")
R = TypeVar("R")

Algorithm = Literal["aimd", "gradient2", "vegas"]
QueueSize = int | Callable[[int], int]


#: The update rules, and the defaults of their own parameters (Netflix's, except where
#: the module docstring says otherwise). Parameters not listed for an algorithm are
#: refused with it.
ALGORITHMS: Mapping[str, Mapping[str, object]] = MappingProxyType(
    {
        "aimd": MappingProxyType({"max_limit": 200, "backoff": 0.9, "timeout_s": 5.0}),
        "gradient2": MappingProxyType(
            {
                "max_limit": 200,
                "smoothing": 0.2,
                "rtt_tolerance": 1.5,
                "long_window": 600,
                "queue_size": 4,
                "queue_only_at_gradient_1": True,
            }
        ),
        "vegas": MappingProxyType(
            {"max_limit": 1000, "smoothing": 1.0, "probe_multiplier": 30, "seed": None}
        ),
    }
)

_INTEGER_FROM_1 = Number(low=1, integral=True, types=(int,))
#: The numeric parameters: what each allows.
_NUMBERS: Mapping[str, Number] = {
    "initial_limit": _INTEGER_FROM_1,
    "min_limit": _INTEGER_FROM_1,
    "max_limit": _INTEGER_FROM_1,
    "backoff": Number(low=0.5, high=1, high_open=True),
    "timeout_s": Number(low=0, low_open=True),
    "smoothing": Number(low=0, high=1, low_open=True),
    "rtt_tolerance": Number(low=1),
    "long_window": _INTEGER_FROM_1,
    "probe_multiplier": _INTEGER_FROM_1,
    "min_rtt_s": Number(low=0),
}


@dataclass(frozen=True, slots=True)
class _Config:
    """The checked parameters of one limiter."""

    algorithm: Algorithm
    initial_limit: int
    min_limit: int
    max_limit: int
    min_rtt_s: float
    options: Mapping[str, Any] = field(default_factory=dict)


def _check_options(algorithm: object, given: Mapping[str, object]) -> _Config:
    """The parameters given to :class:`AdaptiveLimiter`, checked; defaults filled in."""
    if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
        raise InvalidUsage(
            f"algorithm={algorithm!r}: unknown; the known ones are "
            + ", ".join(repr(name) for name in ALGORITHMS)
        )
    defaults = ALGORITHMS[algorithm]
    common = ("initial_limit", "min_limit", "max_limit", "min_rtt_s")
    for name, value in given.items():
        if value is not None and name not in defaults and name not in common:
            users = [a for a, params in ALGORITHMS.items() if name in params]
            raise InvalidUsage(
                f"{name}={value!r}: applies to algorithm={' or '.join(map(repr, users))} "
                f"only, not to algorithm={algorithm!r}"
            )
    values: dict[str, Any] = {**defaults, **{k: v for k, v in given.items() if v is not None}}
    for name, rule in _NUMBERS.items():
        if name in values and values[name] is not None:
            values[name] = number(name, values[name], rule)
    if values.get("initial_limit") is None:  # not given: 20 within [min_limit, max_limit]
        values["initial_limit"] = max(values["min_limit"], min(values["max_limit"], 20))
    _check_bounds(values["initial_limit"], values["min_limit"], values["max_limit"])
    _check_queue_and_flags(values)
    options = {k: v for k, v in values.items() if k not in common}
    return _Config(
        cast("Algorithm", algorithm),
        values["initial_limit"],
        values["min_limit"],
        values["max_limit"],
        values["min_rtt_s"],
        MappingProxyType(options),
    )


def _check_bounds(initial: int, low: int, high: int) -> None:
    if low > high:
        raise InvalidUsage(f"min_limit={low!r}, max_limit={high!r}: min_limit must be <= max_limit")
    if not low <= initial <= high:
        raise InvalidUsage(
            f"initial_limit={initial!r}: must be within [min_limit, max_limit] = [{low}, {high}]"
        )


def _check_queue_and_flags(values: dict[str, Any]) -> None:
    queue = values.get("queue_size")
    if queue is not None and not callable(queue):
        values["queue_size"] = number("queue_size", queue, Number(low=0, integral=True))
    flag = values.get("queue_only_at_gradient_1")
    if flag is not None and not isinstance(flag, bool):
        raise InvalidUsage(f"queue_only_at_gradient_1={flag!r}: must be True or False")
    seed = values.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidUsage(f"seed={seed!r}: must be an int or None")


# -- the update rules ------------------------------------------------------------------


class _Limit(Protocol):
    """One update rule: the current limit, one update per call, its state for stats."""

    limit: int

    def update(self, rtt_s: float | None, in_flight: int, dropped: bool) -> None: ...

    def state(self) -> dict[str, float]: ...


def _clamp(value: float, config: _Config) -> float:
    return max(float(config.min_limit), min(float(config.max_limit), value))


class _Aimd:
    """Netflix's ``AIMDLimit``: times ``backoff`` on a drop, +1 on a busy success."""

    def __init__(self, config: _Config) -> None:
        self._config = config
        self._backoff: float = config.options["backoff"]
        self._timeout_s: float = config.options["timeout_s"]
        self.limit = config.initial_limit

    def update(self, rtt_s: float | None, in_flight: int, dropped: bool) -> None:
        limit = self.limit
        if dropped:  # the limiter counts a success slower than timeout_s as a drop
            limit = int(limit * self._backoff)
        elif in_flight * 2 >= limit:
            limit += 1
        self.limit = int(_clamp(limit, self._config))

    def state(self) -> dict[str, float]:
        return {"backoff": self._backoff, "timeout_s": self._timeout_s}


class _ExpAverage:
    """An exponential moving average over ``window`` samples; a plain mean for the first
    ``warmup`` (Netflix's ``ExpAvgMeasurement``)."""

    def __init__(self, window: int, warmup: int = 10) -> None:
        self.value = 0.0
        self._factor = 2.0 / (window + 1)
        self._warmup = warmup
        self._count = 0
        self._sum = 0.0

    def add(self, sample: float) -> float:
        if self._count < self._warmup:
            self._count += 1
            self._sum += sample
            self.value = self._sum / self._count
        else:
            self.value = self.value * (1 - self._factor) + sample * self._factor
        return self.value


def _constant(value: int) -> Callable[[int], int]:
    """A queue size that does not depend on the limit."""

    def queue_size(_limit: int) -> int:
        return value

    return queue_size


class _Gradient2:
    """Netflix's ``Gradient2Limit``, with the queue term at gradient 1 only (PR #134)."""

    def __init__(self, config: _Config) -> None:
        options = config.options
        self._config = config
        self._smoothing: float = options["smoothing"]
        self._tolerance: float = options["rtt_tolerance"]
        queue = options["queue_size"]
        self._queue: Callable[[int], int] = queue if callable(queue) else _constant(queue)
        self._queue_at_1_only: bool = options["queue_only_at_gradient_1"]
        self._long = _ExpAverage(options["long_window"])
        self._estimate = float(config.initial_limit)
        self._short_s = 0.0
        self._gradient = 1.0
        self.limit = config.initial_limit

    def update(self, rtt_s: float | None, in_flight: int, dropped: bool) -> None:
        estimate = self._estimate
        if dropped:
            self._gradient = 0.5
            self._set(estimate * (1 - self._smoothing) + estimate * 0.5 * self._smoothing)
            return
        if rtt_s is None:
            return
        self._short_s = rtt_s
        long_s = self._long.add(rtt_s)
        if long_s / rtt_s > 2:  # back from a long overload: let the baseline come down
            self._long.value *= 0.95
        if in_flight < estimate / 2:  # the caller, not the dependency, limits the load
            return
        gradient = max(0.5, min(1.0, self._tolerance * long_s / rtt_s))
        self._gradient = gradient
        queue = self._queue(int(estimate))
        if self._queue_at_1_only and gradient < 1.0:
            queue = 0
        target = estimate * gradient + queue
        self._set(estimate * (1 - self._smoothing) + target * self._smoothing)

    def _set(self, estimate: float) -> None:
        self._estimate = _clamp(estimate, self._config)
        self.limit = int(self._estimate)

    def state(self) -> dict[str, float]:
        return {
            "estimate": self._estimate,
            "gradient": self._gradient,
            "short_rtt_s": self._short_s,
            "long_rtt_s": self._long.value,
        }


def _log10_int(limit: float) -> int:
    """Netflix's ``Log10RootIntFunction``: ``max(1, floor(log10(limit)))``."""
    whole = int(limit)
    return max(1, int(math.log10(whole))) if whole >= 1 else 1


class _Vegas:
    """Netflix's ``VegasLimit`` (queue estimate from the no-load RTT)."""

    def __init__(self, config: _Config) -> None:
        options = config.options
        self._config = config
        self._smoothing: float = options["smoothing"]
        self._probe_multiplier: int = options["probe_multiplier"]
        self._random = random.Random(options["seed"])
        self._jitter = self._random.uniform(0.5, 1.0)
        self._probe_count = 0
        self._noload_s = 0.0
        self._queue = 0
        self._estimate = float(config.initial_limit)
        self.limit = config.initial_limit

    def update(self, rtt_s: float | None, in_flight: int, dropped: bool) -> None:
        estimate = self._estimate
        if dropped:
            self._set(estimate - _log10_int(estimate))
            return
        if rtt_s is None or rtt_s <= 0:
            return
        self._probe_count += 1
        if self._jitter * self._probe_multiplier * estimate <= self._probe_count:
            self._jitter = self._random.uniform(0.5, 1.0)  # re-probe the no-load RTT
            self._probe_count = 0
            self._noload_s = rtt_s
            return
        if self._noload_s == 0 or rtt_s < self._noload_s:
            self._noload_s = rtt_s
            return
        self._queue = math.ceil(estimate * (1 - self._noload_s / rtt_s))
        if in_flight * 2 < estimate:  # not near the limit: no upward drift
            return
        target = self._target(estimate, self._queue)
        if target is not None:
            self._set(target)

    @staticmethod
    def _target(estimate: float, queue: int) -> float | None:
        step = _log10_int(estimate)
        alpha, beta = 3 * step, 6 * step
        if queue <= step:  # no queue: grow fast
            return estimate + beta
        if queue < alpha:
            return estimate + step
        if queue > beta:
            return estimate - step
        return None  # within [alpha, beta]: the sweet spot

    def _set(self, target: float) -> None:
        estimate = self._estimate
        smoothed = (1 - self._smoothing) * estimate + self._smoothing * _clamp(target, self._config)
        self._estimate = _clamp(smoothed, self._config)
        self.limit = int(self._estimate)

    def state(self) -> dict[str, float]:
        return {
            "estimate": self._estimate,
            "rtt_noload_s": self._noload_s,
            "queue": float(self._queue),
        }


_RULES: Mapping[str, Callable[[_Config], _Limit]] = {
    "aimd": _Aimd,
    "gradient2": _Gradient2,
    "vegas": _Vegas,
}


@dataclass(frozen=True, slots=True)
class AdaptiveLimiterStatistics:
    """A snapshot of an adaptive limiter.

    Attributes:
        algorithm: ``"aimd"``, ``"gradient2"`` or ``"vegas"``.
        limit: the concurrency limit now.
        active: calls in flight now (holding a slot). Right after a decrease it may be
            above ``limit``; no call is admitted until it is below.
        waiting: calls waiting for a slot now.
        rejected: calls rejected with ``BulkheadFull`` so far.
        succeeded: calls that returned (their RTT fed the limit unless below
            ``min_rtt_s``).
        dropped: calls that signalled overload (timeout, throttling, ``drop_on``; for
            AIMD a success slower than ``timeout_s``).
        ignored: calls whose error says nothing about capacity (the limit did not move).
        state: the algorithm's own numbers, seconds for RTTs: Gradient2 ``estimate``,
            ``gradient``, ``short_rtt_s``, ``long_rtt_s``; Vegas ``estimate``,
            ``rtt_noload_s``, ``queue``; AIMD ``backoff``, ``timeout_s``.
    """

    algorithm: str
    limit: int
    active: int
    waiting: int
    rejected: int
    succeeded: int
    dropped: int
    ignored: int
    state: Mapping[str, float]


_SUCCESS, _DROP, _IGNORE = "success", "drop", "ignore"


class AdaptiveLimiter:
    """A concurrency limit that adapts to the dependency; build it with :func:`adaptive_limit`
    (the parameters are the same)."""

    def __init__(
        self,
        algorithm: Algorithm = "aimd",
        *,
        initial_limit: int | None = None,
        min_limit: int = 1,
        max_limit: int | None = None,
        backoff: float | None = None,
        timeout_s: float | None = None,
        smoothing: float | None = None,
        rtt_tolerance: float | None = None,
        long_window: int | None = None,
        queue_size: QueueSize | None = None,
        queue_only_at_gradient_1: bool | None = None,
        probe_multiplier: int | None = None,
        seed: int | None = None,
        min_rtt_s: float = 0.0001,
        drop_on: type[BaseException] | tuple[type[BaseException], ...] = (),
        max_wait_s: float | None = 0.0,
        name: str | None = None,
        clock: Clock | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        self._config = _check_options(
            algorithm,
            {
                "initial_limit": initial_limit,
                "min_limit": min_limit,
                "max_limit": max_limit,
                "backoff": backoff,
                "timeout_s": timeout_s,
                "smoothing": smoothing,
                "rtt_tolerance": rtt_tolerance,
                "long_window": long_window,
                "queue_size": queue_size,
                "queue_only_at_gradient_1": queue_only_at_gradient_1,
                "probe_multiplier": probe_multiplier,
                "seed": seed,
                "min_rtt_s": min_rtt_s,
            },
        )
        self.algorithm: Algorithm = self._config.algorithm
        self.drop_on = exception_types("drop_on", drop_on)
        self.max_wait_s = (
            None if max_wait_s is None else positive("max_wait_s", max_wait_s, allow_zero=True)
        )
        if name is not None and not isinstance(name, str):
            raise InvalidUsage(f"name={name!r}: must be a string or None")
        self.name = name
        self.clock: Clock = valid_clock("clock", clock)
        self.ledger = valid_ledger("ledger", ledger)
        self._rule = _RULES[self.algorithm](self._config)
        self._slow_s: float = self._config.options.get("timeout_s", math.inf)
        self._lock = threading.Lock()
        self._active = 0
        self._counts = {"rejected": 0, _SUCCESS: 0, _DROP: 0, _IGNORE: 0}
        self._waiters: deque[ThreadWaiter | TaskWaiter] = deque()
        _register(self)  # the in-flight and limit gauges see it while it lives

    # -- the limit -----------------------------------------------------------------------

    @property
    def limit(self) -> int:
        """The concurrency limit now."""
        return self._rule.limit

    @property
    def statistics(self) -> AdaptiveLimiterStatistics:
        """A snapshot of the limit, the calls in flight and waiting, and the counters."""
        with self._lock:
            counts = self._counts
            return AdaptiveLimiterStatistics(
                self.algorithm,
                self._rule.limit,
                self._active,
                len(self._waiters),
                counts["rejected"],
                counts[_SUCCESS],
                counts[_DROP],
                counts[_IGNORE],
                MappingProxyType(self._rule.state()),
            )

    def _kind_of(self, exc: BaseException | None, rtt_s: float) -> str:
        """What a call that ended with ``exc`` (None: it returned) after ``rtt_s`` seconds
        says about capacity."""
        if exc is None:
            return _DROP if rtt_s > self._slow_s else _SUCCESS
        if not isinstance(exc, Exception):  # cancellation, KeyboardInterrupt
            return _IGNORE
        if isinstance(exc, (TimeoutError, *self.drop_on)):
            return _DROP
        return _DROP if throttle_info(exc) is not None else _IGNORE

    # -- slots ---------------------------------------------------------------------------

    def _full(self, name: str) -> BulkheadFull:
        """Count a rejection and build its error; caller holds the lock."""
        self._counts["rejected"] += 1
        if _listening():
            _emit(
                "bulkhead.rejected",
                {
                    "callwise.policy": self.name or name,
                    "callwise.function": name,
                    "callwise.outcome": "bulkhead_full",
                    "error.type": "resilience.errors.BulkheadFull",
                },
            )
        return BulkheadFull(self.name or name, self._rule.limit)

    def _try_acquire(self) -> int | None:
        """Take a free slot at once (never ahead of a waiter): the calls in flight with
        this one, or None; caller holds the lock."""
        if self._active < self._rule.limit and not self._waiters:
            self._active += 1
            return self._active
        return None

    def _grant_waiters(self) -> None:
        """Hand free slots to the oldest live waiters; caller holds the lock."""
        while self._waiters and self._active < self._rule.limit:
            waiter = self._waiters.popleft()
            self._active += 1
            waiter.granted, waiter.in_flight = True, self._active
            if not waiter.wake():
                self._active -= 1

    def _release(self, in_flight: int, start_s: float, exc: BaseException | None) -> None:
        """Free the slot, feed the call's outcome to the limit, let waiters in."""
        rtt_s = self.clock.monotonic() - start_s
        kind = self._kind_of(exc, rtt_s)
        with self._lock:
            self._active -= 1
            self._counts[kind] += 1
            before = self._rule.limit
            if kind == _DROP:
                self._rule.update(None, in_flight, True)
            elif kind == _SUCCESS and rtt_s >= self._config.min_rtt_s:
                self._rule.update(rtt_s, in_flight, False)
            after = self._rule.limit
            self._grant_waiters()
        if after != before and _listening():
            _emit(
                "adaptive_limit.changed",
                {
                    "callwise.policy": self.name or self.algorithm,
                    "callwise.limit.direction": "up" if after > before else "down",
                },
            )

    def _give_back(self) -> None:
        """Free a slot that was granted to a waiter who no longer wants it."""
        with self._lock:
            self._active -= 1
            self._grant_waiters()

    def _acquire(self, name: str) -> int:
        with self._lock:
            in_flight = self._try_acquire()
            if in_flight is not None:
                return in_flight
            if self.max_wait_s == 0:
                raise self._full(name)
            waiter = ThreadWaiter()
            self._waiters.append(waiter)
        self._wait(waiter.event)
        with self._lock:
            if waiter.granted:  # granted, possibly just as the wait ran out: keep it
                return waiter.in_flight
            self._waiters.remove(waiter)
            raise self._full(name)

    def _wait(self, event: threading.Event) -> bool:
        """Wait for ``event`` at most ``max_wait_s`` on the clock; True when it was set."""
        return wait_for(event, self.max_wait_s, self.clock)

    async def _acquire_async(self, name: str) -> int:
        with self._lock:
            in_flight = self._try_acquire()
            if in_flight is not None:
                return in_flight
            if self.max_wait_s == 0:
                raise self._full(name)
            waiter = TaskWaiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        limit = asyncio.timeout(self.max_wait_s)
        try:
            async with limit:
                await waiter.future
        except BaseException:  # timed out or cancelled while waiting
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                self._give_back()  # pass on the slot we were handed
            if limit.expired():
                with self._lock:
                    error = self._full(name)
                raise error from None
            raise
        return waiter.in_flight

    # -- decorating ------------------------------------------------------------------------

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"adaptive_limit(...) decorates a callable, got {fn!r}")
        guarded = self.decorate(fn, is_async=is_async(fn))
        if self.ledger is None:
            return guarded
        return record_outside(self.ledger, fn, guarded, self.clock)

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """``fn`` behind the limiter, with no ledger rows (what :class:`Policy` composes)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site))
        acquire, release, name = self._acquire, self._release, name_of(fn)
        monotonic = self.clock.monotonic

        @wraps(fn)
        def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            in_flight = acquire(name)
            start_s = monotonic()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                release(in_flight, start_s, exc)
                raise
            release(in_flight, start_s, None)
            return result

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        acquire, release, name = self._acquire_async, self._release, name_of(fn)
        monotonic = self.clock.monotonic

        @wraps(fn)
        async def limited_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            in_flight = await acquire(name)
            start_s = monotonic()
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                release(in_flight, start_s, exc)
                raise
            release(in_flight, start_s, None)
            return result

        me = weakref.ref(limited_call)  # for observe_call: no reference cycle

        return limited_call

    def __repr__(self) -> str:
        return (
            f"AdaptiveLimiter({self.algorithm!r}, limit={self.limit}, "
            f"min_limit={self._config.min_limit}, max_limit={self._config.max_limit}, "
            f"max_wait_s={self.max_wait_s!r}, name={self.name!r})"
        )


def adaptive_limit(
    algorithm: Algorithm = "aimd",
    *,
    initial_limit: int | None = None,
    min_limit: int = 1,
    max_limit: int | None = None,
    backoff: float | None = None,
    timeout_s: float | None = None,
    smoothing: float | None = None,
    rtt_tolerance: float | None = None,
    long_window: int | None = None,
    queue_size: QueueSize | None = None,
    queue_only_at_gradient_1: bool | None = None,
    probe_multiplier: int | None = None,
    seed: int | None = None,
    min_rtt_s: float = 0.0001,
    drop_on: type[BaseException] | tuple[type[BaseException], ...] = (),
    max_wait_s: float | None = 0.0,
    name: str | None = None,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
) -> AdaptiveLimiter:
    """A concurrency limit that moves with what the dependency shows (see the module docs).

    Parameters left None take the algorithm's default (:data:`ALGORITHMS`); one that
    the algorithm does not use is refused.

    Args:
        algorithm: ``"aimd"`` (the default: reacts to drops such as a downstream's
            throttling, so a caller settles at its reserved concurrency),
            ``"gradient2"`` or ``"vegas"`` (react to latency).
        initial_limit: the limit at the start (None: 20, as Netflix, moved into
            [min_limit, max_limit] when they exclude it).
        min_limit: the lowest limit (1; Netflix's is 20, which would keep a caller
            above a reserved concurrency below 20).
        max_limit: the highest limit (200 for AIMD and Gradient2, 1000 for Vegas).
        backoff: AIMD: the factor applied on a drop, in [0.5, 1) (0.9).
        timeout_s: AIMD: a success slower than this counts as a drop, seconds (5).
        smoothing: Gradient2 and Vegas: how much of a new estimate is taken, in (0, 1]
            (0.2 for Gradient2, 1 for Vegas).
        rtt_tolerance: Gradient2: the ratio of short to long RTT tolerated before the
            limit comes down, >= 1 (1.5).
        long_window: Gradient2: the calls the long RTT averages over (600).
        queue_size: Gradient2: the growth allowed while latency is steady: an int
            >= 0 or a function of the limit (4).
        queue_only_at_gradient_1: Gradient2: add ``queue_size`` only when the gradient
            is 1 (True, Netflix PR #134; False: Netflix's rule, which can grow without
            bound under a modest overload).
        probe_multiplier: Vegas: re-measure the no-load RTT every ``probe_multiplier
            x limit`` calls, jittered by 0.5-1x (30).
        seed: Vegas: seed of that jitter (None: unpredictable).
        min_rtt_s: successes faster than this feed nothing, seconds (0.0001, Netflix's
            ``minRttThreshold``).
        drop_on: further exception classes that count as drops.
        max_wait_s: how long a call waits for a slot, seconds (0: not at all; None:
            without limit). Threads wait on ``clock``, tasks on their loop's clock.
        name: shown in ``BulkheadFull`` (None: the function's name).
        clock: RTTs are measured on it; the waits of threads and ledger rows use it.
        ledger: record one attempt row and one call row per call (a rejection is a
            ``rejected`` attempt).

    Returns:
        An :class:`AdaptiveLimiter`, to use as a decorator; ``.statistics`` has its state.

    Example:
        >>> from resilience import HttpStatusError
        >>> from resilience.testing import FakeClock
        >>> clock = FakeClock()
        >>> limiter = adaptive_limit("aimd", initial_limit=10, clock=clock)
        >>> @limiter
        ... def call_downstream(busy: bool) -> str:
        ...     clock.advance(0.05)
        ...     if busy:
        ...         raise HttpStatusError(429, "https://example.com/fn")
        ...     return "ok"
        >>> try:
        ...     call_downstream(True)
        ... except HttpStatusError:
        ...     pass
        >>> limiter.limit  # a throttle is a drop: 10 x 0.9
        9
    """
    return AdaptiveLimiter(
        algorithm,
        initial_limit=initial_limit,
        min_limit=min_limit,
        max_limit=max_limit,
        backoff=backoff,
        timeout_s=timeout_s,
        smoothing=smoothing,
        rtt_tolerance=rtt_tolerance,
        long_window=long_window,
        queue_size=queue_size,
        queue_only_at_gradient_1=queue_only_at_gradient_1,
        probe_multiplier=probe_multiplier,
        seed=seed,
        min_rtt_s=min_rtt_s,
        drop_on=drop_on,
        max_wait_s=max_wait_s,
        name=name,
        clock=clock,
        ledger=ledger,
    )
