"""resilience.Policy: the parts, their order (and why it matters), shorthands, bad input."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from support.modes import MODES, call, make
from support.virtual import run_virtual

from resilience import (
    Bulkhead,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    Policy,
    RateLimited,
    Retry,
    Timeout,
    TimeoutExceeded,
    bulkhead,
    cached,
    fallback,
    rate_limit,
    retry,
    timeout,
)
from resilience.testing import FakeClock


class Failing:
    """Raises ``error`` for the first ``failures`` calls, then returns ``"ok"``."""

    def __init__(self, failures: int = 10**9, error: type[Exception] = ConnectionError) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self, *args: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "ok"


# -- the order, one reason at a time --------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_fallback_is_outermost_and_catches_an_open_breaker(mode: str, clock: FakeClock) -> None:
    """An open breaker's rejection (and exhausted retries) reach the fallback."""
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    body = Failing()
    guarded = Policy(
        fallback=fallback("cached page"),
        retry=retry(attempts=3, clock=clock),
        breaker=breaker,
    )(make(mode, body))
    assert call(mode, guarded) == "cached page"
    assert breaker.state == "open"
    assert call(mode, guarded) == "cached page"
    assert body.calls == 1  # the open breaker answered the rest


@pytest.mark.parametrize("mode", MODES)
def test_cache_hit_is_never_retried_nor_called(mode: str, clock: FakeClock) -> None:
    """A cached value is served without entering retry, breaker or the function."""
    body = Failing(failures=1)
    policy = retry(attempts=2, clock=clock)
    guarded = Policy(cache=cached(ttl=60, clock=clock), retry=policy)(make(mode, body))
    assert call(mode, guarded, "k") == "ok"  # miss: one failure, one retry
    assert call(mode, guarded, "k") == "ok"  # hit
    assert body.calls == 2
    assert (policy.statistics.calls, policy.statistics.retries) == (1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_open_breaker_stops_the_retries(mode: str, clock: FakeClock) -> None:
    """Retry is outside the breaker: each attempt counts, and an open breaker ends it."""
    breaker = CircuitBreaker(fail_max=2, reset_timeout_s=60, clock=clock)
    body = Failing()
    guarded = Policy(retry=retry(attempts=5, clock=clock), breaker=breaker)(make(mode, body))
    with pytest.raises(CircuitOpenError):
        call(mode, guarded)
    assert body.calls == 2  # attempt 3 was rejected and not retried
    assert breaker.state == "open"


def test_rejected_calls_take_no_bulkhead_slot(clock: FakeClock) -> None:
    """The bulkhead is inside the breaker: an open breaker rejects before any slot."""
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    pool = bulkhead(1)
    entered, release = threading.Event(), threading.Event()

    @Policy(breaker=breaker, bulkhead=pool)
    def op(hold: bool) -> str:
        if hold:
            entered.set()
            release.wait(10)
        return "done"

    holder = threading.Thread(target=op, args=(True,))
    holder.start()
    assert entered.wait(10)
    with pytest.raises(BulkheadFull):
        op(False)  # closed breaker, full bulkhead
    breaker.open()
    with pytest.raises(CircuitOpenError):
        op(False)  # rejected by the breaker, never reaches the bulkhead
    assert pool.statistics.rejected == 1
    release.set()
    holder.join(10)


def test_timeout_bounds_each_attempt_not_the_sequence(clock: FakeClock) -> None:
    """Timeout is innermost: a slow attempt times out alone and the retry succeeds."""
    durations = iter([60.0, 0.5])

    @Policy(retry=retry(attempts=2, backoff_s=0, clock=clock), timeout=1.0)
    async def op() -> float:
        await asyncio.sleep(next(durations))
        return asyncio.get_running_loop().time()

    finished_at, _ = run_virtual(op())
    assert finished_at == 1.5  # 1 s for the timed-out attempt, then 0.5 s


def test_sync_timeout_is_retried_like_any_failure(clock: FakeClock) -> None:
    """A plain function's attempt that times out (on the fake clock) is retried."""
    entered, release = threading.Event(), threading.Event()
    calls = []

    @Policy(retry=retry(attempts=2, backoff_s=0, clock=clock), timeout=timeout(1, clock=clock))
    def op() -> str:
        calls.append(clock.monotonic())
        if len(calls) == 1:
            entered.set()
            release.wait(10)
            return "late"
        return "fresh"

    def advance() -> None:
        assert entered.wait(10)
        clock.advance(1.0)  # the first attempt's deadline

    mover = threading.Thread(target=advance)
    mover.start()
    try:
        assert op() == "fresh"
    finally:
        release.set()
        mover.join(10)
    assert not mover.is_alive()
    assert calls == [1000.0, 1001.0]


@pytest.mark.parametrize("mode", MODES)
def test_whole_policy_success_path(mode: str, clock: FakeClock) -> None:
    """With every part present, a healthy call returns its value once."""
    body = Failing(failures=0)
    guarded = Policy(
        name="everything",
        fallback=fallback("degraded"),
        cache=cached(ttl=5, clock=clock),
        retry=3,
        breaker=CircuitBreaker(clock=clock),
        bulkhead=4,
        timeout=10.0,
        clock=clock,
    )(make(mode, body))
    assert call(mode, guarded, 1) == "ok" and call(mode, guarded, 2) == "ok"
    assert body.calls == 2


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("part", ["none", "fallback", "cache", "retry", "breaker", "bulkhead"])
def test_each_part_alone_works(mode: str, part: str, clock: FakeClock) -> None:
    """Every part is optional; a Policy with one part (or none) wraps the function."""
    parts: dict[str, Any] = {
        "none": {},
        "fallback": {"fallback": fallback(0)},
        "cache": {"cache": cached(ttl=1, clock=clock)},
        "retry": {"retry": 2},
        "breaker": {"breaker": CircuitBreaker(clock=clock)},
        "bulkhead": {"bulkhead": 1},
    }[part]
    policy = Policy(clock=clock, **parts)

    def double(x: int) -> int:
        return 2 * x

    guarded = policy(make(mode, double))
    assert call(mode, guarded, 21) == 42
    assert guarded.policy is policy
    assert asyncio.iscoroutinefunction(guarded) == (mode == "async")


@pytest.mark.parametrize("mode", MODES)
def test_user_errors_pass_through_unchanged(mode: str, clock: FakeClock) -> None:
    """Without a fallback, the function's own exception object reaches the caller."""
    boom = KeyError("boom")

    def fail() -> None:
        raise boom

    guarded = Policy(retry=retry(attempts=1, clock=clock), breaker=CircuitBreaker(clock=clock))(
        make(mode, fail)
    )
    with pytest.raises(KeyError) as info:
        call(mode, guarded)
    assert info.value is boom


# -- shorthands, sharing, metadata -----------------------------------------------------


def test_shorthands_build_the_parts_on_the_policy_clock(clock: FakeClock) -> None:
    """retry=3, bulkhead=10 and timeout=2.0 become the decorator objects."""
    policy = Policy(retry=3, bulkhead=10, timeout=2.0, clock=clock)
    assert isinstance(policy.retry, Retry) and policy.retry.attempts == 3
    assert policy.retry.clock is clock
    assert isinstance(policy.bulkhead, Bulkhead) and policy.bulkhead.max_concurrent == 10
    assert isinstance(policy.timeout, Timeout) and policy.timeout.timeout_s == 2.0
    assert "retry=Retry(attempts=3" in repr(policy) and "Bulkhead(max_concurrent=10" in repr(policy)


def test_parts_are_shared_by_every_function_of_a_policy() -> None:
    """One Policy, two functions: one bulkhead between them."""
    policy = Policy(bulkhead=1)
    entered, release = threading.Event(), threading.Event()

    @policy
    def first() -> None:
        entered.set()
        release.wait(10)

    @policy
    def second() -> str:
        return "never"

    holder = threading.Thread(target=first)
    holder.start()
    assert entered.wait(10)
    with pytest.raises(BulkheadFull):
        second()
    release.set()
    holder.join(10)


def test_wrapper_keeps_metadata_and_exposes_the_parts(clock: FakeClock) -> None:
    """The wrapper has the function's name, ``.policy``, and the parts' attributes."""
    breaker = CircuitBreaker(clock=clock)
    policy = Policy(cache=cached(ttl=1, clock=clock), retry=2, breaker=breaker)

    @policy
    def lookup(key: str) -> str:
        """Find a key."""
        return key

    assert lookup.__name__ == "lookup" and lookup.__doc__ == "Find a key."
    assert lookup.policy is policy  # type: ignore[attr-defined]
    assert lookup.breaker is breaker  # type: ignore[attr-defined]
    assert lookup.statistics is policy.retry.statistics  # type: ignore[attr-defined,union-attr]
    lookup("a")
    assert lookup.cache_info().misses == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fallback": 0}, r"fallback=0: must be a Fallback or None, e.g. fallback=resilience"),
        ({"cache": 60}, r"cache=60: must be a Cached or None, e.g. cache=resilience.cached"),
        ({"retry": 0}, r"retry=0: must be an integer >= 1"),
        ({"retry": True}, r"retry=True: must be a Retry or None"),
        ({"retry": "3"}, r"retry='3': must be a Retry"),
        ({"breaker": "payments"}, r"breaker='payments': must be a CircuitBreaker"),
        ({"bulkhead": 0}, r"bulkhead=0: must be an integer >= 1"),
        ({"bulkhead": 2.5}, r"bulkhead=2.5: must be a Bulkhead"),
        ({"timeout": -1}, r"timeout=-1: must be a finite number > 0"),
        ({"timeout": "2s"}, r"timeout='2s': must be a Timeout"),
        ({"rate_limit": 10}, r"rate_limit=10: must be a RateLimits or None"),
        ({"ledger": {}}, r"ledger=\{\}: must be a resilience.Ledger"),
        ({"name": ""}, r"name='': must be a non-empty string"),
        ({"clock": object()}, r"clock=<object .*>: must have monotonic\(\), sleep\(\)"),
        (
            {"ledger": Ledger(), "retry": retry(ledger=Ledger())},
            r"retry=...: has a ledger of its own; inside a Policy give ledger= to the Policy",
        ),
        (
            {"ledger": Ledger(), "timeout": timeout(1, ledger=Ledger())},
            r"timeout=...: has a ledger of its own",
        ),
    ],
)
def test_bad_parts_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """A part of the wrong kind is named, with the value and an example of what works."""
    with pytest.raises(InvalidUsage, match=message):
        Policy(**kwargs)


def test_decorating_a_non_callable_fails() -> None:
    """Policy()(3) says what it needs."""
    with pytest.raises(InvalidUsage, match="decorates a callable, got 3"):
        Policy()(3)  # type: ignore[arg-type]


def test_timeout_exceeded_without_retry_reaches_the_caller(clock: FakeClock) -> None:
    """A lone timeout part raises TimeoutExceeded, also a TimeoutError."""

    @Policy(timeout=timeout(2))
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        with pytest.raises(TimeoutError) as info:
            await slow()
        assert isinstance(info.value, TimeoutExceeded)

    run_virtual(main())


def test_a_full_bulkhead_does_not_trip_the_breaker(clock: FakeClock) -> None:
    """Load shed by the bulkhead inside the breaker is no failure of the dependency."""
    breaker = CircuitBreaker(fail_max=3, clock=clock)
    pool = bulkhead(1)
    entered, release = threading.Event(), threading.Event()

    @Policy(breaker=breaker, bulkhead=pool)
    def op(hold: bool) -> str:
        if hold:
            entered.set()
            release.wait(10)
        return "done"

    holder = threading.Thread(target=op, args=(True,))
    holder.start()
    assert entered.wait(10)
    for _ in range(3):
        with pytest.raises(BulkheadFull):
            op(False)
    assert breaker.state == "closed" and breaker.stats.failures == 0
    release.set()
    holder.join(10)
    assert op(False) == "done"
    assert pool.statistics.rejected == 3 and breaker.stats.ignored == 3


def test_a_full_bulkhead_does_not_trip_the_breaker_async(clock: FakeClock) -> None:
    """The same for coroutines: tasks shed by a full bulkhead never open the breaker."""
    breaker = CircuitBreaker(fail_max=3, clock=clock)
    pool = bulkhead(1)

    async def scenario() -> None:
        entered, release = asyncio.Event(), asyncio.Event()

        @Policy(breaker=breaker, bulkhead=pool)
        async def op(hold: bool) -> str:
            if hold:
                entered.set()
                await release.wait()
            return "done"

        holder = asyncio.create_task(op(True))
        await entered.wait()
        for _ in range(3):
            with pytest.raises(BulkheadFull):
                await op(False)
        assert breaker.state == "closed" and breaker.stats.failures == 0
        release.set()
        assert await holder == "done"
        assert await op(False) == "done"

    asyncio.run(scenario())
    assert pool.statistics.rejected == 3 and breaker.stats.ignored == 3


@pytest.mark.parametrize("mode", MODES)
def test_rate_limit_refusals_never_trip_the_breaker(mode: str, clock: FakeClock) -> None:
    """The limiter sits inside the breaker: its refusals are neither successes nor
    failures, an open breaker spends no permits, and the ledger says rate_limited."""
    ledger = Ledger()
    breaker = CircuitBreaker(fail_max=2, reset_timeout_s=60, clock=clock)
    limit = rate_limit(1, per_s=10, clock=clock)
    guarded = Policy(breaker=breaker, rate_limit=limit, ledger=ledger, clock=clock)(
        make(mode, lambda: "ok")
    )
    assert call(mode, guarded) == "ok"
    for _ in range(3):
        with pytest.raises(RateLimited):
            call(mode, guarded)
    assert breaker.state == "closed" and breaker.stats.ignored == 3
    breaker.open()
    before = limit.remaining()
    with pytest.raises(CircuitOpenError):
        call(mode, guarded)
    assert limit.remaining() == before  # the open breaker took no permit
    outcomes = ledger.to_frame().query("kind == 'attempt'")["outcome"].tolist()
    assert outcomes == ["ok", "rate_limited", "rate_limited", "rate_limited", "rejected"]


def test_a_probe_refused_by_the_limit_gives_its_slot_back(clock: FakeClock) -> None:
    """Half-open, a probe the limiter refuses frees the probe slot: the next call probes."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=5, half_open_max_calls=1, clock=clock)
    limit = rate_limit(1, per_s=1, clock=clock)
    guarded = Policy(breaker=breaker, rate_limit=limit)(lambda: "ok")
    limit.acquire()  # the bucket is spent
    breaker.open()
    clock.advance(5)  # half-open; the limit has refilled by now, spend it again
    limit.acquire()
    with pytest.raises(RateLimited):
        guarded()
    assert breaker.state == "half-open"
    clock.advance(1)
    assert guarded() == "ok"  # the slot was given back: this probe ran, and closed it
    assert breaker.state == "closed"


# -- names: the Policy's reaches the parts that have none --------------------------------


def test_policy_name_reaches_an_unnamed_breaker_and_its_log_lines(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """`Policy(name="prices", breaker=CircuitBreaker())` logs `circuit 'prices' opened`."""
    breaker = CircuitBreaker(fail_max=2, clock=clock)
    assert breaker.name.startswith("breaker-")
    guarded = Policy(name="prices", breaker=breaker, clock=clock)(Failing())
    caplog.set_level("WARNING", logger="resilience.breaker")
    for _ in range(2):
        with pytest.raises(ConnectionError):
            guarded()
    with pytest.raises(CircuitOpenError, match="'prices'"):
        guarded()
    assert breaker.name == "prices"
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["circuit 'prices' opened"]


def test_a_part_keeps_its_own_name(clock: FakeClock) -> None:
    """A breaker, bulkhead or timeout named by the user keeps that name."""
    policy = Policy(
        name="prices",
        breaker=CircuitBreaker(name="pricing-api", clock=clock),
        bulkhead=bulkhead(2, name="pool", clock=clock),
        timeout=timeout(1.0, name="slow", clock=clock),
    )
    assert policy.breaker is not None and policy.breaker.name == "pricing-api"
    assert policy.bulkhead is not None and policy.bulkhead.name == "pool"
    assert policy.timeout is not None and policy.timeout.name == "slow"


def test_policy_name_reaches_unnamed_and_shorthand_parts(clock: FakeClock) -> None:
    """Bulkhead and timeout, given or built from a shorthand, carry the Policy's name into
    BulkheadFull and TimeoutExceeded."""
    given = Policy(name="prices", bulkhead=bulkhead(1, clock=clock), timeout=timeout(1.0))
    short = Policy(name="quotes", bulkhead=3, timeout=2.0, clock=clock)
    assert given.bulkhead is not None and given.bulkhead.name == "prices"
    assert given.timeout is not None and given.timeout.name == "prices"
    assert short.bulkhead is not None and short.bulkhead.name == "quotes"
    assert short.timeout is not None and short.timeout.name == "quotes"

    @Policy(name="quote", timeout=timeout(2))
    async def slow() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        with pytest.raises(TimeoutExceeded, match="call 'quote' did not finish"):
            await slow()

    run_virtual(main())


def test_an_unnamed_policy_names_its_breaker_after_the_first_function(clock: FakeClock) -> None:
    """Without a Policy name, the first decorated function names an unnamed breaker (its
    qualified name, as on the ledger rows); a later function changes nothing."""
    policy = Policy(breaker=CircuitBreaker(clock=clock))

    def price() -> str:
        return "9.99"

    def stock() -> int:
        return 3

    policy(price)
    policy(stock)
    assert policy.breaker is not None and policy.breaker.name == price.__qualname__
    assert policy.breaker.inherit_name("other") is False
