"""The virtual-time event loop and its clock."""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import resilience.virtual_time
from resilience import InvalidUsage
from resilience.clock import Clock
from resilience.virtual_time import VirtualClock, VirtualTimeLoop, run


def test_sleep_jumps_virtual_time_without_waiting() -> None:
    """A day of asyncio.sleep takes a day of virtual time and no real wait."""

    async def main() -> float:
        await asyncio.sleep(86_400.0)
        return asyncio.get_running_loop().time()

    started = time.perf_counter()
    assert run(main()) == 86_400.0
    assert time.perf_counter() - started < 5.0  # a real wait would take a day


def test_start_time() -> None:
    """The loop starts at the requested virtual time."""

    async def main() -> float:
        return asyncio.get_running_loop().time()

    assert run(main(), start_s=1234.5) == 1234.5


def test_timeout_fires_at_its_deadline() -> None:
    """asyncio.timeout raises TimeoutError exactly at the virtual deadline."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(2.5):
                await asyncio.sleep(60.0)
        return loop.time()

    assert run(main()) == 2.5


def test_timeout_not_reached_leaves_body_result() -> None:
    """A body shorter than its timeout completes, and the timer is cancelled."""

    async def main() -> tuple[float, int]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(10.0):
            await asyncio.sleep(1.0)
        await asyncio.sleep(20.0)  # the cancelled timeout must not fire here
        return loop.time(), len([h for h in loop._scheduled if not h.cancelled()])

    assert run(main()) == (21.0, 0)


def test_wait_for_times_out_in_virtual_time() -> None:
    """asyncio.wait_for uses the virtual clock too."""

    async def main() -> float:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.sleep(100.0), timeout=3.0)
        return asyncio.get_running_loop().time()

    assert run(main()) == 3.0


def test_call_later_and_call_at_fire_in_order() -> None:
    """Callbacks scheduled with call_later/call_at fire in time order at their times."""
    fired: list[tuple[str, float]] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_later(5.0, lambda: fired.append(("later5", loop.time())))
        loop.call_at(2.0, lambda: fired.append(("at2", loop.time())))
        loop.call_later(0.5, lambda: fired.append(("later0.5", loop.time())))
        handle = loop.call_later(3.0, lambda: fired.append(("cancelled", loop.time())))
        handle.cancel()
        await asyncio.sleep(10.0)

    run(main())
    assert fired == [("later0.5", 0.5), ("at2", 2.0), ("later5", 5.0)]


def test_concurrent_tasks_overlap() -> None:
    """A thousand concurrent one-second tasks take one virtual second, not a thousand."""

    async def one() -> float:
        await asyncio.sleep(1.0)
        return asyncio.get_running_loop().time()

    async def main() -> tuple[list[float], float]:
        ends = await asyncio.gather(*(one() for _ in range(1000)))
        return ends, asyncio.get_running_loop().time()

    ends, now = run(main())
    assert set(ends) == {1.0}
    assert now == 1.0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**12).map(lambda us: us / 1e6), max_size=30))
def test_every_task_wakes_exactly_at_its_delay(delays: list[float]) -> None:
    """Property: a task sleeping d seconds (microsecond steps) wakes at exactly d."""

    async def one(delay: float) -> float:
        await asyncio.sleep(delay)
        return asyncio.get_running_loop().time()

    async def main() -> list[float]:
        return list(await asyncio.gather(*(one(d) for d in delays)))

    assert run(main()) == delays


def test_same_program_same_interleaving() -> None:
    """Two runs of the same program produce the same event order."""

    async def worker(name: int, trace: list[tuple[int, float]]) -> None:
        loop = asyncio.get_running_loop()
        for step in range(5):
            await asyncio.sleep(((name * 7 + step * 3) % 5) * 0.1)
            trace.append((name, loop.time()))

    async def main() -> list[tuple[int, float]]:
        trace: list[tuple[int, float]] = []
        await asyncio.gather(*(worker(n, trace) for n in range(20)))
        return trace

    assert run(main()) == run(main())
    # debug mode runs the base class's iteration: same order, same times
    assert run(main(), debug=True) == run(main())


def test_worker_threads_call_back_into_the_loop() -> None:
    """run_in_executor and call_soon_threadsafe wake a loop that has nothing else to do."""

    async def main() -> tuple[int, str]:
        loop = asyncio.get_running_loop()
        total = await loop.run_in_executor(None, sum, range(100))
        future: asyncio.Future[str] = loop.create_future()
        threading.Thread(
            target=lambda: loop.call_soon_threadsafe(future.set_result, "from thread")
        ).start()
        return total, await future

    assert run(main()) == (4950, "from thread")


def test_runner_with_loop_factory() -> None:
    """asyncio.Runner accepts VirtualTimeLoop as its loop factory."""

    async def main() -> float:
        await asyncio.sleep(7.0)
        return asyncio.get_running_loop().time()

    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        assert runner.run(main()) == 7.0
        assert runner.run(main()) == 14.0  # same loop, time carries on


def test_close_is_idempotent_and_refused_while_running() -> None:
    """A loop closes once; closing it from inside raises."""
    loop = VirtualTimeLoop()

    async def close_inside() -> None:
        loop.close()

    with pytest.raises(RuntimeError, match="running"):
        loop.run_until_complete(close_inside())
    loop.close()
    loop.close()
    assert loop.is_closed()


def test_virtual_clock_reads_the_loop() -> None:
    """VirtualClock.monotonic follows the loop; asleep advances it; it is a Clock."""

    async def main() -> tuple[float, float, float]:
        loop = asyncio.get_running_loop()
        assert isinstance(loop, VirtualTimeLoop)
        bound, ambient = loop.clock, VirtualClock()
        before = bound.monotonic()
        await bound.asleep(4.0)
        await ambient.asleep(1.0)
        return before, bound.monotonic(), ambient.monotonic()

    assert run(main(), start_s=100.0) == (100.0, 105.0, 105.0)
    assert isinstance(VirtualClock(), Clock)


def test_virtual_clock_refuses_blocking_sleep() -> None:
    """A blocking sleep on the virtual clock raises InvalidUsage naming the problem."""
    loop = VirtualTimeLoop()
    try:
        with pytest.raises(InvalidUsage, match="blocking sleep"):
            loop.clock.sleep(1.0)
    finally:
        loop.close()


def test_unbound_virtual_clock_needs_a_virtual_loop() -> None:
    """An unbound VirtualClock outside a VirtualTimeLoop says what is missing."""
    with pytest.raises(InvalidUsage, match="none is running"):
        VirtualClock().monotonic()

    async def main() -> None:
        VirtualClock().monotonic()

    with pytest.raises(InvalidUsage, match="needs a VirtualTimeLoop"):
        asyncio.run(main())


def _run_isolated(code: str, *, timeout_s: float = 20.0) -> str:
    """Run ``code`` in a fresh interpreter; a hang fails the test after ``timeout_s``."""
    try:
        done = subprocess.run(
            [sys.executable, "-P", "-c", textwrap.dedent(code)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the loop hung (no result within {timeout_s} real seconds)")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("start_s", [1e8, 1.7e9, 2.0**53 / 4, 1e15])
def test_large_start_times_do_not_livelock(start_s: float) -> None:
    """At epoch-like times (where now + 1 ns == now) due timers still fire."""
    out = _run_isolated(
        f"""
        import asyncio
        from resilience.virtual_time import run

        async def main():
            loop = asyncio.get_running_loop()
            loop.call_later(0.0, print, "due now")
            await asyncio.sleep(0)
            await asyncio.sleep(0.1)
            async with asyncio.timeout(5.0):
                await asyncio.gather(*(asyncio.sleep(d) for d in (1.0, 2.5, 2.5, 3.0)))
            return loop.time()

        start = {start_s!r}
        print(repr(run(main(), start_s=start)), repr(start + 0.1 + 3.0))
        """
    )
    lines = out.split()
    assert lines[:2] == ["due", "now"]
    ended, expected = (float(x) for x in lines[2:])
    # each sleep lands exactly on loop.time() + delay (rounded at that magnitude)
    assert abs(ended - expected) <= 4 * math.ulp(expected)


def test_time_time_start_like_the_review_probe() -> None:
    """run(..., start_s=time.time()) completes a sleep."""
    out = _run_isolated(
        """
        import asyncio, time
        from resilience.virtual_time import run

        async def main():
            await asyncio.sleep(0.1)
            return asyncio.get_running_loop().time()

        start = time.time()
        print(run(main(), start_s=start) - start > 0.09)
        """
    )
    assert out.strip() == "True"


def _real_work(seconds: float) -> str:
    """Stand for work a worker thread does in real time (the loop itself never sleeps)."""
    threading.Event().wait(seconds)
    return "done"


def test_thread_work_inside_a_timeout_finishes_in_zero_virtual_time() -> None:
    """A 20 ms executor job inside asyncio.timeout(5) completes; the clock stands still."""

    async def main() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(5.0):
            result = await loop.run_in_executor(None, _real_work, 0.02)
        return result, loop.time()

    assert run(main()) == ("done", 0.0)


def test_pending_timer_does_not_run_ahead_of_a_thread() -> None:
    """With a sleep(3600) pending, to_thread takes no virtual time; the sleeper still wakes."""

    async def main() -> tuple[str, float, float]:
        loop = asyncio.get_running_loop()
        background = asyncio.create_task(asyncio.sleep(3600.0))
        result = await asyncio.to_thread(_real_work, 0.02)
        after_thread = loop.time()
        await background
        return result, after_thread, loop.time()

    assert run(main()) == ("done", 0.0, 3600.0)


def test_due_timers_and_ready_callbacks_run_while_a_thread_works() -> None:
    """Thread work freezes the clock, not the loop: callbacks due now still run."""

    async def main() -> tuple[list[float], float]:
        loop = asyncio.get_running_loop()
        seen: list[float] = []
        gate = threading.Event()
        job = loop.run_in_executor(None, gate.wait)
        loop.call_later(0.0, lambda: seen.append(loop.time()))
        loop.call_later(1.0, lambda: seen.append(loop.time()))  # after the thread only
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        snapshot = list(seen)
        gate.set()
        await job
        await asyncio.sleep(2.0)
        return snapshot + seen, loop.time()

    assert run(main()) == ([0.0, 0.0, 1.0], 2.0)


def test_cancelled_executor_job_releases_the_clock() -> None:
    """A job cancelled before it started does not keep the clock frozen (no hang)."""
    out = _run_isolated(
        """
        import asyncio, threading
        from concurrent.futures import ThreadPoolExecutor
        from resilience.virtual_time import run

        async def main():
            loop = asyncio.get_running_loop()
            pool = ThreadPoolExecutor(max_workers=1)
            gate = threading.Event()
            first = loop.run_in_executor(pool, gate.wait)
            queued = loop.run_in_executor(pool, print, "must not run")
            queued.cancel()
            gate.set()
            await first
            await asyncio.sleep(10.0)
            pool.shutdown()
            return loop.time()

        print(run(main()))
        """
    )
    assert out.split() == ["10.0"]


def test_shutdown_default_executor_joins_in_real_time() -> None:
    """Shutting down waits for running jobs for real (a virtual timeout would not)."""
    finished: list[str] = []

    def job() -> None:
        finished.append(_real_work(0.02))

    loop = VirtualTimeLoop()
    try:
        loop.run_in_executor(None, job)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            loop.run_until_complete(loop.shutdown_default_executor(timeout=300.0))
        assert finished == ["done"]
        assert loop.time() == 0.0
        with pytest.raises(RuntimeError, match="shutdown"):
            loop.run_in_executor(None, job)
    finally:
        loop.close()


def test_shutdown_default_executor_times_out_in_real_time() -> None:
    """A job outliving the real timeout gets the stock warning; the loop goes on."""
    gate = threading.Event()
    loop = VirtualTimeLoop()
    try:
        loop.run_in_executor(None, gate.wait)
        with pytest.warns(RuntimeWarning, match="did not finish joining"):
            loop.run_until_complete(loop.shutdown_default_executor(timeout=0.02))
    finally:
        gate.set()
        loop.close()


def test_runner_close_joins_a_thread_left_running() -> None:
    """asyncio.Runner's close joins a fire-and-forget to_thread job without warnings."""
    finished: list[str] = []

    async def main() -> None:
        asyncio.get_running_loop().run_in_executor(None, lambda: finished.append(_real_work(0.02)))

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run(main())
    assert finished == ["done"]


def test_stuck_loop_raises_instead_of_hanging() -> None:
    """Awaiting an Event nothing can set raises RuntimeError after the real grace period."""

    async def main() -> None:
        await asyncio.Event().wait()

    started = time.perf_counter()
    with pytest.raises(RuntimeError, match="virtual-time loop is stuck"):
        run(main(), stuck_after_s=0.05)
    assert time.perf_counter() - started < 10.0


def test_stuck_error_leaves_the_loop_usable() -> None:
    """After the stuck error the loop runs other work and closes cleanly."""
    loop = VirtualTimeLoop(stuck_after_s=0.05)
    try:
        never: asyncio.Future[None] = loop.create_future()
        with pytest.raises(RuntimeError, match="stuck"):
            loop.run_until_complete(never)
        loop.run_until_complete(asyncio.sleep(5.0))
        assert loop.time() == 5.0
    finally:
        loop.close()


@pytest.mark.parametrize("stuck_after_s", [10.0, None])
def test_foreign_thread_within_the_grace_period_is_waited_for(stuck_after_s: float | None) -> None:
    """A thread started outside run_in_executor may call back (None: wait forever)."""

    async def main() -> str:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str] = loop.create_future()

        def later() -> None:
            threading.Event().wait(0.05)  # the foreign thread's own real work
            loop.call_soon_threadsafe(future.set_result, "called back")

        threading.Thread(target=later).start()
        return await future

    assert run(main(), stuck_after_s=stuck_after_s) == "called back"


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf, "1"])
def test_stuck_after_s_is_validated(bad: object) -> None:
    """stuck_after_s must be a positive finite number of seconds or None."""
    with pytest.raises(InvalidUsage, match="stuck_after_s"):
        VirtualTimeLoop(stuck_after_s=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, "0"])
def test_start_s_is_validated(bad: object) -> None:
    """start_s must be a finite number of seconds."""
    with pytest.raises(InvalidUsage, match="start_s"):
        VirtualTimeLoop(start_s=bad)  # type: ignore[arg-type]


async def _mixed_program() -> list[tuple[str, float]]:
    """Sleeps, timeouts, cancelled timers, call_at, thread work and a large jump."""
    loop = asyncio.get_running_loop()
    trace: list[tuple[str, float]] = []

    async def worker(name: int) -> None:
        for step in range(4):
            await asyncio.sleep(((name * 7 + step * 3) % 5) * 0.1 + name * 1e-6)
            trace.append((f"w{name}", loop.time()))

    loop.call_at(loop.time() + 0.25, lambda: trace.append(("call_at", loop.time())))
    cancelled = loop.call_later(0.2, lambda: trace.append(("cancelled", loop.time())))
    cancelled.cancel()
    await asyncio.gather(*(worker(n) for n in range(12)))
    try:
        async with asyncio.timeout(1.5):
            await asyncio.sleep(60.0)
    except TimeoutError:
        trace.append(("timeout", loop.time()))
    trace.append((await asyncio.to_thread(str, "thread"), loop.time()))
    await asyncio.sleep(86_400.0 * 3)
    trace.append(("days", loop.time()))
    return trace


def _run_mixed(start_s: float) -> tuple[list[tuple[str, float]], bool]:
    loop = VirtualTimeLoop(start_s=start_s)
    try:
        return loop.run_until_complete(_mixed_program()), loop._lean
    finally:
        loop.close()


def test_lean_iteration_is_used_on_this_python() -> None:
    """The private state the lean _run_once relies on is there, with the expected types."""
    loop = VirtualTimeLoop()
    try:
        assert resilience.virtual_time._lean_supported(loop)
        assert loop._lean
    finally:
        loop.close()


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("_ready", []), ("_scheduled", ()), ("_timer_cancelled_count", 0.0), ("_stopping", None)],
)
def test_changed_private_state_is_detected(attribute: str, value: object) -> None:
    """A loop whose private state has another shape is not given the lean iteration."""
    loop = VirtualTimeLoop()
    try:
        saved = getattr(loop, attribute)
        setattr(loop, attribute, value)
        assert not resilience.virtual_time._lean_supported(loop)
        setattr(loop, attribute, saved)
    finally:
        loop.close()


@pytest.mark.parametrize("start_s", [0.0, 1234.5, 1.7e9])
def test_stock_iteration_fallback_gives_identical_results(
    start_s: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forced onto the stock BaseEventLoop._run_once, the loop produces the same trace."""
    lean, used_lean = _run_mixed(start_s)
    monkeypatch.setattr(resilience.virtual_time, "_lean_supported", lambda loop: False)
    stock, used_stock = _run_mixed(start_s)
    assert (used_lean, used_stock) == (True, False)
    assert stock == lean
    assert lean[-1] == ("days", lean[-2][1] + 86_400.0 * 3)
    assert ("cancelled", 0.2) not in lean


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**12).map(lambda us: us / 1e6), max_size=20))
def test_stock_fallback_wakes_every_task_exactly_at_its_delay(delays: list[float]) -> None:
    """Property: on the fallback iteration too, a task sleeping d seconds wakes at d."""

    async def one(delay: float) -> float:
        await asyncio.sleep(delay)
        return asyncio.get_running_loop().time()

    async def main() -> list[float]:
        return list(await asyncio.gather(*(one(d) for d in delays)))

    original = resilience.virtual_time._lean_supported
    resilience.virtual_time._lean_supported = lambda loop: False  # type: ignore[assignment]
    try:
        loop = VirtualTimeLoop()
    finally:
        resilience.virtual_time._lean_supported = original
    try:
        assert not loop._lean
        assert loop.run_until_complete(main()) == delays
    finally:
        loop.close()


def test_stock_fallback_stuck_and_thread_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback iteration waits for threads and reports a stuck loop too."""
    monkeypatch.setattr(resilience.virtual_time, "_lean_supported", lambda loop: False)

    async def threaded() -> tuple[str, float]:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(5.0):
            result = await loop.run_in_executor(None, _real_work, 0.02)
        return result, loop.time()

    assert run(threaded()) == ("done", 0.0)

    async def stuck() -> None:
        await asyncio.Event().wait()

    with pytest.raises(RuntimeError, match="stuck"):
        run(stuck(), stuck_after_s=0.05)
