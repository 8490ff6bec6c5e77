"""Telemetry: what it costs on the call path, off and on.

1. **Disabled vs the base commit** (d04ac47, before telemetry existed): the same Policies
   built from this tree's ``resilience`` and from a ``git archive`` of the base commit
   imported in this process as ``resilience_base`` (its imports are relative), sync and
   ``async def``, without and with a Ledger. First the **Python frames per call**, counted
   with ``sys.setprofile``, and the **bytecode instructions per call**, counted with
   ``sys.settrace`` opcode events (both exact whatever the machine's load; target: no
   more than the base's); then the times per call, in alternating rounds (each side's best
   round), so both see the same machine load, the same interpreter and the same pybreaker and
   tenacity: around an empty function (the bare cost of the path) and around a callee
   doing a little real work (a JSON answer of about 40 values, about 10 us on an idle
   core). Target <= 1.02x. An ``async def`` Policy is driven by ``coroutine.send(None)``
   (nothing on its path suspends), so no event loop's cost is in the figure.
2. **Metrics on vs the same instruments by hand**: ``telemetry.enable(traces=False)`` on
   an SDK ``MeterProvider``, against the same parts composed by hand with a call wrapper
   and an attempt wrapper recording the same two histograms (same names, units,
   attributes) through the OpenTelemetry API on their own provider. Target <= 1.2x.
3. **Traces**: the cost per call of the spans (one call span, one attempt span) on an SDK
   ``TracerProvider`` with a ``SimpleSpanProcessor`` into an in-memory exporter, as
   microseconds per call over the metrics-only figure (a figure, no target).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import resilience
from benchmarks.harness import Row, per_call_seconds
from benchmarks.harness import base_package as harness_base
from resilience import CircuitBreaker, Policy, fallback, retry, telemetry

TITLE = "Telemetry"

BASE_COMMIT = "d04ac47"
ROUNDS = 7
NUMBER = 40_000

SHAPES: dict[str, dict[str, Any]] = {
    "retry + breaker + fallback": {"retry": 3, "breaker": True, "fallback": True},
    "breaker alone": {"breaker": True},
    "retry alone": {"retry": 3},
}


def _policies(
    package: Any, work: Callable[..., Any], *, ledger: bool = False
) -> dict[str, Callable[[], object]]:
    """The SHAPES around ``work``, from ``package`` (this tree's resilience or the base's)."""
    built = {}
    for name, shape in SHAPES.items():
        parts: dict[str, Any] = {}
        if "retry" in shape:
            parts["retry"] = shape["retry"]
        if shape.get("breaker"):
            parts["breaker"] = package.CircuitBreaker()
        if shape.get("fallback"):
            parts["fallback"] = package.fallback(0)
        if ledger:
            parts["ledger"] = package.Ledger()
        built[name] = package.Policy(name="q", **parts)(work)
    return built


def _driven(fn: Callable[[], Any]) -> Callable[[], object]:
    """A plain callable running one call of the ``async def`` Policy ``fn`` to its end (its
    path never suspends, so ``send(None)`` finishes it: no event loop in the figure)."""

    def drive() -> object:
        coroutine = fn()
        try:
            coroutine.send(None)
        except StopIteration as done:
            return done.value
        raise AssertionError("the coroutine suspended")

    return drive


def _variants(package: Any, work: Callable[..., Any], awork: Callable[..., Any]) -> dict[str, Any]:
    """Every SHAPE sync and async, without and with a Ledger: label -> plain callable."""
    found: dict[str, Callable[[], object]] = {}
    for ledger in (False, True):
        suffix = " + ledger" if ledger else ""
        for name, fn in _policies(package, work, ledger=ledger).items():
            found[f"{name}{suffix}"] = fn
        for name, fn in _policies(package, awork, ledger=ledger).items():
            found[f"{name}{suffix}, async"] = _driven(fn)
    return found


def _quote() -> str:
    """A callee doing a little real work (about 10 us on an idle core): JSON to encode."""
    return json.dumps({"symbol": "ABC", "prices": [i * 0.5 for i in range(40)]})


def _python_calls(fn: Callable[[], object]) -> int:
    """Python-level function calls (frames) one call of ``fn`` makes: a count, not a time,
    so it is exact whatever the machine's load."""
    seen = [0]

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            seen[0] += 1

    fn()  # warm: first-call work (caches, lazy imports) is not the call path
    sys.setprofile(profile)
    try:
        fn()
    finally:
        sys.setprofile(None)
    return seen[0] - 1  # the call of fn itself


def _instructions(fn: Callable[[], object]) -> int:
    """Bytecode instructions one call of ``fn`` executes in Python frames (``sys.settrace``
    with opcode events): a count, exact whatever the load, finer than frames: a switch
    read is three instructions, a call of a C function about five."""
    seen = [0]

    def trace(frame: Any, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
        if event == "opcode":
            seen[0] += 1
        return trace

    fn()  # warm, as in _python_calls
    sys.settrace(trace)
    try:
        fn()
    finally:
        sys.settrace(None)
    return seen[0]


def _disabled_vs_base() -> list[Row]:
    telemetry.disable()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base_package = harness_base(Path(tmp), "resilience", BASE_COMMIT)
        base = _variants(base_package, _work, _awork)
        ours = _variants(resilience, _work, _awork)
        for name in ours:
            rows.append(
                Row(
                    f"off: Policy({name}), frames per call, vs {BASE_COMMIT}",
                    _python_calls(ours[name]),
                    _python_calls(base[name]),
                    "frames",
                    "<= base",
                )
            )
        for name in ours:
            rows.append(
                Row(
                    f"off: Policy({name}), bytecode instructions per call, vs {BASE_COMMIT}",
                    _instructions(ours[name]),
                    _instructions(base[name]),
                    "instructions",
                    "<= base",
                )
            )
        for name in ours:
            ours_s, base_s = _alternating(ours[name], base[name], rounds=3 * ROUNDS)
            rows.append(
                Row(
                    f"off: Policy({name}), empty function, vs {BASE_COMMIT}",
                    ours_s * 1e6,
                    base_s * 1e6,
                    "us/call",
                    "<= 1.02x",
                )
            )
        base_json = _policies(base_package, _quote)
        ours_json = _policies(resilience, _quote)
        for name in SHAPES:
            ours_s, base_s = _alternating(ours_json[name], base_json[name], rounds=3 * ROUNDS)
            rows.append(
                Row(
                    f"off: Policy({name}), a JSON-encoding function, vs {BASE_COMMIT}",
                    ours_s * 1e6,
                    base_s * 1e6,
                    "us/call",
                    "<= 1.02x",
                )
            )
    return rows


def _work(x: int = 0) -> int:
    return x


async def _awork(x: int = 0) -> int:
    return x


def _by_hand(provider: MeterProvider) -> Callable[[], object]:
    """The same parts, with the same two histograms recorded by hand via the API."""
    meter = provider.get_meter("by-hand")
    calls = meter.create_histogram("callwise.call.duration", unit="s")
    attempts = meter.create_histogram("callwise.attempt.duration", unit="s")
    base = {"callwise.policy": "q", "callwise.function": "_work", "callwise.outcome": "ok"}
    monotonic = time.monotonic
    state = {"attempt": 0}

    breaker_work = CircuitBreaker()(_work)

    def attempt_layer(x: int = 0) -> int:
        state["attempt"] += 1
        start = monotonic()
        try:
            return breaker_work(x)
        finally:
            attempts.record(monotonic() - start, {**base, "callwise.attempt": state["attempt"]})

    guarded = fallback(0)(retry(attempts=3)(attempt_layer))  # the Policy's order

    def call_layer() -> int:
        state["attempt"] = 0
        start = monotonic()
        try:
            return guarded()
        finally:
            calls.record(monotonic() - start, {**base, "callwise.attempt": state["attempt"]})

    return call_layer


def _alternating(
    ours: Callable[[], object], anchor: Callable[[], Any], *, rounds: int = ROUNDS
) -> tuple[float, float]:
    """Best seconds per call of each, in alternating rounds (the same load for both)."""
    best_ours = best_anchor = float("inf")
    for _ in range(rounds):
        best_ours = min(best_ours, per_call_seconds(ours, number=NUMBER // 4, repeat=1))
        best_anchor = min(best_anchor, per_call_seconds(anchor, number=NUMBER // 4, repeat=1))
    return best_ours, best_anchor


def _metrics_and_traces() -> list[Row]:
    ours = Policy(name="q", retry=3, breaker=CircuitBreaker(), fallback=fallback(0))(_work)
    hand = _by_hand(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    metrics_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    try:
        telemetry.enable(metrics_provider, traces=False)
        frames = (_python_calls(ours), _python_calls(hand))
        metrics_s, hand_s = _alternating(ours, hand)
        telemetry.enable(metrics_provider, tracer_provider)

        def traced() -> object:
            return ours()

        traced_s = min(
            per_call_seconds(traced, number=NUMBER // 8, repeat=1)
            for _ in range(ROUNDS)
            if not spans.clear()
        )
    finally:
        telemetry.disable()
    return [
        Row(
            "metrics on: Python frames per call (SDK's included) vs by hand",
            frames[0],
            frames[1],
            "frames",
            "a figure",
        ),
        Row(
            "metrics on: Policy(retry + breaker + fallback) vs the same by hand",
            metrics_s * 1e6,
            hand_s * 1e6,
            "us/call",
            "<= 1.2x",
        ),
        Row(
            "traces on (2 spans/call, SDK, in-memory exporter): extra us/call",
            (traced_s - metrics_s) * 1e6,
            metrics_s * 1e6,
            "us/call over metrics only",
            "a figure",
        ),
    ]


def run() -> list[Row]:
    return [*_disabled_vs_base(), *_metrics_and_traces()]
