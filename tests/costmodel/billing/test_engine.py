"""The billing engine: rounding, tiers, free tiers, options, bad input, sums, properties."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import COMPONENTS, Bill, InvalidUsage, estimate, load_price_sheet, price_sheet

# A valid call for every compute provider: provider -> keyword arguments besides the volume.
COMPUTE: dict[str, dict[str, Any]] = {
    "aws-lambda": {"memory_mb": 512},
    "azure-functions-consumption": {"memory_mb": 300},
    "huawei-functiongraph": {"memory_mb": 512},
    "gcp-functions-gen1": {"memory_mb": 256},
    "gcp-cloud-run-functions": {"memory_mb": 512},
    "alibaba-fc3": {"memory_mb": 1024, "vcpu": 0.5},
    "aws-sfn-express": {"memory_mb": 64},
}


def gbs(bill: Bill) -> float:
    """Billed GB-s of a bill."""
    return bill.usage["gb_seconds"]


# ---------------------------------------------------------------- rounding per invocation


def test_rounding_is_per_invocation_not_on_the_mean() -> None:
    """Samples 150 and 210 ms (mean 180) bill 200 + 300 ms at 100 ms steps, not 2 x 200."""
    bill = estimate("gcp-functions-gen1", duration_ms=np.array([150.0, 210.0]), memory_mb=1024)
    assert bill.usage["invocations"] == 2
    assert bill.usage["billed_duration_ms"] == 500
    mean_only = estimate("gcp-functions-gen1", invocations=2, duration_ms=180, memory_mb=1024)
    assert mean_only.usage["billed_duration_ms"] == 400


def test_lambda_rounds_up_to_the_millisecond_with_1ms_minimum() -> None:
    """Lambda bills 120.2 ms as 121 ms, 0 ms as 1 ms, and ignores float noise at 120 ms."""
    samples = pd.Series([120.2, 0.0, 120.00000000001, 0.4])
    bill = estimate("aws-lambda", duration_ms=samples, memory_mb=1024)
    assert bill.usage["billed_duration_ms"] == 121 + 1 + 120 + 1


def test_samples_scale_to_invocations() -> None:
    """Samples with invocations are a distribution: mean billed duration x invocations."""
    samples = [40.0, 160.0, 260.0]  # bill 100, 200, 300 ms at 100 ms steps -> mean 200 ms
    bill = estimate("gcp-cloud-run-functions", invocations=3_000, duration_ms=samples,
                    memory_mb=1024)  # fmt: skip
    assert bill.usage["billed_duration_ms"] == pytest.approx(600_000)
    assert bill.usage["invocations"] == 3_000
    same = estimate("gcp-cloud-run-functions", invocations=3, duration_ms=samples, memory_mb=1024)
    assert same.usage["billed_duration_ms"] == 600


def test_azure_rounds_memory_to_128mb_and_duration_to_100ms_minimum() -> None:
    """Azure bills 60 MB as 128 MB, 129 MB as 256 MB, and 37 ms as 100 ms."""
    small = estimate("azure-functions-consumption", invocations=1000, duration_ms=37,
                     memory_mb=60)  # fmt: skip
    assert gbs(small) == pytest.approx(128 / 1024 * 0.1 * 1000)
    odd = estimate("azure-functions-consumption", invocations=1000, duration_ms=1234.5,
                   memory_mb=129)  # fmt: skip
    assert gbs(odd) == pytest.approx(256 / 1024 * 1.235 * 1000)


def test_express_rounds_memory_to_64mb_and_duration_to_100ms() -> None:
    """Express bills 65 MB as 128 MB and 150 ms as 200 ms."""
    bill = estimate("aws-sfn-express", invocations=3600, duration_ms=150, memory_mb=65)
    assert bill.usage["gb_hours"] == pytest.approx(128 / 1024 * 0.2)


def test_gcp_gen1_bills_ghz_seconds_by_memory_table() -> None:
    """Gen1 at 2048 MB bills 2.4 GHz-s and 2 GB-s per second of compute."""
    bill = estimate("gcp-functions-gen1", invocations=10, duration_ms=1000, memory_mb=2048)
    assert bill.usage["ghz_seconds"] == pytest.approx(24)
    assert bill.usage["gb_seconds"] == pytest.approx(20)


def test_cloud_run_default_and_explicit_vcpu() -> None:
    """Cloud Run uses Google's default vCPU for the memory (512 MiB -> 0.333) unless given."""
    default = estimate("gcp-cloud-run-functions", invocations=10, duration_ms=1000, memory_mb=512)
    assert default.usage["vcpu_seconds"] == pytest.approx(3.33)
    odd = estimate("gcp-cloud-run-functions", invocations=10, duration_ms=1000, memory_mb=600)
    assert odd.usage["vcpu_seconds"] == pytest.approx(5.83)  # next size up: 1 GiB -> 0.583
    given_cpu = estimate(
        "gcp-cloud-run-functions", invocations=10, duration_ms=1000, memory_mb=512, vcpu=2
    )
    assert given_cpu.usage["vcpu_seconds"] == pytest.approx(20)


@pytest.mark.parametrize(
    ("key", "payload_kb", "billed"),
    [
        ("aws-apigw-http", 512, 1),
        ("aws-apigw-http", 513, 2),
        ("aws-apigw-http", 0, 1),
        ("aws-sqs-standard", 256, 4),
        ("aws-sqs-standard", 64, 1),
        ("aws-sqs-fifo", 65, 2),
    ],
)
def test_size_metered_requests(key: str, payload_kb: float, billed: int) -> None:
    """HTTP APIs meter 512 KB increments and SQS 64 KB chunks, at least one per request."""
    bill = estimate(key, invocations=1000, payload_kb=payload_kb)
    assert bill.usage["billed_requests"] == billed * 1000


def test_payload_samples_are_metered_each() -> None:
    """Payload samples are chunked one by one: 10 KB and 100 KB bill 1 + 2 SQS requests."""
    bill = estimate("aws-sqs-standard", invocations=2, payload_kb=np.array([10.0, 100.0]))
    assert bill.usage["billed_requests"] == 3


# ---------------------------------------------------------------- tiers and free tiers


def test_lambda_gb_seconds_graduate_across_tiers() -> None:
    """7 billion x86 GB-s bill 6 B at the first price and 1 B at the second."""
    bill = estimate("aws-lambda", invocations=7_000_000_000, duration_ms=1000, memory_mb=1024)
    compute = bill.lines[bill.lines["component"] == "compute"]
    assert compute["quantity"].tolist() == pytest.approx([6e9, 1e9])
    assert compute["unit_price"].tolist() == pytest.approx([0.0000166667, 0.000015])


def test_free_tier_only_when_asked() -> None:
    """free_tier defaults to False; True removes 1M requests and 400,000 GB-s."""
    kwargs: dict[str, Any] = {"invocations": 500_000, "duration_ms": 100, "memory_mb": 1024}
    assert estimate("aws-lambda", **kwargs).total == pytest.approx(0.1 + 50_000 * 0.0000166667)
    free = estimate("aws-lambda", free_tier=True, **kwargs)
    assert free.total == 0
    assert free.lines["item"].str.endswith("free tier").all()


def test_sum_applies_free_tier_once() -> None:
    """Two bills of 2M requests each with the free tier: the sum bills 3M requests, not 2M."""
    one = estimate("aws-lambda", invocations=2_000_000, duration_ms=10, memory_mb=128,
                   free_tier=True)  # fmt: skip
    both = one + one
    assert one.by_component()["requests"] == pytest.approx(0.20)
    assert both.by_component()["requests"] == pytest.approx(0.60)
    assert both.usage["invocations"] == 4_000_000
    alone = estimate("aws-lambda", invocations=4_000_000, duration_ms=10, memory_mb=128,
                     free_tier=True)  # fmt: skip
    assert both.total == pytest.approx(alone.total)


def test_sum_prices_tiers_on_the_pooled_volume() -> None:
    """Two 200M-request HTTP API bills cross the 300M tier bound together."""
    half = estimate("aws-apigw-http", invocations=200_000_000)
    assert (half + half).total == pytest.approx(300 + 100 * 0.9)
    assert half.total * 2 == pytest.approx(400)


def test_free_pool_shared_by_architectures_goes_to_the_dearer_first() -> None:
    """400,000 free GB-s are shared by x86 and Arm; x86 (dearer) uses them first."""
    x86 = estimate("aws-lambda", invocations=300_000, duration_ms=1000, memory_mb=1024,
                   free_tier=True)  # fmt: skip
    arm = estimate("aws-lambda", invocations=300_000, duration_ms=1000, memory_mb=1024,
                   arch="arm64", free_tier=True)  # fmt: skip
    assert x86.by_component()["compute"] == 0 and arm.by_component()["compute"] == 0
    both = x86 + arm
    assert both.by_component()["compute"] == pytest.approx(200_000 * 0.0000133334)


def test_free_egress_is_one_aws_pool_across_lambda_and_data_transfer() -> None:
    """AWS's 100 free GB of egress are shared by Lambda's egress and data transfer out."""
    both = estimate(
        "aws-lambda", invocations=1, duration_ms=1, memory_mb=128, egress_gb=150, free_tier=True
    ) + estimate("aws-data-transfer", egress_gb=150, free_tier=True)
    egress = both.lines[both.lines["component"] == "egress"]
    assert egress[egress["unit_price"] > 0]["quantity"].sum() == pytest.approx(200)
    assert egress[egress["unit_price"] == 0]["quantity"].sum() == pytest.approx(100)
    assert both.by_component()["egress"] == pytest.approx(200 * 0.09)


def test_sqs_standard_and_fifo_share_their_free_requests() -> None:
    """1M free SQS requests a month cover standard and FIFO together, the dearer FIFO first."""
    standard = estimate("aws-sqs-standard", invocations=1_000_000, free_tier=True)
    fifo = estimate("aws-sqs-fifo", invocations=1_000_000, free_tier=True)
    assert standard.total == 0 and fifo.total == 0
    assert (standard + fifo).total == pytest.approx(0.40)  # FIFO ($0.50/M) free first


def test_free_pools_of_different_services_stay_apart() -> None:
    """Lambda's free requests do not cover API Gateway's or SQS's, and vice versa."""
    free = "legacy-12-month"  # API Gateway's 1M calls are a 12-month offer
    parts = [
        estimate("aws-lambda", invocations=1_000_000, duration_ms=1, memory_mb=128,
                 free_tier=free),
        estimate("aws-apigw-http", invocations=1_000_000, free_tier=free),
        estimate("aws-apigw-rest", invocations=1_000_000, free_tier=free),
        estimate("aws-sqs-standard", invocations=1_000_000, free_tier=free),
    ]  # fmt: skip
    assert sum(parts).total == 0


@pytest.mark.parametrize(
    ("free_tier", "choice", "apigw_usd", "s3_usd"),
    [
        (False, "none", 1.00, 0.005 * 2 + 0.0004 * 20 + 0.023 * 5),
        ("none", "none", 1.00, 0.005 * 2 + 0.0004 * 20 + 0.023 * 5),
        (True, "always", 1.00, 0.005 * 2 + 0.0004 * 20 + 0.023 * 5),
        ("always", "always", 1.00, 0.005 * 2 + 0.0004 * 20 + 0.023 * 5),
        ("legacy-12-month", "legacy-12-month", 0.0, 0.0),
    ],
)
def test_twelve_month_offers_apply_only_to_legacy_accounts(
    free_tier: Any, choice: str, apigw_usd: float, s3_usd: float
) -> None:
    """API Gateway's 1M calls and S3's free requests and 5 GB are 12-month offers: only
    ``"legacy-12-month"`` applies them; Lambda's always-free offers apply with both."""
    apigw = estimate("aws-apigw-http", invocations=1_000_000, free_tier=free_tier)
    s3 = estimate("aws-s3", invocations=2_000, get_requests=20_000, storage_gb_month=5,
                  free_tier=free_tier)  # fmt: skip
    lam = estimate("aws-lambda", invocations=1_000_000, duration_ms=100, memory_mb=128,
                   free_tier=free_tier)  # fmt: skip
    assert apigw.total == pytest.approx(apigw_usd)
    assert s3.total == pytest.approx(s3_usd)
    assert lam.total == (0.0 if choice != "none" else pytest.approx(0.20 + 12_500 * 0.0000166667))
    assert dict(apigw.free_tier) == {"aws-apigw-http": choice}


@pytest.mark.parametrize("bad", ["yes", "12-month", 1, None, "Always"])
def test_free_tier_names_its_choices(bad: object) -> None:
    """A free_tier that is none of the choices is an error naming the parameter and them."""
    with pytest.raises(InvalidUsage, match=r"free_tier=.*'none', 'always', 'legacy-12-month'"):
        estimate("aws-lambda", invocations=1, duration_ms=1, memory_mb=128, free_tier=bad)


def test_bills_with_different_free_offers_do_not_add() -> None:
    """One sheet billed with two free-tier choices cannot be pooled: which would apply?"""
    a = estimate("aws-apigw-http", invocations=1, free_tier="always")
    b = estimate("aws-apigw-http", invocations=1, free_tier="legacy-12-month")
    with pytest.raises(InvalidUsage, match="free_tier='always' and free_tier='legacy-12-month'"):
        _ = a + b
    assert (a + estimate("aws-apigw-http", invocations=1, free_tier=True)).total > 0


def test_a_derived_region_shares_the_account_free_tier() -> None:
    """A sheet derived for another region keeps its pools: one account, one free tier."""
    eu = price_sheet("aws-lambda").derive(key="aws-lambda-eu", region="eu-west-1")
    here = estimate("aws-lambda", invocations=1_000_000, duration_ms=1, memory_mb=128,
                    free_tier=True)  # fmt: skip
    there = estimate(eu, invocations=1_000_000, duration_ms=1, memory_mb=128, free_tier=True)
    requests = (here + there).by_component()["requests"]
    assert requests == pytest.approx(0.20)


def test_sum_of_services_keeps_components() -> None:
    """A Lambda bill plus an API Gateway bill has compute, requests and gateway costs."""
    total = sum(
        [
            estimate("aws-lambda", invocations=1_000_000, duration_ms=100, memory_mb=1024),
            estimate("aws-apigw-http", invocations=1_000_000),
            estimate("aws-sqs-standard", invocations=3_000_000),
        ]
    )
    assert isinstance(total, Bill)
    assert total.provider == "aws-lambda+aws-apigw-http+aws-sqs-standard"
    parts = total.by_component()
    assert parts["gateway"] == pytest.approx(1.0) and parts["queue"] == pytest.approx(1.2)
    assert parts.sum() == pytest.approx(total.total)
    assert set(total.lines["provider"]) == {"aws-lambda", "aws-apigw-http", "aws-sqs-standard"}


def test_sum_refuses_mixed_free_tier_and_currencies(tmp_path: Path) -> None:
    """Adding bills of one sheet with and without the free tier, or in two currencies, fails."""
    free = estimate("aws-apigw-http", invocations=10, free_tier=True)
    paid = estimate("aws-apigw-http", invocations=10)
    with pytest.raises(InvalidUsage, match="free_tier"):
        free + paid
    text = Path(costmodel.catalog.sheets.__file__).parent / "prices" / "huawei-functiongraph.toml"
    euro = load_price_sheet(_write(tmp_path, text.read_text().replace('"USD"', '"EUR"')))
    with pytest.raises(InvalidUsage, match="EUR"):
        paid + estimate(euro, invocations=1, duration_ms=1, memory_mb=128)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sheet.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- options per provider


def test_lambda_ephemeral_storage_and_egress() -> None:
    """10,240 MB of /tmp bills 9.5 GB extra per second; egress bills per GB after 100 GB free."""
    bill = estimate("aws-lambda", invocations=1_000_000, duration_ms=1000, memory_mb=128,
                    ephemeral_storage_mb=10_240, egress_gb=200, free_tier=True)  # fmt: skip
    assert bill.usage["ephemeral_gb_seconds"] == pytest.approx(9.5e6)
    storage = bill.lines[bill.lines["item"] == "ephemeral storage"]
    assert storage["cost"].sum() == pytest.approx(9.5e6 * 0.0000000309)
    assert bill.by_component()["egress"] == pytest.approx(100 * 0.09)


def test_step_functions_standard_transitions_per_execution() -> None:
    """invocations are executions; transitions multiplies them; 4,000 free with the tier."""
    bill = estimate("aws-sfn-standard", invocations=10_000, transitions=4, free_tier=True)
    assert bill.usage["transitions"] == 40_000
    assert bill.total == pytest.approx(36_000 * 0.000025)


def test_s3_and_data_transfer() -> None:
    """S3 bills PUTs, GETs and GB-months as storage; data transfer bills egress tiers."""
    s3 = estimate("aws-s3", invocations=1_000_000, get_requests=1_000_000, storage_gb_month=10)
    assert s3.by_component()["storage"] == pytest.approx(5.0 + 0.4 + 0.23)
    out = estimate("aws-data-transfer", egress_gb=20_480, free_tier=True)
    assert out.total == pytest.approx((10_240 - 100) * 0.09 + 10_240 * 0.085)
    assert out.by_component()["egress"] == pytest.approx(out.total)


def test_provider_may_be_a_sheet_and_lines_have_the_columns() -> None:
    """estimate() takes a PriceSheet; lines carry provider, component, item, units and cost."""
    bill = estimate(price_sheet("huawei-functiongraph"), invocations=10, duration_ms=3,
                    memory_mb=128)  # fmt: skip
    assert list(bill.lines.columns) == [
        "provider", "component", "item", "quantity", "unit", "unit_price", "cost"
    ]  # fmt: skip
    assert (bill.lines["cost"] == bill.lines["quantity"] * bill.lines["unit_price"]).all()
    assert list(bill.by_component().index) == list(COMPONENTS)
    assert repr(bill).startswith("Bill(provider='huawei-functiongraph', total=0.00 USD")


def test_provisioned_time_rounds_up_to_five_minutes() -> None:
    """Provisioned concurrency configured for 61 minutes bills 65 minutes, idle or not."""
    bill = estimate("aws-lambda", memory_mb=1024, provisioned_concurrency=2,
                    provisioned_hours=61 / 60)  # fmt: skip
    assert bill.usage["provisioned_gb_seconds"] == pytest.approx(2 * 1 * 65 * 60)
    assert bill.usage["invocations"] == 0 and bill.by_component()["requests"] == 0


def test_zero_volume_is_an_empty_bill() -> None:
    """No invocations bills nothing: empty lines, zero total, zero per component."""
    bill = estimate("aws-lambda", invocations=0, memory_mb=128)
    assert bill.total == 0 and bill.lines.empty
    assert bill.by_component().sum() == 0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"invocations": -1, "duration_ms": 10, "memory_mb": 128}, r"invocations=-1: .*>= 0"),
        ({"invocations": float("nan"), "duration_ms": 10, "memory_mb": 128}, "invocations=nan"),
        ({"invocations": 1, "duration_ms": float("nan"), "memory_mb": 128}, "duration_ms=nan"),
        ({"invocations": 1, "duration_ms": -5, "memory_mb": 128}, "duration_ms=-5"),
        ({"duration_ms": np.array([1.0, np.nan]), "memory_mb": 128}, r"duration_ms\[1\]=nan"),
        ({"duration_ms": np.array([]), "memory_mb": 128}, "non-empty"),
        ({"duration_ms": "fast", "memory_mb": 128}, "duration_ms='fast'"),
        ({"invocations": 1, "duration_ms": 10, "memory_mb": 64}, r"128 to 10240 MB"),
        ({"invocations": 1, "duration_ms": 10, "memory_mb": 20_000}, "memory_mb=20000"),
        ({"invocations": 1, "duration_ms": 10}, "memory_mb is required"),
        ({"invocations": 1, "memory_mb": 128}, "duration_ms is required"),
        ({"invocations": 1, "duration_ms": 10, "memory_mb": 128, "arch": "risc-v"}, "arm64"),
        ({"invocations": 1, "duration_ms": 10, "memory_mb": 128, "vcpu": 1}, r"vcpu; it acc"),
        ({"invocations": 1, "duration_ms": 10, "memory_mb": 128, "free_tier": 1}, "free_tier"),
        (
            {"invocations": 1, "duration_ms": 10, "memory_mb": 128, "ephemeral_storage_mb": 100},
            "ephemeral_storage_mb=100: aws-lambda allows 512 to 10240 MB",
        ),
        (
            {"invocations": 1, "duration_ms": 1, "memory_mb": 128, "provisioned_invocations": 5},
            "provisioned_concurrency is required",
        ),
        (
            {
                "memory_mb": 128,
                "provisioned_concurrency": 5,
                "provisioned_hours": 1,
                "provisioned_invocations": 5,
            },
            "provisioned_duration_ms is required",
        ),
    ],
)
def test_lambda_bad_input_names_the_field(kwargs: dict[str, Any], pattern: str) -> None:
    """Bad counts, durations, memory and options raise InvalidUsage naming field and range."""
    with pytest.raises(InvalidUsage, match=pattern):
        estimate("aws-lambda", **kwargs)


@pytest.mark.parametrize(
    ("key", "kwargs", "pattern"),
    [
        ("aws-apigw-http", {"invocations": 1, "duration_ms": 5}, "does not bill duration_ms"),
        ("aws-apigw-http", {"invocations": 1, "arch": "arm64"}, "invocations, payload_kb"),
        ("aws-apigw-rest", {"invocations": 1, "payload_kb": 5}, "payload_kb"),
        ("aws-sfn-standard", {"invocations": 1, "memory_mb": 128}, "does not bill memory_mb"),
        ("aws-sfn-standard", {}, "invocations"),
        ("aws-data-transfer", {"invocations": 5, "egress_gb": 1}, "does not bill invocations"),
        ("aws-data-transfer", {}, "egress_gb is required"),
        ("alibaba-fc3", {"invocations": 1, "duration_ms": 1, "memory_mb": 512}, "vcpu"),
        (
            "alibaba-fc3",
            {"invocations": 1, "duration_ms": 1, "memory_mb": 512, "vcpu": 2},
            "1 to 4 GB of memory per vCPU",
        ),
        (
            "alibaba-fc3",
            {"invocations": 1, "duration_ms": 1, "memory_mb": 512, "vcpu": 20},
            "vcpu=20: alibaba-fc3 allows 0.05 to 16 vCPU",
        ),
        (
            "gcp-functions-gen1",
            {"invocations": 1, "duration_ms": 1, "memory_mb": 300},
            "128, 256, 512, 1024, 2048, 4096, 8192 MB",
        ),
        (
            "azure-functions-consumption",
            {"invocations": 1, "duration_ms": 1, "memory_mb": 2048},
            "1 to 1536 MB",
        ),
        ("aws-sqs-standard", {"invocations": 1, "payload_kb": -1}, "payload_kb=-1"),
        ("aws-s3", {}, "PUT requests"),
    ],
)
def test_other_providers_bad_input(key: str, kwargs: dict[str, Any], pattern: str) -> None:
    """Each provider rejects what it does not bill or allow, naming field and range."""
    with pytest.raises(InvalidUsage, match=pattern):
        estimate(key, **kwargs)


# ---------------------------------------------------------------- properties

volumes = st.integers(min_value=0, max_value=10**10)
durations = st.floats(min_value=0, max_value=900_000, allow_nan=False)
providers_st = st.sampled_from(sorted(COMPUTE))
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bill_for(key: str, invocations: float, duration_ms: Any, **extra: Any) -> Bill:
    """A bill for ``key`` with its valid memory (and vCPU) settings."""
    return estimate(key, invocations=invocations, duration_ms=duration_ms, **COMPUTE[key], **extra)


@quick
@given(key=providers_st, n=volumes, d=durations, free=st.booleans())
def test_costs_are_never_negative(key: str, n: int, d: float, free: bool) -> None:
    """Every line and every component is >= 0, with or without the free tier."""
    bill = bill_for(key, n, d, free_tier=free)
    assert (bill.lines["cost"] >= 0).all() and bill.total >= 0
    assert (bill.by_component() >= 0).all()


@quick
@given(key=providers_st, n=volumes, extra=volumes, d=durations, free=st.booleans())
def test_monotonic_in_invocations(key: str, n: int, extra: int, d: float, free: bool) -> None:
    """More invocations never cost less."""
    low = bill_for(key, n, d, free_tier=free).total
    high = bill_for(key, n + extra, d, free_tier=free).total
    assert high >= low * (1 - 1e-12)


@quick
@given(key=providers_st, n=volumes, d=durations, more=durations, free=st.booleans())
def test_monotonic_in_duration(key: str, n: int, d: float, more: float, free: bool) -> None:
    """Longer invocations never cost less."""
    low = bill_for(key, n, d, free_tier=free).total
    high = bill_for(key, n, d + more, free_tier=free).total
    assert high >= low * (1 - 1e-12)


@quick
@given(
    key=providers_st,
    n=volumes,
    d=durations,
    scale=st.floats(min_value=0.01, max_value=100),
    free=st.booleans(),
)
def test_linear_in_price(key: str, n: int, d: float, scale: float, free: bool) -> None:
    """Scaling every price by k (a derived sheet) scales the bill by k."""
    base = bill_for(key, n, d, free_tier=free)
    sheet = price_sheet(key).derive(scale=scale)
    scaled = estimate(sheet, invocations=n, duration_ms=d, free_tier=free, **COMPUTE[key])
    assert scaled.total == pytest.approx(base.total * scale, rel=1e-9, abs=1e-12)


@quick
@given(key=providers_st, n=volumes, d=durations)
def test_free_tier_never_negative_nor_dearer(key: str, n: int, d: float) -> None:
    """The free tier only removes cost: 0 <= free bill <= full bill."""
    full = bill_for(key, n, d).total
    free = bill_for(key, n, d, free_tier=True).total
    assert 0 <= free <= full * (1 + 1e-12)


@quick
@given(
    samples=st.lists(durations, min_size=1, max_size=50),
    key=st.sampled_from(["aws-lambda", "gcp-functions-gen1", "azure-functions-consumption"]),
)
def test_samples_bill_like_a_per_row_loop(samples: list[float], key: str) -> None:
    """The vectorized bill equals a per-invocation Python loop of ceil-to-step sums."""
    rules = price_sheet(key).rules
    step, minimum = rules["duration_step_ms"], rules["min_billed_ms"]
    expected = sum(max(math.ceil(s / step - 1e-9) * step, minimum) for s in samples)
    bill = estimate(key, duration_ms=np.array(samples), **COMPUTE[key])
    assert bill.usage["billed_duration_ms"] == pytest.approx(expected)


# FC 3.0's function limits (CreateFunctionInput, help.aliyun.com/zh/functioncompute/fc/
# developer-reference/api-fc-2023-03-30-struct-createfunctioninput, read 2026-12-03).
@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"memory_mb": 100}, r"memory_mb=100: alibaba-fc3 allows 128 to 32768 MB"),
        (
            {"memory_mb": 1000},
            r"memory_mb=1000: alibaba-fc3 takes multiples of 64 MB \(e.g. 960 or 1024\)",
        ),
        ({"vcpu": 0.33}, r"vcpu=0.33: alibaba-fc3 takes multiples of 0.05 vCPU"),
        (
            {"ephemeral_storage_mb": 2048},
            r"ephemeral_storage_mb=2048: alibaba-fc3 offers 512 or 10240 MB",
        ),
    ],
)
def test_fc3_refuses_sizes_it_does_not_offer(options: dict[str, float], message: str) -> None:
    """Memory in 64 MB steps, vCPU in 0.05 steps, disk 512 MB or 10 GB: others named."""
    base = {"invocations": 1000, "duration_ms": 100, "memory_mb": 1024, "vcpu": 0.5}
    with pytest.raises(InvalidUsage, match=message):
        estimate("alibaba-fc3", **{**base, **options})


def test_fc3_takes_the_sizes_it_offers() -> None:
    """1,024 MB and 0.35 vCPU at 10 GB of disk, and 32 GB at 16 vCPU, are billed."""
    estimate("alibaba-fc3", invocations=1, duration_ms=1, memory_mb=1024, vcpu=0.35,
             ephemeral_storage_mb=10240)  # fmt: skip
    estimate("alibaba-fc3", invocations=1, duration_ms=1, memory_mb=32768, vcpu=16)


def test_cloud_run_functions_default_vcpu_matches_the_published_table() -> None:
    """The memory -> vCPU table of cloud.google.com/functions/docs/configuring/memory (read
    2026-12-03), 16 and 32 GiB included: 4 and 8 vCPU."""
    table = price_sheet("gcp-cloud-run-functions").rules["default_vcpu_by_memory_mb"]
    assert {int(k): v for k, v in table.items()} == {
        128: 0.083, 256: 0.167, 512: 0.333, 1024: 0.583, 2048: 1, 4096: 2, 8192: 2,
        16384: 4, 32768: 8,
    }  # fmt: skip


def test_free_tier_choices_are_the_catalog_ones() -> None:
    """The typed choices of free_tier are exactly the catalog's FREE_TIERS, in order."""
    from costmodel.billing.engine import _FREE_TIER_CHOICES
    from costmodel.catalog.sheets import FREE_KINDS, FREE_TIERS

    assert tuple(FREE_TIERS) == _FREE_TIER_CHOICES
    assert {kind for kinds in FREE_TIERS.values() for kind in kinds} == set(FREE_KINDS)
