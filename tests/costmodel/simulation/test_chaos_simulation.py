"""Scenario faults: the user's resilience.chaos spec, switched on for a window, in the
simulation. Injected faults and outcomes bill nothing downstream; injected latency is
the caller's wait, not the callee's execution."""

from __future__ import annotations

import dataclasses
import math
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import resilience
from costmodel import (
    ConstantRate,
    Downstream,
    Fault,
    InvalidFile,
    InvalidUsage,
    Scenario,
    SimulationContext,
    empirical,
    fixed,
    load_scenario,
    load_simulation,
    lognormal,
    simulate,
)
from resilience import InjectedThrottle, Policy, chaos
from resilience.testing import FakeClock

LATENCY_MS = 100.0
CALLER_GB = 0.5  # caller_memory_mb=512
CALLEE_GB = 1.0  # callee_memory_mb=1024


def _scenario(*faults: Any, rate_per_s: float = 10, duration_s: float = 1800) -> Scenario:
    return Scenario(
        arrivals=ConstantRate(rate_per_s=rate_per_s, duration_s=duration_s),
        downstream=Downstream(latency=LATENCY_MS),
        faults=tuple(faults),
    )


def _retrying(sim: SimulationContext) -> Policy:
    return Policy(
        name="retry",
        retry=resilience.retry(attempts=3, backoff_s=0.05, clock=sim.clock, rng=sim.rng),
        ledger=sim.ledger,
        clock=sim.clock,
    )


def _bare(sim: SimulationContext) -> Policy:
    return Policy(name="bare", ledger=sim.ledger, clock=sim.clock)


THROTTLES = chaos(fault=InjectedThrottle(retry_after_s=1.0), rate=0.02)  # enabled=False


def test_two_percent_throttle_for_ten_minutes_changes_p99_and_the_bill_as_stated() -> None:
    """2% of calls throttle from 600 s to 1200 s: in that window p99 rises by the
    retry-after, outside it nothing changes; the callee bill is the same (no extra
    execution: an injected fault makes no call), the caller pays exactly the waits."""
    base = simulate(_retrying, _scenario(), seed=3)
    rehearsal = simulate(_retrying, _scenario(Fault(THROTTLES, start_s=600, end_s=1200)), seed=3)
    inside = rehearsal.summary(start_s=600, end_s=1200)
    calls_inside = inside["calls"]
    # first attempts in the window are throttled at 2%, within binomial error
    first_faults = inside["injected_faults"]
    assert abs(first_faults - 0.02 * calls_inside) <= 4 * math.sqrt(calls_inside * 0.02 * 0.98)
    assert rehearsal.summary(end_s=600)["injected_faults"] == 0
    assert rehearsal.summary(start_s=1201)["injected_faults"] == 0
    assert THROTTLES.statistics.calls == 0  # the user's spec was bound, not used itself
    # p99 in the window: the throttled 2% wait the 1 s retry-after; outside: unchanged
    assert inside["latency_p99_ms"] >= 1000.0 + LATENCY_MS
    assert base.summary(start_s=600, end_s=1200)["latency_p99_ms"] == pytest.approx(LATENCY_MS)
    assert rehearsal.summary(end_s=600)["latency_p99_ms"] == pytest.approx(LATENCY_MS)
    # every call still succeeds (retried), so the callee ran exactly as often, as long
    assert rehearsal.summary()["ok"] == base.summary()["ok"] == len(base.calls)
    assert len(rehearsal.executions) == len(base.executions)
    assert rehearsal.callee_bill.total == base.callee_bill.total
    # the caller pays its extra wait: every injected fault's retry-after, in GB-s
    extra_s = (rehearsal.calls["duration_ms"] - base.calls["duration_ms"]).sum() / 1000.0
    faults = rehearsal.summary()["injected_faults"]
    assert extra_s == pytest.approx(faults * 1.0, rel=1e-9)
    caller_gb_s = rehearsal.caller_bill.usage["gb_seconds"] - base.caller_bill.usage["gb_seconds"]
    assert caller_gb_s == pytest.approx(CALLER_GB * extra_s, rel=1e-6)
    assert rehearsal.total_cost > base.total_cost


def test_injected_faults_bill_nothing_downstream() -> None:
    """Without retry, each injected fault is an error to the user and one execution
    fewer on the callee's bill, to the GB-s."""
    spec = chaos(fault=ConnectionError, rate=0.1)
    result = simulate(_bare, _scenario(spec, duration_s=300), seed=1)
    summary = result.summary()
    faults = summary["injected_faults"]
    assert faults > 0 and summary["errors_seen"] == faults
    assert summary["callee_calls"] == summary["calls"] - faults
    assert result.callee_bill.usage["gb_seconds"] == pytest.approx(
        CALLEE_GB * LATENCY_MS / 1000.0 * (summary["calls"] - faults)
    )


def test_injected_latency_is_the_callers_wait_not_the_callees_duration() -> None:
    """Half a second injected into calls from 10 s to 20 s: those calls wait 600 ms and
    the caller is billed for it; every callee execution still runs 100 ms."""
    spec = chaos(latency_s=0.5, rate=1.0)
    result = simulate(_bare, _scenario(Fault(spec, start_s=10, end_s=20), duration_s=60), seed=0)
    calls = result.calls
    inside = (calls["start_s"] >= 10) & (calls["start_s"] < 20)
    assert np.allclose(calls.loc[inside, "duration_ms"], 600.0)
    assert np.allclose(calls.loc[~inside, "duration_ms"], 100.0)
    assert np.allclose(result.executions["duration_ms"], LATENCY_MS)
    assert len(result.executions) == len(calls)
    assert result.summary()["injected_latency"] == int(inside.sum()) == 100
    waited_s = calls["duration_ms"].sum() / 1000.0
    assert result.caller_bill.usage["gb_seconds"] == pytest.approx(CALLER_GB * waited_s)


def test_injected_outcomes_make_no_callee_call() -> None:
    """A canned outcome answers without an execution: one fewer on the callee's bill."""
    spec = chaos(outcome=-1, rate=0.25)
    result = simulate(_bare, _scenario(spec, duration_s=120), seed=2)
    summary = result.summary()
    outcomes = summary["injected_outcomes"]
    assert abs(outcomes - 300) <= 4 * math.sqrt(1200 * 0.25 * 0.75)
    assert summary["ok"] == 1200 and summary["callee_calls"] == 1200 - outcomes


def test_faults_are_seeded_by_the_simulation_seed() -> None:
    """The same seed injects into the same calls; another seed into others."""
    spec = chaos(fault=ConnectionError, rate=0.05)
    scenario = _scenario(spec, duration_s=200)

    def injected(seed: int) -> list[float]:
        frame = simulate(_bare, scenario, seed=seed).ledger
        return frame.loc[frame["injected"] == "fault", "start_s"].tolist()

    assert injected(5) == injected(5)
    assert injected(5) != injected(6)


def test_the_policys_own_chaos_runs_on_the_virtual_clock() -> None:
    """A chaos part of the user's Policy, without a clock, sleeps on the Policy's (the
    virtual one); one on another clock is refused before the run."""

    def with_chaos(sim: SimulationContext) -> Policy:
        spec = chaos(latency_s=0.2, rate=1.0, enabled=True, rng=sim.rng)
        return Policy(chaos=spec, ledger=sim.ledger, clock=sim.clock)

    result = simulate(with_chaos, _scenario(duration_s=10), seed=0)
    assert np.allclose(result.calls["duration_ms"], 300.0)
    assert result.summary()["injected_latency"] == 100

    def on_a_fake_clock(sim: SimulationContext) -> Policy:
        spec = chaos(latency_s=0.2, enabled=True, clock=FakeClock())
        return Policy(chaos=spec, ledger=sim.ledger, clock=sim.clock)

    with pytest.raises(InvalidUsage, match=r"policy\.chaos: runs on FakeClock"):
        simulate(on_a_fake_clock, _scenario(duration_s=10))


def test_every_distribution_gives_a_sampler_in_seconds() -> None:
    """fixed, lognormal and empirical all adapt with .seconds(): one draw, seconds."""
    rng = random.Random(0)
    assert fixed(250).seconds().sample(rng) == 0.25
    assert empirical([100, 300]).seconds().sample(rng) in (0.1, 0.3)
    assert lognormal(p50_ms=50, p99_ms=50).seconds().sample(rng) == 0.05
    assert empirical([100, 300]).seconds().mean_s == pytest.approx(0.2)
    for dist in (fixed(250), empirical([100, 300]), lognormal(p50_ms=5, p99_ms=50)):
        assert isinstance(dist.seconds(), resilience.Sampler)


def test_a_lognormal_latency_fault_in_seconds() -> None:
    """A costmodel distribution drives the injected latency in the simulation too."""
    spec = chaos(latency_s=lognormal(p50_ms=400, p99_ms=4000).seconds(), rate=1.0)
    result = simulate(_bare, _scenario(spec, duration_s=200), seed=4)
    waited = result.calls["duration_ms"].to_numpy() - LATENCY_MS
    assert np.median(waited) == pytest.approx(400.0, rel=0.1)
    assert np.allclose(result.executions["duration_ms"], LATENCY_MS)


@pytest.mark.parametrize(
    ("faults", "message"),
    [
        (THROTTLES, r"faults=Chaos\(.*\): must be a tuple of Fault"),
        ((1,), r"faults\[0\]=1: must be a Fault or a resilience.chaos spec"),
        ((Fault(THROTTLES, start_s=5000),), r"faults\[0\]\.start_s=5000: the fault starts"),
    ],
)
def test_bad_faults_are_refused(faults: Any, message: str) -> None:
    """Scenario(faults=...) takes a tuple of Fault or chaos specs."""
    with pytest.raises(InvalidUsage, match=message):
        Scenario(
            arrivals=ConstantRate(rate_per_s=1, duration_s=100),
            downstream=Downstream(latency=1.0),
            faults=faults,
        )


def test_bad_fault_windows_are_refused() -> None:
    """A Fault names its bad field."""
    with pytest.raises(InvalidUsage, match=r"chaos=1: must be a resilience.chaos"):
        Fault(1)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match=r"end_s=5: must be after start_s=10"):
        Fault(THROTTLES, start_s=10, end_s=5)
    with pytest.raises(InvalidUsage, match=r"start_s=-1"):
        Fault(THROTTLES, start_s=-1)


FILE = """
[scenario]
name = "throttle rehearsal"

[arrivals]
kind = "constant"
rate_per_s = 10
duration_s = 120

[downstream]
latency_ms = 100

[[faults]]
start_s = 30
end_s = 90
fault = "throttle"
retry_after_s = 1.0
rate = 0.05

[[faults]]
latency_ms = { kind = "lognormal", p50_ms = 200, p99_ms = 800 }
latency_rate = 0.1

[simulation]
seed = 7

[policies.retry]
retry = { attempts = 3, backoff_s = 0.05 }
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rehearsal.toml"
    path.write_text(text)
    return path


def test_faults_in_a_simulation_file(tmp_path: Path) -> None:
    """[[faults]] tables become Faults; the file's policies meet them."""
    spec = load_simulation(write(tmp_path, FILE))
    first, second = spec.scenario.faults
    assert (first.start_s, first.end_s, first.chaos.fault_rate) == (30, 90, 0.05)
    assert isinstance(first.chaos.fault, InjectedThrottle)
    assert first.chaos.fault.retry_after_s == 1.0
    assert (second.start_s, second.end_s, second.chaos.latency_rate) == (0.0, None, 0.1)
    table = spec.compare()
    row = table.loc["retry"]
    assert row["injected_faults"] > 0 and row["injected_latency"] > 0
    assert row["ok"] == 1200


@pytest.mark.parametrize(
    ("old", "new", "field", "reason"),
    [
        ("rate = 0.05", "rate = 2", "faults[0].rate", "rate=2: must be a rate in [0, 1]"),
        ('fault = "throttle"', 'fault = "Gremlin"', "faults[0].fault", "'Gremlin': unknown"),
        ('fault = "throttle"', 'fault = "ConnectionError"', "faults[0].retry_after_s",
         'applies to fault = "throttle" only'),
        ("rate = 0.05", "rate = 0.05\ncolour = 1", "faults[0].colour", "unknown field"),
        ("end_s = 90", "end_s = 10", "faults[0].end_s", "must be after start_s=30"),
        ("p99_ms = 800", "p99_ms = 10", "faults[1].latency_ms.p99_ms", "must be >= p50_ms"),
        ("latency_rate = 0.1", "latency_rate = 0.1\nfault_rate = 0.1", "faults[1].fault_rate",
         "given without anything to inject"),
    ],
)  # fmt: skip
def test_bad_faults_in_a_file_name_the_field(
    tmp_path: Path, old: str, new: str, field: str, reason: str
) -> None:
    """A wrong [[faults]] table fails with InvalidFile naming the field and the reason."""
    assert old in FILE
    with pytest.raises(InvalidFile) as caught:
        load_scenario(write(tmp_path, FILE.replace(old, new, 1)))
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_a_scenario_without_faults_runs_as_before() -> None:
    """No faults: no chaos layer, no injected counts."""
    result = simulate(_bare, _scenario(duration_s=10), seed=0)
    summary = result.summary()
    assert (summary["injected_latency"], summary["injected_faults"]) == (0, 0)
    assert dataclasses.replace(_scenario(duration_s=10)).faults == ()
    assert (
        random.Random("callwise-faults:0:0").random()
        == random.Random("callwise-faults:0:0").random()
    )
