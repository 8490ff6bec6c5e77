"""Breakdowns: Infracost's golden line items reproduced, Monte Carlo bands, the free tier
pooled once, every resource type priced as costmodel.estimate prices it, and diffs priced
with common random numbers."""

from __future__ import annotations

import re
import shutil
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pytest
from support.paths import ROOT

import costmodel
from costmodel import diff, estimate, from_sam, from_terraform_plan
from costmodel.iac.pricing import HOURS_PER_MONTH

FIXTURES = ROOT / "tests" / "fixtures" / "iac"
INFRACOST = FIXTURES / "infracost"
CHECKOUT = FIXTURES / "sfn-checkout" / "template.yaml"
_LINE = re.compile(
    r"[├└]─ (?P<name>.+?)\s{2,}(?P<qty>[\d,.]+)\s{2,}(?P<unit>.+?)\s{2,}\$(?P<cost>[\d,.]+)"
)


def _golden(name: str) -> dict[str, list[tuple[float, float]]]:
    """{address: [(quantity in the line's unit, cost)]} of an Infracost .golden file."""
    found: dict[str, list[tuple[float, float]]] = {}
    current = ""
    for line in (INFRACOST / f"{name}.golden").read_text().splitlines():
        if line.startswith(" aws_"):
            current = line.split()[0]
        match = _LINE.search(line)
        if match and current:
            multiplier = {"1M": 1e6, "1K": 1e3}.get(match["unit"][:2], 1.0)
            quantity = float(match["qty"].replace(",", "")) * multiplier
            found.setdefault(current, []).append((quantity, float(match["cost"].replace(",", ""))))
    return found


@pytest.mark.parametrize("name", ["lambda_function_test", "sqs_queue_test"])
def test_infracost_golden_line_items_are_reproduced_to_the_cent(name: str) -> None:
    """Each line item of Infracost's golden output: same quantity, same cost to the cent.

    Prices agree (Lambda $0.20/1M requests, $0.0000166667/$0.0000133334 per GB-s first
    tiers; SQS $0.40/$0.50 per 1M). Infracost prices each resource alone with no free tier,
    as our per-resource lines do; our total pools the account (see the next test)."""
    golden = _golden(name)
    with pytest.warns(costmodel.UsageFileWarning) if name == "sqs_queue_test" else _nothing():
        d = from_terraform_plan(INFRACOST / f"{name}.plan.json", INFRACOST / f"{name}.usage.yml")
    lines = d.breakdown(samples=1).lines
    assert set(golden) == set(lines.loc[lines["cost_usd"] > 0, "resource"])
    for address, items in golden.items():
        ours = lines[lines["resource"] == address]
        assert [_cents(c) for c in ours["cost_usd"]] == [c for _, c in items], address
        assert list(ours["quantity"]) == pytest.approx([q for q, _ in items], rel=1e-4), address


def test_infracost_step_functions_golden_quantities_and_the_prices_that_agree() -> None:
    """Infracost's sfn_state_machine_test: every quantity agrees (100 ms and 64 MB rounding,
    memory_mb 0 billed at 64 MB, the GB-hour tiers); requests ($1.00 per 1M) and Standard
    transitions ($0.025 per 1K) agree to the cent. Express duration does not: Infracost's
    price list has $0.060012 / $0.029988 / $0.016416 per GB-hour where the catalog has
    AWS's published $0.06 / $0.03 / $0.01642, so those lines differ by less than 0.1 %."""
    golden = _golden("sfn_state_machine_test")
    d = from_terraform_plan(
        INFRACOST / "sfn_state_machine_test.plan.json",
        INFRACOST / "sfn_state_machine_test.usage.yml",
    )
    lines = d.breakdown(samples=1).lines
    for address, items in golden.items():
        ours = lines[lines["resource"] == address]
        assert list(ours["quantity"]) == pytest.approx([q for q, _ in items], rel=1e-4), address
        for (_, cost), item, mine in zip(items, ours["item"], ours["cost_usd"], strict=True):
            if item.startswith("duration"):
                assert mine == pytest.approx(cost, rel=1e-3, abs=0.005), (address, item)
            else:
                assert _cents(mine) == cost, (address, item)


def _cents(value: float) -> float:
    """Rounded half up to the cent, as Infracost shows money (135001.125 -> 135001.13)."""
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_the_total_pools_tiers_across_resources_where_infracost_adds_resources() -> None:
    """Infracost's OVERALL TOTAL is the sum of its resources; ours prices the account's
    summed GB-s on the graduated tiers once, so it is lower, by the account line."""
    golden = (INFRACOST / "lambda_function_test.golden").read_text()
    infracost_total = float(re.search(r"OVERALL TOTAL\s+\$([\d,.]+)", golden)[1].replace(",", ""))  # type: ignore[index]
    d = from_terraform_plan(
        INFRACOST / "lambda_function_test.plan.json", INFRACOST / "lambda_function_test.usage.yml"
    )
    b = d.breakdown(samples=1)
    assert round(b.resources["cost_usd"].sum(), 2) == pytest.approx(infracost_total, abs=0.06)
    assert b.account_usd < -1000 and b.total_usd == pytest.approx(
        b.resources["cost_usd"].sum() + b.account_usd
    )


def _usage(**resources: dict[str, object]) -> dict[str, object]:
    return {"version": 0.1, "resource_usage": resources}


def test_point_usage_has_bands_equal_to_the_point() -> None:
    """Without distributions every sample month is the same."""
    d = from_sam(
        CHECKOUT, _usage(NotifyUserFunction={"monthly_requests": 5e6, "request_duration_ms": 300})
    )
    b = d.breakdown(samples=50)
    row = b.resources.set_index("resource").loc["NotifyUserFunction"]
    assert row["p5_usd"] == row["p50_usd"] == row["p95_usd"] == pytest.approx(row["cost_usd"])
    assert b.p5_usd == b.p95_usd == pytest.approx(b.total_usd)


def test_distributions_give_bands_and_the_same_seed_the_same_numbers() -> None:
    """A lognormal monthly volume spreads p5 < p50 < p95; a seed reproduces them."""
    usage = _usage(
        NotifyUserFunction={
            "monthly_requests": {"lognormal": {"p50": 5e6, "p99": 2e7}},
            "request_duration_ms": 300,
        }
    )
    d = from_sam(CHECKOUT, usage)
    a, b, other = (
        d.breakdown(samples=400, seed=3),
        d.breakdown(samples=400, seed=3),
        d.breakdown(samples=400, seed=4),
    )
    assert a.p5_usd < a.p50_usd < a.p95_usd
    assert np.array_equal(a.month_totals, b.month_totals)
    assert not np.array_equal(a.month_totals, other.month_totals)


def test_per_request_durations_are_rounded_each_as_lambda_bills() -> None:
    """request_duration_ms as a distribution bills each drawn request rounded up to 1 ms:
    the same as estimate() with those samples, not the mean rounded."""
    usage = _usage(
        NotifyUserFunction={"monthly_requests": 1e6, "request_duration_ms": {"uniform": [0.1, 1.1]}}
    )
    b = from_sam(CHECKOUT, usage).breakdown(samples=5)
    cost = b.resources.set_index("resource").loc["NotifyUserFunction", "cost_usd"]
    from costmodel.iac.pricing import PER_REQUEST_DRAWS, stream

    draws = costmodel.iac.values.Uniform(0.1, 1.1).sample(
        stream(0, "NotifyUserFunction", "request_duration_ms"), PER_REQUEST_DRAWS
    )
    expected = estimate("aws-lambda", invocations=1e6, duration_ms=draws, memory_mb=128).total
    assert cost == pytest.approx(expected)
    assert (
        cost > estimate("aws-lambda", invocations=1e6, duration_ms=0.6, memory_mb=128).total * 0.99
    )


def test_free_tier_is_applied_once_to_the_pooled_account() -> None:
    """Two functions of 800k requests each: the 1M free requests are shared, not doubled."""
    usage = _usage(
        PaymentServiceEndpoint={"monthly_requests": 8e5, "request_duration_ms": 100},
        ShippingServiceEndpoint={"monthly_requests": 8e5, "request_duration_ms": 100},
    )
    d = from_sam(CHECKOUT, usage)
    plain, free = d.breakdown(samples=1), d.breakdown(samples=1, free_tier=True)
    assert free.free_tier == "always" and plain.free_tier == "none"
    pooled = estimate(
        "aws-lambda", invocations=1.6e6, duration_ms=100, memory_mb=128, free_tier=True
    )
    api = estimate("aws-apigw-rest", invocations=1.6e6)
    assert free.total_usd == pytest.approx(pooled.total + api.total)
    assert free.resources["cost_usd"].tolist() == plain.resources["cost_usd"].tolist()
    assert free.account_usd < 0


def test_each_resource_type_is_priced_as_estimate_prices_it() -> None:
    """Lambda with arm64, 2 GB /tmp and provisioned concurrency; SQS; HTTP API; Standard
    machine with monthly_transitions; REST API from the plan."""
    usage = _usage(
        **{
            "module.api.aws_lambda_function.handler": {
                "monthly_requests": 4e6,
                "request_duration_ms": 50,
            },
            "module.worker.aws_lambda_function.worker": {
                "monthly_requests": 1e6,
                "request_duration_ms": 800,
            },
            "module.worker.aws_sqs_queue.jobs": {"monthly_requests": 3e6, "request_size_kb": 100},
            "module.api.aws_apigatewayv2_api.http": {
                "monthly_requests": 4e6,
                "request_size_kb": 600,
            },
            "module.worker.aws_sfn_state_machine.flow": {
                "monthly_requests": 1e6,
                "monthly_transitions": 5e6,
            },
            "aws_api_gateway_rest_api.legacy": {"monthly_requests": 2e6},
        }
    )
    d = from_terraform_plan(FIXTURES / "terraform" / "modules-tfplan.json", usage)
    costs = d.breakdown(samples=1).resources.set_index("resource")["cost_usd"]
    expected = {
        "module.api.aws_lambda_function.handler": estimate(
            "aws-lambda",
            invocations=4e6,
            duration_ms=50,
            memory_mb=1024,
            arch="arm64",
            provisioned_concurrency=2,
            provisioned_hours=HOURS_PER_MONTH,
        ),
        "module.worker.aws_lambda_function.worker": estimate(
            "aws-lambda", invocations=1e6, duration_ms=800, memory_mb=512, ephemeral_storage_mb=2048
        ),
        "module.worker.aws_sqs_queue.jobs": estimate(
            "aws-sqs-standard", invocations=3e6, payload_kb=100
        ),
        "module.api.aws_apigatewayv2_api.http": estimate(
            "aws-apigw-http", invocations=4e6, payload_kb=600
        ),
        "module.worker.aws_sfn_state_machine.flow": estimate("aws-sfn-standard", invocations=5e6),
        "aws_api_gateway_rest_api.legacy": estimate("aws-apigw-rest", invocations=2e6),
    }
    for key, bill in expected.items():
        assert costs[key] == pytest.approx(bill.total), key


def test_express_machines_bill_requests_and_gb_seconds() -> None:
    """workflow_duration_ms and memory_mb (Infracost's keys) on the express sheet."""
    usage = _usage(
        ExpressStateMachineForTextProcessing={
            "monthly_requests": 2e6,
            "workflow_duration_ms": 450,
            "memory_mb": 128,
        }
    )
    d = from_sam(FIXTURES / "sfn-text-express" / "template.yaml", usage)
    cost = (
        d.breakdown(samples=1)
        .resources.set_index("resource")
        .loc["ExpressStateMachineForTextProcessing", "cost_usd"]
    )
    assert cost == pytest.approx(
        estimate("aws-sfn-express", invocations=2e6, duration_ms=450, memory_mb=128).total
    )


def test_an_api_without_usage_takes_the_sum_of_its_routes() -> None:
    """The REST API of the checkout sample: requests of its two functions, noted."""
    usage = _usage(
        PaymentServiceEndpoint={"monthly_requests": 1e6},
        ShippingServiceEndpoint={"monthly_requests": 2e6},
    )
    b = from_sam(CHECKOUT, usage).breakdown(samples=1)
    row = b.resources.set_index("resource").loc["ApiGatewayApi"]
    assert row["cost_usd"] == pytest.approx(estimate("aws-apigw-rest", invocations=3e6).total)
    assert any("sum of its routes" in note for note in row["notes"])


def test_without_the_asl_reader_derived_transitions_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With costmodel.iac.asl missing, a Standard machine without monthly_transitions is
    listed as unresolved (not priced), never guessed."""
    monkeypatch.setitem(sys.modules, "costmodel.iac.asl", None)
    d = from_sam(CHECKOUT, _usage(CheckoutStateMachine={"monthly_requests": 1e5}))
    b = d.breakdown(samples=1)
    assert b.resources.set_index("resource").loc["CheckoutStateMachine", "cost_usd"] == 0
    (found,) = b.unresolved
    assert "costmodel.iac.asl" in found.reason and "monthly_transitions" in found.used


def test_transitions_derived_from_the_definition() -> None:
    """The Map sample's state machine in its SAM template, priced from its definition:
    4 + 3N transitions per execution (N = 10 messages a run), 100,000 runs a month."""
    usage = {"monthly_requests": 1e5, "states": {"Process Messages": {"items": 10}}}
    d = from_sam(FIXTURES / "sfn-map" / "template.yaml", _usage(MapStateStateMachine=usage))
    cost = (
        d.breakdown(samples=1)
        .resources.set_index("resource")
        .loc["MapStateStateMachine", "cost_usd"]
    )
    assert cost == pytest.approx(
        estimate("aws-sfn-standard", invocations=1e5, transitions=4 + 3 * 10).total
    )


def test_a_diff_of_equal_deployments_is_zero_in_every_sample_month() -> None:
    """Common random numbers: the same usage draws the same months in BASE and HEAD."""
    usage = _usage(
        NotifyUserFunction={
            "monthly_requests": {"poisson": 3e6},
            "request_duration_ms": {"lognormal": {"p50": 90, "p99": 700}},
        }
    )
    result = diff(from_sam(CHECKOUT, usage), from_sam(CHECKOUT, usage), samples=300)
    assert np.all(result.month_diffs == 0) and result.diff_usd == 0
    assert set(result.resources["status"]) == {"unchanged"}


def test_a_diff_band_shows_the_change_not_the_noise(tmp_path: Path) -> None:
    """Doubling one function's memory under an uncertain volume: the change's band is
    the change's own spread, far narrower than the totals' bands."""
    shutil.copytree(CHECKOUT.parent, tmp_path, dirs_exist_ok=True)
    text = CHECKOUT.read_text()
    head = tmp_path / "template.yaml"
    before, _, after = text.partition("  NotifyUserFunction:")
    head.write_text(
        before + "  NotifyUserFunction:" + after.replace("MemorySize: 128", "MemorySize: 256", 1)
    )
    usage = _usage(
        NotifyUserFunction={"monthly_requests": 2e6, "request_duration_ms": 400},
        PaymentServiceEndpoint={
            "monthly_requests": {"lognormal": {"p50": 5e7, "p99": 2e8}},
            "request_duration_ms": 100,
        },
    )
    base, new = from_sam(CHECKOUT, usage), from_sam(head, usage)
    assert new.resources["NotifyUserFunction"].memory_mb == 256  # type: ignore[union-attr]
    result = diff(base, new, samples=300)
    expected = (
        estimate("aws-lambda", invocations=2e6, duration_ms=400, memory_mb=256).total
        - estimate("aws-lambda", invocations=2e6, duration_ms=400, memory_mb=128).total
    )
    assert result.diff_usd == pytest.approx(expected)
    assert result.diff_p95_usd - result.diff_p5_usd < 1e-6 < result.new.p95_usd - result.new.p5_usd
    row = result.resources.set_index("resource").loc["NotifyUserFunction"]
    assert row["status"] == "changed" and row["diff_usd"] == pytest.approx(expected)


def test_architectures_chain_calls_for_compare() -> None:
    """calls: sync makes a sync chain compare() prices; the callee is no entry point."""
    usage = _usage(
        PaymentServiceEndpoint={
            "monthly_requests": 1e6,
            "request_duration_ms": 100,
            "calls": {"ShippingServiceEndpoint": "sync"},
        },
        ShippingServiceEndpoint={
            "request_duration_ms": {"lognormal": {"p50": 80, "p99": 400}},
            "error_rate": 0.01,
        },
        NotifyUserFunction={"calls": {"PaymentServiceEndpoint": "async"}},
    )
    archs = from_sam(CHECKOUT, usage).architectures()
    assert "CheckoutStateMachine" not in archs  # a machine joins only with usage
    assert {"NotifyUserFunction"} <= set(archs) and "ShippingServiceEndpoint" not in archs
    table = costmodel.compare(
        {"deployed": archs["NotifyUserFunction"]}, invocations=1e6, samples=500
    )
    assert table.loc["deployed", "total_usd"] > 0


def test_calls_in_a_cycle_are_an_error() -> None:
    """A calls B calls A: no entry point, InvalidUsage naming the cycle."""
    usage = _usage(
        PaymentServiceEndpoint={"calls": {"ShippingServiceEndpoint": "sync"}},
        ShippingServiceEndpoint={"calls": {"PaymentServiceEndpoint": "async"}},
    )
    with pytest.raises(costmodel.InvalidUsage, match="cycle"):
        from_sam(CHECKOUT, usage).architectures()


@pytest.mark.parametrize(("option", "value"), [("samples", 0), ("seed", -1), ("free_tier", "some")])
def test_bad_breakdown_arguments_name_the_parameter(option: str, value: object) -> None:
    """samples, seed and free_tier are checked before any work."""
    with pytest.raises(costmodel.InvalidUsage, match=option):
        from_sam(CHECKOUT).breakdown(**{option: value})  # type: ignore[arg-type]


def test_a_resource_without_usage_says_what_it_would_cost_per_unit() -> None:
    """As Infracost's "Monthly cost depends on usage: $0.20 per 1M requests": the sheet's
    first-tier prices, in the resource's notes."""
    from costmodel.tables import unit_price

    b = from_sam(CHECKOUT).breakdown(samples=1)
    notes = b.resources.set_index("resource")["notes"]
    queue = costmodel.price_sheet("aws-sqs-standard").meters[0]
    expected = unit_price(queue.tiers[0].unit_price, queue.unit)
    assert notes["EmailQueue"] == (
        f"no usage in the usage file: monthly cost depends on usage: {expected}",
    )
    assert "per GB-s" in notes["NotifyUserFunction"][0] and b.total_usd == 0


def test_a_deployed_state_machine_is_an_architecture_compare_prices() -> None:
    """The template offers every function under its logical ID, name and ARN; the machine
    takes the ones its Tasks invoke, and compare bills each Task attempt as an invocation:
    per execution 1 read + 10 deletes (one per Map item)."""
    usage = {
        "MapStateStateMachine": {
            "monthly_requests": 1e5,
            "states": {"Process Messages": {"items": 10}},
        },
        "ReadFromSQSFunction": {"monthly_requests": 1e5, "request_duration_ms": 200},
    }
    d = from_sam(FIXTURES / "sfn-map" / "template.yaml", _usage(**usage))
    machine = d.architectures()["MapStateStateMachine"]
    names = sorted(f.name for f in machine.task_functions())  # type: ignore[union-attr]
    assert names == ["DeleteFromSQSFunction", "ReadFromSQSFunction"]
    table = costmodel.compare({"deployed": machine}, invocations=1e5, samples=500)
    assert table.loc["deployed", "function_invocations"] == 1e5 * (1 + 10)
