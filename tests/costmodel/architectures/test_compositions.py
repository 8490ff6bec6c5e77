"""Functions, distributions and compositions: the Monte Carlo against closed forms."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costmodel import InvalidUsage
from costmodel.architectures.compositions import (
    Function,
    async_chain,
    fan_out,
    functions_of,
    map_functions,
    monolith,
    simulate_usage,
    sync_chain,
    workflow,
)
from costmodel.architectures.distributions import CpuBound, empirical, fixed, lognormal

N = 100_000


def test_lognormal_mean_matches_closed_form() -> None:
    """The mean of sampled log-normal durations is exp(mu + sigma^2 / 2) within 1%."""
    d = lognormal(p50_ms=100, p99_ms=900)
    sigma = math.log(9) / 2.3263478740408408
    assert d.mean_ms == pytest.approx(100 * math.exp(sigma**2 / 2))
    u = simulate_usage(Function("f", memory_mb=128, duration=d), samples=N)
    assert u.functions["f"].billed_ms.mean() == pytest.approx(d.mean_ms, rel=0.01)
    assert np.median(u.latency_ms) == pytest.approx(100, rel=0.02)
    assert np.quantile(u.latency_ms, 0.99) == pytest.approx(900, rel=0.05)


def test_empirical_draws_from_the_samples_and_reads_a_log_frame() -> None:
    """empirical() resamples given durations, also from a read_logs-like frame."""
    frame = pd.DataFrame({"function": ["a", "a", "b"], "duration_ms": [10.0, 30.0, 500.0]})
    d = empirical(frame, function="a")
    assert d.mean_ms == 20.0
    drawn = d.sample(np.random.default_rng(1), 1000)
    assert set(np.unique(drawn)) == {10.0, 30.0}
    with pytest.raises(InvalidUsage, match="duration_ms"):
        empirical(pd.DataFrame({"x": [1]}))
    with pytest.raises(InvalidUsage, match="not a finite duration"):
        empirical([10, -1])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"memory_mb": 0}, "memory_mb=0"),
        (
            {"memory_mb": 128, "error_rate": 1.5},
            r"error_rate=1.5: must be a probability in \[0, 1\]",
        ),
        ({"memory_mb": 128, "cold_start_probability": -0.1}, "cold_start_probability=-0.1"),
        ({"memory_mb": 128, "failure": "slow"}, "failure='slow': must be one of 'fast', 'timeout'"),
        ({"memory_mb": 128, "duration": "fast"}, "duration='fast'"),
        ({"memory_mb": 128, "timeout_s": float("nan")}, "timeout_s=nan"),
    ],
)
def test_function_rejects_bad_input_naming_the_parameter(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    """A bad Function argument fails at construction with the name, value and range."""
    with pytest.raises(InvalidUsage, match=message):
        Function("f", **kwargs)


def test_lognormal_rejects_p99_below_p50() -> None:
    """A p99 below the p50 is refused."""
    with pytest.raises(InvalidUsage, match="p99_ms=50: must be >= p50_ms=100"):
        lognormal(p50_ms=100, p99_ms=50)


def test_compositions_reject_bad_input() -> None:
    """Unknown via, too few branches, non-functions and clashing names fail early."""
    a = Function("a", memory_mb=128)
    with pytest.raises(InvalidUsage, match="via='pigeon'"):
        sync_chain(a, a, via="pigeon")  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="at least 2"):
        fan_out(a)
    with pytest.raises(InvalidUsage, match="is not a Function"):
        workflow(a, "b")  # type: ignore[arg-type]
    with pytest.raises(InvalidUsage, match="two different functions share this name"):
        sync_chain(a, Function("a", memory_mb=256))
    with pytest.raises(InvalidUsage, match="breaker_open_share=2"):
        sync_chain(a, a, breaker_open_share=2)
    with pytest.raises(InvalidUsage, match="samples=0"):
        simulate_usage(a, samples=0)


def test_same_seed_same_usage_other_seed_other_draws() -> None:
    """The Monte Carlo is reproducible from its seed."""
    f = Function("f", memory_mb=128, duration=lognormal(p50_ms=50, p99_ms=500), error_rate=0.2)
    arch = sync_chain(Function("c", memory_mb=128), f, retries=2)
    one, two = (
        simulate_usage(arch, samples=1000, seed=7),
        simulate_usage(arch, samples=1000, seed=7),
    )
    other = simulate_usage(arch, samples=1000, seed=8)
    np.testing.assert_array_equal(one.latency_ms, two.latency_ms)
    assert not np.array_equal(one.latency_ms, other.latency_ms)


def test_sync_caller_is_billed_for_wait_overhead_retries_and_backoff() -> None:
    """Fixed durations give the exact closed form of the caller's billed time."""
    caller = Function("caller", memory_mb=256, duration=fixed(50))
    callee = Function("callee", memory_mb=512, duration=fixed(100), error_rate=1.0)
    u = simulate_usage(
        sync_chain(caller, callee, retries=2, backoff_ms=100, overhead_ms=10), samples=100
    )
    # 3 attempts x (100 ms + 10 ms overhead) + backoff 100 + 200 ms, on top of 50 ms of work.
    assert np.all(u.functions["caller"].billed_ms == 50 + 3 * 110 + 300)
    assert u.functions["callee"].invocations == 300
    assert not u.complete.any()


def test_expected_attempts_follow_the_geometric_series() -> None:
    """With error rate e and r retries a caller makes 1 + e + ... + e^r attempts."""
    e, r = 0.3, 2
    callee = Function("callee", memory_mb=128, duration=fixed(100), error_rate=e)
    u = simulate_usage(sync_chain(Function("c", memory_mb=128), callee, retries=r), samples=N)
    expected = sum(e**k for k in range(r + 1))
    assert u.functions["callee"].invocations / N == pytest.approx(expected, rel=0.01)
    assert 1 - u.complete.mean() == pytest.approx(e ** (r + 1), rel=0.05)


def test_cache_hits_and_open_breaker_skip_the_callee() -> None:
    """Cached or rejected calls neither wait nor invoke: (1 - h)(1 - s) calls remain."""
    h, s = 0.6, 0.25
    callee = Function("callee", memory_mb=128, duration=fixed(200))
    caller = Function("c", memory_mb=128, duration=fixed(10))
    u = simulate_usage(
        sync_chain(caller, callee, cache_hit_ratio=h, breaker_open_share=s, overhead_ms=0),
        samples=N,
    )
    share = (1 - h) * (1 - s)
    assert u.functions["callee"].invocations / N == pytest.approx(share, rel=0.01)
    assert u.functions["c"].billed_ms.mean() == pytest.approx(10 + 200 * share, rel=0.01)


def test_timeout_failure_bills_the_full_timeout_and_cuts_the_caller() -> None:
    """A hung callee bills its timeout; a caller reaching its own timeout is cut there."""
    callee = Function("callee", memory_mb=128, timeout_s=3, error_rate=1.0, failure="timeout")
    caller = Function("caller", memory_mb=128, duration=fixed(10), timeout_s=5)
    u = simulate_usage(sync_chain(caller, callee, retries=3), samples=10)
    assert np.all(u.functions["callee"].billed_ms == 3000)
    assert np.all(u.functions["caller"].billed_ms == 5000)
    # Attempt 2 ends at 10 + 2 x 3015 + 100 ms > 5 s: the cut caller makes no 3rd attempt.
    assert u.functions["callee"].invocations == 20


def test_async_chain_bills_each_platform_attempt_and_the_on_failure_destination() -> None:
    """Platform retries bill every attempt; exhausted events invoke on_failure once."""
    e = 0.4
    worker = Function("worker", memory_mb=128, duration=fixed(100), error_rate=e)
    dlq = Function("dlq", memory_mb=128, duration=fixed(20))
    head = Function("head", memory_mb=128, duration=fixed(30))
    u = simulate_usage(async_chain(head, worker, via="queue", on_failure=dlq), samples=N)
    attempts = 1 + e + e**2
    assert u.functions["worker"].invocations / N == pytest.approx(attempts, rel=0.01)
    assert u.functions["dlq"].invocations / N == pytest.approx(e**3, rel=0.05)
    # The head pays only its work and the 15 ms hand-off.
    assert np.all(u.functions["head"].billed_ms == 30 + 15)
    # Queue: one send, one receive per attempt, one delete per success.
    assert u.per_request(("queue", "standard", 1.0)) == pytest.approx(
        1 + attempts + (1 - e**3), rel=0.01
    )


def test_storage_trigger_meters_one_put_per_handoff_and_one_get_per_attempt() -> None:
    """A storage-triggered chain writes one object per hand-off; each attempt reads it."""
    fs = [Function(n, memory_mb=128, duration=fixed(10)) for n in ("a", "b", "c")]
    u = simulate_usage(async_chain(*fs, via="storage_trigger"), samples=100)
    assert u.per_request(("storage", "put", 1.0)) == 2
    assert u.per_request(("storage", "get", 1.0)) == 2


def test_cold_starts_add_init_time_with_their_probability() -> None:
    """Expected init per invocation is p x init; latency includes it."""
    f = Function(
        "f", memory_mb=128, duration=fixed(100), cold_start_probability=0.1, init_duration_ms=500
    )
    u = simulate_usage(f, samples=N)
    usage = u.functions["f"]
    assert usage.init_ms.mean() == pytest.approx(50, rel=0.03)
    assert usage.durations_ms(init_billed=True).mean() == pytest.approx(150, rel=0.01)
    assert u.latency_ms.mean() == pytest.approx(150, rel=0.01)


def test_monolith_stops_at_the_first_failing_part() -> None:
    """A monolith of parts with error rates runs E = d1 + (1 - e1) d2 on average."""
    a = Function("a", memory_mb=2048, duration=fixed(1000), error_rate=0.5)
    b = Function("b", memory_mb=128, duration=fixed(3000))
    m = monolith(a, b)
    assert m.function.memory_mb == 2048
    u = simulate_usage(m, samples=N)
    assert u.functions["monolith"].billed_ms.mean() == pytest.approx(1000 + 0.5 * 3000, rel=0.01)
    assert u.complete.mean() == pytest.approx(0.5, abs=0.01)


def test_workflow_counts_transitions_and_express_runs() -> None:
    """Standard: one transition per task attempt plus one per Parallel state; express:
    one run per execution lasting the steps plus their transitions."""
    fs = [Function(f"f{i}", memory_mb=128, duration=fixed(100)) for i in range(4)]
    std = simulate_usage(workflow(fs[0], fan_out(fs[1], fs[2]), fs[3]), samples=100)
    assert std.per_request(("orchestration", "standard_transitions", 0.0)) == 5
    exp = simulate_usage(workflow(*fs, kind="express", transition_ms=10), samples=100)
    runs = exp.express_ms[("workflow", 64.0)]
    assert runs.size == 100 and np.all(runs == 4 * 110)


def test_fan_out_waits_for_the_slowest_branch() -> None:
    """Parallel latency is the max of the branches; a sync caller is billed for it."""
    branches = [
        Function(f"t{i}", memory_mb=1024, duration=fixed(d)) for i, d in enumerate((1, 2, 3))
    ]
    caller = Function("caller", memory_mb=128, duration=fixed(10))
    u = simulate_usage(sync_chain(caller, fan_out(*branches), overhead_ms=5), samples=10)
    assert np.all(u.functions["caller"].billed_ms == 10 + 3 + 5)


def test_map_functions_and_memory_scaling_model() -> None:
    """with_memory scales the CPU-bound share by the vCPU ratio, capped at 1769 MB/thread."""
    f = Function("f", memory_mb=512, duration=fixed(1000))
    model = CpuBound(cpu_share=0.8)
    assert f.with_memory(1024, scaling=model).duration.mean_ms == pytest.approx(200 + 400)
    assert f.with_memory(3538, scaling=model).duration.mean_ms == pytest.approx(
        200 + 800 * 512 / 1769
    )
    m = map_functions(monolith(f, Function("g", memory_mb=128)), lambda x: x.with_memory(256))
    assert m.function.memory_mb == 256  # type: ignore[union-attr]
    assert [x.name for x in functions_of(m)] == ["f", "g"]


@settings(max_examples=25, deadline=None)
@given(
    error_rate=st.floats(0, 1),
    retries=st.integers(0, 3),
    cache=st.floats(0, 1),
    p50=st.floats(1, 1000),
)
def test_usage_is_never_negative_and_counts_are_consistent(
    error_rate: float, retries: int, cache: float, p50: float
) -> None:
    """Billed durations and latencies are >= 0; a callee is invoked at most 1 + r times."""
    callee = Function(
        "callee",
        memory_mb=256,
        duration=lognormal(p50_ms=p50, p99_ms=3 * p50),
        error_rate=error_rate,
    )
    arch = sync_chain(Function("c", memory_mb=128), callee, retries=retries, cache_hit_ratio=cache)
    u = simulate_usage(arch, samples=500)
    assert np.all(u.latency_ms >= 0)
    assert all(np.all(f.billed_ms >= 0) for f in u.functions.values())
    calls = u.functions.get("callee")
    assert calls is None or calls.invocations <= 500 * (retries + 1)
