"""Hedged synchronous calls in the Monte Carlo, their bill, and the hedge frontier.

Prices come from the catalog through estimate(); no price is written here.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from costmodel import InvalidFile, InvalidUsage, estimate
from costmodel.architectures.comparison import compare
from costmodel.architectures.compositions import (
    Function,
    Hedge,
    SyncChain,
    simulate_usage,
    sync_chain,
)
from costmodel.architectures.distributions import fixed, lognormal, mixture
from costmodel.architectures.file import load_architectures
from costmodel.architectures.hedging import hedge_frontier

LAMBDA = "aws-lambda"
CALLER = Function("caller", memory_mb=128, duration=fixed(5))
#: 95% around 12 ms, 5% near one second: the issue's "5% 1 s tail".
TAIL = mixture((0.95, lognormal(p50_ms=12, p99_ms=30)), (0.05, fixed(1000)))


def callee(duration: object = TAIL, **options: object) -> Function:
    return Function("callee", memory_mb=1024, duration=duration, **options)  # type: ignore[arg-type]


def waits(chain: object, samples: int = 50_000, seed: int = 3) -> tuple[np.ndarray, object]:
    usage = simulate_usage(chain, samples=samples, seed=seed)  # type: ignore[arg-type]
    caller = usage.functions["caller"]
    return caller.billed_ms - caller.run_ms, usage


# ---------------------------------------------------------------------------- Hedge


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"attempts": 1, "delay_ms": 10}, "attempts=1"),
        ({"attempts": 6, "delay_ms": 10}, "attempts=6"),
        ({"attempts": 2.0, "delay_ms": 10}, "attempts=2.0"),
        ({"attempts": True, "delay_ms": 10}, "attempts=True"),
        ({"delay_ms": -1}, "delay_ms=-1"),
        ({"delay_ms": math.inf}, "delay_ms=inf"),
        ({"delay_ms": math.nan}, "delay_ms=nan"),
        ({"delay_ms": "10"}, "delay_ms='10'"),
        ({"delay_ms": 10, "loser_billing": "never"}, "loser_billing='never'"),
    ],
)
def test_bad_hedge_names_the_parameter(options: dict[str, object], named: str) -> None:
    """A bad attempts, delay or loser billing fails at construction, naming it."""
    with pytest.raises(InvalidUsage, match=named.replace("(", r"\(")):
        Hedge(**options)  # type: ignore[arg-type]


def test_hedge_is_frozen_and_needs_a_delay() -> None:
    """Hedge is a frozen value; delay_ms has no default (say how long to wait)."""
    h = Hedge(attempts=5, delay_ms=0)
    assert (h.attempts, h.delay_ms, h.loser_billing) == (5, 0.0, "run_to_completion")
    with pytest.raises(AttributeError):
        h.attempts = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        Hedge()  # type: ignore[call-arg]
    with pytest.raises(InvalidUsage, match="hedge="):
        sync_chain(CALLER, callee(), hedge=0.05)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- Monte Carlo


def test_extra_attempts_equal_the_share_slower_than_the_delay() -> None:
    """A 5% 1 s tail behind attempts=2, delay 50 ms: the extra invocations are the share of
    calls slower than the delay (within sampling error), and the p99 is cut."""
    n, delay = 50_000, 50.0
    plain, _ = waits(sync_chain(CALLER, callee(), overhead_ms=0), n)
    hedged, usage = waits(
        sync_chain(CALLER, callee(), overhead_ms=0, hedge=Hedge(delay_ms=delay)), n
    )
    slower = float((plain > delay).mean())  # the same primaries (common random numbers)
    extra = usage.functions["callee"].invocations / n - 1  # type: ignore[attr-defined]
    assert extra == pytest.approx(slower, abs=3 * math.sqrt(slower * (1 - slower) / n))
    assert 0.05 <= extra <= 0.06
    assert np.percentile(plain, 99) == pytest.approx(1000.0)
    assert np.percentile(hedged, 99) < 0.1 * np.percentile(plain, 99)
    # a hedge never makes a call slower than the primary alone
    assert (hedged <= plain + 1e-9).all()


def test_every_attempt_is_billed_to_completion_by_default() -> None:
    """run_to_completion: the loser bills its whole run; until_cancel: only until the win."""
    # Every primary takes 100 ms: a hedge launched at 30 ms, finishing at 130 ms, loses.
    chain = sync_chain(CALLER, callee(fixed(100)), overhead_ms=0, hedge=Hedge(delay_ms=30))
    usage = simulate_usage(chain, samples=1000)
    billed = usage.functions["callee"].billed_ms
    assert billed.size == 2000 and (billed == 100).all()
    cancel = Hedge(delay_ms=30, loser_billing="until_cancel")
    usage = simulate_usage(sync_chain(CALLER, callee(fixed(100)), overhead_ms=0, hedge=cancel))
    billed = np.sort(usage.functions["callee"].billed_ms)
    half = billed.size // 2
    assert (billed[:half] == 70).all() and (billed[half:] == 100).all()  # 100 - 30
    assert usage.functions["callee"].ok.sum() == half  # the cut losers sent no answer
    # the caller waits for the primary either way
    assert (usage.functions["caller"].billed_ms == 105).all()


def test_a_failure_launches_the_next_attempt_at_once() -> None:
    """A failed attempt (a handled failure) launches the next attempt without the delay."""
    flaky = callee(fixed(10), error_rate=0.5)
    chain = sync_chain(CALLER, flaky, overhead_ms=0, hedge=Hedge(attempts=3, delay_ms=500))
    waited, usage = waits(chain, 20_000)
    ok = usage.functions["caller"].ok  # type: ignore[attr-defined]
    # primary fails at 10 ms -> hedge 1 at 10 ms -> fails at 20 -> hedge 2 at 20 ms
    assert set(np.unique(waited)) == {10.0, 20.0, 30.0}
    assert ok.mean() == pytest.approx(1 - 0.5**3, abs=0.02)
    assert usage.functions["callee"].invocations / 20_000 == pytest.approx(1.75, abs=0.03)  # type: ignore[attr-defined]


def test_retry_reruns_the_group_only_when_every_attempt_failed() -> None:
    """A retry re-runs the whole hedged group, and only after all its attempts failed."""
    always = callee(fixed(10), error_rate=1.0)
    chain = sync_chain(
        CALLER, always, overhead_ms=0, retries=1, backoff_ms=100, hedge=Hedge(delay_ms=0)
    )
    waited, usage = waits(chain, 100)
    assert usage.functions["callee"].invocations == 400  # type: ignore[attr-defined]
    assert (waited == 10 + 100 + 10).all()
    fine = sync_chain(CALLER, callee(fixed(10)), retries=3, hedge=Hedge(delay_ms=0))
    assert simulate_usage(fine, samples=100).functions["callee"].invocations == 200


def test_timeout_is_per_attempt_and_launches_the_next() -> None:
    """timeout_ms cuts each attempt (inside the hedge); a cut attempt launches the next."""
    slow = callee(mixture((0.5, fixed(10)), (0.5, fixed(400))))
    chain = sync_chain(
        CALLER, slow, overhead_ms=0, timeout_ms=100, hedge=Hedge(attempts=2, delay_ms=1000)
    )
    waited, usage = waits(chain, 20_000)
    assert waited.max() <= 200 + 1e-9
    assert set(np.round(np.unique(waited))) <= {10.0, 110.0, 200.0}
    ok = usage.functions["caller"].ok  # type: ignore[attr-defined]
    assert ok.mean() == pytest.approx(0.75, abs=0.02)


def test_cache_hits_and_open_breaker_launch_nothing_and_gateway_counts_attempts() -> None:
    """Cache hits and breaker rejections launch no attempt; a gateway meters each one."""
    chain = sync_chain(
        CALLER,
        callee(fixed(100)),
        via="gateway",
        overhead_ms=0,
        cache_hit_ratio=0.5,
        hedge=Hedge(delay_ms=10),
    )
    usage = simulate_usage(chain, samples=10_000)
    calls = usage.functions["callee"].invocations
    assert calls == pytest.approx(10_000, rel=0.05)  # half cached, the other half x2
    assert usage.meters[("gateway", "http", 1.0)] == calls


def test_attempts_five_with_zero_delay_launches_all_at_once() -> None:
    """delay 0: every attempt starts at once; the fastest of five answers."""
    chain = sync_chain(CALLER, callee(), overhead_ms=0, hedge=Hedge(attempts=5, delay_ms=0))
    waited, usage = waits(chain, 10_000)
    assert usage.functions["callee"].invocations == 50_000  # type: ignore[attr-defined]
    assert np.percentile(waited, 99.9) < 60


# ---------------------------------------------------------------------------- compare


@pytest.mark.parametrize(
    ("loser_billing", "loser_ms"), [("run_to_completion", 100.0), ("until_cancel", 70.0)]
)
def test_compare_cost_increase_is_the_priced_extra_invocations(
    loser_billing: str, loser_ms: float
) -> None:
    """compare(): the hedged chain costs the unhedged one plus the extra invocations (request
    fee + their billed compute), to the cent; the caller's wait is unchanged here."""
    volume = 10_000_000
    plain = sync_chain(CALLER, callee(fixed(100)), overhead_ms=0)
    hedge = Hedge(delay_ms=30, loser_billing=loser_billing)  # type: ignore[arg-type]
    hedged = sync_chain(CALLER, callee(fixed(100)), overhead_ms=0, hedge=hedge)
    table = compare(
        {"plain": plain, "hedged": hedged},
        provider=LAMBDA,
        invocations=volume,
        samples=2000,
        free_tier="none",
    )
    extra = estimate(
        LAMBDA, invocations=volume, duration_ms=loser_ms, memory_mb=1024, free_tier="none"
    )
    increase = table.loc["hedged", "total_usd"] - table.loc["plain", "total_usd"]
    assert round(increase, 2) == round(extra.total, 2)
    requests = table.loc["hedged", "requests_usd"] - table.loc["plain", "requests_usd"]
    assert round(requests, 2) == round(extra.by_component()["requests"], 2)
    assert table.loc["hedged", "function_invocations"] == 3 * volume  # caller + 2 attempts


def test_compare_heavy_tail_request_fees_follow_the_extra_invocations() -> None:
    """Heavy tail: the request fees rise by the fee of the extra invocations exactly."""
    volume, n = 1_000_000, 20_000
    plain = sync_chain(CALLER, callee())
    hedged = sync_chain(CALLER, callee(), hedge=Hedge(delay_ms=60))
    table = compare({"plain": plain, "hedged": hedged}, invocations=volume, samples=n)
    extra_calls = (
        simulate_usage(hedged, samples=n).functions["callee"].invocations
        - simulate_usage(plain, samples=n).functions["callee"].invocations
    ) * (volume / n)
    fee = estimate(LAMBDA, invocations=extra_calls, duration_ms=1, memory_mb=1024)
    increase = table.loc["hedged", "requests_usd"] - table.loc["plain", "requests_usd"]
    assert increase == pytest.approx(fee.by_component()["requests"], abs=0.005)
    assert table.loc["hedged", "latency_p99_ms"] < 0.2 * table.loc["plain", "latency_p99_ms"]


# ---------------------------------------------------------------------------- frontier


def test_frontier_reproduces_the_tail_at_scale_shape() -> None:
    """A small delay buys most of the tail cut for a few % extra invocations."""
    tail = mixture((0.98, lognormal(p50_ms=12, p99_ms=30)), (0.02, fixed(1000)))
    table = hedge_frontier(tail, delays_ms=[0, 50, 100, 400], samples=50_000, seed=1)
    assert list(table.index) == [
        "unhedged",
        "hedge 0 ms",
        "hedge 50 ms",
        "hedge 100 ms",
        "hedge 400 ms",
    ]
    assert list(table.columns) == [
        "delay_ms",
        "attempts",
        "latency_p50_ms",
        "latency_p99_ms",
        "latency_p999_ms",
        "extra_invocations_pct",
        "usd_per_million",
        "cost_increase_pct",
    ]
    base, small = table.loc["unhedged"], table.loc["hedge 50 ms"]
    assert small["extra_invocations_pct"] < 5
    assert small["latency_p999_ms"] < 0.1 * base["latency_p999_ms"]
    assert table.loc["hedge 0 ms", "extra_invocations_pct"] == pytest.approx(100)
    # more delay: fewer extra invocations, a higher tail
    assert table["extra_invocations_pct"].iloc[1:].is_monotonic_decreasing
    assert table["latency_p999_ms"].iloc[1:].is_monotonic_increasing
    assert table.attrs["loser_billing"] == "run_to_completion"
    again = hedge_frontier(tail, delays_ms=[400, 100, 50, 0], samples=50_000, seed=1)
    pd.testing.assert_frame_equal(table, again)


def test_frontier_until_cancel_is_never_dearer() -> None:
    """until_cancel bills a loser at most what run_to_completion does."""
    both = {
        billing: hedge_frontier(TAIL, delays_ms=[20, 60], samples=20_000, loser_billing=billing)
        for billing in ("run_to_completion", "until_cancel")
    }
    cancel, full = both["until_cancel"], both["run_to_completion"]
    assert (cancel["usd_per_million"] <= full["usd_per_million"] + 1e-12).all()
    pd.testing.assert_series_equal(cancel["latency_p99_ms"], full["latency_p99_ms"])


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"delays_ms": []}, "delays_ms"),
        ({"delays_ms": "10"}, "delays_ms"),
        ({"delays_ms": [-5]}, "delay_ms=-5"),
        ({"delays_ms": [10], "attempts": 9}, "attempts=9"),
        ({"delays_ms": [10], "loser_billing": "x"}, "loser_billing"),
        ({"delays_ms": [10], "provider": "aws-sqs-standard"}, "provider"),
        ({"delays_ms": [10], "invocations": 0}, "invocations"),
    ],
)
def test_frontier_bad_input(options: dict[str, object], named: str) -> None:
    """Bad frontier arguments fail before simulating, naming the parameter."""
    with pytest.raises(InvalidUsage, match=named):
        hedge_frontier(TAIL, **options)  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="callee="):
        hedge_frontier("slow", delays_ms=[10])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- files

HEDGED_FILE = """
invocations = 1000

[functions.a]
memory_mb = 128
duration_ms = 5

[functions.b]
memory_mb = 1024
duration_ms = 100

[architectures.hedged]
type = "sync_chain"
steps = ["a", "b"]
hedge = { attempts = 3, delay_ms = 50, loser_billing = "until_cancel" }
"""


def test_architecture_file_hedge(tmp_path: Path) -> None:
    """``hedge = {attempts, delay_ms, loser_billing}`` on a sync chain builds a Hedge."""
    path = tmp_path / "arch.toml"
    path.write_text(HEDGED_FILE)
    chain = load_architectures(path)["hedged"]
    assert isinstance(chain, SyncChain)
    assert chain.call.hedge == Hedge(attempts=3, delay_ms=50, loser_billing="until_cancel")


@pytest.mark.parametrize(
    ("new", "field", "reason"),
    [
        (
            "hedge = { attempts = 9, delay_ms = 50 }",
            "architectures.hedged.hedge.attempts",
            "[2, 5]",
        ),
        ("hedge = { delay_ms = -1 }", "architectures.hedged.hedge.delay_ms", ">= 0"),
        ("hedge = { attempts = 2 }", "architectures.hedged.hedge.delay_ms", "missing"),
        (
            "hedge = { delay_ms = 5, loser_billing = 'free' }",
            "architectures.hedged.hedge.loser_billing",
            "run_to_completion",
        ),
        ("hedge = { delay_ms = 5, after = 3 }", "architectures.hedged.hedge.after", "unknown"),
        ("hedge = 50", "architectures.hedged.hedge", "must be a table"),
    ],
)
def test_architecture_file_bad_hedge(tmp_path: Path, new: str, field: str, reason: str) -> None:
    """A bad hedge table names the file, the dotted field and the reason."""
    path = tmp_path / "arch.toml"
    old = 'hedge = { attempts = 3, delay_ms = 50, loser_billing = "until_cancel" }'
    path.write_text(HEDGED_FILE.replace(old, new))
    with pytest.raises(InvalidFile) as info:
        load_architectures(path)
    assert info.value.field == field
    assert reason in info.value.reason
