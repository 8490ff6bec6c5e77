"""resilience.timeout: asyncio.timeout for coroutines, an abandoned worker thread otherwise.

Coroutine tests run on a virtual-time loop, thread tests on a FakeClock that the
function (``clock.sleep``) or the test (``clock.advance``) moves past the deadline: no
real waiting. One test, ``test_system_clock_deadline_is_real_time``, keeps a 0.01 s
real timeout on purpose: it is the only proof that the system-clock path (a plain
blocking wait) works.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from typing import Any

import pytest
from support.virtual import run_virtual

from resilience import InvalidUsage, Ledger, TimeoutExceeded, timeout
from resilience.ledger import collect_sizes, report_sizes
from resilience.testing import FakeClock

REAL_TIMEOUT_S = 0.01


def test_fast_coroutine_returns_its_result() -> None:
    """A coroutine that finishes in time returns normally; no time passes."""

    @timeout(5)
    async def quick(x: int) -> int:
        await asyncio.sleep(1)
        return x * 2

    result, elapsed = run_virtual(quick(21))
    assert (result, elapsed) == (42, 1.0)


def test_slow_coroutine_is_cancelled_at_the_deadline() -> None:
    """At the deadline the coroutine is cancelled and the caller gets TimeoutExceeded."""
    cancelled = []

    @timeout(2.5, name="slow-op")
    async def slow() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(asyncio.get_running_loop().time())
            raise

    async def main() -> TimeoutExceeded:
        with pytest.raises(TimeoutExceeded) as info:
            await slow()
        return info.value

    error, elapsed = run_virtual(main())
    assert elapsed == 2.5 and cancelled == [2.5]
    assert isinstance(error, TimeoutError) and error.timeout_s == 2.5
    assert "'slow-op' did not finish within 2.5 s" in str(error)
    assert isinstance(error.__cause__, TimeoutError)


def test_timeout_error_from_the_coroutine_passes_through() -> None:
    """A TimeoutError the function raises itself is not ours and stays unchanged."""
    own = TimeoutError("the socket's own timeout")

    @timeout(10)
    async def fn() -> None:
        raise own

    async def main() -> BaseException:
        with pytest.raises(TimeoutError) as info:
            await fn()
        return info.value

    error, _ = run_virtual(main())
    assert error is own


def test_timeout_error_from_the_plain_function_passes_through() -> None:
    """A plain function's own TimeoutError is re-raised as is, not taken for ours."""
    own = TimeoutError("the socket's own timeout")

    @timeout(10)
    def fn() -> None:
        raise own

    with pytest.raises(TimeoutError) as info:
        fn()
    assert info.value is own


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_user_errors_pass_through_unchanged(mode: str) -> None:
    """An exception from the function is re-raised as the same object."""
    boom = KeyError("boom")
    if mode == "sync":

        @timeout(10)
        def fn() -> None:
            raise boom

        with pytest.raises(KeyError) as info:
            fn()
    else:

        @timeout(10)
        async def afn() -> None:
            raise boom

        with pytest.raises(KeyError) as info:
            run_virtual(afn())
    assert info.value is boom


def test_fast_function_returns_from_its_worker() -> None:
    """A plain function that finishes in time returns its result, in another thread."""
    caller = threading.get_ident()

    @timeout(10)
    def where(x: int) -> tuple[int, bool]:
        return x, threading.get_ident() != caller

    assert where(7) == (7, True)


def test_slow_function_is_abandoned_not_killed(clock: FakeClock) -> None:
    """The caller gets TimeoutExceeded at the deadline; the worker finishes later."""
    release, finished = threading.Event(), threading.Event()

    @timeout(2.5, clock=clock)
    def blocked() -> str:
        clock.sleep(60)  # a minute of work, in fake time
        release.wait(10)
        finished.set()
        return "late"

    with pytest.raises(TimeoutExceeded) as info:
        blocked()
    assert info.value.timeout_s == 2.5 and info.value.name.endswith("blocked")
    assert not finished.is_set()  # still running: abandoned, not killed
    release.set()
    assert finished.wait(10)


def test_deadline_fires_when_the_test_advances_the_clock(clock: FakeClock) -> None:
    """A blocked call times out once someone else moves the clock past the deadline."""
    entered, release = threading.Event(), threading.Event()

    @timeout(30, clock=clock)
    def blocked() -> None:
        entered.set()
        release.wait(10)

    def advance() -> None:
        assert entered.wait(10)
        clock.advance(29.0)  # not yet
        clock.advance(1.0)  # now

    mover = threading.Thread(target=advance)
    mover.start()
    try:
        with pytest.raises(TimeoutExceeded):
            blocked()
    finally:
        release.set()
        mover.join(10)
    assert clock.monotonic() == 1030.0


@pytest.mark.parametrize(
    ("work_s", "times_out"), [(0.5, False), (2.0, False), (2.01, True), (60.0, True)]
)
def test_finish_time_on_the_clock_decides(clock: FakeClock, work_s: float, times_out: bool) -> None:
    """A call that finished after the deadline in clock time is a timeout, even if it returned."""

    @timeout(2, clock=clock)
    def work() -> str:
        clock.sleep(work_s)
        return "done"

    if times_out:
        with pytest.raises(TimeoutExceeded):
            work()
    else:
        assert work() == "done"


def test_system_clock_deadline_is_real_time() -> None:
    """The one real wait (0.01 s): with the system clock the caller blocks in real time."""
    release = threading.Event()

    @timeout(REAL_TIMEOUT_S)
    def blocked() -> None:
        release.wait(10)

    try:
        with pytest.raises(TimeoutExceeded) as info:
            blocked()
    finally:
        release.set()
    assert info.value.timeout_s == REAL_TIMEOUT_S


def test_worker_runs_in_a_copy_of_the_callers_context() -> None:
    """Context variables and report_sizes reach the worker thread."""
    tenant: contextvars.ContextVar[str] = contextvars.ContextVar("tenant")

    @timeout(10)
    def invoke() -> str:
        report_sizes(request_bytes=120, response_bytes=4096)
        return tenant.get()

    tenant.set("acme")
    with collect_sizes() as sizes:
        assert invoke() == "acme"
    assert (sizes.request_bytes, sizes.response_bytes) == (120, 4096)


def test_worker_threads_are_reused() -> None:
    """Sequential calls reuse one idle worker instead of starting a thread each."""

    @timeout(10)
    def name() -> str:
        return threading.current_thread().name

    before = threading.active_count()
    names = {name() for _ in range(50)}
    assert names == {"callwise-timeout"}
    assert threading.active_count() - before <= 1


def test_ledger_records_the_timeout(clock: FakeClock) -> None:
    """timeout(ledger=) writes a timeout attempt and a timeout call."""
    ledger = Ledger()

    @timeout(1, ledger=ledger, clock=clock)
    async def slow() -> None:
        await asyncio.sleep(60)

    async def main() -> None:
        with pytest.raises(TimeoutExceeded):
            await slow()

    run_virtual(main())
    rows = [(r.kind, r.outcome, r.attempt, r.error_type) for r in ledger.records()]
    assert rows == [
        ("attempt", "timeout", 1, "resilience.errors.TimeoutExceeded"),
        ("call", "timeout", 1, "resilience.errors.TimeoutExceeded"),
    ]


def test_ledger_gets_the_sizes_reported_in_the_worker(clock: FakeClock) -> None:
    """A plain function's sizes, reported in the worker thread, land on its attempt row."""
    ledger = Ledger()

    @timeout(10, ledger=ledger, clock=clock)
    def invoke() -> str:
        report_sizes(request_bytes=64, response_bytes=512)
        return "ok"

    assert invoke() == "ok"
    attempt, call = ledger.records()
    assert (attempt.kind, attempt.outcome, attempt.request_bytes, attempt.response_bytes) == (
        "attempt",
        "ok",
        64,
        512,
    )
    assert (call.kind, call.outcome, call.attempt) == ("call", "ok", 1)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, r"timeout_s=0: must be a finite number > 0"),
        ((-1,), {}, r"timeout_s=-1"),
        ((float("inf"),), {}, r"timeout_s=inf"),
        (("5",), {}, r"timeout_s='5'"),
        ((1,), {"name": 3}, r"name=3: must be a string"),
        ((1,), {"ledger": "x"}, r"ledger='x': must be a resilience.Ledger"),
    ],
)
def test_bad_options_fail_at_construction(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    """Each bad option names the parameter, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        timeout(*args, **kwargs)


def test_decorating_a_non_callable_fails() -> None:
    """timeout(1)(None) says what it needs."""
    with pytest.raises(InvalidUsage, match="decorates a callable"):
        timeout(1)(None)  # type: ignore[arg-type]


def test_the_limit_is_timeout_s_everywhere() -> None:
    """timeout_s is the parameter (positional or keyword), the attribute and the repr."""
    by_position, by_keyword = timeout(1.5), timeout(timeout_s=1.5)
    assert by_position.timeout_s == by_keyword.timeout_s == 1.5
    assert repr(by_keyword) == "Timeout(timeout_s=1.5, name=None)"


def test_name_defaults_to_the_functions_name(clock: FakeClock) -> None:
    """name=None (the default) means the decorated function's name in TimeoutExceeded."""

    @timeout(1, name=None, clock=clock)
    def slow() -> None:
        clock.sleep(2)

    with pytest.raises(TimeoutExceeded) as info:
        slow()
    assert info.value.name == slow.__qualname__
