"""costmodel.bill_ledger: a real Policy's ledger billed on AWS Lambda and Alibaba FC."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costmodel
from costmodel import InvalidUsage, LedgerBill, bill_ledger
from resilience import CircuitBreaker, Ledger, Policy, cached, fallback, retry
from resilience.testing import FakeClock

CALLEE_MB = 1024.0
CALLER_MB = 512.0
DURATIONS_S = (0.0123, 0.2504, 0.0871, 0.1416)  # never a whole ms: rounding is visible
OUTAGE_S = (20.0, 50.0)


@dataclass
class Run:
    """A ledger written by a real Policy, and what the test saw independently."""

    ledger: Ledger
    ran_ms: list[float]  # every real execution of the function, ms
    calls: int
    fallbacks_seen: int
    backoff_s: float  # the retries' sleeps, seconds


def _run_policy(mode: str) -> Run:
    """100 calls, one a second, through fallback + cache + retry + breaker, with an outage."""
    clock, ledger = FakeClock(), Ledger()
    ran_ms: list[float] = []

    def work() -> float:
        duration_s = DURATIONS_S[len(ran_ms) % len(DURATIONS_S)]
        ran_ms.append(duration_s * 1000.0)
        return duration_s

    def outcome(key: int) -> float:
        if OUTAGE_S[0] <= clock.monotonic() < OUTAGE_S[1]:
            raise ConnectionError("price service down")
        return key * 1.5

    policy = Policy(
        name="price",
        fallback=fallback(-1.0),
        cache=cached(ttl=3.0, clock=clock),
        retry=retry(attempts=3, backoff_s=0.5, jitter="none", budget=None, clock=clock),
        breaker=CircuitBreaker(fail_max=3, reset_timeout_s=10.0, clock=clock),
        ledger=ledger,
        clock=clock,
    )
    results: list[float] = []
    if mode == "sync":

        @policy
        def price(key: int) -> float:
            clock.advance(work())
            return outcome(key)

        for second in range(100):
            results.append(price(second % 2))
            clock.advance(1.0)
    else:

        @policy
        async def aprice(key: int) -> float:
            await clock.asleep(work())
            return outcome(key)

        async def drive() -> None:
            for second in range(100):
                results.append(await aprice(second % 2))
                clock.advance(1.0)

        asyncio.run(drive())
    slept_s = sum(clock.sleeps) - (sum(ran_ms) / 1000 if mode == "async" else 0.0)
    return Run(ledger, ran_ms, len(results), results.count(-1.0), slept_s)


@pytest.fixture(params=["sync", "async"])
def run(request: pytest.FixtureRequest) -> Run:
    """The Policy run, with a plain and with an ``async def`` function."""
    return _run_policy(request.param)


def _gb_s(memory_mb: float, durations_ms: list[float]) -> float:
    """GB-s at 1 ms steps (AWS Lambda, Alibaba FC 3.0), computed here, not by costmodel."""
    return sum(memory_mb / 1024 * max(math.ceil(ms), 1) / 1000 for ms in durations_ms)


def test_callee_gb_s_is_memory_times_rounded_duration_of_each_execution(run: Run) -> None:
    """Callee GB-s: the sum over real executions of memory x duration rounded up to 1 ms."""
    result = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB)
    assert result.executions == len(run.ran_ms) > 0
    assert result.callee_bill.usage["gb_seconds"] == pytest.approx(
        _gb_s(CALLEE_MB, run.ran_ms), rel=1e-12
    )
    assert result.callee_bill.usage["invocations"] == len(run.ran_ms)
    assert result.caller_bill is None
    assert result.total == result.callee_bill.total


def test_caller_waits_for_every_attempt_and_backoff(run: Run) -> None:
    """Caller GB-s: each call's whole duration (attempts + backoff) plus its own work."""
    result = bill_ledger(
        run.ledger, callee_memory_mb=CALLEE_MB, caller_memory_mb=CALLER_MB, caller_work_ms=2.5
    )
    waited = [r.duration_s * 1000 + 2.5 for r in run.ledger.records() if r.kind == "call"]
    assert result.calls == run.calls == len(waited)
    assert result.caller_bill is not None
    assert result.caller_bill.usage["gb_seconds"] == pytest.approx(
        _gb_s(CALLER_MB, waited), rel=1e-12
    )
    # the caller waited for every execution and every backoff sleep, nothing else
    assert run.backoff_s > 0
    assert sum(waited) - 2.5 * len(waited) == pytest.approx(
        sum(run.ran_ms) + run.backoff_s * 1000, rel=1e-9
    )
    assert result.total == pytest.approx(result.caller_bill.total + result.callee_bill.total)


def test_cache_hits_and_breaker_rejections_are_avoided_calls(run: Run) -> None:
    """Cache hits and open-breaker rejections count as avoided executions; saving > 0."""
    result = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB)
    records = run.ledger.records()
    hits = sum(1 for r in records if r.kind == "call" and r.outcome == "cache_hit")
    rejected = [r for r in records if r.kind == "attempt" and r.outcome == "rejected"]
    assert hits > 0 and rejected
    assert all(r.error_type == "resilience.errors.CircuitOpenError" for r in rejected)
    assert dict(result.avoided) == {
        "cache_hit": hits,
        "rejected": len(rejected),
        "rate_limited": 0,
        "bulkhead_full": 0,
        "fallback": 0,
    }
    # the calls that made no attempt are exactly the cache hits
    assert sum(1 for r in records if r.kind == "call" and r.attempt == 0) == hits
    assert result.calls_by_outcome["cache_hit"] == hits
    assert result.calls_by_outcome["fallback"] == run.fallbacks_seen > 0
    assert result.saved_estimate > 0
    assert result.saved_estimate == pytest.approx(
        (hits + len(rejected)) * result.callee_bill.total / len(run.ran_ms)
    )
    assert result.summary()["avoided_rejected"] == len(rejected)


def test_sync_and_async_functions_give_the_same_bill() -> None:
    """The same traffic through a plain and an ``async def`` function bills the same."""
    bills = [
        bill_ledger(_run_policy(mode).ledger, callee_memory_mb=CALLEE_MB, caller_memory_mb=512)
        for mode in ("sync", "async")
    ]
    assert bills[0].summary() == pytest.approx(bills[1].summary())


def test_same_ledger_on_aws_lambda_and_alibaba_fc(run: Run) -> None:
    """One ledger, two providers: same usage, each provider's prices and units."""
    aws = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, caller_memory_mb=CALLER_MB)
    fc = bill_ledger(
        run.ledger,
        provider="alibaba-fc3",
        callee_memory_mb=CALLEE_MB,
        caller_memory_mb=CALLER_MB,
        vcpu=0.5,
    )
    assert (aws.provider, fc.provider) == ("aws-lambda", "alibaba-fc3")
    assert fc.executions == aws.executions and dict(fc.avoided) == dict(aws.avoided)
    gb_s = _gb_s(CALLEE_MB, run.ran_ms)
    assert fc.callee_bill.usage["gb_seconds"] == pytest.approx(gb_s, rel=1e-12)
    # FC 3.0: 0.0075 CU per invocation + 1 CU per vCPU-s + 0.15 CU per GB-s, $0.00002 per CU
    cu = 0.0075 * len(run.ran_ms) + 0.5 * gb_s + 0.15 * gb_s  # 1 GB: vCPU-s = 0.5 x GB-s
    assert fc.callee_bill.usage["compute_units"] == pytest.approx(cu, rel=1e-12)
    assert fc.callee_bill.total == pytest.approx(cu * 0.00002, rel=1e-9)
    # AWS: $0.20 per million requests + $0.0000166667 per GB-s
    assert aws.callee_bill.total == pytest.approx(
        len(run.ran_ms) * 0.2e-6 + gb_s * 0.0000166667, rel=1e-9
    )
    assert fc.saved_estimate > 0 and aws.saved_estimate > 0
    table = pd.DataFrame([aws.summary(), fc.summary()]).set_index("provider")
    assert list(table.index) == ["aws-lambda", "alibaba-fc3"]


def test_frame_csv_and_parquet_bill_like_the_ledger(run: Run, tmp_path: Path) -> None:
    """``to_frame()``, and that frame read back from CSV and parquet, bill like the Ledger."""
    expected = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, caller_memory_mb=CALLER_MB)
    frame = run.ledger.to_frame()
    frame.to_csv(tmp_path / "ledger.csv", index=False)
    frame.to_parquet(tmp_path / "ledger.parquet")
    for source in (
        frame,
        pd.read_csv(tmp_path / "ledger.csv"),
        pd.read_parquet(tmp_path / "ledger.parquet"),
    ):
        got = bill_ledger(source, callee_memory_mb=CALLEE_MB, caller_memory_mb=CALLER_MB)
        assert got.summary() == pytest.approx(expected.summary())
        pd.testing.assert_frame_equal(got.lines, expected.lines)


def test_window_and_function_select_rows(run: Run) -> None:
    """``start_s``/``end_s`` bill only rows that started in the span; ``function`` one name."""
    during = bill_ledger(
        run.ledger, callee_memory_mb=CALLEE_MB, start_s=OUTAGE_S[0], end_s=OUTAGE_S[1] + 10
    )
    outside = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, start_s=OUTAGE_S[1] + 10)
    before = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, end_s=OUTAGE_S[0])
    whole = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, function="price")
    assert during.avoided["rejected"] == whole.avoided["rejected"] > 0
    assert before.avoided["rejected"] == outside.avoided["rejected"] == 0
    assert before.executions + during.executions + outside.executions == whole.executions
    assert before.calls + during.calls + outside.calls == whole.calls


def test_fallback_without_attempt_is_avoided() -> None:
    """A fallback call that made no attempt is an avoided execution, counted once."""
    ledger = Ledger()
    ledger.record(function="f", kind="call", start_s=0.0, duration_s=0.0, outcome="fallback")
    ledger.record(
        function="f", kind="attempt", start_s=1.0, duration_s=0.0, outcome="rejected", attempt=1
    )
    ledger.record(
        function="f", kind="call", start_s=1.0, duration_s=0.0, outcome="fallback", attempt=1
    )
    result = bill_ledger(ledger, callee_memory_mb=256)
    assert dict(result.avoided) == {
        "cache_hit": 0,
        "rejected": 1,
        "rate_limited": 0,
        "bulkhead_full": 0,
        "fallback": 1,
    }
    assert result.executions == 0 and result.callee_bill.total == 0.0
    assert math.isnan(result.saved_estimate)  # nothing executed to price the avoided calls


def test_nothing_avoided_saves_nothing() -> None:
    """Without cache hits, rejections or bare fallbacks the saving is exactly 0."""
    ledger = Ledger()
    ledger.record(
        function="f", kind="attempt", start_s=0.0, duration_s=0.05, outcome="ok", attempt=1
    )
    result = bill_ledger(ledger, callee_memory_mb=256)
    assert result.avoided_executions == 0 and result.saved_estimate == 0.0


def test_response_bytes_bill_egress_when_asked() -> None:
    """``response_egress=True`` bills executed attempts' response bytes as data transfer."""
    ledger = Ledger()
    for i, size in enumerate((3 * 1024**3, 2 * 1024**3, None)):
        ledger.record(
            function="f",
            kind="attempt",
            start_s=float(i),
            duration_s=0.1,
            outcome="ok",
            attempt=1,
            request_bytes=100,
            response_bytes=size,
        )
    plain = bill_ledger(ledger, callee_memory_mb=512)
    assert plain.response_bytes == 5 * 1024**3 and plain.request_bytes == 300
    assert plain.by_component()["egress"] == 0.0
    billed = bill_ledger(ledger, callee_memory_mb=512, response_egress=True)
    assert billed.callee_bill.usage["egress_gb"] == 5.0
    assert billed.by_component()["egress"] > 0
    with pytest.raises(InvalidUsage, match="egress_gb"):
        bill_ledger(ledger, provider="alibaba-fc3", callee_memory_mb=512, vcpu=0.5,
                    response_egress=True)  # fmt: skip
    with pytest.raises(InvalidUsage, match="give one"):
        bill_ledger(ledger, callee_memory_mb=512, response_egress=True, egress_gb=1)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.sampled_from(("ok", "error", "timeout", "rejected")),
            st.integers(min_value=0, max_value=20_000),
        ),
        min_size=1,
        max_size=40,
    ),
    memory_mb=st.sampled_from((128, 512, 1769, 10240)),
)
def test_callee_bill_property(rows: list[tuple[str, int]], memory_mb: int) -> None:
    """Any attempt rows: executions, GB-s and the avoided count follow the rows."""
    frame = pd.DataFrame(
        {
            "kind": ["attempt"] * len(rows),
            "start_s": [float(i) for i in range(len(rows))],
            "duration_ms": [ms + 0.25 for _, ms in rows],
            "outcome": [o for o, _ in rows],
            "attempt": [1] * len(rows),
        }
    )
    result = bill_ledger(frame, callee_memory_mb=memory_mb)
    ran = [ms + 1 for o, ms in rows if o != "rejected"]
    assert result.executions == len(ran)
    assert result.avoided["rejected"] == len(rows) - len(ran)
    assert result.callee_bill.usage["gb_seconds"] == pytest.approx(
        sum(memory_mb / 1024 * ms / 1000 for ms in ran), rel=1e-12, abs=1e-12
    )
    assert result.total >= 0


# -- bad input --------------------------------------------------------------------------


def _frame() -> pd.DataFrame:
    ledger = Ledger()
    ledger.record(function="f", kind="attempt", start_s=0.0, duration_s=0.1, outcome="ok")
    ledger.record(function="f", kind="call", start_s=0.0, duration_s=0.1, outcome="ok")
    return ledger.to_frame()


def test_frame_missing_columns_lists_them() -> None:
    """A frame without the ledger's columns is refused, naming every missing one."""
    frame = _frame().drop(columns=["kind", "attempt"])
    with pytest.raises(InvalidUsage, match=r"misses column\(s\) kind, attempt"):
        bill_ledger(frame, callee_memory_mb=512)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outcome": ["ok", "maybe"]}, "row 1 has outcome='maybe'"),
        ({"kind": ["try", "call"]}, "row 0 has kind='try'"),
        ({"duration_ms": [100.0, -1.0]}, "row 1 has duration_ms=-1.0"),
        ({"start_s": [math.nan, 0.0]}, "row 0 has start_s=nan"),
    ],
)
def test_bad_rows_are_refused(change: dict[str, list[object]], message: str) -> None:
    """An unknown kind or outcome, a negative duration or a NaN time names its row."""
    frame = _frame().assign(**change)
    with pytest.raises(InvalidUsage, match=message):
        bill_ledger(frame, callee_memory_mb=512)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"callee_memory_mb": 20_000}, r"callee_memory_mb=20000: aws-lambda allows 128 to"),
        (
            {"callee_memory_mb": 512, "caller_memory_mb": 64},
            r"caller_memory_mb=64: aws-lambda allows 128 to",
        ),
        (
            {"callee_memory_mb": 512, "provider": "alibaba-fc3", "vcpu": 2},
            r"callee_memory_mb=512 with vcpu=2",
        ),
        ({"callee_memory_mb": 512, "provider": "alibaba-fc3"}, r"vcpu is required"),
        ({"callee_memory_mb": 512, "arch": "sparc"}, r"arch"),
        ({"callee_memory_mb": 512, "function": "g"}, r"function='g': no row .* 'f'"),
        ({"callee_memory_mb": 512, "start_s": 5, "end_s": 5}, r"start must be before end"),
        ({"callee_memory_mb": 512, "end_s": math.inf}, r"end_s=inf"),
        ({"callee_memory_mb": 512, "caller_work_ms": 3}, r"without caller_memory_mb"),
        (
            {"callee_memory_mb": 512, "caller_memory_mb": 512, "caller_work_ms": -3},
            r"caller_work_ms=-3",
        ),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], message: str) -> None:
    """Memory out of range, a missing vCPU, an unknown function: the field is named."""
    with pytest.raises(InvalidUsage, match=message):
        bill_ledger(_frame(), **kwargs)  # type: ignore[arg-type]


def test_unknown_provider_and_bad_source() -> None:
    """An unknown provider raises UnknownProvider; a source that is no ledger, InvalidUsage."""
    with pytest.raises(costmodel.UnknownProvider):
        bill_ledger(_frame(), provider="aws-lamda", callee_memory_mb=512)
    with pytest.raises(InvalidUsage, match=r"must be a resilience\.Ledger"):
        bill_ledger([("f", "call")], callee_memory_mb=512)  # type: ignore[arg-type]


def test_a_bounded_ledger_that_dropped_rows_is_refused() -> None:
    """A Ledger(max_records=N) that dropped rows would bill too little: refused, saying so."""
    ledger = Ledger(max_records=1)
    for i in range(3):
        ledger.record(function="f", kind="call", start_s=float(i), duration_s=0.1, outcome="ok")
    with pytest.raises(InvalidUsage, match="holds 1 of the 3 rows"):
        bill_ledger(ledger, callee_memory_mb=512)
    assert bill_ledger(ledger.to_frame(), callee_memory_mb=512, caller_memory_mb=512).calls == 1


def test_exported() -> None:
    """bill_ledger and LedgerBill are public."""
    assert {"bill_ledger", "LedgerBill"} <= set(costmodel.__all__)
    assert costmodel.bill_ledger is bill_ledger and costmodel.LedgerBill is LedgerBill


def test_rate_limited_attempts_are_avoided_executions() -> None:
    """Calls our rate limiter refused never reached the callee: avoided, not billed."""
    from resilience import RateLimited, rate_limit
    from resilience.testing import FakeClock

    ledger = Ledger()
    clock = FakeClock()

    @rate_limit(1, per_s=60, clock=clock, ledger=ledger)
    def quote() -> int:
        clock.advance(0.1)
        return 1

    quote()
    for _ in range(3):
        with pytest.raises(RateLimited):
            quote()
    result = bill_ledger(ledger, callee_memory_mb=1024)
    assert result.executions == 1 and result.avoided["rate_limited"] == 3
    assert result.summary()["avoided_rate_limited"] == 3
    assert result.callee_bill.usage["invocations"] == 1


def test_bill_ledger_in_a_region(run: Run) -> None:
    """region= prices the ledger in that region (Singapore's Lambda prices equal Virginia's);
    an unknown region lists the known ones before anything is billed."""
    here = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB)
    there = bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, region="ap-southeast-1")
    assert there.bill.total == pytest.approx(here.bill.total)
    assert {sheet.region for sheet, _ in there.bill.accounts} == {"ap-southeast-1"}
    with pytest.raises(InvalidUsage, match="not verified, left out: eu-west-1"):
        bill_ledger(run.ledger, callee_memory_mb=CALLEE_MB, region="eu-west-1")


def test_warmup_pings_are_billed_as_invocations() -> None:
    """keep_warm's probe rows are executions on the callee's bill, counted as probes."""
    from resilience import keep_warm

    clock = FakeClock()
    ledger = Ledger()

    def target(payload: object) -> None:
        clock.advance(0.0121)  # a ping that holds its instance for ~12 ms

    warmer = keep_warm(target, concurrency=1, ledger=ledger, clock=clock)
    for _ in range(12):
        warmer.run_once()
    result = bill_ledger(ledger, callee_memory_mb=128)
    assert (result.executions, result.probes, result.calls) == (12, 12, 0)
    assert sum(result.attempts_by_outcome.values()) == 0  # probes are not attempts
    # 12 pings x 13 ms (12.1 rounded up to 1 ms) x 0.125 GB
    assert result.callee_bill.usage["gb_seconds"] == pytest.approx(12 * 0.013 * 0.125)
    frame = ledger.to_frame()
    assert bill_ledger(frame, callee_memory_mb=128).probes == 12  # a frame is accepted too
