"""Simulation: how many calls per second the virtual-time simulator pushes through a Policy.

Two questions. How fast is a simulation through a full Policy (fallback, retry,
breaker, bulkhead, timeout): simulated calls per second of real time, against the same
scenario through a Policy with no parts (the engine and the ledger alone). The target
is one million simulated calls in under a minute (16,667 calls/s) on a 2-core machine;
we time a shorter run (30,000 calls) and report the rate. And what does a simulated
call cost compared with the Policy's own success-path overhead (the same Policy
awaited in a tight loop on a normal event loop, minus a bare ``await``): the rest is
the simulation (task per arrival, timers, downstream model, bookkeeping).

Besides that mostly healthy run, an outage-heavy one: the four policies of
``examples/outage.toml`` (200 requests/s, Poisson) over 150 s of which 90 s are a
hanging downstream, so most calls go through timeouts, retries, the breaker or the
fallback. Each row gives its calls/s and the projected time for one million calls.

Against the previous engine: the same runs (the healthy full Policy, the four outage
policies) on a ``git archive`` of the base commit's ``costmodel`` and ``resilience``,
imported in this process as ``costmodel_base`` and ``resilience_base`` (their absolute
``resilience``/``costmodel`` imports rewritten), timed in alternating rounds with this
tree's, best of each: simulated calls/s now over then, under the same load. And the
simulator's own overhead per call (seconds per simulated call minus the Policy's own
success-path overhead), against that overhead (target <= 1.0x).
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import Row, wall_seconds
from costmodel import (
    ConstantRate,
    Downstream,
    PoissonArrivals,
    Scenario,
    SimulationContext,
    Window,
    load_simulation,
    simulate,
)
from costmodel.architectures.distributions import lognormal
from resilience import CircuitBreaker, Policy, bulkhead, fallback, retry

TITLE = "Simulation"

RATE_PER_S = 50
DURATION_S = 600  # 30,000 calls
LOOPS = 20_000
OUTAGE_FILE = Path(__file__).resolve().parent.parent / "examples" / "outage.toml"
OUTAGE_RATE_PER_S = 200
OUTAGE_DURATION_S = 150  # ~30,000 calls, 90 s of them against a hanging downstream
BASE_COMMIT = "89b7857"  # the engine before issue 19's speed-up
ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 2


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


# -- the previous engine, in this process -----------------------------------------------


def _base_packages(tmp: Path) -> tuple[Any, Any]:
    """The base commit's ``costmodel`` and ``resilience``, as ``costmodel_base`` and
    ``resilience_base`` from ``tmp`` (their absolute imports of each other rewritten)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BASE_COMMIT, "costmodel", "resilience"],
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
    (tmp / "costmodel").rename(tmp / "costmodel_base")
    (tmp / "resilience").rename(tmp / "resilience_base")
    for path in (tmp / "costmodel_base").rglob("*.py"):
        text = path.read_text()
        text = re.sub(r"(?m)^(\s*)from resilience\b", r"\1from resilience_base", text)
        text = re.sub(
            r"(?m)^(\s*)import resilience$", r"\1import resilience_base as resilience", text
        )
        text = re.sub(r"(?m)^(\s*)from costmodel\b", r"\1from costmodel_base", text)
        text = text.replace('resources.files("costmodel', 'resources.files("costmodel_base')
        path.write_text(text)
    sys.path.insert(0, str(tmp))
    try:
        return importlib.import_module("costmodel_base"), importlib.import_module("resilience_base")
    finally:
        sys.path.remove(str(tmp))


def _healthy_run(cm: Any, rs: Any) -> Callable[[], object]:
    """The healthy scenario through the full Policy, built from packages ``cm``/``rs``."""
    distributions = importlib.import_module(f"{cm.__name__}.architectures.distributions")
    scenario = cm.Scenario(
        arrivals=cm.ConstantRate(rate_per_s=RATE_PER_S, duration_s=DURATION_S),
        downstream=cm.Downstream(
            latency=distributions.lognormal(p50_ms=80, p99_ms=400),
            error_rate=0.01,
        ),
        windows=(cm.Window(kind="outage", start_s=200, end_s=260),),
    )

    def full(sim: Any) -> Any:
        return rs.Policy(
            fallback=rs.fallback(None),
            retry=rs.retry(attempts=3, backoff_s=0.05, clock=sim.clock, rng=sim.rng),
            breaker=rs.CircuitBreaker(fail_max=10, reset_timeout_s=10, clock=sim.clock),
            bulkhead=rs.bulkhead(500, clock=sim.clock),
            timeout=2.0,
            ledger=sim.ledger,
            clock=sim.clock,
        )

    return lambda: cm.simulate(full, scenario)


def _outage_runs(cm: Any) -> dict[str, Callable[[], Any]]:
    """The outage-heavy run of each examples/outage.toml policy, with package ``cm``."""
    spec = cm.load_simulation(OUTAGE_FILE)
    scenario = dataclasses.replace(
        spec.scenario,
        arrivals=cm.PoissonArrivals(rate_per_s=OUTAGE_RATE_PER_S, duration_s=OUTAGE_DURATION_S),
        windows=(cm.Window(kind="hang", start_s=30, end_s=120),),
    )
    return {
        name: (lambda factory=factory: cm.simulate(factory, scenario))
        for name, factory in spec.policies.items()
    }


def _alternating(ours: Callable[[], Any], base: Callable[[], Any]) -> tuple[float, float, int]:
    """Best wall seconds of ``ours`` and ``base`` over alternating rounds, and the calls."""
    best = [float("inf"), float("inf")]
    calls = 0
    for _ in range(ROUNDS):
        for side, fn in enumerate((ours, base)):
            start = time.perf_counter()
            result = fn()
            best[side] = min(best[side], time.perf_counter() - start)
            calls = len(result.calls)
    return best[0], best[1], calls


def _vs_base(overhead_s: float) -> list[Row]:
    """Calls/s now vs the base commit's engine, same runs, same process, same load."""
    import costmodel
    import resilience

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cm_base, rs_base = _base_packages(Path(tmp))
        ours_s, base_s, calls = _alternating(
            _healthy_run(costmodel, resilience), _healthy_run(cm_base, rs_base)
        )
        rows.append(
            Row(
                f"healthy, full Policy: calls/s vs {BASE_COMMIT}",
                calls / ours_s,
                calls / base_s,
                "calls/s; anchor: the base commit's engine",
                "report",
            )
        )
        own_s = ours_s / calls - overhead_s
        rows.append(
            Row(
                "simulator's own overhead per call (total - Policy) / Policy success path",
                own_s,
                overhead_s,
                "s per call",
                "<= 1.0x",
            )
        )
        ours_runs, base_runs = _outage_runs(costmodel), _outage_runs(cm_base)
        total_ours = total_base = 0.0
        for name, run_ours in ours_runs.items():
            ours_s, base_s, calls = _alternating(run_ours, base_runs[name])
            total_ours, total_base = total_ours + ours_s, total_base + base_s
            rows.append(
                Row(
                    f"outage-heavy, {name!r}: calls/s vs {BASE_COMMIT}",
                    calls / ours_s,
                    calls / base_s,
                    "calls/s; anchor: the base commit's engine",
                    "report",
                )
            )
        rows.append(
            Row(
                f"outage-heavy, the four policies: seconds vs {BASE_COMMIT}",
                total_ours,
                total_base,
                "s (best of each)",
                "<= 1/7 (the full outage.toml in <= 25 s)",
            )
        )
    return rows


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


def _outage_rows() -> list[Row]:
    """Calls/s of each examples/outage.toml policy through a mostly-down downstream."""
    spec = load_simulation(OUTAGE_FILE)
    scenario = dataclasses.replace(
        spec.scenario,
        arrivals=PoissonArrivals(rate_per_s=OUTAGE_RATE_PER_S, duration_s=OUTAGE_DURATION_S),
        windows=(Window(kind="hang", start_s=30, end_s=120),),
    )
    timed: list[tuple[str, float]] = []
    for name, factory in spec.policies.items():
        start = time.perf_counter()
        result = simulate(factory, scenario)
        timed.append((name, len(result.calls) / (time.perf_counter() - start)))
    healthiest = max(rate for _, rate in timed)
    return [
        Row(
            f"outage-heavy, {name!r}: calls/s (1M in {1e6 / rate:.0f} s)",
            rate,
            healthiest,
            "calls/s; anchor: the fastest policy of the file",
            ">= 16,667 (1M calls < 60 s)",
        )
        for name, rate in timed
    ]


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
        *_outage_rows(),
        *_vs_base(overhead_s),
    ]
