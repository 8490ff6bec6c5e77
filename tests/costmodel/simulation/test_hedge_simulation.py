"""Hedging in the simulator: the real resilience.hedge in virtual time, and what it bills.

The callee answers in 20-40 ms, except 5% of its executions, which take 1 s (a heavy
tail). Behind ``hedge(attempts=2, delay_s=0.05)`` only the calls slower than 50 ms launch
a hedge, so the extra attempts are the share of slow primaries (5%), within binomial
sampling error, and the p99 falls from the tail (1 s) to about the delay plus a fast
answer. Every loser is a ledger row and a billed execution.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import costmodel
from costmodel import ConstantRate, Downstream, Scenario, bill_ledger, simulate
from costmodel.simulation.run import SimulationContext, load_simulation
from resilience import Policy, hedge

CALLS = 10_000
TAIL_SHARE = 0.05
DELAY_S = 0.05


class HeavyTail:
    """Latency, ms: uniform 20-40 ms, except a share ``tail`` of draws at 1,000 ms."""

    def __init__(self, tail: float = TAIL_SHARE) -> None:
        self.tail = tail

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray[Any, Any]:
        fast = rng.uniform(20.0, 40.0, size)
        return np.where(rng.random(size) < self.tail, 1000.0, fast)


SCENARIO = Scenario(
    arrivals=ConstantRate(rate_per_s=100, duration_s=CALLS / 100),
    downstream=Downstream(latency=HeavyTail()),
    name="5% 1 s tail",
)


def bare(sim: SimulationContext) -> Policy:
    return Policy(name="bare", ledger=sim.ledger, clock=sim.clock)


def hedged(sim: SimulationContext) -> Policy:
    part = hedge(attempts=2, delay_s=DELAY_S, clock=sim.clock)  # default budget: 10%
    return Policy(name="hedged", hedge=part, ledger=sim.ledger, clock=sim.clock)


@pytest.fixture(scope="module")
def runs() -> dict[str, costmodel.SimulationResult]:
    return {
        "bare": simulate(bare, SCENARIO, seed=3),
        "hedged": simulate(hedged, SCENARIO, seed=3),
    }


def test_hedging_cuts_the_p99_of_a_heavy_tail(runs: dict[str, Any]) -> None:
    """p99 from the 1 s tail to under 100 ms (50 ms delay + a 20-40 ms answer)."""
    before, after = runs["bare"].latency_ms()["p99"], runs["hedged"].latency_ms()["p99"]
    assert before == pytest.approx(1000.0)
    assert 70.0 <= after <= 100.0


def test_extra_attempts_are_the_share_slower_than_the_delay(runs: dict[str, Any]) -> None:
    """Hedges / calls = P(primary > 50 ms) = 5%, within 4 binomial standard deviations."""
    ledger = runs["hedged"].ledger
    attempts = ledger[ledger["kind"] == "attempt"]
    calls = int((ledger["kind"] == "call").sum())
    hedges = int((attempts["hedge"] > 0).sum())
    assert calls == CALLS
    bound = 4 * math.sqrt(CALLS * TAIL_SHARE * (1 - TAIL_SHARE))  # about 87 of 10,000
    assert abs(hedges - TAIL_SHARE * CALLS) <= bound
    # every call has exactly one winner; every hedge made one loser
    assert int((attempts["hedge_result"] == "won").sum()) == calls
    assert int((attempts["hedge_result"] == "lost").sum()) == hedges


def test_losers_are_in_the_ledger_and_in_its_bill(runs: dict[str, Any]) -> None:
    """Each cancelled loser is an attempt row, and bill_ledger charges it."""
    result = runs["hedged"]
    ledger = result.ledger
    losers = ledger[(ledger["kind"] == "attempt") & (ledger["hedge_result"] == "lost")]
    assert set(losers["outcome"]) == {"cancelled"}
    bill = bill_ledger(ledger, callee_memory_mb=1024)
    assert bill.executions == CALLS + len(losers)  # more invocations than calls
    plain = bill_ledger(runs["bare"].ledger, callee_memory_mb=1024)
    assert plain.executions == CALLS
    # the platform runs every loser to its end: the callee ran calls + hedges executions
    assert len(result.executions) == CALLS + len(losers)


def test_a_simulation_file_builds_a_hedge_on_the_virtual_clock(tmp_path: Path) -> None:
    """``hedge = {attempts = 2, delay_s = 0.05}`` in a policy table builds the real part."""
    path = tmp_path / "hedge.toml"
    path.write_text(
        "[arrivals]\nkind = 'constant'\nrate_per_s = 10\nduration_s = 10\n"
        "[downstream]\nlatency = 30\n"
        "[policies.hedged]\nhedge = { attempts = 2, delay_s = 0.05, budget = 0.2 }\n"
        "[policies.adaptive]\nhedge = { attempts = 3, delay = 'p95', on = 'DownstreamError' }\n"
    )
    spec = load_simulation(path)
    assert sorted(spec.policies) == ["adaptive", "hedged"]
    table = spec.compare()
    assert len(table) == 2
    with pytest.raises(costmodel.InvalidFile, match=r"policies\.bad\.hedge"):
        bad = tmp_path / "bad.toml"
        bad.write_text(
            "[arrivals]\nkind = 'constant'\nrate_per_s = 1\nduration_s = 1\n"
            "[downstream]\nlatency = 30\n[policies.bad]\nhedge = { attempts = 6 }\n"
        )
        load_simulation(bad)
