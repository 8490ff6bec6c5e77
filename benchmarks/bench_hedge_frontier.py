"""``costmodel.hedge_frontier`` (vectorized) vs a per-sample Python loop of the same hedge.

The frontier of the docs page: a heavy-tailed callee (98% lognormal p50 12 ms / p99 30 ms,
2% lognormal p50 1 s / p99 1.5 s, 1 GB) called by a 128 MB caller doing 1 ms of work
through a direct invoke (15 ms overhead), unhedged and hedged (2 attempts) at 10 delays,
100,000 calls each, losers billed to completion on AWS Lambda.

The anchor is a plain Python interpreter of the hedge rule, one call at a time with
``random.Random``: attempt k starts at k x delay unless an earlier one has answered; the
caller waits for the first answer; every attempt is billed its whole run (1 ms rounding,
first-tier prices). It is timed on 10,000 calls per row and scaled x10; before timing,
its p99.9 (within 8%), extra invocations (within 1 point) and cost per million (within
4%) on 50,000 calls are checked to agree with the frontier's (independent random draws).
"""

from __future__ import annotations

import math
import random
import time

from benchmarks.harness import Row, wall_seconds
from costmodel import hedge_frontier, lognormal, mixture, price_sheet

TITLE = "Hedge frontier (vectorized) vs a per-sample Python loop"
SAMPLES = 100_000
LOOP_SAMPLES = 10_000
CHECK_SAMPLES = 50_000  # the 2% tail drives the cost: enough calls to check it within 4%
DELAYS = [0.0, 10.0, 20.0, 30.0, 40.0, 50.0, 75.0, 100.0, 150.0, 200.0]
OVERHEAD_MS = 15.0
CALLEE = mixture(
    (0.98, lognormal(p50_ms=12, p99_ms=30)), (0.02, lognormal(p50_ms=1000, p99_ms=1500))
)


def _draw(r: random.Random) -> float:
    body, tail = CALLEE.parts
    assert isinstance(body, type(tail))
    part = body if r.random() < CALLEE.weights[0] else tail
    return r.lognormvariate(part.mu, part.sigma)  # type: ignore[attr-defined]


def loop_row(delay: float | None, samples: int, seed: int = 1) -> tuple[float, float, float]:
    """p99.9 of the call (ms), extra invocations (%) and $ per million calls, one call at a
    time (``delay=None``: unhedged)."""
    r = random.Random(seed)
    lam = price_sheet("aws-lambda")
    per_gb_s = lam.meter("duration-x86_64").first_unit_price
    per_request = lam.meter("requests").first_unit_price
    waits: list[float] = []
    invocations = 0
    gb_s = 0.0
    for _ in range(samples):
        runs = [_draw(r)]
        answers = [runs[0] + OVERHEAD_MS]
        if delay is not None:
            launch = delay
            if min(answers) > launch:  # two attempts: one hedge at most
                runs.append(_draw(r))
                answers.append(launch + runs[1] + OVERHEAD_MS)
        wait = min(answers)
        waits.append(wait)
        invocations += 1 + len(runs)
        gb_s += 128 / 1024 * math.ceil(1 + wait - 1e-9) / 1000
        gb_s += sum(1.0 * math.ceil(t - 1e-9) / 1000 for t in runs)
    waits.sort()
    p999 = waits[min(len(waits) - 1, int(0.999 * len(waits)))]
    extra = (invocations - 2 * samples) / samples * 100
    per_million = (gb_s * per_gb_s + invocations * per_request) / samples * 1e6
    return p999, extra, per_million


def _frontier() -> object:
    return hedge_frontier(CALLEE, delays_ms=DELAYS, samples=SAMPLES, seed=0)


def run() -> list[Row]:
    table = _frontier()
    for delay in (None, 10.0, 50.0, 200.0):
        label = "unhedged" if delay is None else f"hedge {delay:g} ms"
        row = table.loc[label]  # type: ignore[attr-defined]
        p999, extra, per_million = loop_row(delay, CHECK_SAMPLES)
        checks = (
            (p999, row["latency_p999_ms"], 0.08),
            (per_million, row["usd_per_million"], 0.04),
        )
        for loop_value, ours, tolerance in checks:
            if not math.isclose(loop_value, ours, rel_tol=tolerance):
                raise AssertionError(f"{label}: loop {loop_value:.4g} vs frontier {ours:.4g}")
        if not math.isclose(extra, row["extra_invocations_pct"], abs_tol=1.0):
            raise AssertionError(f"{label}: loop +{extra:.2f}% vs +{row['extra_invocations_pct']}")
    ours_s = wall_seconds(_frontier, repeat=3)
    start = time.perf_counter()
    for delay in [None, *DELAYS]:
        loop_row(delay, LOOP_SAMPLES)
    loop_s = (time.perf_counter() - start) * (SAMPLES / LOOP_SAMPLES)
    return [
        Row(
            "hedge_frontier: 11 rows x 100k calls (s)",
            ours_s,
            loop_s,
            "s; loop timed on 10k, x10",
            "<= 1 s, report",
        )
    ]


if __name__ == "__main__":
    from benchmarks.harness import print_rows

    print_rows(TITLE, run())
