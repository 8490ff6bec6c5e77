"""Hedge: the success path (the primary answers before the delay, no hedge launched).

Anchors in the same run: a hand-written ``asyncio.wait`` hedge for coroutines and a
hand-written ``concurrent.futures`` hedge for plain functions, each doing the least a
hedge must (start the primary as a task or on a pool, wait for it at most the delay,
return its result). Ours also counts the call, spends from the budget, runs the
attempt in a context of its own and decides the winner. The ratio to a bare Policy
(a plain call) is what hedging costs a call that needs no hedge.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchmarks.harness import Row, per_call_seconds
from resilience import Ledger, Policy, hedge

TITLE = "Hedge"
DELAY_S = 0.5  # never reached: every primary answers at once


async def _hand_async(fn: Callable[[], Awaitable[Any]], delay_s: float) -> Any:
    """A minimal hedge with asyncio.wait (two attempts)."""
    primary = asyncio.ensure_future(fn())
    done, _ = await asyncio.wait((primary,), timeout=delay_s)
    if done and primary.exception() is None:
        return primary.result()
    second = asyncio.ensure_future(fn())
    done, pending = await asyncio.wait((primary, second), return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return done.pop().result()


def _hand_sync(
    pool: concurrent.futures.ThreadPoolExecutor, fn: Callable[[], Any], delay_s: float
) -> Any:
    """A minimal hedge with concurrent.futures (two attempts)."""
    primary = pool.submit(fn)
    done, _ = concurrent.futures.wait((primary,), timeout=delay_s)
    if done and primary.exception() is None:
        return primary.result()
    second = pool.submit(fn)
    done, _ = concurrent.futures.wait((primary, second), return_when="FIRST_COMPLETED")
    return done.pop().result()


def _per_await(fn: Callable[[], Awaitable[Any]], n: int = 5_000) -> float:
    async def loop() -> float:
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(n):
                await fn()
            best = min(best, (time.perf_counter() - start) / n)
        return best

    return asyncio.run(loop())


def run() -> list[Row]:
    async def awork() -> int:
        return 1

    def work() -> int:
        return 1

    aours = hedge(attempts=2, delay_s=DELAY_S)(awork)
    aours_no_budget = hedge(attempts=2, delay_s=DELAY_S, budget=None)(awork)
    abare = Policy()(awork)
    apolicy = Policy(hedge=hedge(attempts=2, delay_s=DELAY_S))(awork)
    aledger_bare = Policy(ledger=Ledger(max_records=0))(awork)
    aledger = Policy(hedge=hedge(attempts=2, delay_s=DELAY_S), ledger=Ledger(max_records=0))(awork)
    ahand_s = _per_await(lambda: _hand_async(awork, DELAY_S))
    aours_s = _per_await(aours)
    aours_no_budget_s = _per_await(aours_no_budget)
    abare_s = _per_await(abare)
    apolicy_s = _per_await(apolicy)
    aledger_bare_s = _per_await(aledger_bare)
    aledger_s = _per_await(aledger)

    part = hedge(attempts=2, delay_s=DELAY_S, max_workers=8)
    ours = part(work)
    policy_part = hedge(attempts=2, delay_s=DELAY_S, max_workers=8)
    policy = Policy(hedge=policy_part)(work)
    bare = Policy()(work)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        hand_s = per_call_seconds(lambda: _hand_sync(pool, work, DELAY_S), number=5_000)
    ours_s = per_call_seconds(ours, number=5_000)
    policy_s = per_call_seconds(policy, number=5_000)
    bare_s = per_call_seconds(bare, number=5_000)
    part.shutdown()
    policy_part.shutdown()

    return [
        Row("async success path vs hand-written asyncio.wait hedge", aours_s, ahand_s,
            "s/call", "<= 1.3x"),
        Row("async success path, no budget, vs asyncio.wait hedge", aours_no_budget_s, ahand_s,
            "s/call", "report"),
        Row("async Policy(hedge=...) vs a bare Policy", apolicy_s, abare_s, "s/call", "report"),
        Row("async Policy(hedge=..., ledger=...) vs Policy(ledger=...)", aledger_s,
            aledger_bare_s, "s/call", "report"),
        Row("sync success path vs hand-written concurrent.futures hedge", ours_s, hand_s,
            "s/call", "<= 1.3x"),
        Row("sync Policy(hedge=...) vs a bare Policy", policy_s, bare_s, "s/call", "report"),
    ]  # fmt: skip
