"""Billing 10M per-invocation duration samples: ``costmodel.estimate`` vs a per-row loop.

The anchor is a plain Python loop that rounds each duration up to the billing step, sums
the billed GB-s and prices the month (requests + GB-s, first tier, no free tier). It is
timed on a 1M-row subset and scaled by 10 (a 10M-row loop takes tens of seconds);
``estimate`` is timed on all 10M rows. Both bills are checked equal before timing.
Figures are invocations per second.
"""

from __future__ import annotations

import math

import numpy as np

from benchmarks.harness import Row, wall_seconds
from costmodel import estimate, price_sheet

TITLE = "Billing (costmodel.estimate vs a per-row Python loop)"
ROWS = 10_000_000
LOOP_ROWS = 1_000_000
MEMORY_MB = 1024


def _samples(rows: int) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.lognormal(mean=math.log(120.0), sigma=0.6, size=rows)


def loop_bill(durations: list[float], *, step_ms: float, memory_mb: float) -> float:
    """The month's Lambda bill (no free tier) computed one invocation at a time."""
    sheet = price_sheet("aws-lambda")
    request_price = sheet.meter("requests").first_unit_price
    gbs_price = sheet.meter("duration-x86_64").first_unit_price
    billed_gbs = 0.0
    count = 0
    for duration in durations:
        billed_ms = max(math.ceil(duration / step_ms - 1e-9) * step_ms, 1.0)
        billed_gbs += memory_mb / 1024 * billed_ms / 1000
        count += 1
    return count * request_price + billed_gbs * gbs_price


def run() -> list[Row]:
    samples = _samples(ROWS)
    subset = samples[:LOOP_ROWS].tolist()

    def ours() -> float:
        return estimate("aws-lambda", duration_ms=samples, memory_mb=MEMORY_MB).total

    def anchor() -> float:
        return loop_bill(subset, step_ms=1, memory_mb=MEMORY_MB)

    check = estimate("aws-lambda", duration_ms=samples[:LOOP_ROWS], memory_mb=MEMORY_MB).total
    if not math.isclose(check, anchor(), rel_tol=1e-9):
        raise AssertionError(f"bills differ: estimate {check!r} vs loop {anchor()!r}")
    ours_s = wall_seconds(ours, repeat=3)
    loop_s = wall_seconds(anchor, repeat=1) * (ROWS / LOOP_ROWS)
    return [
        Row(
            name=f"bill {ROWS:,} duration samples (loop timed on {LOOP_ROWS:,}, x10)",
            ours=ROWS / ours_s,
            anchor=ROWS / loop_s,
            unit="invocations/s; ratio = speed-up",
            target=">= 50x",
        )
    ]
