"""The rate limiter in this process: GCRA pacing and bursts, waits, costs, partitions,
combined limits, statistics, the ledger, and bad input (all on a FakeClock or virtual
time: nothing sleeps for real)."""

from __future__ import annotations

import asyncio
import math
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.virtual import run_virtual

from resilience import InvalidUsage, Ledger, RateLimited, RateLimiter, rate_limit
from resilience.testing import FakeClock
from resilience.virtual_time import VirtualClock


def test_burst_then_one_every_interval() -> None:
    """After idle `burst` calls pass at once, then one every per_s / rate seconds."""
    clock = FakeClock()
    limit = rate_limit(10, per_s=1, burst=3, clock=clock, name="api")
    for _ in range(3):
        limit.acquire()
    with pytest.raises(RateLimited) as info:
        limit.acquire()
    assert info.value.retry_after == pytest.approx(0.1) and info.value.name == "api"
    clock.advance(0.1)
    limit.acquire()
    with pytest.raises(RateLimited):
        limit.acquire()
    clock.advance(10)  # idle again: the whole burst
    assert limit.remaining() == 3


def test_burst_one_is_strict_pacing() -> None:
    """burst=1 (the default) admits one unit, then exactly one per interval."""
    clock = FakeClock()
    limit = rate_limit(2, per_s=1, clock=clock)
    limit.acquire()
    assert not limit.try_acquire()
    clock.advance(0.499)
    assert not limit.try_acquire()
    clock.advance(0.001)
    assert limit.try_acquire()


def test_refusal_consumes_nothing() -> None:
    """A refused call leaves the bucket as it was: its retry_after stays true."""
    clock = FakeClock()
    limit = rate_limit(1, per_s=2, clock=clock)
    limit.acquire()
    for _ in range(5):
        with pytest.raises(RateLimited) as info:
            limit.acquire()
        assert info.value.retry_after == pytest.approx(2.0)
    clock.advance(2.0)
    limit.acquire()


def test_waiters_start_in_arrival_order_on_the_clock() -> None:
    """With wait_s > 0 a call reserves its turn and sleeps until it (FakeClock: no real
    time), so calls start one interval apart, oldest first; beyond wait_s: refused."""
    clock = FakeClock()
    limit = rate_limit(4, per_s=1, wait_s=0.5, clock=clock)
    starts = []

    @limit
    def call() -> None:
        starts.append(clock.monotonic())

    for _ in range(3):
        call()
    assert starts == pytest.approx([0.0, 0.25, 0.5])
    assert limit.statistics.waited_s == pytest.approx(0.25 + 0.25)


def test_waiting_threads_are_served_oldest_first() -> None:
    """Threads that reserve one after another start in that order and one interval apart."""
    clock = FakeClock()
    limit = rate_limit(10, per_s=1, wait_s=10, clock=clock)
    reservations: list[tuple[int, float]] = []
    gate = threading.Lock()
    original = clock.sleep

    def sleep(seconds: float) -> None:
        with gate:
            reservations.append((threading.get_ident(), seconds))
        original(0)  # the reservation is what orders them; do not move the shared clock

    clock.sleep = sleep  # type: ignore[method-assign]
    threads = [threading.Thread(target=limit.acquire) for _ in range(5)]
    for thread in threads:
        thread.start()
        thread.join()
    waits = [w for _, w in reservations]
    assert waits == pytest.approx([0.1, 0.2, 0.3, 0.4])  # the first went at once


def test_cost_weighs_calls_and_a_cost_above_burst_is_an_error() -> None:
    """cost= weighs a call (a number or a function of its arguments); a cost the burst can
    never admit is an error at call time, not an endless wait."""
    clock = FakeClock()
    limit = rate_limit(100, per_s=1, burst=100, clock=clock, cost=lambda items: len(items))

    @limit
    def send(items: list[int]) -> int:
        return len(items)

    assert send(list(range(60))) == 60
    with pytest.raises(RateLimited) as info:
        send(list(range(60)))
    assert info.value.retry_after == pytest.approx(0.2)  # 20 units short at 100/s
    with pytest.raises(InvalidUsage, match=r"cost=101: more than burst=100"):
        send(list(range(101)))
    assert send([]) == 0  # weightless calls always pass


def test_partitions_are_separate_limits() -> None:
    """key= gives every value its own bucket; RateLimited names no key in its message."""
    clock = FakeClock()
    limit = rate_limit(1, per_s=60, clock=clock, key=lambda user, **_: user, name="per-user")

    @limit
    def fetch(user: str) -> str:
        return user

    assert fetch("ann") == "ann" and fetch("bob") == "bob"
    with pytest.raises(RateLimited) as info:
        fetch("ann")
    assert info.value.key == "ann" and "ann" not in str(info.value)
    assert limit.remaining("bob") == 0 and limit.remaining("cy") == 1


def test_idle_partitions_are_forgotten() -> None:
    """Partitions whose bucket is full again are dropped when many exist (memory stays
    bounded by the active ones)."""
    clock = FakeClock()
    limit = rate_limit(1, per_s=1, clock=clock, key=lambda n: n)
    for n in range(5000):
        limit.acquire(key=n)
    clock.advance(2)
    limit.acquire(key="new")  # prunes
    assert len(limit._local.tats) < 5000


def test_both_limits_must_admit_and_a_refusal_takes_nothing() -> None:
    """a & b admits only what both admit; when b refuses, a's permit is not spent."""
    clock = FakeClock()
    per_second = rate_limit(10, per_s=1, burst=10, clock=clock, name="10/s")
    per_minute = rate_limit(12, per_s=60, burst=12, clock=clock, name="12/min")
    both = per_second & per_minute
    assert both.name == "10/s&12/min"
    admitted = sum(both.try_acquire() for _ in range(20))
    assert admitted == 10  # the per-second limit
    clock.advance(1)
    admitted = sum(both.try_acquire() for _ in range(20))
    assert admitted == 2  # the per-minute one: 12 in all
    assert per_second.remaining() == 8  # its 10 refusals took nothing


def test_combined_limits_need_one_clock() -> None:
    """Limits on different clocks cannot decide together."""
    with pytest.raises(InvalidUsage, match="one clock"):
        _ = rate_limit(1, clock=FakeClock()) & rate_limit(1, clock=FakeClock())


def test_statistics_count_admitted_rejected_and_waits() -> None:
    """statistics: admitted, rejected, waiting now, waited seconds, remaining."""
    clock = FakeClock()
    limit = rate_limit(2, per_s=1, burst=2, wait_s=0.5, clock=clock)
    limit.acquire()
    limit.acquire()
    limit.acquire()  # waits 0.5 s (the FakeClock moves on)
    assert not limit.try_acquire()  # would have to wait: refused
    stats = limit.statistics
    assert (stats.admitted, stats.rejected, stats.waiting) == (3, 1, 0)
    assert stats.waited_s == pytest.approx(0.5) and stats.remaining == 0


def test_a_refusal_is_a_rate_limited_attempt_in_the_ledger() -> None:
    """ledger=: the refused call is a rate_limited attempt (not a breaker's rejection)."""
    ledger = Ledger()
    clock = FakeClock()

    @rate_limit(1, per_s=1, clock=clock, ledger=ledger)
    def ping() -> str:
        return "pong"

    ping()
    with pytest.raises(RateLimited):
        ping()
    frame = ledger.to_frame()
    assert frame[frame["kind"] == "attempt"]["outcome"].tolist() == ["ok", "rate_limited"]
    assert frame[frame["kind"] == "call"]["outcome"].tolist() == ["ok", "rate_limited"]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_sync_and_async_calls_share_one_limit(asynchronous: bool) -> None:
    """The same limiter decorates plain and async functions; they draw from one bucket."""
    clock = VirtualClock() if asynchronous else FakeClock()
    limit = rate_limit(5, per_s=1, burst=5, wait_s=1.0, clock=clock)

    @limit
    def plain() -> float:
        return clock.monotonic()

    @limit
    async def coro() -> float:
        return clock.monotonic()

    if not asynchronous:
        starts = [plain() for _ in range(7)]
    else:

        async def main() -> list[float]:
            return list(await asyncio.gather(*(coro() for _ in range(7))))

        starts, _ = run_virtual(main())
    assert starts == pytest.approx([0, 0, 0, 0, 0, 0.2, 0.4])


def test_a_cancelled_waiter_gives_its_turn_back() -> None:
    """A task cancelled while waiting refunds its reservation: the next caller gets it."""
    clock = VirtualClock()
    limit = rate_limit(1, per_s=1, wait_s=5, clock=clock)

    async def main() -> float:
        await limit.acquire_async()
        waiter = asyncio.create_task(limit.acquire_async())  # reserves t = 1
        await asyncio.sleep(0.1)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await limit.acquire_async()  # takes the freed turn at t = 1, not t = 2
        return clock.monotonic()

    started, _ = run_virtual(main())
    assert started == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    rate=st.integers(1, 50),
    per_s=st.sampled_from([0.5, 1.0, 60.0]),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 0.2), min_size=1, max_size=300),
)
def test_admitted_never_exceed_the_limit(
    rate: int, per_s: float, burst: int, gaps: list[float]
) -> None:
    """In any window of length w from the first call, at most burst + rate * w / per_s
    units are admitted (GCRA's conformance bound)."""
    clock = FakeClock()
    limit = rate_limit(rate, per_s=per_s, burst=burst, clock=clock)
    admitted: list[float] = []
    for gap in gaps:
        clock.advance(gap)
        if limit.try_acquire():
            admitted.append(clock.monotonic())
    for i, start in enumerate(admitted):
        for j in range(i, len(admitted)):
            window = admitted[j] - start
            assert j - i + 1 <= burst + rate * window / per_s + 1e-6


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 0}, "rate=0: must be a finite number > 0"),
        ({"rate": -1}, "rate=-1"),
        ({"rate": math.inf}, "rate=inf"),
        ({"rate": 1, "per_s": 0}, "per_s=0: must be a finite number > 0"),
        ({"rate": 1e-300, "per_s": 1e300}, "out of range"),
        ({"rate": 1, "burst": 0}, "burst=0: must be an integer >= 1"),
        ({"rate": 1, "burst": -2}, "burst=-2"),
        ({"rate": 1, "burst": 1.5}, "burst=1.5"),
        ({"rate": 1, "cost": -1}, "cost=-1: must be a finite number >= 0"),
        ({"rate": 1, "cost": math.nan}, "cost=nan"),
        ({"rate": 1, "cost": 2}, "cost=2: more than burst=1"),
        ({"rate": 1, "wait_s": -1}, "wait_s=-1"),
        ({"rate": 1, "key": "user"}, "key='user': must be a function"),
        ({"rate": 1, "name": 3}, "name=3: must be a string"),
        ({"rate": 1, "store": "redis://x"}, "store='redis://x': must be a RedisRateStore"),
        ({"rate": 1, "clock": object()}, "clock=<object"),
    ],
)
def test_bad_input_names_the_parameter(kwargs: dict[str, Any], message: str) -> None:
    """Each bad parameter is an InvalidUsage naming it, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message.replace("(", r"\(").replace("[", r"\[")):
        RateLimiter(**kwargs)


def test_a_cost_function_is_checked_at_each_call() -> None:
    """A cost function returning a bad value fails the call, naming cost."""
    limit = rate_limit(1, clock=FakeClock(), cost=lambda: -3)
    with pytest.raises(InvalidUsage, match="cost=-3"):
        limit(lambda: None)()


def test_a_combined_refusal_names_the_limit_that_refused() -> None:
    """RateLimited from a & b carries the name and retry hint of the tighter limit."""
    clock = FakeClock()
    fast = rate_limit(10, per_s=1, burst=10, clock=clock, name="fast")
    slow = rate_limit(1, per_s=60, clock=clock, name="slow")
    both = fast & slow
    both.acquire()
    with pytest.raises(RateLimited) as info:
        both.acquire()
    assert info.value.name == "slow" and info.value.retry_after == pytest.approx(60)


def test_a_cost_function_needs_an_explicit_cost_for_acquire() -> None:
    """acquire() of a limit weighed by a function of call arguments asks for cost=."""
    limit = rate_limit(10, burst=10, clock=FakeClock(), cost=lambda items: len(items))
    with pytest.raises(InvalidUsage, match=r"give acquire\(cost=\.\.\.\)"):
        limit.acquire()
    limit.acquire(cost=4)
    assert limit.remaining() == 6
