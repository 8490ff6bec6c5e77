"""resilience.CircuitBreaker: rules, states, concurrency, listeners, validation.

Every behaviour runs in four modes: a decorated plain function, a decorated coroutine
function, ``breaker.call`` and ``await breaker.call_async``. Time is a FakeClock; the
concurrency tests use real threads and tasks that meet at a barrier, never a sleep.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pybreaker
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.breakers import Backend, Recorder, fail, guarded

import resilience
from resilience import (
    BreakerState,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    circuit_breaker,
)
from resilience._breaker_window import FAILURE, SLOW, OutcomeWindow
from resilience.testing import FakeClock

MODES = ["sync", "async", "call", "call_async"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(clock: FakeClock) -> Backend:
    return Backend(clock)


# ---- closed state and the trip rules -------------------------------------------------


def test_success_returns_the_result_and_counts(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """A closed breaker passes arguments and the result through and counts the call."""
    breaker = CircuitBreaker(name="svc", clock=clock)
    call = guarded(breaker, backend, mode)
    assert call("hello") == "hello"
    assert call(value="kw") == "kw"
    stats = breaker.stats
    assert (stats.calls, stats.successes, stats.failures, stats.rejections) == (2, 2, 0, 0)
    assert breaker.state == "closed" and breaker.state is BreakerState.CLOSED


def test_trips_after_fail_max_consecutive_failures(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """fail_max consecutive failures open it; a success in between resets the streak."""
    breaker = CircuitBreaker(name="svc", fail_max=3, reset_timeout_s=30, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError("down")
    fail(call, 2)
    backend.error = None
    call()
    assert breaker.stats.consecutive_failures == 0
    backend.error = ConnectionError("down")
    fail(call, 2)
    assert breaker.state == "closed" and breaker.fail_counter == 2
    fail(call)
    assert breaker.state == "open"
    calls_before = backend.calls
    with pytest.raises(CircuitOpenError) as info:
        call()
    assert backend.calls == calls_before
    assert info.value.name == "svc" and info.value.retry_after == 30.0
    stats = breaker.stats
    assert (stats.failures, stats.rejections, stats.trips) == (5, 1, 1)


def test_the_tripping_call_raises_the_functions_own_exception(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """User exceptions pass through unchanged, also on the call that trips the breaker."""
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    error = ConnectionError("the original")
    backend.error = error
    with pytest.raises(ConnectionError) as info:
        guarded(breaker, backend, mode)()
    assert info.value is error
    assert breaker.state == "open"


def test_failure_rate_trips_once_min_calls_are_in_the_window(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """A failure rate >= the threshold trips, but only once min_calls calls were seen."""
    breaker = CircuitBreaker(
        fail_max=None, failure_rate_threshold=0.5, window_size=10, min_calls=4, clock=clock
    )
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    backend.error = None
    call()
    backend.error = ConnectionError()
    fail(call)
    assert breaker.state == "closed"  # 2 of 3: a high rate, too few calls
    assert breaker.stats.failure_rate == pytest.approx(2 / 3)
    backend.error = None
    call()  # 2 of 4 = 50 %
    assert breaker.state == "open"


def test_failure_rate_window_slides(mode: str, clock: FakeClock, backend: Backend) -> None:
    """Only the last window_size calls count: old successes slide out, the rate climbs."""
    breaker = CircuitBreaker(
        fail_max=None, failure_rate_threshold=0.75, window_size=4, min_calls=4, clock=clock
    )
    call = guarded(breaker, backend, mode)
    for _ in range(4):
        call()
    backend.error = ConnectionError()
    fail(call, 2)
    assert breaker.state == "closed"  # window S S F F: 50 %
    fail(call)
    assert breaker.state == "open"  # window S F F F: 75 % (3 of 7 overall)


@pytest.mark.parametrize("factory", [CircuitBreaker, circuit_breaker])
def test_default_fail_max_is_off_with_a_rate_rule(
    mode: str, clock: FakeClock, backend: Backend, factory: Any
) -> None:
    """With a rate rule and no fail_max=, only the window decides, as in resilience4j."""
    rule = {"failure_rate_threshold": 0.5, "window_size": 10, "min_calls": 10}
    if factory is CircuitBreaker:
        breaker = CircuitBreaker(clock=clock, **rule)
    else:
        breaker = circuit_breaker(clock=clock, **rule)(backend).breaker
    assert breaker.config.fail_max is None
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call, 9)
    assert breaker.state == "closed"  # 9 consecutive failures, but fewer than min_calls
    fail(call)
    assert breaker.state == "open"  # 10 of 10


def test_default_fail_max_is_5_without_a_rate_rule(clock: FakeClock, backend: Backend) -> None:
    """Without a rate rule the default is pybreaker's 5; a slow-call rule turns it off too."""
    assert CircuitBreaker(slow_call_s=1.0, clock=clock).config.fail_max is None
    breaker = CircuitBreaker(clock=clock)
    assert breaker.config.fail_max == 5
    assert circuit_breaker(clock=clock)(backend).breaker.config.fail_max == 5
    backend.error = ConnectionError()
    fail(guarded(breaker, backend, "sync"), 4)
    assert breaker.state == "closed"
    fail(guarded(breaker, backend, "sync"))
    assert breaker.state == "open"


def test_explicit_fail_max_applies_next_to_a_rate_rule(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """An explicit fail_max= trips on its streak even before min_calls calls were seen."""
    breaker = CircuitBreaker(
        fail_max=5, failure_rate_threshold=0.5, window_size=10, min_calls=10, clock=clock
    )
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call, 4)
    assert breaker.state == "closed"
    fail(call)
    assert breaker.state == "open" and breaker.stats.calls == 5


def test_slow_call_rate_trips(mode: str, clock: FakeClock, backend: Backend) -> None:
    """Calls longer than slow_call_s count as slow; a slow rate >= the threshold trips."""
    breaker = CircuitBreaker(
        fail_max=None,
        slow_call_s=1.0,
        slow_call_rate_threshold=0.5,
        window_size=4,
        min_calls=4,
        clock=clock,
    )
    call = guarded(breaker, backend, mode)
    backend.duration_s = 1.0  # not longer than the threshold: not slow
    call()
    call()
    backend.duration_s = 1.5
    call()
    assert breaker.stats.slow_calls == 1 and breaker.state == "closed"
    call()  # 2 of 4 slow
    assert breaker.state == "open"
    assert breaker.stats.slow_call_rate == 0.5


def test_slow_failures_count_as_slow(clock: FakeClock, backend: Backend) -> None:
    """A failed call that was slow counts in both rates, as in resilience4j."""
    breaker = CircuitBreaker(fail_max=None, slow_call_s=1.0, window_size=2, clock=clock)
    call = guarded(breaker, backend, "sync")
    backend.duration_s, backend.error = 2.0, ConnectionError()
    fail(call, 2)
    stats = breaker.stats
    assert (stats.failures, stats.slow_calls, stats.state) == (2, 2, "open")


# ---- open and half-open ----------------------------------------------------------------


def test_half_open_after_reset_timeout_then_closes(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """After reset_timeout_s a probe goes through; success_threshold probes close it."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=10, success_threshold=2, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    clock.advance(9.5)
    with pytest.raises(CircuitOpenError) as info:
        call()
    assert info.value.retry_after == pytest.approx(0.5)
    clock.advance(0.5)
    backend.error = None
    assert call() == "ok"
    assert breaker.state == "half-open"
    assert call() == "ok"
    assert breaker.state == "closed"
    assert breaker.stats.consecutive_failures == 0


def test_failed_probe_reopens_for_a_full_timeout(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """A failed probe opens the breaker again, for another reset_timeout_s."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=10, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    clock.advance(10)
    fail(call)
    assert breaker.state == "open" and breaker.stats.trips == 2
    with pytest.raises(CircuitOpenError) as info:
        call()
    assert info.value.retry_after == 10.0


def test_slow_probe_reopens(mode: str, clock: FakeClock, backend: Backend) -> None:
    """With a slow-call rule, a probe that is slow counts as a failed probe."""
    breaker = CircuitBreaker(fail_max=1, slow_call_s=1.0, reset_timeout_s=10, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    clock.advance(10)
    backend.error, backend.duration_s = None, 3.0
    assert call() == "ok"
    assert breaker.state == "open"


def test_half_open_admits_at_most_half_open_max_calls_at_once(
    clock: FakeClock, backend: Backend
) -> None:
    """Real threads: two probes run at once, a third is rejected with retry_after 0."""
    breaker = CircuitBreaker(
        fail_max=1, reset_timeout_s=5, half_open_max_calls=2, success_threshold=2, clock=clock
    )
    backend.error = ConnectionError()
    fail(guarded(breaker, backend, "sync"))
    clock.advance(5)
    inside, release = threading.Barrier(3, timeout=10), threading.Event()

    @breaker
    def probe() -> str:
        inside.wait()
        assert release.wait(10)
        return "probed"

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(probe) for _ in range(2)]
        inside.wait()  # both probes are in the function now
        assert breaker.state == "half-open"
        with pytest.raises(CircuitOpenError) as info:
            breaker.call(backend)
        assert info.value.retry_after == 0.0
        release.set()
        assert [f.result(10) for f in futures] == ["probed", "probed"]
    assert breaker.state == "closed"


async def test_half_open_probe_limit_holds_for_tasks(clock: FakeClock) -> None:
    """The probe limit holds for coroutines too: one probe in flight, the next rejected."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=5, clock=clock)
    breaker.open()
    clock.advance(5)
    started, release = asyncio.Event(), asyncio.Event()

    @breaker
    async def probe() -> str:
        started.set()
        await release.wait()
        return "probed"

    task = asyncio.create_task(probe())
    await started.wait()
    with pytest.raises(CircuitOpenError):
        await probe()
    release.set()
    assert await task == "probed"
    assert breaker.state == "closed"


# ---- what counts -------------------------------------------------------------------------


def test_excluded_exceptions_count_as_neither(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """An excluded error neither breaks a failure streak nor counts as a failure."""
    breaker = CircuitBreaker(fail_max=2, exclude=KeyError, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    backend.error = KeyError("not found")
    with pytest.raises(KeyError):
        call()
    assert breaker.state == "closed" and breaker.fail_counter == 1
    backend.error = ConnectionError()
    fail(call)
    stats = breaker.stats
    assert (stats.state, stats.failures, stats.ignored, stats.successes) == ("open", 2, 1, 0)


def test_excluded_error_frees_the_probe_slot(mode: str, clock: FakeClock, backend: Backend) -> None:
    """A probe ending in an excluded error leaves the breaker half-open with its slot free."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=1, exclude=[KeyError], clock=clock)
    call = guarded(breaker, backend, mode)
    breaker.open()
    clock.advance(1)
    backend.error = KeyError()
    with pytest.raises(KeyError):
        call()
    assert breaker.state == "half-open"
    backend.error = None
    assert call() == "ok"
    assert breaker.state == "closed"


LOCAL_REJECTIONS = [BulkheadFull("pool", 1), CircuitOpenError("inner", 5.0)]


@pytest.mark.parametrize("rejection", LOCAL_REJECTIONS, ids=type)
def test_local_rejections_count_as_neither(
    mode: str, clock: FakeClock, backend: Backend, rejection: Exception
) -> None:
    """A full bulkhead or an inner breaker's rejection is no verdict on the dependency."""
    recorder = Recorder()
    breaker = CircuitBreaker(
        fail_max=2, failure_rate_threshold=0.5, window_size=2, min_calls=1,
        listeners=[recorder], clock=clock,
    )  # fmt: skip
    call = guarded(breaker, backend, mode)
    backend.error = rejection
    for _ in range(5):
        with pytest.raises(type(rejection)) as info:
            call()
        assert info.value is rejection  # passes through unchanged
    stats = breaker.stats
    assert (stats.state, stats.failures, stats.successes, stats.ignored) == ("closed", 0, 0, 5)
    assert stats.failure_rate == 0.0 and breaker.fail_counter == 0
    assert [event[0] for event in recorder.events] == ["before_call"] * 5


@pytest.mark.parametrize("rejection", LOCAL_REJECTIONS, ids=type)
def test_local_rejection_of_a_probe_frees_its_slot(
    mode: str, clock: FakeClock, backend: Backend, rejection: Exception
) -> None:
    """A probe that meets a full bulkhead neither reopens nor closes the breaker."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=1, clock=clock)
    call = guarded(breaker, backend, mode)
    breaker.open()
    clock.advance(1)
    backend.error = rejection
    with pytest.raises(type(rejection)):
        call()
    assert breaker.state == "half-open"
    backend.error = None
    assert call() == "ok"
    assert breaker.state == "closed"


def test_keyboard_interrupt_is_not_a_failure(clock: FakeClock, backend: Backend) -> None:
    """A BaseException that is not an Exception (KeyboardInterrupt) is never a failure."""
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    backend.error = KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        guarded(breaker, backend, "sync")()
    stats = breaker.stats
    assert (stats.state, stats.failures, stats.ignored) == ("closed", 0, 1)


@pytest.mark.parametrize("half_open", [False, True])
async def test_cancellation_is_not_a_failure(clock: FakeClock, half_open: bool) -> None:
    """A cancelled task is not a failure, and a cancelled probe frees its slot."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=1, clock=clock)
    if half_open:
        breaker.open()
        clock.advance(1)
    started = asyncio.Event()

    @breaker
    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(hang())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.stats.failures == 0 and breaker.stats.ignored == 1
    assert breaker.state == ("half-open" if half_open else "closed")

    @breaker
    async def ok() -> str:
        return "ok"

    assert await ok() == "ok"  # the slot is free again
    assert breaker.state == "closed"


def test_outcomes_from_an_earlier_phase_do_not_move_the_state(clock: FakeClock) -> None:
    """A call admitted before a transition is counted but cannot trip or close the breaker."""
    breaker = CircuitBreaker(fail_max=1, clock=clock)
    inside, release = threading.Event(), threading.Event()

    @breaker
    def slow_failure() -> None:
        inside.set()
        assert release.wait(10)
        raise ConnectionError

    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(slow_failure)
        assert inside.wait(10)
        breaker.open()
        breaker.close()  # a new closed phase
        release.set()
        with pytest.raises(ConnectionError):
            future.result(10)
    stats = breaker.stats
    assert (stats.state, stats.failures, stats.trips, stats.consecutive_failures) == (
        "closed",
        1,
        1,
        0,
    )


# ---- concurrency ---------------------------------------------------------------------------


def test_calls_are_not_serialized_across_threads(clock: FakeClock) -> None:
    """8 real threads are inside the guarded function at the same time."""
    breaker = CircuitBreaker(fail_max=3, slow_call_s=10, failure_rate_threshold=0.5, clock=clock)
    everyone_inside = threading.Barrier(8, timeout=10)

    @breaker
    def blocking_call(i: int) -> int:
        everyone_inside.wait()  # BrokenBarrierError if the breaker let fewer in at once
        return i

    with ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(blocking_call, range(8))) == list(range(8))
    assert breaker.stats.successes == 8


async def test_calls_are_not_serialized_across_tasks(clock: FakeClock) -> None:
    """8 tasks are inside the guarded coroutine at the same time."""
    breaker = CircuitBreaker(clock=clock)
    everyone_inside = asyncio.Barrier(8)

    @breaker
    async def blocking_call(i: int) -> int:
        async with asyncio.timeout(10):
            await everyone_inside.wait()
        return i

    assert await asyncio.gather(*(blocking_call(i) for i in range(8))) == list(range(8))


def test_counters_are_exact_under_threads(clock: FakeClock) -> None:
    """Counters lose no update when many threads finish calls at once."""
    breaker = CircuitBreaker(fail_max=None, failure_rate_threshold=1.0, clock=clock)

    @breaker
    def work(i: int) -> int:
        if i % 3 == 0:
            raise KeyError(i)  # a failure, but never 100 % of the window
        return i

    def run(start: int) -> None:
        for i in range(start, start + 600):
            with contextlib.suppress(KeyError):
                work(i)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(run, range(0, 4800, 600)))
    stats = breaker.stats
    assert (stats.calls, stats.failures, stats.successes) == (4800, 1600, 3200)


async def test_one_breaker_guards_sync_and_async_functions(clock: FakeClock) -> None:
    """Failures of a plain and a coroutine function count toward the same breaker."""
    breaker = CircuitBreaker(fail_max=2, clock=clock)

    @breaker
    def sync_fn() -> None:
        raise ConnectionError

    @breaker
    async def async_fn() -> None:
        raise ConnectionError

    with pytest.raises(ConnectionError):
        sync_fn()
    with pytest.raises(ConnectionError):
        await async_fn()
    with pytest.raises(CircuitOpenError):
        await async_fn()
    with pytest.raises(CircuitOpenError):
        sync_fn()


# ---- manual control, listeners, logging ------------------------------------------------------


def test_manual_open_and_close(mode: str, clock: FakeClock, backend: Backend) -> None:
    """open() rejects at once (for reset_timeout_s); close() admits again and resets counts."""
    breaker = CircuitBreaker(fail_max=2, reset_timeout_s=7, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    breaker.open()
    with pytest.raises(CircuitOpenError) as info:
        call()
    assert info.value.retry_after == 7.0
    breaker.close()
    assert breaker.state == "closed" and breaker.fail_counter == 0
    fail(call)
    assert breaker.state == "closed"  # the earlier failure was forgotten


def test_pybreaker_listeners_hear_every_event(
    mode: str, clock: FakeClock, backend: Backend
) -> None:
    """pybreaker listeners get before_call/success/failure/state_change with pybreaker names."""
    recorder = Recorder()
    breaker = CircuitBreaker(
        name="svc", fail_max=1, reset_timeout_s=1, exclude=KeyError, listeners=[recorder],
        clock=clock,
    )  # fmt: skip
    call = guarded(breaker, backend, mode)
    call("a")
    backend.error = KeyError()
    with pytest.raises(KeyError):
        call("b")
    backend.error = ConnectionError()
    fail(call)
    with pytest.raises(CircuitOpenError):
        call()
    clock.advance(1)
    backend.error = None
    call(value="c")
    assert recorder.events == [
        ("before_call", "svc", ("a",), {}),
        ("success", "svc"),
        ("before_call", "svc", ("b",), {}),
        ("before_call", "svc", (), {}),
        ("failure", "ConnectionError"),
        ("state_change", pybreaker.STATE_CLOSED, pybreaker.STATE_OPEN, "open"),
        ("state_change", pybreaker.STATE_OPEN, pybreaker.STATE_HALF_OPEN, "half-open"),
        ("before_call", "svc", (), {"value": "c"}),
        ("state_change", pybreaker.STATE_HALF_OPEN, pybreaker.STATE_CLOSED, "closed"),
        ("success", "svc"),
    ]


def test_listener_errors_are_logged_not_raised(
    clock: FakeClock, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken listener is logged and the guarded call still returns its result."""

    class Broken(pybreaker.CircuitBreakerListener):
        def success(self, cb: Any) -> None:
            raise RuntimeError("listener bug")

    breaker = CircuitBreaker(name="svc", clock=clock)
    breaker.add_listener(Broken())
    assert breaker(backend)() == "ok"
    assert "listener" in caplog.text and "listener bug" in caplog.text
    breaker.remove_listener(breaker.listeners[0])
    assert breaker.listeners == ()


def test_state_changes_are_logged(
    clock: FakeClock, backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    """Opening logs a warning with the reason; half-open and closing log at info."""
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    breaker = CircuitBreaker(name="svc", fail_max=2, reset_timeout_s=3, clock=clock)
    call = guarded(breaker, backend, "sync")
    backend.error = ConnectionError()
    fail(call, 2)
    clock.advance(3)
    backend.error = None
    call()
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert records == [
        (
            "resilience.breaker",
            "WARNING",
            "circuit 'svc' opened: 2 consecutive failures; rejecting calls for 3 s",
        ),
        (
            "resilience.breaker",
            "INFO",
            "circuit 'svc' half-open: 3 s elapsed; admitting up to 1 probe(s) at once",
        ),
        ("resilience.breaker", "INFO", "circuit 'svc' closed: 1 probe(s) succeeded"),
    ]


# ---- shared state through a pybreaker storage ------------------------------------------------


def test_breakers_sharing_a_storage_follow_each_others_trips(clock: FakeClock) -> None:
    """Two breakers on one CircuitMemoryStorage: a trip and a recovery in one reach the other."""
    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    first = CircuitBreaker(name="a", fail_max=1, reset_timeout_s=60, storage=storage, clock=clock)
    second = CircuitBreaker(name="b", fail_max=1, reset_timeout_s=60, storage=storage, clock=clock)
    backend = Backend(clock)
    backend.error = ConnectionError()
    fail(guarded(first, backend, "sync"))
    assert storage.state == "open" and storage.opened_at is not None
    with pytest.raises(CircuitOpenError) as info:
        second.call(backend)
    assert 59 < info.value.retry_after <= 60  # what is left of the shared open period
    clock.advance(60)
    backend.error = None
    first.call(backend)  # probe succeeds: closed, and published
    assert storage.state == "closed"
    assert second.call(backend) == "ok" and second.state == "closed"
    second.open()
    with pytest.raises(CircuitOpenError):
        first.call(backend)
    assert first.stats.trips == 2


def test_sync_interval_limits_reads_of_the_shared_state(clock: FakeClock) -> None:
    """With sync_interval_s the shared state is read at most that often."""
    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    breaker = CircuitBreaker(storage=storage, sync_interval_s=1.0, clock=clock)
    backend = Backend(clock)
    breaker.call(backend)
    storage.opened_at = datetime.now(UTC)  # another process trips
    storage.state = pybreaker.STATE_OPEN
    assert breaker.call(backend) == "ok"  # not read yet
    clock.advance(1)
    with pytest.raises(CircuitOpenError):
        breaker.call(backend)


def test_a_new_breaker_adopts_an_open_shared_state_without_a_trip(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Built while the shared state is open, it starts open: no trip, no listener, one info."""
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_OPEN)
    recorder = Recorder()
    breaker = CircuitBreaker(name="svc", storage=storage, listeners=[recorder], clock=clock)
    assert breaker.state == "open" and breaker.storage is storage
    assert recorder.events == [] and breaker.stats.trips == 0
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "adopted the shared state" in caplog.text
    # pybreaker semantics: an open state without a time has run out, a probe may go
    assert breaker.call(Backend(clock)) == "ok"
    assert breaker.state == "closed" and storage.state == "closed"


# ---- the property -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    reset_timeout_s=st.floats(min_value=1e-3, max_value=1e4),
    steps=st.lists(st.floats(min_value=0, max_value=2e3), min_size=1, max_size=12),
    mode=st.sampled_from(MODES),
)
def test_open_breaker_rejects_until_its_reset_timeout(
    reset_timeout_s: float, steps: list[float], mode: str
) -> None:
    """Property: an open breaker rejects every call until reset_timeout_s has elapsed."""
    clock = FakeClock(start=500.0)
    backend = Backend(clock)
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=reset_timeout_s, clock=clock)
    call = guarded(breaker, backend, mode)
    backend.error = ConnectionError()
    fail(call)
    opened_at, calls = clock.monotonic(), backend.calls
    backend.error = None
    for step in steps:
        clock.advance(step)
        if clock.monotonic() < opened_at + reset_timeout_s:
            with pytest.raises(CircuitOpenError) as info:
                call()
            assert backend.calls == calls
            assert 0 < info.value.retry_after <= reset_timeout_s
        else:
            assert call() == "ok" and backend.calls == calls + 1
            assert breaker.state == "closed"
            break


# ---- decorator, wrapper, snapshot --------------------------------------------------------------


def test_circuit_breaker_factory_gives_each_function_its_own_breaker(clock: FakeClock) -> None:
    """@circuit_breaker(...) makes one breaker per function, named after it."""
    make = circuit_breaker(fail_max=1, reset_timeout_s=30, clock=clock)

    @make
    def first() -> None:
        raise ConnectionError

    @make
    async def second() -> str:
        return "fine"

    with pytest.raises(ConnectionError):
        first()
    assert first.breaker.state == "open" and second.breaker.state == "closed"
    assert first.breaker.name.endswith("first")
    assert asyncio.run(second()) == "fine"
    assert first.breaker.config.reset_timeout_s == 30


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_circuit_breaker_factory_records_to_its_ledger(mode: str, clock: FakeClock) -> None:
    """@circuit_breaker(ledger=...) records each call, and a rejection as ``rejected``."""
    ledger = Ledger()
    backend = Backend(clock)
    wrapped = circuit_breaker(fail_max=1, clock=clock, ledger=ledger)(guarded_kind(backend, mode))
    assert wrapped.breaker.ledger is ledger

    def run() -> Any:
        return wrapped() if mode == "sync" else asyncio.run(wrapped())

    assert run() == "ok"
    backend.error = ConnectionError()
    fail(run)
    with pytest.raises(CircuitOpenError):
        run()
    assert [(r.kind, r.outcome) for r in ledger.records()] == [
        (kind, outcome) for outcome in ("ok", "error", "rejected") for kind in ("attempt", "call")
    ]


def guarded_kind(fn: Callable[[], str], mode: str) -> Callable[[], Any]:
    """``fn`` as a plain function (mode "sync") or as a coroutine function."""
    if mode == "sync":
        return lambda: fn()

    async def coroutine_fn() -> str:
        return fn()

    return coroutine_fn


def test_wrapper_keeps_the_signature_and_kind(clock: FakeClock) -> None:
    """The wrapper keeps name, docstring, signature, and is a coroutine function iff fn is."""
    breaker = CircuitBreaker(clock=clock)

    def plain(a: int, *, b: str = "x") -> str:
        """Plain doc."""
        return f"{a}{b}"

    async def coro(a: int) -> int:
        return a

    wrapped_plain, wrapped_coro = breaker(plain), breaker(coro)
    assert wrapped_plain.__name__ == "plain" and wrapped_plain.__doc__ == "Plain doc."
    assert inspect.signature(wrapped_plain) == inspect.signature(plain)
    assert not inspect.iscoroutinefunction(wrapped_plain)
    assert inspect.iscoroutinefunction(wrapped_coro)
    assert wrapped_plain.breaker is breaker and wrapped_plain(1, b="y") == "1y"


def test_stats_are_a_frozen_snapshot(clock: FakeClock, backend: Backend) -> None:
    """stats is a frozen copy: it does not change after later calls."""
    breaker = CircuitBreaker(clock=clock)
    before = breaker.stats
    breaker.call(backend)
    assert before.calls == 0 and breaker.stats.calls == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        before.calls = 5  # type: ignore[misc]
    assert repr(breaker) == f"CircuitBreaker(name={breaker.name!r}, state='closed')"


def test_outcome_window_keeps_running_totals() -> None:
    """The ring buffer evicts the oldest outcome and keeps its totals exact."""
    window = OutcomeWindow(3)
    for code in (FAILURE, SLOW, FAILURE | SLOW, 0, 0):
        window.add(code)
    assert (window.count, window.failures, window.slow) == (3, 1, 1)
    window.clear()
    assert (window.count, window.failures, window.slow) == (0, 0, 0)


def test_public_names_are_exported() -> None:
    """The breaker's public names are in resilience.__all__."""
    for name in ("CircuitBreaker", "circuit_breaker", "BreakerState", "BreakerStats"):
        assert name in resilience.__all__ and hasattr(resilience, name)


# ---- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fail_max": 0}, r"fail_max=0: must be an integer >= 1"),
        ({"fail_max": 2.5}, r"fail_max=2.5: must be an integer"),
        ({"reset_timeout_s": 0}, r"reset_timeout_s=0: must be a finite number > 0"),
        ({"reset_timeout_s": -1}, r"reset_timeout_s=-1"),
        ({"failure_rate_threshold": 0}, r"failure_rate_threshold=0: must be a rate in \(0, 1\]"),
        ({"failure_rate_threshold": 1.5}, r"failure_rate_threshold=1.5"),
        ({"slow_call_s": 0}, r"slow_call_s=0: must be a finite number > 0"),
        ({"slow_call_s": 1, "slow_call_rate_threshold": 2}, r"slow_call_rate_threshold=2"),
        ({"slow_call_rate_threshold": 0.5}, r"slow_call_rate_threshold=0.5: needs slow_call_s"),
        ({"failure_rate_threshold": 0.5, "window_size": 0}, r"window_size=0"),
        ({"window_size": 10}, r"window_size=10: only used by the rate rules"),
        (
            {"failure_rate_threshold": 0.5, "window_size": 10, "min_calls": 11},
            r"min_calls=11: must be <= window_size \(10\)",
        ),
        ({"failure_rate_threshold": 0.5, "min_calls": 101}, r"min_calls=101: .*\(100\)"),
        ({"fail_max": None}, r"fail_max=None: .*nothing would ever trip"),
        ({"half_open_max_calls": 0}, r"half_open_max_calls=0: must be an integer >= 1"),
        ({"success_threshold": -1}, r"success_threshold=-1"),
        ({"exclude": [KeyError, "oops"]}, r"'oops' is neither an exception class nor a predicate"),
        ({"exclude": int}, r"<class 'int'> is neither an exception class nor a predicate"),
        ({"exclude": "ValueError"}, r"exclude='ValueError': .*not their names"),
        ({"sync_interval_s": -1}, r"sync_interval_s=-1: must be a finite number >= 0"),
        ({"storage_retry_s": 0}, r"storage_retry_s=0"),
        ({"listeners": [object()]}, r"listeners: <object .*> lacks before_call, success"),
        ({"storage": object()}, r"storage=<object .*>: lacks state, opened_at"),
        ({"clock": object()}, r"clock=<object .*>: must have monotonic\(\)"),
        ({"name": ""}, r"name='': must be a non-empty string"),
        ({"ledger": []}, r"ledger=\[\]: must be a resilience.Ledger or None"),
    ],
)
def test_bad_options_fail_at_construction(options: dict[str, Any], message: str) -> None:
    """Each bad option raises InvalidUsage naming the option, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        CircuitBreaker(**options)
    with pytest.raises(InvalidUsage, match=message):
        circuit_breaker(**options)  # before any function is decorated


def test_removing_an_unknown_listener_is_refused(clock: FakeClock) -> None:
    """remove_listener of a listener never added raises InvalidUsage naming it."""
    known, unknown = Recorder(), Recorder()
    breaker = CircuitBreaker(name="svc", listeners=[known], clock=clock)
    with pytest.raises(InvalidUsage, match=r"listener=<.*Recorder.*>: is not registered .*'svc'"):
        breaker.remove_listener(unknown)
    breaker.remove_listener(known)
    assert breaker.listeners == ()


def test_misuse_of_call_and_async_generators_is_refused(clock: FakeClock) -> None:
    """call() refuses a coroutine function; async generators and ledgered generators too."""
    breaker = CircuitBreaker(clock=clock)

    async def coro() -> None:
        return None

    async def agen() -> Any:
        yield 1

    def gen() -> Any:
        yield 1

    with pytest.raises(InvalidUsage, match=r"use await breaker\.call_async"):
        breaker.call(coro)
    with pytest.raises(InvalidUsage, match="async generator function"):
        breaker(agen)
    with pytest.raises(InvalidUsage, match="not of generators"):
        CircuitBreaker(clock=clock, ledger=Ledger())(gen)
    with pytest.raises(InvalidUsage, match="guards callables"):
        breaker(42)  # type: ignore[arg-type]
    assert breaker.stats.calls == 0


def test_generators_count_when_exhausted_or_failed_as_in_pybreaker(clock: FakeClock) -> None:
    """After pybreaker's test_generator: a failure while iterating counts, exhaustion succeeds."""
    breaker = CircuitBreaker(clock=clock)

    @breaker
    def ok(value: Any) -> Any:
        """Docstring."""
        yield value

    @breaker
    def err(value: Any) -> Any:
        sent = yield value
        raise NotImplementedError(sent)

    good, bad = ok(True), err(True)
    assert breaker.stats.calls == 0  # nothing is admitted before the first next()
    next(bad)
    with pytest.raises(NotImplementedError):
        bad.send(True)
    assert breaker.fail_counter == 1
    assert next(good) is True
    with pytest.raises(StopIteration):
        next(good)
    assert breaker.fail_counter == 0 and ok.__doc__ == "Docstring."
    assert inspect.isgeneratorfunction(ok)


def test_a_contextmanager_stacked_over_a_breaker_works(clock: FakeClock) -> None:
    """After pybreaker's test_contextmanager: @contextmanager over a guarded generator."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=10, clock=clock)

    @contextlib.contextmanager
    @breaker
    def session() -> Any:
        try:
            yield "conn"
        except NotImplementedError:
            raise ValueError("translated") from None

    with session() as conn:
        assert conn == "conn"
    assert breaker.stats.successes == 1
    with pytest.raises(ValueError, match="translated"), session():
        raise NotImplementedError
    assert breaker.state == "open"
    with pytest.raises(CircuitOpenError), session():
        pass


def test_a_generator_closed_early_or_never_started_is_no_verdict(clock: FakeClock) -> None:
    """close() before the end frees a half-open probe slot; an unstarted one holds none."""
    breaker = CircuitBreaker(fail_max=1, reset_timeout_s=1, clock=clock)

    @breaker
    def items() -> Any:
        yield from range(3)

    breaker.open()
    clock.advance(1)
    unstarted = items()
    first = items()
    assert next(first) == 0  # the one probe slot (half_open_max_calls=1)
    first.close()
    assert breaker.state == "half-open" and breaker.stats.ignored == 1
    assert list(items()) == [0, 1, 2]  # the slot was free again: the probe closes it
    assert breaker.state == "closed"
    del unstarted


def test_listener_arguments_never_clash_with_the_functions_keywords(clock: FakeClock) -> None:
    """A guarded function may take keywords named like the breaker's own parameters."""
    recorder = Recorder()
    breaker = CircuitBreaker(listeners=[recorder], clock=clock)

    @breaker
    def handle(event: str, fn: str, cb: str = "") -> str:
        return event + fn

    assert handle(event="e", fn="f") == "ef"
    assert recorder.events[0][3] == {"event": "e", "fn": "f"}


def test_manual_close_reaches_the_storage_even_without_a_local_change(clock: FakeClock) -> None:
    """close() on a locally closed breaker still writes 'closed' to the shared storage."""
    storage = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
    breaker = CircuitBreaker(storage=storage, sync_interval_s=60, clock=clock)
    storage.opened_at = datetime.now(UTC)
    storage.state = pybreaker.STATE_OPEN  # another process tripped; not read yet
    breaker.close()
    assert storage.state == pybreaker.STATE_CLOSED and breaker.state == "closed"


class FlakyStorage(pybreaker.CircuitBreakerStorage):
    """A pybreaker storage kept in memory that raises while ``broken`` (a custom storage)."""

    def __init__(self) -> None:
        super().__init__("flaky")
        self.broken = False
        self._state, self._opened_at = pybreaker.STATE_CLOSED, None
        self.reads = 0

    def _check(self) -> None:
        if self.broken:
            raise ConnectionError("storage down")

    @property
    def state(self) -> str:
        self.reads += 1  # attempts, failed or not
        self._check()
        return self._state

    @state.setter
    def state(self, state: str) -> None:
        self._check()
        self._state = state

    @property
    def opened_at(self) -> Any:
        self._check()
        return self._opened_at

    @opened_at.setter
    def opened_at(self, value: Any) -> None:
        self._check()
        self._opened_at = value

    def reset_counter(self) -> None:
        self._check()

    def reset_success_counter(self) -> None:
        self._check()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_storage_outage_local_changes_are_published_on_reconnect(
    mode: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """While the storage raises, the breaker trips and recovers locally; then it republishes."""
    caplog.set_level(logging.INFO, logger="resilience.breaker")
    storage = FlakyStorage()
    breaker = CircuitBreaker(
        fail_max=1, reset_timeout_s=10, storage=storage, storage_retry_s=5, clock=clock
    )
    backend = Backend(clock)
    call = guarded(breaker, backend, mode)
    storage.broken = True
    backend.error = ConnectionError()
    fail(call)
    assert breaker.state == "open"
    clock.advance(10)
    backend.error = None
    assert call() == "ok" and breaker.state == "closed"
    reads = storage.reads
    assert call() == "ok"  # within storage_retry_s: the storage is left alone
    assert storage.reads == reads
    storage._state, storage._opened_at = pybreaker.STATE_OPEN, datetime.now(UTC)  # stale
    storage.broken = False
    clock.advance(5)
    assert call() == "ok"
    assert storage.state == "closed" and breaker.state == "closed"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("failed (ConnectionError: storage down)" in m for m in messages) == 1
    assert sum("answers again" in m for m in messages) == 1


def test_fail_counter_counts_a_failed_probe_as_pybreaker_does(clock: FakeClock) -> None:
    """fail_counter after trips and failed probes equals pybreaker's for the same calls.

    After pybreaker's test_failed_call_after_timeout (3 failures, then a failed probe: 4)
    and test_failed_call_when_halfopen; pybreaker runs with reset_timeout=0 so that its
    probe is due at once, ours on the FakeClock.
    """
    ours = CircuitBreaker(fail_max=2, reset_timeout_s=10, clock=clock)
    theirs = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=0)
    backend = Backend(clock)
    backend.error = ConnectionError()
    seen = []
    for _ in range(4):  # two failures trip it, then two failed probes
        with contextlib.suppress(ConnectionError, CircuitOpenError):
            ours.call(backend)
        with contextlib.suppress(ConnectionError, pybreaker.CircuitBreakerError):
            theirs.call(backend)
        seen.append((ours.fail_counter, theirs.fail_counter))
        clock.advance(10)
    assert seen == [(1, 1), (2, 2), (3, 3), (4, 4)]
    backend.error = None
    ours.call(backend)
    theirs.call(backend)
    assert (ours.fail_counter, theirs.fail_counter) == (0, 0)


def test_exclude_takes_predicates_as_pybreaker_does(clock: FakeClock) -> None:
    """As pybreaker (is_system_error): a class or a predicate returning True excludes."""
    breaker = CircuitBreaker(
        fail_max=2,
        exclude=[KeyError, lambda e: isinstance(e, OSError) and e.errno == 404],
        clock=clock,
    )
    peer = pybreaker.CircuitBreaker(
        fail_max=2, exclude=[KeyError, lambda e: isinstance(e, OSError) and e.errno == 404]
    )
    for error in (KeyError("k"), OSError(404, "not found"), OSError(404, "again")):
        for guard in (breaker, peer):
            with pytest.raises(type(error)):
                guard.call(_raiser(error))
    assert (breaker.state, breaker.fail_counter) == ("closed", 0)
    assert (peer.current_state, peer.fail_counter) == ("closed", 0)
    assert breaker.stats.ignored == 3
    with pytest.raises(OSError):
        breaker.call(_raiser(OSError(500, "server")))
    assert breaker.fail_counter == 1


def test_an_exclude_predicate_that_raises_is_logged_and_the_error_counts(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken predicate never hides the call's own error; the error counts as a failure."""

    def broken(exc: BaseException) -> bool:
        raise RuntimeError("bug in predicate")

    breaker = CircuitBreaker(name="svc", fail_max=1, exclude=broken, clock=clock)
    with pytest.raises(ConnectionError):
        breaker.call(_raiser(ConnectionError("down")))
    assert breaker.state == "open"
    assert "exclude predicate" in caplog.text and "bug in predicate" in caplog.text


def _raiser(error: BaseException) -> Callable[[], Any]:
    def raise_it() -> Any:
        raise error

    return raise_it
