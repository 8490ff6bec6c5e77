"""costmodel.LivePricer: one attempt priced at a sheet's first-tier prices, with its rounding."""

from __future__ import annotations

import pytest

import costmodel
from resilience import Record
from resilience.telemetry import Pricer


def _attempt(duration_s: float, outcome: str = "ok", **more: object) -> Record:
    return Record("thumb", "attempt", 0.0, duration_s=duration_s, outcome=outcome, **more)  # type: ignore[arg-type]


def test_it_is_resilience_pricing_protocol() -> None:
    """LivePricer satisfies resilience.telemetry.Pricer (resilience never imports costmodel)."""
    assert isinstance(costmodel.LivePricer("aws-lambda", memory_mb=512), Pricer)


def test_one_attempt_matches_a_one_invocation_estimate() -> None:
    """An attempt's dollars equal estimate() for one invocation of the same duration."""
    pricer = costmodel.LivePricer("aws-lambda", memory_mb=1536, arch="arm64")
    priced = pricer.price(_attempt(0.2504))
    bill = costmodel.estimate(
        "aws-lambda", invocations=1, duration_ms=250.4, memory_mb=1536, arch="arm64"
    )
    assert priced["requests"] + priced["compute"] == pytest.approx(bill.total)
    assert priced["compute"] == pytest.approx(1.5 * 0.251 * 0.0000133334)


def test_the_platform_minimum_and_memory_step_apply() -> None:
    """Azure Consumption bills at least 100 ms and memory in 128 MB steps."""
    pricer = costmodel.LivePricer("azure-functions-consumption", memory_mb=200)
    priced = pricer.price(_attempt(0.003))
    bill = costmodel.estimate(
        "azure-functions-consumption", invocations=1, duration_ms=3, memory_mb=200
    )
    assert priced["requests"] + priced["compute"] == pytest.approx(bill.total)


@pytest.mark.parametrize("outcome", ["rejected", "rate_limited", "bulkhead_full"])
def test_attempts_that_never_ran_cost_nothing(outcome: str) -> None:
    """A refused attempt never reached the callee: nothing to price; nor has a call row."""
    pricer = costmodel.LivePricer("aws-lambda", memory_mb=512)
    assert pricer.price(_attempt(0.0, outcome)) == {}
    call = Record("thumb", "call", 0.0, duration_s=1.0, outcome="ok")
    assert pricer.price(call) == {}
    assert pricer.price(_attempt(1.0, "timeout"))["compute"] > 0


def test_memory_by_function_and_egress() -> None:
    """A mapping prices the functions it names (others: nothing); egress prices the bytes."""
    pricer = costmodel.LivePricer("aws-lambda", memory_mb={"thumb": 1024}, response_egress=True)
    priced = pricer.price(_attempt(1.0, response_bytes=2 * 1024**3))
    assert priced["transfer"] == pytest.approx(2 * 0.09)
    other = Record("other", "attempt", 0.0, duration_s=1.0, outcome="ok")
    assert pricer.price(other) == {}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"provider": "aws-sqs-standard", "memory_mb": 128}, "requests' meter"),
        ({"provider": "aws-lambda", "memory_mb": 50}, "memory_mb"),
        ({"provider": "aws-lambda", "memory_mb": {}}, "memory_mb"),
        ({"provider": "aws-lambda", "memory_mb": 512, "response_egress": "yes"}, "response_egress"),
        ({"provider": "aws-lambda", "memory_mb": 512, "region": "mars-1"}, "mars-1"),
    ],
)
def test_bad_input(kwargs: dict[str, object], match: str) -> None:
    """Bad input fails at construction, naming the parameter."""
    with pytest.raises(costmodel.InvalidUsage, match=match):
        costmodel.LivePricer(**kwargs)  # type: ignore[arg-type]
