"""Bad definitions and bad usage: errors name the file, the state and the key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from costmodel import Function, InvalidFile, InvalidUsage
from costmodel.iac.asl import from_asl
from costmodel.iac.asl_usage import state_machine_usage

TWO = {
    "StartAt": "A",
    "States": {
        "A": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:a", "Next": "B"},
        "B": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "A"}],
              "Default": "C"},
        "C": {"Type": "Succeed"},
    },
}  # fmt: skip


def with_state(name: str, state: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": name, "States": {name: state}}


def test_malformed_json_names_the_file_line_and_column(tmp_path: Path) -> None:
    """A broken file: its path, line and column."""
    path = tmp_path / "broken.asl.json"
    path.write_text('{\n  "StartAt": "A",\n  "States": {\n    "A": {"Type": "Pass",, }\n  }\n}\n')
    with pytest.raises(InvalidFile, match=r"broken\.asl\.json: line 4, column 26: invalid JSON"):
        from_asl(path)


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    """A path that does not exist."""
    with pytest.raises(InvalidFile, match=r"nope\.asl\.json: definition: cannot be read"):
        from_asl(tmp_path / "nope.asl.json")


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (
            with_state("A", {"Type": "Sleep", "End": True}),
            r"States\.A\.Type: 'Sleep': must be one of Task",
        ),
        (
            with_state("A", {"Type": "Pass", "Next": "Z"}),
            r"States\.A: goes to 'Z', which is not a state",
        ),
        (with_state("A", {"Type": "Pass"}), r"States\.A: a Pass state needs exactly one of Next"),
        (
            with_state("A", {"Type": "Succeed", "End": True}),
            r"a Succeed state takes neither Next nor End",
        ),
        (
            with_state("A", {"Type": "Task", "End": True}),
            r"States\.A\.Resource: None: a Task state needs a Resource",
        ),
        (with_state("A", {"Type": "Choice"}), r"States\.A\.Choices: a Choice state needs"),
        (
            {"StartAt": "X", "States": {"A": {"Type": "Pass", "End": True}}},
            r"StartAt: 'X' is not a state",
        ),
        ({"StartAt": "A"}, r"States: must be a non-empty object"),
        (
            with_state(
                "A", {"Type": "Pass", "End": True, "Retry": [{"ErrorEquals": ["States.ALL"]}]}
            ),
            r"States\.A\.Retry: only Task, Parallel and Map states take Retry",
        ),
        (
            with_state(
                "A",
                {
                    "Type": "Task",
                    "Resource": "r",
                    "End": True,
                    "Retry": [{"ErrorEquals": ["States.ALL"], "MaxAttempts": -1}],
                },
            ),
            r"States\.A\.Retry\[0\]\.MaxAttempts: -1: must be an integer >= 0",
        ),
        (
            with_state(
                "A",
                {
                    "Type": "Map",
                    "End": True,
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED"},
                        "StartAt": "I",
                        "States": {"I": {"Type": "Pass", "End": True}},
                    },
                },
            ),
            r"ProcessorConfig\.ExecutionType: None: a distributed Map needs STANDARD or EXPRESS",
        ),
        (
            with_state(
                "A",
                {
                    "Type": "Parallel",
                    "End": True,
                    "Branches": [{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}],
                },
            ),
            r"state name 'A' is used twice",
        ),
    ],
)
def test_bad_definitions_name_the_field(definition: dict[str, Any], message: str) -> None:
    """Each structural error names the state's field in the definition."""
    with pytest.raises(InvalidFile, match=message):
        from_asl(definition, source="sm.asl.json")


def test_json_string_definitions_are_read_too() -> None:
    """A JSON string: parsed, errors labelled 'definition'."""
    assert (
        from_asl(json.dumps(with_state("A", {"Type": "Pass", "End": True})))
        .transitions(samples=3)
        .tolist()
        == [1.0] * 3
    )
    with pytest.raises(InvalidFile, match=r"^definition: line 1"):
        from_asl('{"StartAt": ')


def test_an_unbounded_loop_names_its_states_and_the_bound_to_give() -> None:
    """A -> B -> A without iterations: refused before any simulation."""
    with pytest.raises(
        InvalidFile, match=r"loop without a bound: A -> B; give states\.B\.iterations"
    ):
        from_asl(TWO, source="two.asl.json")


def test_a_loop_without_a_choice_cannot_be_bounded() -> None:
    """A Catch that goes back to its own Task: no Choice to bound."""
    catch = [{"ErrorEquals": ["States.ALL"], "Next": "A"}]
    definition = with_state("A", {"Type": "Task", "Resource": "r", "End": True, "Catch": catch})
    with pytest.raises(InvalidFile, match=r"loop without a bound: A; it has no Choice state"):
        from_asl(definition)


@pytest.mark.parametrize(
    ("usage", "message"),
    [
        (
            {"monthly_request": 5},
            r"^two\.asl\.json: monthly_request: unknown key for a state machine",
        ),
        ({"states": {"Z": {"items": 3}}}, r"states\.Z: no state 'Z' in two\.asl\.json"),
        (
            {"states": {"A": {"itmes": 3}}},
            r"states\.A\.itmes: unknown key; known: failure_probability",
        ),
        (
            {"states": {"A": {"items": 3}}},
            r"states\.A\.items: 'A' is a Task state; items is for Map",
        ),
        (
            {"states": {"A": {"failure_probability": 1.5}}},
            r"states\.A\.failure_probability: 1\.5: must be a probability",
        ),
        (
            {"states": {"B": {"iterations": {"poison": 3}}}},
            r"states\.B\.iterations: .*a distribution is one key",
        ),
        (
            {"states": {"B": {"iterations": 2, "choices": {"Q": 1}}}},
            r"states\.B\.choices\.Q: not a branch of 'B'",
        ),
        (
            {"states": {"B": {"iterations": 2, "choices": {"A": 0.7, "C": 0.6}}}},
            r"sum to 1\.3; at most 1",
        ),
        ({"memory_mb": 32}, r"memory_mb: 32: must be a number of MB in \[64, 1048576\]"),
        ({"monthly_transitions": 10}, r"monthly_transitions: needs monthly_requests"),
        ({"states": []}, r"states: \[\]: must map state names"),
    ],
)
def test_bad_usage_names_source_state_and_key(usage: dict[str, Any], message: str) -> None:
    """Unknown keys, unknown states, keys for another state type, bad values."""
    with pytest.raises(InvalidFile, match=message):
        from_asl(TWO, source="two.asl.json", usage=usage)


def test_usage_is_checked_alone_too() -> None:
    """state_machine_usage checks keys and values without a definition."""
    with pytest.raises(InvalidFile, match=r"^usage\.yml: states\.A\.items: .*must be"):
        state_machine_usage({"states": {"A": {"items": -1}}}, source="usage.yml")
    with pytest.raises(InvalidFile, match=r"^usage: usage: list given"):
        state_machine_usage([])  # type: ignore[arg-type]


def test_usage_errors_carry_the_usage_source() -> None:
    """A usage block's label (the iac reader passes file and resource) leads the message."""
    with pytest.raises(InvalidFile, match=r"^usage\.yml: resource_usage\.Flow: states\.A\.dur"):
        from_asl(TWO, usage={"states": {"A": {"dur": 1}}}, source="usage.yml: resource_usage.Flow")


def test_iterations_on_a_choice_outside_a_loop_is_an_error() -> None:
    """iterations bounds a loop; a Choice that does not loop has nothing to bound."""
    definition = {"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsPresent": True, "Next": "D"}],
              "Default": "D"},
        "D": {"Type": "Succeed"}}}  # fmt: skip
    with pytest.raises(InvalidFile, match=r"states\.C\.iterations: 'C' is not in a loop"):
        from_asl(definition, usage={"states": {"C": {"iterations": 2}}})


def test_a_map_without_items_and_an_express_task_without_duration_are_listed() -> None:
    """Every missing quantity at once, before any simulation."""
    definition = {"StartAt": "M", "States": {
        "M": {"Type": "Map", "ItemProcessor": {"StartAt": "T", "States": {
            "T": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem", "End": True}}},
            "Next": "W"},
        "W": {"Type": "Wait", "SecondsPath": "$.s", "End": True}}}  # fmt: skip
    with pytest.raises(
        InvalidFile,
        match=r"needs: states\.M\.items .*states\.T\.duration_ms .*states\.W\.duration_ms",
    ):
        from_asl(definition, kind="express")


def test_bad_parameters_of_from_asl() -> None:
    """kind, functions and samples are checked."""
    with pytest.raises(InvalidUsage, match=r"kind='fast': must be 'standard' or 'express'"):
        from_asl(TWO, kind="fast")  # type: ignore[arg-type]
    f = Function("f", memory_mb=128)
    with pytest.raises(InvalidUsage, match=r"functions\['g'\]: no Task of definition invokes it"):
        from_asl(TWO, functions={"g": f}, usage={"states": {"B": {"iterations": 1}}})
    with pytest.raises(InvalidUsage, match=r"functions\['a'\]=3: must be a costmodel.Function"):
        from_asl(TWO, functions={"a": 3})  # type: ignore[dict-item]
    sm = from_asl(TWO, usage={"states": {"B": {"iterations": 1}}})
    with pytest.raises(InvalidUsage, match=r"samples=0: must be an integer >= 1"):
        sm.transitions(samples=0)


def test_unresolved_placeholders_are_reported_not_guessed() -> None:
    """A quoted ${Var} without a value stays, and is listed with its field."""
    definition = with_state("A", {"Type": "Task", "Resource": "${FnArn}", "End": True})
    sm = from_asl(definition, substitutions={"Other": "x"})
    assert sm.unresolved == (("States.A.Resource", "${FnArn}"),)
    resolved = from_asl(
        definition, substitutions={"FnArn": "arn:aws:lambda:eu-west-1:1:function:f"}
    )
    assert resolved.unresolved == ()
    f = Function("f", memory_mb=128)
    assert from_asl(definition, substitutions={"FnArn": "arn:aws:lambda:eu-west-1:1:function:f"},
                    functions={"f": f}).functions == {"A": f}  # fmt: skip
