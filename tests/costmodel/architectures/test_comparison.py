"""compare() and sweep(): the effects a careful engineer knows are real, with numbers.

Prices come from the catalog through estimate(); no price is written here.
"""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from support.paths import EXAMPLES

from costmodel import InvalidUsage, UnknownProvider, estimate
from costmodel.architectures.comparison import (
    SubstitutedServiceWarning,
    Sweep,
    compare,
    latency_samples,
    price_usage,
    sweep,
)
from costmodel.architectures.compositions import (
    Function,
    async_chain,
    fan_out,
    monolith,
    simulate_usage,
    sync_chain,
    workflow,
)
from costmodel.architectures.distributions import CpuBound, fixed, lognormal
from costmodel.cli import main

LAMBDA = "aws-lambda"


def gb_s_price() -> float:
    """The catalog's first-tier Lambda x86 price per GB-s."""
    bill = estimate(LAMBDA, invocations=1000, duration_ms=1000, memory_mb=1024)
    return float(bill.by_component()["compute"]) / 1000


COLUMNS = [
    "requests_usd",
    "compute_usd",
    "gateway_usd",
    "queue_usd",
    "storage_usd",
    "orchestration_usd",
    "egress_usd",
    "total_usd",
    "usd_per_million",
    "billed_gb_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "function_invocations",
    "failed_share",
]


def test_frame_has_unit_bearing_columns_and_adds_up() -> None:
    """One row per architecture; components sum to the total; per-million is consistent."""
    a = Function("a", memory_mb=512, duration=lognormal(p50_ms=50, p99_ms=200), egress_kb=10)
    b = Function("b", memory_mb=256, duration=fixed(30))
    table = compare(
        {"gw": sync_chain(a, b, via="gateway"), "q": async_chain(a, b, via="queue")},
        invocations=2_000_000,
        samples=20_000,
    )
    assert list(table.columns) == COLUMNS
    assert list(table.index) == ["gw", "q"] and table.index.name == "architecture"
    parts = table[COLUMNS[:7]].sum(axis=1)
    np.testing.assert_allclose(parts, table["total_usd"], rtol=1e-12)
    np.testing.assert_allclose(table["usd_per_million"], table["total_usd"] / 2.0, rtol=1e-12)
    assert table.loc["gw", "gateway_usd"] > 0 and table.loc["gw", "queue_usd"] == 0
    assert table.loc["q", "queue_usd"] > 0 and table.loc["q", "gateway_usd"] == 0
    assert (table["egress_usd"] > 0).all()
    assert table.attrs["currency"] == "USD"


def test_sync_chain_costs_more_than_async_chain_because_the_caller_waits() -> None:
    """Double billing: the sync caller's extra GB-s equal its memory x the callee's mean
    response (+15 ms overhead - 15 ms hand-off), within 1% (Monte Carlo vs closed form).

    Numbers (10M requests/month, 1024 MB caller, 512 MB callee with p50 400 ms / p99
    1.5 s): sync ~$136 compute vs async ~$58: 2.4x.
    """
    api = Function("api", memory_mb=1024, duration=lognormal(p50_ms=80, p99_ms=300))
    report = Function("report", memory_mb=512, duration=lognormal(p50_ms=400, p99_ms=1500))
    n = 10_000_000
    table = compare(
        {"sync": sync_chain(api, report), "async": async_chain(api, report)}, invocations=n
    )
    sync, async_ = table.loc["sync"], table.loc["async"]
    assert sync["compute_usd"] > 2.2 * async_["compute_usd"]
    extra_gb_s = 1.0 * report.duration.mean_ms / 1000 * n  # 15 ms overhead = 15 ms hand-off
    measured = sync["billed_gb_s"] - async_["billed_gb_s"]
    assert measured == pytest.approx(extra_gb_s, rel=0.01)
    assert sync["compute_usd"] - async_["compute_usd"] == pytest.approx(
        extra_gb_s * gb_s_price(), rel=0.01
    )
    assert sync["requests_usd"] == async_["requests_usd"]


def test_timeouts_with_retries_multiply_the_callers_bill_during_an_outage() -> None:
    """A hung dependency (6 s timeout) with 3 retries and backoff 200/400/800 ms bills the
    caller 60 + 4 x 6015 + 1400 = 25,520 ms per request instead of 195 ms: compute
    x140; a breaker open 95% of the time brings it back down to ~x7.
    """
    caller = Function("checkout", memory_mb=1024, duration=fixed(60), timeout_s=30)
    healthy = Function("payments", memory_mb=256, duration=fixed(120), timeout_s=6)
    down = Function("payments", memory_mb=256, timeout_s=6, error_rate=1.0, failure="timeout")
    kw = {"retries": 3, "backoff_ms": 200}
    table = compare(
        {
            "healthy": sync_chain(caller, healthy, **kw),
            "outage": sync_chain(caller, down, **kw),
            "outage_breaker": sync_chain(caller, down, breaker_open_share=0.95, **kw),
        },
        invocations=1_000_000,
        samples=20_000,
    )
    n = 1_000_000
    assert table.loc["healthy", "billed_gb_s"] == pytest.approx((0.195 + 0.120 / 4) * n)
    caller_ms = 60 + 4 * (6000 + 15) + 200 + 400 + 800  # 25,520 ms
    assert table.loc["outage", "billed_gb_s"] == pytest.approx((caller_ms / 1000 + 4 * 6 / 4) * n)
    ratio = table.loc["outage", "compute_usd"] / table.loc["healthy", "compute_usd"]
    assert 135 < ratio < 145
    assert table.loc["outage", "latency_p50_ms"] == caller_ms
    expected_breaker = 0.05 * (caller_ms / 1000 + 6) + 0.95 * 0.060
    assert table.loc["outage_breaker", "billed_gb_s"] == pytest.approx(
        expected_breaker * n, rel=0.05
    )
    assert table.loc["outage_breaker", "compute_usd"] < table.loc["outage", "compute_usd"] / 15


def test_splitting_steps_with_very_different_memory_lowers_gb_seconds() -> None:
    """A 3008 MB step (1 s) and a 128 MB step (4 s, waiting on an API) merged bill
    5 s at 3008 MB = 14.69 GB-s; split they bill 2.95 + 0.5 = 3.45 GB-s: 4.3x less."""
    encode = Function("encode", memory_mb=3008, duration=fixed(1000))
    notify = Function("notify", memory_mb=128, duration=fixed(4000))
    table = compare(
        {"merged": monolith(encode, notify), "split": async_chain(encode, notify)},
        invocations=1_000_000,
        samples=5_000,
    )
    merged = 3008 / 1024 * 5.0
    split = 3008 / 1024 * 1.015 + 128 / 1024 * 4.0
    assert table.loc["merged", "billed_gb_s"] == pytest.approx(merged * 1e6)
    assert table.loc["split", "billed_gb_s"] == pytest.approx(split * 1e6)
    assert table.loc["merged", "billed_gb_s"] / table.loc["split", "billed_gb_s"] > 4.2
    assert table.loc["split", "total_usd"] < table.loc["merged", "total_usd"] / 3.5


def test_parallel_fan_out_lowers_latency_but_not_compute() -> None:
    """Three transcodes of 1, 2 and 3 s: in sequence p50 = 6 s + transitions, in a
    Parallel state 3 s + transitions; billed GB-s identical (same work)."""
    t = [
        Function(f"t{i}", memory_mb=2048, duration=fixed(ms))
        for i, ms in enumerate((1000, 2000, 3000))
    ]
    table = compare(
        {"sequential": workflow(*t), "parallel": workflow(fan_out(*t))},
        invocations=1_000_000,
        samples=1_000,
    )
    seq, par = table.loc["sequential"], table.loc["parallel"]
    assert seq["latency_p50_ms"] == 6000 + 3 * 20
    assert par["latency_p50_ms"] == 3000 + 2 * 20
    assert seq["billed_gb_s"] == par["billed_gb_s"] == 2 * 6.0 * 1e6
    assert seq["compute_usd"] == pytest.approx(par["compute_usd"])
    # With lognormal branches the compute still matches in expectation.
    lt = [
        Function(f"l{i}", memory_mb=1024, duration=lognormal(p50_ms=ms, p99_ms=3 * ms))
        for i, ms in enumerate((500, 1000, 1500))
    ]
    caller = Function("caller", memory_mb=128, duration=fixed(5))
    table = compare(
        {"in_turn": workflow(caller, *lt), "fan_out": workflow(caller, fan_out(*lt))},
        invocations=1_000_000,
    )
    assert table.loc["fan_out", "billed_gb_s"] == pytest.approx(
        table.loc["in_turn", "billed_gb_s"], rel=0.01
    )
    assert table.loc["fan_out", "latency_p50_ms"] < 0.6 * table.loc["in_turn", "latency_p50_ms"]


def test_per_transition_workflow_billing_dominates_at_high_volume_with_short_steps() -> None:
    """Five 20 ms steps at 128 MB, 100M executions/month: Standard's 500M transitions
    are >98% of its bill and make it ~50x the async chain; Express is far cheaper."""
    steps = [Function(f"s{i}", memory_mb=128, duration=fixed(20)) for i in range(5)]
    table = compare(
        {
            "standard": workflow(*steps),
            "express": workflow(*steps, kind="express"),
            "async": async_chain(*steps),
        },
        invocations=100_000_000,
        samples=2_000,
    )
    std = table.loc["standard"]
    assert std["orchestration_usd"] / std["total_usd"] > 0.98
    per_transition = estimate("aws-sfn-standard", invocations=1_000_000).total / 1e6
    assert std["orchestration_usd"] == pytest.approx(5 * 1e8 * per_transition)
    assert std["total_usd"] > 40 * table.loc["async", "total_usd"]
    assert table.loc["express", "total_usd"] < std["total_usd"] / 10
    assert std["compute_usd"] == table.loc["express", "compute_usd"]


def test_monte_carlo_expected_cost_matches_the_closed_form() -> None:
    """Retries on a 20% error rate: E[invocations] = 1 + .2 + .04; cost within 1%."""
    f = Function("f", memory_mb=1024, duration=lognormal(p50_ms=200, p99_ms=800), error_rate=0.2)
    caller = Function("c", memory_mb=128, duration=fixed(1))
    table = compare({"x": sync_chain(caller, f, retries=2, backoff_ms=0)}, invocations=1e7)
    attempts = 1 + 0.2 + 0.04
    assert table.loc["x", "function_invocations"] == pytest.approx(1e7 * (1 + attempts), rel=0.005)
    callee_gb_s = attempts * f.duration.mean_ms / 1000 * 1e7
    caller_gb_s = 1e7 / 8 * (1 + attempts * (f.duration.mean_ms + 15)) / 1000
    assert table.loc["x", "billed_gb_s"] == pytest.approx(callee_gb_s + caller_gb_s, rel=0.01)


def test_init_billing_follows_the_provider_and_can_be_overridden() -> None:
    """AWS Lambda bills cold-start init (since 2025-08-01); init_billed= overrides."""
    f = Function(
        "f", memory_mb=1024, duration=fixed(100), cold_start_probability=1.0, init_duration_ms=400
    )
    billed = compare({"f": f}, invocations=1e6, samples=100)
    unbilled = compare({"f": f}, invocations=1e6, samples=100, init_billed=False)
    assert billed.loc["f", "billed_gb_s"] == pytest.approx(0.5e6)
    assert unbilled.loc["f", "billed_gb_s"] == pytest.approx(0.1e6)
    assert billed.loc["f", "latency_p50_ms"] == unbilled.loc["f", "latency_p50_ms"] == 500


def test_other_providers_price_the_same_usage() -> None:
    """The same architecture priced on Alibaba FC (needs vCPU) and Cloud Run."""
    f = Function("f", memory_mb=1024, duration=fixed(200), vcpu=0.5)
    for provider in ("alibaba-fc3", "gcp-cloud-run-functions", "azure-functions-consumption"):
        table = compare({"f": f}, provider=provider, invocations=1e6, samples=100)
        assert table.loc["f", "total_usd"] > 0
    with pytest.raises(InvalidUsage, match="vcpu is required"):
        compare({"g": Function("g", memory_mb=1024)}, provider="alibaba-fc3", invocations=1e6)


def test_bad_arguments_fail_with_the_reason() -> None:
    """Unknown provider, empty mapping, negative volume and unknown services fail clearly."""
    f = Function("f", memory_mb=128)
    with pytest.raises(UnknownProvider):
        compare({"f": f}, provider="aws-lamda", invocations=1)
    with pytest.raises(InvalidUsage, match="non-empty mapping"):
        compare({}, invocations=1)
    with pytest.raises(InvalidUsage, match="invocations=-1"):
        compare({"f": f}, invocations=-1)
    with pytest.raises(InvalidUsage, match="unknown service 'cdn'"):
        compare({"f": f}, invocations=1, services={"cdn": "aws-s3"})


def test_provider_must_be_a_function_platform() -> None:
    """A queue or a workflow as the provider fails naming the function platforms."""
    f = Function("f", memory_mb=128)
    for service in ("aws-sqs-standard", "aws-sfn-express"):
        with pytest.raises(InvalidUsage) as info:
            compare({"f": f}, provider=service, invocations=1, samples=10)
        message = str(info.value)
        assert f"provider={service!r}: not a function platform" in message
        assert "aws-lambda" in message and "alibaba-fc3" in message
        assert "aws-sqs-fifo" not in message
    with pytest.raises(InvalidUsage, match="not a function platform"):
        sweep({"f": f}, over="invocations", values=[1, 2], provider="aws-s3", samples=10)


def test_a_function_the_provider_cannot_run_is_named_with_its_architecture() -> None:
    """gen1 has fixed memory sizes: the error names the architecture and the function."""
    big = Function("transcode", memory_mb=3072, duration=fixed(100))
    small = Function("notify", memory_mb=128, duration=fixed(10))
    with pytest.raises(InvalidUsage) as info:
        compare({"chain": async_chain(small, big)}, provider="gcp-functions-gen1",
                invocations=1, samples=10)  # fmt: skip
    message = str(info.value)
    assert message.startswith("architecture 'chain': function 'transcode' on gcp-functions-gen1")
    assert "memory_mb=3072" in message and "allows 128, 256" in message


def _pipeline() -> dict[str, Any]:
    """A storage-triggered chain and a standard workflow, with egress."""
    up = Function("upload", memory_mb=1024, duration=fixed(50), vcpu=0.5, egress_kb=512)
    tx = Function("transcode", memory_mb=2048, duration=fixed(400), vcpu=1.0)
    return {
        "storage": async_chain(up, tx, via="storage_trigger"),
        "workflow": workflow(up, tx),
    }


def test_the_sheets_used_are_in_the_result_and_egress_uses_the_platform_sheet() -> None:
    """attrs['services'] names every sheet priced; gen1 egress uses gen1's own meter."""
    table = compare(_pipeline(), provider="gcp-cloud-run-functions", invocations=1e6,
                    samples=50, services={"storage": "aws-s3",
                                          "workflow_standard": "aws-sfn-standard",
                                          "egress": "aws-data-transfer"})  # fmt: skip
    assert table.attrs["services"] == {
        "functions": "gcp-cloud-run-functions",
        "storage": "aws-s3",
        "workflow_standard": "aws-sfn-standard",
        "egress": "aws-data-transfer",
    }
    up = Function("f", memory_mb=1024, duration=fixed(50), egress_kb=1024 * 1024)
    gen1 = compare({"f": up}, provider="gcp-functions-gen1", invocations=1000, samples=10)
    assert gen1.attrs["services"] == {"functions": "gcp-functions-gen1",
                                      "egress": "gcp-functions-gen1"}  # fmt: skip
    own = estimate("gcp-functions-gen1", egress_gb=1000, invocations=0, memory_mb=1024)
    assert gen1.loc["f", "egress_usd"] == pytest.approx(own.total) == pytest.approx(120)
    aws = compare({"f": up}, invocations=1000, samples=10)
    assert aws.attrs["services"] == {"functions": "aws-lambda", "egress": "aws-lambda"}


def test_another_vendors_sheets_are_used_visibly_with_a_warning() -> None:
    """On Alibaba FC, storage, workflow and egress fall back to AWS sheets, with a warning
    naming them; naming them in services= is the explicit choice and silences it."""
    with pytest.warns(SubstitutedServiceWarning) as caught:
        table = compare(_pipeline(), provider="alibaba-fc3", invocations=1e6, samples=50)
    message = str(caught[0].message)
    assert "alibaba-fc3" in message and "storage=aws-s3" in message
    assert "egress=aws-data-transfer" in message and "services=" in message
    assert table.attrs["services"]["storage"] == "aws-s3"
    chosen = {"storage": "aws-s3", "workflow_standard": "aws-sfn-standard",
              "egress": "aws-data-transfer"}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = compare(_pipeline(), provider="alibaba-fc3", invocations=1e6, samples=50,
                        services=chosen)  # fmt: skip
    pd.testing.assert_frame_equal(table, again)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every sheet is AWS's: nothing substituted
        compare(_pipeline(), invocations=1e6, samples=50)


def test_provider_options_reach_the_function_bills() -> None:
    """options={"arch": "arm64"} bills every function on Arm: cheaper than x86_64."""
    arch = {"chain": sync_chain(Function("a", memory_mb=1024, duration=fixed(200)),
                                Function("b", memory_mb=2048, duration=fixed(300)))}  # fmt: skip
    x86 = compare(arch, invocations=1e6, samples=100)
    arm = compare(arch, invocations=1e6, samples=100, options={"arch": "arm64"})
    assert arm.loc["chain", "compute_usd"] < x86.loc["chain", "compute_usd"]
    gb_s = x86.loc["chain", "billed_gb_s"]
    assert arm.loc["chain", "billed_gb_s"] == gb_s
    arm_price = estimate(LAMBDA, invocations=1000, duration_ms=1000, memory_mb=1024,
                         arch="arm64").by_component()["compute"] / 1000  # fmt: skip
    assert arm.loc["chain", "compute_usd"] == pytest.approx(gb_s * arm_price)
    swept = sweep(arch, over="invocations", values=[1e5, 1e6], samples=100,
                  options={"arch": "arm64"})  # fmt: skip
    assert swept.frame["total_usd"].iloc[-1] == pytest.approx(arm.loc["chain", "total_usd"])


def test_bad_provider_options_fail_naming_what_is_accepted() -> None:
    """An option the platform does not bill, or one compare sets itself, fails clearly."""
    f = {"f": Function("f", memory_mb=1024, duration=fixed(10))}
    with pytest.raises(InvalidUsage, match=r"options: aws-lambda does not bill 'vcpu'.*arch"):
        compare(f, invocations=1, samples=10, options={"vcpu": 1})
    with pytest.raises(InvalidUsage, match=r"options: 'egress_gb' comes from each Function"):
        compare(f, invocations=1, samples=10, options={"egress_gb": 1})
    with pytest.raises(InvalidUsage, match="arch='sparc'"):
        compare(f, invocations=1, samples=10, options={"arch": "sparc"})
    with pytest.raises(InvalidUsage, match="options="):
        compare(f, invocations=1, samples=10, options=["arch"])  # type: ignore[arg-type]


def test_a_month_without_requests_is_refused() -> None:
    """invocations=0 has no cost per million: compare and sweep refuse volumes <= 0."""
    f = {"f": Function("f", memory_mb=128, duration=fixed(10))}
    for bad in (0, 0.0, -1, math.nan, math.inf, True):
        with pytest.raises(InvalidUsage, match=r"invocations=.*must be a finite number > 0"):
            compare(f, invocations=bad, samples=10)
    with pytest.raises(InvalidUsage, match=r"values: volumes must be > 0, got 0"):
        sweep(f, over="invocations", values=[0, 1e6], samples=10)
    with pytest.raises(InvalidUsage, match=r"invocations=0: must be a finite number > 0"):
        sweep(f, over="memory_mb", values=[128, 256], invocations=0, samples=10)
    table = compare(f, invocations=1, samples=10)
    assert table.loc["f", "usd_per_million"] == pytest.approx(table.loc["f", "total_usd"] * 1e6)


def test_sweep_over_volume_finds_the_break_even_point() -> None:
    """With free tiers a sync chain (its compute free up to 400,000 GB-s) is cheapest at
    low volume; a workflow (only 4,000 free transitions, but no caller billed while it
    waits) is cheaper at high volume. The sweep finds the crossing; priced there, the two
    bills agree within 2%. Without free tiers the workflow is always cheaper: no point."""
    caller = Function("caller", memory_mb=1024, duration=fixed(10))
    worker = Function("worker", memory_mb=1024, duration=fixed(5000))
    archs = {"sync": sync_chain(caller, worker), "workflow": workflow(caller, worker)}
    result = sweep(archs, over="invocations", values=np.geomspace(1e3, 1e7, 41), samples=100)
    assert isinstance(result, Sweep)
    assert len(result.frame) == 82
    assert result.break_even.empty
    free = sweep(
        archs, over="invocations", values=np.geomspace(1e3, 1e7, 41), samples=100, free_tier=True
    )
    assert len(free.break_even) == 1
    row = free.break_even.iloc[0]
    assert row["cheaper_below"] == "sync" and row["cheaper_above"] == "workflow"
    assert 1e4 < row["value"] < 1e6
    at = compare(archs, invocations=row["value"], samples=100, free_tier=True)
    assert at.loc["sync", "total_usd"] == pytest.approx(at.loc["workflow", "total_usd"], rel=0.02)


def test_sweep_over_memory_finds_the_cheapest_size_like_power_tuning() -> None:
    """A 90% CPU-bound 2 s run at 512 MB: up to 1769 MB (1 vCPU) the CPU part costs the
    same at any size and the fixed 10% makes cost rise with memory; past it nothing runs
    faster and cost rises in proportion. Cheapest: the smallest size; fastest: 1769 MB."""
    f = Function("cpu", memory_mb=512, duration=fixed(2000))
    sizes = [128, 256, 512, 1024, 1536, 1769, 2048, 3008, 4096]
    result = sweep(
        {"f": f}, over="memory_mb", values=sizes, scaling=CpuBound(cpu_share=0.9), samples=100
    )
    compute = result.frame.set_index("value")["compute_usd"]
    costs = result.frame.set_index("value")["total_usd"]
    # duration(m) = 200 + 1800 * min(512, 1769) / min(m, 1769), billed in whole ms;
    # GB-s = m / 1024 * billed duration
    expected = {m: m / 1024 * math.ceil(200 + 1800 * 512 / min(m, 1769)) / 1000 for m in sizes}
    for m in sizes:  # the compute cost follows the CPU-bound scaling at every size
        assert compute[m] / compute[512] == pytest.approx(expected[m] / expected[512], rel=1e-6)
    best = min(expected, key=expected.__getitem__)
    assert result.cheapest.loc["f", "value"] == best == 128
    # Latency keeps falling up to 1769 MB, then is flat.
    latency = result.frame.set_index("value")["latency_p50_ms"]
    assert latency[1769] == pytest.approx(200 + 1800 * 512 / 1769)
    assert latency[4096] == latency[1769]
    assert costs[4096] > costs[1769]


def test_sweep_over_error_rate_changes_one_function() -> None:
    """Raising one callee's error rate raises cost monotonically (retries bill)."""
    caller = Function("c", memory_mb=512, duration=fixed(20))
    callee = Function("d", memory_mb=512, duration=fixed(200))
    result = sweep(
        {"sync": sync_chain(caller, callee, retries=2)},
        over="error_rate",
        values=[0, 0.1, 0.3, 0.6],
        function="d",
        samples=5_000,
    )
    totals = result.frame["total_usd"].to_numpy()
    assert np.all(np.diff(totals) > 0)
    with pytest.raises(InvalidUsage, match="function='zz'"):
        sweep({"s": callee}, over="error_rate", values=[0, 1], function="zz")
    with pytest.raises(InvalidUsage, match="over='speed'"):
        sweep({"s": callee}, over="speed", values=[0, 1])  # type: ignore[arg-type]


def test_latency_samples_are_the_simulated_ones() -> None:
    """latency_samples() returns what compare() summarises."""
    f = Function("f", memory_mb=128, duration=lognormal(p50_ms=10, p99_ms=100))
    table = compare({"f": f}, invocations=1, samples=5000, seed=3)
    lat = latency_samples({"f": f}, samples=5000, seed=3)["f"]
    assert table.loc["f", "latency_p99_ms"] == pytest.approx(float(np.percentile(lat, 99)))


def test_price_usage_pools_bills_so_tiers_apply_once() -> None:
    """Two functions' GB-s share the graduated tiers, like one account's bill."""
    f = Function("f", memory_mb=10240, duration=fixed(800_000), timeout_s=900)
    g = Function("g", memory_mb=10240, duration=fixed(800_000), timeout_s=900)
    usage = simulate_usage(async_chain(f, g), samples=10)
    bill, gb_s = price_usage(usage, provider=LAMBDA, invocations=1e6)
    assert gb_s == pytest.approx(10 * (800.015 + 800) * 1e6)
    separate = sum(
        estimate(LAMBDA, invocations=1e6, duration_ms=d, memory_mb=10240).total
        for d in (800_015, 800_000)
    )
    assert bill.total < separate  # past the first tier boundary the pooled bill is cheaper
    assert math.isfinite(bill.total)
    assert isinstance(bill.lines, pd.DataFrame)


def test_compare_shares_one_vendor_free_pool_across_sheets() -> None:
    """Standard and FIFO queues in one architecture share SQS's 1M free requests."""
    a = Function("a", memory_mb=128, duration=fixed(10))
    b = Function("b", memory_mb=128, duration=fixed(10))
    c = Function("c", memory_mb=128, duration=fixed(10))
    both = async_chain(async_chain(a, b, via="queue"), c, via="queue", queue="fifo")
    table = compare({"q": both}, invocations=250_000, samples=100, free_tier=True)
    usage = simulate_usage(both, samples=100)
    queued = {kind: n / usage.samples * 250_000 for (comp, kind, _), n in usage.meters.items()
              if comp == "queue"}  # fmt: skip
    assert set(queued) == {"standard", "fifo"} and sum(queued.values()) > 1_000_000
    standard_price = estimate("aws-sqs-standard", invocations=1e6).total / 1e6
    free_left = 1_000_000 - queued["fifo"]  # the dearer FIFO takes the pool first
    expected = (queued["standard"] - free_left) * standard_price
    assert table.loc["q", "queue_usd"] == pytest.approx(expected)


def test_cli_compare_prints_the_sheets_it_priced_with(tmp_path: Path) -> None:
    """`compare --provider alibaba-fc3` says which sheets priced what, AWS ones flagged;
    --service ROLE=KEY names a sheet."""
    example = EXAMPLES / "video_pipeline.toml"
    out, err = io.StringIO(), io.StringIO()
    args = ["compare", str(example), "--provider", "alibaba-fc3", "--samples", "200",
            "--no-charts"]  # fmt: skip
    assert main(args, out=out, err=err) == 0, err.getvalue()
    priced = [line for line in out.getvalue().splitlines() if line.startswith("priced with: ")]
    assert len(priced) == 1
    assert "functions=alibaba-fc3" in priced[0] and "storage=aws-s3" in priced[0]
    assert "workflow_standard=aws-sfn-standard" in priced[0]
    assert "SubstitutedServiceWarning" not in err.getvalue()
    assert "no alibaba sheet" in err.getvalue() and "--service ROLE=KEY" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    chosen = [*args, "--service", "storage=aws-s3", "--service",
              "workflow_standard=aws-sfn-standard",
              "--service", "egress=aws-data-transfer"]  # fmt: skip
    assert main(chosen, out=out, err=err) == 0, err.getvalue()
    assert "no alibaba sheet" not in err.getvalue()
    err = io.StringIO()
    assert main([*args, "--service", "cdn=aws-s3"], out=io.StringIO(), err=err) == 2
    assert "unknown service 'cdn'" in err.getvalue()


def test_cli_compare_takes_provider_options() -> None:
    """`compare -o arch=arm64` prices the functions on Arm: a lower total."""
    example = EXAMPLES / "video_pipeline.toml"
    totals = []
    for extra in ([], ["-o", "arch=arm64"]):
        out, err = io.StringIO(), io.StringIO()
        args = ["compare", str(example), "--samples", "200", "--no-charts", "--format", "csv"]
        assert main([*args, *extra], out=out, err=err) == 0, err.getvalue()
        frame = pd.read_csv(io.StringIO(out.getvalue()), index_col="architecture")
        totals.append(frame["total_usd"])
    assert (totals[1] < totals[0]).all()
    err = io.StringIO()
    args = ["compare", str(example), "--no-charts", "-o", "vcpu=1"]
    assert main(args, out=io.StringIO(), err=err) == 2
    assert "does not bill 'vcpu'" in err.getvalue()


def test_cli_compare_prints_the_table_and_writes_the_charts(tmp_path: Path) -> None:
    """`costmodel compare FILE --provider aws-lambda` prints one column per architecture
    and the paths of three PNG charts; a bad file exits 2 with field and reason."""
    out, err = io.StringIO(), io.StringIO()
    example = EXAMPLES / "video_pipeline.toml"
    status = main(
        [
            "compare",
            str(example),
            "--provider",
            "aws-lambda",
            "--samples",
            "2000",
            "--out",
            str(tmp_path / "charts"),
        ],
        out=out,
        err=err,
    )
    assert status == 0, err.getvalue()
    text = out.getvalue()
    assert "monolith" in text and "async_storage" in text and "total cost" in text
    charts = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("chart: ")]
    assert [Path(c).name for c in charts] == ["breakdown.png", "cost_vs_volume.png", "latency.png"]
    assert all(Path(c).stat().st_size > 1000 for c in charts)
    csv = io.StringIO()
    assert (
        main(
            ["compare", str(example), "--samples", "500", "--no-charts", "--format", "csv"], out=csv
        )
        == 0
    )
    assert csv.getvalue().splitlines()[0].startswith("architecture,requests_usd,compute_usd")
    bad = tmp_path / "bad.toml"
    bad.write_text(example.read_text().replace("memory_mb = 128", "memory_mb = 128\nspeed = 1", 1))
    err = io.StringIO()
    assert main(["compare", str(bad), "--no-charts"], out=io.StringIO(), err=err) == 2
    message = err.getvalue()
    assert message.count("\n") == 1
    assert "functions.notify.speed: unknown field" in message
