"""resilience.cached: expiry, stores, single-flight, stale-if-error, negative caching."""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import threading
import time
from collections.abc import Callable
from typing import Any

import cachetools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.modes import MODES, call
from support.modes import make_without_yield as make

from resilience import Cached, CacheInfo, InvalidUsage, cached
from resilience._validate import is_async
from resilience.testing import FakeClock

WAIT_S = 20.0
"""Upper bound on any wait for another thread (a hung test fails instead of hanging)."""


def counting(calls: list[Any], result: Callable[..., Any] = lambda *a, **k: a) -> Any:
    """A body that records each call's arguments and returns ``result(*args)``."""

    def body(*args: Any, **kwargs: Any) -> Any:
        calls.append(args + tuple(sorted(kwargs.items())))
        return result(*args, **kwargs)

    return body


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Yield the GIL until ``predicate()`` holds (no timed sleep); fail after WAIT_S."""
    deadline = time.perf_counter() + WAIT_S
    while not predicate():
        if time.perf_counter() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0)


def join_all(threads: list[threading.Thread]) -> None:
    """Join each thread (at most WAIT_S each) and fail if one is still running."""
    for thread in threads:
        thread.join(WAIT_S)
    assert not [thread.name for thread in threads if thread.is_alive()], "threads still running"


async def yield_until(predicate: Callable[[], bool], what: str) -> None:
    """Let the other tasks run until ``predicate()`` holds."""
    for _ in range(100_000):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"never happened: {what}")


# -- basics ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_second_call_is_a_hit(mode: str, clock: FakeClock) -> None:
    """A repeated call returns the cached result without calling the function."""
    calls: list[Any] = []
    fn = cached(ttl=60, clock=clock)(make(mode, counting(calls, lambda x: [x])))
    first = call(mode, fn, 1)
    assert call(mode, fn, 1) is first
    assert calls == [(1,)]
    info = fn.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (1, 1, 1, 1024)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stale_if_error", [0, 30])
def test_value_expires_after_ttl_on_the_clock(
    mode: str, clock: FakeClock, stale_if_error: float
) -> None:
    """Fresh until ttl seconds pass on the clock, recomputed from then on."""
    calls: list[Any] = []
    fn = cached(ttl=10, clock=clock, stale_if_error=stale_if_error)(
        make(mode, counting(calls, lambda: clock.monotonic()))
    )
    assert call(mode, fn) == 1000.0
    clock.advance(9.999)
    assert call(mode, fn) == 1000.0
    clock.advance(0.001)
    assert call(mode, fn) == 1010.0
    assert len(calls) == 2


@pytest.mark.parametrize("mode", MODES)
def test_without_ttl_values_never_expire(mode: str, clock: FakeClock) -> None:
    """ttl=None is an LRU cache: time does not matter."""
    calls: list[Any] = []
    fn = cached(clock=clock)(make(mode, counting(calls)))
    call(mode, fn, "a")
    clock.advance(1e9)
    call(mode, fn, "a")
    assert calls == [("a",)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("ttl", [None, 60.0, "per-item"])
def test_maxsize_evicts_the_least_recently_used(mode: str, clock: FakeClock, ttl: Any) -> None:
    """Every store holds at most maxsize values and evicts the least recently used."""
    calls: list[Any] = []
    ttl = (lambda key, value: 60.0) if ttl == "per-item" else ttl
    fn = cached(ttl=ttl, maxsize=2, clock=clock)(make(mode, counting(calls)))
    for item in [1, 2, 1, 3, 1, 2]:  # 3 evicts 2 (1 was used more recently)
        call(mode, fn, item)
    assert calls == [(1,), (2,), (3,), (2,)]
    assert fn.cache_info().currsize == 2


@pytest.mark.parametrize("mode", MODES)
def test_per_item_ttl_function(mode: str, clock: FakeClock) -> None:
    """ttl=(key, value) -> seconds sets each value's life; 0 or less means do not cache."""
    calls: list[Any] = []
    lives = {"short": 5.0, "long": 50.0, "never": 0.0}
    seen_keys: list[Any] = []

    def ttl(key: Any, value: Any) -> float:
        seen_keys.append(key)
        return lives[value]

    fn = cached(ttl=ttl, clock=clock)(make(mode, counting(calls, lambda name: name)))
    for name in lives:
        call(mode, fn, name)
    clock.advance(10)
    for name in lives:
        call(mode, fn, name)
    assert calls == [("short",), ("long",), ("never",), ("short",), ("never",)]
    assert seen_keys[0] == ("short",)  # the cache key, as built by key=


@pytest.mark.parametrize("mode", MODES)
def test_bad_per_item_ttl_result_reaches_the_caller(mode: str, clock: FakeClock) -> None:
    """A ttl function returning a non-number raises InvalidUsage naming it; nothing cached."""
    calls: list[Any] = []

    def ttl(key: Any, value: Any) -> float:
        return "soon"  # type: ignore[return-value]

    fn = cached(ttl=ttl, clock=clock)(make(mode, counting(calls)))
    with pytest.raises(InvalidUsage, match=r"ttl function .*ttl returned 'soon'"):
        call(mode, fn, 1)
    assert fn.cache_info().currsize == 0


@pytest.mark.parametrize("mode", MODES)
def test_default_key_separates_positional_and_keyword(mode: str, clock: FakeClock) -> None:
    """With hashkey, f(1) and f(x=1) are different keys; unhashable arguments raise."""
    calls: list[Any] = []
    fn = cached(clock=clock)(make(mode, counting(calls, lambda *a, **k: 0)))
    call(mode, fn, 1)
    call(mode, fn, x=1)
    call(mode, fn, x=1)
    assert len(calls) == 2
    with pytest.raises(TypeError, match="unhashable"):
        call(mode, fn, [1])


@pytest.mark.parametrize("mode", MODES)
def test_custom_key(mode: str, clock: FakeClock) -> None:
    """key= decides what makes two calls the same (here: ignore the request id)."""
    calls: list[Any] = []
    fn = cached(key=lambda item, request_id: item, clock=clock)(
        make(mode, counting(calls, lambda item, request_id: item))
    )
    assert call(mode, fn, "a", 1) == call(mode, fn, "a", 2) == "a"
    assert len(calls) == 1


@pytest.mark.parametrize("mode", MODES)
def test_exceptions_are_not_cached_by_default(mode: str, clock: FakeClock) -> None:
    """A failed call leaves nothing behind: the next call calls again."""
    outcomes = iter([ConnectionError("down"), "up"])

    def body() -> str:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    fn = cached(ttl=60, clock=clock)(make(mode, body))
    with pytest.raises(ConnectionError):
        call(mode, fn)
    assert call(mode, fn) == "up"
    assert fn.cache_info().misses == 2


@pytest.mark.parametrize("mode", MODES)
def test_cache_clear_forgets_values_and_counters(mode: str, clock: FakeClock) -> None:
    """cache_clear empties the store and resets the counters."""
    calls: list[Any] = []
    fn = cached(ttl=60, clock=clock)(make(mode, counting(calls)))
    call(mode, fn, 1)
    call(mode, fn, 1)
    fn.cache_clear()
    assert fn.cache_info() == CacheInfo(0, 0, 0, 0, 0, 0, 1024)
    call(mode, fn, 1)
    assert len(calls) == 2


def test_works_on_methods(clock: FakeClock) -> None:
    """On a method the instance is part of the key: each object has its own entries."""

    class Prices:
        def __init__(self, factor: int) -> None:
            self.factor = factor
            self.calls = 0

        def __hash__(self) -> int:
            return id(self)

        @cached(ttl=60, clock=clock)
        def price(self, item: int) -> int:
            self.calls += 1
            return item * self.factor

    a, b = Prices(2), Prices(3)
    assert [a.price(5), a.price(5), b.price(5)] == [10, 10, 15]
    assert (a.calls, b.calls) == (1, 1)


@pytest.mark.parametrize("mode", MODES)
def test_wrapper_keeps_signature_and_kind(mode: str) -> None:
    """functools.wraps: same signature and name; async stays async; the API is there."""

    def price(item: str, *, quantity: int = 1) -> float:
        return 1.0

    async def aprice(item: str, *, quantity: int = 1) -> float:
        return 1.0

    fn = price if mode == "sync" else aprice
    wrapped = cached(ttl=1)(fn)
    assert inspect.signature(wrapped) == inspect.signature(fn)
    assert wrapped.__name__ == fn.__name__
    assert wrapped.__wrapped__ is fn  # type: ignore[attr-defined]
    assert is_async(wrapped) == (mode == "async")
    assert callable(wrapped.cache_info) and callable(wrapped.cache_clear)


def test_each_decorated_function_has_its_own_store() -> None:
    """One Cached configuration applied twice gives two independent caches."""
    config = cached(ttl=60)
    assert isinstance(config, Cached)
    double = config(lambda x: 2 * x)
    triple = config(lambda x: 3 * x)
    assert (double(2), triple(2)) == (4, 6)


@pytest.mark.parametrize("mode", MODES)
def test_recursion_on_the_same_key_fails_instead_of_deadlocking(mode: str) -> None:
    """A function that needs its own in-flight key raises RecursionError."""
    if mode == "sync":

        @cached()
        def loop(x: int) -> int:
            return loop(x)

        with pytest.raises(RecursionError, match="same cache key"):
            loop(1)
    else:

        @cached()
        async def aloop(x: int) -> int:
            return await aloop(x)

        with pytest.raises(RecursionError, match="same cache key"):
            asyncio.run(aloop(1))


# -- single flight -----------------------------------------------------------------


@pytest.mark.parametrize("outcome", ["value", "error"])
def test_64_threads_missing_one_key_make_one_call(outcome: str) -> None:
    """64 threads missing one key while it is being computed: one call, one shared outcome."""
    release = threading.Event()
    calls: list[int] = []

    @cached(ttl=60, clock=FakeClock())
    def load(item: str) -> object:
        calls.append(threading.get_ident())
        assert release.wait(WAIT_S)
        if outcome == "error":
            raise ConnectionError(f"{item} failed")
        return object()

    barrier = threading.Barrier(64)
    results: list[Any] = [None] * 64

    def worker(i: int) -> None:
        barrier.wait(WAIT_S)
        try:
            results[i] = load("k")
        except ConnectionError as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(64)]
    for thread in threads:
        thread.start()
    wait_until(lambda: load.cache_info().misses == 64, "64 misses")
    release.set()
    join_all(threads)
    assert len(calls) == 1
    assert all(result is results[0] for result in results)
    assert isinstance(results[0], ConnectionError if outcome == "error" else object)
    info = load.cache_info()
    assert (info.misses, info.coalesced, info.currsize) == (64, 63, int(outcome == "value"))


@pytest.mark.parametrize("outcome", ["value", "error"])
async def test_64_tasks_missing_one_key_make_one_call(outcome: str) -> None:
    """64 tasks missing one key: one call; all get its result or the same exception."""
    release = asyncio.Event()
    calls: list[str] = []

    @cached(ttl=60, clock=FakeClock())
    async def load(item: str) -> object:
        calls.append(item)
        await release.wait()
        if outcome == "error":
            raise ConnectionError(f"{item} failed")
        return object()

    tasks = [asyncio.create_task(load("k")) for _ in range(64)]
    await yield_until(lambda: load.cache_info().misses == 64, "64 misses")
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert calls == ["k"]
    assert all(result is results[0] for result in results)
    assert isinstance(results[0], ConnectionError if outcome == "error" else object)
    assert load.cache_info().coalesced == 63


def test_tasks_on_two_event_loops_share_one_call() -> None:
    """Async single-flight works across event loops in different threads."""
    release = threading.Event()
    calls: list[str] = []

    @cached(ttl=60, clock=FakeClock())
    async def load(item: str) -> object:
        calls.append(item)
        await asyncio.to_thread(release.wait, WAIT_S)
        return object()

    results: list[Any] = []

    def loop_thread() -> None:
        async def main() -> list[object]:
            return await asyncio.gather(*(load("k") for _ in range(8)))

        results.extend(asyncio.run(main()))

    threads = [threading.Thread(target=loop_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_until(lambda: load.cache_info().misses == 16, "16 misses")
    release.set()
    join_all(threads)
    assert calls == ["k"]
    assert len(results) == 16 and all(result is results[0] for result in results)


async def test_cancelled_leader_does_not_poison_waiters() -> None:
    """Cancelling the task making the call: one waiter calls again, the others share it."""
    release = asyncio.Event()
    callers: list[asyncio.Task[Any] | None] = []

    @cached(ttl=60, clock=FakeClock())
    async def load(item: str) -> int:
        callers.append(asyncio.current_task())
        await release.wait()
        return len(callers)

    tasks = [asyncio.create_task(load("k")) for _ in range(64)]
    await yield_until(lambda: load.cache_info().misses == 64, "64 misses")
    leader = callers[0]
    assert leader is not None
    leader.cancel()
    await yield_until(lambda: len(callers) == 2, "a waiter taking over")
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    cancelled = [r for r in results if isinstance(r, asyncio.CancelledError)]
    assert len(cancelled) == 1 and results[tasks.index(leader)] is cancelled[0]  # type: ignore[arg-type]
    assert [r for r in results if r is not cancelled[0]] == [2] * 63
    assert len(callers) == 2


async def test_cancelled_waiter_gets_cancelled_error_and_others_are_unaffected() -> None:
    """A waiter cancelled while waiting raises CancelledError; the call goes on for the rest."""
    release = asyncio.Event()
    calls: list[str] = []

    @cached(ttl=60, clock=FakeClock())
    async def load(item: str) -> str:
        calls.append(item)
        await release.wait()
        return "value"

    tasks = [asyncio.create_task(load("k")) for _ in range(8)]
    await yield_until(lambda: load.cache_info().misses == 8, "8 misses")
    tasks[5].cancel()
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(results[5], asyncio.CancelledError)
    assert results[:5] + results[6:] == ["value"] * 7
    assert calls == ["k"]


class Interrupt(BaseException):
    """Stands for KeyboardInterrupt in a worker thread."""


def test_interrupted_leader_thread_does_not_poison_waiters() -> None:
    """A leader thread interrupted by a BaseException: a waiter calls again for the rest."""
    release = threading.Event()
    calls: list[int] = []
    lock = threading.Lock()

    @cached(ttl=60, clock=FakeClock())
    def load(item: str) -> str:
        with lock:
            calls.append(threading.get_ident())
            first = len(calls) == 1
        if first:
            assert release.wait(WAIT_S)
            raise Interrupt
        return "second call"

    results: list[Any] = [None] * 16

    def worker(i: int) -> None:
        try:
            results[i] = load("k")
        except Interrupt as exc:
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    wait_until(lambda: load.cache_info().misses == 16, "16 misses")
    release.set()
    join_all(threads)
    assert len(calls) == 2
    assert sum(isinstance(r, Interrupt) for r in results) == 1
    assert results.count("second call") == 15


def test_lock_is_not_held_across_the_call(clock: FakeClock) -> None:
    """While one key is being computed, other keys are computed and served."""
    release = threading.Event()

    @cached(ttl=60, clock=clock)
    def load(item: str) -> str:
        if item == "slow":
            assert release.wait(WAIT_S)
        return item.upper()

    slow = threading.Thread(target=load, args=("slow",))
    slow.start()
    wait_until(lambda: load.cache_info().misses == 1, "the slow call to start")
    assert [load("fast"), load("fast")] == ["FAST", "FAST"]
    release.set()
    join_all([slow])
    assert load("slow") == "SLOW"


async def test_clear_during_a_call_keeps_its_result_out_of_the_cache() -> None:
    """A value computed across a cache_clear() is returned but not stored."""
    release = asyncio.Event()
    calls: list[str] = []

    @cached(ttl=60, clock=FakeClock())
    async def load(item: str) -> str:
        calls.append(item)
        await release.wait()
        return "old"

    task = asyncio.create_task(load("k"))
    await yield_until(lambda: calls == ["k"], "the call to start")
    load.cache_clear()
    release.set()
    assert await task == "old"
    assert load.cache_info().currsize == 0
    await load("k")
    assert calls == ["k", "k"]


def test_concurrent_mixed_use_keeps_counts_consistent() -> None:
    """8 threads on 20 keys with a small store and a moving clock: right values, counts add up."""
    clock = FakeClock()

    @cached(ttl=5, maxsize=8, clock=clock, stale_if_error=1)
    def double(x: int) -> int:
        return 2 * x

    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(400):
                x = rng.randrange(20)
                assert double(x) == 2 * x
                if rng.random() < 0.05:
                    clock.advance(rng.random())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    join_all(threads)
    assert errors == []
    info = double.cache_info()
    assert info.hits + info.misses == 8 * 400
    assert info.hits > 0 and info.currsize <= 8


# -- stale-if-error ----------------------------------------------------------------


def flaky(outcomes: list[Any]) -> Callable[..., Any]:
    """A body that returns or raises the next outcome in the list."""
    queue = iter(outcomes)

    def body(*args: Any) -> Any:
        outcome = next(queue)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return body


@pytest.mark.parametrize("mode", MODES)
def test_stale_value_served_when_refresh_fails_within_window(
    mode: str, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """After expiry, a failed refresh serves the old value for stale_if_error seconds."""
    error = ConnectionError("origin down")
    fn = cached(ttl=10, stale_if_error=30, clock=clock)(
        make(mode, flaky(["v1", error, error, "v2"]))
    )
    assert call(mode, fn) == "v1"
    clock.advance(15)
    with caplog.at_level(logging.DEBUG, logger="resilience.cache"):
        assert call(mode, fn) == "v1"
    [record] = [r for r in caplog.records if r.name == "resilience.cache"]
    assert record.exc_info is not None and record.exc_info[1] is error
    assert "expired 5.000 s ago" in record.getMessage()
    clock.advance(24.9)  # 39.9 s after storing: still within 10 + 30
    assert call(mode, fn) == "v1"
    assert call(mode, fn) == "v2"  # a success refreshes
    info = fn.cache_info()
    assert (info.stale_serves, info.hits, info.misses) == (2, 0, 4)


@pytest.mark.parametrize("mode", MODES)
def test_stale_window_ends(mode: str, clock: FakeClock) -> None:
    """Past ttl + stale_if_error, a failed refresh raises."""
    fn = cached(ttl=10, stale_if_error=30, clock=clock)(
        make(mode, flaky(["v1", ConnectionError("down")]))
    )
    call(mode, fn)
    clock.advance(40)
    with pytest.raises(ConnectionError):
        call(mode, fn)


@pytest.mark.parametrize("mode", MODES)
def test_stale_if_error_with_per_item_ttl(mode: str, clock: FakeClock) -> None:
    """The stale window applies after each item's own expiry."""
    fn = cached(ttl=lambda key, value: 2.0, stale_if_error=3, clock=clock)(
        make(mode, flaky(["v1", OSError(), OSError()]))
    )
    call(mode, fn)
    clock.advance(4)
    assert call(mode, fn) == "v1"
    clock.advance(1)
    with pytest.raises(OSError):
        call(mode, fn)


@pytest.mark.parametrize("mode", MODES)
def test_stale_if_error_does_not_hide_cancellation_or_interrupts(
    mode: str, clock: FakeClock
) -> None:
    """Only Exceptions trigger a stale serve; a BaseException passes through."""
    fn = cached(ttl=10, stale_if_error=30, clock=clock)(make(mode, flaky(["v1", Interrupt()])))
    call(mode, fn)
    clock.advance(15)
    with pytest.raises(Interrupt):
        call(mode, fn)


async def test_waiters_share_the_stale_value() -> None:
    """Callers waiting on a failing refresh all get the stale value."""
    clock = FakeClock()
    release = asyncio.Event()
    calls: list[int] = []

    @cached(ttl=10, stale_if_error=30, clock=clock)
    async def load() -> str:
        calls.append(1)
        if len(calls) == 1:
            return "v1"
        await release.wait()
        raise ConnectionError("down")

    await load()
    clock.advance(15)
    tasks = [asyncio.create_task(load()) for _ in range(8)]
    await yield_until(lambda: load.cache_info().misses == 9, "8 more misses")
    release.set()
    assert await asyncio.gather(*tasks) == ["v1"] * 8
    assert len(calls) == 2
    assert load.cache_info().stale_serves == 8


# -- negative caching --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_remembered_error_is_reraised_without_calling(mode: str, clock: FakeClock) -> None:
    """cache_errors: the same exception object comes back until error_ttl passes."""
    error = KeyError("no such user")
    calls: list[Any] = []

    def body(user: str) -> str:
        calls.append(user)
        if len(calls) == 1:
            raise error
        return "found"

    fn = cached(ttl=60, cache_errors=LookupError, error_ttl=5, clock=clock)(make(mode, body))
    for _ in range(3):
        with pytest.raises(KeyError) as caught:
            call(mode, fn, "ann")
        assert caught.value is error
    clock.advance(5)
    assert call(mode, fn, "ann") == "found"
    assert calls == ["ann", "ann"]
    info = fn.cache_info()
    assert (info.misses, info.error_hits) == (4, 2)


@pytest.mark.parametrize("mode", MODES)
def test_rereaising_a_remembered_error_does_not_grow_its_traceback(
    mode: str, clock: FakeClock
) -> None:
    """Each re-raise starts from the original traceback, so memory stays flat."""
    fn = cached(ttl=60, cache_errors=ValueError, clock=clock)(make(mode, flaky([ValueError()])))
    depths = []
    for _ in range(5):
        with pytest.raises(ValueError) as caught:
            call(mode, fn)
        tb, depth = caught.value.__traceback__, 0
        while tb is not None:
            tb, depth = tb.tb_next, depth + 1
        depths.append(depth)
    assert len(set(depths[1:])) == 1


@pytest.mark.parametrize("mode", MODES)
def test_error_ttl_defaults_to_ttl_and_other_errors_are_not_remembered(
    mode: str, clock: FakeClock
) -> None:
    """Without error_ttl errors live ttl seconds; types outside cache_errors are not kept."""
    fn = cached(ttl=10, cache_errors=[KeyError], clock=clock)(
        make(mode, flaky([OSError(), KeyError(), "ok"]))
    )
    with pytest.raises(OSError):
        call(mode, fn)
    with pytest.raises(KeyError):
        call(mode, fn)
    clock.advance(9.9)
    with pytest.raises(KeyError):
        call(mode, fn)
    clock.advance(0.1)
    assert call(mode, fn) == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_remembered_error_serves_stale_value(mode: str, clock: FakeClock) -> None:
    """With stale_if_error, a remembered error serves the stale value without calling."""
    calls: list[Any] = []
    outcomes = flaky(["v1", ConnectionError("down")])

    def body() -> Any:
        calls.append(1)
        return outcomes()

    fn = cached(ttl=10, stale_if_error=30, cache_errors=ConnectionError, clock=clock)(
        make(mode, body)
    )
    call(mode, fn)
    clock.advance(12)
    assert [call(mode, fn), call(mode, fn)] == ["v1", "v1"]
    assert len(calls) == 2
    info = fn.cache_info()
    assert (info.stale_serves, info.error_hits) == (2, 1)


# -- the hook for Policy -----------------------------------------------------------


async def test_on_hit_reports_each_kind_of_answer_without_a_call() -> None:
    """on_hit gets fresh, shared, stale and error in the caller's own task."""
    clock = FakeClock()
    kinds: list[str] = []
    release = asyncio.Event()
    outcomes = iter(["v1", "wait", ConnectionError("down")])

    @cached(
        ttl=10, stale_if_error=30, cache_errors=ConnectionError, clock=clock, on_hit=kinds.append
    )
    async def load() -> str:
        outcome = next(outcomes)
        if outcome == "wait":
            await release.wait()
            return "v2"
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    await load()
    assert kinds == []
    await load()
    assert kinds == ["fresh"]
    clock.advance(10)
    tasks = [asyncio.create_task(load()) for _ in range(2)]
    await yield_until(lambda: load.cache_info().misses == 3, "2 more misses")
    release.set()
    assert await asyncio.gather(*tasks) == ["v2", "v2"]
    assert kinds == ["fresh", "shared"]
    clock.advance(10)
    assert await load() == "v2"  # refresh fails: stale
    assert kinds[-1] == "stale"


def test_on_hit_reports_a_remembered_error(clock: FakeClock) -> None:
    """A remembered error re-raised without calling is reported as 'error'."""
    kinds: list[str] = []
    fn = cached(ttl=10, cache_errors=KeyError, clock=clock, on_hit=kinds.append)(
        flaky([KeyError("x")])
    )
    for _ in range(2):
        with pytest.raises(KeyError):
            fn()
    assert kinds == ["error"]


# -- properties --------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    ttl_s=st.floats(min_value=0.001, max_value=100, allow_nan=False),
    stale_s=st.sampled_from([0.0, 5.0]),
    per_item=st.booleans(),
    steps=st.lists(st.floats(min_value=0, max_value=150, allow_nan=False), max_size=25),
)
def test_property_value_unchanged_until_ttl_then_recomputed(
    ttl_s: float, stale_s: float, per_item: bool, steps: list[float]
) -> None:
    """For any ttl and clock steps: the stored value is returned until ttl elapses."""
    clock = FakeClock()
    ttl: Any = (lambda key, value: ttl_s) if per_item else ttl_s

    @cached(ttl=ttl, stale_if_error=stale_s, clock=clock)
    def now() -> float:
        return clock.monotonic()

    stored_at: float | None = None
    for step in steps:
        clock.advance(step)
        current = clock.monotonic()
        if stored_at is None or current >= stored_at + ttl_s:
            stored_at = current
        assert now() == stored_at


# -- bad input ---------------------------------------------------------------------


async def _coroutine_key(*args: Any) -> int:
    return 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, r"ttl=0: must be a finite number of seconds > 0"),
        ({"ttl": -5}, r"ttl=-5: must be"),
        ({"ttl": float("nan")}, r"ttl=nan"),
        ({"ttl": float("inf")}, r"ttl=inf"),
        ({"ttl": True}, r"ttl=True"),
        ({"ttl": "60"}, r"ttl='60'"),
        ({"ttl": _coroutine_key}, r"ttl=.*a plain function"),
        ({"maxsize": -1}, r"maxsize=-1: must be an integer >= 0"),
        ({"maxsize": 2.5}, r"maxsize=2.5"),
        ({"ttl": 1, "stale_if_error": -1}, r"stale_if_error=-1: must be a finite number >= 0"),
        ({"stale_if_error": 5}, r"stale_if_error=5.0: needs ttl"),
        ({"cache_errors": [int]}, r"cache_errors=.*is not an exception class"),
        ({"ttl": 1, "cache_errors": KeyboardInterrupt}, r"KeyboardInterrupt is not an Exception"),
        ({"ttl": 1, "error_ttl": 5}, r"error_ttl=5.0: has no effect without cache_errors"),
        ({"ttl": 1, "cache_errors": KeyError, "error_ttl": 0}, r"error_ttl=0: must be"),
        ({"cache_errors": KeyError}, r"give error_ttl="),
        ({"key": _coroutine_key}, r"key=.*plain \(not async\) function"),
        ({"key": 3}, r"key=3"),
        ({"on_hit": _coroutine_key}, r"on_hit=.*plain \(not async\) function"),
        ({"clock": object()}, r"clock=.*monotonic\(\)"),
    ],
)
def test_bad_input_fails_at_construction(kwargs: dict[str, Any], message: str) -> None:
    """Each bad parameter raises InvalidUsage naming it, its value and what is allowed."""
    with pytest.raises(InvalidUsage, match=message):
        cached(**kwargs)


def test_decorating_a_non_callable_is_refused() -> None:
    """Applying a Cached configuration to a non-callable raises InvalidUsage."""
    with pytest.raises(InvalidUsage, match="fn=None"):
        cached()(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_maxsize_zero_caches_nothing_as_in_cachetools(mode: str, clock: FakeClock) -> None:
    """maxsize=0: every call reaches the function, like cachetools.cached(LRUCache(0))."""
    calls: list[int] = []

    def body(x: int) -> int:
        calls.append(x)
        return x * 2

    guarded = cached(maxsize=0, ttl=60, clock=clock)(make(mode, body))
    assert [call(mode, guarded, 1), call(mode, guarded, 1), call(mode, guarded, 2)] == [2, 2, 4]
    assert calls == [1, 1, 2]
    info = guarded.cache_info()
    assert (info.hits, info.misses, info.currsize, info.maxsize) == (0, 3, 0, 0)
    peer_calls: list[int] = []
    peer = cachetools.cached(cachetools.LRUCache(0))(lambda x: peer_calls.append(x) or x * 2)
    assert [peer(1), peer(1), peer(2)] == [2, 2, 4] and peer_calls == [1, 1, 2]
