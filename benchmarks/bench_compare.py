"""``costmodel.compare`` (vectorized Monte Carlo) vs a per-sample Python loop, and a sweep.

The anchor is a plain Python interpreter of the same model (the same attempt, retry,
hand-off, fan-out, workflow and timeout rules as ``costmodel.architectures.compositions``), run one
request at a time with ``random.Random``, then priced with the catalog's first-tier
unit prices (rounded up to 1 ms per invocation, like Lambda). It runs the four
architectures of ``examples/video_pipeline.toml``. The loop is timed on 10,000
requests per architecture and scaled by 10 to 100,000 (the vectorized run's size);
its totals are checked to agree with ``compare`` within 2% (different random draws).

The sweep rows report seconds for 10,000 configurations each: 10,000 memory sizes of one
function (Power Tuning's question), and the four video-pipeline architectures x 2,500
monthly volumes (each configuration prices ~13 bills through ``estimate``).

The ``estimate`` row times one Lambda bill (1,000 duration samples) against the same call
plus reading ``bill.lines``: the pandas frame every bill built before it became lazy.
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.harness import Row, per_call_seconds, wall_seconds
from costmodel import (
    Bill,
    CpuBound,
    Function,
    compare,
    estimate,
    load_architectures,
    price_sheet,
    sweep,
)
from costmodel.architectures.compositions import (
    INIT_BILLED,
    LATENCY_ASSUMPTIONS_MS,
    AsyncCall,
    AsyncChain,
    FanOut,
    Monolith,
    SyncCall,
    SyncChain,
    TaskCall,
    Workflow,
)
from costmodel.architectures.distributions import Empirical, Fixed, LogNormal

TITLE = "Compare (vectorized Monte Carlo vs a per-sample Python loop) and sweeps"
SAMPLES = 100_000
LOOP_SAMPLES = 10_000
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "video_pipeline.toml"
INF = math.inf

Result = tuple[float, float, bool, bool]  # response ms, done ms, ok, complete
Runner = Callable[[float], Result]


class Loop:
    """One request at a time: the model of costmodel.architectures.compositions, scalar."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.calls: defaultdict[str, list[tuple[float, float, Function]]] = defaultdict(list)
        self.meters: Counter[str] = Counter()
        self.egress_kb = 0.0

    def draw(self, dist: object) -> float:
        if isinstance(dist, Fixed):
            return dist.duration_ms
        if isinstance(dist, LogNormal):
            return self.r.lognormvariate(dist.mu, dist.sigma)
        assert isinstance(dist, Empirical)
        return float(self.r.choice(dist.samples_ms))

    def attempt(self, f: Function | Monolith) -> tuple[float, bool]:
        if isinstance(f, Monolith):
            total, alive, hung = 0.0, True, False
            for part in f.parts:
                run, ok = self.attempt(part)
                if part.failure == "timeout" and alive and not ok:
                    hung = True
                if alive:
                    total += run
                alive = alive and ok
            return (f.function.timeout_s * 1000 if hung else total), alive
        fails = self.r.random() < f.error_rate
        run = self.draw(f.duration)
        if fails and f.failure == "timeout":
            run = f.timeout_s * 1000
        return run, not fails

    def function(self, fn: Function | Monolith, then: Runner | None, sync: bool) -> Result:
        billed_fn = fn if isinstance(fn, Function) else fn.function
        limit = billed_fn.timeout_s * 1000
        run, ok = self.attempt(fn)
        init = (
            billed_fn.init_duration_ms if self.r.random() < billed_fn.cold_start_probability else 0
        )
        wait = tail = 0.0
        rest_ok = True
        if then is not None and ok:
            response, done, sub_ok, sub_complete = then(limit - run if sync else INF)
            wait, tail, rest_ok = response, done, sub_ok and sub_complete
            ok = ok and (sub_ok or not sync)
        billed = run + wait
        ok = ok and billed <= limit
        billed = min(billed, limit)
        self.calls[billed_fn.name].append((billed, init, billed_fn))
        if ok:
            self.egress_kb += billed_fn.egress_kb
        return init + billed, init + max(billed, run + tail), ok, ok and rest_ok

    def invoke(self, edge: object, run: Runner, budget: float) -> Result:
        if edge is None:
            return run(INF)
        if isinstance(edge, SyncCall):
            if self.r.random() < edge.cache_hit_ratio:
                return 0.0, 0.0, True, True
            if self.r.random() < edge.breaker_open_share:
                return 0.0, 0.0, False, False
            response = done = 0.0
            ok = complete = True
            for attempt in range(edge.retries + 1):
                if response >= budget:
                    break
                r, d, ok, c = run(INF)
                if edge.via == "gateway":
                    self.meters["gateway"] += 1
                waited = r + edge.overhead
                if edge.timeout_ms is not None:
                    ok = ok and waited <= edge.timeout_ms
                    waited = min(waited, edge.timeout_ms)
                done = max(done, response + edge.overhead + d)
                response += waited
                complete = ok and c
                if ok:
                    break
                if attempt < edge.retries:
                    response += edge.backoff_ms * edge.backoff_multiplier**attempt
            return response, max(done, response), ok, complete
        if isinstance(edge, TaskCall):
            response = done = 0.0
            ok = complete = True
            for attempt in range(edge.retries + 1):
                r, d, ok, c = run(INF)
                self.meters["transitions"] += 1
                start = response + edge.transition
                done, response = max(done, start + d), start + r
                complete = ok and c
                if ok:
                    break
                if attempt < edge.retries:
                    response += edge.retry_interval_ms * edge.backoff_rate**attempt
            return response, max(done, response), ok, complete
        assert isinstance(edge, AsyncCall)
        from costmodel.architectures.compositions import ASYNC_DEFAULTS

        retries, delay, multiplier = ASYNC_DEFAULTS[edge.via]
        retries = retries if edge.retries is None else edge.retries
        delay = delay if edge.retry_delay_ms is None else edge.retry_delay_ms
        deliver = (
            LATENCY_ASSUMPTIONS_MS[f"deliver_{edge.via}"]
            if edge.delivery_ms is None
            else edge.delivery_ms
        )
        elapsed, done, ok, complete = deliver, 0.0, False, False
        for attempt in range(retries + 1):
            r, d, ok, c = run(INF)
            if edge.via == "storage_trigger":
                self.meters["get"] += 1
            done = elapsed + d
            elapsed += r
            complete = ok and c
            if ok:
                break
            if attempt < retries:
                elapsed += delay * multiplier**attempt
        if not ok and edge.on_failure is not None:
            _, d, _, _ = self.function(edge.on_failure, None, True)
            done = elapsed + d
        return 0.0, done, True, complete

    def node(self, node: object, edge: object, budget: float) -> Result:
        if isinstance(node, Function):
            return self.invoke(edge, lambda b: self.function(node, None, True), budget)
        if isinstance(node, Monolith):
            return self.invoke(edge, lambda b: self.function(node, None, True), budget)
        if isinstance(node, FanOut):
            use = node.call if node.call is not None else edge
            results = [self.node(branch, use, budget) for branch in node.branches]
            r = max(x[0] for x in results)
            d = max(x[1] for x in results)
            if isinstance(use, TaskCall):
                self.meters["transitions"] += 1
                r, d = r + use.transition, d + use.transition
            return r, d, all(x[2] for x in results), all(x[3] for x in results)
        if isinstance(node, Workflow):
            return self.chain(node.steps, 0, node.task, node.task, True, INF, workflow=True)
        assert isinstance(node, (SyncChain, AsyncChain))
        return self.chain(node.steps, 0, edge, node.call, isinstance(node, SyncChain), budget)

    def chain(
        self,
        steps: tuple[object, ...],
        j: int,
        edge: object,
        call: object,
        sync: bool,
        budget: float,
        *,
        workflow: bool = False,
    ) -> Result:
        step = steps[j]
        last = j + 1 == len(steps)

        def rest(b: float) -> Result:
            if sync:
                return self.chain(steps, j + 1, call, call, sync, b, workflow=workflow)
            if isinstance(call, AsyncCall) and call.via == "storage_trigger":
                self.meters["put"] += 1
            _, d, _, c = self.chain(steps, j + 1, call, call, sync, INF)
            return handoff, handoff + d, True, c

        handoff = call.handoff if isinstance(call, AsyncCall) else 0.0
        if isinstance(step, Function) and not workflow:

            def run(_budget: float) -> Result:
                return self.function(step, None if last else rest, sync)

            return self.invoke(edge, run, budget)
        head = self.node(step, edge, budget)
        if last:
            return head
        r, d, ok, c = head
        if sync:
            if not ok:
                return r, d, ok, False
            sr, sd, sok, sc = rest(budget - r)
            return r + sr, max(d, r + sd), ok and sok, c and sok and sc
        if not c:
            return r, d, ok, False
        _, sd, sok, sc = rest(INF)
        return r, d + sd, ok, sok and sc


def loop_compare(
    architectures: dict[str, object], samples: int, invocations: float
) -> dict[str, float]:
    """Total monthly cost per architecture, one request at a time."""
    lam = price_sheet("aws-lambda")
    per_gb_s = lam.meter("duration-x86_64").first_unit_price
    per_request = lam.meter("requests").first_unit_price
    per_gb_out = lam.meter("egress").first_unit_price
    s3 = price_sheet("aws-s3")
    sfn = price_sheet("aws-sfn-standard").meter("transitions").first_unit_price
    init_billed = INIT_BILLED["aws-lambda"]
    totals = {}
    for name, arch in architectures.items():
        loop = Loop(seed=1)
        latencies = []
        for _ in range(samples):
            _, done, _, _ = loop.node(arch, None, INF)
            latencies.append(done)
        scale = invocations / samples
        gb_s = requests = 0.0
        for calls in loop.calls.values():
            for billed, init, fn in calls:
                ms = billed + init if init_billed else billed
                gb_s += fn.memory_mb / 1024 * max(math.ceil(ms - 1e-9), 1) / 1000
                requests += 1
        total = (gb_s * per_gb_s + requests * per_request) * scale
        total += loop.meters["put"] * scale * s3.meter("put-requests").first_unit_price
        total += loop.meters["get"] * scale * s3.meter("get-requests").first_unit_price
        total += loop.meters["transitions"] * scale * sfn
        total += loop.egress_kb / 1024**2 * scale * per_gb_out
        latencies.sort()
        totals[name] = total
    return totals


def run() -> list[Row]:
    arch = load_architectures(EXAMPLE)
    architectures = dict(arch)
    invocations = arch.invocations or 100_000

    table = compare(architectures, invocations=invocations, samples=SAMPLES)
    looped = loop_compare(architectures, LOOP_SAMPLES, invocations)
    for name, total in looped.items():
        ours = table.loc[name, "total_usd"]
        if not math.isclose(ours, total, rel_tol=0.02):
            raise AssertionError(f"{name}: compare ${ours:.2f} vs loop ${total:.2f}")

    ours_s = wall_seconds(
        lambda: compare(architectures, invocations=invocations, samples=SAMPLES), repeat=3
    )
    start = time.perf_counter()
    loop_compare(architectures, LOOP_SAMPLES, invocations)
    loop_s = (time.perf_counter() - start) * (SAMPLES / LOOP_SAMPLES)

    one = {"f": Function("f", memory_mb=1024, duration=Fixed(800.0))}
    memory = np.linspace(128, 10_240, 10_000)
    start = time.perf_counter()
    best = sweep(one, over="memory_mb", values=memory, scaling=CpuBound(cpu_share=0.7), samples=100)
    memory_s = time.perf_counter() - start
    assert len(best.frame) == 10_000
    start = time.perf_counter()
    volumes = sweep(
        architectures, over="invocations", values=np.geomspace(1e3, 1e9, 2_500), samples=10_000
    )
    volume_s = time.perf_counter() - start
    assert len(volumes.frame) == 10_000

    durations = np.random.default_rng(0).lognormal(5.0, 1.0, 1_000)

    def one_bill() -> Bill:
        return estimate("aws-lambda", invocations=3e6, duration_ms=durations, memory_mb=1536)

    estimate_s = per_call_seconds(one_bill, number=2_000)
    framed_s = per_call_seconds(lambda: one_bill().lines, number=200)
    return [
        Row(
            "compare: 4 architectures x 100k requests (requests/s)",
            4 * SAMPLES / ours_s,
            4 * SAMPLES / loop_s,
            "requests/s; loop timed on 10k, x10",
            ">= 50x",
        ),
        Row("sweep: 10,000 memory sizes of one function (s)", memory_s, memory_s, "s", "report"),
        Row("sweep: 4 architectures x 2,500 volumes (s)", volume_s, volume_s, "s", "report"),
        Row(
            "estimate(): Lambda bill, 1,000 samples, vs + bill.lines (us/call)",
            estimate_s * 1e6,
            framed_s * 1e6,
            "us/call",
            "report",
        ),
    ]


if __name__ == "__main__":
    from benchmarks.harness import print_rows

    print_rows(TITLE, run())
