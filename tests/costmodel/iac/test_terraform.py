"""Terraform plan JSON from public test fixtures (and one hand-made plan with modules)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.paths import ROOT

from costmodel import InvalidFile, UnresolvedWarning, from_terraform_plan, load_deployment
from costmodel.iac.resources import (
    ApiResource,
    FunctionResource,
    QueueResource,
    StateMachineResource,
)

FIXTURES = ROOT / "tests" / "fixtures" / "iac" / "terraform"
#: AWS's documented example secret key, in TerraGoat's Lambda environment.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_terragoat_plan_prices_its_lambda_and_lists_the_rest_as_skipped() -> None:
    """checkov's TerraGoat plan: one aws_lambda_function, every other type skipped."""
    d = from_terraform_plan(FIXTURES / "terragoat-tfplan.json")
    assert list(d.resources) == ["aws_lambda_function.analysis_lambda"]
    fn = d.resources["aws_lambda_function.analysis_lambda"]
    assert isinstance(fn, FunctionResource)
    assert (fn.memory_mb, fn.timeout_s, fn.reserved_concurrency) == (128.0, 3.0, None)
    document = json.loads((FIXTURES / "terragoat-tfplan.json").read_text())
    planned = document["planned_values"]["root_module"]["resources"]
    assert len(d.skipped) == len(planned) - 1
    assert {s.reason for s in d.skipped} == {"not priced by callwise"}


def test_secrets_in_a_plan_never_reach_reprs_or_output() -> None:
    """The environment variables of a function are not kept: no secret in what we show."""
    d = from_terraform_plan(FIXTURES / "terragoat-tfplan.json")
    shown = repr(d) + repr(d.resources) + repr(d.skipped) + d.breakdown(samples=10).to_json()
    assert EXAMPLE_SECRET not in shown and "AKIAIOSFODNN7EXAMPLE" not in shown


def test_child_modules_keep_their_full_addresses() -> None:
    """Nested child modules: module.child_0.module.child_1_a.aws_eks_cluster.cluster."""
    d = from_terraform_plan(FIXTURES / "nested-modules-tfplan.json")
    assert "module.child_0.module.child_1_a.aws_eks_cluster.cluster" in {s.key for s in d.skipped}
    assert d.resources == {}


def test_modules_plan_reads_each_priced_type_and_links_provisioned_concurrency() -> None:
    """The hand-made plan: HTTP API, provisioned concurrency added, data source skipped."""
    d = from_terraform_plan(FIXTURES / "modules-tfplan.json")
    handler = d.resources["module.api.aws_lambda_function.handler"]
    worker = d.resources["module.worker.aws_lambda_function.worker"]
    assert isinstance(handler, FunctionResource) and isinstance(worker, FunctionResource)
    assert (handler.arch, handler.memory_mb, handler.provisioned_concurrency) == (
        "arm64",
        1024.0,
        2.0,
    )
    assert (worker.ephemeral_storage_mb, worker.reserved_concurrency) == (2048.0, 5.0)
    http = d.resources["module.api.aws_apigatewayv2_api.http"]
    rest = d.resources["aws_api_gateway_rest_api.legacy"]
    assert isinstance(http, ApiResource) and http.protocol == "http"
    assert isinstance(rest, ApiResource) and rest.protocol == "rest"
    assert isinstance(d.resources["module.worker.aws_sqs_queue.jobs"], QueueResource)
    flow = d.resources["module.worker.aws_sfn_state_machine.flow"]
    assert isinstance(flow, StateMachineResource) and flow.definition is not None
    assert flow.tasks["orders-worker"] == "module.worker.aws_lambda_function.worker"
    reasons = {s.key: s.reason for s in d.skipped}
    assert reasons["data.aws_caller_identity.current"] == "a data source (not deployed)"
    assert "module.worker.aws_cloudwatch_log_group.logs" in reasons


def _plan(tmp_path: Path, resources: list[dict[str, object]], **extra: object) -> Path:
    path = tmp_path / "plan.json"
    body = {"format_version": "1.2", "planned_values": {"root_module": {"resources": resources}}}
    path.write_text(json.dumps({**body, **extra}))
    return path


def test_values_known_only_after_apply_are_reported(tmp_path: Path) -> None:
    """A null definition or memory_size is unresolved; provisioned concurrency for an
    unknown function is unresolved and not priced."""
    path = _plan(
        tmp_path,
        [
            {
                "address": "aws_sfn_state_machine.m",
                "mode": "managed",
                "type": "aws_sfn_state_machine",
                "values": {"definition": None, "type": "EXPRESS"},
            },
            {
                "address": "aws_lambda_function.f",
                "mode": "managed",
                "type": "aws_lambda_function",
                "values": {"memory_size": None, "function_name": "f"},
            },
            {
                "address": "aws_lambda_provisioned_concurrency_config.p",
                "mode": "managed",
                "type": "aws_lambda_provisioned_concurrency_config",
                "values": {"function_name": "elsewhere", "provisioned_concurrent_executions": 4},
            },
        ],
    )
    with pytest.warns(UnresolvedWarning, match="3 propert"):
        d = from_terraform_plan(path)
    assert [u.where for u in d.unresolved] == [
        "plan.json: aws_sfn_state_machine.m.definition",
        "plan.json: aws_lambda_function.f.memory_size",
        "plan.json: aws_lambda_provisioned_concurrency_config.p.function_name",
    ]
    assert d.resources["aws_lambda_function.f"].memory_mb == 128.0  # type: ignore[union-attr]
    assert d.resources["aws_sfn_state_machine.m"].workflow == "express"  # type: ignore[union-attr]


def test_a_plan_without_planned_values_reads_resource_changes(tmp_path: Path) -> None:
    """resource_changes' after values stand in when planned_values is absent."""
    path = tmp_path / "plan.json"
    path.write_text(
        json.dumps(
            {
                "format_version": "1.2",
                "resource_changes": [
                    {
                        "address": "aws_sqs_queue.q",
                        "mode": "managed",
                        "type": "aws_sqs_queue",
                        "change": {"actions": ["create"], "after": {"fifo_queue": True}},
                    },
                    {
                        "address": "aws_sqs_queue.gone",
                        "mode": "managed",
                        "type": "aws_sqs_queue",
                        "change": {"actions": ["delete"], "after": None},
                    },
                ],
            }
        )
    )
    d = load_deployment(path)
    assert list(d.resources) == ["aws_sqs_queue.q"] and d.resources["aws_sqs_queue.q"].fifo  # type: ignore[union-attr]


def _one(address: str, values: dict[str, object]) -> str:
    resource = {"address": address, "type": address.split(".")[0], "values": values}
    root = {"root_module": {"resources": [resource]}}
    return json.dumps({"format_version": "1.2", "planned_values": root})


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"format_version": "1.2", "planned_values": {\n "root_module": }}', "line 2, column 17"),
        ('{"format_version": "1.2"}', "Resources"),
        (_one("aws_lambda_function.f", {"memory_size": "x"}), "aws_lambda_function.f.memory_size"),
        (
            _one("aws_sfn_state_machine.m", {"definition": "{"}),
            "aws_sfn_state_machine.m.definition",
        ),
    ],
)
def test_wrong_plans_name_the_field(tmp_path: Path, text: str, field: str) -> None:
    """Malformed JSON (line), neither plan nor template, a wrong attribute."""
    path = tmp_path / "plan.json"
    path.write_text(text)
    with pytest.raises(InvalidFile) as caught:
        load_deployment(path)
    assert caught.value.field == field


def test_from_terraform_plan_refuses_a_template(tmp_path: Path) -> None:
    """A CloudFormation JSON given as a plan is an error naming format_version."""
    path = tmp_path / "t.json"
    path.write_text('{"Resources": {}}')
    with pytest.raises(InvalidFile, match="not a Terraform plan"):
        from_terraform_plan(path)
