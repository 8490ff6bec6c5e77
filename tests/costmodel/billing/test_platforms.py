"""CPU-time and instance-time billers, plans, regions: the rules and their bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel import InvalidFile, InvalidUsage, estimate, load_price_sheet, price_sheet
from costmodel.catalog.sheets import NOT_VERIFIED

# ------------------------------------------------------------------------ plans


def test_plan_fee_and_allowance_once_per_pooled_bill() -> None:
    """Two Workers on one account: one $5 fee and one 10M-request allowance for both."""
    a = estimate("cloudflare-workers", invocations=8_000_000, cpu_ms=1)
    b = estimate("cloudflare-workers", invocations=7_000_000, cpu_ms=1)
    assert a.total == b.total == pytest.approx(5.0)  # each alone within the allowance
    both = a + b
    fees = both.lines[both.lines["component"] == "subscription"]
    assert fees["cost"].tolist() == [5.0]
    assert both.total == pytest.approx(5.0 + 5 * 0.30)  # 15M - 10M included
    assert sum([a, b]).total == pytest.approx(both.total)


def test_plan_allowance_applies_whatever_free_tier_says() -> None:
    """Included usage is part of the subscription, not a free tier: free_tier changes nothing."""
    on = estimate("vercel-functions", invocations=500_000, cpu_ms=5, duration_ms=50,
                  memory_mb=2048, free_tier=True)  # fmt: skip
    off = estimate("vercel-functions", invocations=500_000, cpu_ms=5, duration_ms=50,
                   memory_mb=2048)  # fmt: skip
    assert on.total == off.total == 0.0
    assert "invocations, included in plan" in set(off.lines["item"])


def test_plan_with_no_fee_has_no_fee_line() -> None:
    """Vercel's seat fee is not a Functions charge: no subscription line."""
    bill = estimate("vercel-functions", invocations=10, cpu_ms=5, duration_ms=50, memory_mb=2048)
    assert bill.by_component()["subscription"] == 0.0
    assert price_sheet("vercel-functions").plan.fee == 0.0  # type: ignore[union-attr]


# ----------------------------------------------------------------- CPU billers


def test_cpu_ms_samples_are_billed_exactly_and_scaled() -> None:
    """Samples of 5 and 9 CPU-ms over 20M requests bill 140M CPU-ms (110M beyond the plan)."""
    bill = estimate("cloudflare-workers", invocations=20_000_000, cpu_ms=np.array([5.0, 9.0]))
    assert bill.usage["cpu_ms"] == pytest.approx(140_000_000)
    assert bill.total == pytest.approx(5 + 10 * 0.30 + 110 * 0.02)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"invocations": 10}, "cpu_ms is required for cloudflare-workers"),
        ({"invocations": 10, "cpu_ms": 8, "duration_ms": 5}, "exceeds duration_ms"),
        (
            {"cpu_ms": [1.0, 9.0], "duration_ms": [5.0, 5.0]},
            r"cpu_ms\[1\]=9.0 exceeds duration_ms\[1\]=5.0",
        ),
        ({"invocations": 10, "cpu_ms": -1}, r"cpu_ms=-1: must be a finite number >= 0"),
        ({"invocations": 10, "cpu_ms": float("inf")}, "cpu_ms=inf"),
        ({"invocations": 10, "cpu_ms": 5, "memory_mb": 128}, "does not bill memory_mb"),
        ({"invocations": 10, "cpu_ms": 5, "region": "eu"}, "region='eu'.*global"),
    ],
)
def test_workers_bad_input(kwargs: dict[str, object], match: str) -> None:
    """Missing CPU time, CPU beyond wall time, bad numbers, memory: clear errors."""
    with pytest.raises(InvalidUsage, match=match):
        estimate("cloudflare-workers", **kwargs)  # type: ignore[arg-type]


def test_lambda_refuses_cpu_ms() -> None:
    """A wall-time biller does not take cpu_ms: the error lists what it accepts."""
    with pytest.raises(InvalidUsage, match=r"does not bill option\(s\) cpu_ms; it accepts"):
        estimate("aws-lambda", invocations=1, duration_ms=1, memory_mb=128, cpu_ms=1)


def test_vercel_needs_wall_time_and_concurrency_at_least_one() -> None:
    """Provisioned memory needs the wall time; concurrency below 1 is refused."""
    with pytest.raises(InvalidUsage, match="duration_ms is required for vercel-functions"):
        estimate("vercel-functions", invocations=1, cpu_ms=1, memory_mb=2048)
    with pytest.raises(InvalidUsage, match=r"concurrency=0\.5: must be >= 1"):
        estimate("vercel-functions", invocations=1, cpu_ms=1, duration_ms=5, memory_mb=2048,
                 concurrency=0.5)  # fmt: skip


# --------------------------------------------------------------------- Cloud Run


def test_cloud_run_concurrency_divides_instance_time() -> None:
    """80 requests at once on one instance bill 1/80 of the requests' time, fee per request."""
    alone = estimate("gcp-cloud-run", invocations=1_000_000, duration_ms=1000, memory_mb=512)
    shared = estimate("gcp-cloud-run", invocations=1_000_000, duration_ms=1000, memory_mb=512,
                      concurrency=80)  # fmt: skip
    assert shared.usage["vcpu_seconds"] == pytest.approx(alone.usage["vcpu_seconds"] / 80)
    assert shared.by_component()["requests"] == alone.by_component()["requests"]


def test_cloud_run_request_based_bills_startup_not_idle() -> None:
    """Startup and shutdown of each start are billed (rounded to 100 ms); idle time is not a
    request-based option."""
    bill = estimate("gcp-cloud-run", invocations=0, duration_ms=0, memory_mb=1024,
                    instance_starts=10, startup_ms=1_950, shutdown_ms=0)  # fmt: skip
    assert bill.usage["instance_seconds"] == pytest.approx(20.0)
    with pytest.raises(InvalidUsage, match=r"does not bill option\(s\) idle_ms"):
        estimate("gcp-cloud-run", invocations=1, duration_ms=1, memory_mb=512, idle_ms=1)


def test_cloud_run_instance_based_bills_at_least_a_minute_per_instance() -> None:
    """Instance-based billing: 5 instances that each lived 2 s bill 5 minutes."""
    bill = estimate("gcp-cloud-run-instance", invocations=5, duration_ms=100, memory_mb=512,
                    instance_starts=5, startup_ms=1_900)  # fmt: skip
    assert bill.usage["instance_seconds"] == pytest.approx(300.0)
    assert bill.usage["vcpu_seconds"] == pytest.approx(300.0)


@pytest.mark.parametrize(
    ("key", "options", "match"),
    [
        ("gcp-cloud-run", {"vcpu": 0.5, "concurrency": 2}, "below 1 vCPU"),
        ("gcp-cloud-run", {"vcpu": 2.5}, "whole vCPUs above 1"),
        ("gcp-cloud-run", {"vcpu": 16}, "allows 0.08 to 8 vCPU"),
        ("gcp-cloud-run-instance", {"vcpu": 0.5}, "allows 1 to 8 vCPU"),
        ("gcp-cloud-run", {"concurrency": 5000}, "allows 1 to 1000"),
    ],
)
def test_cloud_run_bad_configurations(key: str, options: dict[str, float], match: str) -> None:
    """Cloud Run's CPU rules are checked, each naming the value and what is allowed."""
    with pytest.raises(InvalidUsage, match=match):
        estimate(key, invocations=1, duration_ms=100, memory_mb=512, **options)


# ------------------------------------------------------------------- Flex Consumption


def test_flex_rounds_each_execution_to_one_second_then_100_ms() -> None:
    """An execution of 30 ms bills 1,000 ms; one of 1,020 ms bills 1,100 ms."""
    bill = estimate("azure-functions-flex", duration_ms=np.array([30.0, 1_020.0]),
                    memory_mb=2048)  # fmt: skip
    assert bill.usage["billed_duration_ms"] == pytest.approx(2_100)


def test_flex_catalog_sheet_refuses_always_ready_and_says_why() -> None:
    """The USD sheet leaves the unverified always-ready rates out: a clear error."""
    with pytest.raises(InvalidUsage, match="always-ready prices are not in this sheet"):
        estimate("azure-functions-flex", invocations=1, duration_ms=1, memory_mb=2048,
                 always_ready_instances=1)  # fmt: skip
    with pytest.raises(InvalidUsage, match="instances have 512, 2048, 4096 MB"):
        estimate("azure-functions-flex", invocations=1, duration_ms=1, memory_mb=1024)


def test_consumption_sheet_says_linux_retires_in_2028() -> None:
    """The legacy Consumption sheet states the Linux retirement and its source."""
    note = price_sheet("azure-functions-consumption").note
    assert "30 September 2028" in note and "learn.microsoft.com" in note


# ------------------------------------------------------------------------ regions


def test_unknown_region_lists_known_and_unverified() -> None:
    """An unknown region names the known ones and the ones left out as not verified."""
    with pytest.raises(InvalidUsage) as info:
        estimate("aws-lambda", region="eu-west-1", invocations=1, duration_ms=1, memory_mb=128)
    message = str(info.value)
    assert "us-east-1, us-west-2, eu-central-1, ap-northeast-1, ap-southeast-1" in message
    assert "not verified, left out: eu-west-1" in message


def test_region_defaults_to_the_sheets_own() -> None:
    """Without region= a sheet bills in its own region (us-east-1 for AWS)."""
    assert price_sheet("aws-lambda", region=None).region == "us-east-1"
    assert price_sheet("aws-lambda", region="us-east-1") is price_sheet("aws-lambda")


def test_region_leaves_unverified_meters_out() -> None:
    """In us-west-2 only the verified meters are priced: the other options are refused
    with the reason, and usage in an unverified tier is an error."""
    with pytest.raises(InvalidUsage, match="prices in us-west-2 were not verified"):
        estimate("aws-lambda", region="us-west-2", invocations=1, duration_ms=1,
                 memory_mb=128, egress_gb=1)  # fmt: skip
    with pytest.raises(InvalidUsage, match="no verified arm64 price"):
        estimate("aws-lambda", region="us-west-2", invocations=1, duration_ms=1,
                 memory_mb=128, arch="arm64")  # fmt: skip
    with pytest.raises(InvalidUsage, match="beyond 6,000,000,000 GB-s a month has no verified"):
        estimate("aws-lambda", region="us-west-2", invocations=1e10, duration_ms=1000,
                 memory_mb=1024)  # fmt: skip
    bill = estimate("aws-lambda", region="us-west-2", invocations=1e6, duration_ms=100,
                    memory_mb=1024)  # fmt: skip
    assert bill.total == pytest.approx(0.2 + 100_000 * 0.0000166667)
    assert set(bill.lines["provider"]) == {"aws-lambda"}


def test_region_prices_carry_their_own_source() -> None:
    """A region's meters are dated and sourced by the region's table."""
    sheet = price_sheet("aws-sfn-standard", region="eu-west-1")
    assert sheet.region == "eu-west-1"
    assert "aws-lambda-power-tuning" in sheet.source
    assert sheet.meter("transitions").first_unit_price == pytest.approx(0.000025)


REGIONAL = """
key = "my-faas"
service = "My FaaS"
vendor = "me"
model = "faas"
currency = "EUR"
region = "home"
source = "https://example.com/pricing"
date_read = 2026-01-31
[rules]
memory_mb = [128, 4096]
duration_step_ms = 100
min_billed_ms = 100
[[meters]]
name = "requests"
component = "requests"
unit = "request"
price = 0.3
per = 1_000_000
[[meters]]
name = "duration"
component = "compute"
unit = "GB-s"
tiers = [{ upto = 1000, price = 0.00002 }, { upto = inf, price = 0.00001 }]
[regions.away]
source = "https://example.com/away"
date_read = 2026-02-01
"""


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ("prices = { requests = 0.4, duration = [0.00003, 0.00002] }", None),
        ('prices = { requests = 0.4 }\nsame = ["duration"]', None),
        ("prices = { requests = 0.4 }", r"regions.away: model 'faas' needs meter\(s\)"),
        ("prices = { requests = 0.4, duration = 0.00003 }", "give 2 price"),
        ("prices = { requests = 0.4, nope = 1 }", "regions.away.nope: no such meter"),
        (f'prices = {{ requests = "{NOT_VERIFIED}" }}\nsame = ["duration"]', "first tier"),
        ('prices = { requests = -1 }\nsame = ["duration"]', "regions.away.prices.requests"),
        ('prices = { requests = 0.4 }\nsame = ["duration"]\ncolour = 1', "unknown field"),
    ],
)
def test_region_tables_are_validated(tmp_path: Path, table: str, match: str | None) -> None:
    """Regions price each meter per tier (or say it is the same), or the file is refused."""
    file = tmp_path / "sheet.toml"
    file.write_text(REGIONAL + table + "\n")
    if match is not None:
        with pytest.raises(InvalidFile, match=match):
            load_price_sheet(file)
        return
    sheet = load_price_sheet(file)
    assert sheet.regions == ("home", "away")
    away = sheet.in_region("away")
    assert away.meter("requests").first_unit_price == pytest.approx(0.4e-6)
    assert away.source == "https://example.com/away"
    bill = estimate(sheet, region="away", invocations=1_000_000, duration_ms=100,
                    memory_mb=128)  # fmt: skip
    assert bill.total > 0


def test_derived_sheet_scales_its_regions_and_plan() -> None:
    """A negotiated discount applies to every region's prices and to the plan's fee."""
    cheap = price_sheet("cloudflare-workers").derive(discount=0.5)
    assert cheap.plan is not None and cheap.plan.fee == pytest.approx(2.5)
    vercel = price_sheet("vercel-functions").derive(discount=0.5)
    assert vercel.in_region("sfo1").meter("active-cpu").first_unit_price == pytest.approx(0.0885)


# --------------------------------------------------------------------- properties

NEW_SHEETS = {
    "cloudflare-workers": {"cpu_ms": 5},
    "vercel-functions": {"cpu_ms": 5, "duration_ms": 50, "memory_mb": 2048},
    "gcp-cloud-run": {"duration_ms": 50, "memory_mb": 512},
    "gcp-cloud-run-instance": {"duration_ms": 50, "memory_mb": 512, "instance_starts": 3},
    "azure-functions-flex": {"duration_ms": 50, "memory_mb": 2048},
}


@settings(max_examples=30, deadline=None)
@given(
    key=st.sampled_from(sorted(NEW_SHEETS)),
    low=st.floats(0, 1e9),
    more=st.floats(0, 1e9),
    free_tier=st.booleans(),
)
def test_new_sheets_cost_is_non_negative_and_monotonic(
    key: str, low: float, more: float, free_tier: bool
) -> None:
    """More invocations never cost less, and no bill is negative."""
    small = estimate(key, invocations=low, free_tier=free_tier, **NEW_SHEETS[key])  # type: ignore[arg-type]
    large = estimate(key, invocations=low + more, free_tier=free_tier, **NEW_SHEETS[key])  # type: ignore[arg-type]
    assert 0 <= small.total <= large.total + 1e-9 * max(1.0, large.total)


@settings(max_examples=30, deadline=None)
@given(parts=st.lists(st.floats(0, 5e7), min_size=1, max_size=4))
def test_pooled_workers_bills_pay_one_fee(parts: list[float]) -> None:
    """However many bills are summed, the plan's fee is paid once and its allowance shared:
    the sum equals one bill of the pooled volume."""
    bills = [estimate("cloudflare-workers", invocations=n, cpu_ms=3) for n in parts]
    pooled = estimate("cloudflare-workers", invocations=sum(parts), cpu_ms=3)
    assert sum(bills[1:], bills[0]).total == pytest.approx(pooled.total)
