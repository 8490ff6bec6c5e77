"""Warm-up probes: a round of pings and a warm-up-aware handler, against hand-written code.

Anchors, measured in the same run:
- one round at ``concurrency=1`` (``warmer.run_once()``: the ping, its timing, one
  ``probe`` row in a Ledger, the round's bookkeeping) vs the same done by hand: call the
  target, time it, ``ledger.record(...)`` one row; target <= 2.0x.
- one round at ``concurrency=3`` vs three ``ThreadPoolExecutor.submit`` calls of the same
  hand-written ping and their results (the fan-out alone); target <= 1.5x.
- a request through ``@warmup_aware`` (not a ping: the handler runs) vs a handler that
  checks ``event.get("source") == "serverless-plugin-warmup"`` inline, as the plugin's
  README shows, and a ping (early return), same anchor: informative. A decorator is one
  more Python call: what matters is the time it adds per request (well under 1 µs),
  against Lambda's 1 ms billing step.
"""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

from benchmarks.harness import Row, per_call_seconds
from resilience import Ledger, keep_warm, warmup_aware

TITLE = "Keep warm"
ROUNDS = 9


def _paired(ours: Any, anchor: Any, number: int) -> tuple[float, float]:
    """Best seconds per call of each, in alternating rounds (same machine load)."""
    best_ours = best_anchor = float("inf")
    for _ in range(ROUNDS):
        best_ours = min(best_ours, per_call_seconds(ours, number=number, repeat=1))
        best_anchor = min(best_anchor, per_call_seconds(anchor, number=number, repeat=1))
    return best_ours, best_anchor


def _target(payload: object) -> str:
    return "warm"


def _round_rows() -> list[Row]:
    ledger = Ledger(max_records=0)  # totals only: the benchmark never grows a list
    warmer = keep_warm(_target, ledger=ledger, name="api")
    payload = {"source": "callwise-warmup", "hold_ms": 0.0}
    by_hand = Ledger(max_records=0)

    def ping_by_hand() -> None:
        start = time.monotonic()
        outcome, error = "ok", None
        try:
            _target(payload)
        except Exception as exc:
            outcome, error = "error", type(exc).__qualname__
        by_hand.record(function="api", kind="probe", start_s=start,
                       duration_s=time.monotonic() - start, outcome=outcome, attempt=1,
                       error_type=error)  # fmt: skip

    ours_s, anchor_s = _paired(warmer.run_once, ping_by_hand, 5_000)
    rows = [Row("round, concurrency=1: run_once vs ping + ledger row by hand", ours_s,
                anchor_s, "s/round", "<= 2.0x")]  # fmt: skip
    three = keep_warm(_target, concurrency=3, ledger=ledger, name="api3")
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=3)

    def fan_out_by_hand() -> None:
        for future in [pool.submit(ping_by_hand) for _ in range(3)]:
            future.result()

    ours_s, anchor_s = _paired(three.run_once, fan_out_by_hand, 1_000)
    rows.append(Row("round, concurrency=3: run_once vs 3 pool submits by hand", ours_s,
                    anchor_s, "s/round", "<= 1.5x"))  # fmt: skip
    three.stop()
    pool.shutdown()
    warmer.stop()
    return rows


def _handler_rows() -> list[Row]:
    @warmup_aware
    def ours(event: dict[str, Any], context: object) -> str:
        return "done"

    def inline(event: dict[str, Any], context: object) -> str:
        if event.get("source") == "serverless-plugin-warmup":
            return "warm"
        return "done"

    request = {"id": 7, "body": "..."}
    ping = {"source": "serverless-plugin-warmup"}
    rows = []
    ours_s, anchor_s = _paired(lambda: ours(request, None), lambda: inline(request, None), 50_000)
    rows.append(Row("handler, a request: @warmup_aware vs inline check", ours_s, anchor_s,
                    "s/call", "informative"))  # fmt: skip
    ours_s, anchor_s = _paired(lambda: ours(ping, None), lambda: inline(ping, None), 50_000)
    rows.append(Row("handler, a ping: @warmup_aware vs inline check", ours_s, anchor_s,
                    "s/call", "informative"))  # fmt: skip
    return rows


def run() -> list[Row]:
    return [*_round_rows(), *_handler_rows()]
