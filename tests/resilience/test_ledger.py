"""The ledger of a Policy: one row per attempt, one per call, exactly what happened."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.modes import MODES, call, make
from support.virtual import run_virtual

from resilience import (
    BulkheadFull,
    CircuitBreaker,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    Policy,
    bulkhead,
    cached,
    fallback,
    retry,
    timeout,
)
from resilience.ledger import report_sizes
from resilience.testing import FakeClock


def rows(ledger: Ledger) -> list[tuple[Any, ...]]:
    """(kind, attempt, outcome, error_type) of every row."""
    return [(r.kind, r.attempt, r.outcome, r.error_type) for r in ledger.records()]


CONN = "builtins.ConnectionError"
OPEN = "resilience.errors.CircuitOpenError"


class Flaky:
    """Fails ``failures`` times with ConnectionError, sleeping ``work_s`` on the clock."""

    def __init__(self, failures: int, clock: FakeClock | None = None, work_s: float = 0) -> None:
        self.failures, self.clock, self.work_s, self.calls = failures, clock, work_s, 0

    def __call__(self, *args: Any) -> str:
        self.calls += 1
        if self.clock is not None:
            self.clock.advance(self.work_s)
        if self.calls <= self.failures:
            raise ConnectionError(f"failure {self.calls}")
        return "ok"


@pytest.mark.parametrize("mode", MODES)
def test_retry_and_breaker_against_a_flaky_function(mode: str, clock: FakeClock) -> None:
    """Two failures then success: exactly three attempts and one call in the ledger."""
    ledger = Ledger()
    body = Flaky(2, clock, work_s=0.25)
    guarded = Policy(
        name="pricing",
        retry=retry(attempts=4, backoff_s=1, jitter="none", clock=clock),
        breaker=CircuitBreaker(fail_max=5, clock=clock),
        ledger=ledger,
        clock=clock,
    )(make(mode, body))
    assert call(mode, guarded) == "ok"
    assert body.calls == 3
    assert rows(ledger) == [
        ("attempt", 1, "error", CONN),
        ("attempt", 2, "error", CONN),
        ("attempt", 3, "ok", None),
        ("call", 3, "ok", None),
    ]
    records = ledger.records()
    assert {r.function for r in records} == {"pricing"}
    # attempt starts: 1000; 1000.25 + 1 s backoff; 1001.5 + 2 s backoff
    assert [r.start_s for r in records] == [1000.0, 1001.25, 1003.5, 1000.0]
    assert [r.duration_s for r in records] == [0.25, 0.25, 0.25, 3.75]


@pytest.mark.parametrize("mode", MODES)
def test_open_breaker_shows_as_a_rejected_attempt(mode: str, clock: FakeClock) -> None:
    """The breaker opens after two failures: attempt 3 is rejected and ends the call."""
    ledger = Ledger()
    body = Flaky(100)
    guarded = Policy(
        retry=retry(attempts=5, clock=clock),
        breaker=CircuitBreaker(fail_max=2, clock=clock),
        ledger=ledger,
        clock=clock,
    )(make(mode, body))
    with pytest.raises(CircuitOpenError):
        call(mode, guarded)
    assert body.calls == 2
    assert rows(ledger) == [
        ("attempt", 1, "error", CONN),
        ("attempt", 2, "error", CONN),
        ("attempt", 3, "rejected", OPEN),
        ("call", 3, "rejected", OPEN),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_fallback_call_names_the_error_it_covered(mode: str, clock: FakeClock) -> None:
    """A served fallback is a ``fallback`` call carrying the original error's type."""
    ledger = Ledger()
    guarded = Policy(
        fallback=fallback("stale"),
        retry=retry(attempts=2, clock=clock),
        ledger=ledger,
        clock=clock,
    )(make(mode, Flaky(100)))
    assert call(mode, guarded) == "stale"
    assert rows(ledger) == [
        ("attempt", 1, "error", CONN),
        ("attempt", 2, "error", CONN),
        ("call", 2, "fallback", CONN),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_user_hooks_still_run_alongside_the_ledger(mode: str, clock: FakeClock) -> None:
    """The Policy chains its ledger hooks after the parts' own on_fallback/on_hit."""
    seen: list[Any] = []
    ledger = Ledger()
    guarded = Policy(
        fallback=fallback(0, on_fallback=lambda exc: seen.append(type(exc))),
        cache=cached(ttl=10, clock=clock, on_hit=seen.append),
        ledger=ledger,
    )(make(mode, Flaky(1)))
    assert call(mode, guarded, "a") == 0
    assert call(mode, guarded, "a") == "ok"
    assert call(mode, guarded, "a") == "ok"
    assert seen == [ConnectionError, "fresh"]
    assert [r[2] for r in rows(ledger) if r[0] == "call"] == ["fallback", "ok", "cache_hit"]


@pytest.mark.parametrize("mode", MODES)
def test_cache_hit_is_a_call_without_attempts(mode: str, clock: FakeClock) -> None:
    """A hit records a ``cache_hit`` call with attempt 0 and no attempt row."""
    ledger = Ledger()
    guarded = Policy(
        cache=cached(ttl=60, clock=clock), retry=retry(attempts=2, clock=clock), ledger=ledger
    )(make(mode, Flaky(0)))
    call(mode, guarded, "k")
    call(mode, guarded, "k")
    assert rows(ledger) == [
        ("attempt", 1, "ok", None),
        ("call", 1, "ok", None),
        ("call", 0, "cache_hit", None),
    ]


def test_timeouts_are_attempts_of_their_own(clock: FakeClock) -> None:
    """Each attempt cut by the timeout is a ``timeout`` attempt; the retry then succeeds."""
    ledger = Ledger()
    durations = iter([30.0, 30.0, 0.1])

    @Policy(retry=retry(attempts=3, backoff_s=0, clock=clock), timeout=1.0, ledger=ledger)
    async def op() -> str:
        await asyncio.sleep(next(durations))
        return "ok"

    run_virtual(op())
    expired = "resilience.errors.TimeoutExceeded"
    assert rows(ledger) == [
        ("attempt", 1, "timeout", expired),
        ("attempt", 2, "timeout", expired),
        ("attempt", 3, "ok", None),
        ("call", 3, "ok", None),
    ]


def test_full_bulkhead_is_a_bulkhead_full_attempt(clock: FakeClock) -> None:
    """A call that finds no slot is a ``bulkhead_full`` attempt and call (an open
    breaker's refusal is ``rejected``)."""
    ledger = Ledger()
    entered, release = threading.Event(), threading.Event()

    @Policy(bulkhead=bulkhead(1), ledger=ledger, clock=clock)
    def op(hold: bool) -> None:
        if hold:
            entered.set()
            release.wait(10)

    holder = threading.Thread(target=op, args=(True,))
    holder.start()
    assert entered.wait(10)
    with pytest.raises(BulkheadFull, match="is full"):
        op(False)
    release.set()
    holder.join(10)
    full = "resilience.errors.BulkheadFull"
    assert rows(ledger)[:2] == [
        ("attempt", 1, "bulkhead_full", full),
        ("call", 1, "bulkhead_full", full),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_sizes_reported_by_the_invoker_land_on_attempt_rows(mode: str, clock: FakeClock) -> None:
    """report_sizes inside the function (also through a sync timeout's worker thread)."""
    ledger = Ledger()
    attempt = {"n": 0}

    def invoke() -> str:
        attempt["n"] += 1
        report_sizes(request_bytes=100 * attempt["n"], response_bytes=1000 * attempt["n"])
        if attempt["n"] == 1:
            raise ConnectionError("reset after sending")
        return "ok"

    guarded = Policy(retry=retry(attempts=2, clock=clock), timeout=30.0, ledger=ledger)(
        make(mode, invoke)
    )
    assert call(mode, guarded) == "ok"
    sizes = [(r.kind, r.request_bytes, r.response_bytes) for r in ledger.records()]
    assert sizes == [("attempt", 100, 1000), ("attempt", 200, 2000), ("call", None, None)]


def test_ledger_never_holds_arguments_or_results(clock: FakeClock) -> None:
    """Neither an argument nor the result appears anywhere in the rows or the frame."""
    ledger = Ledger()

    @Policy(retry=2, ledger=ledger, clock=clock)
    def login(password: str) -> str:
        return f"token-for-{password}"

    login("hunter2-secret")
    text = repr(ledger.records()) + ledger.to_frame().to_csv()
    assert "hunter2" not in text and "token-for" not in text


def test_threads_keep_their_calls_apart(clock: FakeClock) -> None:
    """Eight threads through one Policy: every call row counts its own attempts.

    Which calls fail is decided per thread (its every fourth call fails once), so the
    totals hold under every interleaving of the threads.
    """
    ledger = Ledger()
    lock = threading.Lock()
    made = {"n": 0}
    local = threading.local()

    @Policy(retry=retry(attempts=3, backoff_s=0, budget=None, clock=clock), ledger=ledger)
    def op() -> None:
        with lock:
            made["n"] += 1
        if local.call % 4 == 0 and not local.failed:
            local.failed = True
            raise ConnectionError("every fourth call fails once")

    def worker() -> None:
        for k in range(100):
            local.call, local.failed = k, False
            op()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    records = ledger.records()
    calls = [r for r in records if r.kind == "call"]
    attempts = [r for r in records if r.kind == "attempt"]
    assert made["n"] == 8 * (100 + 25)
    assert len(calls) == 800 and len(attempts) == made["n"]
    assert sorted(r.attempt for r in calls) == [1] * 600 + [2] * 200
    assert all(r.outcome == "ok" for r in calls)


def test_concurrent_tasks_keep_their_calls_apart(clock: FakeClock) -> None:
    """A hundred concurrent tasks, each failing once: 100 calls of 2 attempts each."""
    ledger = Ledger()
    failed: set[int] = set()

    @Policy(retry=retry(attempts=2, backoff_s=0, budget=None, clock=clock), ledger=ledger)
    async def op(i: int) -> int:
        await asyncio.sleep(0)
        if i not in failed:
            failed.add(i)
            raise ConnectionError(str(i))
        return i

    async def main() -> list[int]:
        return list(await asyncio.gather(*(op(i) for i in range(100))))

    assert asyncio.run(main()) == list(range(100))
    calls = [r for r in ledger.records() if r.kind == "call"]
    assert len(calls) == 100 and {r.attempt for r in calls} == {2}
    assert len(ledger) == 300


def test_nested_policies_on_one_ledger_record_separately(clock: FakeClock) -> None:
    """A Policy-guarded function calling another: each has its own call and attempts."""
    ledger = Ledger()

    @Policy(name="inner", retry=retry(attempts=2, clock=clock), ledger=ledger)
    def inner() -> int:
        return 1

    @Policy(name="outer", ledger=ledger)
    def outer() -> int:
        return inner() + inner()

    assert outer() == 2
    summary = [(r.function, r.kind, r.attempt) for r in ledger.records()]
    assert summary == [
        ("inner", "attempt", 1),
        ("inner", "call", 1),
        ("inner", "attempt", 1),
        ("inner", "call", 1),
        ("outer", "attempt", 1),
        ("outer", "call", 1),
    ]


def test_cancelled_call_is_recorded_with_its_type() -> None:
    """A cancelled task ends its attempt and call as ``cancelled``, type CancelledError."""
    ledger = Ledger()

    @Policy(retry=2, ledger=ledger)
    async def op() -> None:
        await asyncio.Event().wait()

    async def main() -> None:
        task = asyncio.create_task(op())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    cancelled = "asyncio.exceptions.CancelledError"
    assert rows(ledger) == [
        ("attempt", 1, "cancelled", cancelled),
        ("call", 1, "cancelled", cancelled),
    ]


@pytest.mark.parametrize("mode", MODES)
def test_stacked_decorators_on_one_ledger_match_the_policy(mode: str, clock: FakeClock) -> None:
    """retry/bulkhead/timeout stacked by hand with one ledger write the Policy's rows."""
    by_hand, by_policy = Ledger(), Ledger()

    def decorate_by_hand(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = timeout(30, ledger=by_hand, clock=clock)(fn)
        fn = bulkhead(2, ledger=by_hand, clock=clock)(fn)
        return retry(attempts=3, jitter="none", ledger=by_hand, clock=clock)(fn)

    hand = decorate_by_hand(make(mode, Flaky(2)))
    policy = Policy(
        retry=retry(attempts=3, jitter="none", clock=clock),
        bulkhead=2,
        timeout=30.0,
        ledger=by_policy,
        clock=clock,
    )(make(mode, Flaky(2)))
    assert call(mode, hand) == call(mode, policy) == "ok"
    assert rows(by_hand) == rows(by_policy)
    assert len(by_hand) == 4


@settings(max_examples=60, deadline=None)
@given(
    outcomes=st.lists(st.booleans(), min_size=1, max_size=10),
    attempts=st.integers(1, 6),
    fail_max=st.integers(1, 8),
)
def test_attempt_rows_are_exactly_the_tries_made(
    outcomes: list[bool], attempts: int, fail_max: int
) -> None:
    """For any failure pattern: attempt rows number 1..n, n <= attempts, calls = tries."""
    clock = FakeClock()
    ledger = Ledger()
    pattern = iter(outcomes + [True] * attempts)
    tries = []

    def op() -> str:
        tries.append(1)
        if next(pattern):
            return "ok"
        raise ConnectionError("no")

    guarded = Policy(
        retry=retry(attempts=attempts, budget=None, clock=clock),
        breaker=CircuitBreaker(fail_max=fail_max, clock=clock),
        ledger=ledger,
        clock=clock,
    )(op)
    with contextlib.suppress(ConnectionError, CircuitOpenError):
        guarded()
    *attempt_rows, call_row = ledger.records()
    assert call_row.kind == "call" and call_row.attempt == len(attempt_rows) <= attempts
    assert [r.attempt for r in attempt_rows] == list(range(1, len(attempt_rows) + 1))
    made = [r for r in attempt_rows if r.outcome != "rejected"]
    assert len(made) == len(tries)
    assert call_row.outcome == attempt_rows[-1].outcome


@pytest.mark.parametrize("mode", MODES)
def test_all_six_decorators_stacked_by_hand_match_the_policy(mode: str, clock: FakeClock) -> None:
    """Every decorator given one ledger, stacked in the Policy's order, writes its rows."""
    by_hand, by_policy = Ledger(), Ledger()
    hand_breaker = CircuitBreaker(fail_max=5, clock=clock, ledger=by_hand)
    policy_breaker = CircuitBreaker(fail_max=5, clock=clock)

    def decorate_by_hand(fn: Callable[..., Any]) -> Callable[..., Any]:
        fn = timeout(30, ledger=by_hand, clock=clock)(fn)
        fn = bulkhead(2, ledger=by_hand, clock=clock)(fn)
        fn = hand_breaker(fn)
        fn = retry(attempts=3, jitter="none", ledger=by_hand, clock=clock)(fn)
        fn = cached(ttl=60, clock=clock, ledger=by_hand)(fn)
        return fallback("degraded", ledger=by_hand, clock=clock)(fn)

    hand = decorate_by_hand(make(mode, Flaky(2)))
    policy = Policy(
        fallback=fallback("degraded"),
        cache=cached(ttl=60, clock=clock),
        retry=retry(attempts=3, jitter="none", clock=clock),
        breaker=policy_breaker,
        bulkhead=2,
        timeout=30.0,
        ledger=by_policy,
        clock=clock,
    )(make(mode, Flaky(2)))
    for guarded, breaker in ((hand, hand_breaker), (policy, policy_breaker)):
        assert call(mode, guarded, "a") == "ok"  # two failures, then ok
        assert call(mode, guarded, "a") == "ok"  # cache hit
        breaker.open()
        assert call(mode, guarded, "b") == "degraded"  # rejected, then the fallback
    assert rows(by_hand) == rows(by_policy)
    assert rows(by_policy) == [
        ("attempt", 1, "error", CONN),
        ("attempt", 2, "error", CONN),
        ("attempt", 3, "ok", None),
        ("call", 3, "ok", None),
        ("call", 0, "cache_hit", None),
        ("attempt", 1, "rejected", OPEN),
        ("call", 1, "fallback", OPEN),
    ]


@pytest.mark.parametrize("part", ["breaker", "fallback", "cached"])
def test_single_decorators_record_on_their_own(part: str, clock: FakeClock) -> None:
    """breaker, fallback and cached each accept ledger= and write call and attempt rows."""
    ledger = Ledger()
    decorator: Any = {
        "breaker": lambda: CircuitBreaker(clock=clock, ledger=ledger),
        "fallback": lambda: fallback(0, ledger=ledger),
        "cached": lambda: cached(ttl=5, clock=clock, ledger=ledger),
    }[part]()

    @decorator
    def op(x: int) -> int:
        return x

    assert op(3) == 3
    assert rows(ledger) == [("attempt", 1, "ok", None), ("call", 1, "ok", None)]


@pytest.mark.parametrize("factory", [fallback, cached])
def test_bad_ledger_on_fallback_and_cached(factory: Callable[..., Any]) -> None:
    """A ledger that is not a Ledger is refused at construction."""
    args = (0,) if factory is fallback else ()
    with pytest.raises(InvalidUsage, match=r"ledger='x': must be a resilience.Ledger"):
        factory(*args, ledger="x")
    with pytest.raises(InvalidUsage, match=r"ledger='x': must be a resilience.Ledger"):
        CircuitBreaker(ledger="x")  # type: ignore[arg-type]


def test_hedge_and_chaos_columns_are_nullable_and_checked() -> None:
    ledger = Ledger()
    ledger.record(function="f", kind="attempt", start_s=0.0, duration_s=0.1, outcome="ok",
                  attempt=1, hedge=0, hedge_result="won")  # fmt: skip
    ledger.record(function="f", kind="attempt", start_s=0.0, duration_s=0.2, outcome="error",
                  attempt=1, injected="fault")  # fmt: skip
    ledger.record(function="f", kind="probe", start_s=1.0, duration_s=0.01, outcome="ok")
    frame = ledger.to_frame()
    assert list(frame["kind"]) == ["attempt", "attempt", "probe"]
    assert frame["hedge"].tolist()[0] == 0 and frame["hedge"].isna().tolist() == [False, True, True]
    assert frame["hedge_result"].tolist()[0] == "won"
    assert frame["injected"].tolist()[1] == "fault"
    for bad, message in (
        ({"kind": "ping"}, "kind='ping'"),
        ({"hedge_result": "abandoned"}, "hedge_result='abandoned'"),
        ({"injected": "latenc"}, "injected='latenc'"),
    ):
        row = {"function": "f", "kind": "attempt", "start_s": 0.0, "duration_s": 0.0}
        with pytest.raises(InvalidUsage, match=message):
            ledger.record(**{**row, "outcome": "ok", **bad})
