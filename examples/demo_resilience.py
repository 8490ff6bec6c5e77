"""A short tour of callwise.resilience (run by `make demo`)."""

from __future__ import annotations

from resilience import Ledger
from resilience.testing import FakeClock


def main() -> None:
    clock = FakeClock()
    ledger = Ledger()
    ledger.record(
        function="demo", kind="call", start_s=clock.monotonic(), duration_s=0.1, outcome="ok"
    )
    print(ledger.to_frame().to_string(index=False))


if __name__ == "__main__":
    main()
