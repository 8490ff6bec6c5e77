"""Simulation: real Policies through outages in virtual time, billed."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.paths import EXAMPLES

from costmodel import InvalidFile, InvalidUsage
from costmodel.architectures.distributions import lognormal
from costmodel.simulation.run import (
    SimulationContext,
    SimulationResult,
    compare_policies,
    load_simulation,
    simulate,
)
from costmodel.simulation.scenario import (
    ConstantRate,
    Downstream,
    DownstreamError,
    PoissonArrivals,
    Scenario,
    TraceArrivals,
    Window,
)
from resilience import (
    CircuitBreaker,
    Ledger,
    Policy,
    bulkhead,
    cached,
    fallback,
    retry,
)
from resilience.virtual_time import VirtualClock

EXAMPLE = EXAMPLES / "outage.toml"


# -- policies used across the tests ------------------------------------------------------


def no_protection(sim: SimulationContext) -> Policy:
    return Policy(name="none", ledger=sim.ledger, clock=sim.clock)


def timeout_only(sim: SimulationContext) -> Policy:
    return Policy(name="timeout", timeout=2.0, ledger=sim.ledger, clock=sim.clock)


def retry_only(sim: SimulationContext) -> Policy:
    return Policy(
        name="retry only",
        retry=retry(attempts=3, backoff_s=0.2, budget=None, clock=sim.clock, rng=sim.rng),
        ledger=sim.ledger,
        clock=sim.clock,
    )


def retry_and_timeout(sim: SimulationContext) -> Policy:
    return Policy(
        name="retry + timeout",
        retry=retry(attempts=3, backoff_s=0.2, budget=None, clock=sim.clock, rng=sim.rng),
        timeout=2.0,
        ledger=sim.ledger,
        clock=sim.clock,
    )


def breaker_fallback(sim: SimulationContext, *, reset_timeout_s: float = 30.0) -> Policy:
    return Policy(
        name="breaker",
        fallback=fallback("degraded"),
        retry=retry(attempts=3, backoff_s=0.2, budget=None, clock=sim.clock, rng=sim.rng),
        breaker=CircuitBreaker(fail_max=5, reset_timeout_s=reset_timeout_s, clock=sim.clock),
        timeout=2.0,
        ledger=sim.ledger,
        clock=sim.clock,
    )


def outage_scenario(kind: str, *, rate: float = 50, duration: float = 300) -> Scenario:
    return Scenario(
        arrivals=PoissonArrivals(rate_per_s=rate, duration_s=duration),
        downstream=Downstream(
            latency=lognormal(p50_ms=80, p99_ms=400), timeout_s=15, error_latency_ms=20
        ),
        windows=(Window(kind=kind, start_s=60, end_s=180),),  # type: ignore[arg-type]
        name=f"{kind} 60-180 s",
    )


def max_overlap(starts: np.ndarray, durations_s: np.ndarray) -> int:
    """The largest number of intervals [start, start + duration) open at once."""
    events = np.concatenate(
        [
            np.stack([starts, np.ones_like(starts)], 1),
            np.stack([starts + durations_s, -np.ones_like(starts)], 1),
        ]
    )
    order = np.lexsort((events[:, 1], events[:, 0]))  # ends before starts at equal times
    return int(np.cumsum(events[order, 1]).max())


# -- the breaker's timeline --------------------------------------------------------------


@pytest.mark.parametrize("kind", ["outage", "hang"])
def test_breaker_opens_during_the_outage_and_closes_after(kind: str) -> None:
    """The timeline shows the breaker open soon after the outage starts, closed after it."""
    result = simulate(
        lambda sim: breaker_fallback(sim, reset_timeout_s=10.0),
        outage_scenario(kind),
        seed=1,
    )
    state = result.timeline.set_index("second")["breaker_state"]
    assert (state.loc[:59] == "closed").all()
    opened = state[state == "open"].index
    # five failed attempts trip it: fast errors at once, hung attempts at the 2 s timeout
    assert 60 <= opened.min() <= 60 + (1 if kind == "outage" else 4)
    during = state.loc[opened.min() : 179]
    assert (during != "closed").all()
    # after the outage: at most one reset timeout (10 s) plus a probe, then closed for good
    closed_after = state.loc[180:]
    first_closed = closed_after[closed_after == "closed"].index.min()
    assert first_closed <= 180 + 10 + 3
    assert (state.loc[first_closed:] == "closed").all()
    # users never saw an error: the fallback answered while the breaker was open
    assert result.summary()["errors_seen"] == 0
    assert (
        result.timeline.loc[60:179, "fallback"].sum()
        > 0.9 * result.timeline.loc[60:179, "requests"].sum()
    )


def test_half_open_admits_one_probe_at_a_time() -> None:
    """While half-open during a hang, the callee sees one execution at a time."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=100, duration_s=120),
        downstream=Downstream(latency=50.0, timeout_s=15),
        windows=(Window(kind="hang", start_s=10, end_s=120),),
    )

    def factory(sim: SimulationContext) -> Policy:
        return Policy(
            fallback=fallback(None),
            breaker=CircuitBreaker(
                fail_max=3, reset_timeout_s=5, half_open_max_calls=1, clock=sim.clock
            ),
            timeout=1.0,
            ledger=sim.ledger,
            clock=sim.clock,
        )

    result = simulate(factory, scenario)
    late = result.executions[result.executions["start_s"] >= 20]
    # after the trip: one probe per reset period (open 5 s + the 1 s probe), never two at once
    starts = late["start_s"].to_numpy()
    assert len(starts) >= 10
    assert np.diff(starts).min() >= 5.0
    assert len(starts) <= 100 / 6 + 1


# -- what each policy bills during a hang ------------------------------------------------


def test_timeout_outage_bills_retries_most_and_breaker_least() -> None:
    """During a hang (issue 6): "retry only" bills more caller GB-s than "no protection",
    and "breaker + fallback" less than both; a 2 s timeout alone, and with retries, between."""
    results: dict[str, SimulationResult] = {}
    table = compare_policies(
        {
            "no protection": no_protection,
            "retry only": retry_only,
            "timeout only": timeout_only,
            "retry + timeout": retry_and_timeout,
            "breaker + fallback": breaker_fallback,
        },
        outage_scenario("hang", rate=20, duration=240),
        results=results,
    )
    gb_s, cost = table["caller_gb_s"], table["total_cost"]
    # the claim: each hung attempt is waited for (15 s), then tried again
    assert gb_s["retry only"] > 1.5 * gb_s["no protection"]
    assert gb_s["breaker + fallback"] < gb_s["no protection"] / 10
    assert cost["breaker + fallback"] < cost["no protection"] < cost["retry only"]
    assert table["callee_calls"]["retry only"] > table["callee_calls"]["no protection"]
    assert table["latency_p99_ms"]["retry only"] > 2 * table["latency_p99_ms"]["no protection"]
    # a 2 s timeout caps each wait; retried, it waits up to three times as long
    assert gb_s["timeout only"] < gb_s["no protection"] / 3
    assert gb_s["retry + timeout"] > 2 * gb_s["timeout only"]
    assert gb_s["breaker + fallback"] < gb_s["timeout only"]
    # the same arrivals for every policy
    assert table["calls"].nunique() == 1
    for result in results.values():
        pd.testing.assert_series_equal(
            result.calls["start_s"], results["no protection"].calls["start_s"], check_names=False
        )


def test_summarize_gives_the_window_table_without_running_again() -> None:
    """summarize(results, window=) is compare_policies(window=)'s table, from the results."""
    from costmodel import summarize

    policies = {"timeout only": timeout_only, "breaker + fallback": breaker_fallback}
    scenario = outage_scenario("hang", rate=10, duration=240)
    results: dict[str, SimulationResult] = {}
    whole = compare_policies(policies, scenario, results=results)
    pd.testing.assert_frame_equal(summarize(results), whole)
    during = compare_policies(policies, scenario, window=(60, 180))
    pd.testing.assert_frame_equal(summarize(results, window=(60, 180)), during)
    assert (during["calls"] < whole["calls"]).all()
    with pytest.raises(InvalidUsage, match="results="):
        summarize({})
    with pytest.raises(InvalidUsage, match="start must be before end"):
        summarize(results, window=(180, 60))


def test_caller_is_billed_for_waiting_and_callee_for_running() -> None:
    """Fixed latency: caller billed latency + overhead + own work, callee the latency."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=20, duration_s=60),
        downstream=Downstream(latency=100.4, invoke_overhead_ms=10.0),
        caller_work_ms=5.0,
    )
    result = simulate(no_protection, scenario)
    calls = len(result.calls)
    assert calls == 1200
    assert result.caller_bill.usage["billed_duration_ms"] == calls * math.ceil(115.4)
    assert result.callee_bill.usage["billed_duration_ms"] == calls * math.ceil(100.4)
    assert result.caller_bill.usage["gb_seconds"] == pytest.approx(calls * 0.116 * 0.5)
    assert result.latency_ms()["p50"] == pytest.approx(110.4)
    assert result.total_cost == pytest.approx(result.caller_bill.total + result.callee_bill.total)


def test_a_hung_callee_is_billed_until_its_own_timeout() -> None:
    """The caller gives up at 1 s; the hung callee runs (and bills) until its 15 s timeout."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=30),
        downstream=Downstream(latency=50.0, timeout_s=15),
        windows=(Window(kind="hang", start_s=10, end_s=20),),
    )
    result = simulate(lambda sim: Policy(timeout=1.0, ledger=sim.ledger, clock=sim.clock), scenario)
    hung = result.executions[
        (result.executions["start_s"] >= 10) & (result.executions["start_s"] < 20)
    ]
    assert len(hung) == 100
    assert (hung["billed_ms"] == 15_000).all()
    waited = result.calls[(result.calls["start_s"] >= 10) & (result.calls["start_s"] < 20)]
    np.testing.assert_allclose(waited["duration_ms"], 1000.0)
    assert (waited["outcome"] == "timeout").all()
    assert waited["error_type"].notna().all()


# -- cache, bulkhead ---------------------------------------------------------------------


def test_the_caller_is_killed_and_billed_at_its_own_platform_timeout() -> None:
    """With caller_timeout_s, a caller stuck on a hang is cut there: billed up to it, no more."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=20, duration_s=60),
        downstream=Downstream(latency=80.0, timeout_s=15),
        windows=(Window(kind="hang", start_s=10, end_s=40),),
        caller_work_ms=15,
        caller_timeout_s=10,
    )
    result = simulate(no_protection, scenario)
    calls = result.calls
    cut = calls["error_type"] == "CallerTimeout"
    in_hang = (calls["start_s"] >= 10) & (calls["start_s"] < 40)
    assert (cut == in_hang).all()
    assert np.allclose(calls.loc[cut, "billed_ms"], 10_000)  # its work and its wait
    assert calls["billed_ms"].max() == pytest.approx(10_000)
    assert result.summary()["caller_timeouts"] == in_hang.sum()
    assert (calls.loc[cut, "outcome"] == "cancelled").all()  # killed: cancelled, billed
    assert result.summary()["errors"] >= in_hang.sum()  # the partition counts them as errors
    # the callee is not the caller: it keeps running (and billing) to its own 15 s
    assert result.executions["billed_ms"].max() == pytest.approx(15_000)
    unlimited = simulate(no_protection, dataclasses.replace(scenario, caller_timeout_s=None))
    assert unlimited.calls["billed_ms"].max() == pytest.approx(15_015)
    assert unlimited.caller_bill.total > result.caller_bill.total


def test_the_callee_concurrency_limit_throttles_and_bills_nothing() -> None:
    """Beyond concurrency_limit executions the platform refuses fast; refused calls cost the
    callee nothing and abandoned executions keep their slot until they end."""
    from costmodel import DownstreamThrottled, estimate

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=100, duration_s=60),
        downstream=Downstream(
            latency=80.0, timeout_s=15, invoke_overhead_ms=10, concurrency_limit=500
        ),
        windows=(Window(kind="hang", start_s=10, end_s=40),),
    )
    result = simulate(timeout_only, scenario)  # the caller gives up at 2 s; the callee runs on
    executions = result.executions
    running = max_overlap(  # less 1 us: an end and a start at one instant, up to float noise
        executions["start_s"].to_numpy(), executions["duration_ms"].to_numpy() / 1000 - 1e-6
    )
    assert running == 500
    assert result.timeline["executions_running"].max() == 500
    throttled = result.summary()["throttled"]
    assert throttled == result.timeline["throttled"].sum() > 0
    attempts = result.ledger[result.ledger["kind"] == "attempt"]
    assert len(attempts) == len(executions) + throttled
    assert (result.calls["error_type"] == DownstreamThrottled.__qualname__).sum() == throttled
    callee = estimate(
        "aws-lambda",
        invocations=len(executions),
        duration_ms=executions["duration_ms"],
        memory_mb=1024,
    )
    assert float(result.callee_bill.total) == pytest.approx(float(callee.total))
    unlimited = simulate(
        timeout_only,
        dataclasses.replace(
            scenario, downstream=dataclasses.replace(scenario.downstream, concurrency_limit=None)
        ),
    )
    assert unlimited.timeline["executions_running"].max() > 1000
    assert unlimited.summary()["throttled"] == 0


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Downstream(latency=1.0, concurrency_limit=0), "concurrency_limit=0"),
        (lambda: Downstream(latency=1.0, concurrency_limit=2.5), "concurrency_limit=2.5"),
        (
            lambda: Scenario(
                arrivals=ConstantRate(rate_per_s=1, duration_s=5),
                downstream=Downstream(latency=1.0),
                caller_work_ms=500,
                caller_timeout_s=0.5,
            ),
            "caller_timeout_s=0.5: must leave time",
        ),
    ],
)
def test_platform_limits_are_checked(build: Callable[[], object], match: str) -> None:
    """A concurrency limit below 1 or a caller timeout within its own work is refused."""
    with pytest.raises(InvalidUsage, match=match):
        build()


@pytest.mark.parametrize("skew", [0.0, 1.0])
def test_cache_removes_callee_calls_in_proportion_to_its_hit_ratio(skew: float) -> None:
    """A TTL cache removes exactly one callee call per hit, compared with the same traffic
    uncached, and its hit ratio is the renewal-theory one: sum_k p_k x l_k T / (1 + l_k T)."""
    keys, rate, ttl = 100, 100.0, 10.0
    scenario = Scenario(
        arrivals=PoissonArrivals(rate_per_s=rate, duration_s=600),
        downstream=Downstream(latency=1.0),
        keys=keys,
        key_skew=skew,
    )
    table = compare_policies(
        {
            "cached": lambda sim: Policy(
                cache=cached(ttl=ttl, maxsize=1000, clock=sim.clock),
                ledger=sim.ledger,
                clock=sim.clock,
            ),
            "uncached": no_protection,
        },
        scenario,
    )
    cached_row, uncached_row = table.loc["cached"], table.loc["uncached"]
    assert uncached_row["callee_calls"] == uncached_row["calls"]
    removed = uncached_row["callee_calls"] - cached_row["callee_calls"]
    assert removed == cached_row["cache_hits"] > 0
    weights = 1.0 / np.arange(1, keys + 1) ** skew
    share = weights / weights.sum()  # p_k: each key's share of the calls
    per_key = rate * share * ttl  # l_k T: a key's calls within one TTL
    expected = float((share * per_key / (1 + per_key)).sum())
    assert removed / cached_row["calls"] == pytest.approx(expected, abs=0.01)


def test_bulkhead_limits_concurrent_executions() -> None:
    """A 10-slot bulkhead keeps at most 10 executions in flight and rejects the rest."""
    scenario = Scenario(
        arrivals=PoissonArrivals(rate_per_s=50, duration_s=60),
        downstream=Downstream(latency=1000.0),
    )
    result = simulate(
        lambda sim: Policy(
            bulkhead=bulkhead(10, max_wait_s=0, clock=sim.clock), ledger=sim.ledger, clock=sim.clock
        ),
        scenario,
    )
    executions = result.executions
    assert (
        max_overlap(executions["start_s"].to_numpy(), executions["duration_ms"].to_numpy() / 1000)
        == 10
    )
    row = result.summary()
    assert row["rejected"] > 0.7 * row["calls"]  # 50 arrivals/s, 10 slots of 1 s
    assert row["callee_calls"] + row["rejected"] == row["calls"]
    assert result.timeline["in_flight"].max() >= 10


# -- reproducibility, scale, the frames --------------------------------------------------


def test_same_seed_same_results_other_seed_other_results() -> None:
    """Two runs with one seed are identical, frame for frame; another seed differs."""
    scenario = outage_scenario("outage", duration=200)
    first = simulate(breaker_fallback, scenario, seed=7)
    second = simulate(breaker_fallback, scenario, seed=7)
    pd.testing.assert_frame_equal(first.ledger, second.ledger)
    pd.testing.assert_frame_equal(first.timeline, second.timeline)
    pd.testing.assert_frame_equal(first.executions, second.executions)
    assert first.summary() == second.summary()
    other = simulate(breaker_fallback, scenario, seed=8)
    assert other.summary() != first.summary()


def test_one_hour_at_50_per_second_through_a_full_policy() -> None:
    """180,000 calls through fallback, cache, retry, breaker, bulkhead and timeout."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=50, duration_s=3600),
        downstream=Downstream(latency=lognormal(p50_ms=80, p99_ms=400), error_rate=0.01),
        windows=(Window(kind="outage", start_s=1200, end_s=1500),),
        keys=100_000,
    )

    def full(sim: SimulationContext) -> Policy:
        return Policy(
            fallback=fallback(None),
            cache=cached(ttl=30, maxsize=1000, clock=sim.clock),
            retry=retry(attempts=2, backoff_s=0.05, clock=sim.clock, rng=sim.rng),
            breaker=CircuitBreaker(fail_max=10, reset_timeout_s=20, clock=sim.clock),
            bulkhead=bulkhead(200, clock=sim.clock),
            timeout=2.0,
            ledger=sim.ledger,
            clock=sim.clock,
        )

    result = simulate(full, scenario)
    timeline = result.timeline
    assert len(result.calls) == 180_000
    assert timeline["requests"].sum() == 180_000
    assert (timeline.loc[:3599, "requests"] == 50).all()
    assert (
        timeline[list(("ok", "error", "timeout", "rejected", "fallback", "cache_hit"))].sum(
            axis=None
        )
        == 180_000
    )
    assert result.summary()["errors_seen"] == 0
    assert (timeline.loc[1210:1490, "breaker_state"] != "closed").all()


def test_frames_and_ledger_agree() -> None:
    """The ledger's rows, the call frame, the executions and the timeline tell one story."""
    result = simulate(retry_and_timeout, outage_scenario("outage", duration=120), seed=3)
    ledger = result.ledger
    calls = ledger[ledger["kind"] == "call"]
    attempts = ledger[ledger["kind"] == "attempt"]
    assert len(calls) == len(result.calls)
    assert list(result.timeline.columns) == list(SimulationResult.timeline_columns())
    # every attempt that was not rejected reached the callee
    assert (attempts["outcome"] != "rejected").sum() == len(result.executions)
    assert result.calls["outcome"].value_counts().sort_index().to_dict() == (
        calls["outcome"].value_counts().sort_index().to_dict()
    )
    assert result.timeline["callee_calls"].sum() == len(result.executions)
    assert result.timeline["caller_cost"].sum() == pytest.approx(result.caller_bill.total)
    assert result.timeline["callee_cost"].sum() == pytest.approx(result.callee_bill.total)
    assert ledger["duration_ms"].ge(0).all()


@pytest.mark.parametrize("policy", ["none", "retry"])
def test_outcomes_belong_to_their_call_when_arrival_times_tie(policy: str) -> None:
    """With 20 calls on each trace timestamp, each call keeps its own outcome and duration."""
    offsets = tuple(float(s) for s in np.repeat(np.arange(30), 20))
    scenario = Scenario(
        arrivals=TraceArrivals(offsets_s=offsets),
        downstream=Downstream(
            latency=lognormal(p50_ms=80, p99_ms=400), error_rate=0.5, error_latency_ms=5
        ),
    )
    factory = no_protection if policy == "none" else retry_and_timeout
    calls = simulate(factory, scenario, seed=2).calls
    failed = calls["outcome"] == "error"
    assert 0 < failed.sum() < len(calls)
    # the outcome the ledger wrote and the error the caller got agree call by call
    assert (failed == calls["error_type"].notna()).all()
    if policy == "none":  # one attempt: a failure answers in 5 ms, a success takes longer
        assert np.allclose(calls.loc[failed, "duration_ms"], 5.0)
        assert (calls.loc[~failed, "duration_ms"] != 5.0).all()


def test_a_bounded_ledger_still_gives_every_call_its_outcome() -> None:
    """Outcomes come from the rows as they are written, not from the rows a ledger keeps."""
    clock, ledger = VirtualClock(), Ledger(max_records=10)
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=10),
        downstream=Downstream(latency=5.0, error_rate=0.3),
    )
    result = simulate(Policy(ledger=ledger, clock=clock), scenario)
    assert result.calls["outcome"].notna().all()
    failed = result.calls["outcome"] == "error"
    assert (failed == result.calls["error_type"].notna()).all()
    assert len(result.ledger) == 10


def test_progress_reports_every_second() -> None:
    """progress(started, total) is called as calls start, ending at the total."""
    seen: list[tuple[int, int]] = []
    simulate(
        no_protection,
        Scenario(
            arrivals=ConstantRate(rate_per_s=10, duration_s=30), downstream=Downstream(latency=5.0)
        ),
        progress=lambda started, total: seen.append((started, total)),
    )
    assert seen[-1] == (300, 300)
    assert [s for s, _ in seen] == sorted(s for s, _ in seen)
    assert len(seen) >= 30


def test_a_ready_made_policy_on_the_virtual_clock() -> None:
    """A Policy built with VirtualClock() (reading the running loop) can be simulated."""
    clock, ledger = VirtualClock(), Ledger()
    policy = Policy(
        breaker=CircuitBreaker(fail_max=3, clock=clock), ledger=ledger, clock=clock, name="ready"
    )
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=10), downstream=Downstream(latency=5.0)
    )
    result = simulate(policy, scenario)
    assert result.name == "ready"
    assert len(result.calls) == 100
    assert len(ledger.records()) == 200


# -- bad input ---------------------------------------------------------------------------

SMALL = Scenario(
    arrivals=ConstantRate(rate_per_s=1, duration_s=5), downstream=Downstream(latency=1.0)
)


def test_a_policy_must_be_a_resilience_policy() -> None:
    """Anything but a Policy or a factory of one fails, saying what is expected."""
    with pytest.raises(InvalidUsage, match=r"must be a resilience\.Policy or a factory"):
        simulate("retry", SMALL)  # type: ignore[arg-type]
    with pytest.raises(
        InvalidUsage, match=r"the factory returned .* must return a resilience\.Policy"
    ):
        simulate(lambda sim: retry(attempts=3), SMALL)  # type: ignore[arg-type,return-value]
    with pytest.raises(InvalidUsage, match="scenario="):
        simulate(no_protection, "outage")  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="caller_memory_mb=0"):
        simulate(no_protection, SMALL, caller_memory_mb=0)
    with pytest.raises(InvalidUsage, match="policies="):
        compare_policies({}, SMALL)


@pytest.mark.parametrize(
    ("policy", "match"),
    [
        (Policy, "a class was given"),
        (lambda: None, "called with one argument"),
        (lambda sim, extra: None, "called with one argument"),
    ],
)
def test_a_class_or_a_factory_of_the_wrong_arity_is_refused(policy: object, match: str) -> None:
    """The Policy class, or a factory not taking (sim), fail as InvalidUsage, not TypeError."""
    with pytest.raises(InvalidUsage, match=match):
        simulate(policy, SMALL)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match=r"policies\['p'\].*" + match):
        compare_policies({"ok": no_protection, "p": policy}, SMALL)  # type: ignore[dict-item]


def test_parts_on_the_system_clock_are_refused() -> None:
    """A breaker on the real clock would never reset in virtual time: refused by name."""
    with pytest.raises(InvalidUsage, match=r"policy\.breaker: runs on SystemClock"):
        simulate(
            lambda sim: Policy(breaker=CircuitBreaker(), ledger=sim.ledger, clock=sim.clock),
            SMALL,
        )
    with pytest.raises(InvalidUsage, match="policy: runs on SystemClock"):
        simulate(lambda sim: Policy(ledger=sim.ledger), SMALL)
    with pytest.raises(InvalidUsage, match="has no ledger"):
        simulate(lambda sim: Policy(clock=sim.clock), SMALL)


def test_a_policy_reused_across_simulations_is_refused() -> None:
    """A Policy whose clock belongs to a finished simulation is refused."""
    kept: list[Policy] = []

    def factory(sim: SimulationContext) -> Policy:
        kept.append(no_protection(sim))
        return kept[-1]

    simulate(factory, SMALL)
    with pytest.raises(InvalidUsage, match="another simulation"):
        simulate(kept[0], SMALL)


# -- files -------------------------------------------------------------------------------


def test_the_example_file_loads_and_runs_briefly(tmp_path: Path) -> None:
    """examples/outage.toml declares four policies; a shortened copy runs."""
    spec = load_simulation(EXAMPLE)
    assert list(spec.policies) == [
        "no protection",
        "retry only",
        "breaker + fallback",
        "breaker + fallback + cache",
    ]
    assert spec.scenario.arrivals == PoissonArrivals(rate_per_s=200, duration_s=1200)
    short = tmp_path / "short.toml"
    text = EXAMPLE.read_text()
    text = text.replace("rate_per_s = 200", "rate_per_s = 20").replace(
        "duration_s = 1200", "duration_s = 240"
    )
    text = text.replace("start_s = 300", "start_s = 60").replace("end_s = 900", "end_s = 180")
    short.write_text(text)
    table = load_simulation(short).compare()
    assert list(table.index) == list(spec.policies)
    assert table.loc["breaker + fallback", "total_cost"] < table.loc["no protection", "total_cost"]
    assert table.loc["breaker + fallback + cache", "cache_hits"] > 0
    assert table.loc["breaker + fallback", "errors_seen"] == 0


@pytest.mark.parametrize(
    ("policy", "field", "reason"),
    [
        ("retry = { attempts = 0 }", "policies.p.retry.attempts", "integer >= 1"),
        ("retry = { tries = 3 }", "policies.p.retry.tries", "unknown field"),
        (
            "breaker = { fail_max = 5, reset_timeout_s = -1 }",
            "policies.p.breaker.reset_timeout_s",
            "",
        ),
        ('retry = { on = ["Gremlin"] }', "policies.p.retry.on", "unknown exception"),
        ("wings = 2", "policies.p.wings", "unknown field"),
        ("timeout = -2", "policies.p.timeout.timeout_s", ""),
    ],
)
def test_bad_policies_in_a_file_name_the_field(
    tmp_path: Path, policy: str, field: str, reason: str
) -> None:
    """A bad policy option fails at load with InvalidFile naming policies.NAME.part.option."""
    text = EXAMPLE.read_text().split('[policies."no protection"]')[0]
    path = tmp_path / "bad.toml"
    path.write_text(text + f"[policies.p]\n{policy}\n")
    with pytest.raises(InvalidFile) as caught:
        load_simulation(path)
    assert caught.value.field == field
    assert reason in caught.value.reason


def test_file_settings_are_checked(tmp_path: Path) -> None:
    """Unknown provider, bad memory, missing policies: each named."""
    base = EXAMPLE.read_text()
    cases = [
        (
            base.replace('provider = "aws-lambda"', 'provider = "aws-lambada"'),
            "simulation.provider",
        ),
        (
            base.replace("caller_memory_mb = 512", "caller_memory_mb = -1"),
            "simulation.caller_memory_mb",
        ),
        (base.split('[policies."no protection"]')[0], "policies"),
    ]
    for text, field in cases:
        path = tmp_path / "f.toml"
        path.write_text(text)
        with pytest.raises(InvalidFile) as caught:
            load_simulation(path)
        assert caught.value.field == field


# -- providers and their options -------------------------------------------------------


def test_alibaba_fc3_with_vcpu_bills_like_bill_ledger() -> None:
    """On alibaba-fc3 the vcpu option reaches both bills (caller_options the caller's only)."""
    from costmodel import estimate

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=10), downstream=Downstream(latency=100.0)
    )
    result = simulate(
        no_protection,
        scenario,
        provider="alibaba-fc3",
        options={"vcpu": 1.0},
        caller_options={"vcpu": 0.5},
    )
    assert result.provider == "alibaba-fc3"
    callee = estimate("alibaba-fc3", invocations=100, duration_ms=100.0, memory_mb=1024, vcpu=1.0)
    caller = estimate("alibaba-fc3", invocations=100, duration_ms=100.0, memory_mb=512, vcpu=0.5)
    assert float(result.callee_bill.total) == pytest.approx(float(callee.total))
    assert float(result.caller_bill.total) == pytest.approx(float(caller.total))
    table = compare_policies(
        {"none": no_protection},
        scenario,
        provider="alibaba-fc3",
        options={"vcpu": 1.0},
        caller_options={"vcpu": 0.5},
    )
    assert table.loc["none", "callee_cost"] == pytest.approx(float(callee.total))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"provider": "alibaba-fc3"}, InvalidUsage, "vcpu is required.*options"),
        ({"provider": "aws-lamda"}, KeyError, "did you mean 'aws-lambda'"),
        ({"provider": "aws-sqs-standard"}, InvalidUsage, "not a function platform"),
        ({"options": {"vcpu": 0.5}}, InvalidUsage, "aws-lambda does not bill option.*vcpu"),
        ({"caller_options": {"colour": 1}}, InvalidUsage, "caller_options"),
        ({"seed": -1}, InvalidUsage, r"seed=-1: must be an integer >= 0"),
        ({"seed": 1.5}, InvalidUsage, r"seed=1.5"),
    ],
)
def test_bad_billing_settings_fail_before_running(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    """A wrong provider, option or seed fails at once: no simulated second runs."""
    started: list[int] = []
    with pytest.raises(error, match=match):
        simulate(no_protection, SMALL, progress=lambda done, total: started.append(done), **kwargs)  # type: ignore[arg-type]
    assert started == []
    with pytest.raises(error, match=match):
        compare_policies(
            {"x": no_protection},
            SMALL,
            progress=lambda name, done, total: started.append(done),
            **kwargs,  # type: ignore[arg-type]
        )
    assert started == []


def test_file_options_and_cli_options(tmp_path: Path) -> None:
    """[simulation] options and -o KEY=VALUE reach the bills; a missing vcpu names the field."""
    import io

    from costmodel.cli import main

    text = (
        EXAMPLE.read_text()
        .replace("rate_per_s = 200", "rate_per_s = 5")
        .replace("duration_s = 1200", "duration_s = 60")
        .replace("start_s = 300", "start_s = 20")
        .replace("end_s = 900", "end_s = 40")
    )
    path = tmp_path / "fc.toml"
    path.write_text(text.replace('provider = "aws-lambda"', 'provider = "alibaba-fc3"'))
    with pytest.raises(InvalidFile) as caught:
        load_simulation(path)
    assert caught.value.field == "simulation.options"
    assert "vcpu is required" in caught.value.reason
    path.write_text(
        text.replace(
            'provider = "aws-lambda"', 'provider = "alibaba-fc3"\noptions = { vcpu = 0.5 }'
        )
    )
    spec = load_simulation(path)
    assert spec.options == {"vcpu": 0.5}
    out, err = io.StringIO(), io.StringIO()
    args = ["simulate", str(EXAMPLE), "--no-charts", "--no-progress", "--format", "csv"]
    # the docs' command (simulate page): the example on Alibaba FC; without vcpu it fails at once
    assert main([*args, "--provider", "alibaba-fc3"], out=out, err=err) == 2
    assert "vcpu is required" in err.getvalue() and out.getvalue() == ""
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    status = main(
        [
            "simulate",
            str(path),
            "--no-charts",
            "--no-progress",
            "--format",
            "csv",
            "--provider",
            "alibaba-fc3",
            "-o",
            "vcpu=0.5",
        ],
        out=out,
        err=err,
    )
    assert status == 0, err.getvalue()
    assert out.getvalue().splitlines()[0].startswith("policy,calls,caller_cost")


@pytest.mark.parametrize("provider", ["gcp-functions-gen1", "azure-functions-consumption"])
def test_a_window_costs_what_billing_its_invocations_alone_costs(provider: str) -> None:
    """With 100 ms rounding, a window's cost and GB-s equal billing the window's calls alone."""
    from costmodel import bill_ledger, estimate

    scenario = outage_scenario("hang", rate=20, duration=240)
    result = simulate(breaker_fallback, scenario, provider=provider, seed=4)
    for start_s, end_s in ((0, 60), (60, 180), (180, 240)):
        row = result.summary(start_s=start_s, end_s=end_s)
        caller = bill_ledger(
            result.ledger,
            provider=provider,
            callee_memory_mb=1024,
            caller_memory_mb=512,
            start_s=start_s,
            end_s=end_s,
        ).caller_bill
        assert caller is not None
        ran = result.executions
        ran = ran[(ran["start_s"] >= start_s) & (ran["start_s"] < end_s)]
        callee = estimate(
            provider, invocations=len(ran), duration_ms=ran["duration_ms"], memory_mb=1024
        )
        assert row["caller_cost"] == pytest.approx(float(caller.total), rel=1e-9)
        assert row["caller_gb_s"] == pytest.approx(caller.usage["gb_seconds"], rel=1e-9)
        assert row["callee_cost"] == pytest.approx(float(callee.total), rel=1e-9)
        assert row["callee_gb_s"] == pytest.approx(callee.usage["gb_seconds"], rel=1e-9)
    # the timeline's seconds add up to the same windows
    timeline = result.timeline.set_index("second")
    during = result.summary(start_s=60, end_s=180)
    assert timeline.loc[60:179, "caller_cost"].sum() == pytest.approx(during["caller_cost"])
    assert timeline.loc[60:179, "callee_cost"].sum() == pytest.approx(during["callee_cost"])


def test_downstream_errors_are_what_retry_sees() -> None:
    """The simulated downstream raises DownstreamError, retried like any error."""
    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=10, duration_s=10),
        downstream=Downstream(latency=10.0, error_rate=1.0),
    )
    result = simulate(retry_and_timeout, scenario)
    assert len(result.executions) == 300
    assert set(result.calls["error_type"].dropna()) == {DownstreamError.__qualname__}


# -- agreement with the analytic model ---------------------------------------------------


def test_agrees_with_compare_for_the_equivalent_sync_chain() -> None:
    """Independent failures, no outage: cost per million and mean latency within 2%
    of costmodel.compare() for the same sync chain (retries, backoff, overhead)."""
    from costmodel.architectures.comparison import compare
    from costmodel.architectures.compositions import Function, simulate_usage, sync_chain
    from costmodel.architectures.distributions import fixed

    latency = lognormal(p50_ms=80, p99_ms=300)
    caller_work_ms, overhead_ms, error_rate = 12.0, 15.0, 0.05
    chain = sync_chain(
        Function("caller", memory_mb=512, duration=fixed(caller_work_ms)),
        Function("callee", memory_mb=1024, duration=latency, error_rate=error_rate),
        via="direct",
        overhead_ms=overhead_ms,
        retries=2,
        backoff_ms=100,
        backoff_multiplier=2,
    )
    scenario = Scenario(
        arrivals=PoissonArrivals(rate_per_s=100, duration_s=1000),
        downstream=Downstream(
            latency=latency, error_rate=error_rate, invoke_overhead_ms=overhead_ms, timeout_s=60
        ),
        caller_work_ms=caller_work_ms,
    )

    def retries_as_in_the_chain(sim: SimulationContext) -> Policy:
        return Policy(
            retry=retry(
                attempts=3, backoff_s=0.1, jitter="none", budget=None, clock=sim.clock, rng=sim.rng
            ),
            ledger=sim.ledger,
            clock=sim.clock,
        )

    result = simulate(
        retries_as_in_the_chain, scenario, caller_memory_mb=512, callee_memory_mb=1024
    )
    calls = len(result.calls)
    analytic = compare({"sync": chain}, invocations=calls, samples=200_000)
    simulated_per_million = result.total_cost / calls * 1e6
    assert simulated_per_million == pytest.approx(analytic.loc["sync", "usd_per_million"], rel=0.02)
    usage = simulate_usage(chain, samples=200_000, seed=0)
    simulated_mean_ms = result.latency_ms()["mean"] + caller_work_ms
    assert simulated_mean_ms == pytest.approx(float(usage.response_ms.mean()), rel=0.02)
    # and the retries happened as modelled: attempts per call = 1 + p + p^2
    attempts = len(result.executions) / calls
    assert attempts == pytest.approx(1 + error_rate + error_rate**2, rel=0.01)


def test_simulate_from_inside_a_running_event_loop() -> None:
    """Called where a loop already runs (Jupyter, an async app), it runs in its own thread."""
    import asyncio

    async def main() -> int:
        return len(simulate(no_protection, SMALL).calls)

    assert asyncio.run(main()) == 5


def test_cli_simulate_prints_the_table_and_writes_the_charts(tmp_path: Path) -> None:
    """`costmodel simulate FILE` prints one column per policy, the outage window, the
    chart paths, and a progress bar on a terminal's stderr; bad input exits 2 with one
    line. The calls by final outcome sum to the calls, and the breaker's rejections have
    their own line even when the fallback answered every call."""
    import io

    from costmodel.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    short = tmp_path / "short.toml"
    short.write_text(
        EXAMPLE.read_text()
        .replace("rate_per_s = 200", "rate_per_s = 5")
        .replace("duration_s = 1200", "duration_s = 120")
        .replace("start_s = 300", "start_s = 30")
        .replace("end_s = 900", "end_s = 90")
    )
    out, err = io.StringIO(), Terminal()
    assert main(["simulate", str(short), "--out", str(tmp_path / "charts")], out=out, err=err) == 0
    text = out.getvalue()
    assert "breaker + fallback + cache" in text and "latency p99" in text
    assert "Calls that arrived during the hang 30-90 s:" in text
    charts = [
        line.removeprefix("chart: ") for line in text.splitlines() if line.startswith("chart: ")
    ]
    assert [Path(c).name for c in charts] == ["simulation_timeline.png", "simulation_costs.png"]
    assert all(Path(c).stat().st_size > 10_000 for c in charts)
    assert "calls" in err.getvalue()  # the progress bar
    table = text.split("\n\n")[0].splitlines()[1:]
    rows = dict(re.match(r"^(.*?\S) {2,}(.*)$", line).groups() for line in table[1:])  # type: ignore[union-attr]
    counts = {
        label: [int(v.replace(",", "")) for v in values.split()]
        for label, values in rows.items()
        if not any(c in values for c in "$ms")
    }
    outcomes = [label for label in counts if label.startswith("  ")]
    assert "  answered by the fallback" in outcomes
    for i, calls in enumerate(counts["calls"]):
        assert sum(counts[label][i] for label in outcomes) == calls
    rejected = counts["attempts rejected by the breaker"]
    assert rejected[0] == 0 and rejected[2] > 0  # no protection / breaker + fallback
    assert "  rejected, no fallback" not in counts  # zero for every policy: hidden
    out, err = io.StringIO(), io.StringIO()
    assert (
        main(
            ["simulate", str(short), "--format", "csv", "--no-charts", "--no-progress"],
            out=out,
            err=err,
        )
        == 0
    )
    assert out.getvalue().splitlines()[0].startswith("policy,calls,caller_cost")
    assert err.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    assert main(["simulate", str(short), "--provider", "aws-lambada"], out=out, err=err) == 2
    assert err.getvalue().count("\n") == 1 and "aws-lambada" in err.getvalue()
    short.write_text(EXAMPLE.read_text().replace("rate_per_s = 200", "rate_per_s = -1"))
    assert main(["simulate", str(short)], out=io.StringIO(), err=(err := io.StringIO())) == 2
    assert "arrivals.rate_per_s" in err.getvalue()


def test_timeline_chart_puts_costs_on_a_log_panel_and_legends_outside() -> None:
    """Cheap policies' cumulative cost stays visible (log panel), legends clear the data."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.colors import to_rgb

    from costmodel import plots

    results: dict[str, SimulationResult] = {}
    compare_policies(
        {"none": no_protection, "breaker": breaker_fallback},
        outage_scenario("hang", rate=10, duration=240),
        results=results,
    )
    ax = plots.simulation_timeline(results)
    figure = ax.figure
    outcomes, costs = figure.axes
    assert outcomes is ax and costs.get_yscale() == "log"
    lines = costs.get_lines()
    assert [line.get_label().split(":")[0] for line in lines] == ["none", "breaker"]
    cheap = lines[1].get_ydata()[-1]
    assert cheap < results["none"].total_cost / 10
    assert costs.get_ylim()[0] < cheap  # on the chart, not flat on an axis
    for panel in (outcomes, costs):
        anchor = panel.get_legend().get_bbox_to_anchor().transformed(panel.transAxes.inverted())
        assert anchor.x0 > 1.0  # to the right of the plotting area
    colours = [np.array(to_rgb(line.get_color())) for line in lines]
    assert np.abs(colours[0] - colours[1]).sum() > 0.5
    assert lines[0].get_linestyle() != lines[1].get_linestyle()
    matplotlib.pyplot.close(figure)


def test_calls_partition_by_final_outcome_and_rejected_attempts_are_counted_apart() -> None:
    """summary(): the calls by final outcome sum to the calls, for the whole run and for a
    window; the breaker's rejected attempts are counted even when the fallback answered."""
    spec = load_simulation(EXAMPLES / "outage_short.toml")
    scenario = dataclasses.replace(
        spec.scenario,
        arrivals=PoissonArrivals(rate_per_s=5, duration_s=120),
        windows=(Window(kind="hang", start_s=20, end_s=80),),
    )
    table = compare_policies(spec.policies, scenario)
    during = compare_policies(spec.policies, scenario, window=(20, 80))
    parts = ["ok", "errors", "timeouts", "rejected", "fallbacks", "cache_hits"]
    for frame in (table, during):
        assert (frame[parts].sum(axis=1) == frame["calls"]).all()
    breaker = table.loc["breaker + fallback"]
    assert breaker["breaker_rejections"] > 0 and breaker["rejected"] == 0
    assert breaker["fallbacks"] >= breaker["breaker_rejections"]
    assert table.loc["no protection", "breaker_rejections"] == 0
    assert (table["limiter_rejections"] == 0).all()


def test_a_full_bulkhead_counts_as_a_limiter_rejection_not_a_breaker_one() -> None:
    """Attempts a full bulkhead refused are limiter rejections; the calls still partition."""

    def one_at_a_time(sim: SimulationContext) -> Policy:
        return Policy(bulkhead=bulkhead(1, clock=sim.clock), ledger=sim.ledger, clock=sim.clock)

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=20, duration_s=5),
        downstream=Downstream(latency=400.0),
    )
    row = simulate(one_at_a_time, scenario).summary()
    assert row["limiter_rejections"] > 0 and row["breaker_rejections"] == 0
    assert row["rejected"] == row["limiter_rejections"]
    parts = ["ok", "errors", "timeouts", "rejected", "fallbacks", "cache_hits"]
    assert sum(row[p] for p in parts) == row["calls"]


def test_a_rate_limit_saves_the_callee_and_its_waits_cost_the_caller() -> None:
    """A 10/s limit on 40 calls/s: refused calls bill nothing downstream (limiter
    rejections, folded into ``rejected``); with wait_s, calls queue for their turn and
    the caller, itself a function, is billed for the wait."""
    from resilience import rate_limit

    def limited(wait_s: float) -> Callable[[SimulationContext], Policy]:
        def build(sim: SimulationContext) -> Policy:
            limit = rate_limit(10, per_s=1, burst=5, wait_s=wait_s, clock=sim.clock)
            return Policy(rate_limit=limit, ledger=sim.ledger, clock=sim.clock)

        return build

    def bare(sim: SimulationContext) -> Policy:
        return Policy(ledger=sim.ledger, clock=sim.clock)

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=40, duration_s=30), downstream=Downstream(latency=50.0)
    )
    table = compare_policies(
        {"bare": bare, "refuse": limited(0.0), "queue": limited(0.3)}, scenario
    )
    refuse, queue, free = table.loc["refuse"], table.loc["queue"], table.loc["bare"]
    assert free["callee_calls"] == free["calls"] == 1200
    assert refuse["limiter_rejections"] == refuse["rejected"] == 1200 - refuse["callee_calls"]
    assert refuse["callee_calls"] <= 5 + 10 * 30 + 1  # burst + rate x window
    assert refuse["callee_cost"] < free["callee_cost"] / 3
    assert queue["callee_calls"] <= 5 + 10 * 30.3 + 1
    assert queue["caller_gb_s"] > refuse["caller_gb_s"]  # the queued calls' waits are billed
    parts = ["ok", "errors", "timeouts", "rejected", "fallbacks", "cache_hits"]
    assert all(sum(row[p] for p in parts) == row["calls"] for _, row in table.iterrows())


def test_a_simulation_file_takes_a_rate_limit(tmp_path: Path) -> None:
    """[policies.X] rate_limit = {rate, per_s, burst, wait_s}; bad options name the field."""
    body = (EXAMPLES / "outage_short.toml").read_text()
    head = body.split("[policies.", 1)[0]
    path = tmp_path / "limited.toml"
    path.write_text(
        head + '[policies."limited"]\nrate_limit = { rate = 10, per_s = 1, burst = 5 }\n'
    )
    spec = load_simulation(path)
    row = spec.compare().loc["limited"]
    assert row["limiter_rejections"] > 0
    path.write_text(head + '[policies."limited"]\nrate_limit = { rate = 0 }\n')
    with pytest.raises(InvalidFile, match=r"policies\.limited\.rate_limit.*rate=0"):
        load_simulation(path)


def test_an_aimd_caller_settles_at_the_reserved_concurrency() -> None:
    """A callee with a reserved concurrency of 20 throttles beyond it; an AIMD limit in the
    caller's Policy settles near 20 and more than halves the throttles of a fixed 100."""
    from resilience import adaptive_limit

    def aimd(sim: SimulationContext) -> Policy:
        limit = adaptive_limit("aimd", initial_limit=50, clock=sim.clock)
        return Policy(bulkhead=limit, ledger=sim.ledger, clock=sim.clock)

    def fixed(sim: SimulationContext) -> Policy:
        return Policy(bulkhead=bulkhead(100, clock=sim.clock), ledger=sim.ledger, clock=sim.clock)

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=400, duration_s=60),
        downstream=Downstream(latency=lognormal(p50_ms=80, p99_ms=200), concurrency_limit=20),
    )
    adaptive = simulate(aimd, scenario, seed=1)
    limited = simulate(fixed, scenario, seed=1)
    busy = adaptive.timeline["in_flight"].iloc[20:]
    assert 12 <= busy.mean() <= 26  # near the reserved concurrency, after a settling spell
    assert adaptive.summary()["throttled"] < limited.summary()["throttled"] / 2


def test_a_simulation_file_takes_an_adaptive_limit(tmp_path: Path) -> None:
    """adaptive_limit = {...} in a policy builds a moving bulkhead; with bulkhead too: an
    error naming the field."""
    body = (EXAMPLES / "outage_short.toml").read_text()
    head = body.split("[policies.", 1)[0]
    path = tmp_path / "adaptive.toml"
    path.write_text(head + '[policies."aimd"]\nadaptive_limit = { algorithm = "aimd" }\n')
    assert load_simulation(path).compare().loc["aimd", "calls"] > 0
    path.write_text(
        head + '[policies."both"]\nbulkhead = 5\nadaptive_limit = { algorithm = "aimd" }\n'
    )
    with pytest.raises(InvalidFile, match=r"policies\.both\.adaptive_limit.*one bulkhead"):
        load_simulation(path)
    path.write_text(head + '[policies."x"]\nadaptive_limit = { algorithm = "tcp" }\n')
    with pytest.raises(InvalidFile, match=r"policies\.x\.adaptive_limit.*algorithm='tcp'"):
        load_simulation(path)


def test_a_rate_limiter_refusal_is_a_limiter_rejection_and_a_final_outcome() -> None:
    """Calls our rate limiter refused (no fallback) are counted rejected, their attempts as
    limiter rejections (not the breaker's), and the calls still partition."""
    from resilience import rate_limit

    def limited(sim: SimulationContext) -> Policy:
        limit = rate_limit(5, per_s=1.0, burst=5, clock=sim.clock)
        return Policy(rate_limit=limit, ledger=sim.ledger, clock=sim.clock)

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=20, duration_s=5),
        downstream=Downstream(latency=50.0),
    )
    row = simulate(limited, scenario).summary()
    assert row["rejected"] > 0 and row["limiter_rejections"] == row["rejected"]
    assert row["breaker_rejections"] == 0
    parts = ["ok", "errors", "timeouts", "rejected", "fallbacks", "cache_hits"]
    assert sum(row[p] for p in parts) == row["calls"]


def test_a_simulation_bills_in_a_region(tmp_path: Path) -> None:
    """region= prices both bills on that region's sheet; an unknown one is an error naming
    the setting (and, from a file, its field) before anything runs."""

    def bare(sim: SimulationContext) -> Policy:
        return Policy(ledger=sim.ledger, clock=sim.clock)

    scenario = Scenario(
        arrivals=ConstantRate(rate_per_s=5, duration_s=4), downstream=Downstream(latency=100.0)
    )
    there = simulate(bare, scenario, region="ap-southeast-1")
    from costmodel import price_sheet

    assert there.callee_bill.accounts[0][0] == price_sheet("aws-lambda", region="ap-southeast-1")
    with pytest.raises(InvalidUsage, match="mars-1"):
        simulate(bare, scenario, region="mars-1")
    body = (EXAMPLES / "outage_short.toml").read_text()
    path = tmp_path / "region.toml"
    path.write_text(body.replace("[simulation]\n", '[simulation]\nregion = "mars-1"\n', 1))
    with pytest.raises(InvalidFile, match=r"simulation\.region.*mars-1"):
        load_simulation(path)
