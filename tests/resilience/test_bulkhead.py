"""resilience.bulkhead: a concurrency limit shared by threads, tasks and event loops.

Concurrency tests use real threads that hold a slot until the test releases them.
Waits run on fake time: tasks on a virtual-time loop, threads on a FakeClock that the
test moves. One test, ``test_system_clock_wait_is_real_time``, keeps a 0.01 s real
wait on purpose: it is the only proof that the system-clock path (a plain blocking
wait) works.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import Any

import pytest
from support.virtual import run_virtual

from resilience import Bulkhead, BulkheadFull, InvalidUsage, Ledger, bulkhead
from resilience.testing import FakeClock


class WatchedClock(FakeClock):
    """A FakeClock that wakes :meth:`wait_until` whenever a thread reads it.

    A thread waiting for a slot on a clock other than the system's reads it every few
    milliseconds, so the test learns without sleeping when a waiter is queued.
    """

    def __init__(self) -> None:
        super().__init__(start=1000.0)
        self._read = threading.Condition()
        self.reads = 0

    def monotonic(self) -> float:
        with self._read:
            self.reads += 1
            self._read.notify_all()
        return super().monotonic()

    def wait_until(self, predicate: Callable[[], bool]) -> None:
        """Block until ``predicate()`` holds (checked on each read of the clock)."""
        with self._read:
            assert self._read.wait_for(predicate, 10)


class Holder:
    """Runs a bulkhead-guarded call in a thread and keeps it inside until released."""

    def __init__(self, pool: Bulkhead) -> None:
        self.entered, self.release = threading.Event(), threading.Event()
        self.result: Any = None

        @pool
        def hold() -> str:
            self.entered.set()
            self.release.wait(10)
            return "held"

        def run() -> None:
            try:
                self.result = hold()
            except BaseException as exc:
                self.result = exc

        self.thread = threading.Thread(target=run)

    def start(self) -> Holder:
        self.thread.start()
        return self

    def finish(self) -> Any:
        self.release.set()
        self.thread.join(10)
        return self.result


def test_sync_calls_beyond_the_limit_are_rejected() -> None:
    """Two threads hold both slots; a third call fails at once with BulkheadFull."""
    pool = bulkhead(2, name="db")
    holders = [Holder(pool).start() for _ in range(2)]
    for h in holders:
        assert h.entered.wait(10)

    @pool
    def query() -> str:
        return "rows"

    with pytest.raises(BulkheadFull) as info:
        query()
    assert (info.value.name, info.value.limit) == ("db", 2)
    assert pool.statistics.active == 2 and pool.statistics.rejected == 1
    assert [h.finish() for h in holders] == ["held", "held"]
    assert query() == "rows" and pool.statistics.active == 0


def test_async_calls_beyond_the_limit_are_rejected() -> None:
    """Tasks holding the slots make a further task fail at once."""
    pool = bulkhead(1)

    @pool
    async def op(gate: asyncio.Event) -> str:
        await gate.wait()
        return "done"

    async def main() -> None:
        gate = asyncio.Event()
        first = asyncio.create_task(op(gate))
        await asyncio.sleep(0)
        with pytest.raises(BulkheadFull) as info:
            await op(gate)
        assert info.value.name.endswith("op")
        gate.set()
        assert await first == "done"
        assert await op(gate) == "done"

    run_virtual(main())
    assert pool.statistics.rejected == 1 and pool.statistics.active == 0


def test_sync_and_async_share_the_slots() -> None:
    """One bulkhead, a thread holding its only slot: an async call is rejected."""
    pool = bulkhead(1)
    holder = Holder(pool).start()
    assert holder.entered.wait(10)

    @pool
    async def op() -> int:
        return 1

    with pytest.raises(BulkheadFull):
        asyncio.run(op())
    holder.finish()
    assert asyncio.run(op()) == 1


def test_thread_waits_for_a_slot_then_gets_it() -> None:
    """With a wait, a call blocks until a slot is freed, and waiters go first come first."""
    clock = WatchedClock()
    pool = bulkhead(1, max_wait_s=60, clock=clock)
    holder = Holder(pool).start()
    assert holder.entered.wait(10)
    order: list[int] = []

    @pool
    def work(i: int) -> None:
        order.append(i)

    waiters = []
    for i in range(3):
        t = threading.Thread(target=work, args=(i,))
        t.start()
        clock.wait_until(lambda i=i: pool.statistics.waiting == i + 1)  # a known order
        waiters.append(t)
    assert order == []
    holder.finish()
    for t in waiters:
        t.join(10)
    assert order == [0, 1, 2]
    assert pool.statistics == pool.statistics.__class__(1, 0, 0, 0)


def test_thread_wait_runs_out_on_the_clock() -> None:
    """A thread that waited ``max_wait_s`` on its clock without a slot gets BulkheadFull."""
    clock = WatchedClock()
    pool = bulkhead(1, max_wait_s=60, clock=clock)
    holder = Holder(pool).start()
    assert holder.entered.wait(10)
    outcome: list[BaseException] = []

    @pool
    def work() -> None:
        raise AssertionError("must not run")

    def call() -> None:
        with pytest.raises(BulkheadFull) as info:
            work()
        outcome.append(info.value)

    waiter = threading.Thread(target=call)
    waiter.start()
    clock.wait_until(lambda: pool.statistics.waiting == 1)
    clock.advance(59.9)
    seen = clock.reads
    clock.wait_until(lambda: clock.reads >= seen + 2)  # it saw 1059.9 s: still waiting
    assert waiter.is_alive() and pool.statistics.waiting == 1
    clock.advance(0.1)
    waiter.join(10)
    assert not waiter.is_alive() and len(outcome) == 1
    assert pool.statistics.waiting == 0 and pool.statistics.rejected == 1
    holder.finish()


def test_system_clock_wait_is_real_time() -> None:
    """The one real wait (0.01 s): with the system clock a thread blocks in real time."""
    pool = bulkhead(1, max_wait_s=0.01)
    holder = Holder(pool).start()
    assert holder.entered.wait(10)

    @pool
    def work() -> None:
        raise AssertionError("must not run")

    with pytest.raises(BulkheadFull):
        work()
    assert pool.statistics.waiting == 0 and pool.statistics.rejected == 1
    holder.finish()


def test_task_wait_runs_out_in_loop_time() -> None:
    """A task waits ``max_wait_s`` on its loop's clock, then gets BulkheadFull."""
    pool = bulkhead(1, max_wait_s=5)

    @pool
    async def op(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return seconds

    async def main() -> float:
        long = asyncio.create_task(op(60))
        await asyncio.sleep(0)
        start = asyncio.get_running_loop().time()
        with pytest.raises(BulkheadFull):
            await op(1)
        waited = asyncio.get_running_loop().time() - start
        await long
        return waited

    waited, _ = run_virtual(main())
    assert waited == 5.0
    assert pool.statistics.waiting == 0 and pool.statistics.active == 0


def test_task_gets_the_slot_when_it_is_freed() -> None:
    """A waiting task is handed the slot the moment the holder leaves."""
    pool = bulkhead(1, max_wait_s=30)

    @pool
    async def op(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return asyncio.get_running_loop().time()

    async def main() -> list[float]:
        return list(await asyncio.gather(op(10), op(10)))

    ends, _ = run_virtual(main())
    assert ends == [10.0, 20.0]


def test_cancelled_waiter_leaves_no_trace() -> None:
    """Cancelling a waiting task removes it from the queue and leaks no slot."""
    pool = bulkhead(1, max_wait_s=None)

    @pool
    async def op(gate: asyncio.Event) -> None:
        await gate.wait()

    async def main() -> None:
        gate = asyncio.Event()
        holder = asyncio.create_task(op(gate))
        waiter = asyncio.create_task(op(gate))
        await asyncio.sleep(0)
        assert pool.statistics.waiting == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        assert pool.statistics.waiting == 0
        gate.set()
        await holder

    run_virtual(main())
    assert pool.statistics.active == 0


def test_waiter_on_another_event_loop_is_woken() -> None:
    """Two threads, two event loops, one slot: the second loop's task gets it when freed."""
    pool = bulkhead(1, max_wait_s=None)
    entered, release = threading.Event(), threading.Event()
    results: list[str] = []

    @pool
    async def op(tag: str) -> None:
        if tag == "first":
            entered.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 10)
        results.append(tag)

    queued = threading.Event()

    async def second_loop() -> None:
        task = asyncio.create_task(op("second"))
        await asyncio.sleep(0)  # the task runs up to its wait for a slot
        queued.set()
        await task

    first = threading.Thread(target=asyncio.run, args=(op("first"),))
    first.start()
    assert entered.wait(10)
    second = threading.Thread(target=asyncio.run, args=(second_loop(),))
    second.start()
    assert queued.wait(10)
    assert pool.statistics.waiting == 1
    release.set()
    first.join(10)
    second.join(10)
    assert results == ["first", "second"]
    assert pool.statistics.active == 0


def test_limit_holds_under_many_threads() -> None:
    """Sixteen threads with waiting allowed never exceed the limit and are never rejected."""
    pool = bulkhead(3, max_wait_s=None)
    lock = threading.Lock()
    current = {"now": 0, "peak": 0}

    @pool
    def work() -> None:
        with lock:
            current["now"] += 1
            current["peak"] = max(current["peak"], current["now"])
        os.sched_yield()  # let the other threads run
        with lock:
            current["now"] -= 1

    def worker() -> None:
        for _ in range(200):
            work()

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert 1 <= current["peak"] <= 3
    assert pool.statistics == pool.statistics.__class__(3, 0, 0, 0)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_errors_pass_through_and_free_the_slot(mode: str) -> None:
    """The function's exception is re-raised unchanged and its slot is given back."""
    pool = bulkhead(1)
    boom = ValueError("boom")
    if mode == "sync":

        @pool
        def fn() -> None:
            raise boom

        with pytest.raises(ValueError) as info:
            fn()
    else:

        @pool
        async def afn() -> None:
            raise boom

        with pytest.raises(ValueError) as info:
            asyncio.run(afn())
    assert info.value is boom and pool.statistics.active == 0


def test_ledger_records_a_rejection(clock: FakeClock) -> None:
    """bulkhead(ledger=) writes a rejected attempt and a rejected call."""
    ledger = Ledger()
    pool = bulkhead(1, ledger=ledger, clock=clock)
    holder = Holder(pool).start()
    assert holder.entered.wait(10)

    @pool
    def fn() -> None:
        pass

    with pytest.raises(BulkheadFull):
        fn()
    holder.finish()
    rows = [(r.function, r.kind, r.outcome, r.attempt) for r in ledger.records()]
    name = fn.__qualname__
    assert (name, "attempt", "bulkhead_full", 1) in rows
    assert (name, "call", "bulkhead_full", 1) in rows
    hold_rows = [r for r in rows if r[0].endswith("hold")]
    assert [r[1:] for r in hold_rows] == [("attempt", "ok", 1), ("call", "ok", 1)]


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        ((0,), {}, r"max_concurrent=0: must be an integer >= 1"),
        ((True,), {}, r"max_concurrent=True"),
        ((2,), {"max_wait_s": -1}, r"max_wait_s=-1: must be a finite number >= 0"),
        ((2,), {"name": 5}, r"name=5: must be a string or None"),
        ((2,), {"ledger": 1}, r"ledger=1: must be a resilience.Ledger"),
    ],
)
def test_bad_options_fail_at_construction(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    """Each bad option names the parameter, the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        bulkhead(*args, **kwargs)


def test_repr_shows_the_options() -> None:
    """The repr shows the options."""
    assert repr(bulkhead(4, max_wait_s=1.5, name="x")) == (
        "Bulkhead(max_concurrent=4, max_wait_s=1.5, name='x')"
    )


def test_the_limit_is_max_concurrent_everywhere() -> None:
    """max_concurrent is the parameter, the attribute, the statistics field and the repr."""
    pool = bulkhead(max_concurrent=3)
    assert pool.max_concurrent == 3 and pool.statistics.max_concurrent == 3
    assert repr(pool).startswith("Bulkhead(max_concurrent=3,")
