"""The shared pieces: clock, ledger, errors, validation."""

from __future__ import annotations

import asyncio
import threading

import pandas as pd
import pytest

import resilience
from resilience import InvalidUsage, Ledger, TimeoutExceeded
from resilience._validate import exception_types, positive, rate
from resilience.ledger import collect_sizes, report_sizes
from resilience.testing import FakeClock


def test_fake_clock_sleeps_advance_time_instantly() -> None:
    """sleep and asleep move the fake time, and are recorded."""
    clock = FakeClock()
    clock.sleep(60)
    asyncio.run(clock.asleep(120))
    assert clock.monotonic() == 180.0
    assert clock.sleeps == [60, 120]


def test_fake_clock_cannot_go_back() -> None:
    """advance() refuses negative steps."""
    with pytest.raises(ValueError, match="seconds=-1"):
        FakeClock().advance(-1)


def test_timeout_exceeded_is_a_timeout_error() -> None:
    """TimeoutExceeded can be caught as the builtin TimeoutError."""
    assert issubclass(TimeoutExceeded, TimeoutError)
    assert issubclass(InvalidUsage, ValueError)


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (lambda v: positive("fail_max", v), 0, "fail_max=0: must be a finite number > 0"),
        (lambda v: positive("ttl", v), float("nan"), "ttl=nan"),
        (lambda v: rate("failure_rate", v), 1.5, r"failure_rate=1.5: must be a rate in \(0, 1\]"),
        (lambda v: exception_types("exclude", v), [ValueError, "x"], "'x' is not an exception"),
        (
            lambda v: exception_types("on", v),
            "ValueError",
            r"on='ValueError': a string, not an exception class; give the class itself",
        ),
        (
            lambda v: exception_types("on", v),
            ("ValueError",),
            r"'ValueError' is not an exception class but a string",
        ),
    ],
)
def test_validation_names_parameter_value_and_range(check, value, message) -> None:  # type: ignore[no-untyped-def]
    """Each check names the parameter, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        check(value)


def test_ledger_frame_has_units_and_sizes() -> None:
    """Rows come back with unit-bearing columns; unknown sizes are missing, not 0."""
    ledger = Ledger()
    ledger.record(
        function="f",
        kind="attempt",
        start_s=1.0,
        duration_s=0.5,
        outcome="error",
        attempt=1,
        error_type="builtins.OSError",
    )
    ledger.record(
        function="f",
        kind="attempt",
        start_s=2.0,
        duration_s=0.25,
        outcome="ok",
        attempt=2,
        request_bytes=10,
        response_bytes=20,
    )
    frame = ledger.to_frame()
    assert list(frame.columns) == [
        "function",
        "kind",
        "start_s",
        "duration_ms",
        "outcome",
        "attempt",
        "error_type",
        "request_bytes",
        "response_bytes",
        "hedge",
        "hedge_result",
        "injected",
    ]
    assert frame["duration_ms"].tolist() == [500.0, 250.0]
    assert frame["response_bytes"].isna().tolist() == [True, False]


def test_ledger_bounded_keeps_newest_but_totals_everything() -> None:
    """max_records bounds the rows; totals still count every row."""
    ledger = Ledger(max_records=3)
    for i in range(10):
        ledger.record(function="f", kind="call", start_s=float(i), duration_s=0.1, outcome="ok")
    assert len(ledger) == 3 and ledger.recorded == 10
    assert ledger.to_frame()["start_s"].tolist() == [7.0, 8.0, 9.0]
    totals = ledger.totals()
    assert totals["count"].tolist() == [10]
    assert totals["duration_ms"].iloc[0] == pytest.approx(1000.0)


def test_ledger_aggregate_only() -> None:
    """max_records=0 keeps no rows, only totals."""
    ledger = Ledger(max_records=0)
    ledger.record(function="f", kind="call", start_s=0.0, duration_s=0.1, outcome="ok")
    assert len(ledger) == 0
    assert ledger.totals()["count"].sum() == 1


def test_ledger_rejects_unknown_outcome() -> None:
    """An outcome outside the documented set is refused, naming it."""
    with pytest.raises(InvalidUsage, match="outcome='boom'"):
        Ledger().record(function="f", kind="call", start_s=0, duration_s=0, outcome="boom")


def test_ledger_is_thread_safe() -> None:
    """8 threads x 1,000 records: none lost."""
    ledger = Ledger()

    def work() -> None:
        for _ in range(1000):
            ledger.record(function="f", kind="call", start_s=0, duration_s=0.001, outcome="ok")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ledger.recorded == 8000 == len(ledger)


def test_sizes_reach_collector_across_copied_context_thread() -> None:
    """An invoker running in a worker thread (copied context) reports into the collector."""
    import contextvars

    with collect_sizes() as sizes:
        ctx = contextvars.copy_context()
        t = threading.Thread(
            target=ctx.run, args=(report_sizes,), kwargs={"request_bytes": 5, "response_bytes": 7}
        )
        t.start()
        t.join()
    assert (sizes.request_bytes, sizes.response_bytes) == (5, 7)
    report_sizes(request_bytes=1)  # no collector: nothing happens


def test_ledger_frame_empty_has_columns() -> None:
    """An empty ledger still gives the columns, so code downstream need not special-case."""
    frame = Ledger().to_frame()
    assert len(frame) == 0 and "duration_ms" in frame.columns
    pd.testing.assert_index_equal(frame.columns, Ledger().to_frame().columns)


def test_public_names_resolve() -> None:
    """Everything in __all__ exists."""
    for name in resilience.__all__:
        assert hasattr(resilience, name), name


class _OnlyMonotonic:
    """Half a clock: it tells the time but cannot sleep."""

    def monotonic(self) -> float:
        return 0.0


CLOCK_TAKERS = {
    "retry": lambda c: resilience.retry(clock=c),
    "RetryBudget": lambda c: resilience.RetryBudget(clock=c),
    "timeout": lambda c: resilience.timeout(1.0, clock=c),
    "bulkhead": lambda c: resilience.bulkhead(1, clock=c),
    "cached": lambda c: resilience.cached(clock=c),
    "fallback": lambda c: resilience.fallback(0, clock=c),
    "Policy": lambda c: resilience.Policy(clock=c),
    "AsyncInvoker": lambda c: resilience.AsyncInvoker(clock=c),
    "AsyncioInvoker": lambda c: resilience.AsyncioInvoker(clock=c),
}


@pytest.mark.parametrize("make", CLOCK_TAKERS.values(), ids=CLOCK_TAKERS.keys())
@pytest.mark.parametrize("bad", [42, _OnlyMonotonic()], ids=["int", "only-monotonic"])
def test_every_clock_parameter_is_checked_the_same_way(make, bad) -> None:  # type: ignore[no-untyped-def]
    """A bad clock= fails at construction with one message naming clock, value and the need."""
    with pytest.raises(InvalidUsage) as info:
        make(bad)
    message = str(info.value)
    assert message.startswith(f"clock={bad!r}: ")
    assert "monotonic(), sleep() and async asleep()" in message
    assert "resilience.testing.FakeClock" in message


@pytest.mark.parametrize("make", CLOCK_TAKERS.values(), ids=CLOCK_TAKERS.keys())
def test_every_clock_parameter_takes_a_fake_clock(make) -> None:  # type: ignore[no-untyped-def]
    """A FakeClock is a clock everywhere, and the object keeps that very clock."""
    clock = FakeClock()
    made = make(clock)
    try:
        assert getattr(made, "clock", getattr(made, "_clock", None)) is clock
    finally:
        if isinstance(made, resilience.AsyncInvoker):
            made.close()


LEDGER_CLOCK_TAKERS = {
    "retry": lambda c, ledger: resilience.retry(attempts=1, clock=c, ledger=ledger),
    "timeout": lambda c, ledger: resilience.timeout(60.0, clock=c, ledger=ledger),
    "bulkhead": lambda c, ledger: resilience.bulkhead(1, clock=c, ledger=ledger),
    "cached": lambda c, ledger: resilience.cached(clock=c, ledger=ledger),
    "fallback": lambda c, ledger: resilience.fallback(0, clock=c, ledger=ledger),
    "Policy": lambda c, ledger: resilience.Policy(clock=c, ledger=ledger),
}


@pytest.mark.parametrize("make", LEDGER_CLOCK_TAKERS.values(), ids=LEDGER_CLOCK_TAKERS.keys())
def test_ledger_times_come_from_the_given_clock(make) -> None:  # type: ignore[no-untyped-def]
    """A call that moves the fake clock 3 s is recorded at its start and as 3,000 ms long."""
    clock, ledger = FakeClock(start=1000.0), Ledger()

    def work() -> str:
        clock.advance(3.0)
        return "done"

    assert make(clock, ledger)(work)() == "done"
    frame = ledger.to_frame()
    assert len(frame) > 0
    assert frame["start_s"].tolist() == [1000.0] * len(frame)
    assert frame["duration_ms"].tolist() == [3000.0] * len(frame)


def test_retry_budget_window_runs_on_the_given_clock() -> None:
    """A deposit leaves the budget once its window has passed on the fake clock."""
    clock = FakeClock(start=1000.0)
    budget = resilience.RetryBudget(ratio=1.0, min_retries=0, window_s=10, clock=clock)
    budget.deposit()
    assert budget.available == 1
    clock.advance(11)
    assert budget.available == 0


@pytest.mark.parametrize("flavour", ["thread", "asyncio"])
def test_invoker_event_ages_come_from_the_given_clock(flavour: str) -> None:
    """An event whose function moves the fake clock 3 s is 3 s old when delivered."""
    clock = FakeClock(start=1000.0)
    ages: list[float] = []

    def work() -> None:
        clock.advance(3.0)

    def on_success(event: resilience.Event, result: object) -> None:
        ages.append(event.age_s)

    if flavour == "thread":
        with resilience.AsyncInvoker(clock=clock, on_success=on_success) as invoker:
            invoker.submit(work)
    else:

        async def awork() -> None:
            work()

        async def main() -> None:
            async with resilience.AsyncioInvoker(clock=clock, on_success=on_success) as invoker:
                invoker.submit(awork)

        asyncio.run(main())
    assert ages == [3.0]
