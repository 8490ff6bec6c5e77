"""Options a sheet accepts, and a bill's figures without pandas equal those of its lines."""

from __future__ import annotations

import pytest

import costmodel
from costmodel import InvalidUsage, UnknownProvider, accepted_options, estimate, price_sheet

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
}
# A valid value for every option of the catalog.
VALUES: dict[str, object] = {
    "arch": "arm64",
    "ephemeral_storage_mb": 1024,
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
        if option.startswith("provisioned_"):
            extra = {k: VALUES[k] for k in accepted if k.startswith("provisioned_")}
        if key == "alibaba-fc3" and option != "vcpu":
            extra["vcpu"] = VALUES["vcpu"]
        if key == "aws-data-transfer" and option != "egress_gb":
            extra["egress_gb"] = VALUES["egress_gb"]
        bill = estimate(key, **BASE[key], **extra)  # type: ignore[arg-type]
        assert bill.total >= 0
    for option in sorted(set(VALUES) - set(accepted)):
        with pytest.raises(InvalidUsage, match=f"does not bill option\\(s\\) {option}"):
            estimate(key, **BASE[key], **{option: VALUES[option]})  # type: ignore[arg-type]
