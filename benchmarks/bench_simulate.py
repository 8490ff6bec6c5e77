"""Simulation: how many calls per second the virtual-time simulator pushes through a Policy.

Two questions. How fast is a simulation through a full Policy (fallback, retry,
breaker, bulkhead, timeout): simulated calls per second of real time, against the same
scenario through a Policy with no parts (the engine and the ledger alone). The target
is one million simulated calls in under a minute (16,667 calls/s) on a 2-core machine;
we time a shorter run (30,000 calls) and report the rate. And what does a simulated
call cost compared with the Policy's own success-path overhead (the same Policy
awaited in a tight loop on a normal event loop, minus a bare ``await``): the rest is
the simulation (task per arrival, timers, downstream model, bookkeeping).
"""

from __future__ import annotations

import asyncio
import time

from benchmarks.harness import Row, wall_seconds
from costmodel import ConstantRate, Downstream, Scenario, SimulationContext, Window, simulate
from costmodel.distributions import lognormal
from resilience import CircuitBreaker, Policy, bulkhead, fallback, retry

TITLE = "Simulation"

RATE_PER_S = 50
DURATION_S = 600  # 30,000 calls
LOOPS = 20_000


def _scenario() -> Scenario:
    return Scenario(
        arrivals=ConstantRate(rate_per_s=RATE_PER_S, duration_s=DURATION_S),
        downstream=Downstream(latency=lognormal(p50_ms=80, p99_ms=400), error_rate=0.01),
        windows=(Window(kind="outage", start_s=200, end_s=260),),
    )


def _full(sim: SimulationContext) -> Policy:
    return Policy(
        fallback=fallback(None),
        retry=retry(attempts=3, backoff_s=0.05, clock=sim.clock, rng=sim.rng),
        breaker=CircuitBreaker(fail_max=10, reset_timeout_s=10, clock=sim.clock),
        bulkhead=bulkhead(500, clock=sim.clock),
        timeout=2.0,
        ledger=sim.ledger,
        clock=sim.clock,
    )


def _bare(sim: SimulationContext) -> Policy:
    return Policy(ledger=sim.ledger, clock=sim.clock)


def _policy_overhead_s() -> float:
    """Seconds a successful call spends in the full Policy, on a normal event loop."""
    from resilience import Ledger
    from resilience.clock import SYSTEM_CLOCK

    async def noop(key: int) -> int:
        return key

    policy = Policy(
        fallback=fallback(None),
        retry=retry(attempts=3, backoff_s=0.05),
        breaker=CircuitBreaker(fail_max=10, reset_timeout_s=10),
        bulkhead=bulkhead(500),
        timeout=2.0,
        ledger=Ledger(max_records=0),
        clock=SYSTEM_CLOCK,
    )
    guarded = policy(noop)

    async def timed(fn: object) -> float:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for i in range(LOOPS):
                await fn(i)  # type: ignore[operator]
            best = min(best, (time.perf_counter() - start) / LOOPS)
        return best

    async def both() -> float:
        return await timed(guarded) - await timed(noop)

    return asyncio.run(both())


def run() -> list[Row]:
    scenario = _scenario()
    calls = RATE_PER_S * DURATION_S
    full_s = wall_seconds(lambda: simulate(_full, scenario), repeat=2)
    bare_s = wall_seconds(lambda: simulate(_bare, scenario), repeat=2)
    overhead_s = _policy_overhead_s()
    full_rate, bare_rate = calls / full_s, calls / bare_s
    return [
        Row(
            f"simulated calls/s, full Policy ({calls:,} calls; 1M in {1e6 / full_rate:.0f} s)",
            full_rate,
            bare_rate,
            "calls/s; anchor: Policy with no parts",
            ">= 16,667 (1M calls < 60 s)",
        ),
        Row(
            "seconds per simulated call / Policy success-path overhead",
            full_s / calls,
            overhead_s,
            "s per call",
            "report",
        ),
    ]
