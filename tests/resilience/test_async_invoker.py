"""AsyncInvoker (threads) and AsyncioInvoker (tasks): retries, ages, destinations, close."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import resilience
from resilience import (
    SYSTEM_CLOCK,
    AsyncInvoker,
    AsyncioInvoker,
    Event,
    FailureReason,
    InvalidUsage,
    InvokerClosed,
)
from resilience.testing import FakeClock

FLAVOURS = ["thread", "asyncio"]


@dataclass
class Outcome:
    """What came out of one run: the invoker, the ids and both destinations."""

    invoker: AsyncInvoker | AsyncioInvoker
    ids: list[str]
    succeeded: dict[str, tuple[Event, Any]] = field(default_factory=dict)
    failed: dict[str, tuple[Event, FailureReason]] = field(default_factory=dict)
    deliveries: list[tuple[str, str]] = field(default_factory=list)

    def check_exactly_one_destination(self) -> None:
        """Every id reached one destination, once; nothing else arrived."""
        assert len(set(self.ids)) == len(self.ids)
        per_id = Counter(event_id for event_id, _ in self.deliveries)
        repeated = {event_id: n for event_id, n in per_id.items() if n != 1}
        assert not repeated, f"delivered more than once: {repeated}"
        assert set(per_id) == set(self.ids)
        assert set(self.succeeded).isdisjoint(self.failed)


class _ErrorRecords(logging.Handler):
    """Keeps the ERROR records of a logger (the invoker logs callbacks that raise there)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def as_coroutine_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The same behaviour as ``fn``, as a coroutine function of the same name."""

    async def run(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    run.__qualname__ = getattr(fn, "__qualname__", type(fn).__qualname__)
    return run


def drive(
    flavour: str,
    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]],
    *,
    close_without_drain: bool = False,
    after_failure: Callable[[FailureReason], object] | None = None,
    **options: Any,
) -> Outcome:
    """Submit ``calls`` to a fresh invoker of ``flavour``, drain (or not), close."""
    lock = threading.Lock()
    outcome: Outcome

    def on_success(event: Event, result: Any) -> None:
        with lock:
            outcome.succeeded[event.id] = (event, result)
            outcome.deliveries.append((event.id, "success"))

    def on_failure(event: Event, reason: FailureReason) -> None:
        with lock:
            outcome.failed[event.id] = (event, reason)
            outcome.deliveries.append((event.id, "failure"))
        if after_failure is not None:
            after_failure(reason)

    def run_thread() -> Outcome:
        nonlocal outcome
        invoker = AsyncInvoker(on_success=on_success, on_failure=on_failure, **options)
        outcome = Outcome(invoker, [])
        outcome.ids = [invoker.submit(fn, *args) for fn, args in calls]
        if not close_without_drain:
            assert invoker.drain(timeout_s=60)
        invoker.close()
        return outcome

    async def run_asyncio() -> Outcome:
        nonlocal outcome
        invoker = AsyncioInvoker(on_success=on_success, on_failure=on_failure, **options)
        outcome = Outcome(invoker, [])
        wrapped = {id(fn): as_coroutine_function(fn) for fn, _ in calls}
        outcome.ids = [invoker.submit(wrapped[id(fn)], *args) for fn, args in calls]
        if not close_without_drain:
            await asyncio.wait_for(invoker.drain(), 60)
        await invoker.close()
        return outcome

    errors = _ErrorRecords()
    invoke_logger = logging.getLogger("resilience.async_invoker")
    invoke_logger.addHandler(errors)
    try:
        result = run_thread() if flavour == "thread" else asyncio.run(run_asyncio())
    finally:
        invoke_logger.removeHandler(errors)
    # The invoker logs (and swallows) what a callback raises: any such record is a failure.
    assert not errors.records, [r.getMessage() for r in errors.records]
    return result


class Flaky:
    """Event i fails on attempt k when plan[i][k] is True (then succeeds past the plan)."""

    def __init__(self, plan: list[list[bool]]) -> None:
        self.plan = plan
        self.calls = [0] * len(plan)

    def __call__(self, i: int) -> int:
        k = self.calls[i]
        self.calls[i] += 1
        if k < len(self.plan[i]) and self.plan[i][k]:
            raise ValueError(i, k)
        return i


def seeded_plan(n: int, *, failure_rate: float, attempts: int, seed: int) -> list[list[bool]]:
    """For each event, whether each attempt fails (independent, seeded)."""
    rng = random.Random(seed)
    return [[rng.random() < failure_rate for _ in range(attempts)] for _ in range(n)]


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("max_event_age_s", [21_600.0, 100.0], ids=["age-6h", "age-100s"])
def test_10k_events_with_20pct_failures_reach_exactly_one_destination(
    flavour: str, max_event_age_s: float, clock: FakeClock
) -> None:
    """10,000 events, 20% failing attempts: one destination each, retries and expiries exact."""
    n = 10_000
    plan = seeded_plan(n, failure_rate=0.2, attempts=3, seed=20240601)
    flaky = Flaky(plan)
    out = drive(
        flavour,
        [(flaky, (i,)) for i in range(n)],
        workers=8,
        clock=clock,
        max_event_age_s=max_event_age_s,
    )
    out.check_exactly_one_destination()

    expected_retries = 0
    for i, event_id in enumerate(out.ids):
        first_ok = next((k for k, fails in enumerate(plan[i]) if not fails), None)
        if max_event_age_s == 100.0 and (first_ok is None or first_ok >= 2):
            # Retry 2 comes due 60 + 120 s after submit: older than 100 s.
            event, reason = out.failed[event_id]
            assert reason.kind == "expired" and event.attempts == 2
            assert isinstance(reason.exception, ValueError)
            assert reason.exception.args == (i, 1)
            assert event.age_s == pytest.approx(180.0)
        elif first_ok is None:
            event, reason = out.failed[event_id]
            assert reason.kind == "error" and event.attempts == 3
            assert isinstance(reason.exception, ValueError)
            assert reason.exception.args == (i, 2)
        else:
            event, result = out.succeeded[event_id]
            assert result == i and event.attempts == first_ok + 1
        assert flaky.calls[i] == event.attempts
        expected_retries += event.attempts - 1

    stats = out.invoker.statistics
    assert stats.accepted == n and stats.pending == 0 and stats.rejected == 0
    assert stats.retried == expected_retries
    assert stats.succeeded == len(out.succeeded)
    assert stats.failed + stats.expired == len(out.failed)
    if max_event_age_s == 100.0:
        assert stats.failed == 0 and stats.expired > 0
    else:
        assert stats.expired == 0 and stats.failed > 0


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_10k_events_closed_without_drain_lose_nothing(flavour: str, clock: FakeClock) -> None:
    """close() right after 10,000 submits: each event finished or handed over as shutdown."""
    n = 10_000
    plan = seeded_plan(n, failure_rate=0.2, attempts=3, seed=7)
    flaky = Flaky(plan)
    calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [(flaky, (i,)) for i in range(n)]
    held = threading.Event()
    if flavour == "thread":
        # One event holds a worker until close() starts handing events over, so the
        # invoker is never idle and the failed events' retries are still pending.
        calls.insert(0, (held.wait, (10,)))
    out = drive(
        flavour,
        calls,
        close_without_drain=True,
        after_failure=lambda reason: held.set(),
        workers=4,
        clock=clock,
    )
    out.check_exactly_one_destination()
    stats = out.invoker.statistics
    kinds = [reason.kind for _, reason in out.failed.values()]
    assert stats.pending == 0
    assert stats.shutdown == kinds.count("shutdown") > 0
    assert stats.succeeded + stats.failed + stats.expired + stats.shutdown == len(calls)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_retry_delays_are_waited_on_the_clock(flavour: str, clock: FakeClock) -> None:
    """Attempts happen at the scheduled delays; the last delay repeats."""
    seen: list[float] = []

    def always_fails() -> None:
        seen.append(clock.monotonic())
        raise OSError("down")

    out = drive(
        flavour,
        [(always_fails, ())],
        clock=clock,
        max_retries=4,
        retry_delays_s=(1, 2, 5),
    )
    assert [t - 1000.0 for t in seen] == [0, 1, 3, 8, 13]
    event, reason = next(iter(out.failed.values()))
    assert (reason.kind, event.attempts, event.age_s) == ("error", 5, 13.0)
    assert out.invoker.statistics.retried == 4


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_default_schedule_is_one_then_two_minutes(flavour: str, clock: FakeClock) -> None:
    """By default: 2 retries, 60 s then 120 s after the failures, like the platforms."""
    seen: list[float] = []

    def always_fails() -> None:
        seen.append(clock.monotonic() - 1000.0)
        raise OSError("down")

    drive(flavour, [(always_fails, ())], clock=clock)
    assert seen == [0.0, 60.0, 180.0]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_zero_retries_fail_at_once(flavour: str, clock: FakeClock) -> None:
    """max_retries=0: one attempt, then on_failure with the error."""
    err = KeyError("k")

    def fails() -> None:
        raise err

    out = drive(flavour, [(fails, ())], clock=clock, max_retries=0, retry_delays_s=())
    event, reason = next(iter(out.failed.values()))
    assert reason == FailureReason("error", err) and event.attempts == 1


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_system_clock_with_zero_delays_retries_at_once(flavour: str) -> None:
    """On the real clock a zero delay retries without waiting (no real sleep)."""
    plan = [[True, True, False]]
    out = drive(flavour, [(Flaky(plan), (0,))], clock=SYSTEM_CLOCK, retry_delays_s=(0,))
    event, result = next(iter(out.succeeded.values()))
    assert (result, event.attempts) == (0, 3)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_context_of_the_submitter_reaches_the_function(flavour: str, clock: FakeClock) -> None:
    """Each event runs in a copy of the context it was submitted from."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
    request_id.set("req-42")
    out = drive(flavour, [(request_id.get, ())], clock=clock)
    assert [result for _, result in out.succeeded.values()] == ["req-42"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    plan=st.lists(st.lists(st.booleans(), max_size=4), min_size=1, max_size=30),
    max_retries=st.integers(0, 3),
    max_event_age_s=st.sampled_from([0.5, 2.5, 100.0]),
)
def test_property_every_event_has_one_destination_and_counters_add_up(
    plan: list[list[bool]], max_retries: int, max_event_age_s: float
) -> None:
    """For any failure pattern and policy: one destination per event, consistent counters."""
    flaky = Flaky(plan)
    out = drive(
        "thread",
        [(flaky, (i,)) for i in range(len(plan))],
        clock=FakeClock(),
        workers=3,
        max_retries=max_retries,
        retry_delays_s=(1.0, 2.0),
        max_event_age_s=max_event_age_s,
    )
    out.check_exactly_one_destination()
    stats = out.invoker.statistics
    assert stats.accepted == len(plan) and stats.pending == 0
    assert stats.succeeded + stats.failed + stats.expired == len(plan)
    for event, _ in [*out.succeeded.values(), *out.failed.values()]:
        assert 1 <= event.attempts <= max_retries + 1


def test_close_hands_queued_and_delayed_events_to_shutdown(clock: FakeClock) -> None:
    """Threads: close() during work hands queued/delayed events over; the running one finishes."""
    hold, gate, started, handed_over = (threading.Event() for _ in range(4))
    failures: dict[str, FailureReason] = {}
    successes: list[object] = []

    def on_failure(event: Event, reason: FailureReason) -> None:
        failures[event.function.rsplit(".", 1)[-1]] = reason
        if len(failures) == 2:
            handed_over.set()

    def fails_once() -> None:
        raise ConnectionError("first attempt")

    def blocks_then_fails() -> None:
        started.set()
        gate.wait(10)
        raise TimeoutError("while closing")

    def queued() -> str:
        return "never runs"

    invoker = AsyncInvoker(
        workers=1, clock=clock, on_success=lambda e, r: successes.append(r), on_failure=on_failure
    )
    invoker.submit(hold.wait, 10)  # keeps the worker until all three are queued
    invoker.submit(fails_once)  # fails, then waits 60 s (on the clock) for its retry
    invoker.submit(blocks_then_fails)
    invoker.submit(queued)
    hold.set()
    assert started.wait(10)
    closer = threading.Thread(target=invoker.close)
    closer.start()
    assert handed_over.wait(10)  # queued and delayed are handed over while one still runs
    assert set(failures) == {"fails_once", "queued"}
    gate.set()
    closer.join(10)
    assert not closer.is_alive()
    assert failures["queued"] == FailureReason("shutdown", None)
    assert failures["fails_once"].kind == "shutdown"
    assert isinstance(failures["fails_once"].exception, ConnectionError)
    assert failures["blocks_then_fails"].kind == "shutdown"  # it had a retry left
    assert isinstance(failures["blocks_then_fails"].exception, TimeoutError)
    assert successes == [True]
    stats = invoker.statistics
    assert (stats.accepted, stats.succeeded, stats.shutdown, stats.pending) == (4, 1, 3, 0)


async def test_asyncio_close_hands_queued_and_delayed_events_to_shutdown(
    clock: FakeClock,
) -> None:
    """Tasks: close() during work hands queued/delayed events over; the running one finishes."""
    gate = asyncio.Event()
    started = asyncio.Event()
    failures: dict[str, FailureReason] = {}
    successes: list[str] = []

    async def fails_once() -> None:
        raise ConnectionError("first attempt")

    async def blocks_then_succeeds() -> str:
        started.set()
        await gate.wait()
        return "done"

    async def queued() -> None:
        return None

    invoker = AsyncioInvoker(
        workers=1,
        clock=clock,
        on_success=lambda e, r: successes.append(r),
        on_failure=lambda e, r: failures.__setitem__(e.function.rsplit(".", 1)[-1], r),
    )
    invoker.submit(fails_once)
    invoker.submit(blocks_then_succeeds)
    invoker.submit(queued)
    await asyncio.wait_for(started.wait(), 10)
    closing = asyncio.create_task(invoker.close())
    while len(failures) < 2:
        await asyncio.sleep(0)
    assert not closing.done()
    gate.set()
    await asyncio.wait_for(closing, 10)
    assert successes == ["done"]
    assert failures["queued"] == FailureReason("shutdown", None)
    assert failures["fails_once"].kind == "shutdown"
    assert isinstance(failures["fails_once"].exception, ConnectionError)
    stats = invoker.statistics
    assert (stats.succeeded, stats.shutdown, stats.pending) == (1, 2, 0)


async def test_asyncio_cancelled_error_from_the_function_is_its_failure(clock: FakeClock) -> None:
    """Tasks: a function raising CancelledError fails its event (not retried); workers live on."""
    failures: list[tuple[str, FailureReason]] = []
    successes: list[int] = []
    runs: list[str] = []

    async def raises_cancelled() -> None:
        runs.append("raises_cancelled")
        raise asyncio.CancelledError

    async def awaits_a_cancelled_task() -> None:
        runs.append("awaits_a_cancelled_task")
        other = asyncio.ensure_future(asyncio.Event().wait())
        await asyncio.sleep(0)
        other.cancel()
        await other

    async def fine() -> int:
        return 7

    invoker = AsyncioInvoker(
        workers=1,
        clock=clock,
        on_success=lambda e, r: successes.append(r),
        on_failure=lambda e, r: failures.append((e.function.rsplit(".", 1)[-1], r)),
    )
    invoker.submit(raises_cancelled)
    invoker.submit(awaits_a_cancelled_task)
    invoker.submit(fine)
    await asyncio.wait_for(invoker.drain(), 10)
    await asyncio.wait_for(invoker.close(), 10)
    assert successes == [7]
    assert [(name, reason.kind) for name, reason in failures] == [
        ("raises_cancelled", "error"),
        ("awaits_a_cancelled_task", "error"),
    ]
    assert all(isinstance(r.exception, asyncio.CancelledError) for _, r in failures)
    assert runs == ["raises_cancelled", "awaits_a_cancelled_task"]  # never retried
    stats = invoker.statistics
    assert (stats.succeeded, stats.failed, stats.retried, stats.pending) == (1, 2, 0, 0)


async def test_asyncio_cancelling_a_worker_still_shuts_its_event_down(clock: FakeClock) -> None:
    """Tasks: when the worker task itself is cancelled, its event goes to shutdown and it stops."""
    started = asyncio.Event()
    failures: list[FailureReason] = []

    async def blocks() -> None:
        started.set()
        await asyncio.Event().wait()

    invoker = AsyncioInvoker(workers=1, clock=clock, on_failure=lambda e, r: failures.append(r))
    invoker.submit(blocks)
    await asyncio.wait_for(started.wait(), 10)
    worker = invoker._tasks[0]
    worker.cancel()
    with pytest.raises(asyncio.CancelledError):
        await worker
    assert [r.kind for r in failures] == ["shutdown"]
    assert invoker.statistics.pending == 0
    for task in invoker._tasks[1:]:  # the scheduler: stop it, close() would see the cancel
        task.cancel()
    await asyncio.gather(*invoker._tasks, return_exceptions=True)


def test_submit_after_close_raises(clock: FakeClock) -> None:
    """Threads: submit() after close() raises InvokerClosed; close() twice is harmless."""
    invoker = AsyncInvoker(clock=clock)
    invoker.close()
    invoker.close()
    with pytest.raises(InvokerClosed, match="after close"):
        invoker.submit(print)
    assert isinstance(InvokerClosed("x"), RuntimeError)


async def test_asyncio_submit_after_close_raises(clock: FakeClock) -> None:
    """Tasks: submit() after close() raises InvokerClosed."""

    async def noop() -> None:
        return None

    invoker = AsyncioInvoker(clock=clock)
    invoker.submit(noop)
    await invoker.close()
    with pytest.raises(InvokerClosed):
        invoker.submit(noop)
    assert invoker.statistics.pending == 0


def test_full_queue_rejects_to_on_failure(clock: FakeClock) -> None:
    """Threads: past max_queue, submit still returns an id and the event is rejected."""
    gate = threading.Event()
    failures: list[tuple[Event, FailureReason]] = []
    invoker = AsyncInvoker(
        workers=1, max_queue=2, clock=clock, on_failure=lambda e, r: failures.append((e, r))
    )
    invoker.submit(gate.wait, 10)
    invoker.submit(int)
    rejected_id = invoker.submit(int, "3")
    assert [(e.id, e.attempts, e.args, r) for e, r in failures] == [
        (rejected_id, 0, ("3",), FailureReason("rejected"))
    ]
    gate.set()
    assert invoker.drain(timeout_s=10)
    invoker.close()
    stats = invoker.statistics
    assert (stats.accepted, stats.rejected, stats.succeeded) == (2, 1, 2)


async def test_asyncio_full_queue_rejects_to_async_on_failure(clock: FakeClock) -> None:
    """Tasks: a rejected event reaches an async on_failure; drain() waits for it."""
    gate = asyncio.Event()
    failures: list[FailureReason] = []

    async def on_failure(event: Event, reason: FailureReason) -> None:
        await asyncio.sleep(0)
        failures.append(reason)

    async def wait_gate() -> None:
        await gate.wait()

    async with AsyncioInvoker(
        workers=1, max_queue=1, clock=clock, on_failure=on_failure
    ) as invoker:
        invoker.submit(wait_gate)
        invoker.submit(wait_gate)
        gate.set()
    assert failures == [FailureReason("rejected")]
    assert invoker.closed and invoker.statistics.rejected == 1


def test_event_too_old_when_due_is_expired_not_run(clock: FakeClock) -> None:
    """Threads: an event that waited longer than max_event_age_s is expired, never run."""
    gate, started = threading.Event(), threading.Event()
    ran: list[int] = []
    failures: list[tuple[Event, FailureReason]] = []

    def busy() -> None:
        started.set()
        gate.wait(10)

    invoker = AsyncInvoker(
        workers=1, max_event_age_s=100, clock=clock, on_failure=lambda e, r: failures.append((e, r))
    )
    invoker.submit(busy)
    invoker.submit(ran.append, 1)
    assert started.wait(10)
    clock.advance(101)
    gate.set()
    assert invoker.drain(timeout_s=10)
    invoker.close()
    assert ran == []
    [(event, reason)] = failures
    assert reason == FailureReason("expired", None) and event.attempts == 0
    assert event.age_s == pytest.approx(101)
    assert invoker.statistics.expired == 1 and invoker.statistics.succeeded == 1


async def test_asyncio_event_too_old_when_due_is_expired(clock: FakeClock) -> None:
    """Tasks: an event that waited longer than max_event_age_s is expired, never run."""
    gate, started = asyncio.Event(), asyncio.Event()
    ran: list[int] = []
    kinds: list[str] = []

    async def wait_gate() -> None:
        started.set()
        await gate.wait()

    async def record() -> None:
        ran.append(1)

    async with AsyncioInvoker(
        workers=1,
        max_event_age_s=100,
        clock=clock,
        on_failure=lambda e, r: kinds.append(r.kind),
    ) as invoker:
        invoker.submit(wait_gate)
        invoker.submit(record)
        await started.wait()
        clock.advance(101)
        gate.set()
    assert (ran, kinds) == ([], ["expired"])


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_raising_callbacks_are_logged_and_workers_survive(
    flavour: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A destination that raises is logged; later events are still delivered."""
    delivered: list[int] = []

    def on_success(event: Event, result: int) -> None:
        if result == 0:
            raise RuntimeError("destination down")
        delivered.append(result)

    def on_failure(event: Event, reason: FailureReason) -> None:
        raise RuntimeError("dead letter queue down")

    def fails() -> None:
        raise ValueError("x")

    def value(i: int) -> int:
        return i

    if flavour == "thread":
        invoker: Any = AsyncInvoker(
            workers=1, clock=clock, on_success=on_success, on_failure=on_failure, max_retries=0
        )
        with caplog.at_level(logging.ERROR, logger="resilience.async_invoker"), invoker:
            for fn, args in [(value, (0,)), (fails, ()), (value, (1,)), (value, (2,))]:
                invoker.submit(fn, *args)
    else:

        async def main() -> Any:
            async with AsyncioInvoker(
                workers=1, clock=clock, on_success=on_success, on_failure=on_failure, max_retries=0
            ) as invoker:
                for fn, args in [(value, (0,)), (fails, ()), (value, (1,)), (value, (2,))]:
                    invoker.submit(as_coroutine_function(fn), *args)
            return invoker

        with caplog.at_level(logging.ERROR, logger="resilience.async_invoker"):
            invoker = asyncio.run(main())
    assert sorted(delivered) == [1, 2]
    messages = [r.getMessage() for r in caplog.records if r.name == "resilience.async_invoker"]
    assert any("on_success callback raised" in m for m in messages)
    assert any("on_failure callback raised" in m for m in messages)
    assert invoker.statistics.succeeded == 3 and invoker.statistics.failed == 1


def test_failure_without_destination_is_logged(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """With no on_failure, a failed event is logged as a warning rather than dropped silently."""

    def fails() -> None:
        raise ValueError("lost?")

    with (
        caplog.at_level(logging.WARNING, logger="resilience.async_invoker"),
        AsyncInvoker(clock=clock, max_retries=0) as invoker,
    ):
        invoker.submit(fails)
    assert any("reason 'error'" in r.getMessage() for r in caplog.records)


def test_drain_with_timeout_reports_pending_work(clock: FakeClock) -> None:
    """drain(timeout_s=0) returns False while an event is still running."""
    gate = threading.Event()
    invoker = AsyncInvoker(clock=clock)
    invoker.submit(gate.wait, 10)
    assert invoker.drain(timeout_s=0) is False
    gate.set()
    assert invoker.drain(timeout_s=10) is True
    invoker.close()


async def test_asyncio_drain_with_timeout_reports_pending_work(clock: FakeClock) -> None:
    """Tasks: drain(timeout_s=0) returns False while an event runs, True once it is done."""
    gate = asyncio.Event()

    async def waits() -> None:
        await gate.wait()

    invoker = AsyncioInvoker(clock=clock)
    invoker.submit(waits)
    assert await invoker.drain(timeout_s=0) is False
    gate.set()
    assert await invoker.drain(timeout_s=10) is True
    assert await invoker.drain() is True
    with pytest.raises(InvalidUsage, match="timeout_s=-1"):
        await invoker.drain(timeout_s=-1)
    await invoker.close()


def test_with_block_that_raises_closes_at_once(clock: FakeClock) -> None:
    """Leaving a with block by an exception closes without draining: queued events shut down."""
    gate, started = threading.Event(), threading.Event()
    kinds: list[str] = []

    def busy() -> str:
        started.set()
        gate.wait(10)
        return "finished"

    def on_failure(event: Event, reason: FailureReason) -> None:
        kinds.append(reason.kind)
        gate.set()  # close() hands the queued event over before it waits for the worker

    results: list[str] = []
    with (
        pytest.raises(LookupError),
        AsyncInvoker(
            workers=1,
            clock=clock,
            on_success=lambda e, r: results.append(r),
            on_failure=on_failure,
        ) as invoker,
    ):
        invoker.submit(busy)
        invoker.submit(busy)
        assert started.wait(10)
        raise LookupError("caller failed")
    assert invoker.closed
    assert (kinds, results) == (["shutdown"], ["finished"])


def test_event_repr_hides_arguments(clock: FakeClock) -> None:
    """Events carry the arguments for dead-letter handling, but never print them."""
    seen: list[Event] = []
    with AsyncInvoker(clock=clock, on_success=lambda e, r: seen.append(e)) as invoker:
        invoker.submit(len, "secret-token-value")
    [event] = seen
    assert event.args == ("secret-token-value",)
    assert "secret-token-value" not in repr(event)
    assert "secret" not in repr(invoker)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"workers": 0}, r"workers=0: must be an integer in \[1, "),
        ({"max_queue": 0}, "max_queue=0: must be an integer >= 1"),
        ({"max_retries": -1}, "max_retries=-1: must be an integer >= 0"),
        ({"retry_delays_s": (60, -1)}, r"retry_delays_s=\(60, -1\): -1 is not"),
        ({"retry_delays_s": 60}, "retry_delays_s=60: must be a sequence"),
        ({"retry_delays_s": ()}, r"retry_delays_s=\(\): give at least one delay"),
        ({"max_event_age_s": 0}, "max_event_age_s=0: must be a finite number > 0"),
        ({"on_success": "print"}, "on_success='print': must be a callable"),
        ({"clock": object()}, "clock=<object object .*>: must have monotonic"),
    ],
)
@pytest.mark.parametrize("cls", [AsyncInvoker, AsyncioInvoker])
def test_bad_options_fail_at_construction(
    cls: type[Any], options: dict[str, Any], message: str
) -> None:
    """Each bad option fails at construction, naming parameter, value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        cls(**options)


def test_flavour_mismatches_are_refused(clock: FakeClock) -> None:
    """Threads take plain functions and destinations; tasks take coroutine functions."""

    async def coro() -> None:
        return None

    async def async_destination(event: Event, result: object) -> None:
        return None

    with pytest.raises(InvalidUsage, match=r"on_success=.*async_destination.*plain function"):
        AsyncInvoker(on_success=async_destination)
    with AsyncInvoker(clock=clock) as invoker, pytest.raises(InvalidUsage, match="coroutine"):
        invoker.submit(coro)
    with pytest.raises(InvalidUsage, match="is not a coroutine function"):
        AsyncioInvoker(clock=clock).submit(print)
    with pytest.raises(RuntimeError, match="running event loop"):
        AsyncioInvoker(clock=clock).submit(coro)


def test_public_names_are_exported() -> None:
    """The invocation names are part of the package surface."""
    for name in ["AsyncInvoker", "AsyncioInvoker", "Event", "FailureReason", "InvokerStatistics"]:
        assert name in resilience.__all__ and hasattr(resilience, name)
