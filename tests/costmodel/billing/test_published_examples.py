"""The providers' published worked examples, reproduced to the cent (one test each)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import costmodel
from costmodel import estimate, load_price_sheet, price_sheet


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


# ------------------------------------------------------------ the rest of the market


def test_cloudflare_workers_15m_requests_7ms_cpu() -> None:
    """Cloudflare's Standard usage model example (developers.cloudflare.com/workers/platform/
    pricing, read 2026-12-03): 15M requests x 7 ms CPU: $5.00 subscription + $1.50 requests
    ((15M - 10M included) x $0.30/M) + $1.50 CPU ((105M - 30M included CPU-ms) x $0.02/M)."""
    bill = estimate("cloudflare-workers", invocations=15_000_000, cpu_ms=7)
    assert cents(bill.by_component()["subscription"]) == 5.00
    assert cents(bill.by_component()["requests"]) == 1.50
    assert cents(bill.by_component()["compute"]) == 1.50
    assert cents(bill.total) == 8.00
    assert bill.usage["cpu_ms"] == pytest.approx(105_000_000)
    included = bill.lines[bill.lines["item"].str.endswith("included in plan")]
    assert included["quantity"].tolist() == [10_000_000, 30_000_000]


def test_cloudflare_workers_bills_cpu_not_wall_time() -> None:
    """The same Worker waiting 500 ms on I/O per request costs the same $8.00."""
    waiting = estimate("cloudflare-workers", invocations=15_000_000, cpu_ms=7, duration_ms=507)
    assert cents(waiting.total) == 8.00


def test_vercel_fluid_pro_hand_computation() -> None:
    """Vercel Pro, iad1 (vercel.com/docs/fluid-compute/pricing, read 2026-12-03; no worked
    example published): 5M invocations, 50 ms active CPU, 400 ms wall at 2 GB. CPU 69.44 h -
    16 h included = 53.44 h x $0.128 = $6.84; memory 1,111.11 GB-h within the 1,440 included;
    invocations (5M - 1M) x $0.60/M = $2.40; total $9.24. In sfo1 CPU costs $0.177/h: $11.86."""
    usage = {"invocations": 5_000_000, "cpu_ms": 50, "duration_ms": 400, "memory_mb": 2048}
    bill = estimate("vercel-functions", **usage)
    assert cents(cost_of(bill, "active CPU")) == 6.84
    assert cents(cost_of(bill, "provisioned memory")) == 0.00
    assert cents(cost_of(bill, "invocations")) == 2.40
    assert cents(bill.total) == 9.24
    assert bill.usage["memory_gb_hours"] == pytest.approx(1_111.111111)
    assert cents(estimate("vercel-functions", region="sfo1", **usage).total) == 11.86


def test_vercel_concurrency_shares_provisioned_memory() -> None:
    """20M x 1 s at 2 GB: 11,111 GB-h alone (9,671 beyond the 1,440 included, $102.51); with 4
    requests per instance 2,777.8 GB-h (1,337.8 beyond, $14.18). CPU is not shared."""
    usage = {"invocations": 20_000_000, "cpu_ms": 10, "duration_ms": 1000, "memory_mb": 2048}
    alone = estimate("vercel-functions", **usage)
    shared = estimate("vercel-functions", concurrency=4, **usage)
    assert cents(cost_of(alone, "provisioned memory")) == 102.51
    assert cents(cost_of(shared, "provisioned memory")) == 14.18
    assert cost_of(alone, "active CPU") == cost_of(shared, "active CPU")


def test_cloud_run_request_based_hand_computation() -> None:
    """Cloud Run request-based, Tier 1 (cloud.google.com/run/pricing, read 2026-12-03): 10M
    requests x 200 ms, 1 vCPU, 512 MiB, free tier: CPU (2M - 180k) vCPU-s x $0.000024 =
    $43.68; memory (1M - 360k) GiB-s x $0.0000025 = $1.60; requests 8M x $0.40/M = $3.20."""
    bill = estimate(
        "gcp-cloud-run", invocations=10_000_000, duration_ms=200, memory_mb=512, free_tier=True
    )
    assert cents(cost_of(bill, "CPU")) == 43.68
    assert cents(cost_of(bill, "memory")) == 1.60
    assert cents(cost_of(bill, "requests")) == 3.20
    assert cents(bill.total) == 48.48


def test_cloud_run_instance_based_hand_computation() -> None:
    """Cloud Run instance-based, Tier 1: the same 10M x 200 ms served 10 at a time by 100
    instance starts, each starting in 2 s and idle 15 min before shutting down: 200,000 s busy
    + 100 x 902 s = 290,200 instance-s; CPU x $0.000018 = $5.22, memory 145,100 GiB-s x
    $0.000002 = $0.29; no request fee."""
    bill = estimate(
        "gcp-cloud-run-instance",
        invocations=10_000_000,
        duration_ms=200,
        memory_mb=512,
        concurrency=10,
        instance_starts=100,
        startup_ms=2_000,
        idle_ms=900_000,
    )
    assert bill.usage["instance_seconds"] == pytest.approx(290_200)
    assert cents(cost_of(bill, "CPU")) == 5.22
    assert cents(cost_of(bill, "memory")) == 0.29
    assert "requests" not in set(bill.lines["item"])
    assert cents(bill.total) == 5.51


def test_azure_flex_on_demand_hand_computation() -> None:
    """Flex Consumption on demand, East US: 3M executions x 1 s at 2,048 MB with the free
    grant: (6M - 100k) GB-s x $0.000026 = $153.40 and (3M - 250k) x $0.40/M = $1.10."""
    bill = estimate(
        "azure-functions-flex",
        invocations=3_000_000,
        duration_ms=1000,
        memory_mb=2048,
        free_tier=True,
    )
    assert cents(cost_of(bill, "execution time")) == 153.40
    assert cents(cost_of(bill, "executions")) == 1.10
    assert cents(bill.total) == 154.50


#: The Flex Consumption meters in EUR as a public cost study lists them (a price table of
#: the Azure pricing page's meters, free grant 100,000 GB-s and 250,000 executions), for a
#: user-loaded sheet: the catalog's USD sheet leaves the always-ready rates out (unverified).
FLEX_EUR = """
key = "azure-flex-eur"
service = "Azure Functions Flex Consumption (EUR table of a public cost study)"
vendor = "azure"
model = "azure-flex"
currency = "EUR"
region = "unstated"
source = "https://azure.microsoft.com/en-us/pricing/details/functions/"
date_read = 2026-12-03
[rules]
memory_mb = [512, 4096]
memory_choices_mb = [512, 2048, 4096]
duration_step_ms = 100
min_billed_ms = 1000
[[meters]]
name = "executions"
component = "requests"
unit = "execution"
price = 0.371
per = 1_000_000
free = 250_000
[[meters]]
name = "duration"
component = "compute"
unit = "GB-s"
price = 0.000025
free = 100_000
[[meters]]
name = "always-ready-baseline"
component = "compute"
unit = "GB-s"
price = 0.0000038
[[meters]]
name = "always-ready-duration"
component = "compute"
unit = "GB-s"
price = 0.0000149
[[meters]]
name = "always-ready-executions"
component = "requests"
unit = "execution"
price = 0.370439
per = 1_000_000
"""


def test_azure_flex_always_ready_baseline_and_executions(tmp_path: Path) -> None:
    """Always ready, on a sheet of the EUR table's rates: one 4 GB instance for a 30-day month
    is a baseline of 10,368,000 GB-s x EUR 0.0000038 = EUR 39.40 (the study's figure);
    179,585 executions of 1 s on it add 718,340 GB-s x EUR 0.0000149 = EUR 10.70 and
    179,585 x EUR 0.370439/M = EUR 0.07 (no free grant in always-ready billing): EUR 50.17.
    (The study's own execution totals, at 29 ms per execution, ignore the 1,000 ms minimum
    that Microsoft documents, so they are not reproduced.)"""
    file = tmp_path / "flex-eur.toml"
    file.write_text(FLEX_EUR)
    bill = estimate(
        load_price_sheet(file),
        invocations=0,
        duration_ms=0,
        memory_mb=4096,
        free_tier=True,
        always_ready_instances=1,
        always_ready_hours=30 * 24,
        always_ready_invocations=179_585,
        always_ready_duration_ms=1000,
    )
    assert bill.currency == "EUR"
    assert cents(cost_of(bill, "always ready baseline")) == 39.40
    assert cents(cost_of(bill, "always ready execution time")) == 10.70
    assert cents(cost_of(bill, "always ready executions")) == 0.07
    assert cents(bill.total) == 50.17


def test_lambda_snapstart_cache_and_restore() -> None:
    """SnapStart (us-east-1 Price List: $0.0000015046/GB-s cached, $0.0001397998/GB restored):
    a 2 GB function's version cached for a 30-day month costs $7.80 (the figure a public cost
    page gives); 1M restores of 2 GB cost $279.60 (the page rounds it to about $280)."""
    bill = estimate(
        "aws-lambda",
        invocations=0,
        duration_ms=0,
        memory_mb=2048,
        snapstart_cache_hours=30 * 24,
        snapstart_restores=1_000_000,
    )
    assert cents(cost_of(bill, "SnapStart cache")) == 7.80
    assert cents(cost_of(bill, "SnapStart restore")) == 279.60


def test_lambda_response_streaming_beyond_6_mb() -> None:
    """Streaming bills the bytes beyond the first 6 MB of each request at $0.008/GB: 1M
    requests of 8 MB stream 2 MB x 1M = 1,953.125 GB billed: $15.63; samples of 4 and 10 MB
    bill 0 and 4 MB each (never the mean's 1 MB)."""
    bill = estimate(
        "aws-lambda", invocations=1_000_000, duration_ms=100, memory_mb=128, streamed_mb=8
    )
    assert bill.usage["streamed_gb"] == pytest.approx(1_953.125)
    assert cents(cost_of(bill, "response streaming")) == 15.63
    mixed = estimate(
        "aws-lambda",
        invocations=1_000_000,
        duration_ms=100,
        memory_mb=128,
        streamed_mb=np.array([4.0, 10.0]),
    )
    assert mixed.usage["streamed_gb"] == pytest.approx(2e6 / 1024)


def test_lambda_ap_southeast_1_hand_computation() -> None:
    """Lambda in ap-southeast-1 (Price List APS1-*): 1M x 100 ms at 1 GB on arm64: 100,000 GB-s
    x $0.0000133334 = $1.33 + $0.20 requests; the same as us-east-1's prices."""
    usage = {"invocations": 1_000_000, "duration_ms": 100, "memory_mb": 1024, "arch": "arm64"}
    singapore = estimate("aws-lambda", region="ap-southeast-1", **usage)
    assert cents(singapore.total) == 1.53
    assert singapore.total == pytest.approx(estimate("aws-lambda", **usage).total)
