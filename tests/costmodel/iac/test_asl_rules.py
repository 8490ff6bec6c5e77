"""Counting and timing rules on small definitions: jitter, delays, tolerance, Parallel errors."""

from __future__ import annotations

from math import comb
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from costmodel.iac.asl import from_asl

ASL = Path(__file__).parents[2] / "fixtures" / "asl"


def task(name: str = "T", **fields: Any) -> dict[str, Any]:
    return {"StartAt": name, "States": {name: {"Type": "Task", "Resource": "r", **fields}}}


def test_full_jitter_halves_the_expected_wait() -> None:
    """JSONata sample, Get Data always failing: waits 1 + 2 + 4 s, FULL jitter: 3.5 s mean."""
    usage = {
        "states": {
            "Convert Page to JSON content": {"items": 0},
            "Get Data": {"failure_probability": 1.0, "duration_ms": 0},
            "SendTaskSuccess": {"duration_ms": 0},
        }
    }
    sm = from_asl(ASL / "jsonata-data-processing.asl.json", kind="express", usage=usage)
    runs = sm.executions(40_000, np.random.default_rng(0))
    assert runs.duration_ms.max() <= 7000.0
    assert runs.duration_ms.mean() == pytest.approx(3500.0, rel=0.02)


def test_max_delay_caps_the_backoff() -> None:
    """IntervalSeconds 10, BackoffRate 3, MaxDelaySeconds 20: waits 10, 20, 20 s."""
    retry = [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 10, "BackoffRate": 3.0,
              "MaxDelaySeconds": 20, "MaxAttempts": 3}]  # fmt: skip
    sm = from_asl(
        task(Retry=retry, End=True),
        kind="express",
        usage={"states": {"T": {"failure_probability": 1.0, "duration_ms": 0}}},
    )
    assert sm.executions(3, np.random.default_rng(0)).duration_ms.tolist() == [50_000.0] * 3


def test_map_tolerates_the_failures_it_is_told_to() -> None:
    """ToleratedFailurePercentage 50: a Map of 10 items fails only when > 5 items fail."""
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ToleratedFailurePercentage": 50,
                "ItemProcessor": task(End=True),
                "End": True,
            }
        },
    }
    usage = {"states": {"M": {"items": 10}, "T": {"failure_probability": 0.5}}}
    runs = from_asl(definition, usage=usage).executions(20_000, np.random.default_rng(1))
    # the item Task has no Retry: P(more than 5 of 10 items fail) at p = 0.5
    expected = sum(comb(10, k) for k in range(6, 11)) / 2**10
    assert 1 - runs.ok.mean() == pytest.approx(expected, abs=0.01)
    assert runs.transitions.tolist() == [11.0] * runs.transitions.size


def test_a_failed_parallel_branch_fails_the_parallel_into_its_catch() -> None:
    """A Fail in a branch: the Parallel's Catch on that error routes to its handler."""
    definition = {
        "StartAt": "P",
        "States": {
            "P": {
                "Type": "Parallel",
                "Branches": [
                    {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": True}}},
                    {"StartAt": "No", "States": {"No": {"Type": "Fail", "Error": "Custom.Bad"}}},
                ],
                "Catch": [
                    {"ErrorEquals": ["Other"], "Next": "Wrong"},
                    {"ErrorEquals": ["Custom.Bad"], "Next": "Handled"},
                ],
                "End": True,
            },
            "Wrong": {"Type": "Pass", "End": True},
            "Handled": {"Type": "Pass", "End": True},
        },
    }
    sm = from_asl(definition)
    runs = sm.executions(4, np.random.default_rng(0))
    assert runs.transitions.tolist() == [4.0] * 4 and runs.ok.all()
    assert runs.per_state["Handled"].tolist() == [1.0] * 4
    assert "Wrong" not in runs.per_state


def test_choice_without_default_splits_equally_and_says_so() -> None:
    """No Default, no choices: each rule equally likely; explain() states the assumption."""
    definition = {
        "StartAt": "C",
        "States": {
            "C": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.a", "IsPresent": True, "Next": "A"},
                    {"Variable": "$.b", "IsPresent": True, "Next": "B"},
                ],
            },
            "A": {"Type": "Pass", "Next": "B"},
            "B": {"Type": "Succeed"},
        },
    }
    sm = from_asl(definition)
    t = sm.transitions(samples=20_000, seed=3)
    assert (t == 3.0).mean() == pytest.approx(0.5, abs=0.015)
    note = sm.explain(samples=10).set_index("state").loc["C", "assumption"]
    assert note == "equal split of 1 over A, B (not given)"


def test_count_start_counts_each_standard_child_execution_too() -> None:
    """count_start adds one per execution, parent and STANDARD children alike."""
    definition = {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "P",
                    "States": {"P": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    usage = {"states": {"M": {"items": 4}}}
    runs = from_asl(definition, usage=usage, count_start=True).executions(
        2, np.random.default_rng(0)
    )
    assert runs.transitions.tolist() == [2.0, 2.0]
    assert runs.child_transitions["state_machine/M"].tolist() == [8.0, 8.0]


def test_a_loop_bound_drawn_from_a_distribution_moves_the_mean() -> None:
    """iterations {uniform: [0, 10]}: the loop turns 5 times on average (rounded draws)."""
    definition = {
        "StartAt": "W",
        "States": {
            "W": {"Type": "Wait", "Seconds": 1, "Next": "C"},
            "C": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.more", "BooleanEquals": True, "Next": "W"}],
                "Default": "D",
            },
            "D": {"Type": "Succeed"},
        },
    }
    usage = {"states": {"C": {"iterations": {"uniform": [0, 10]}}}}
    sm = from_asl(definition, kind="express", usage=usage)
    runs = sm.executions(40_000, np.random.default_rng(2))
    assert runs.transitions.mean() == pytest.approx(3 + 2 * 5, rel=0.02)
    assert runs.duration_ms.mean() == pytest.approx(1000 * 6, rel=0.02)
