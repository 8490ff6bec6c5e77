"""Usage files in Infracost's form: keys per type, distributions, warnings and errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from support.paths import ROOT

from costmodel import InvalidFile, UsageFileWarning, from_sam, from_terraform_plan
from costmodel.iac.usage import USAGE_KEYS, merge_usage, read_usage, usage_skeleton
from costmodel.iac.values import Point

FIXTURES = ROOT / "tests" / "fixtures" / "iac"
CHECKOUT = FIXTURES / "sfn-checkout" / "template.yaml"


def _usage(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "usage.yml"
    path.write_text(text)
    return path


def test_infracost_usage_file_reads_verbatim() -> None:
    """Infracost's own lambda usage file binds to the plan's addresses, as point amounts."""
    d = from_terraform_plan(
        FIXTURES / "infracost" / "lambda_function_test.plan.json",
        FIXTURES / "infracost" / "lambda_function_test.usage.yml",
    )
    usage = d.usage["aws_lambda_function.lambda_duration_15B"]
    assert usage.amounts == {"monthly_requests": Point(15e9), "request_duration_ms": Point(2048.0)}
    assert "aws_lambda_function.lambda" not in d.usage


def test_a_key_a_type_does_not_take_warns_with_the_closest(tmp_path: Path) -> None:
    """Infracost's SQS file has request_size (not request_size_kb): a warning, then ignored."""
    with pytest.warns(UsageFileWarning) as caught:
        d = from_terraform_plan(
            FIXTURES / "infracost" / "sqs_queue_test.plan.json",
            FIXTURES / "infracost" / "sqs_queue_test.usage.yml",
        )
    (message,) = [str(w.message) for w in caught]
    assert (
        "sqs_queue_test.usage.yml: resource_usage."
        "aws_sqs_queue.fifo_sqs_queue_withUsage.request_size" in message
    )
    assert "did you mean 'request_size_kb'?" in message
    assert "request_size" not in d.usage["aws_sqs_queue.fifo_sqs_queue_withUsage"].amounts


def test_a_resource_the_deployment_lacks_warns_naming_file_and_resource(tmp_path: Path) -> None:
    """An unknown resource is a warning (as Infracost), with the closest key."""
    path = _usage(
        tmp_path, "version: 0.1\nresource_usage:\n  NotifyUserFunctoin:\n    monthly_requests: 5\n"
    )
    with pytest.warns(
        UsageFileWarning,
        match=r"usage\.yml: resource_usage\.NotifyUserFunctoin: no such "
        r"resource in the deployment \(did you mean 'NotifyUserFunction'\?\)",
    ):
        d = from_sam(CHECKOUT, path)
    assert d.usage == {}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            "NotifyUserFunction:\n    monthly_requests: -5",
            "resource_usage.NotifyUserFunction.monthly_requests",
        ),
        (
            "NotifyUserFunction:\n    request_duration_ms: {lognormal: {p50: 9, p99: 1}}",
            "resource_usage.NotifyUserFunction.request_duration_ms",
        ),
        (
            "NotifyUserFunction:\n    error_rate: 1.5",
            "resource_usage.NotifyUserFunction.error_rate",
        ),
        (
            "NotifyUserFunction:\n    monthly_requests: .nan",
            "resource_usage.NotifyUserFunction.monthly_requests",
        ),
        (
            "NotifyUserFunction:\n    monthly_requests: {normal: 3}",
            "resource_usage.NotifyUserFunction.monthly_requests",
        ),
        (
            "NotifyUserFunction:\n    calls: {Nobody: sync}",
            "resource_usage.NotifyUserFunction.calls.Nobody",
        ),
        (
            "NotifyUserFunction:\n    calls: {PaymentServiceEndpoint: later}",
            "resource_usage.NotifyUserFunction.calls.PaymentServiceEndpoint",
        ),
        (
            "CheckoutStateMachine:\n    memory_mb: -32",
            "resource_usage.CheckoutStateMachine.memory_mb",
        ),
        ("EmailQueue: 5", "resource_usage.EmailQueue"),
    ],
)
def test_a_wrong_value_is_an_error_naming_file_resource_and_key(
    tmp_path: Path, body: str, field: str
) -> None:
    """Negative, NaN, inverted, out of range, unknown form, unknown callee, bad mode."""
    path = _usage(tmp_path, f"version: 0.1\nresource_usage:\n  {body}\n")
    with pytest.raises(InvalidFile) as caught:
        from_sam(CHECKOUT, path)
    assert caught.value.field == field and caught.value.path == str(path)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("resource_usage: {}\n", "version"),
        ("version: 0.2\n", "version"),
        ("version: 0.1\nresource_usage: [1]\n", "resource_usage"),
        ("version: 0.1\nresource_usage: {a: [\n", "line 3, column 1"),
    ],
)
def test_a_wrong_file_shape_is_an_error(tmp_path: Path, text: str, field: str) -> None:
    """No version 0.1, resource_usage not a mapping, malformed YAML (with its line)."""
    with pytest.raises(InvalidFile) as caught:
        read_usage(_usage(tmp_path, text))
    assert caught.value.field == field


def test_wildcard_addresses_match_every_instance(tmp_path: Path) -> None:
    """aws_lambda_function.fn[*] applies to fn[0] and fn[1]; an exact entry wins."""
    plan = tmp_path / "plan.json"
    plan.write_text(
        '{"format_version": "1.2", "planned_values": {"root_module": {"resources": ['
        '{"address": "aws_lambda_function.fn[0]", "type": "aws_lambda_function", "values": {}},'
        '{"address": "aws_lambda_function.fn[1]", "type": "aws_lambda_function", "values": {}}]}}}'
    )
    usage = {
        "version": 0.1,
        "resource_usage": {
            "aws_lambda_function.fn[1]": {"monthly_requests": 7},
            "aws_lambda_function.fn[*]": {"monthly_requests": 3},
        },
    }
    d = from_terraform_plan(plan, usage)
    assert d.usage["aws_lambda_function.fn[0]"].point("monthly_requests") == 3.0
    assert d.usage["aws_lambda_function.fn[1]"].point("monthly_requests") == 7.0


def test_state_machine_keys_for_the_asl_reader_pass_without_warning(tmp_path: Path) -> None:
    """states: (read by costmodel.iac.asl) is kept in the raw mapping, not warned about."""
    path = _usage(
        tmp_path,
        "version: 0.1\nresource_usage:\n  CheckoutStateMachine:\n"
        "    monthly_requests: 10\n    states: {Payment: {retries: 0.1}}\n",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        d = from_sam(CHECKOUT, path)
    assert d.usage["CheckoutStateMachine"].raw["states"] == {"Payment": {"retries": 0.1}}


def test_skeleton_lists_every_resource_with_its_keys() -> None:
    """usage init's skeleton: every priced resource, each Infracost key of its type at 0."""
    d = from_sam(CHECKOUT)
    body = usage_skeleton(d.resources)["resource_usage"]
    assert sorted(body) == sorted(d.resources)
    assert set(body["EmailQueue"]) == set(USAGE_KEYS["queue"])
    # a standard machine with its definition: what its transitions are derived from (no
    # monthly_transitions: a 0 there would override the definition, as in Infracost)
    assert body["CheckoutStateMachine"] == {"monthly_requests": 0}
    assert all(v in (0, 64) for keys in body.values() for v in keys.values())


def test_merge_keeps_the_users_values_and_resources() -> None:
    """Merging adds new resources and keys; existing values (and extra resources) stay."""
    mine = {
        "version": 0.1,
        "resource_usage": {
            "EmailQueue": {"monthly_requests": {"poisson": 4e6}},
            "Retired": {"monthly_requests": 1},
        },
    }
    merged = merge_usage(mine, usage_skeleton(from_sam(CHECKOUT).resources))
    usage = merged["resource_usage"]
    assert usage["EmailQueue"] == {"monthly_requests": {"poisson": 4e6}, "request_size_kb": 0}
    assert usage["Retired"] == {"monthly_requests": 1}
    assert "NotifyUserFunction" in usage
