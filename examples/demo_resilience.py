"""A short tour of callwise.resilience, run by `make demo`.

A price service fails for a while. One Policy (fallback, cache, retry, breaker) guards
the calls; a FakeClock makes the minutes pass instantly; the Ledger shows what was
tried, what was rejected, what the cache and the fallback answered.
"""

from __future__ import annotations

import logging
import sys

from resilience import CircuitBreaker, Ledger, Policy, cached, fallback, retry
from resilience.testing import FakeClock

clock = FakeClock()
ledger = Ledger()
service_down = False
calls_made = 0

prices = Policy(
    name="prices",
    fallback=fallback({"price": None, "source": "fallback"}),
    cache=cached(ttl=60, clock=clock),
    retry=retry(attempts=3, backoff_s=0.2, jitter="none", clock=clock),
    breaker=CircuitBreaker(name="prices", fail_max=5, reset_timeout_s=30, clock=clock),
    ledger=ledger,
    clock=clock,
)


@prices
def price(sku: str) -> dict[str, object]:
    """The remote call being guarded."""
    global calls_made
    calls_made += 1
    clock.advance(0.05)  # the call itself takes 50 ms of (fake) time
    if service_down:
        raise ConnectionError("price service unreachable")
    return {"price": 9.99, "source": "live"}


def main() -> None:
    global service_down
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stdout, format="   [log] %(name)s: %(message)s"
    )
    print("1. healthy: the first call is made, the second is a cache hit")
    print("  ", price("apple"), price("apple"))

    print("2. the service goes down; new keys miss the cache, retries fail,")
    print("   the breaker opens after 5 failed attempts and the fallback answers")
    service_down = True
    for sku in ("pear", "plum", "fig", "kiwi"):
        print(f"   {sku:5} -> {price(sku)}   breaker: {prices.breaker.state}")  # type: ignore[union-attr]

    print("3. 30 s later the service is back; the breaker lets a probe through and closes")
    service_down = False
    clock.advance(30)
    print("  ", price("lime"), " breaker:", prices.breaker.state)  # type: ignore[union-attr]

    rows = ledger.to_frame()
    print(f"\nfunction calls actually made: {calls_made}")
    for kind, label in (("call", "logical calls"), ("attempt", "attempts")):
        counts = rows[rows["kind"] == kind]["outcome"].value_counts()
        print(f"{label} by outcome: " + ", ".join(f"{k} {n}" for k, n in counts.items()))


if __name__ == "__main__":
    main()
