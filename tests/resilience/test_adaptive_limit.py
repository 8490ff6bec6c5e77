"""resilience.AdaptiveLimiter: a bulkhead whose limit follows the dependency.

Behaviour under load runs on virtual time (resilience.virtual_time): many tasks call a
simulated downstream whose latency or throttling depends on how many calls it holds,
and hours of traffic take a second. Sequential behaviours run in both modes, plain and
``async def``, with RTTs advanced on a FakeClock. Nothing sleeps for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st
from support.modes import MODES, call

from resilience import (
    AdaptiveLimiter,
    BulkheadFull,
    HttpStatusError,
    InvalidUsage,
    Ledger,
    TimeoutExceeded,
    adaptive_limit,
)
from resilience.testing import FakeClock
from resilience.virtual_time import VirtualClock, run


def too_many_requests() -> ClientError:
    """Lambda's answer at its reserved concurrency, as botocore raises it."""
    return ClientError(
        {
            "Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."},
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
            "ResponseMetadata": {"HTTPStatusCode": 429},
        },
        "Invoke",
    )


def guarded(mode: str, limiter: AdaptiveLimiter, clock: FakeClock) -> Callable[..., Any]:
    """A plain or async function behind ``limiter`` that takes ``rtt_s`` on the clock, then
    returns or raises ``error``."""

    def body(rtt_s: float, error: BaseException | None = None) -> str:
        clock.advance(rtt_s)
        if error is not None:
            raise error
        return "ok"

    if mode == "sync":
        return limiter(body)

    async def abody(rtt_s: float, error: BaseException | None = None) -> str:
        await asyncio.sleep(0)
        return body(rtt_s, error)

    return limiter(abody)


# -- what moves the limit ------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "error",
    [
        HttpStatusError(429, "https://example.com/fn"),
        HttpStatusError(503, "https://example.com/fn"),
        too_many_requests(),
        TimeoutExceeded(1.0),
    ],
    ids=["http-429", "http-503", "lambda-throttle", "timeout"],
)
def test_throttles_and_timeouts_are_drops(mode: str, error: Exception) -> None:
    """A downstream throttle or a timeout multiplies the AIMD limit by the backoff."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=10, clock=clock)
    fn = guarded(mode, limiter, clock)
    with pytest.raises(type(error)):
        call(mode, fn, 0.01, error)
    assert limiter.limit == 9
    with pytest.raises(type(error)):
        call(mode, fn, 0.01, error)
    assert limiter.limit == 8  # int(9 x 0.9)
    stats = limiter.statistics
    assert (stats.dropped, stats.succeeded, stats.ignored, stats.active) == (2, 0, 0, 0)


@pytest.mark.parametrize("mode", MODES)
def test_other_errors_are_ignored(mode: str) -> None:
    """A user error says nothing about capacity: the slot is freed, the limit stays."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=10, clock=clock)
    fn = guarded(mode, limiter, clock)
    for error in (ValueError("bad input"), HttpStatusError(500, "https://example.com/fn")):
        with pytest.raises(type(error)) as info:
            call(mode, fn, 0.01, error)
        assert info.value is error  # passed through unchanged
    stats = limiter.statistics
    assert (stats.limit, stats.ignored, stats.dropped, stats.active) == (10, 2, 0, 0)


@pytest.mark.parametrize("mode", MODES)
def test_drop_on_adds_exception_classes(mode: str) -> None:
    """drop_on= makes a user's own overload error a drop."""

    class Overloaded(Exception):
        pass

    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=10, drop_on=Overloaded, clock=clock)
    with pytest.raises(Overloaded):
        call(mode, guarded(mode, limiter, clock), 0.01, Overloaded())
    assert limiter.limit == 9


@pytest.mark.parametrize("mode", MODES)
def test_aimd_grows_by_one_while_busy_and_drops_slow_successes(mode: str) -> None:
    """+1 per success using half the limit or more; a success slower than timeout_s is a drop."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=2, timeout_s=1.0, clock=clock)
    fn = guarded(mode, limiter, clock)
    assert call(mode, fn, 0.01) == "ok"
    assert limiter.limit == 3  # 1 in flight x 2 >= 2
    assert call(mode, fn, 0.01) == "ok"
    assert limiter.limit == 3  # 1 x 2 < 3: the caller, not the dependency, limits the load
    assert call(mode, fn, 1.5) == "ok"
    assert limiter.limit == 2  # int(3 x 0.9)
    assert limiter.statistics.dropped == 1 and limiter.statistics.succeeded == 2


@pytest.mark.parametrize("mode", MODES)
def test_limit_stays_within_min_and_max(mode: str) -> None:
    """Drops stop at min_limit (default 1, Netflix's 20 would not); growth at max_limit."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=3, clock=clock)
    fn = guarded(mode, limiter, clock)
    for _ in range(5):
        with pytest.raises(HttpStatusError):
            call(mode, fn, 0.01, HttpStatusError(429, "https://example.com/fn"))
    assert limiter.limit == 1
    capped = adaptive_limit("aimd", initial_limit=1, max_limit=2, clock=clock)
    fn = guarded(mode, capped, clock)
    for _ in range(5):
        call(mode, fn, 0.01)
    assert capped.limit == 2


@pytest.mark.parametrize("mode", MODES)
def test_rejection_is_bulkhead_full_with_the_current_limit(mode: str) -> None:
    """A call beyond the limit fails at once with BulkheadFull(name, limit)."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=1, name="payments", clock=clock)
    inner = guarded(mode, limiter, clock)

    def body() -> None:
        with pytest.raises(BulkheadFull) as info:
            call(mode, inner, 0.01)
        assert (info.value.name, info.value.limit) == ("payments", 1)

    outer = limiter(lambda: body())  # holds the only slot while the inner call tries
    outer()
    assert limiter.statistics.rejected == 1 and limiter.statistics.active == 0


def test_rtts_below_min_rtt_s_feed_nothing() -> None:
    """A success faster than min_rtt_s (Netflix #176) does not move the limit."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=2, min_rtt_s=0.01, clock=clock)
    fn = guarded("sync", limiter, clock)
    fn(0.001)
    assert limiter.limit == 2 and limiter.statistics.succeeded == 1
    fn(0.02)
    assert limiter.limit == 3


def test_ledger_rows_for_calls_and_rejections() -> None:
    """ledger= records one attempt row and one call row per call; a rejection is 'bulkhead_full'."""
    ledger = Ledger()
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=1, clock=clock, ledger=ledger)

    @limiter
    def outer() -> str:
        with pytest.raises(BulkheadFull):
            inner()
        return "done"

    @limiter
    def inner() -> str:
        return "never"

    assert outer() == "done"
    outcomes = sorted((r.function.rsplit(".", 1)[-1], r.kind, r.outcome) for r in ledger.records())
    assert ("inner", "call", "bulkhead_full") in outcomes and ("outer", "call", "ok") in outcomes


# -- under load, on virtual time ---------------------------------------------------------


@dataclass
class Downstream:
    """A simulated dependency: ``reserved`` concurrent calls at most (more are throttled
    like Lambda does), each taking a service time drawn from ``rtt_s``."""

    reserved: int | None
    rtt_s: Callable[[Downstream], float]
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    running: int = 0
    most: int = 0
    ok: int = 0
    throttled: int = 0

    async def __call__(self) -> None:
        if self.reserved is not None and self.running >= self.reserved:
            self.throttled += 1
            await asyncio.sleep(0.005)  # a throttle answers at once
            raise too_many_requests()
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.rtt_s(self))
        finally:
            self.running -= 1
        self.ok += 1


def drive(
    limiter_for: Callable[[VirtualClock], AdaptiveLimiter],
    downstream: Downstream,
    *,
    workers: int,
    seconds: float,
) -> tuple[AdaptiveLimiter, list[tuple[float, int]]]:
    """``workers`` tasks call ``downstream`` through the limiter for ``seconds`` of virtual
    time (a throttled or rejected caller pauses 10 ms); the limiter and its limit over time."""

    async def main() -> tuple[AdaptiveLimiter, list[tuple[float, int]]]:
        loop = asyncio.get_running_loop()
        limiter = limiter_for(VirtualClock())
        call_downstream = limiter(downstream.__call__)
        changes = [(0.0, limiter.limit)]
        end = loop.time() + seconds

        async def worker() -> None:
            while loop.time() < end:
                try:
                    await call_downstream()
                except (ClientError, BulkheadFull):
                    await asyncio.sleep(0.01)
                if limiter.limit != changes[-1][1]:
                    changes.append((loop.time(), limiter.limit))

        await asyncio.gather(*(worker() for _ in range(workers)))
        changes.append((loop.time(), limiter.limit))
        return limiter, changes

    return run(main())


def time_average(changes: list[tuple[float, int]], since_s: float) -> float:
    """The limit's average over time from ``since_s`` to the end."""
    total = 0.0
    for (start, limit), (end, _) in itertools.pairwise(changes):
        if end > since_s:
            total += limit * (end - max(start, since_s))
    return total / (changes[-1][0] - since_s)


@pytest.mark.parametrize("reserved", [3, 10, 37])
def test_aimd_settles_at_the_downstream_reserved_concurrency(reserved: int) -> None:
    """Throttled above K concurrent calls, an AIMD caller's limit averages near K over time."""
    downstream = Downstream(reserved, lambda d: d.rng.uniform(0.05, 0.15))
    limiter, changes = drive(
        lambda clock: adaptive_limit("aimd", clock=clock, max_wait_s=None),
        downstream,
        workers=60,
        seconds=60,
    )
    average = time_average(changes, since_s=15)
    assert 0.8 * reserved <= average <= 1.25 * reserved, average
    assert downstream.most == reserved  # it was pushed to its limit, never beyond
    stats = limiter.statistics
    assert stats.dropped == downstream.throttled and stats.succeeded == downstream.ok
    assert downstream.ok > 0.8 * reserved * 60 / 0.1  # close to the downstream's capacity


def test_a_fixed_limit_above_the_reserved_concurrency_is_throttled_far_more() -> None:
    """The comparison: a fixed limit of 20 against K=10 draws several times the throttles."""
    fixed = Downstream(10, lambda d: d.rng.uniform(0.05, 0.15))
    drive(
        lambda clock: adaptive_limit(
            "aimd", initial_limit=20, min_limit=20, max_limit=20, clock=clock, max_wait_s=None
        ),
        fixed,
        workers=30,
        seconds=20,
    )
    adaptive = Downstream(10, lambda d: d.rng.uniform(0.05, 0.15))
    drive(
        lambda clock: adaptive_limit("aimd", clock=clock, max_wait_s=None),
        adaptive,
        workers=30,
        seconds=20,
    )
    assert fixed.throttled > 3 * adaptive.throttled
    assert adaptive.ok >= 0.9 * fixed.ok  # and it loses no throughput


def saturate(
    limiter: AdaptiveLimiter,
    rtt_s: Callable[[int], float],
    *,
    calls: int,
    workers: int,
    every: int,
) -> list[int]:
    """``workers`` tasks make ``calls`` calls through ``limiter`` (waiting for a slot); call
    number n (from 1) takes ``rtt_s(n)`` seconds. The limit as calls every, 2 x every, ...
    start."""
    started = 0
    limits: list[int] = []

    @limiter
    async def downstream() -> None:
        nonlocal started
        started += 1
        if started % every == 0:
            limits.append(limiter.limit)
        await asyncio.sleep(rtt_s(started))

    async def worker() -> None:
        while started < calls:
            await downstream()

    async def main() -> None:
        await asyncio.gather(*(worker() for _ in range(workers)))

    run(main())
    return limits


def test_gradient2_comes_down_when_the_rtt_grows_then_takes_it_as_the_baseline() -> None:
    """Latency quadruples after 6,000 calls: the limit falls at once; as the long RTT
    catches up with a latency that stays high, the limit grows back (Gradient2 reacts
    to changes of latency, not to its level)."""
    limiter = adaptive_limit("gradient2", clock=VirtualClock(), max_wait_s=None)
    limits = saturate(
        limiter, lambda n: 0.05 if n <= 6000 else 0.2, calls=12000, workers=300, every=100
    )
    before, after = limits[:60], limits[60:]
    assert before[-1] == 200  # steady latency: it grew to max_limit
    assert min(after) < 0.7 * before[-1]  # the latency rose 4x: the limit came down
    assert after[-1] == 200  # 0.2 s is the new normal
    state = limiter.statistics.state
    assert state["long_rtt_s"] == pytest.approx(0.2, rel=0.01)


def test_gradient2_does_not_move_while_the_caller_limits_the_load() -> None:
    """Fewer calls in flight than half the limit: even a 4x latency leaves the limit alone."""
    limiter = adaptive_limit("gradient2", clock=VirtualClock(), max_wait_s=None)
    limits = saturate(
        limiter, lambda n: 0.05 if n <= 3000 else 0.2, calls=4000, workers=8, every=500
    )
    assert limits == [20] * 8


def test_gradient2_stays_bounded_under_a_steady_modest_overload() -> None:
    """Netflix #134. Every call takes 1.7x the long RTT (gradient 1.5 / 1.7 = 0.88: a modest,
    steady overload). With the queue term at gradient 1 only, the limit never grows and
    comes down; Netflix's rule climbs toward queue_size / (1 - gradient) = 33."""

    def limits(queue_only_at_gradient_1: bool) -> list[int]:
        limiter = adaptive_limit(
            "gradient2",
            initial_limit=10,
            queue_only_at_gradient_1=queue_only_at_gradient_1,
            clock=VirtualClock(),
            max_wait_s=None,
        )

        def rtt_s(n: int) -> float:  # the RTT follows the long average: 1.7x it
            return 1.7 * (limiter.statistics.state["long_rtt_s"] or 0.05)

        return saturate(limiter, rtt_s, calls=3000, workers=50, every=300)

    guarded_limits, netflix_limits = limits(True), limits(False)
    assert max(guarded_limits) <= 10 and guarded_limits[-1] == 1
    assert netflix_limits[-1] >= 30 and netflix_limits == sorted(netflix_limits)


def test_vegas_grows_without_queueing_and_shrinks_with_it() -> None:
    """Vegas: RTTs at the no-load value grow the limit; a queue (RTT 3x) brings it down."""
    limiter = adaptive_limit(
        "vegas", max_limit=100, probe_multiplier=1000, clock=VirtualClock(), max_wait_s=None
    )
    limits = saturate(
        limiter, lambda n: 0.05 if n <= 2000 else 0.15, calls=2600, workers=150, every=200
    )
    grown, shrunk = limits[9], limits[-1]
    assert grown == 100  # no queue: + 6 log10(limit) per call, up to max_limit
    assert shrunk < grown / 2  # queue = limit x (1 - 0.05 / 0.15) > beta: - log10(limit)
    state = limiter.statistics.state
    assert state["rtt_noload_s"] == pytest.approx(0.05) and state["queue"] > 0


# -- waiting, sharing, threads ----------------------------------------------------------------


def test_tasks_wait_in_order_and_a_raised_limit_admits_several() -> None:
    """Waiters are served first come first served; a success that raises the limit wakes more."""
    order: list[tuple[int, float]] = []

    async def main() -> None:
        limiter = adaptive_limit("aimd", initial_limit=1, max_wait_s=5, clock=VirtualClock())

        @limiter
        async def op(i: int) -> None:
            order.append((i, asyncio.get_running_loop().time()))
            await asyncio.sleep(1)

        await asyncio.gather(*(op(i) for i in range(4)))
        # 1 -> 2 at t=1 (two waiters start together), -> 3, 4 at t=2, -> 5 at t=3
        assert limiter.limit == 5 and limiter.statistics.waiting == 0

    run(main())
    assert order == [(0, 0.0), (1, 1.0), (2, 1.0), (3, 2.0)]


def test_task_wait_runs_out() -> None:
    """A task that waited max_wait_s without a slot gets BulkheadFull."""

    async def main() -> None:
        limiter = adaptive_limit("aimd", initial_limit=1, max_wait_s=0.5, clock=VirtualClock())

        @limiter
        async def op() -> None:
            await asyncio.sleep(1)

        results = await asyncio.gather(op(), op(), return_exceptions=True)
        assert results[0] is None and isinstance(results[1], BulkheadFull)
        assert limiter.statistics.rejected == 1 and limiter.statistics.waiting == 0

    run(main())


class WatchedClock(FakeClock):
    """A FakeClock that wakes :meth:`wait_until` whenever a thread reads it (a waiting
    thread reads its clock every 2 ms), so the test learns without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self._read = threading.Condition()

    def monotonic(self) -> float:
        with self._read:
            self._read.notify_all()
        return super().monotonic()

    def wait_until(self, predicate: Callable[[], bool]) -> None:
        with self._read:
            assert self._read.wait_for(predicate, 10)


def test_thread_waits_on_its_clock_then_runs_out() -> None:
    """A thread waits max_wait_s on the FakeClock: moving the clock past it ends the wait."""
    clock = WatchedClock()
    limiter = adaptive_limit("aimd", initial_limit=1, max_wait_s=60, clock=clock)
    entered, release = threading.Event(), threading.Event()

    @limiter
    def hold() -> None:
        entered.set()
        release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(10)
    outcome: list[BaseException] = []

    def wait_for_slot() -> None:
        try:
            hold()
        except BulkheadFull as exc:
            outcome.append(exc)

    waiter = threading.Thread(target=wait_for_slot)
    waiter.start()
    clock.wait_until(lambda: limiter.statistics.waiting == 1)
    clock.advance(61)
    waiter.join(10)
    assert len(outcome) == 1 and limiter.statistics.waiting == 0
    release.set()
    holder.join(10)
    assert limiter.statistics.active == 0


def test_threads_never_exceed_the_limit() -> None:
    """Eight threads hammer one limiter: no call is admitted beyond the limit of the moment."""
    clock = FakeClock()
    limiter = adaptive_limit("aimd", initial_limit=3, max_limit=6, clock=clock, max_wait_s=None)
    lock = threading.Lock()
    seen: list[tuple[int, int]] = []
    rng = random.Random(5)

    @limiter
    def work(i: int) -> None:
        stats = limiter.statistics
        with lock:
            seen.append((stats.active, stats.limit))
        clock.advance(0.001)
        if i % 7 == 0:
            raise HttpStatusError(429, "https://example.com/fn")

    def loop(offset: int) -> None:
        for i in range(200):
            with contextlib.suppress(HttpStatusError):
                work(offset + i + rng.randrange(3))

    threads = [threading.Thread(target=loop, args=(n * 1000,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(seen) == 1600
    assert all(1 <= limit <= 6 for _, limit in seen)
    assert max(active for active, _ in seen) <= 6
    assert limiter.statistics.active == 0 and limiter.statistics.waiting == 0


# -- properties --------------------------------------------------------------------------------

CALLS = st.lists(
    st.tuples(
        st.floats(0, 2),  # start after, s
        st.floats(0.0002, 1),  # service time, s
        st.sampled_from(["ok", "throttle", "timeout", "error"]),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(
    algorithm=st.sampled_from(["aimd", "gradient2", "vegas"]),
    bounds=st.tuples(st.integers(1, 5), st.integers(0, 20)),
    calls=CALLS,
)
def test_limit_stays_in_bounds_and_admissions_never_exceed_it(
    algorithm: str, bounds: tuple[int, int], calls: list[tuple[float, float, str]]
) -> None:
    """Whatever the calls do, min_limit <= limit <= max_limit, and no call is admitted
    while as many as the limit are in flight."""
    low, extra = bounds
    high = low + extra
    errors = {"throttle": HttpStatusError(429, "u"), "timeout": TimeoutExceeded(1.0)}

    async def main() -> None:
        limiter = adaptive_limit(
            algorithm,  # type: ignore[arg-type]
            initial_limit=low,
            min_limit=low,
            max_limit=high,
            clock=VirtualClock(),
            seed=3 if algorithm == "vegas" else None,
        )

        @limiter
        async def downstream(service_s: float, outcome: str) -> None:
            stats = limiter.statistics
            assert low <= stats.limit <= high
            assert stats.active <= stats.limit  # admitted only below the limit
            await asyncio.sleep(service_s)
            if outcome in errors:
                raise errors[outcome]
            if outcome == "error":
                raise ValueError("user error")

        async def one(delay_s: float, service_s: float, outcome: str) -> None:
            await asyncio.sleep(delay_s)
            with contextlib.suppress(BulkheadFull, HttpStatusError, TimeoutExceeded, ValueError):
                await downstream(service_s, outcome)
            assert low <= limiter.limit <= high

        await asyncio.gather(*(one(*c) for c in calls))
        stats = limiter.statistics
        assert stats.active == 0
        assert stats.succeeded + stats.dropped + stats.ignored + stats.rejected == len(calls)

    run(main())


# -- bad input -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"algorithm": "tcp"},
            "algorithm='tcp': unknown; the known ones are 'aimd', 'gradient2', 'vegas'",
        ),
        (
            {"min_limit": 30, "max_limit": 10},
            "min_limit=30, max_limit=10: min_limit must be <= max_limit",
        ),
        (
            {"initial_limit": 300},
            "initial_limit=300: must be within [min_limit, max_limit] = [1, 200]",
        ),
        ({"initial_limit": 0}, "initial_limit=0: must be an integer >= 1"),
        ({"backoff": 0.4}, "backoff=0.4: must be a finite number in [0.5, 1)"),
        ({"backoff": 1.0}, "backoff=1.0: must be a finite number in [0.5, 1)"),
        (
            {"algorithm": "gradient2", "smoothing": 0},
            "smoothing=0: must be a finite number in (0, 1]",
        ),
        (
            {"algorithm": "vegas", "smoothing": 1.5},
            "smoothing=1.5: must be a finite number in (0, 1]",
        ),
        (
            {"algorithm": "gradient2", "rtt_tolerance": 0.9},
            "rtt_tolerance=0.9: must be a finite number >= 1",
        ),
        ({"algorithm": "gradient2", "queue_size": -1}, "queue_size=-1: must be an integer >= 0"),
        (
            {"algorithm": "gradient2", "backoff": 0.8},
            "backoff=0.8: applies to algorithm='aimd' only, not to algorithm='gradient2'",
        ),
        ({"smoothing": 0.5}, "smoothing=0.5: applies to algorithm='gradient2' or 'vegas' only"),
        ({"timeout_s": 0}, "timeout_s=0: must be a finite number > 0"),
        ({"min_rtt_s": -1}, "min_rtt_s=-1: must be a finite number >= 0"),
        ({"max_wait_s": -1}, "max_wait_s=-1: must be a finite number >= 0"),
        ({"drop_on": "TimeoutError"}, "drop_on='TimeoutError': a string, not an exception class"),
        ({"algorithm": "vegas", "seed": "x"}, "seed='x': must be an int or None"),
        (
            {"algorithm": "gradient2", "queue_only_at_gradient_1": 1},
            "queue_only_at_gradient_1=1: must be True or False",
        ),
        ({"name": 3}, "name=3: must be a string or None"),
        ({"max_limit": 10**400}, "max_limit=1000...000 (401 digits): must be an integer >= 1"),
    ],
)
def test_bad_input_is_refused_at_construction(options: dict[str, Any], message: str) -> None:
    """Each bad parameter fails at once, naming the parameter, the value and what is allowed."""
    with pytest.raises(InvalidUsage) as info:
        AdaptiveLimiter(**options)
    assert message in str(info.value)


def test_the_default_initial_limit_moves_into_the_bounds() -> None:
    """initial_limit not given: 20, or the bound that excludes it."""
    assert adaptive_limit().limit == 20
    assert adaptive_limit(min_limit=30).limit == 30
    assert adaptive_limit(max_limit=5).limit == 5


def test_decorating_a_non_callable_is_refused() -> None:
    """adaptive_limit(...)(3) is a usage error."""
    with pytest.raises(InvalidUsage, match="decorates a callable"):
        adaptive_limit()(3)  # type: ignore[arg-type]


def test_repr_and_statistics() -> None:
    """The repr names the algorithm and bounds; statistics carry the algorithm's state."""
    limiter = adaptive_limit("gradient2", name="db")
    assert repr(limiter) == (
        "AdaptiveLimiter('gradient2', limit=20, min_limit=1, max_limit=200, "
        "max_wait_s=0.0, name='db')"
    )
    stats = limiter.statistics
    assert (stats.algorithm, stats.limit, stats.active, stats.waiting) == ("gradient2", 20, 0, 0)
    assert set(stats.state) == {"estimate", "gradient", "short_rtt_s", "long_rtt_s"}
