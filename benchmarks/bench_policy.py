"""Policy: the success path against pybreaker alone and against a stack of the anchors.

F, C, R, B: our fallback, cache, retry and breaker in one Policy. The anchor stack is
what one would write without callwise: ``cachetools.cached`` (C) on top of tenacity's
``@retry`` (T) on top of a pybreaker breaker (P). "Cache miss" rows use a fresh key on
every call, so every layer of the stack is crossed; "cache hit" rows use one key. The
rows with a cache in both are measured in alternating rounds (best round each), so
both sides see the same load on the shared machine.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable

import cachetools
import pybreaker
import tenacity

from benchmarks.harness import Row, per_call_seconds
from resilience import CircuitBreaker, Policy, cached, fallback, retry

TITLE = "Policy"

ROUNDS = 15


def _alternating_s(
    ours: Callable[[], object], anchor: Callable[[], object], *, number: int
) -> tuple[float, float]:
    """Best seconds per call of each, measured in alternating rounds of ``number`` calls."""
    best_ours = best_anchor = float("inf")
    for _ in range(ROUNDS):
        best_ours = min(best_ours, per_call_seconds(ours, number=number, repeat=1))
        best_anchor = min(best_anchor, per_call_seconds(anchor, number=number, repeat=1))
    return best_ours, best_anchor


def run() -> list[Row]:
    def work(x: int = 0) -> int:
        return x

    # Anchors: pybreaker alone, then the stack of tenacity + pybreaker (+ cachetools).
    anchor_breaker = pybreaker.CircuitBreaker()
    stack_breaker = pybreaker.CircuitBreaker()
    stack = tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(stack_breaker(work))
    stack_cached = cachetools.cached(
        cachetools.TTLCache(maxsize=1024, ttl=60), lock=threading.Lock()
    )(
        tenacity.retry(stop=tenacity.stop_after_attempt(3), reraise=True)(
            pybreaker.CircuitBreaker()(work)
        )
    )

    ours = Policy(fallback=fallback(-1), retry=retry(attempts=3), breaker=CircuitBreaker())(work)
    ours_cached = Policy(
        fallback=fallback(-1),
        cache=cached(ttl=60, maxsize=1024),
        retry=retry(attempts=3),
        breaker=CircuitBreaker(),
    )(work)

    keys, anchor_keys = itertools.count(), itertools.count()
    ours_s = per_call_seconds(ours)
    pybreaker_s = per_call_seconds(lambda: anchor_breaker.call(work))
    stack_s = per_call_seconds(stack, number=5_000)
    ours_miss_s, stack_miss_s = _alternating_s(
        lambda: ours_cached(next(keys)), lambda: stack_cached(next(anchor_keys)), number=2_000
    )
    ours_hit_s, stack_hit_s = _alternating_s(
        lambda: ours_cached(7), lambda: stack_cached(7), number=5_000
    )
    plain_s = per_call_seconds(work)

    us = "us per call"
    return [
        Row("F+R+B vs pybreaker .call alone", ours_s * 1e6, pybreaker_s * 1e6, us, "<= 2x"),
        Row(
            "F+R+B vs stack C+T+P (cache miss)",
            ours_s * 1e6,
            stack_miss_s * 1e6,
            us,
            "<= 0.2x",
        ),
        Row("F+R+B vs stack T+P", ours_s * 1e6, stack_s * 1e6, us, "<= 0.2x"),
        Row(
            "F+C+R+B vs stack C+T+P, both cache miss",
            ours_miss_s * 1e6,
            stack_miss_s * 1e6,
            us,
            "info",
        ),
        Row(
            "F+C+R+B vs stack C+T+P, both cache hit",
            ours_hit_s * 1e6,
            stack_hit_s * 1e6,
            us,
            "info",
        ),
        Row("F+R+B vs a plain call", ours_s * 1e6, plain_s * 1e6, us, "info"),
    ]
