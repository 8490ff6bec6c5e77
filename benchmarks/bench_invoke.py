"""AsyncInvoker throughput for a no-op function, against anchors measured in the same run.

Anchors: a plain Python loop calling the no-op (no queue, no threads: the ceiling),
``concurrent.futures.ThreadPoolExecutor.submit`` with the same number of workers
(the standard library's hand-off to threads), and for the asyncio variant one
``asyncio`` task per call. Figures are wall-clock microseconds per event, from the
first submit until every event has reached its destination (lower is better); the
ratio is ours / anchor. Events per second = 1e6 / figure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Callable

from benchmarks.harness import Row, wall_seconds
from resilience import AsyncInvoker, AsyncioInvoker

TITLE = "Invocation: AsyncInvoker cost per event (no-op function)"

EVENTS = 20_000
WORKERS = 4


def noop() -> None:
    return None


async def anoop() -> None:
    return None


def _ours() -> None:
    delivered = 0

    def on_success(event: object, result: object) -> None:
        nonlocal delivered
        delivered += 1

    invoker = AsyncInvoker(workers=WORKERS, on_success=on_success)
    for _ in range(EVENTS):
        invoker.submit(noop)
    invoker.drain()
    invoker.close()
    assert delivered == EVENTS


def _thread_pool() -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(noop) for _ in range(EVENTS)]
        concurrent.futures.wait(futures)


def _loop() -> None:
    for _ in range(EVENTS):
        noop()


async def _ours_asyncio() -> None:
    async with AsyncioInvoker(workers=16) as invoker:
        for _ in range(EVENTS):
            invoker.submit(anoop)
    assert invoker.statistics.succeeded == EVENTS


async def _tasks() -> None:
    await asyncio.gather(*(asyncio.create_task(anoop()) for _ in range(EVENTS)))


def _us_per_event(fn: Callable[[], object]) -> float:
    return wall_seconds(fn, repeat=3) / EVENTS * 1e6


def run() -> list[Row]:
    """Measure every figure in one run; return the rows."""
    ours = _us_per_event(_ours)
    pool = _us_per_event(_thread_pool)
    loop = _us_per_event(_loop)
    ours_asyncio = _us_per_event(lambda: asyncio.run(_ours_asyncio()))
    tasks = _us_per_event(lambda: asyncio.run(_tasks()))
    unit = "us per event"
    return [
        Row("AsyncInvoker (4 threads) vs ThreadPoolExecutor.submit", ours, pool, unit, "<= 2x"),
        Row("AsyncInvoker (4 threads) vs plain loop call", ours, loop, unit, "context"),
        Row("AsyncioInvoker (16 tasks) vs a task per call", ours_asyncio, tasks, unit, "<= 2x"),
        Row("AsyncioInvoker (16 tasks) vs plain loop call", ours_asyncio, loop, unit, "context"),
    ]


if __name__ == "__main__":
    from benchmarks.harness import print_rows

    start = time.perf_counter()
    print_rows(TITLE, run())
    print(f"\n({time.perf_counter() - start:.1f} s)")
