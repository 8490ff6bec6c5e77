"""Warm-up probes and alerts (resilience/keep_warm.py), in virtual time."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import Any

import pybreaker
import pytest
from support.http_server import Reply, running_server
from support.modes import MODES, make_without_yield
from support.redis_server import RedisServer

from resilience import (
    CircuitBreaker,
    CircuitOpenError,
    InvalidUsage,
    Ledger,
    _events,
    is_warmup,
    keep_warm,
    warmup_aware,
)
from resilience.invokers import HttpFunction
from resilience.keep_warm import PLUGIN_SOURCE, WARMUP_SOURCE
from resilience.testing import FakeClock


class Target:
    """A function that answers or raises, as told; counts the payloads it got."""

    def __init__(self) -> None:
        self.down = False
        self.payloads: list[Any] = []
        self.lock = threading.Lock()
        self.pinged = threading.Event()

    def __call__(self, payload: Any) -> str:
        with self.lock:
            self.payloads.append(payload)
        self.pinged.set()
        if self.down:
            raise ConnectionError("function unreachable")
        return "ok"


def target_in(mode: str, target: Target) -> Any:
    return make_without_yield(mode, target)


def run_round(mode: str, warmer: Any) -> bool:
    if mode == "sync":
        return bool(warmer.run_once())
    return bool(asyncio.run(warmer.arun_once()))


@pytest.fixture
def events() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    seen: list[tuple[str, dict[str, Any]]] = []

    def listener(event: str, attributes: Mapping[str, Any]) -> None:
        seen.append((event, dict(attributes)))

    _events.subscribe(listener)
    yield seen
    _events.unsubscribe(listener)


@pytest.mark.parametrize("mode", MODES)
def test_twelve_rounds_at_concurrency_3_make_36_pings_all_in_the_ledger(
    mode: str, clock: FakeClock
) -> None:
    """12 rounds x 3 parallel pings = 36 pings, each one a probe row of the Ledger."""
    target, ledger = Target(), Ledger()
    warmer = keep_warm(
        target_in(mode, target), concurrency=3, ledger=ledger, clock=clock, name="api"
    )
    for _ in range(12):
        assert run_round(mode, warmer)
        clock.advance(300)
    warmer.stop()
    assert len(target.payloads) == 36
    assert target.payloads[0] == {"source": WARMUP_SOURCE, "hold_ms": 0.0}
    frame = ledger.to_frame()
    assert len(frame) == 36
    assert set(frame["kind"]) == {"probe"} and set(frame["outcome"]) == {"ok"}
    assert set(frame["function"]) == {"api"}
    assert sorted(frame["attempt"].unique()) == [1, 2, 3]
    assert frame["start_s"].nunique() == 12  # one start per round, 300 s apart
    stats = warmer.statistics
    assert (stats.rounds, stats.pings, stats.failed_pings) == (12, 36, 0)


def test_parallel_pings_reach_the_target_at_the_same_time() -> None:
    """The pings of a round run in parallel: three pings wait for each other."""
    barrier = threading.Barrier(3, timeout=10)

    def target(payload: object) -> None:
        barrier.wait()  # breaks (and the ping fails) unless all three arrive together

    warmer = keep_warm(target, concurrency=3)
    assert warmer.run_once()
    assert warmer.statistics.failed_pings == 0
    warmer.stop()


@pytest.mark.parametrize("mode", MODES)
def test_two_failed_rounds_alert_once_and_recovery_is_reported_once(
    mode: str,
    clock: FakeClock,
    events: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """alert_after=2: the 2nd failed round alerts, the 3rd does not, a good round recovers."""
    target, ledger = Target(), Ledger()
    unreachable: list[tuple[str, BaseException]] = []
    recovered: list[str] = []
    warmer = keep_warm(
        target_in(mode, target),
        concurrency=2,
        alert_after=2,
        on_unreachable=lambda name, error: unreachable.append((name, error)),
        on_recovered=recovered.append,
        clock=clock,
        ledger=ledger,
        name="orders",
    )
    caplog.set_level(logging.INFO, logger="resilience.keep_warm")
    assert run_round(mode, warmer)
    target.down = True
    assert not run_round(mode, warmer)
    assert unreachable == []  # one failed round is not an outage yet
    assert not run_round(mode, warmer)
    assert len(unreachable) == 1
    name, error = unreachable[0]
    assert name == "orders" and isinstance(error, ConnectionError)
    assert not run_round(mode, warmer)
    assert len(unreachable) == 1  # a third failed round does not alert again
    assert recovered == []
    target.down = False
    assert run_round(mode, warmer)
    assert run_round(mode, warmer)
    assert recovered == ["orders"] and len(unreachable) == 1
    stats = warmer.statistics
    assert (stats.alerts, stats.recoveries, stats.failed_rounds) == (1, 1, 3)
    assert not stats.unreachable and stats.consecutive_failed_rounds == 0
    assert [e for e, _ in events] == ["probe.unreachable", "probe.recovered"]
    assert events[0][1] == {
        "callwise.policy": "orders",
        "error.type": "builtins.ConnectionError",
        "rounds": 2,
    }
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()
    outcomes = ledger.to_frame()["outcome"].value_counts().to_dict()
    assert outcomes == {"ok": 6, "error": 6}


def test_a_round_with_some_pings_answered_is_a_good_round(clock: FakeClock) -> None:
    """A round fails only when every ping failed; partial failures are counted."""
    calls = iter(range(100))

    def flaky(payload: object) -> None:
        if next(calls) % 3 == 0:
            raise TimeoutError("one instance timed out")

    ledger = Ledger()
    warmer = keep_warm(flaky, concurrency=3, alert_after=1, clock=clock, ledger=ledger)
    for _ in range(4):
        assert warmer.run_once()
    warmer.stop()
    stats = warmer.statistics
    assert (stats.failed_rounds, stats.failed_pings, stats.alerts) == (0, 4, 0)
    assert ledger.to_frame()["outcome"].value_counts()["timeout"] == 4


def test_callbacks_that_raise_are_logged_and_the_warmer_keeps_going(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in on_unreachable or on_recovered is logged, never raised."""
    target = Target()

    def broken(*args: object) -> None:
        raise RuntimeError("pager down")

    warmer = keep_warm(
        target, alert_after=1, on_unreachable=broken, on_recovered=broken, clock=clock
    )
    target.down = True
    with caplog.at_level(logging.ERROR, logger="resilience.keep_warm"):
        assert not warmer.run_once()
        target.down = False
        assert warmer.run_once()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        f"warmer {warmer.name!r}: on_unreachable raised",
        f"warmer {warmer.name!r}: on_recovered raised",
    ]
    assert warmer.statistics.recoveries == 1


def test_the_background_thread_pings_on_the_clock_and_stops_cleanly(clock: FakeClock) -> None:
    """start() pings at once, again when the clock passes every_s; stop() leaves no thread."""
    target, ledger = Target(), Ledger()
    before = set(threading.enumerate())
    warmer = keep_warm(target, every_s=60, concurrency=2, clock=clock, ledger=ledger)
    with warmer:
        assert warmer.running
        for expected in (2, 4, 6):
            while len(target.payloads) < expected:  # a blocking wait, not a sleep
                assert target.pinged.wait(10), "the warmer did not ping"
                target.pinged.clear()
            clock.advance(60)
        with pytest.raises(InvalidUsage, match="already running"):
            warmer.start()
    assert not warmer.running
    assert set(threading.enumerate()) <= before  # no thread of ours left (others may end)
    assert warmer.statistics.pings == len(ledger) >= 6


def test_the_asyncio_task_sleeps_in_virtual_time_and_stops_cleanly() -> None:
    """astart() runs rounds in a task sleeping on the clock; astop() leaves no task."""
    clock = FakeClock()
    ledger = Ledger()

    async def target(payload: object) -> None:
        await asyncio.sleep(0)

    async def main() -> None:
        warmer = keep_warm(target, every_s=300, concurrency=3, clock=clock, ledger=ledger)
        async with warmer:
            while warmer.statistics.rounds < 12:
                await asyncio.sleep(0)
        assert not warmer.running
        assert asyncio.all_tasks() == {asyncio.current_task()}
        assert warmer.statistics.pings == len(ledger) == 3 * warmer.statistics.rounds

    asyncio.run(main())
    assert clock.monotonic() >= 300 * 11


def test_an_unreachable_target_forces_the_breaker_open_and_recovery_closes_it(
    clock: FakeClock,
) -> None:
    """Callers fail fast while the warmer sees the target down, and flow again after."""
    target = Target()
    breaker = CircuitBreaker(name="orders", reset_timeout_s=30, clock=clock)
    guarded = breaker(lambda: "served")
    warmer = keep_warm(target, alert_after=2, breaker=breaker, clock=clock)
    target.down = True
    warmer.run_once()
    assert breaker.current_state == "closed"
    warmer.run_once()
    assert breaker.current_state == "open"
    with pytest.raises(CircuitOpenError):
        guarded()
    clock.advance(300)  # past reset_timeout_s: the next failed round opens it again
    warmer.run_once()
    assert breaker.current_state == "open"
    target.down = False
    warmer.run_once()
    assert breaker.current_state == "closed"
    assert guarded() == "served"


@pytest.mark.redis
def test_with_shared_redis_storage_the_open_breaker_reaches_every_process(
    redis_server: RedisServer, clock: FakeClock
) -> None:
    """Two breakers sharing Redis: the warmer opens one, the other rejects too."""

    def shared() -> CircuitBreaker:
        storage = pybreaker.CircuitRedisStorage(
            pybreaker.STATE_CLOSED, redis_server.client(), namespace="orders"
        )
        return CircuitBreaker(name="orders", storage=storage, clock=clock)

    here, elsewhere = shared(), shared()
    target = Target()
    warmer = keep_warm(target, alert_after=1, breaker=here, clock=clock)
    target.down = True
    warmer.run_once()
    assert redis_server.client().get("orders:pybreaker:state") == b"open"
    with pytest.raises(CircuitOpenError):
        elsewhere.call(lambda: "served")
    target.down = False
    warmer.run_once()
    assert redis_server.client().get("orders:pybreaker:state") == b"closed"
    assert elsewhere.call(lambda: "served") == "served"


def test_an_http_trigger_on_127_0_0_1_is_pinged_through_the_http_invoker() -> None:
    """A real server gets the warm-up payload; a 500 round counts as a failed round."""
    ledger = Ledger()
    with running_server() as server, HttpFunction(server.url("/warm")) as fn:
        warmer = keep_warm(fn, concurrency=2, hold_ms=20, alert_after=1, ledger=ledger)
        assert warmer.run_once()
        assert [r.json() for r in server.received] == [
            {"source": WARMUP_SOURCE, "hold_ms": 20.0}
        ] * 2
        server.script(Reply(500, "down"), Reply(500, "down"))
        assert not warmer.run_once()
        warmer.stop()
    frame = ledger.to_frame()
    assert list(frame["outcome"]) == ["ok", "ok", "error", "error"]
    assert set(frame["error_type"].dropna()) == {"resilience.errors.HttpStatusError"}
    assert (frame["request_bytes"] > 0).all()
    assert warmer.statistics.alerts == 1


@pytest.mark.parametrize("mode", MODES)
def test_a_warmup_aware_handler_holds_then_returns_early(mode: str, clock: FakeClock) -> None:
    """On a ping the handler holds for hold_ms on the clock and skips its body."""
    ran: list[object] = []
    handler = warmup_aware(clock=clock)(make_without_yield(mode, lambda e, c: ran.append(e)))

    def call(event: object) -> object:
        result = handler(event, None)
        return asyncio.run(result) if mode == "async" else result

    assert call({"source": WARMUP_SOURCE, "hold_ms": 250}) == {"warmup": True}
    assert call({"source": PLUGIN_SOURCE}) == {"warmup": True}
    assert clock.sleeps == [0.25] and ran == []
    call({"order": 7})
    assert ran == [{"order": 7}]


def test_is_warmup_recognises_only_ping_payloads() -> None:
    """Both sources are pings; other events, and non-mappings, are not."""
    assert is_warmup({"source": WARMUP_SOURCE})
    assert is_warmup({"source": PLUGIN_SOURCE, "concurrency": 3})
    assert not is_warmup({"source": "aws.events"})
    assert not is_warmup("serverless-plugin-warmup")
    assert not is_warmup(None)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"every_s": 0}, "every_s=0: must be a finite number of seconds > 0"),
        ({"every_s": -5}, "every_s=-5"),
        ({"every_s": float("inf")}, "every_s=inf"),
        ({"concurrency": 0}, "concurrency=0: must be an integer >= 1"),
        ({"concurrency": 2.5}, "concurrency=2.5"),
        ({"alert_after": 0}, "alert_after=0: must be an integer >= 1"),
        ({"hold_ms": -1}, "hold_ms=-1: must be a finite number of ms >= 0"),
        ({"hold_ms": 5, "payload": {}}, "hold_ms=5: applies to the default payload only"),
        ({"on_unreachable": "page me"}, "on_unreachable='page me': must be a callable"),
        ({"breaker": object()}, "breaker=<object object"),
        ({"clock": 3}, "clock=3"),
        ({"ledger": []}, "ledger=\\[\\]"),
        ({"name": " "}, "name=' '"),
    ],
)
def test_bad_input_names_the_parameter(options: dict[str, Any], message: str) -> None:
    """Each bad argument fails at construction with an InvalidUsage naming it."""
    with pytest.raises(InvalidUsage, match=message):
        keep_warm(lambda payload: None, **options)


def test_a_target_that_is_not_callable_is_refused() -> None:
    with pytest.raises(InvalidUsage, match="target='https://x': must be a callable"):
        keep_warm("https://x")  # type: ignore[arg-type]


def test_an_async_target_in_the_background_thread_and_a_sync_one_in_a_task() -> None:
    """The thread runs an async target's rounds on a loop of its own; a task runs a sync
    target's rounds in a worker thread."""
    clock, ledger = FakeClock(), Ledger()
    pinged = threading.Event()

    async def async_target(payload: object) -> None:
        pinged.set()

    before = set(threading.enumerate())
    with keep_warm(async_target, concurrency=2, clock=clock, ledger=ledger):
        assert pinged.wait(10)
    assert set(threading.enumerate()) <= before  # no thread of ours left (others may end)
    assert len(ledger) % 2 == 0 and len(ledger) >= 2

    target = Target()

    async def main() -> int:
        async with keep_warm(target, every_s=60, clock=clock) as warmer:
            while warmer.statistics.rounds < 3:
                await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return warmer.statistics.pings

    assert asyncio.run(main()) >= 3
    assert len(target.payloads) >= 3


def test_run_once_of_an_async_target_inside_a_running_loop_says_what_to_use() -> None:
    async def target(payload: object) -> None:
        return None

    async def main() -> None:
        with pytest.raises(InvalidUsage, match=r"await warmer\.arun_once\(\)"):
            keep_warm(target).run_once()

    asyncio.run(main())


def test_a_lambda_function_is_pinged_through_the_lambda_invoker() -> None:
    """LambdaFunction on a real boto3 client whose signed requests go to a local stand-in
    for the Invoke API: the warm-up payload is the body on the wire, the probe rows carry
    its size and the answer's, and a FunctionError fails the ping (and alerts)."""
    from support.lambda_server import local_client, running_lambda

    from resilience.invokers import LambdaFunction

    payload = b'{"source":"callwise-warmup","hold_ms":0.0}'
    answer = b'{"echo": {"source": "callwise-warmup", "hold_ms": 0.0}}'  # the emulator's echo
    alerts: list[tuple[str, BaseException]] = []
    ledger = Ledger()
    with running_lambda() as server:
        client = local_client(server)
        good = keep_warm(LambdaFunction("orders", client=client), concurrency=2, ledger=ledger)
        assert good.run_once()
        broken = keep_warm(
            LambdaFunction("broken", client=client),
            ledger=ledger,
            alert_after=1,
            on_unreachable=lambda name, error: alerts.append((name, error)),
        )
        assert not broken.run_once()
        received = list(server.received)
    assert [r.path for r in received] == [
        "/2015-03-31/functions/orders/invocations",
        "/2015-03-31/functions/orders/invocations",
        "/2015-03-31/functions/broken/invocations",
    ]
    assert [r.body for r in received] == [payload] * 3
    assert {r.headers["x-amz-invocation-type"] for r in received} == {"RequestResponse"}
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256") for r in received)
    frame = ledger.to_frame()
    assert list(frame["kind"]) == ["probe"] * 3
    assert list(frame["function"]) == ["lambda:orders"] * 2 + ["lambda:broken"]
    assert list(frame["outcome"]) == ["ok", "ok", "error"]
    assert frame["error_type"].iloc[2] == "resilience.errors.FunctionError"
    assert list(frame["request_bytes"]) == [len(payload)] * 3
    error_body = b'{"errorMessage": "boom", "errorType": "RuntimeError"}'
    assert list(frame["response_bytes"]) == [len(answer)] * 2 + [len(error_body)]
    [(name, error)] = alerts
    assert name == "lambda:broken" and "boom" in str(error)
