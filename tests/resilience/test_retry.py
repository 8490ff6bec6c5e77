"""resilience.retry: attempts, what is retried, backoff, the retry budget, statistics."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import threading
from collections.abc import Callable
from typing import Any

import pytest
import tenacity
from hypothesis import given
from hypothesis import strategies as st
from support.modes import MODES, call, make

from resilience import (
    SYSTEM_CLOCK,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    Retry,
    RetryBudget,
    retry,
)
from resilience.retry import Backoff
from resilience.testing import FakeClock


def call_many(mode: str, fn: Callable[[], Any], n: int) -> list[Any]:
    """Call ``fn`` ``n`` times; each result or the exception it raised."""

    def one() -> Any:
        try:
            return fn()
        except Exception as exc:
            return exc

    if mode == "sync":
        return [one() for _ in range(n)]

    async def many() -> list[Any]:
        out = []
        for _ in range(n):
            try:
                out.append(await fn())
            except Exception as exc:
                out.append(exc)
        return out

    return asyncio.run(many())


class Flaky:
    """Fails with ``error`` the first ``failures`` times, then returns ``"ok"``."""

    def __init__(self, failures: int, error: type[BaseException] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "ok"


@pytest.mark.parametrize("mode", MODES)
def test_success_calls_once_without_tenacity(
    mode: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call that succeeds is made once, plainly: tenacity is never constructed."""
    built: list[object] = []
    monkeypatch.setattr(tenacity.BaseRetrying, "begin", lambda self: built.append(self))
    body = Flaky(0)
    fn = retry(attempts=3, clock=clock)(make(mode, body))
    assert call(mode, fn) == "ok"
    assert body.calls == 1 and built == []
    stats = fn.statistics  # type: ignore[attr-defined]
    assert (stats.calls, stats.attempts, stats.retries) == (1, 1, 0)
    assert clock.sleeps == []


@pytest.mark.parametrize("mode", MODES)
def test_flaky_call_succeeds_after_backoff(mode: str, clock: FakeClock) -> None:
    """Two failures then success: three attempts, exponential sleeps on the clock."""
    body = Flaky(2)
    fn = retry(attempts=3, backoff_s=0.5, jitter="none", clock=clock)(make(mode, body))
    assert call(mode, fn) == "ok"
    assert body.calls == 3
    assert clock.sleeps == [0.5, 1.0]
    stats = fn.statistics  # type: ignore[attr-defined]
    assert (stats.calls, stats.attempts, stats.retries, stats.gave_up) == (1, 3, 2, 0)
    assert stats.idle_s == 1.5


@pytest.mark.parametrize("mode", MODES)
def test_gives_up_after_attempts_with_the_last_error(mode: str, clock: FakeClock) -> None:
    """After ``attempts`` failures the last error itself is raised, unchanged."""
    raised: list[BaseException] = []

    def body() -> None:
        raised.append(ConnectionError(f"failure {len(raised) + 1}"))
        raise raised[-1]

    fn = retry(attempts=4, backoff_s=1, max_backoff_s=3, jitter="none", clock=clock)(
        make(mode, body)
    )
    with pytest.raises(ConnectionError) as info:
        call(mode, fn)
    assert info.value is raised[-1] and len(raised) == 4
    assert clock.sleeps == [1.0, 2.0, 3.0]  # capped at max_backoff_s
    assert fn.statistics.gave_up == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("mode", MODES)
def test_exceptions_outside_on_are_not_retried(mode: str, clock: FakeClock) -> None:
    """An error not listed in ``on=`` is raised after one attempt."""
    body = Flaky(5, error=KeyError)
    fn = retry(attempts=3, on=(ConnectionError, TimeoutError), clock=clock)(make(mode, body))
    with pytest.raises(KeyError):
        call(mode, fn)
    assert body.calls == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("on", [None, Exception, (ConnectionError, Exception)])
def test_circuit_open_is_never_retried(mode: str, on: Any, clock: FakeClock) -> None:
    """An open breaker is never retried, even when ``on=`` covers it."""
    calls = []

    def body() -> None:
        calls.append(1)
        raise CircuitOpenError("payments", retry_after=30)

    fn = retry(attempts=5, on=on, clock=clock)(make(mode, body))
    with pytest.raises(CircuitOpenError):
        call(mode, fn)
    assert len(calls) == 1


@pytest.mark.parametrize("mode", MODES)
def test_invalid_usage_is_retried_only_when_asked(mode: str, clock: FakeClock) -> None:
    """InvalidUsage is excluded from the default ``on=`` but may be listed."""
    default = Flaky(1, error=InvalidUsage)
    with pytest.raises(InvalidUsage):
        call(mode, retry(attempts=2, clock=clock)(make(mode, default)))
    assert default.calls == 1
    listed = Flaky(1, error=InvalidUsage)
    assert call(mode, retry(attempts=2, on=InvalidUsage, clock=clock)(make(mode, listed))) == "ok"


def test_interrupt_is_not_retried(clock: FakeClock) -> None:
    """KeyboardInterrupt (a BaseException) goes straight through."""
    body = Flaky(3, error=KeyboardInterrupt)
    fn = retry(attempts=5, clock=clock)(body)
    with pytest.raises(KeyboardInterrupt):
        fn()
    assert body.calls == 1


def test_cancellation_is_not_retried(clock: FakeClock) -> None:
    """A cancelled task stays cancelled: no retry of CancelledError."""
    started = []

    @retry(attempts=5, clock=clock)
    async def slow() -> None:
        started.append(1)
        await asyncio.Event().wait()

    async def main() -> None:
        task = asyncio.create_task(slow())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert started == [1]


@pytest.mark.parametrize("mode", MODES)
def test_attempts_one_never_retries(mode: str, clock: FakeClock) -> None:
    """``attempts=1`` tries once."""
    body = Flaky(1)
    with pytest.raises(ConnectionError):
        call(mode, retry(attempts=1, clock=clock)(make(mode, body)))
    assert body.calls == 1


@pytest.mark.parametrize("mode", MODES)
def test_outage_does_not_become_a_retry_storm(mode: str, clock: FakeClock) -> None:
    """During an outage the budget keeps retries near 20% of calls, not 200%."""
    attempts = []

    def down() -> None:
        attempts.append(1)
        raise ConnectionError("down")

    budget = RetryBudget(ratio=0.2, min_retries=10, window_s=60, clock=clock)
    fn = retry(attempts=3, backoff_s=0.001, budget=budget, clock=clock)(make(mode, down))
    results = call_many(mode, fn, 500)
    assert all(type(r) is ConnectionError for r in results)  # the caller's own error
    retries = len(attempts) - 500
    assert 0 < retries <= 10 + 0.2 * 500
    stats = fn.statistics  # type: ignore[attr-defined]
    assert stats.retries == retries and stats.budget_refusals > 0

    attempts.clear()
    unbudgeted = retry(attempts=3, backoff_s=0.001, budget=None, clock=clock)(make(mode, down))
    call_many(mode, unbudgeted, 500)
    assert len(attempts) == 1500


def test_budget_recovers_when_the_window_slides(clock: FakeClock) -> None:
    """Spent retries leave the window after ``window_s`` and the budget refills."""
    budget = RetryBudget(ratio=0.5, min_retries=1, window_s=10, clock=clock)
    for _ in range(4):
        budget.deposit()
    assert budget.available == 3
    assert [budget.try_withdraw() for _ in range(4)] == [True, True, True, False]
    clock.advance(5)
    assert budget.available == 0  # still inside the window
    clock.advance(5.01)
    assert budget.available == 1 and budget.try_withdraw()


@given(
    ops=st.lists(st.sampled_from(["call", "retry"]), max_size=200),
    ratio=st.floats(0.01, 1),
    min_retries=st.integers(0, 20),
)
def test_budget_grants_exactly_what_the_ceiling_allows(
    ops: list[str], ratio: float, min_retries: int
) -> None:
    """Within one window a retry is granted iff retries + 1 <= min_retries + ratio x calls."""
    clock = FakeClock()
    budget = RetryBudget(ratio=ratio, min_retries=min_retries, window_s=10, clock=clock)
    calls = retries = 0
    for op in ops:
        if op == "call":
            budget.deposit()
            calls += 1
        else:
            expected = retries + 1 <= min_retries + ratio * calls
            assert budget.try_withdraw() == expected
            retries += expected
    assert retries <= min_retries + ratio * calls
    clock.advance(10)  # a whole window later, only the minimum is left
    assert budget.available == min_retries


def test_one_budget_is_shared_by_several_retries(clock: FakeClock) -> None:
    """Two decorators on one budget draw from the same allowance."""
    budget = RetryBudget(ratio=0.1, min_retries=2, window_s=60, clock=clock)
    a, b = Flaky(100), Flaky(100)
    fa = retry(attempts=5, budget=budget, backoff_s=0, clock=clock)(a)
    fb = retry(attempts=5, budget=budget, backoff_s=0, clock=clock)(b)
    for fn in (fa, fb):
        with pytest.raises(ConnectionError):
            fn()
    # 2 calls allow 2 + 0.2 retries: both go to the first caller.
    assert (a.calls, b.calls) == (3, 1)


def test_statistics_are_exact_under_threads(clock: FakeClock) -> None:
    """Eight threads hammering one retry object lose no count."""
    lock = threading.Lock()
    seen = {"n": 0}

    def body() -> int:
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if n % 3 == 0:
            raise ConnectionError("every third try fails")
        return n

    fn = retry(attempts=2, backoff_s=0, budget=None, clock=clock)(body)

    def worker() -> None:
        for _ in range(500):
            with contextlib.suppress(ConnectionError):  # two unlucky tries in a row
                fn()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = fn.statistics  # type: ignore[attr-defined]
    assert stats.calls == 4000
    assert stats.attempts == seen["n"] == 4000 + stats.retries


@given(
    backoff_s=st.floats(0, 100),
    extra_s=st.floats(0, 1000),
    jitter=st.sampled_from(["full", "equal", "none"]),
    uniform=st.floats(0, 1, exclude_max=True),
)
def test_backoff_delays_stay_within_caps_that_never_decrease(
    backoff_s: float, extra_s: float, jitter: Any, uniform: float
) -> None:
    """Each delay is in [0, cap] (>= cap/2 with equal jitter); caps grow up to the max."""
    backoff = Backoff(backoff_s, backoff_s + extra_s, jitter)
    caps = [backoff.cap_s(k) for k in range(1, 1200, 7)]
    assert caps == sorted(caps) and caps[-1] <= backoff.max_backoff_s
    for k in (1, 2, 5, 40, 2000):
        cap = backoff.cap_s(k)
        delay = backoff.delay_s(k, uniform)
        assert 0 <= delay <= cap
        if jitter == "equal":
            assert delay >= cap / 2
        if jitter == "none":
            assert delay == cap


@given(
    outcomes=st.lists(st.booleans(), min_size=1, max_size=12),
    attempts=st.integers(1, 8),
    seed=st.integers(0, 2**32),
)
def test_attempts_never_exceed_the_cap(outcomes: list[bool], attempts: int, seed: int) -> None:
    """Tries stop at the first success or at ``attempts``; sleeps stay within caps."""
    clock = FakeClock()
    tries = iter(outcomes + [True] * 20)
    made = []

    def body() -> int:
        made.append(1)
        if next(tries):
            return len(made)
        raise ConnectionError("no")

    fn = Retry(
        attempts=attempts,
        backoff_s=1,
        max_backoff_s=8,
        clock=clock,
        budget=None,
        rng=random.Random(seed),
    )(body)
    first_success = (outcomes + [True] * 20).index(True) + 1
    if first_success <= attempts:
        assert fn() == first_success
    else:
        with pytest.raises(ConnectionError):
            fn()
    assert len(made) == min(first_success, attempts)
    assert len(clock.sleeps) == len(made) - 1
    assert all(0 <= s <= min(8, 2**i) for i, s in enumerate(clock.sleeps))


@pytest.mark.parametrize("mode", MODES)
def test_ledger_gets_one_row_per_attempt_and_one_per_call(mode: str, clock: FakeClock) -> None:
    """retry(ledger=) records attempts 1..n and the call, with error types."""
    ledger = Ledger()
    fn = retry(attempts=3, backoff_s=2, jitter="none", clock=clock, ledger=ledger)(
        make(mode, Flaky(2))
    )
    assert call(mode, fn) == "ok"
    rows = [(r.kind, r.attempt, r.outcome, r.error_type, r.start_s) for r in ledger.records()]
    assert rows == [
        ("attempt", 1, "error", "builtins.ConnectionError", 1000.0),
        ("attempt", 2, "error", "builtins.ConnectionError", 1002.0),
        ("attempt", 3, "ok", None, 1006.0),
        ("call", 3, "ok", None, 1000.0),
    ]
    assert ledger.records()[-1].duration_s == 6.0
    assert {r.function for r in ledger.records()} == {"make.<locals>." + fn.__name__}


class OpenSubclass(CircuitOpenError):
    """A CircuitOpenError of the user's own."""


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempts": 0}, r"attempts=0: must be an integer >= 1"),
        ({"attempts": 2.5}, r"attempts=2.5"),
        ({"on": [ValueError, "x"]}, r"'x' is not an exception class"),
        ({"on": KeyboardInterrupt}, r"KeyboardInterrupt is not an Exception subclass"),
        ({"on": CircuitOpenError}, r"on=.*CircuitOpenError.*an open breaker is never retried"),
        ({"on": (ValueError, CircuitOpenError)}, r"CircuitOpenError.*never retried"),
        ({"on": OpenSubclass}, r"OpenSubclass is a CircuitOpenError.*never retried"),
        ({"on": "ValueError"}, r"on='ValueError': a string, not an exception class"),
        ({"backoff_s": -1}, r"backoff_s=-1: must be a finite number >= 0"),
        ({"jitter": "half"}, r"jitter='half': must be one of"),
        ({"budget": 1.5}, r"budget=1.5: must be a rate in \(0, 1\]"),
        ({"budget": "20%"}, r"budget='20%': must be a RetryBudget"),
        ({"ledger": []}, r"ledger=\[\]: must be a resilience.Ledger"),
    ],
)
def test_bad_options_fail_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Each bad option names the parameter, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        retry(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ratio": 0}, r"ratio=0: must be a rate"),
        ({"min_retries": -1}, r"min_retries=-1: must be an integer >= 0"),
        ({"window_s": 0}, r"window_s=0: must be a finite number > 0"),
    ],
)
def test_bad_budget_fails_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """RetryBudget validates its options too."""
    with pytest.raises(InvalidUsage, match=message):
        RetryBudget(**kwargs)


def test_decorating_a_non_callable_fails() -> None:
    """retry(...)(42) says what it needs."""
    with pytest.raises(InvalidUsage, match="decorates a callable, got 42"):
        retry()(42)  # type: ignore[arg-type]


def test_wrapper_keeps_the_function_name_and_exposes_the_retry() -> None:
    """functools.wraps metadata, ``.retry`` and a readable repr."""
    policy = retry(attempts=2)

    @policy
    def lookup() -> None:
        """Find things."""

    assert lookup.__name__ == "lookup" and lookup.__doc__ == "Find things."
    assert lookup.retry is policy  # type: ignore[attr-defined]
    assert "attempts=2" in repr(policy) and "RetryBudget(ratio=0.2" in repr(policy)


def test_budget_without_a_clock_runs_on_the_clock_of_its_retry(clock: FakeClock) -> None:
    """A RetryBudget built without clock= takes its Retry's clock: its window is fake time."""
    budget = RetryBudget(ratio=0.5, min_retries=0, window_s=10)
    fn = retry(attempts=2, budget=budget, clock=clock)(lambda: "ok")
    for _ in range(4):
        fn()
    assert budget.available == 2  # 0 + 0.5 x 4 calls
    clock.advance(11)  # the window passes in fake time
    assert budget.available == 0
    assert retry(attempts=2, budget=budget, clock=clock).budget is budget  # same clock: fine


def test_budget_shared_by_retries_on_different_clocks_is_refused(clock: FakeClock) -> None:
    """One budget, one clock: a Retry on another clock than the one it took is an error."""
    budget = RetryBudget()
    retry(budget=budget, clock=clock)
    with pytest.raises(InvalidUsage, match=r"budget=RetryBudget\(.*\): runs on FakeClock"):
        retry(budget=budget)  # the system clock
    own = RetryBudget(clock=SYSTEM_CLOCK)
    with pytest.raises(InvalidUsage, match="runs on SystemClock"):
        retry(budget=own, clock=clock)


@pytest.mark.parametrize("mode", MODES)
def test_failure_path_builds_tenacity_once(
    mode: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Failing calls reuse one tenacity object per decorator, with unchanged results."""
    built: list[object] = []
    original = tenacity.BaseRetrying.__init__

    def counting(self: tenacity.BaseRetrying, *args: Any, **kwargs: Any) -> None:
        built.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(tenacity.BaseRetrying, "__init__", counting)
    fn = retry(attempts=3, backoff_s=1.0, jitter="none", budget=None, clock=clock)(
        make(mode, Flaky(10**9))
    )
    outcomes = call_many(mode, fn, 5)
    assert all(isinstance(o, ConnectionError) for o in outcomes)
    assert len(built) == 1
    assert clock.sleeps == [1.0, 2.0] * 5
    stats = fn.statistics  # type: ignore[attr-defined]
    assert (stats.calls, stats.attempts, stats.gave_up, stats.idle_s) == (5, 15, 5, 15.0)


def test_concurrent_async_failures_share_the_tenacity_object() -> None:
    """Hundreds of interleaved async retries each get their own attempts and backoff."""
    from resilience.virtual_time import run

    rng = random.Random(7)
    failures = {i: rng.randrange(0, 4) for i in range(300)}
    tries: dict[int, int] = dict.fromkeys(failures, 0)

    async def body(i: int) -> int:
        tries[i] += 1
        await asyncio.sleep(rng.random())  # interleave with the other calls
        if tries[i] <= failures[i]:
            raise ConnectionError(i)
        return i

    async def main() -> tuple[list[Any], Any]:
        fn = retry(attempts=3, backoff_s=0.5, budget=None)(body)

        async def one(i: int) -> Any:
            try:
                return await fn(i)
            except ConnectionError as exc:
                return ("gave up", exc.args[0])

        return list(await asyncio.gather(*(one(i) for i in failures))), fn.statistics

    results, stats = run(main())
    expected = [i if failures[i] < 3 else ("gave up", i) for i in failures]
    assert results == expected
    assert tries == {i: min(failures[i] + 1, 3) for i in failures}
    assert stats.attempts == sum(tries.values())
    assert stats.gave_up == sum(1 for f in failures.values() if f >= 3)


def test_max_backoff_below_backoff_caps_every_wait_as_tenacity_does(clock: FakeClock) -> None:
    """backoff_s=2, max_backoff_s=1: every wait is 1 s, as wait_exponential(2, max=1) waits."""
    calls = {"n": 0}

    def flaky() -> str:
        calls["n"] += 1
        if calls["n"] < 4:
            raise ConnectionError("down")
        return "ok"

    fn = retry(attempts=4, backoff_s=2, max_backoff_s=1, jitter="none", clock=clock)(flaky)
    assert fn() == "ok"
    peer = tenacity.wait_exponential(multiplier=2, max=1)
    state = tenacity.RetryCallState(retry_object=tenacity.Retrying(), fn=None, args=(), kwargs={})
    expected = []
    for attempt in (1, 2, 3):
        state.attempt_number = attempt
        expected.append(peer(state))
    assert clock.sleeps == expected == [1.0, 1.0, 1.0]


# -- Retry-After, RateLimited and the deadline ------------------------------------------


def test_retry_waits_what_a_real_429_asks(clock: FakeClock) -> None:
    """A real HTTP 429 with Retry-After: 7: the next attempt comes 7 s later (backoff is
    shorter), on the retry's clock; the second answer is a success."""
    from support.http_server import Reply, running_server

    from resilience.invokers import HttpFunction

    start = clock.monotonic()
    with running_server() as server, HttpFunction(server.url("/fn")) as fn:
        server.script(Reply(429, {"error": "slow down"}, {"Retry-After": "7"}))
        guarded = retry(attempts=3, backoff_s=0.1, jitter="none", clock=clock)(fn)
        answer = guarded({"n": 1})
    assert answer["path"] == "/fn" and clock.monotonic() - start == pytest.approx(7.0)
    assert guarded.statistics.idle_s == pytest.approx(7.0)


@pytest.mark.parametrize("mode", MODES)
def test_a_wait_beyond_max_retry_after_stops_with_the_error(mode: str, clock: FakeClock) -> None:
    """A server asking for 120 s (over max_retry_after_s=60) is not waited for: the
    original error is raised at once, counted as given up."""
    from resilience import HttpStatusError

    tries = []
    start = clock.monotonic()

    def busy() -> None:
        tries.append(clock.monotonic() - start)
        raise HttpStatusError(503, "https://example.com/fn", headers={"Retry-After": "120"})

    guarded = retry(attempts=5, clock=clock)(make(mode, busy))
    with pytest.raises(HttpStatusError):
        call(mode, guarded)
    assert tries == [0.0] and guarded.statistics.gave_up == 1


def test_rate_limited_is_retried_only_when_named(clock: FakeClock) -> None:
    """By default our own RateLimited is not retried; with on= naming it the retry waits
    its retry_after and the call gets through."""
    from resilience import RateLimited, rate_limit

    limit = rate_limit(1, per_s=2, clock=clock)
    by_default = retry(attempts=3, clock=clock)(limit(lambda: "ok"))
    assert by_default() == "ok"
    with pytest.raises(RateLimited):
        by_default()
    assert by_default.statistics.retries == 0
    named = retry(attempts=3, on=RateLimited, backoff_s=0.01, jitter="none", clock=clock)(
        limit(lambda: "ok")
    )
    start = clock.monotonic()
    assert named() == "ok"
    assert clock.monotonic() - start == pytest.approx(2.0)  # the limiter's retry_after


@pytest.mark.parametrize("mode", MODES)
def test_the_deadline_bounds_the_whole_sequence(mode: str, clock: FakeClock) -> None:
    """deadline_s=5: waits of 1, 2, then 4 s would end at 7 s: the third retry never
    starts and the last error is raised."""
    tries = []
    start = clock.monotonic()

    def down() -> None:
        tries.append(clock.monotonic() - start)
        raise ConnectionError("down")

    guarded = retry(attempts=10, backoff_s=1, jitter="none", deadline_s=5, clock=clock)(
        make(mode, down)
    )
    with pytest.raises(ConnectionError):
        call(mode, guarded)
    assert tries == [0.0, 1.0, 3.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_retry_after_s": -1}, "max_retry_after_s=-1"),
        ({"deadline_s": 0}, "deadline_s=0: must be a finite number > 0"),
        ({"deadline_s": float("nan")}, "deadline_s=nan"),
    ],
)
def test_retry_after_parameters_are_checked(kwargs: dict[str, Any], message: str) -> None:
    """Bad max_retry_after_s / deadline_s: InvalidUsage naming them."""
    with pytest.raises(InvalidUsage, match=message):
        retry(**kwargs)


@given(
    start=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    window_s=st.floats(min_value=1e-3, max_value=1e4, allow_nan=False),
)
def test_budget_bucket_end_is_exactly_where_the_division_changes(
    start: float, window_s: float
) -> None:
    """deposit compares the time with the bucket's end instead of dividing: the end is the
    first float whose bucket is the next one, so both say the same at every time."""
    budget = RetryBudget(window_s=window_s, clock=FakeClock(start=start))
    step, head = budget._bucket_s, budget._head
    ends = budget._end_of(head)
    assert ends // step == head + 1
    assert math.nextafter(ends, -math.inf) // step <= head


def test_budget_deposits_land_in_the_bucket_of_their_time(clock: FakeClock) -> None:
    """Calls counted without the lock (inside the bucket) and with it (at its end) are both
    in the window: at the boundary exactly, a call opens the next bucket."""
    budget = RetryBudget(ratio=0.5, min_retries=0, window_s=10, clock=clock)
    for _ in range(4):
        budget.deposit()  # bucket of t = 1000.0
    clock.advance(0.999_999)
    budget.deposit()  # still the first bucket (1 s buckets)
    clock.advance(0.000_001)
    budget.deposit()  # t = 1001.0: the next bucket
    assert budget.available == 3  # 6 calls x 0.5
    clock.advance(9.0)  # t = 1010.0: the first bucket left the window, the second stays
    budget.deposit()
    assert budget.available == 1  # 2 calls x 0.5
    clock.advance(1.0)  # t = 1011.0: the second bucket left too
    assert budget.available == 0  # 1 call x 0.5, floored
