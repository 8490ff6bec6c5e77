"""Options a sheet accepts, and a bill's figures without pandas equal those of its lines."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import (
    COMPONENTS,
    Bill,
    InvalidUsage,
    UnknownProvider,
    accepted_options,
    estimate,
    price_sheet,
)

# The smallest valid usage of each catalog sheet, besides its options.
BASE: dict[str, dict[str, object]] = {
    "aws-lambda": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "azure-functions-consumption": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "huawei-functiongraph": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "gcp-functions-gen1": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "gcp-cloud-run-functions": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "alibaba-fc3": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "aws-sfn-express": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "aws-sfn-standard": {"invocations": 10},
    "aws-apigw-http": {"invocations": 10},
    "aws-apigw-rest": {"invocations": 10},
    "aws-sqs-standard": {"invocations": 10},
    "aws-sqs-fifo": {"invocations": 10},
    "aws-s3": {"invocations": 10},
    "aws-data-transfer": {},
    "cloudflare-workers": {"invocations": 10, "cpu_ms": 5},
    "vercel-functions": {"invocations": 10, "duration_ms": 100, "memory_mb": 2048, "cpu_ms": 5},
    "gcp-cloud-run": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "gcp-cloud-run-instance": {"invocations": 10, "duration_ms": 100, "memory_mb": 512},
    "azure-functions-flex": {"invocations": 10, "duration_ms": 100, "memory_mb": 2048},
    "aws-cloudwatch-alarms": {"invocations": 10},
    "aws-cloudwatch-alarms-high-resolution": {"invocations": 10},
    "aws-cloudwatch-synthetics": {"invocations": 10},
    "aws-eventbridge-scheduler": {"invocations": 10},
}
# A valid value for every option of the catalog.
VALUES: dict[str, object] = {
    "arch": "arm64",
    "ephemeral_storage_mb": 10240,  # valid for Lambda (512-10,240) and FC (512 or 10,240)
    "egress_gb": 1.0,
    "provisioned_concurrency": 2,
    "provisioned_hours": 1,
    "provisioned_invocations": 5,
    "provisioned_duration_ms": 100,
    "vcpu": 0.5,
    "transitions": 3,
    "payload_kb": 100,
    "get_requests": 10,
    "storage_gb_month": 1.0,
    "snapstart_cache_hours": 24,
    "snapstart_versions": 2,
    "snapstart_restores": 100,
    "streamed_mb": 8.0,
    "cpu_ms": 5,
    "concurrency": 4,
    "instance_starts": 3,
    "startup_ms": 900,
    "shutdown_ms": 200,
    "idle_ms": 60_000,
}


def test_accepted_options_of_some_services() -> None:
    """Lambda lists its options in order; REST API takes none; a sheet works like its key."""
    assert accepted_options("aws-lambda") == (
        "arch",
        "ephemeral_storage_mb",
        "provisioned_concurrency",
        "provisioned_hours",
        "provisioned_invocations",
        "provisioned_duration_ms",
        "snapstart_cache_hours",
        "snapstart_versions",
        "snapstart_restores",
        "streamed_mb",
        "egress_gb",
    )
    assert accepted_options("aws-apigw-rest") == ()
    assert accepted_options("aws-sqs-fifo") == ("payload_kb",)
    assert accepted_options(price_sheet("alibaba-fc3")) == ("vcpu", "ephemeral_storage_mb")
    assert costmodel.accepted_options is accepted_options
    assert "accepted_options" in costmodel.__all__


def test_accepted_options_unknown_provider() -> None:
    """An unknown key raises UnknownProvider naming the closest key."""
    with pytest.raises(UnknownProvider, match="aws-lambda"):
        accepted_options("aws-lambdaa")


def test_every_catalog_sheet_and_option_is_covered() -> None:
    """The fixtures above cover the catalog (a new sheet or option must be added here)."""
    assert set(costmodel.providers()["key"]) == set(BASE)
    for key in BASE:
        assert set(accepted_options(key)) <= set(VALUES)


@pytest.mark.parametrize("key", sorted(BASE))
def test_estimate_takes_each_accepted_option_and_refuses_others(key: str) -> None:
    """Every listed option is billed without complaint; every other one is refused by name."""
    accepted = accepted_options(key)
    for option in accepted:
        extra: dict[str, object] = {option: VALUES[option]}
        for group in ("provisioned_", "snapstart_"):
            if option.startswith(group):
                extra = {k: VALUES[k] for k in accepted if k.startswith(group)}
        if key == "gcp-cloud-run-instance" and option == "vcpu":
            extra["vcpu"] = 2  # instance-based billing needs at least 1 vCPU
        if key == "alibaba-fc3" and option != "vcpu":
            extra["vcpu"] = VALUES["vcpu"]
        if key == "aws-data-transfer" and option != "egress_gb":
            extra["egress_gb"] = VALUES["egress_gb"]
        bill = estimate(key, **{**BASE[key], **extra})  # type: ignore[arg-type]
        assert bill.total >= 0
    for option in sorted(set(VALUES) - set(accepted) - set(BASE[key])):
        with pytest.raises(InvalidUsage, match=f"does not bill option\\(s\\) {option}"):
            estimate(key, **BASE[key], **{option: VALUES[option]})  # type: ignore[arg-type]


# ---------------------------------------------------------------- lines built lazily

quick = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
usages = st.fixed_dictionaries(
    {
        "key": st.sampled_from(sorted(k for k in BASE if k != "aws-data-transfer")),
        "invocations": st.floats(0, 1e10),
        "duration_ms": st.one_of(
            st.floats(0, 900_000),
            st.lists(st.floats(0, 900_000), min_size=1, max_size=20).map(np.array),
        ),
        "free_tier": st.booleans(),
    }
)


def bill_of(usage: dict[str, Any]) -> Bill:
    """A bill of one catalog sheet for a drawn volume and duration."""
    key = usage["key"]
    kwargs: dict[str, Any] = {**BASE[key], "invocations": usage["invocations"]}
    if "duration_ms" in kwargs:
        kwargs["duration_ms"] = usage["duration_ms"]
        if "cpu_ms" in kwargs:  # CPU time within each drawn wall time
            kwargs["cpu_ms"] = np.asarray(usage["duration_ms"], dtype=float) / 2
    if key == "alibaba-fc3":
        kwargs["vcpu"] = 0.5
    return estimate(key, free_tier=usage["free_tier"], **kwargs)


def same_as_lines(bill: Bill) -> None:
    """The pandas-free figures of ``bill`` agree with its lines frame."""
    lines = bill.lines
    assert list(lines.itertuples(index=False, name=None)) == list(bill.items)
    assert bill.total == float(lines["cost"].sum())  # bit for bit
    by_lines = {c: math.fsum(lines.loc[lines["component"] == c, "cost"]) for c in COMPONENTS}
    assert bill.component_costs() == by_lines
    assert bill.by_component().to_dict() == by_lines
    grouped = lines.groupby("component", sort=False)["cost"].sum()
    for component, cost in grouped.items():  # pandas' own sum: equal up to rounding
        assert math.isclose(by_lines[str(component)], cost, rel_tol=1e-12, abs_tol=1e-15)


@quick
@given(usage=usages)
def test_figures_without_pandas_equal_the_lines(usage: dict[str, Any]) -> None:
    """total, component_costs and by_component equal the figures computed on lines."""
    same_as_lines(bill_of(usage))


@quick
@given(first=usages, second=usages, third=usages)
def test_sums_keep_figures_and_lines_in_agreement(
    first: dict[str, Any], second: dict[str, Any], third: dict[str, Any]
) -> None:
    """A sum of bills (pooled and priced again) agrees with its own lines too."""
    flag = first["free_tier"]
    bills = [bill_of({**u, "free_tier": flag}) for u in (first, second, third)]
    total = sum(bills[1:], bills[0])
    same_as_lines(total)
    assert len(total.items) == len(total.lines)


def test_lines_are_built_once_and_on_demand() -> None:
    """The lines frame is built on first access, then the same frame is returned."""
    bill = estimate("aws-lambda", invocations=3_000_000, duration_ms=120, memory_mb=1536)
    assert object.__getattribute__(bill, "_frame") is None
    assert (
        repr(bill) == "Bill(provider='aws-lambda', total=9.60 USD, lines=2)"
    )  # 540,000 GB-s + 3M requests
    assert object.__getattribute__(bill, "_frame") is None  # repr and total need no frame
    lines = bill.lines
    assert bill.lines is lines
    assert list(lines.columns) == [
        "provider", "component", "item", "quantity", "unit", "unit_price", "cost",
    ]  # fmt: skip
    assert lines.dtypes[["quantity", "unit_price", "cost"]].eq(float).all()


def test_empty_bill_has_an_empty_typed_frame() -> None:
    """A bill without lines has total 0.0, zero components and a typed empty frame."""
    bill = estimate("aws-apigw-rest", invocations=0)
    assert bill.items == () and bill.total == 0.0
    assert set(bill.component_costs().values()) == {0.0}
    assert bill.lines.empty and bill.lines["cost"].dtype == float
