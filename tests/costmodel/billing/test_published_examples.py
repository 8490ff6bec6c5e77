"""The providers' published worked examples, reproduced to the cent (one test each)."""

from __future__ import annotations

import numpy as np
import pytest

import costmodel
from costmodel import estimate, price_sheet


def cents(value: float) -> float:
    """Round an amount to the cent, as a provider's example does."""
    return round(value + 1e-12, 2)


def cost_of(bill: costmodel.Bill, item_prefix: str) -> float:
    """Sum of the bill lines whose item starts with ``item_prefix``."""
    lines = bill.lines
    return float(lines.loc[lines["item"].str.startswith(item_prefix), "cost"].sum())


def test_lambda_1536mb_3m_120ms_free_tier() -> None:
    """AWS Lambda example: 1536 MB, 3M x 120 ms, free tier: $2.33 + $0.40 = $2.73."""
    bill = estimate(
        "aws-lambda", invocations=3_000_000, duration_ms=120, memory_mb=1536, free_tier=True
    )
    assert cents(bill.by_component()["compute"]) == 2.33
    assert cents(bill.by_component()["requests"]) == 0.40
    assert cents(bill.total) == 2.73
    assert bill.usage["gb_seconds"] == pytest.approx(540_000)


def test_lambda_512mb_3m_1s_free_tier_current_price() -> None:
    """AWS Lambda example: 512 MB, 3M x 1 s: 1,100,000 billable GB-s, $18.33 at $0.0000166667."""
    bill = estimate(
        "aws-lambda", invocations=3_000_000, duration_ms=1000, memory_mb=512, free_tier=True
    )
    billable = bill.lines.loc[bill.lines["unit_price"] > 0]
    compute = billable[billable["component"] == "compute"]
    assert compute["quantity"].sum() == pytest.approx(1_100_000)
    assert cents(compute["cost"].sum()) == 18.33
    assert cents(bill.by_component()["requests"]) == 0.40


def test_lambda_512mb_3m_1s_free_tier_old_price() -> None:
    """The same example at the old $0.00001667 per GB-s (a derived sheet) gives $18.34."""
    sheet = price_sheet("aws-lambda")
    old = sheet.derive(scale=0.00001667 / sheet.meter("duration-x86_64").first_unit_price)
    bill = estimate(old, invocations=3_000_000, duration_ms=1000, memory_mb=512, free_tier=True)
    assert old.meter("duration-x86_64").first_unit_price == pytest.approx(0.00001667)
    assert cents(bill.by_component()["compute"]) == 18.34
    assert cents(bill.total) == 18.74


def test_lambda_provisioned_concurrency_example() -> None:
    """AWS PC example: $18.00 configured, $0.73 on PC, $0.83 on demand, $0.40 requests, $19.96."""
    bill = estimate(
        "aws-lambda",
        invocations=2_500_000,
        duration_ms=120,
        memory_mb=1536,
        free_tier=True,
        provisioned_concurrency=100,
        provisioned_hours=8,
        provisioned_invocations=500_000,
        provisioned_duration_ms=100,
    )
    assert cents(cost_of(bill, "provisioned concurrency")) == 18.00
    assert cents(cost_of(bill, "duration on provisioned")) == 0.73
    assert cents(cost_of(bill, "duration (x86_64)")) == 0.83
    assert cents(cost_of(bill, "requests")) == 0.40
    assert cents(bill.total) == 19.96
    assert bill.usage["provisioned_gb_seconds"] == pytest.approx(4_320_000)


@pytest.mark.parametrize(
    ("memory_mb", "arch", "compute"),
    [(128, "x86_64", 0.07), (512, "x86_64", 0.29), (512, "arm64", 0.23)],
)
def test_lambda_no_free_tier_100k_350ms(memory_mb: int, arch: str, compute: float) -> None:
    """AWS Lambda, no free tier: 100k x 350 ms: $0.07 (128 MB), $0.29 / $0.23 (512 MB), $0.02."""
    bill = estimate(
        "aws-lambda", invocations=100_000, duration_ms=350, memory_mb=memory_mb, arch=arch
    )
    assert cents(bill.by_component()["compute"]) == compute
    assert cents(bill.by_component()["requests"]) == 0.02
    if memory_mb == 128:
        assert bill.usage["gb_seconds"] == pytest.approx(4_375)


def test_step_functions_standard_10k_transitions() -> None:
    """Step Functions Standard: 10,000 transitions -> $0.25."""
    bill = estimate("aws-sfn-standard", invocations=10_000)
    assert cents(bill.total) == 0.25
    assert bill.by_component()["orchestration"] == pytest.approx(bill.total)


def test_step_functions_express_10m_800ms_512mb() -> None:
    """Express: 10M x 800 ms at 512 MB: 1,111.11 GB-hours, $60.00 + $3.33, $10.00 requests."""
    bill = estimate("aws-sfn-express", invocations=10_000_000, duration_ms=800, memory_mb=512)
    assert round(bill.usage["gb_hours"], 2) == 1111.11
    assert [cents(c) for c in bill.lines.loc[bill.lines["unit"] == "GB-hour", "cost"]] == [
        60.00,
        3.33,
    ]
    assert cents(cost_of(bill, "requests")) == 10.00
    assert cents(bill.total) == 73.33


def test_step_functions_express_100m_10s_64mb() -> None:
    """Express: 100M x 10 s at 64 MB: requests $100.00, duration $382.97."""
    bill = estimate("aws-sfn-express", invocations=100_000_000, duration_ms=10_000, memory_mb=64)
    assert cents(cost_of(bill, "requests")) == 100.00
    assert cents(cost_of(bill, "duration")) == 382.97


def test_api_gateway_http_one_billion() -> None:
    """API Gateway HTTP: 1 billion requests -> $300 + $630."""
    bill = estimate("aws-apigw-http", invocations=1_000_000_000)
    assert [cents(c) for c in bill.lines["cost"]] == [300.00, 630.00]
    assert bill.by_component()["gateway"] == pytest.approx(930.0)


def test_alibaba_fc3_217500_cu() -> None:
    """Alibaba FC 3.0: 3M x 200 ms, 0.5 GB, 0.25 vCPU -> 22,500 + 45,000 + 150,000 = 217,500 CU."""
    bill = estimate("alibaba-fc3", invocations=3_000_000, duration_ms=200, memory_mb=512, vcpu=0.25)
    items = bill.lines["item"].str.split(",").str[0]
    by_item = dict(zip(items, bill.lines["quantity"], strict=True))
    assert by_item == pytest.approx(
        {"invocations (CU)": 22_500, "memory (CU)": 45_000, "active vCPU (CU)": 150_000}
    )
    assert bill.usage["compute_units"] == pytest.approx(217_500)
    assert cents(bill.total) == cents(217_500 * 0.000020)


def test_tencent_rounding_illustration() -> None:
    """128 MB, 37 ms, 1M calls: 12,500 GB-s at 100 ms steps vs 4,625 GB-s at 1 ms steps."""
    coarse = estimate("gcp-functions-gen1", invocations=1_000_000, duration_ms=37, memory_mb=128)
    fine = estimate("aws-lambda", invocations=1_000_000, duration_ms=37, memory_mb=128)
    azure = estimate(
        "azure-functions-consumption", invocations=1_000_000, duration_ms=37, memory_mb=128
    )
    assert coarse.usage["gb_seconds"] == pytest.approx(12_500)
    assert azure.usage["gb_seconds"] == pytest.approx(12_500)  # 100 ms minimum
    assert fine.usage["gb_seconds"] == pytest.approx(4_625)
    samples = np.full(1_000, 37.0)
    assert estimate(
        "gcp-functions-gen1", invocations=1_000_000, duration_ms=samples, memory_mb=128
    ).usage["gb_seconds"] == pytest.approx(12_500)


def test_huawei_functiongraph_request_example() -> None:
    """FunctionGraph example: (2M + 100k + 100k - 1M free) requests x $0.2/M = $0.24."""
    bill = sum(
        estimate("huawei-functiongraph", invocations=n, duration_ms=500, memory_mb=512,
                 free_tier=True)
        for n in (2_000_000, 100_000, 100_000)
    )  # fmt: skip
    assert isinstance(bill, costmodel.Bill)
    assert cents(bill.by_component()["requests"]) == 0.24


def test_gcp_gen1_price_per_100ms_table() -> None:
    """Google gen1 table: 128 MB / 200 MHz costs $0.000000231 per 100 ms (GB-s + GHz-s)."""
    bill = estimate("gcp-functions-gen1", invocations=1, duration_ms=100, memory_mb=128)
    compute = bill.by_component()["compute"]
    assert round(compute, 9) == 0.000000231


@pytest.mark.parametrize("memory_mb", [62.85, 0, 64])
def test_sfn_express_bills_memory_used_in_64_mb_chunks(memory_mb: float) -> None:
    """AWS's Express example 4 (aws.amazon.com/step-functions/pricing, read 2026-12-03):
    50 MB + 50 KB + 400 x 32 KB = 62.85 MB used, billed as 64 MB; 100M workflows of 10 s:
    requests $100.00 + duration $382.97. Any amount used bills at least one 64 MB chunk."""
    bill = estimate(
        "aws-sfn-express", invocations=100_000_000, duration_ms=10_000, memory_mb=memory_mb
    )
    assert cents(cost_of(bill, "requests")) == 100.00
    assert cents(cost_of(bill, "duration")) == 382.97
    assert cents(bill.total) == 482.97
