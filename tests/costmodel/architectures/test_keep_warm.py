"""What keeping warm costs: KeepWarm, the cold-start model, the strategy comparison."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib
import pandas as pd
import pytest

import costmodel
from costmodel import (
    Function,
    InvalidFile,
    InvalidUsage,
    KeepWarm,
    compare,
    simulate_usage,
    sweep,
    warm_strategies,
)
from costmodel.architectures.keep_warm import MONTH_S, cold_share, erlang_b
from costmodel.architectures.strategies import keep_warm_bills, keep_warm_cold_starts

matplotlib.use("Agg")

# AWS Lambda us-east-1 (the catalog's aws-lambda sheet), x86_64.
REQUEST_USD = 0.20 / 1e6
ON_DEMAND_USD = 0.0000166667  # per GB-s
PROVISIONED_USD = 0.0000041667  # per configured GB-s
PROVISIONED_DURATION_USD = 0.0000097222  # per GB-s run on provisioned concurrency
SCHEDULER_USD = 1.00 / 1e6  # EventBridge Scheduler, no free tier


def api(**options: Any) -> Function:
    return Function("api", memory_mb=128, duration=100, init_duration_ms=800, **options)


def test_at_low_traffic_keep_warm_lowers_p99_and_costs_more_than_doing_nothing() -> None:
    """1,000 calls a month: most are cold without pings; pings make them warm, for a price."""
    result = warm_strategies(api(), calls_per_month=[1_000, 5_000])
    table = result.table.set_index(["calls_per_month", "strategy"])
    for calls in (1_000.0, 5_000.0):
        nothing, warm = table.loc[(calls, "nothing")], table.loc[(calls, "keep-warm")]
        assert nothing["cold_share"] > 0.3 and warm["cold_share"] < 1e-3
        assert nothing["p99_ms"] == 900.0 and warm["p99_ms"] == 100.0
        assert warm["cost_usd"] > nothing["cost_usd"]
    winners = result.winners().set_index("calls_per_month")
    assert winners.loc[1_000.0, "cheapest"] == "nothing"
    assert winners.loc[1_000.0, "fastest"] == "keep-warm"


def test_break_even_of_keep_warm_and_provisioned_matches_a_hand_computation() -> None:
    """Above the break-even provisioned concurrency's cheaper duration pays for its fee.

    By hand, where calls are frequent enough that no instance idles 10 minutes (no cold
    start without a burst), with one instance kept warm either way and B = a / (1 + a) the
    share of calls that find it busy (Erlang B, one server, a = calls/s x 0.1 s):
    keep-warm = P + N u_od and provisioned = F + N (1 - B) u_pc + N B u_od, so they cost
    the same where N (1 - B) (u_od - u_pc) = F - P, that is N = K / (1 - K d / M) with
    K = (F - P) / (u_od - u_pc).
    """
    gb, d_s = 128 / 1024, 0.100
    pings = MONTH_S / 300  # one ping every 5 minutes
    ping_cost = pings * (REQUEST_USD + gb * 0.005 * ON_DEMAND_USD) + pings * SCHEDULER_USD
    fee = gb * MONTH_S * PROVISIONED_USD
    u_od = REQUEST_USD + gb * d_s * ON_DEMAND_USD
    u_pc = REQUEST_USD + gb * d_s * PROVISIONED_DURATION_USD
    k = (fee - ping_cost) / (u_od - u_pc)
    by_hand = k / (1 - k * d_s / MONTH_S)

    result = warm_strategies(api(), calls_per_month=[1_000, 100_000_000])
    pairs = result.break_even.set_index(["cheaper_below", "cheaper_above"])
    found = pairs.loc[("keep-warm", "provisioned"), "calls_per_month"]
    assert found == pytest.approx(by_hand, rel=1e-6)
    assert 30e6 < found < 50e6  # about 38.7M calls a month, 15 calls a second
    # the model's own costs agree with the hand formulas on either side
    for calls in (found / 2, found * 2):
        busy = calls / MONTH_S * d_s
        spill = busy / (1 + busy)
        assert result.cost_usd("keep-warm", calls) == pytest.approx(
            ping_cost + calls * u_od, rel=1e-6
        )
        assert result.cost_usd("provisioned", calls) == pytest.approx(
            fee + calls * (1 - spill) * u_pc + calls * spill * u_od, rel=1e-6
        )
    assert result.cost_usd("keep-warm", found / 2) < result.cost_usd("provisioned", found / 2)
    assert result.cost_usd("keep-warm", found * 2) > result.cost_usd("provisioned", found * 2)


def test_pings_cost_requests_duration_with_hold_and_the_scheduler() -> None:
    """3 pings of 5 + 20 ms every 5 minutes; with a warmer, the scheduler fires per round."""
    kw = KeepWarm(every_s=300, concurrency=3, hold_ms=20, ping_ms=5)
    pings_bill, scheduler_bill = keep_warm_bills(api(keep_warm=kw), provider="aws-lambda")
    pings = 3 * MONTH_S / 300
    assert pings_bill.usage["invocations"] == pytest.approx(pings)
    assert pings_bill.total == pytest.approx(
        pings * (REQUEST_USD + 0.125 * 0.025 * ON_DEMAND_USD), rel=1e-9
    )
    assert scheduler_bill.total == pytest.approx(pings * SCHEDULER_USD)
    warmer = Function("warmer", memory_mb=128, duration=40)
    with_warmer = KeepWarm(concurrency=3, warmer_function=warmer)
    _, warmer_bill, per_round = keep_warm_bills(api(keep_warm=with_warmer), provider="aws-lambda")
    assert warmer_bill.usage["invocations"] == pytest.approx(MONTH_S / 300)
    assert per_round.total == pytest.approx(MONTH_S / 300 * SCHEDULER_USD)
    free = keep_warm_bills(api(keep_warm=kw), provider="aws-lambda", free_tier="always")
    assert free[-1].total == 0.0  # 26,280 invocations are inside 14M free


def test_an_unpriced_scheduler_is_left_out() -> None:
    """eventbridge-rule's price is not verified: no scheduler line, only the pings."""
    bills = keep_warm_bills(
        api(keep_warm=KeepWarm(scheduler="eventbridge-rule")), provider="aws-lambda"
    )
    assert len(bills) == 1


def test_compare_adds_what_a_functions_keep_warm_costs() -> None:
    """The same architecture with pings costs exactly their bills more."""
    kw = KeepWarm(every_s=300, concurrency=2)
    plain = compare({"api": api()}, invocations=50_000, samples=2_000)
    warm = compare({"api": api(keep_warm=kw)}, invocations=50_000, samples=2_000)
    extra = sum(b.total for b in keep_warm_bills(api(keep_warm=kw), provider="aws-lambda"))
    delta = warm["total_usd"].iloc[0] - plain["total_usd"].iloc[0]
    assert delta == pytest.approx(extra, rel=1e-9)


def test_compare_applies_the_keep_warm_model_to_cold_starts() -> None:
    """10,000 calls a month, one in ten cold (the model's exp(-λW) as the measured baseline):
    with pings p99 drops from run + init to the run, and the bill differs by exactly the
    pings + the scheduler - the INIT time the warm calls no longer bill."""
    calls, samples = 10_000, 20_000
    baseline = cold_share(calls, duration_ms=100, idle_window_s=600)
    plain = api(cold_start_probability=baseline)
    warm = api(cold_start_probability=baseline, keep_warm=KeepWarm(every_s=300))
    table = compare({"plain": plain, "warm": warm}, invocations=calls, samples=samples)
    assert table.loc["plain", "latency_p99_ms"] == 900.0
    assert table.loc["warm", "latency_p99_ms"] == 100.0
    # By hand: the share of calls that start cold is what the simulation drew (seed 0).
    kept = keep_warm_cold_starts(warm, calls_per_month=calls, provider="aws-lambda")[0]
    assert kept == pytest.approx(baseline * (calls / MONTH_S * 0.1) / (1 + calls / MONTH_S * 0.1))

    def colds(f: Function) -> int:
        return int((simulate_usage(f, samples=samples).functions["api"].init_ms > 0).sum())

    cold_plain, cold_warm = colds(plain), colds(api(cold_start_probability=kept))
    assert cold_plain / samples == pytest.approx(baseline, abs=4 * math.sqrt(baseline / samples))
    assert cold_plain > 1_800 and cold_warm <= 3  # about 2,040 and 0.3 expected
    pings = MONTH_S / 300
    ping_usd = pings * (REQUEST_USD + 0.125 * 0.005 * ON_DEMAND_USD) + pings * SCHEDULER_USD
    saved = cold_plain - cold_warm
    init_saved_usd = calls * saved / samples * 0.125 * 0.8 * ON_DEMAND_USD
    delta = table.loc["warm", "total_usd"] - table.loc["plain", "total_usd"]
    assert delta == pytest.approx(ping_usd - init_saved_usd, rel=1e-6)
    assert delta > 0  # at 128 MB the pings cost more than the INIT they save
    saved_gb_s = calls * saved / samples * 0.125 * 0.8
    gb_s = table.loc["plain", "billed_gb_s"] - table.loc["warm", "billed_gb_s"]
    assert gb_s == pytest.approx(saved_gb_s, rel=1e-9)  # fewer cold starts billed


def test_compare_uses_the_same_model_as_warm_strategies() -> None:
    """With the model's own baseline, compare's cold starts are the keep-warm row's."""
    for calls, every in ((2_000, 300), (40_000, 900)):
        baseline = cold_share(calls, duration_ms=100, idle_window_s=600)
        kw = KeepWarm(every_s=every, concurrency=2)
        f = api(cold_start_probability=baseline, keep_warm=kw)
        row = warm_strategies(f, calls_per_month=[calls]).table.set_index("strategy")
        cold, pings = keep_warm_cold_starts(f, calls_per_month=calls, provider="aws-lambda")
        assert cold == pytest.approx(row.loc["keep-warm", "cold_share"], rel=1e-12)
        assert pings == (0.0 if every <= 600 else baseline)


def test_a_function_without_cold_starts_keeps_none_and_a_measured_baseline_is_scaled() -> None:
    """0 stays 0 (nothing to save); a measured 40% keeps the model's share of it."""
    f = api(keep_warm=KeepWarm())
    assert keep_warm_cold_starts(f, calls_per_month=10, provider="gcp-cloud-run") == (0.0, 0.0)
    sparse = api(cold_start_probability=0.4, keep_warm=KeepWarm(every_s=1200))
    cold, pings = keep_warm_cold_starts(sparse, calls_per_month=0, provider="aws-lambda")
    assert (cold, pings) == (pytest.approx(0.2), 0.4)  # pinged for half of each window
    with pytest.raises(InvalidUsage, match="function 'api': idle_window_s: no public"):
        keep_warm_cold_starts(sparse, calls_per_month=10, provider="gcp-cloud-run")
    measured = api(cold_start_probability=0.4, keep_warm=KeepWarm(idle_window_s=300))
    with pytest.raises(InvalidUsage, match="architecture 'a': function 'api': idle_window_s"):
        compare({"a": sparse}, provider="gcp-cloud-run", invocations=10, samples=100)
    on_run = compare({"a": measured}, provider="gcp-cloud-run", invocations=10, samples=1_000)
    assert on_run.loc["a", "latency_p99_ms"] == 100.0


def test_the_calls_of_a_keep_warm_function_follow_from_the_architecture() -> None:
    """Behind a 90% cache the callee sees a tenth of the requests (fewer bursts above its
    pinged instance); a volume sweep applies the model at each volume."""
    from costmodel.architectures.compositions import sync_chain

    front = Function("front", memory_mb=128, duration=10)
    callee = api(cold_start_probability=0.5, keep_warm=KeepWarm(every_s=300))
    chain = sync_chain(front, callee, cache_hit_ratio=0.9)
    usage = simulate_usage(chain, samples=10_000)
    share = usage.functions["api"].invocations / usage.samples
    assert 0.08 < share < 0.12
    hidden, _ = keep_warm_cold_starts(callee, calls_per_month=share * 1e8, provider="aws-lambda")
    direct, _ = keep_warm_cold_starts(callee, calls_per_month=1e8, provider="aws-lambda")
    assert hidden < direct  # fewer calls, fewer bursts above the one pinged instance
    result = sweep({"chain": chain}, over="invocations", values=[1e3, 1e8], samples=10_000)
    p99 = result.frame.set_index("value")["latency_p99_ms"]
    # 100 calls a month never find the pinged instance busy; 10M a month, 14% of the time
    assert p99[1e3] == 10 + 15 + 100 and p99[1e8] == 10 + 15 + 100 + 800


def test_an_architecture_file_takes_a_keep_warm_table(tmp_path: Path) -> None:
    """functions.<name>.keep_warm = {every_s, concurrency, ...} sets Function.keep_warm."""
    path = tmp_path / "arch.toml"
    path.write_text(
        'invocations = 1000\ncompare = ["one"]\n'
        "[functions.api]\nmemory_mb = 128\nduration_ms = 100\n"
        "keep_warm = { every_s = 240, concurrency = 2, hold_ms = 25 }\n"
        '[architectures.one]\ntype = "monolith"\nsteps = ["api"]\n'
    )
    loaded = costmodel.load_architectures(path)
    assert loaded.functions["api"].keep_warm == KeepWarm(every_s=240, concurrency=2, hold_ms=25)
    path.write_text(path.read_text().replace("hold_ms = 25", "hold = 25"))
    with pytest.raises(InvalidFile, match="unknown field") as info:
        costmodel.load_architectures(path)
    assert info.value.field == "functions.api.keep_warm.hold"


WARMED = (
    'invocations = 1000\ncompare = ["one"]\n'
    "[functions.api]\nmemory_mb = 128\nduration_ms = 100\n"
    "keep_warm = { concurrency = 3, warmer_function = WARMER }\n"
    "[functions.warmer]\nmemory_mb = 128\nduration_ms = 40\n"
    '[architectures.one]\ntype = "monolith"\nsteps = ["api"]\n'
)


def test_an_architecture_file_names_or_defines_the_warmer_function(tmp_path: Path) -> None:
    """warmer_function = "warmer" names a function; an inline table defines one."""
    path = tmp_path / "arch.toml"
    path.write_text(WARMED.replace("WARMER", '"warmer"'))
    loaded = costmodel.load_architectures(path)
    warmer = loaded.functions["warmer"]
    assert loaded.functions["api"].keep_warm == KeepWarm(concurrency=3, warmer_function=warmer)
    path.write_text(WARMED.replace("WARMER", "{ memory_mb = 256, duration_ms = 30 }"))
    inline = costmodel.load_architectures(path).functions["api"].keep_warm
    assert inline is not None and inline.warmer_function == Function(
        "api-warmer", memory_mb=256, duration=30
    )
    # the warmer is billed once per round: a warmer bill, the scheduler fires per round
    _, warmer_bill, scheduler = keep_warm_bills(loaded.functions["api"], provider="aws-lambda")
    assert warmer_bill.usage["invocations"] == pytest.approx(MONTH_S / 300)
    assert scheduler.total == pytest.approx(MONTH_S / 300 * SCHEDULER_USD)


@pytest.mark.parametrize(
    ("warmer", "field", "message"),
    [
        ('"nobody"', "functions.api.keep_warm.warmer_function", "no function named 'nobody'"),
        ('"api"', "functions.api.keep_warm.warmer_function", "cannot send its own pings"),
        ("3", "functions.api.keep_warm.warmer_function", "must name a function"),
        (
            "{ memory_mb = 128 }",
            "functions.api.keep_warm.warmer_function",
            "give the duration as duration_ms",
        ),
        (
            "{ memory_mb = 128, duration_ms = 40, colour = 1 }",
            "functions.api.keep_warm.warmer_function.colour",
            "unknown field",
        ),
        ('"warmer", hold = 2', "functions.api.keep_warm.hold", "unknown field"),
        ('"warmer", every_s = 0', "functions.api.keep_warm.every_s", "every_s=0"),
    ],
)
def test_a_bad_warmer_in_an_architecture_file_names_the_field(
    tmp_path: Path, warmer: str, field: str, message: str
) -> None:
    path = tmp_path / "arch.toml"
    path.write_text(WARMED.replace("WARMER", warmer))
    with pytest.raises(InvalidFile, match=message) as info:
        costmodel.load_architectures(path)
    assert info.value.field == field


def test_a_provider_without_a_provisioned_price_gets_a_row_that_says_so() -> None:
    """Azure Flex always-ready prices are not verified: the row is there, not priced."""
    f = Function("api", memory_mb=2048, duration=100, init_duration_ms=800)
    result = warm_strategies(
        f,
        calls_per_month=[1_000, 100_000],
        provider="azure-functions-flex",
        keep_warm=KeepWarm(scheduler="none"),
        idle_window_s=600,
    )
    rows = result.table[result.table["strategy"] == "provisioned"]
    assert not rows["priced"].any() and rows["cost_usd"].isna().all()
    assert "always-ready" in rows["note"].iloc[0]
    assert list(result.break_even["cheaper_below"]) == ["nothing"]


def test_the_idle_window_is_the_providers_unless_given() -> None:
    """AWS 10 min, Azure Consumption 20 min; elsewhere it must be given."""
    assert warm_strategies(api(), calls_per_month=[100]).idle_window_s == 600.0
    assert warm_strategies(api(), calls_per_month=[100], idle_window_s=60).idle_window_s == 60.0
    with pytest.raises(InvalidUsage, match="idle_window_s: no public measurement"):
        warm_strategies(
            Function("api", memory_mb=512), calls_per_month=[100], provider="gcp-cloud-run"
        )


def test_cold_share_follows_the_stated_model() -> None:
    """exp(-λW) without pings; B(a, c) exp(-λW) with them; partly cold beyond the window."""
    calls = 2 * MONTH_S / 600  # a call every 5 minutes
    assert cold_share(calls, duration_ms=100, idle_window_s=600) == pytest.approx(math.exp(-2))
    busy = calls / MONTH_S * 0.1
    warm = cold_share(calls, duration_ms=100, idle_window_s=600, warm_instances=1, every_s=300)
    assert warm == pytest.approx(busy / (1 + busy) * math.exp(-2))
    sparse = cold_share(calls, duration_ms=100, idle_window_s=600, warm_instances=1, every_s=1200)
    assert sparse == pytest.approx(0.5 * warm + 0.5 * math.exp(-2))
    assert erlang_b(0.0, 3) == 0.0 and erlang_b(5.0, 0) == 1.0
    assert erlang_b(2.0, 3) == pytest.approx((2**3 / 6) / (1 + 2 + 2 + 8 / 6))


def test_the_same_seed_gives_the_same_table() -> None:
    """Deterministic: p99 samples come from the seed."""
    f = Function("api", memory_mb=256, duration=costmodel.lognormal(p50_ms=80, p99_ms=400))
    a = warm_strategies(f, calls_per_month=[1_000, 1e6], seed=3).table
    b = warm_strategies(f, calls_per_month=[1_000, 1e6], seed=3).table
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"every_s": 0}, "every_s=0"),
        ({"concurrency": 0}, "concurrency=0: must be an integer >= 1"),
        ({"hold_ms": -1}, "hold_ms=-1"),
        ({"ping_ms": math.nan}, "ping_ms=nan"),
        ({"scheduler": "cron"}, "scheduler='cron': must be one of"),
        ({"warmer_function": "warmer"}, "warmer_function='warmer'"),
        ({"idle_window_s": 0}, "idle_window_s=0"),
    ],
)
def test_keep_warm_bad_input_names_the_parameter(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidUsage, match=message):
        KeepWarm(**options)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"calls_per_month": []}, "calls_per_month=\\[\\]"),
        ({"calls_per_month": [0.5]}, "calls_per_month=\\[0.5\\]"),
        ({"calls_per_month": [10], "provisioned": 0}, "provisioned=0"),
        ({"calls_per_month": [10], "samples": 5}, "samples=5"),
        ({"calls_per_month": [10], "keep_warm": 300}, "keep_warm=300"),
    ],
)
def test_warm_strategies_bad_input(options: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidUsage, match=message):
        warm_strategies(api(), **options)
    with pytest.raises(InvalidUsage, match="keep_warm=5"):
        Function("f", memory_mb=128, keep_warm=5)  # type: ignore[arg-type]


def test_alerting_sheets_price_alarms_and_canaries() -> None:
    """A 5-minute canary for a month and three alarms, with the always-free offers."""
    canary = costmodel.estimate(
        "aws-cloudwatch-synthetics", invocations=MONTH_S / 300, free_tier="always"
    )
    assert canary.total == pytest.approx((8760 - 100) * 0.0012)
    alarms = costmodel.estimate("aws-cloudwatch-alarms", invocations=13, free_tier="always")
    assert alarms.total == pytest.approx(3 * 0.10)
    fast = costmodel.estimate("aws-cloudwatch-alarms-high-resolution", invocations=2)
    assert fast.total == pytest.approx(0.60)


def test_the_chart_draws_cost_and_p99_with_break_evens() -> None:
    """Two panels; a vertical line per break-even found; unpriced strategies named."""
    from costmodel import plots

    result = warm_strategies(api(), calls_per_month=[1_000, 1e5, 1e8])
    top = plots.cost_and_p99_by_strategy(result)
    assert top.get_yscale() == "log" and len(top.get_lines()) == 3 + 2
    assert "ping, provision, or neither" in top.get_title()
    with pytest.raises(InvalidUsage, match="WarmStrategies"):
        plots.cost_and_p99_by_strategy(object())
    import matplotlib.pyplot as plt

    plt.close("all")
