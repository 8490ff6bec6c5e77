"""Our count of entered states against moto's Step Functions executor (a real local server).

moto (server mode, ``execute_state_machine`` on) runs Pass, Choice, Parallel, Wait and Map
states and writes an execution history; we count its ``*StateEntered`` events. This checks
which states an execution enters, not what AWS bills (moto knows nothing of billing).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import server as moto_server

from costmodel.iac.asl import from_asl

DEFINITION: dict[str, Any] = {
    "StartAt": "Start",
    "States": {
        "Start": {"Type": "Pass", "Next": "Which way?"},
        "Which way?": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.go", "StringEquals": "left", "Next": "Each"}],
            "Default": "Done",
        },
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {
                    "StartAt": "One",
                    "States": {
                        "One": {"Type": "Pass", "Next": "Two"},
                        "Two": {"Type": "Pass", "End": True},
                    },
                },
                {
                    "StartAt": "Pause",
                    "States": {"Pause": {"Type": "Wait", "Seconds": 0, "End": True}},
                },
            ],
            "Next": "Done",
        },
        "Each": {
            "Type": "Map",
            "ItemsPath": "$.items",
            "ResultPath": None,
            "ItemProcessor": {
                "StartAt": "Item",
                "States": {
                    "Item": {"Type": "Pass", "Next": "Item done"},
                    "Item done": {"Type": "Pass", "End": True},
                },
            },
            "Next": "Both",
        },
        "Done": {"Type": "Succeed"},
    },
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def sfn() -> Iterator[Any]:
    """A Step Functions client on moto's server, executing state machines."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    config = f"{endpoint}/moto-api/config"
    try:
        requests.post(config, json={"stepfunctions": {"execute_state_machine": True}}, timeout=10)
        yield boto3.client(
            "stepfunctions", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip
    finally:
        requests.post(config, json={"stepfunctions": {"execute_state_machine": False}}, timeout=10)
        server.stop()


def entered_states(sfn: Any, execution_input: dict[str, Any]) -> int:
    arn = sfn.create_state_machine(
        name=f"check-{time.monotonic_ns()}",
        definition=json.dumps(DEFINITION),
        roleArn="arn:aws:iam::123456789012:role/sfn",
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(execution_input))
    deadline = time.monotonic() + 30
    while sfn.describe_execution(executionArn=execution["executionArn"])["status"] == "RUNNING":
        assert time.monotonic() < deadline, "moto's execution did not finish"
    status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
    assert status == "SUCCEEDED"
    events = sfn.get_execution_history(executionArn=execution["executionArn"])["events"]
    return sum(1 for e in events if e["type"].endswith("StateEntered"))


@pytest.mark.parametrize("items", [0, 1, 4])
def test_left_branch_matches_moto_entered_states(sfn: Any, items: int) -> None:
    """Pass, Choice, Map (+2 per item), Parallel (+3 in its branches), Succeed."""
    usage = {"states": {"Each": {"items": items}, "Which way?": {"choices": {"Each": 1.0}}}}
    ours = from_asl(DEFINITION, usage=usage).transitions(samples=5)
    moto = entered_states(sfn, {"go": "left", "items": list(range(items))})
    assert ours.tolist() == [float(moto)] * 5 == [8.0 + 2 * items] * 5


def test_default_branch_matches_moto_entered_states(sfn: Any) -> None:
    """Without choices the Choice takes its Default, as moto does for go=right."""
    ours = from_asl(DEFINITION, usage={"states": {"Each": {"items": 3}}}).transitions(samples=5)
    assert ours.tolist() == [float(entered_states(sfn, {"go": "right"}))] * 5 == [3.0] * 5
