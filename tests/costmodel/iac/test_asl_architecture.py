"""A StateMachine as an architecture: compare, sweep and simulate_usage price it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel import Function, compare, estimate, fixed, from_asl, sweep, workflow
from costmodel.architectures.compositions import simulate_usage

ASL = Path(__file__).parents[2] / "fixtures" / "asl"
A = Function("a", memory_mb=128, duration=fixed(100))
B = Function("b", memory_mb=256, duration=fixed(200))
CHAIN: dict[str, Any] = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a", "Next": "B"},
        "B": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": "b"},
            "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": 2, "IntervalSeconds": 1}],
            "End": True,
        },
    },
}
STANDARD = ("orchestration", "standard_transitions", 0.0)


def test_standard_machine_bills_like_the_same_workflow() -> None:
    """Two Tasks: the same transitions and Lambda compute as workflow(a, b)."""
    sm = from_asl(CHAIN, functions={"a": A, "b": B})
    table = compare({"asl": sm, "workflow": workflow(A, B)}, invocations=2e6, samples=500)
    for column in ("requests_usd", "compute_usd", "orchestration_usd", "total_usd"):
        assert table.loc["asl", column] == pytest.approx(table.loc["workflow", column])
    assert table.loc["asl", "orchestration_usd"] == pytest.approx(2e6 * 2 * 0.025 / 1000)


def test_each_task_attempt_is_a_billed_invocation_and_a_transition() -> None:
    """B fails 50% of its attempts (2 retries): invocations and transitions grow alike."""
    flaky = Function("b", memory_mb=256, duration=fixed(200), error_rate=0.5)
    sm = from_asl(CHAIN, functions={"a": A, "b": flaky})
    usage = simulate_usage(sm, samples=20_000, seed=4)
    b_calls = usage.functions["b"].invocations / usage.samples
    assert b_calls == pytest.approx(1 + 0.5 + 0.25, rel=0.02)
    assert usage.per_request(STANDARD) == pytest.approx(1 + b_calls, rel=1e-9)
    assert 1 - usage.complete.mean() == pytest.approx(0.125, abs=0.01)


def test_express_machine_bills_requests_and_gb_seconds_of_its_duration() -> None:
    """Express: 300 ms (100 + 200) runs at 64 MB: $1/M requests + duration GB-hours."""
    sm = from_asl(CHAIN, kind="express", functions={"a": A, "b": B})
    row = compare({"x": sm}, invocations=1e6, samples=200).loc["x"]
    expected = estimate("aws-sfn-express", invocations=1e6, duration_ms=300.0, memory_mb=64).total
    assert row["orchestration_usd"] == pytest.approx(expected)
    assert row["latency_p50_ms"] == pytest.approx(300.0)


def test_express_waits_and_memory_from_the_usage_are_billed() -> None:
    """A Wait of 2 s and memory_mb 128: each run bills 2.3 s at 128 MB."""
    definition = {
        "StartAt": "A",
        "States": {
            "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a", "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 2, "Next": "B"},
            "B": {"Type": "Task", "Resource": "b", "End": True},
        },
    }
    sm = from_asl(definition, kind="express", functions={"a": A, "b": B}, usage={"memory_mb": 128})
    row = compare({"x": sm}, invocations=1e5, samples=100).loc["x"]
    expected = estimate("aws-sfn-express", invocations=1e5, duration_ms=2300.0, memory_mb=128)
    assert row["orchestration_usd"] == pytest.approx(expected.total)


def test_free_tier_applies_once_to_the_transitions() -> None:
    """compare's free_tier: 4,000 transitions a month are free (aws-sfn-standard)."""
    sm = from_asl(CHAIN)
    paid = compare({"s": sm}, invocations=10_000, samples=100).loc["s", "orchestration_usd"]
    free = compare({"s": sm}, invocations=10_000, samples=100, free_tier=True)
    assert paid == pytest.approx(20_000 * 0.025 / 1000)
    assert free.loc["s", "orchestration_usd"] == pytest.approx(16_000 * 0.025 / 1000)


def test_distributed_map_children_are_billed_as_their_own_workflows() -> None:
    """Express children (CSV sample): one express request per row; the parent's Map
    is one standard transition."""
    usage = {"states": {"Map": {"items": 100}, "Start Child Step Function": {"duration_ms": 50}}}
    sm = from_asl(ASL / "distributed-map-csv.asl.json", name="csv", usage=usage)
    u = simulate_usage(sm, samples=10)
    assert u.per_request(STANDARD) == 1.0
    assert u.per_request(("orchestration", "express_requests", 0.0)) == 100.0
    (durations,) = u.express_ms.values()
    assert durations.size == 1000 and set(durations.tolist()) == {50.0}
    row = compare({"csv": sm}, invocations=1000, samples=10).loc["csv"]
    express = estimate("aws-sfn-express", invocations=1e5, duration_ms=50.0, memory_mb=64)
    assert row["orchestration_usd"] == pytest.approx(1000 * 0.025 / 1000 + express.total)


def test_standard_children_add_their_transitions() -> None:
    """A STANDARD distributed Map: its children's transitions are standard transitions."""
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "Next": "Q"}, "Q": {"Type": "Succeed"}},
                },
                "ItemBatcher": {"MaxItemsPerBatch": 10},
                "End": True,
            }
        },
    }
    sm = from_asl(definition, usage={"states": {"M": {"items": 95}}})
    u = simulate_usage(sm, samples=5)
    # 1 (the Map) + 10 child executions (95 items in batches of 10) x 2 states
    assert u.per_request(STANDARD) == 21.0
    assert (
        sm.executions(5, np.random.default_rng(0)).children["state_machine/M"].tolist()
        == [10.0] * 5
    )


def test_sweep_over_memory_changes_the_task_functions() -> None:
    """map_functions reaches the functions a state machine's Tasks invoke."""
    sm = from_asl(CHAIN, functions={"a": A, "b": B})
    table = sweep({"asl": sm}, over="memory_mb", values=[128, 1024], samples=100).frame
    compute = table.set_index("value")["compute_usd"]
    assert compute[1024] > compute[128]


def test_explain_shows_each_state_share_and_the_assumptions() -> None:
    """Per state: mean transitions, share of its workflow, and the Choice default used."""
    usage = {"states": {"Process Messages": {"items": 10}}}
    frame = from_asl(ASL / "map-state.asl.json", usage=usage).explain(samples=200)
    rows = frame.set_index("state")
    assert rows.loc["Write message to DynamoDB", "mean_transitions"] == 10.0
    assert rows["share"].sum() == pytest.approx(1.0)
    assert rows.loc["Are there messages to process?", "assumption"].startswith("1 to Default")
    assert list(frame.columns) == [
        "state", "type", "workflow", "mean_transitions", "share", "assumption"
    ]  # fmt: skip


def test_same_seed_same_draws_and_another_seed_other_draws() -> None:
    """Seeded: transitions() is reproducible and depends on the seed."""
    usage = {"states": {"Process Messages": {"items": {"poisson": 5}}}}
    sm = from_asl(ASL / "map-state.asl.json", usage=usage)
    assert (
        sm.transitions(samples=500, seed=7).tolist() == sm.transitions(samples=500, seed=7).tolist()
    )
    assert (
        sm.transitions(samples=500, seed=7).tolist() != sm.transitions(samples=500, seed=8).tolist()
    )


def test_infracost_monthly_transitions_fix_the_count() -> None:
    """monthly_transitions / monthly_requests replaces the derived count (Infracost users)."""
    usage = {"monthly_requests": 1000, "monthly_transitions": 12_000}
    assert from_asl(CHAIN, usage=usage).transitions(samples=3).tolist() == [12.0] * 3
