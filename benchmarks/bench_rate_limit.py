"""Rate limiter: one decision in this process and through Redis, against limits,
pyrate-limiter and aiolimiter.

Anchors, measured in the same run (``pip install 'callwise[bench]'``):
- admit path, in this process: ``limits``' moving window on its memory storage
  (``MovingWindowRateLimiter(MemoryStorage()).hit``) and ``pyrate_limiter.Limiter``
  (``try_acquire(blocking=False)``, its default in-memory bucket); target: ours <= 0.5x
  their time per decision. The limit is never reached (admitted every time): the cost of
  the decision itself.
- refusal path, in this process: the same anchors on a spent limit; informative.
- async admit path: ``aiolimiter.AsyncLimiter`` (``async with``) vs ours
  (``await acquire_async()``); target <= 1.0x.
- through Redis (a redis-server started here on a unix socket): decisions per second,
  ours (one EVALSHA) vs ``limits``' moving window on ``RedisStorage``; target: ours
  >= 1x their throughput, i.e. time per decision <= 1.0x.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from benchmarks.harness import Row, per_call_seconds
from resilience import RedisRateStore, rate_limit

TITLE = "Rate limiter"

HUGE = 10**9  # a rate no benchmark reaches: every decision admits
ROUNDS = 15


def _paired(
    ours: Callable[[], object], anchor: Callable[[], object], number: int
) -> tuple[float, float]:
    """Best seconds per call of each, in alternating rounds (same machine load)."""
    best_ours = best_anchor = float("inf")
    for _ in range(ROUNDS):
        best_ours = min(best_ours, per_call_seconds(ours, number=number, repeat=1))
        best_anchor = min(best_anchor, per_call_seconds(anchor, number=number, repeat=1))
    return best_ours, best_anchor


def _local_rows() -> list[Row]:
    import limits
    import pyrate_limiter

    ours = rate_limit(HUGE, per_s=1, burst=HUGE, name="bench")
    moving = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
    item = limits.parse(f"{HUGE}/second")
    pyrate = pyrate_limiter.Limiter(pyrate_limiter.Rate(HUGE, pyrate_limiter.Duration.SECOND))
    rows = []
    for label, anchor in (
        ("admit: ours vs limits moving window (memory)", lambda: moving.hit(item, "k")),
        (
            "admit: ours vs pyrate-limiter try_acquire",
            lambda: pyrate.try_acquire("k", blocking=False),
        ),
    ):
        ours_s, anchor_s = _paired(ours.try_acquire, anchor, 2_000)
        rows.append(Row(label, ours_s, anchor_s, "s/decision", "<= 0.5x"))
    spent = rate_limit(1, per_s=3600, name="spent")
    spent.try_acquire()
    moving_spent = limits.strategies.MovingWindowRateLimiter(limits.storage.MemoryStorage())
    one = limits.parse("1/hour")
    moving_spent.hit(one, "k")
    ours_s, anchor_s = _paired(spent.try_acquire, lambda: moving_spent.hit(one, "k"), 2_000)
    rows.append(Row("refuse: ours vs limits moving window (memory)", ours_s, anchor_s,
                    "s/decision", "informative"))  # fmt: skip
    return rows


def _async_row() -> Row:
    import aiolimiter

    ours = rate_limit(HUGE, per_s=1, burst=HUGE, name="bench-async")
    theirs = aiolimiter.AsyncLimiter(HUGE, 1)

    async def ours_once() -> None:
        await ours.acquire_async()

    async def theirs_once() -> None:
        async with theirs:
            pass

    async def measure(fn: Callable[[], object], number: int = 2_000) -> float:
        best = float("inf")
        for _ in range(ROUNDS):
            start = time.perf_counter()
            for _ in range(number):
                await fn()  # type: ignore[misc]
            best = min(best, (time.perf_counter() - start) / number)
        return best

    async def both() -> tuple[float, float]:
        return await measure(ours_once), await measure(theirs_once)

    ours_s, theirs_s = asyncio.run(both())
    return Row("async admit: ours vs aiolimiter (async with)", ours_s, theirs_s, "s/decision",
               "<= 1.0x")  # fmt: skip


@contextlib.contextmanager
def _redis() -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="bench-redis-") as folder:
        sock = Path(folder) / "redis.sock"
        process = subprocess.Popen(
            [binary, "--port", "0", "--unixsocket", str(sock), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        try:
            for _ in range(500):
                if sock.exists():
                    break
                time.sleep(0.01)
            yield f"unix://{sock}"
        finally:
            process.terminate()
            process.wait(10)


def _redis_row() -> list[Row]:
    import limits
    import redis

    with _redis() as url:
        if url is None:
            return [Row("redis: skipped (no redis-server)", 0.0, 1.0, "s/decision", "-")]
        client = redis.Redis.from_url(url)
        client.ping()
        ours = rate_limit(HUGE, per_s=1, burst=HUGE, name="bench", store=RedisRateStore(client))
        storage = limits.storage.RedisStorage(f"redis+{url}")
        moving = limits.strategies.MovingWindowRateLimiter(storage)
        item = limits.parse(f"{HUGE}/second")
        ours_s, anchor_s = _paired(ours.try_acquire, lambda: moving.hit(item, "k"), 300)
        return [Row("redis admit: ours (1 EVALSHA) vs limits moving window (RedisStorage)",
                    ours_s, anchor_s, "s/decision", "<= 1.0x")]  # fmt: skip


def run() -> list[Row]:
    return [*_local_rows(), _async_row(), *_redis_row()]
