"""Transitions of public state machines (tests/fixtures/asl, cited in its README)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel import Function, InvalidFile, fixed
from costmodel.iac.asl import from_asl, usage_skeleton

ASL = Path(__file__).parents[2] / "fixtures" / "asl"
POWER_TUNING = {
    "initializerArn": "arn:aws:lambda:us-east-1:1:function:initializer",
    "publisherArn": "arn:aws:lambda:us-east-1:1:function:publisher",
    "executorArn": "arn:aws:lambda:us-east-1:1:function:executor",
    "cleanerArn": "arn:aws:lambda:us-east-1:1:function:cleaner",
    "analyzerArn": "arn:aws:lambda:us-east-1:1:function:analyzer",
    "optimizerArn": "arn:aws:lambda:us-east-1:1:function:optimizer",
    "totalExecutionTimeout": "300",
}


@pytest.mark.parametrize("n", [0, 1, 10, 37])
def test_map_sample_is_four_plus_three_n(n: int) -> None:
    """Task -> Choice -> Map of 3 Tasks -> Succeed: T = 4 + 3N (N messages)."""
    sm = from_asl(ASL / "map-state.asl.json", usage={"states": {"Process Messages": {"items": n}}})
    assert sm.transitions(samples=50).tolist() == [4.0 + 3 * n] * 50


def test_map_sample_with_poisson_items_has_the_mean_of_four_plus_three_n() -> None:
    """Items drawn from a distribution: the mean follows E[4 + 3N]."""
    usage = {"states": {"Process Messages": {"items": {"poisson": 10}}}}
    t = from_asl(ASL / "map-state.asl.json", usage=usage).transitions(samples=40_000, seed=3)
    assert t.mean() == pytest.approx(34.0, rel=0.01)
    assert set(((t - 4) % 3).tolist()) == {0.0}


def test_map_sample_takes_the_no_messages_branch_with_its_probability() -> None:
    """choices: 30% of executions find no messages (Task, Choice, Succeed = 3)."""
    usage = {
        "states": {
            "Process Messages": {"items": 10},
            "Are there messages to process?": {"choices": {"Finish": 0.3}},
        }
    }
    t = from_asl(ASL / "map-state.asl.json", usage=usage).transitions(samples=20_000, seed=1)
    assert set(t.tolist()) == {3.0, 34.0}
    assert (t == 3.0).mean() == pytest.approx(0.3, abs=0.015)


@pytest.mark.parametrize("retries", range(7))
def test_retry_sample_is_two_plus_r(retries: int) -> None:
    """One Task (MaxAttempts 6) then Succeed, or Fail after the 6th retry: T = 2 + r."""
    sm = from_asl(
        ASL / "retry-backoff.asl.json",
        usage={"states": {"Generate random response": {"failure_probability": 0.5}}},
    )
    runs = sm.executions(40_000, np.random.default_rng(5))
    t = runs.transitions
    assert set(t.tolist()) == set(range(2, 9))
    # r retries happen with probability 0.5^r * 0.5 (r < 6), r = 6 with 0.5^6
    expected = 0.5**retries * (0.5 if retries < 6 else 1.0)
    assert (t == 2 + retries).mean() == pytest.approx(expected, abs=0.01)
    assert runs.ok[t == 8].mean() < runs.ok[t == 2].mean()  # the 7th failure is caught to Fail


def test_retry_sample_express_duration_adds_the_backoff_waits() -> None:
    """Waits 2+4+8+16+32+64 = 126 s when every retry is taken."""
    sm = from_asl(
        ASL / "retry-backoff.asl.json",
        kind="express",
        usage={
            "states": {"Generate random response": {"failure_probability": 1.0, "duration_ms": 100}}
        },
    )
    runs = sm.executions(10, np.random.default_rng(0))
    assert runs.transitions.tolist() == [8.0] * 10
    assert runs.duration_ms.tolist() == [126_000.0 + 7 * 100.0] * 10
    assert not runs.ok.any()


def test_retry_sample_names_the_error_and_a_non_matching_one_is_not_retried() -> None:
    """error: a name the Retry rule does not list goes straight to the Catch."""
    base = {"failure_probability": 1.0}
    sm = from_asl(
        ASL / "retry-backoff.asl.json",
        usage={"states": {"Generate random response": {**base, "error": "States.Timeout"}}},
    )
    assert sm.transitions(samples=10).tolist() == [2.0] * 10
    sm = from_asl(
        ASL / "retry-backoff.asl.json",
        usage={"states": {"Generate random response": {**base, "error": "InternalServerError"}}},
    )
    assert sm.transitions(samples=10).tolist() == [8.0] * 10


def power_tuning(n_power: int, **options: object) -> np.ndarray:
    usage = {
        "states": {"Branching": {"items": n_power}, "IsCountReached": {"iterations": n_power - 1}}
    }
    sm = from_asl(ASL / "power-tuning.asl.json", substitutions=POWER_TUNING, usage=usage, **options)
    return sm.transitions(samples=20)


@pytest.mark.parametrize("n_power", [1, 5, 6])
def test_power_tuning_entered_states_are_five_plus_three_n(n_power: int) -> None:
    """Initializer, N x (Publisher + IsCountReached), Branching, N Executors, Cleaner,
    Analyzer, Optimizer: 5 + 3N entered states."""
    assert power_tuning(n_power).tolist() == [5.0 + 3 * n_power] * 20


@pytest.mark.parametrize("n_power", [1, 5, 6])
def test_power_tuning_own_cost_formula_counts_the_start(n_power: int) -> None:
    """Its lambda/utils.js bills 6 + 3N transitions: our count with count_start=True."""
    assert power_tuning(n_power, count_start=True).tolist() == [6.0 + 3 * n_power] * 20


def test_power_tuning_needs_its_substitutions() -> None:
    """An unquoted placeholder left open: invalid JSON, naming line, column and names."""
    with pytest.raises(
        InvalidFile, match=r"line 10, column 25: invalid JSON.*totalExecutionTimeout"
    ):
        from_asl(ASL / "power-tuning.asl.json")


def test_power_tuning_loop_needs_a_bound() -> None:
    """The Publisher loop without iterations: an error naming the loop's states."""
    with pytest.raises(InvalidFile, match=r"loop without a bound: Publisher -> IsCountReached"):
        from_asl(
            ASL / "power-tuning.asl.json",
            substitutions=POWER_TUNING,
            usage={"states": {"Branching": {"items": 3}}},
        )


def test_power_tuning_bills_each_executor_attempt() -> None:
    """Functions mapped by ARN: each Task attempt is one invocation."""
    executor = Function("executor", memory_mb=1024, duration=fixed(1000))
    sm = from_asl(
        ASL / "power-tuning.asl.json",
        substitutions=POWER_TUNING,
        usage={"states": {"Branching": {"items": 5}, "IsCountReached": {"iterations": 4}}},
        functions={"executor": executor},
    )
    runs = sm.executions(30, np.random.default_rng(0))
    ((lanes, usage),) = runs.tally.calls
    assert usage.function is executor and np.bincount(lanes).tolist() == [5] * 30


def test_pagination_loop_follows_the_page_count() -> None:
    """ListExecutions, Choice, k x (nextPage + Choice), Success: T = 3 + 2k."""
    usage = {"states": {"more results?": {"iterations": {"poisson": 2}}}}
    t = from_asl(ASL / "pagination-loop.asl.json", usage=usage).transitions(samples=20_000)
    assert set(((t - 3) % 2).tolist()) == {0.0}
    assert t.mean() == pytest.approx(3 + 2 * 2, rel=0.02)


def test_pagination_loop_without_a_bound_names_its_states() -> None:
    """The Choice loop with no iterations is refused."""
    with pytest.raises(InvalidFile, match=r"List Executions nextPage -> more results\?"):
        from_asl(ASL / "pagination-loop.asl.json")


def test_parallel_sums_its_branches_and_the_inner_catch() -> None:
    """Parallel (1) + success (1) + quick fail (1, caught: + handle failure 1) + Pass +
    Choice + Succeed or Fail = 6 or 7."""
    usage = {"states": {"quick fail": {"failure_probability": 0.25}}}
    sm = from_asl(ASL / "parallel-explicit-failure.asl.json", usage=usage)
    t = sm.transitions(samples=20_000, seed=2)
    assert set(t.tolist()) == {6.0, 7.0}
    assert (t == 7.0).mean() == pytest.approx(0.25, abs=0.015)
    frame = sm.explain(samples=1000)
    assert frame.set_index("state").loc["Parallel", "mean_transitions"] == 1.0


def test_distributed_map_starts_express_children() -> None:
    """The parent's Map is one transition; each CSV row starts an Express child."""
    sm = from_asl(
        ASL / "distributed-map-csv.asl.json",
        name="csv",
        usage={"states": {"Map": {"items": 250}, "Start Child Step Function": {"duration_ms": 40}}},
    )
    runs = sm.executions(8, np.random.default_rng(0))
    assert runs.transitions.tolist() == [1.0] * 8
    assert runs.children["csv/Map"].tolist() == [250.0] * 8
    assert runs.child_transitions["csv/Map"].tolist() == [250.0] * 8
    child = from_asl(ASL / "distributed-map-csv-child.asl.json")
    assert child.transitions(samples=5).tolist() == [1.0] * 5


def test_distributed_map_sample_counts_its_own_states_and_its_children() -> None:
    """Monte Carlo sample: a Task, a distributed Map (Express children), a Task."""
    usage: dict[str, Any] = {
        "states": {"Monte Carlo Simulation - (Distributed Map)": {"items": 100}}
    }
    with pytest.raises(InvalidFile, match=r"needs: states\.Calculate Revenue\.duration_ms"):
        from_asl(ASL / "distributed-map-montecarlo.asl.json", usage=usage)
    usage["states"]["Calculate Revenue"] = {"duration_ms": {"lognormal": {"p50": 80, "p99": 400}}}
    sm = from_asl(ASL / "distributed-map-montecarlo.asl.json", name="mc", usage=usage)
    runs = sm.executions(4, np.random.default_rng(0))
    assert runs.transitions.tolist() == [3.0] * 4
    assert runs.children["mc/Monte Carlo Simulation - (Distributed Map)"].tolist() == [100.0] * 4


def test_jsonata_definition_with_an_inline_map() -> None:
    """JSONata: Pass, Task (with retries), Map of N Passes, Pass, Task: T = 5 + r + N."""
    usage = {"states": {"Convert Page to JSON content": {"items": 20}}}
    sm = from_asl(ASL / "jsonata-data-processing.asl.json", usage=usage)
    assert sm.graph.query_language == "JSONata"
    assert sm.transitions(samples=10).tolist() == [25.0] * 10
    usage["states"]["Get Data"] = {"failure_probability": 1.0}
    # three retries, then the execution fails at Get Data: Pass + 4 attempts
    assert (
        from_asl(ASL / "jsonata-data-processing.asl.json", usage=usage)
        .transitions(samples=10)
        .tolist()
        == [5.0] * 10
    )


def test_jsonata_sample_with_query_language_among_its_states_is_refused() -> None:
    """The public file puts QueryLanguage inside States: the message says where it goes."""
    with pytest.raises(InvalidFile, match=r"States\.QueryLanguage.*belongs at the top"):
        from_asl(ASL / "jsonata-shared-fallback.asl.json")


def test_usage_skeleton_lists_what_power_tuning_needs() -> None:
    """The Map's items and the Publisher loop's bound: filled in, from_asl accepts it."""
    skeleton = usage_skeleton(ASL / "power-tuning.asl.json", substitutions=POWER_TUNING)
    assert skeleton == {
        "monthly_requests": None,
        "states": {"IsCountReached": {"iterations": None}, "Branching": {"items": None}},
    }
    skeleton["states"]["IsCountReached"]["iterations"] = 2
    skeleton["states"]["Branching"]["items"] = 3
    skeleton["monthly_requests"] = 100
    sm = from_asl(ASL / "power-tuning.asl.json", substitutions=POWER_TUNING, usage=skeleton)
    assert sm.transitions(samples=3).tolist() == [14.0] * 3


def test_usage_skeleton_of_an_express_parent_of_express_children() -> None:
    """Express: every Task's duration, memory_mb, and the children's Tasks too."""
    skeleton = usage_skeleton(ASL / "distributed-map-montecarlo.asl.json", kind="express")
    assert skeleton["memory_mb"] == 64
    assert skeleton["states"] == {
        "Generate Random Samples": {"duration_ms": None},
        "Monte Carlo Simulation - (Distributed Map)": {"items": None},
        "Calculate Revenue": {"duration_ms": None},
        "Aggregate Results": {"duration_ms": None},
    }
