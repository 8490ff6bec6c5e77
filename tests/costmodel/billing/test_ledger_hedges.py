"""bill_ledger with hedged attempts and chaos rows: losers are billed, estimates are said.

The ledgers are built by hand with resilience.Ledger().record(...) so every duration is
known; the expected bills are made with estimate() on those durations.
"""

from __future__ import annotations

import pytest

from costmodel import InvalidUsage, bill_ledger, estimate
from resilience import Ledger

MB = 1024
LAMBDA = "aws-lambda"


def attempt(ledger: Ledger, ms: float, outcome: str, **extra: object) -> None:
    ledger.record(
        function="quote",
        kind="attempt",
        start_s=0.0,
        duration_s=ms / 1000,
        outcome=outcome,
        attempt=1,
        **extra,  # type: ignore[arg-type]
    )


def hedged_ledger() -> Ledger:
    """Three plain successful attempts of 20, 30 and 40 ms, and two hedged calls, each
    won by one attempt, its other attempt cancelled when it lost."""
    ledger = Ledger()
    for ms in (20.0, 30.0, 40.0):
        attempt(ledger, ms, "ok")
    # call 1: primary cancelled after 60 ms (the hedge, launched at 50 ms, won at 60)
    attempt(ledger, 60.0, "cancelled", hedge=0, hedge_result="lost")
    attempt(ledger, 10.0, "ok", hedge=1, hedge_result="won")
    # call 2: the primary won at 25 ms; its hedge, launched at 20 ms, was cancelled at 25
    attempt(ledger, 25.0, "ok", hedge=0, hedge_result="won")
    attempt(ledger, 5.0, "cancelled", hedge=1, hedge_result="lost")
    for ms in (60.0, 25.0):
        ledger.record(
            function="quote",
            kind="call",
            start_s=0.0,
            duration_s=ms / 1000,
            outcome="ok",
            attempt=2,
        )
    return ledger


def callee_cost(durations: list[float]) -> float:
    return estimate(LAMBDA, invocations=len(durations), duration_ms=durations, memory_mb=MB).total


def test_every_hedged_attempt_is_an_invocation_and_losers_are_estimated() -> None:
    """run_to_completion (default): a cancelled loser bills max(seen, median of ok)."""
    result = bill_ledger(hedged_ledger(), callee_memory_mb=MB)
    assert result.executions == 7
    assert result.estimated_executions == 2
    median = 25.0  # of 20, 30, 40, 10, 25
    billed = [20.0, 30.0, 40.0, max(60.0, median), 10.0, 25.0, max(5.0, median)]
    assert result.callee_bill.total == pytest.approx(callee_cost(billed), rel=1e-12)
    assert any("ESTIMATE" in note and "median" in note for note in result.notes)
    assert result.summary()["estimated_executions"] == 2
    assert "estimated=2" in repr(result)


def test_until_cancel_bills_the_caller_side_and_estimates_nothing() -> None:
    """until_cancel: a cancelled loser bills what the caller saw; nothing is estimated."""
    result = bill_ledger(hedged_ledger(), callee_memory_mb=MB, loser_billing="until_cancel")
    assert result.estimated_executions == 0
    billed = [20.0, 30.0, 40.0, 60.0, 10.0, 25.0, 5.0]
    assert result.callee_bill.total == pytest.approx(callee_cost(billed), rel=1e-12)
    assert any("until_cancel" in note for note in result.notes)


def test_timeout_estimate_needs_and_uses_the_callee_timeout() -> None:
    """loser_estimate='timeout' bills each cancelled loser the callee's timeout."""
    with pytest.raises(InvalidUsage, match="callee_timeout_s"):
        bill_ledger(hedged_ledger(), callee_memory_mb=MB, loser_estimate="timeout")
    result = bill_ledger(
        hedged_ledger(), callee_memory_mb=MB, loser_estimate="timeout", callee_timeout_s=3
    )
    billed = [20.0, 30.0, 40.0, 3000.0, 10.0, 25.0, 3000.0]
    assert result.callee_bill.total == pytest.approx(callee_cost(billed), rel=1e-12)
    assert result.estimated_executions == 2
    assert any("3000 ms" in note for note in result.notes)


def test_median_without_a_success_falls_back_to_what_the_caller_saw() -> None:
    """No successful attempt to take a median from: the caller's side, said to be a bound."""
    ledger = Ledger()
    attempt(ledger, 70.0, "cancelled", hedge=0, hedge_result="lost")
    attempt(ledger, 80.0, "error", hedge=1, hedge_result="lost")
    result = bill_ledger(ledger, callee_memory_mb=MB)
    assert result.callee_bill.total == pytest.approx(callee_cost([70.0, 80.0]), rel=1e-12)
    assert result.estimated_executions == 1
    assert any("lower bound" in note for note in result.notes)


def test_cancelled_without_hedge_is_billed_as_before() -> None:
    """A cancelled attempt that is not a hedge loser keeps its recorded duration."""
    ledger = Ledger()
    attempt(ledger, 100.0, "ok")
    attempt(ledger, 7.0, "cancelled")
    result = bill_ledger(ledger, callee_memory_mb=MB)
    assert result.estimated_executions == 0 and result.notes == ()
    assert result.callee_bill.total == pytest.approx(callee_cost([100.0, 7.0]), rel=1e-12)


def test_injected_faults_bill_nothing_downstream_and_latency_is_the_callers() -> None:
    """injected fault/outcome: no invocation; injected latency: the callee's duration is
    the recorded one (said to be an upper bound) unless injected_latency_ms takes it off."""
    ledger = Ledger()
    attempt(ledger, 40.0, "ok")
    attempt(ledger, 1.0, "error", injected="fault")
    attempt(ledger, 1.0, "ok", injected="outcome")
    attempt(ledger, 540.0, "ok", injected="latency")
    ledger.record(
        function="quote", kind="call", start_s=0.0, duration_s=0.54, outcome="ok", attempt=1
    )
    result = bill_ledger(ledger, callee_memory_mb=MB, caller_memory_mb=512)
    assert result.executions == 2 and result.not_called == 2
    assert result.callee_bill.total == pytest.approx(callee_cost([40.0, 540.0]), rel=1e-12)
    assert any("upper bound" in note for note in result.notes)
    taken = bill_ledger(ledger, callee_memory_mb=MB, caller_memory_mb=512, injected_latency_ms=500)
    assert taken.callee_bill.total == pytest.approx(callee_cost([40.0, 40.0]), rel=1e-12)
    # the caller waited the injected delay either way
    assert taken.caller_bill is not None and result.caller_bill is not None
    assert taken.caller_bill.total == result.caller_bill.total


def test_frames_from_csv_without_the_new_columns_still_bill() -> None:
    """A frame without hedge/hedge_result/injected columns bills as before."""
    frame = hedged_ledger().to_frame().drop(columns=["hedge", "hedge_result", "injected"])
    result = bill_ledger(frame, callee_memory_mb=MB)
    assert result.estimated_executions == 0 and result.executions == 7


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"loser_billing": "free"}, "loser_billing='free'"),
        ({"loser_estimate": "mean"}, "loser_estimate='mean'"),
        ({"callee_timeout_s": 0}, "callee_timeout_s=0"),
        ({"callee_timeout_s": float("nan")}, "callee_timeout_s=nan"),
        ({"injected_latency_ms": -1}, "injected_latency_ms=-1"),
    ],
)
def test_bad_hedge_billing_options(options: dict[str, object], named: str) -> None:
    """Bad loser and chaos options name the parameter."""
    with pytest.raises(InvalidUsage, match=named):
        bill_ledger(hedged_ledger(), callee_memory_mb=MB, **options)  # type: ignore[arg-type]
