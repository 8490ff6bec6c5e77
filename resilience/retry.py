"""Retries with exponential backoff, jitter, an attempt cap and a retry budget.

``@retry(attempts=3)`` calls the function once, plainly: a call that succeeds costs a
counter update and nothing else. Only after a failure does tenacity take over, with
our strategies (backoff, stop, what to retry) and the clock's ``sleep``/``asleep``, so
tests on :class:`resilience.testing.FakeClock` never wait.

What is retried: ``on=`` exception types (default: any ``Exception`` except
:class:`~resilience.CircuitOpenError` and :class:`~resilience.InvalidUsage`). An open
breaker is never retried, whatever ``on=`` says: it answers "not now" and a retry
would only ask again (so ``on=`` naming it or a subclass is refused with
:class:`~resilience.InvalidUsage`; a base class such as ``Exception`` is fine).
``BaseException``s that are not ``Exception``s (cancellation, ``KeyboardInterrupt``)
are never retried.

Backoff: the wait before retry ``k`` (``k = 1`` after the first failure) is drawn
from a cap ``min(max_backoff_s, backoff_s * 2 ** (k - 1))``: ``"full"`` jitter waits
``uniform(0, cap)``, ``"equal"`` waits ``cap / 2 + uniform(0, cap / 2)``, ``"none"``
waits ``cap`` (the schemes of the AWS architecture blog's "Exponential Backoff And
Jitter").

Retry-After: when the error says how long the downstream wants the caller to wait
(:func:`resilience.throttle_info`: an HTTP 429/503 with ``Retry-After`` in seconds or
as an HTTP-date read against the response's ``Date``, botocore's throttling errors, FC's,
our own :class:`~resilience.RateLimited`), the wait before the next attempt is at least
that long: ``max(retry_after, backoff)``. A wait asked beyond ``max_retry_after_s``
(default 60 s) is not worth waiting for: the retries stop and the error is raised as it
is. ``RateLimited`` is retried only when ``on=`` names it (or a base class of it).

Deadline: ``deadline_s`` bounds the whole sequence on the clock, from the first try: no
retry starts, and no wait is begun that would end, after it (the attempts themselves
are bounded by a :func:`~resilience.timeout`, not by this).

Retry budget: a :class:`RetryBudget` caps retries at ``min_retries + ratio x calls``
over a sliding window of ``window_s`` seconds (calls are logical calls, first tries).
During an outage every call fails; without a budget each one would be tried
``attempts`` times and multiply the load on a dependency that is already down. When
the budget is spent the call gives up at once and **re-raises its own error**, the
one the caller would have seen with ``attempts=1``. We chose that over raising an
exception of our own because an exception type that changes only during outages
breaks ``except`` clauses exactly when they matter; the refusal is counted in
:attr:`RetryStatistics.budget_refusals` and logged at debug level.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar, cast, overload

import tenacity

from ._events import emit as _emit
from ._events import listening as _listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import logger as _logger_named
from ._observe import names as _names
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._recording import Recorder, error_type_of, outcome_of
from ._validate import clock as valid_clock
from ._validate import exception_types, is_async, name_of, positive, positive_int, rate
from ._wraps import wraps
from .clock import Clock, SystemClock
from .errors import CircuitOpenError, InvalidUsage, RateLimited
from .ledger import Ledger
from .ledger import check_ledger as valid_ledger
from .throttling import throttle_info

__all__ = ["Backoff", "Jitter", "Retry", "RetryBudget", "RetryStatistics", "retry"]

P = ParamSpec("P")
R = TypeVar("R")

Jitter = Literal["full", "equal", "none"]
_JITTERS: tuple[str, ...] = ("full", "equal", "none")

logger = _logger_named("resilience.retry")


def _function_of(state: tenacity.RetryCallState) -> str | None:
    """The name of the function a tenacity state retries (set on its attempt)."""
    return getattr(state.fn, "callwise_function", None)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with a cap and jitter.

    Attributes:
        backoff_s: the cap before the first retry, seconds (doubles each retry).
        max_backoff_s: the largest cap, seconds.
        jitter: ``"full"``, ``"equal"`` or ``"none"``.
    """

    backoff_s: float = 0.1
    max_backoff_s: float = 10.0
    jitter: Jitter = "full"

    def cap_s(self, retry_number: int) -> float:
        """The longest wait before retry ``retry_number`` (1, 2, ...), seconds."""
        exponent = min(max(retry_number - 1, 0), 1000)  # 2.0 ** 1000 is still a float
        return min(self.max_backoff_s, self.backoff_s * 2.0**exponent)

    def delay_s(self, retry_number: int, uniform: float) -> float:
        """The wait before retry ``retry_number`` for a random draw ``uniform`` in [0, 1)."""
        cap = self.cap_s(retry_number)
        if self.jitter == "full":
            return cap * uniform
        if self.jitter == "equal":
            return cap / 2 + cap / 2 * uniform
        return cap


def _value(counter: itertools.count[int]) -> int:
    """The next number an ``itertools.count`` would give, i.e. how often it was used."""
    return int(repr(counter)[6:-1])  # "count(42)"


class RetryBudget:
    """A ceiling on the share of calls that may be retries, over a sliding window.

    A retry is allowed while the retries made in the last ``window_s`` seconds stay
    within ``min_retries + ratio x calls`` (calls: logical calls in the same window).
    Thread-safe; one budget may be shared by several :class:`Retry` objects that
    call the same dependency.

    Counting a call is on every call's path, so it takes no lock: it bumps an
    ``itertools.count`` (atomic under the GIL) of the current bucket. A call that
    crosses into a new bucket (every ``window_s / 10`` seconds) takes the lock,
    rotates, and counts itself there under the lock. A rotation publishes the new
    current bucket before the new head time, and never replaces the counter of the
    head bucket unless a whole window has passed (when its calls have left the window
    anyway), so a lock-free count is never lost; at a bucket boundary it may land in
    the newer bucket, which only keeps it in the window a little longer.

    The clock: a budget built without ``clock=`` takes the clock of the first
    :class:`Retry` it is given (until then it runs on the system clock), so a budget
    shared by retries on a :class:`~resilience.testing.FakeClock` runs on fake time
    too. All the retries sharing one budget must use its clock: a Retry on another
    clock is refused with :class:`~resilience.InvalidUsage`.

    Args:
        ratio: share of calls that may be retried, in (0, 1] (0.2: at most one retry
            per five calls).
        min_retries: retries allowed per window whatever the traffic, so a quiet
            caller can still retry (>= 0).
        window_s: length of the sliding window, seconds (kept in 10 buckets).
        clock: gives the time (None: the clock of the first Retry using it).
    """

    _BUCKETS = 10

    def __init__(
        self,
        *,
        ratio: float = 0.2,
        min_retries: int = 10,
        window_s: float = 10.0,
        clock: Clock | None = None,
    ) -> None:
        self.ratio = rate("ratio", ratio)
        self.min_retries = positive_int("min_retries", min_retries, allow_zero=True)
        self.window_s = positive("window_s", window_s)
        self._bucket_s = self.window_s / self._BUCKETS
        self._lock = threading.Lock()
        self._clock_given = clock is not None
        self._start(valid_clock("clock", clock))

    def _start(self, clock: Clock) -> None:
        """Run on ``clock`` from now on, with empty buckets."""
        self.clock = clock
        self._monotonic = time.monotonic if isinstance(clock, SystemClock) else clock.monotonic
        self._calls = [itertools.count() for _ in range(self._BUCKETS)]
        self._retries = [0] * self._BUCKETS
        self._head = self._monotonic() // self._bucket_s
        self._current = self._calls[int(self._head) % self._BUCKETS]
        self._ends = self._end_of(self._head)

    def _bind(self, clock: Clock) -> None:
        """Take ``clock`` if no clock was given or taken yet; refuse a different one."""
        with self._lock:
            if not self._clock_given:
                self._clock_given = True
                self._start(clock)
                return
            mine = self.clock
            same = clock is mine or (
                isinstance(clock, SystemClock) and isinstance(mine, SystemClock)
            )
        if not same:
            raise InvalidUsage(
                f"budget={self!r}: runs on {type(mine).__name__} but this retry on "
                f"{type(clock).__name__}; give every retry sharing a budget the same clock"
            )

    def _rotate(self, now: float) -> int:
        """Clear the buckets that left the window (caller holds the lock)."""
        if now > self._head:
            for step in range(int(min(now - self._head, self._BUCKETS))):
                i = int(self._head + 1 + step) % self._BUCKETS
                self._calls[i] = itertools.count()
                self._retries[i] = 0
            self._current = self._calls[int(now) % self._BUCKETS]  # before the head and
            self._head = now  # its end: a lock-free reader that sees them counts there
            self._ends = self._end_of(now)
        return int(self._head) % self._BUCKETS

    def _end_of(self, head: float) -> float:
        """The first time of the bucket after ``head``: the smallest float ``t`` with
        ``t // bucket_s > head``, so ``t < _ends`` says exactly what ``t // bucket_s ==
        head`` says while time moves forward (one comparison instead of a division)."""
        step, following = self._bucket_s, head + 1
        ends = following * step
        while ends // step < following:
            ends = math.nextafter(ends, math.inf)
        while math.nextafter(ends, -math.inf) // step >= following:
            ends = math.nextafter(ends, -math.inf)
        return ends

    def deposit(self) -> None:
        """Count one call."""
        if self._monotonic() < self._ends:  # still in the current bucket: no lock
            next(self._current)
            return
        with self._lock:
            self._rotate(self._monotonic() // self._bucket_s)
            next(self._current)

    def _allowed(self) -> float:
        return self.min_retries + self.ratio * sum(_value(c) for c in self._calls)

    def try_withdraw(self) -> bool:
        """Take one retry if the budget allows it; False when it is spent."""
        with self._lock:
            i = self._rotate(self._monotonic() // self._bucket_s)
            if sum(self._retries) + 1 > self._allowed():
                return False
            self._retries[i] += 1
            return True

    @property
    def available(self) -> int:
        """Retries that would be allowed now."""
        with self._lock:
            self._rotate(self._monotonic() // self._bucket_s)
            return max(0, math.floor(self._allowed() - sum(self._retries)))

    def __repr__(self) -> str:
        return (
            f"RetryBudget(ratio={self.ratio}, min_retries={self.min_retries}, "
            f"window_s={self.window_s})"
        )


class RetryStatistics:
    """Live counters of a :class:`Retry`, shared by every function it decorates.

    Attributes:
        calls: logical calls.
        attempts: tries, first ones included.
        retries: tries after the first (``attempts - calls``).
        gave_up: calls that stopped retrying: on their last allowed attempt, or because
            the next wait asked was too long or would end past ``deadline_s``.
        budget_refusals: retries refused by the retry budget.
        idle_s: time spent waiting between attempts, seconds.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: Retry) -> None:
        self._owner = owner

    @property
    def calls(self) -> int:
        return _value(self._owner._calls)

    @property
    def retries(self) -> int:
        return self._owner._retries

    @property
    def attempts(self) -> int:
        return self.calls + self.retries

    @property
    def gave_up(self) -> int:
        return self._owner._gave_up

    @property
    def budget_refusals(self) -> int:
        return self._owner._budget_refusals

    @property
    def idle_s(self) -> float:
        return self._owner._idle_s

    def as_dict(self) -> dict[str, float]:
        """A snapshot of every counter."""
        names = ("calls", "attempts", "retries", "gave_up", "budget_refusals", "idle_s")
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"RetryStatistics({fields})"


class Retry:
    """A retry decorator; build it with :func:`retry`."""

    def __init__(
        self,
        *,
        attempts: int = 3,
        on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        backoff_s: float = 0.1,
        max_backoff_s: float = 10.0,
        jitter: Jitter = "full",
        budget: RetryBudget | float | None = 0.2,
        clock: Clock | None = None,
        ledger: Ledger | None = None,
        rng: random.Random | None = None,
        max_retry_after_s: float = 60.0,
        deadline_s: float | None = None,
    ) -> None:
        self.attempts = positive_int("attempts", attempts)
        self.max_retry_after_s = positive("max_retry_after_s", max_retry_after_s, allow_zero=True)
        self.deadline_s = None if deadline_s is None else positive("deadline_s", deadline_s)
        if on is None:
            self.on: tuple[type[BaseException], ...] = (Exception,)
            self._never: tuple[type[BaseException], ...] = (
                CircuitOpenError,
                InvalidUsage,
                RateLimited,
            )
        else:
            self.on = exception_types("on", on)
            self._never = (CircuitOpenError,)
            for kind in self.on:
                if not issubclass(kind, Exception):
                    raise InvalidUsage(
                        f"on={on!r}: {kind.__name__} is not an Exception subclass; "
                        "cancellation and interrupts are never retried"
                    )
                if issubclass(kind, CircuitOpenError):
                    what = "" if kind is CircuitOpenError else " is a CircuitOpenError"
                    raise InvalidUsage(
                        f"on={on!r}: {kind.__name__}{what}: an open breaker is never retried "
                        "(it answers 'not now', a retry would only ask again); leave it out"
                    )
        positive("backoff_s", backoff_s, allow_zero=True)
        positive("max_backoff_s", max_backoff_s, allow_zero=True)  # below backoff_s: caps all
        if jitter not in _JITTERS:
            raise InvalidUsage(f"jitter={jitter!r}: must be one of {_JITTERS}")
        self.backoff = Backoff(float(backoff_s), float(max_backoff_s), jitter)
        self.clock: Clock = valid_clock("clock", clock)
        if budget is None or isinstance(budget, RetryBudget):
            self.budget = budget
            if budget is not None:
                budget._bind(self.clock)
        elif isinstance(budget, (int, float)) and not isinstance(budget, bool):
            self.budget = RetryBudget(ratio=rate("budget", budget), clock=self.clock)
        else:
            raise InvalidUsage(
                f"budget={budget!r}: must be a RetryBudget, a ratio in (0, 1] or None"
            )
        self.ledger = valid_ledger("ledger", ledger)
        self._random = (rng or random.Random()).random
        self._calls = itertools.count()  # bumped without a lock on every call
        self._retries = self._gave_up = self._budget_refusals = 0
        self._idle_s = 0.0
        self._lock = threading.Lock()
        # built at the first failure, then reused: tenacity keeps its per-call state
        # in the RetryCallState and in thread-local storage
        self._sync_retrying: tenacity.Retrying | None = None
        self._async_retrying: tenacity.Retrying | None = None
        self.statistics = RetryStatistics(self)
        """Live counters (see :class:`RetryStatistics`)."""

    # -- decisions (used by tenacity) --------------------------------------------

    def retryable(self, exc: BaseException) -> bool:
        """Whether ``exc`` is worth another attempt (budget and attempts aside)."""
        return isinstance(exc, self.on) and not isinstance(exc, self._never)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """The backoff, or the wait the error asked for when it asks longer (tenacity
        runs this before ``_stop``, which reads the verdict left on the state)."""
        delay = self.backoff.delay_s(state.attempt_number, self._random())
        failure = state.outcome.exception() if state.outcome is not None else None
        info = None if failure is None else throttle_info(failure)
        asked = None if info is None else info.retry_after_s
        state.callwise_too_long = asked is not None and asked > self.max_retry_after_s  # type: ignore[attr-defined]
        return delay if asked is None else max(delay, asked)

    def _past_deadline(self, state: tenacity.RetryCallState) -> bool:
        started: float | None = getattr(state.fn, "started_s", None)
        if self.deadline_s is None or started is None:
            return False
        ends_s = self.clock.monotonic() + float(state.upcoming_sleep or 0.0)
        return ends_s - started > self.deadline_s

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self.attempts:
            with self._lock:
                self._gave_up += 1
            return True
        if getattr(state, "callwise_too_long", False) or self._past_deadline(state):
            with self._lock:
                self._gave_up += 1
            logger.debug(
                "retry: the next wait is too long or ends past the deadline",
                extra=_names(function=_function_of(state)),
            )
            return True
        if self.budget is not None and not self.budget.try_withdraw():
            with self._lock:
                self._budget_refusals += 1
            logger.debug(
                "retry budget spent: giving up after attempt %d",
                state.attempt_number,
                extra=_names(function=_function_of(state)),
            )
            return True
        return False

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        with self._lock:
            self._idle_s += state.upcoming_sleep
        if _listening():
            failure = state.outcome.exception() if state.outcome is not None else None
            attributes = {"callwise.function": _function_of(state)}
            if failure is not None:
                attributes["callwise.outcome"] = outcome_of(failure)
                attributes["error.type"] = error_type_of(failure)
            _emit("retry", attributes)

    def _tenacity_kwargs(self) -> dict[str, Any]:
        return {
            "stop": self._stop,
            "wait": self._wait,
            "retry": tenacity.retry_if_exception(self.retryable),
            "before_sleep": self._before_sleep,
            "reraise": True,
        }

    def _count_retry(self) -> None:
        with self._lock:
            self._retries += 1

    # -- decorating ----------------------------------------------------------------

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        return self.observed(fn)

    def observed(
        self, fn: Callable[P, R], *, site: Site | None = None, attempts: Site | None = None
    ) -> Callable[P, R]:
        """Decorate ``fn``; telemetry observes each call at ``site`` (the wrapper is a
        Policy's outermost) and each attempt at ``attempts`` (what :class:`Policy` uses)."""
        if not callable(fn):
            raise InvalidUsage(f"retry(...) decorates a callable, got {fn!r}")
        asynchronous = is_async(fn)
        if self.ledger is None:
            wrapped = self.decorate(fn, is_async=asynchronous, site=site, attempts=attempts)
        else:
            recorder = Recorder(self.ledger, name_of(fn), self.clock)
            wrapped = recorder.wrap(
                fn,
                functools.partial(self.decorate, is_async=asynchronous),
                is_async=asynchronous,
                attempt_inside=True,
            )
        wrapped.retry = self  # type: ignore[attr-defined]
        wrapped.statistics = self.statistics  # type: ignore[attr-defined]
        return wrapped

    def decorate(
        self,
        fn: Callable[P, R],
        *,
        is_async: bool,
        site: Site | None = None,
        attempts: Site | None = None,
    ) -> Callable[P, R]:
        """``fn`` with retries and no ledger rows (what :class:`Policy` composes).

        Args:
            fn: the function to retry.
            is_async: whether ``fn`` is a coroutine function.
            site: telemetry observes each call here (the wrapper is a Policy's outermost).
            attempts: telemetry observes each attempt of ``fn`` here.
        """
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site, attempts))
        calls, retryable, retrying = self._calls, self.retryable, self._retry_sync
        deposit = None if self.budget is None else self.budget.deposit

        clock, timed = self.clock, self.deadline_s is not None

        @wraps(fn)
        def retrying_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None:  # telemetry on (None while off: one check)
                return observed(args, kwargs)
            next(calls)  # atomic under the GIL: no lock on the success path
            if deposit is not None:
                deposit()
            if timed:  # only a deadline needs the start (read below only then)
                started = clock.monotonic()
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                if not retryable(exc) or self.attempts == 1:
                    raise
                first = exc
            return retrying(first, fn, args, kwargs, started if timed else None)

        def observed(args: Any, kwargs: Any) -> R:
            """``retrying_call`` while telemetry is on: the call observed at ``site`` (the
            Policy's outermost wrapper), each attempt at ``attempts``."""
            active = _switches.hooks
            if site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            next(calls)
            if deposit is not None:
                deposit()
            started = clock.monotonic() if timed else None
            try:
                if active is None or attempts is None:
                    return fn(*args, **kwargs)
                return active.run_attempt(attempts, fn, args, kwargs)
            except Exception as exc:
                if not retryable(exc) or self.attempts == 1:
                    raise
                first = exc
            return retrying(first, fn, args, kwargs, started, attempts)

        me = weakref.ref(retrying_call)  # for observe_call: no reference cycle

        return retrying_call

    def _retry_sync(
        self,
        first: BaseException,
        fn: Callable[..., R],
        args: Any,
        kwargs: Any,
        started: float | None,
        site: Site | None = None,
    ) -> R:
        pending: list[BaseException] = [first]
        count_retry = self._count_retry

        def attempt() -> R:
            if pending:  # tenacity's attempt 1 is the plain call that already failed
                raise pending.pop()
            count_retry()
            active = _switches.hooks
            if active is None or site is None:
                return fn(*args, **kwargs)
            return active.run_attempt(site, fn, args, kwargs)

        attempt.started_s = started  # type: ignore[attr-defined]  # read by _past_deadline
        attempt.callwise_function = name_of(fn)  # type: ignore[attr-defined]  # for events

        retrying = self._sync_retrying
        if retrying is None:
            retrying = self._sync_retrying = tenacity.Retrying(
                sleep=self.clock.sleep, **self._tenacity_kwargs()
            )
        return retrying(attempt)

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None, attempts: Site | None
    ) -> Callable[P, Awaitable[R]]:
        calls, retryable, retrying = self._calls, self.retryable, self._retry_async
        deposit = None if self.budget is None else self.budget.deposit

        clock, timed = self.clock, self.deadline_s is not None

        @wraps(fn)
        async def retrying_call(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None:  # telemetry on (None while off: one check)
                return await observed(args, kwargs)
            next(calls)  # atomic under the GIL: no lock on the success path
            if deposit is not None:
                deposit()
            if timed:  # only a deadline needs the start (read below only then)
                started = clock.monotonic()
            try:
                return await fn(*args, **kwargs)
            except Exception as exc:
                if not retryable(exc) or self.attempts == 1:
                    raise
                first = exc
            return await retrying(first, fn, args, kwargs, started if timed else None)

        async def observed(args: Any, kwargs: Any) -> R:
            """``retrying_call`` while telemetry is on (see the sync one)."""
            active = _switches.hooks
            if site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            next(calls)
            if deposit is not None:
                deposit()
            started = clock.monotonic() if timed else None
            try:
                if active is None or attempts is None:
                    return await fn(*args, **kwargs)
                return await active.arun_attempt(attempts, fn, args, kwargs)
            except Exception as exc:
                if not retryable(exc) or self.attempts == 1:
                    raise
                first = exc
            return await retrying(first, fn, args, kwargs, started, attempts)

        me = weakref.ref(retrying_call)  # for observe_call: no reference cycle

        return retrying_call

    async def _retry_async(
        self,
        first: BaseException,
        fn: Callable[..., Awaitable[R]],
        args: Any,
        kwargs: Any,
        started: float | None,
        site: Site | None = None,
    ) -> R:
        pending: list[BaseException] = [first]
        count_retry = self._count_retry

        async def attempt() -> R:
            if pending:
                raise pending.pop()
            count_retry()
            active = _switches.hooks
            if active is None or site is None:
                return await fn(*args, **kwargs)
            return await active.arun_attempt(site, fn, args, kwargs)

        attempt.started_s = started  # type: ignore[attr-defined]  # read by _past_deadline
        attempt.callwise_function = name_of(fn)  # type: ignore[attr-defined]  # for events

        # tenacity.AsyncRetrying wraps every strategy call in a coroutine after an
        # inspect check, about ten per attempt; our strategies are plain functions,
        # so a sync Retrying decides (its ``iter`` never awaits, so concurrent calls
        # cannot interleave inside it) and this loop awaits the attempts and sleeps,
        # as AsyncRetrying.__call__ does.
        retrying = self._async_retrying
        if retrying is None:
            retrying = self._async_retrying = tenacity.Retrying(
                sleep=self.clock.sleep, **self._tenacity_kwargs()
            )
        asleep = self.clock.asleep
        retrying.begin()
        state = tenacity.RetryCallState(retry_object=retrying, fn=attempt, args=(), kwargs={})
        while True:
            do = retrying.iter(retry_state=state)
            if isinstance(do, tenacity.DoAttempt):
                try:
                    result = await attempt()
                except BaseException:
                    state.set_exception(sys.exc_info())  # type: ignore[arg-type]
                else:
                    state.set_result(result)
            elif isinstance(do, tenacity.DoSleep):
                state.prepare_for_next_attempt()
                await asleep(do)
            else:
                return cast(R, do)

    def __repr__(self) -> str:
        b = self.backoff
        return (
            f"Retry(attempts={self.attempts}, backoff_s={b.backoff_s}, "
            f"max_backoff_s={b.max_backoff_s}, jitter={b.jitter!r}, budget={self.budget!r})"
        )


@overload
def retry(fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def retry(
    *,
    attempts: int = 3,
    on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    backoff_s: float = 0.1,
    max_backoff_s: float = 10.0,
    jitter: Jitter = "full",
    budget: RetryBudget | float | None = 0.2,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    rng: random.Random | None = None,
    max_retry_after_s: float = 60.0,
    deadline_s: float | None = None,
) -> Retry: ...


def retry(
    fn: Callable[P, R] | None = None,
    /,
    *,
    attempts: int = 3,
    on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    backoff_s: float = 0.1,
    max_backoff_s: float = 10.0,
    jitter: Jitter = "full",
    budget: RetryBudget | float | None = 0.2,
    clock: Clock | None = None,
    ledger: Ledger | None = None,
    rng: random.Random | None = None,
    max_retry_after_s: float = 60.0,
    deadline_s: float | None = None,
) -> Retry | Callable[P, R]:
    """Retry a plain or ``async def`` function on failure.

    ``@retry`` without parentheses decorates with the defaults, like ``@retry()`` (as
    tenacity's ``@retry`` does).

    Args:
        fn: the function, when used as ``@retry`` without parentheses.
        attempts: total tries, the first included (>= 1; 1 never retries).
        on: exception types worth a retry (default: ``Exception`` except
            ``CircuitOpenError``, ``InvalidUsage`` and ``RateLimited``).
            ``CircuitOpenError`` is never retried: naming it (or a subclass) is an
            ``InvalidUsage``; ``RateLimited`` is retried when ``on`` covers it.
        backoff_s: the cap of the wait before the first retry, seconds (doubles each
            retry; 0 retries at once).
        max_backoff_s: the largest wait, seconds (below ``backoff_s`` it caps every wait,
            as tenacity's ``wait_exponential(max=...)`` does).
        jitter: ``"full"`` (``uniform(0, cap)``), ``"equal"`` (``cap/2 + uniform(0,
            cap/2)``) or ``"none"`` (``cap``).
        budget: a :class:`RetryBudget` (may be shared, by retries on its clock; one
            built without a clock takes this retry's), a ratio in (0, 1] for a
            budget of this decorator's own (default 0.2: retries <= 10 + 20% of
            calls over 10 s), or None for no budget. When spent, the call re-raises
            its own error.
        clock: sleeps between attempts (``clock.sleep`` / ``await clock.asleep``)
            and times ledger rows.
        ledger: record one attempt row per try and one call row per call.
        rng: the random source of the jitter (default: a private ``random.Random``).
        max_retry_after_s: the longest wait a downstream may ask for (``Retry-After``,
            a throttling error's hint, ``RateLimited.retry_after``) that is honoured,
            seconds (default 60); a longer one ends the retries with the error.
        deadline_s: the whole sequence's bound on the clock, seconds from the first
            try (default None: none): no retry starts, nor a wait that would end,
            after it.

    Returns:
        A :class:`Retry`, to use as a decorator (with ``fn``: ``fn`` decorated by it).
        The decorated function has ``.retry`` (that object) and ``.statistics`` (its
        live counters).

    Example:
        >>> from resilience.testing import FakeClock
        >>> calls = []
        >>> @retry(attempts=3, on=ConnectionError, clock=FakeClock())
        ... def flaky() -> str:
        ...     calls.append(1)
        ...     if len(calls) < 3:
        ...         raise ConnectionError("reset")
        ...     return "ok"
        >>> flaky(), flaky.statistics.retries
        ('ok', 2)
    """
    decorator = Retry(
        attempts=attempts,
        on=on,
        backoff_s=backoff_s,
        max_backoff_s=max_backoff_s,
        jitter=jitter,
        budget=budget,
        clock=clock,
        ledger=ledger,
        rng=rng,
        max_retry_after_s=max_retry_after_s,
        deadline_s=deadline_s,
    )
    return decorator if fn is None else decorator(fn)
