"""Retry: the success path against tenacity's ``@retry`` and a plain call.

Our ``retry`` calls the function once, plainly, and enters tenacity only after a
failure; tenacity builds its retry state on every call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import tenacity

from benchmarks.harness import Row, per_call_seconds
from resilience import retry
from resilience.testing import FakeClock

TITLE = "Retry"


def _no_sleep(_seconds: float) -> None:
    return None


def run() -> list[Row]:
    def work() -> int:
        return 1

    ours = retry(attempts=3)(work)
    ours_no_budget = retry(attempts=3, budget=None)(work)
    theirs = tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(work)

    plain_s = per_call_seconds(work)
    ours_s = per_call_seconds(ours)
    ours_no_budget_s = per_call_seconds(ours_no_budget)
    theirs_s = per_call_seconds(theirs, number=5_000)

    async def awork() -> int:
        return 1

    aours = retry(attempts=3)(awork)
    atheirs = tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(awork)
    n = 5_000

    async def loop(fn: Callable[[], Awaitable[int]]) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for _ in range(n):
                await fn()
            best = min(best, (time.perf_counter() - start) / n)
        return best

    aplain_s = asyncio.run(loop(awork))
    aours_s = asyncio.run(loop(aours))
    atheirs_s = asyncio.run(loop(atheirs))

    # One failure, then success: both run tenacity's machinery; sleeps are free.
    state = {"n": 0}

    def flaky() -> int:
        state["n"] += 1
        if state["n"] % 2:
            raise ConnectionError("odd calls fail")
        return 1

    ours_flaky = retry(attempts=3, budget=None, clock=FakeClock())(flaky)
    theirs_flaky = tenacity.retry(
        stop=tenacity.stop_after_attempt(3), reraise=True, sleep=_no_sleep
    )(flaky)
    ours_flaky_s = per_call_seconds(ours_flaky, number=2_000)
    theirs_flaky_s = per_call_seconds(theirs_flaky, number=2_000)

    # Every attempt fails (an outage): the whole failure path, three attempts a call.
    def down() -> int:
        raise ConnectionError("down")

    async def adown() -> int:
        raise ConnectionError("down")

    async def _ano_sleep(_seconds: float) -> None:
        return None

    ours_down = retry(attempts=3, budget=None, clock=FakeClock())(down)
    theirs_down = tenacity.retry(
        stop=tenacity.stop_after_attempt(3), reraise=True, sleep=_no_sleep
    )(down)
    aours_down = retry(attempts=3, budget=None, clock=FakeClock())(adown)
    atheirs_down = tenacity.retry(
        stop=tenacity.stop_after_attempt(3), reraise=True, sleep=_ano_sleep
    )(adown)

    def failing(fn: Callable[[], int]) -> Callable[[], None]:
        def once() -> None:
            with contextlib.suppress(ConnectionError):
                fn()

        return once

    def afailing(fn: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[int]]:
        async def once() -> int:
            with contextlib.suppress(ConnectionError):
                await fn()
            return 0

        return once

    ours_down_s = per_call_seconds(failing(ours_down), number=2_000)
    theirs_down_s = per_call_seconds(failing(theirs_down), number=2_000)
    n = 2_000
    aours_down_s = asyncio.run(loop(afailing(aours_down)))
    atheirs_down_s = asyncio.run(loop(afailing(atheirs_down)))

    us = "us per call"
    return [
        Row("success path: retry vs tenacity @retry", ours_s * 1e6, theirs_s * 1e6, us, "<= 0.1x"),
        Row(
            "success path: retry (no budget) vs tenacity",
            ours_no_budget_s * 1e6,
            theirs_s * 1e6,
            us,
            "<= 0.1x",
        ),
        Row("success path: retry vs a plain call", ours_s * 1e6, plain_s * 1e6, us, "info"),
        Row(
            "async success path: retry vs tenacity",
            aours_s * 1e6,
            atheirs_s * 1e6,
            us,
            "<= 0.1x",
        ),
        Row("async success path: retry vs plain await", aours_s * 1e6, aplain_s * 1e6, us, "info"),
        Row(
            "fail once then succeed: retry vs tenacity",
            ours_flaky_s * 1e6,
            theirs_flaky_s * 1e6,
            us,
            "~1x",
        ),
        Row(
            "always failing (3 attempts): retry vs tenacity",
            ours_down_s * 1e6,
            theirs_down_s * 1e6,
            us,
            "~1x",
        ),
        Row(
            "async always failing (3 attempts): retry vs tenacity",
            aours_down_s * 1e6,
            atheirs_down_s * 1e6,
            us,
            "<= 1x",
        ),
    ]
