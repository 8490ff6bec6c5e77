"""Hedged requests: when an attempt is slow, start another and take the first success.

``@hedge(attempts=2, delay_s=0.05)`` calls the function; if no answer came within 50 ms
it calls it again, concurrently, and returns whichever succeeds first ("The Tail at
Scale", Dean & Barroso 2013; Polly's hedging strategy; gRPC's ``hedgingPolicy``). A
small delay cuts the tail for a few percent more calls: only the calls slower than
the delay launch a hedge. **Hedged calls must be idempotent**: every attempt may run
to its end, so a hedged payment is a double payment.

Attempts: ``attempts`` is the total, the primary included (as gRPC's ``maxAttempts``),
from 2 to 5; more than 5 is refused (gRPC silently treats it as 5). ``delay_s`` is the
wait before each next attempt (0: all at once). ``delay="p95"`` makes it adaptive: the
95th percentile of this hedge's own recent attempt latencies (a rolling window of
``window`` samples, default 200; ``delay_s`` until ``min_samples``, default 20, are in;
refreshed every 10 samples). The samples are the successful attempts' latencies, and
for a primary cancelled by a hedge's win the time it had run (a lower bound of its
latency, so the slow calls a hedge cut short still count as slow and the delay does not
drift down).

Failures (in this order):

- our own refusals (:class:`~resilience.CircuitOpenError`,
  :class:`~resilience.BulkheadFull`, :class:`~resilience.RateLimited`) and a
  downstream's throttling (an error :func:`resilience.throttle_info` recognises) fail
  that attempt and **stop further hedges**: hedging into a breaker that opened or a
  dependency that pushes back would only multiply the load (gRPC's pushback does the
  same); the attempts already running go on;
- an error not in ``on=`` (default: any ``Exception`` but
  :class:`~resilience.InvalidUsage`), or a ``BaseException`` such as cancellation, ends
  the group at once: the others are cancelled (async) or left to finish, and it is
  raised;
- any other error launches the next attempt at once (Polly's handled outcome).

When every attempt failed, the **primary's** error is raised (as Polly does).

Losers: ``loser="cancel"`` (default, async) cancels the losing attempts and waits for
them to exit before returning, as Polly does; ``loser="detach"`` returns at once and the
losers finish in the background (their results are dropped). A plain function cannot be
cancelled: sync hedges run every attempt, the primary included, on a bounded pool of
``max_workers`` threads owned by the hedge and always detach their losers. The pool is
started on first use; :meth:`Hedge.shutdown` ends it (a later call starts a new one).
When every worker is busy, no hedge is launched (the primary waits its turn).
Cancelling a hedged coroutine cancels all its attempts.

Budget: each hedge beyond the primary spends from a :class:`~resilience.RetryBudget`
(default ``budget=0.1``: at most 10 + 10% of calls over 10 s); a hedge the budget
refuses is simply not launched. In an outage where every call is slow, hedging then
adds 10% of the load, not 100%. A budget may be shared with retries.

Delays in coroutines are on the event loop's clock (as :func:`resilience.timeout`'s):
virtual time under the simulator's loop. Plain functions wait on ``clock=``.

Ledger (in a :class:`~resilience.Policy` with ``ledger=``): every attempt is a row of
its own with ``hedge=k`` (0: the primary) and ``hedge_result`` ``won`` or ``lost``; a
cancelled loser has the outcome ``cancelled``, so a bill charges every loser.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import itertools
import logging
import math
import re
import threading
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, ParamSpec, TypeVar, cast

from ._events import emit, listening
from ._observe import Site
from ._observe import aobserve_call as _aobserve_call
from ._observe import entering as _entering
from ._observe import observe_call as _observe_call
from ._observe import switches as _switches
from ._recording import HedgeGroup, enter_hedge, hedge_member
from ._validate import Number, exception_types, number, positive, rate
from ._validate import clock as valid_clock
from ._validate import is_async as is_async_fn
from ._waiters import POLL_S
from ._wraps import wraps
from .clock import Clock, SystemClock
from .errors import BulkheadFull, CircuitOpenError, InvalidUsage, RateLimited
from .retry import RetryBudget
from .throttling import throttle_info

__all__ = ["MAX_ATTEMPTS", "Hedge", "HedgeStatistics", "hedge"]

P = ParamSpec("P")
R = TypeVar("R")

Loser = Literal["cancel", "detach"]
_LOSERS: tuple[str, ...] = ("cancel", "detach")

#: The most attempts a hedge makes, the primary included (gRPC A6's cap).
MAX_ATTEMPTS = 5
_REFRESH = 10  # samples between two computations of the adaptive delay
_PERCENTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")
_REFUSALS = (CircuitOpenError, BulkheadFull, RateLimited)

_ATTEMPTS = Number(
    low=2, high=MAX_ATTEMPTS, integral=True, types=(int,),
    allowed=f"an integer in [2, {MAX_ATTEMPTS}] (the total, primary included; "
    f"gRPC caps hedging at {MAX_ATTEMPTS}, and more is refused, not clamped)",
)  # fmt: skip
_WINDOW = Number(low=1, high=100_000, integral=True, types=(int,))
_MIN_SAMPLES = Number(low=1, integral=True, types=(int,))
_WORKERS = Number(low=2, high=10_000, integral=True, types=(int,))

logger = logging.getLogger("resilience.hedge")


class _Latencies:
    """A rolling window of attempt latencies and the chosen percentile of it, seconds."""

    __slots__ = ("_fresh", "_lock", "_samples", "delay_s", "min_samples", "quantile")

    def __init__(self, quantile: float, window: int, min_samples: int, first_s: float) -> None:
        self.quantile = quantile
        self.min_samples = min_samples
        self._samples: deque[float] = deque(maxlen=window)
        self._lock = threading.Lock()
        self._fresh = 0
        self.delay_s = first_s

    def add(self, seconds: float) -> None:
        with self._lock:
            self._samples.append(seconds)
            self._fresh += 1
            count = len(self._samples)
            if count < self.min_samples or (self._fresh < _REFRESH and count > self.min_samples):
                return
            self._fresh = 0
            ordered = sorted(self._samples)
        rank = max(0, math.ceil(self.quantile / 100.0 * len(ordered)) - 1)  # nearest rank
        self.delay_s = ordered[rank]

    @property
    def count(self) -> int:
        return len(self._samples)


class HedgeStatistics:
    """Live counters of a :class:`Hedge`, shared by every function it decorates.

    Attributes:
        calls: logical calls (hedged groups).
        attempts: attempts launched, primaries included.
        hedges: attempts launched beyond the primary (``attempts - calls``).
        calls_won: calls an attempt answered (the others raised).
        won_by_primary: calls the primary answered.
        won_by_hedge: calls a hedge answered.
        budget_refusals: hedges the budget refused (not launched).
        stopped: groups that stopped hedging on a refusal or a throttling error.
        pool_full: sync hedges not launched because every worker was busy.
        detached: losers still running in the background now.
        delay_s: the delay the next call waits before its first hedge, seconds.
    """

    __slots__ = ("_owner",)

    def __init__(self, owner: Hedge) -> None:
        self._owner = owner

    @property
    def calls(self) -> int:
        return int(repr(self._owner._calls)[6:-1])  # "count(42)"

    @property
    def hedges(self) -> int:
        return self._owner._counts["hedges"]

    @property
    def attempts(self) -> int:
        return self.calls + self.hedges

    @property
    def won_by_primary(self) -> int:
        return self.calls_won - self.won_by_hedge

    @property
    def calls_won(self) -> int:
        return self._owner._counts["won"]

    @property
    def won_by_hedge(self) -> int:
        return self._owner._counts["won_by_hedge"]

    @property
    def budget_refusals(self) -> int:
        return self._owner._counts["budget_refusals"]

    @property
    def stopped(self) -> int:
        return self._owner._counts["stopped"]

    @property
    def pool_full(self) -> int:
        return self._owner._counts["pool_full"]

    @property
    def detached(self) -> int:
        return self._owner.detached

    @property
    def delay_s(self) -> float:
        return self._owner.delay_now()

    def as_dict(self) -> dict[str, float]:
        """A snapshot of every counter."""
        names = (
            "calls", "attempts", "hedges", "won_by_primary", "won_by_hedge",
            "budget_refusals", "stopped", "pool_full", "detached", "delay_s",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.as_dict().items())
        return f"HedgeStatistics({fields})"


class _Race:
    """The bookkeeping of one hedged call: what was launched, what failed, what is due."""

    __slots__ = ("delay_s", "errors", "hedge", "launch_now", "launched", "next_at", "stopped")

    def __init__(self, hedge: Hedge, started: float, delay_s: float) -> None:
        self.hedge = hedge
        self.delay_s = delay_s
        self.launched = 1  # the primary
        self.next_at = started + delay_s
        self.launch_now = False
        self.stopped = False
        self.errors: dict[int, BaseException] = {}

    def due(self, now: float, *, room: bool = True) -> bool:
        """Whether the next hedge starts now (its time came and it is allowed)."""
        if self.launched >= self.hedge.attempts or self.stopped:
            return False
        if not (self.launch_now or now >= self.next_at):
            return False
        if not room:
            self.hedge._count("pool_full")
            self.stopped = True
            return False
        budget = self.hedge.budget
        if budget is not None and not budget.try_withdraw():
            self.hedge._count("budget_refusals")
            logger.debug("hedge budget spent: no hedge launched")
            self.stopped = True
            return False
        return True

    def started_one(self, now: float) -> int:
        """Count the hedge just launched; its number ``k``."""
        k = self.launched
        self.launched += 1
        self.next_at = now + self.delay_s
        self.launch_now = False
        self.hedge._count("hedges")
        if listening():
            emit("hedge.launched", {"callwise.policy": self.hedge.name, "callwise.hedge": k})
        return k

    def failed(self, k: int, exc: BaseException) -> bool:
        """Note attempt ``k``'s failure; True when it ends the group at once."""
        self.errors[k] = exc
        refusal = isinstance(exc, _REFUSALS)
        if not refusal and not self.hedge.handles(exc):
            return True
        if refusal or throttle_info(exc) is not None:
            if not self.stopped:
                self.hedge._count("stopped")
            self.stopped = True
        else:
            self.launch_now = True
        return False

    def exhausted(self) -> bool:
        """No attempt will be launched any more."""
        return self.stopped or self.launched >= self.hedge.attempts

    def deadline(self, now: float) -> float | None:
        """When the next hedge is due (None: no more hedges, wait for the attempts)."""
        if self.exhausted():
            return None
        return now if self.launch_now else self.next_at

    def error(self) -> BaseException:
        """What to raise when every attempt failed: the primary's error."""
        return self.errors.get(0) or next(iter(self.errors.values()))


class Hedge:
    """A hedging decorator; build it with :func:`hedge`."""

    def __init__(
        self,
        *,
        attempts: int = 2,
        delay_s: float = 0.1,
        delay: str | None = None,
        on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        action: Callable[..., Any] | None = None,
        budget: RetryBudget | float | None = 0.1,
        loser: Loser = "cancel",
        max_workers: int = 64,
        window: int = 200,
        min_samples: int = 20,
        clock: Clock | None = None,
        name: str | None = None,
    ) -> None:
        self.attempts = int(number("attempts", attempts, _ATTEMPTS))
        self.delay_s = positive("delay_s", delay_s, allow_zero=True)
        self.on = _handled(on)
        if action is not None and not callable(action):
            raise InvalidUsage(f"action={action!r}: must be a callable action(k, *args, **kwargs)")
        self.action = action
        if loser not in _LOSERS:
            raise InvalidUsage(f"loser={loser!r}: must be one of {_LOSERS}")
        self.loser: Loser = loser
        self.max_workers = int(number("max_workers", max_workers, _WORKERS))
        self.clock: Clock = valid_clock("clock", clock)
        self.budget = _budget(budget, self.clock)
        if name is not None and not (isinstance(name, str) and name):
            raise InvalidUsage(f"name={name!r}: must be a non-empty string or None")
        self.name = name
        self.delay = delay
        self._latencies = _adaptive(delay, window, min_samples, self.delay_s)
        self._calls = itertools.count()  # bumped without a lock on every call
        self._counts = dict.fromkeys(
            ("hedges", "won", "won_by_hedge", "budget_refusals", "stopped", "pool_full"), 0
        )
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._busy = 0
        self._tasks: set[asyncio.Task[Any]] = set()  # detached async losers
        self._threads_detached = 0
        self.statistics = HedgeStatistics(self)
        """Live counters (see :class:`HedgeStatistics`)."""

    # -- decisions ---------------------------------------------------------------------

    def handles(self, exc: BaseException) -> bool:
        """Whether ``exc`` launches the next attempt (rather than ending the group)."""
        return isinstance(exc, self.on) and not isinstance(exc, InvalidUsage)

    def delay_now(self) -> float:
        """The wait before the next call's first hedge, seconds."""
        latencies = self._latencies
        if latencies is None or latencies.count < latencies.min_samples:
            return self.delay_s
        return latencies.delay_s

    @property
    def detached(self) -> int:
        """Losers still running in the background (tasks and threads)."""
        return len(self._tasks) + self._threads_detached

    def _count(self, counter: str, by: int = 1) -> None:
        with self._lock:
            self._counts[counter] += by

    def _won(self, k: int) -> None:
        with self._lock:
            self._counts["won"] += 1
            if k:
                self._counts["won_by_hedge"] += 1

    def _sample(self, seconds: float) -> None:
        if self._latencies is not None:
            self._latencies.add(seconds)

    # -- decorating --------------------------------------------------------------------

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (plain or ``async def``)."""
        if not callable(fn):
            raise InvalidUsage(f"hedge(...) decorates a callable, got {fn!r}")
        asynchronous = is_async_fn(fn)
        wrapped = self.decorate(self.dispatch(fn, is_async=asynchronous), is_async=asynchronous)
        wrapped.hedge = self  # type: ignore[attr-defined]
        wrapped.statistics = self.statistics  # type: ignore[attr-defined]
        return wrapped

    def dispatch(self, fn: Callable[P, R], *, is_async: bool) -> Callable[P, R]:
        """``fn``, or with an ``action``: a function that runs ``action(k, ...)`` for hedge
        ``k`` and ``fn`` for the primary (what :class:`Policy` puts innermost, so the
        action goes through the same breaker, limits and timeout)."""
        action = self.action
        if action is None:
            return fn
        if is_async != is_async_fn(action):
            kind = "an async def" if is_async else "a plain function"
            raise InvalidUsage(
                f"action={action!r}: the decorated function is {kind}; give an action of "
                "the same kind"
            )
        if is_async:

            @wraps(fn)
            async def dispatch_async(*args: Any, **kwargs: Any) -> Any:
                member = hedge_member()
                if member is None or member.k == 0:
                    return await fn(*args, **kwargs)  # type: ignore[misc]
                return await action(member.k, *args, **kwargs)

            return cast("Callable[P, R]", dispatch_async)

        @wraps(fn)
        def dispatch(*args: P.args, **kwargs: P.kwargs) -> R:
            member = hedge_member()
            if member is None or member.k == 0:
                return fn(*args, **kwargs)
            return cast("R", action(member.k, *args, **kwargs))

        return dispatch

    def decorate(
        self, fn: Callable[P, R], *, is_async: bool, site: Site | None = None
    ) -> Callable[P, R]:
        """``fn`` hedged, without the action's dispatch (what :class:`Policy` composes);
        telemetry observes each call at ``site`` (the wrapper is a Policy's outermost)."""
        if is_async:
            return cast("Callable[P, R]", self._decorate_async(cast("Any", fn), site))
        return self._decorate_sync(fn, site)

    # -- sync --------------------------------------------------------------------------

    def _workers(self) -> concurrent.futures.ThreadPoolExecutor:
        pool = self._pool
        if pool is None:
            with self._lock:
                pool = self._pool
                if pool is None:
                    pool = self._pool = concurrent.futures.ThreadPoolExecutor(
                        self.max_workers, thread_name_prefix=f"callwise-hedge-{self.name or ''}"
                    )
        return pool

    def shutdown(self, *, wait: bool = True) -> None:
        """End the worker pool of sync hedges (``wait``: until its threads have exited;
        detached losers run to their end first). A later call starts a new pool."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=wait)

    def _decorate_sync(self, fn: Callable[P, R], site: Site | None) -> Callable[P, R]:
        calls = self._calls
        deposit = None if self.budget is None else self.budget.deposit
        clock = self.clock

        @wraps(fn)
        def hedged(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return _observe_call(site, me, args, kwargs)
            next(calls)  # atomic under the GIL: no lock on the success path
            if deposit is not None:
                deposit()
            group, signal = HedgeGroup(), threading.Event()
            delay_s = self.delay_now()
            started = clock.monotonic()
            primary = self._submit(fn, group, 0, args, kwargs, signal)
            if (
                delay_s > 0
                and _wait_until(signal, started + delay_s, clock)
                and primary.exception() is None
            ):
                won, result = primary.result()
                if won:
                    self._won(0)
                    return cast("R", result)
            race = _Race(self, started, delay_s)
            return cast("R", self._race_sync(fn, group, race, {primary: 0}, signal, args, kwargs))

        me = weakref.ref(hedged)  # for observe_call: no reference cycle

        return hedged

    def _submit(
        self,
        fn: Callable[..., Any],
        group: HedgeGroup,
        k: int,
        args: Any,
        kwargs: Any,
        signal: threading.Event,
    ) -> concurrent.futures.Future[tuple[bool, Any]]:
        context = contextvars.copy_context()  # each attempt its own: its hedge member
        with self._lock:
            self._busy += 1
        try:
            future = self._workers().submit(
                context.run, self._attempt_sync, fn, group, k, args, kwargs
            )
        except BaseException:  # a pool shut down meanwhile: the slot was never taken
            with self._lock:
                self._busy -= 1
            raise

        def ended(_: object) -> None:
            with self._lock:
                self._busy -= 1
            signal.set()

        future.add_done_callback(ended)
        return future

    def _attempt_sync(
        self, fn: Callable[..., Any], group: HedgeGroup, k: int, args: Any, kwargs: Any
    ) -> tuple[bool, Any]:
        enter_hedge(group, k)
        started = self.clock.monotonic()
        result = fn(*args, **kwargs)
        self._sample(self.clock.monotonic() - started)
        return group.claim(k), result

    def _race_sync(
        self,
        fn: Callable[..., Any],
        group: HedgeGroup,
        race: _Race,
        pending: dict[concurrent.futures.Future[tuple[bool, Any]], int],
        signal: threading.Event,
        args: Any,
        kwargs: Any,
    ) -> Any:
        clock = self.clock
        launch = not race.delay_s  # all at once: before looking at the primary
        while True:
            signal.clear()  # before looking: an attempt ending after this sets it again
            for future in [f for f in pending if f.done() and not launch]:
                k = pending.pop(future)
                exc = future.exception()
                if exc is None:
                    won, result = future.result()
                    if won:
                        self._detach_threads(pending)
                        self._won(k)
                        return result
                elif race.failed(k, exc):
                    group.close()
                    self._detach_threads(pending)
                    raise exc
            launch = False
            now = clock.monotonic()
            while race.due(now, room=self._busy < self.max_workers):
                k = race.started_one(now)
                pending[self._submit(fn, group, k, args, kwargs, signal)] = k
            if not pending and race.exhausted():
                group.close()
                raise race.error()
            if not race.launch_now or race.exhausted():  # no attempt can start now: wait
                _wait_until(signal, race.deadline(now), clock)

    def _detach_threads(self, pending: dict[concurrent.futures.Future[Any], int]) -> None:
        """Leave the losers running; they count as detached until they end."""
        for future in pending:
            with self._lock:
                self._threads_detached += 1
            future.add_done_callback(self._thread_ended)

    def _thread_ended(self, _: object) -> None:
        with self._lock:
            self._threads_detached -= 1

    # -- async -------------------------------------------------------------------------

    def _decorate_async(
        self, fn: Callable[P, Awaitable[R]], site: Site | None
    ) -> Callable[P, Awaitable[R]]:
        calls = self._calls
        deposit = None if self.budget is None else self.budget.deposit
        attempt = self._attempt_async

        @wraps(fn)
        async def hedged(*args: P.args, **kwargs: P.kwargs) -> R:
            if _switches.hooks is not None and site is not None and _entering(site):
                return await _aobserve_call(site, me, args, kwargs)
            next(calls)  # atomic under the GIL: no lock on the success path
            if deposit is not None:
                deposit()
            group = HedgeGroup()
            loop = asyncio.get_running_loop()
            delay_s = self.delay_now()
            started = loop.time()
            primary = loop.create_task(attempt(fn, group, 0, args, kwargs))
            if delay_s > 0:
                # asyncio.wait((primary,), timeout=delay_s), without its sets and copies
                waiter = loop.create_future()
                timer = loop.call_later(delay_s, _wake, waiter)
                primary.add_done_callback(lambda _: _wake(waiter))
                try:
                    await waiter
                except BaseException:
                    timer.cancel()
                    await self._cancel_all({primary: 0})
                    raise
                timer.cancel()
                if primary.done() and not primary.cancelled() and primary.exception() is None:
                    won, result = primary.result()
                    if won:
                        self._won(0)
                        return cast("R", result)
            race = _Race(self, started, delay_s)
            return cast("R", await self._race_async(fn, group, race, primary, args, kwargs))

        me = weakref.ref(hedged)  # for observe_call: no reference cycle

        return hedged

    async def _attempt_async(
        self, fn: Callable[..., Awaitable[Any]], group: HedgeGroup, k: int, args: Any, kwargs: Any
    ) -> tuple[bool, Any]:
        enter_hedge(group, k)  # this task's own context (create_task copied it)
        if self._latencies is None:
            result = await fn(*args, **kwargs)
            return group.claim(k), result
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await fn(*args, **kwargs)
        self._latencies.add(loop.time() - started)
        return group.claim(k), result

    async def _race_async(
        self,
        fn: Callable[..., Awaitable[Any]],
        group: HedgeGroup,
        race: _Race,
        primary: asyncio.Task[tuple[bool, Any]],
        args: Any,
        kwargs: Any,
    ) -> Any:
        loop = asyncio.get_running_loop()
        pending: dict[asyncio.Task[tuple[bool, Any]], int] = {primary: 0}
        launched_at = {0: race.next_at - race.delay_s}
        try:
            launch = not race.delay_s  # all at once: before looking at the primary
            while True:
                for task in [t for t in pending if t.done() and not launch]:
                    k = pending.pop(task)
                    exc = asyncio.CancelledError() if task.cancelled() else task.exception()
                    if exc is None:
                        won, result = task.result()
                        if won:
                            await self._losers(pending, launched_at)
                            self._won(k)
                            return result
                    elif race.failed(k, exc):
                        group.close()
                        await self._losers(pending, launched_at)
                        raise exc
                launch = False
                now = loop.time()
                while race.due(now):
                    k = race.started_one(now)
                    launched_at[k] = now
                    pending[loop.create_task(self._attempt_async(fn, group, k, args, kwargs))] = k
                if not pending and race.exhausted():
                    group.close()
                    raise race.error()
                if race.launch_now and not race.exhausted():
                    continue  # a failure asks for the next attempt now (if one can start)
                deadline = race.deadline(now)
                wait_s = None if deadline is None else max(0.0, deadline - now)
                if pending:
                    await asyncio.wait(pending, timeout=wait_s, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(wait_s or 0.0)
        except BaseException:  # the hedged call itself was cancelled: so are its attempts
            group.close()
            await self._cancel_all(pending)
            raise

    async def _losers(
        self, pending: dict[asyncio.Task[Any], int], launched_at: dict[int, float]
    ) -> None:
        """Cancel the losers and wait for them to exit, or leave them running (detach)."""
        if not pending:
            return
        if self.loser == "detach":
            for task in pending:
                self._tasks.add(task)
                task.add_done_callback(self._task_ended)
            pending.clear()
            return
        if 0 in pending.values():  # the primary ran past the delay: a slow one, so count
            self._sample(asyncio.get_running_loop().time() - launched_at[0])  # a lower bound
        await self._cancel_all(pending)

    @staticmethod
    async def _cancel_all(pending: dict[asyncio.Task[Any], int]) -> None:
        """Cancel every attempt still running and wait for all of them to exit."""
        tasks = list(pending)
        pending.clear()
        running = [task for task in tasks if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running)
        for task in tasks:
            if not task.cancelled():
                task.exception()  # retrieved: a loser's error is not worth a warning

    def _task_ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: a detached loser's error is dropped

    def __repr__(self) -> str:
        delay = f"delay={self.delay!r}, " if self.delay is not None else ""
        return (
            f"Hedge(attempts={self.attempts}, delay_s={self.delay_s}, {delay}"
            f"loser={self.loser!r}, budget={self.budget!r})"
        )


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wait_until(signal: threading.Event, deadline_s: float | None, clock: Clock) -> bool:
    """Wait for ``signal`` until ``deadline_s`` on ``clock`` (None: no limit); True when it
    was set. A clock other than the system's is looked at every :data:`POLL_S` real
    seconds, so a clock moved past the deadline (``FakeClock``) ends the wait at once."""
    if deadline_s is None:
        return signal.wait()
    if isinstance(clock, SystemClock):
        return signal.wait(max(0.0, deadline_s - clock.monotonic()))
    monotonic = clock.monotonic
    while not signal.wait(POLL_S):
        if monotonic() >= deadline_s:
            return False
    return True


def _handled(
    on: type[BaseException] | Iterable[type[BaseException]] | None,
) -> tuple[type[BaseException], ...]:
    if on is None:
        return (Exception,)
    kinds = exception_types("on", on)
    for kind in kinds:
        if not issubclass(kind, Exception):
            raise InvalidUsage(
                f"on={on!r}: {kind.__name__} is not an Exception subclass; cancellation "
                "and interrupts always end the hedged group"
            )
    return kinds


def _budget(budget: RetryBudget | float | None, clock: Clock) -> RetryBudget | None:
    if budget is None:
        return None
    if isinstance(budget, RetryBudget):
        budget._bind(clock)  # the same rule as retry's: one clock per shared budget
        return budget
    if isinstance(budget, (int, float)) and not isinstance(budget, bool):
        return RetryBudget(ratio=rate("budget", budget), clock=clock)
    raise InvalidUsage(f"budget={budget!r}: must be a RetryBudget, a ratio in (0, 1] or None")


def _adaptive(
    delay: str | None, window: int, min_samples: int, first_s: float
) -> _Latencies | None:
    window = int(number("window", window, _WINDOW))
    min_samples = int(number("min_samples", min_samples, _MIN_SAMPLES))
    if delay is None:
        return None
    match = _PERCENTILE.fullmatch(delay) if isinstance(delay, str) else None
    quantile = float(match.group(1)) if match else -1.0
    if not 1.0 <= quantile < 100.0:
        raise InvalidUsage(
            f"delay={delay!r}: must be None or a percentile of the observed latencies "
            "such as 'p90', 'p95' or 'p99.9' (from p1 to below p100)"
        )
    if min_samples > window:
        raise InvalidUsage(
            f"min_samples={min_samples!r}: must be <= window={window!r} (the samples kept)"
        )
    return _Latencies(quantile, window, min_samples, first_s)


def hedge(
    *,
    attempts: int = 2,
    delay_s: float = 0.1,
    delay: str | None = None,
    on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    action: Callable[..., Any] | None = None,
    budget: RetryBudget | float | None = 0.1,
    loser: Loser = "cancel",
    max_workers: int = 64,
    window: int = 200,
    min_samples: int = 20,
    clock: Clock | None = None,
    name: str | None = None,
) -> Hedge:
    """Hedge a plain or ``async def`` function: start another attempt when one is slow.

    **The function must be idempotent**: a hedged call may run it up to ``attempts``
    times, and the losers usually run to their end (and are billed).

    Args:
        attempts: total attempts, the primary included, 2 to 5 (more is an
            ``InvalidUsage``, not clamped).
        delay_s: wait before each next attempt, seconds (0: all at once; default 0.1).
            With ``delay``, the delay used until ``min_samples`` latencies are in.
        delay: None, or a percentile such as ``"p95"``: the delay is then that
            percentile of this hedge's recent attempt latencies.
        on: exception types that launch the next attempt at once (default: any
            ``Exception`` but ``InvalidUsage``); any other error ends the group and is
            raised. Refusals and throttling errors stop further hedges (see the module).
        action: ``action(k, *args, **kwargs)`` runs hedge ``k`` (1, 2, ...) instead of
            the function (another region or replica); the primary always runs the
            function. Plain or ``async def``, as the function.
        budget: a :class:`RetryBudget` (may be shared with retries on the same clock),
            a ratio in (0, 1] for a budget of its own (default 0.1: hedges <= 10 + 10%
            of calls over 10 s), or None for none. A refused hedge is not launched.
        loser: ``"cancel"`` (cancel the losers and wait for them to exit) or
            ``"detach"`` (return at once); async only, sync hedges always detach.
        max_workers: threads of the pool sync attempts run on (>= 2, default 64); it
            bounds the attempts of all sync calls through this hedge.
        window: latencies kept for the adaptive delay (default 200).
        min_samples: latencies needed before the adaptive delay replaces ``delay_s``
            (default 20).
        clock: the waits of plain functions and their latencies (coroutines wait on the
            event loop's clock).
        name: named in events (``hedge.launched``); a Policy gives its own.

    Returns:
        A :class:`Hedge`, to use as a decorator; the decorated function has ``.hedge``
        and ``.statistics``.

    Example:
        >>> import asyncio
        >>> from resilience.virtual_time import run
        >>> @hedge(attempts=2, delay_s=0.05)
        ... async def quote(slow: bool) -> str:
        ...     await asyncio.sleep(1.0 if slow else 0.03)  # virtual seconds
        ...     return "quote"
        >>> async def main() -> tuple[str, float]:
        ...     loop = asyncio.get_running_loop()
        ...     start = loop.time()
        ...     answer = await quote(True)  # the hedge is slow too: both slept 1 s
        ...     return answer, round(loop.time() - start, 3)
        >>> run(main())
        ('quote', 1.0)
        >>> quote.statistics.hedges
        1
    """
    return Hedge(
        attempts=attempts,
        delay_s=delay_s,
        delay=delay,
        on=on,
        action=action,
        budget=budget,
        loser=loser,
        max_workers=max_workers,
        window=window,
        min_samples=min_samples,
        clock=clock,
        name=name,
    )
