"""Circuit breaker: the success path and concurrent calls, against pybreaker.

Two questions: what does a successful call cost through our breaker compared with
``pybreaker.CircuitBreaker().call`` (target: at most the same, despite the extra
rules), and does one breaker serialize concurrent calls (8 threads each making a 50 ms
call: pybreaker holds its lock across the call, so it takes ~8 calls' time; ours should
take about one call's time). Real sleeps are fine here; tests never sleep.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pybreaker

from benchmarks.harness import Row, per_call_seconds, wall_seconds
from resilience import CircuitBreaker

TITLE = "Circuit breaker"

THREADS = 8
CALL_S = 0.050


def _answer() -> int:
    return 42


def _in_threads(call: Callable[[], object]) -> Callable[[], None]:
    """A run of THREADS threads, each making one call, released together."""

    def run() -> None:
        start = threading.Barrier(THREADS)

        def worker() -> None:
            start.wait()
            call()

        threads = [threading.Thread(target=worker) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    return run


def _async_per_call_seconds(fn: Callable[[], object], number: int = 20_000) -> float:
    """Best-of-5 seconds per ``await fn()`` in one event loop."""

    async def loop() -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(number):
                await fn()  # type: ignore[misc]
            best = min(best, (time.perf_counter() - start) / number)
        return best

    return asyncio.run(loop())


def run() -> list[Row]:
    theirs = pybreaker.CircuitBreaker()
    ours = CircuitBreaker(name="bench")
    guarded = ours(_answer)
    every_rule = CircuitBreaker(
        name="bench-rules", failure_rate_threshold=0.5, window_size=100, slow_call_s=1.0
    )
    guarded_every_rule = every_rule(_answer)
    pybreaker_s = per_call_seconds(lambda: theirs.call(_answer))

    async def answer_async() -> int:
        return 42

    guarded_async = ours(answer_async)
    rows = [
        Row("success: @breaker vs pybreaker.call", per_call_seconds(guarded),
            pybreaker_s, "s/call", "<= 1.0x"),
        Row("success: breaker.call(fn) vs pybreaker.call",
            per_call_seconds(lambda: ours.call(_answer)), pybreaker_s, "s/call", "<= 1.0x"),
        Row("success, window + slow-call rules vs pybreaker.call",
            per_call_seconds(guarded_every_rule), pybreaker_s, "s/call", "<= 1.0x"),
        Row("async success: @breaker vs bare await",
            _async_per_call_seconds(guarded_async), _async_per_call_seconds(answer_async),
            "s/call", "informative"),
    ]  # fmt: skip

    def one_call() -> None:
        time.sleep(CALL_S)

    one_call_s = wall_seconds(one_call)
    ours_wall_s = wall_seconds(_in_threads(ours(one_call)))
    theirs_wall_s = wall_seconds(_in_threads(lambda: theirs.call(one_call)))
    rows += [
        Row(f"{THREADS} threads x {CALL_S * 1000:g} ms, ours vs one call", ours_wall_s,
            one_call_s, "s", "<= 1.5x"),
        Row(f"{THREADS} threads x {CALL_S * 1000:g} ms, pybreaker vs one call", theirs_wall_s,
            one_call_s, "s", f"~{THREADS}x (serialized)"),
        Row(f"{THREADS} threads x {CALL_S * 1000:g} ms, ours vs pybreaker", ours_wall_s,
            theirs_wall_s, "s", f"~1/{THREADS}"),
    ]  # fmt: skip
    return rows
