"""Every bad number given to a public constructor is refused clearly.

A table lists, per constructor, its numeric parameters and what each allows; hypothesis
draws bad values of every kind (NaN, infinities, negatives, zero where it is not allowed,
fractions where a count is needed, bools, strings, and integers too large for any float
or any machine, such as 10**400) and each must raise ``InvalidUsage`` whose message names
the parameter and the value; nothing is silently accepted, nothing overflows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from resilience import (
    AsyncInvoker,
    AsyncioInvoker,
    CircuitBreaker,
    InvalidUsage,
    Ledger,
    RetryBudget,
    bulkhead,
    cached,
    chaos,
    retry,
    timeout,
)
from resilience.testing import FakeClock

# kind of each parameter: "count" (int >= 1), "count0" (int >= 0), "seconds" (> 0),
# "seconds0" (>= 0), "rate" (a share in (0, 1]), "share0" (a share in [0, 1])
Kind = str
Build = Callable[[dict[str, Any]], Any]


def _invoker(cls: type) -> Build:
    def build(options: dict[str, Any]) -> Any:
        invoker = cls(**options)
        _close(invoker)
        return invoker

    return build


def _close(invoker: Any) -> None:
    """Stop a thread invoker's workers; an asyncio invoker starts none before its loop runs."""
    if isinstance(invoker, AsyncInvoker):
        invoker.close()


TABLE: dict[str, tuple[Build, dict[str, Kind]]] = {
    "CircuitBreaker": (
        lambda o: CircuitBreaker(**o),
        {
            "fail_max": "count",
            "reset_timeout_s": "seconds",
            "half_open_max_calls": "count",
            "success_threshold": "count",
            "sync_interval_s": "seconds0",
            "storage_retry_s": "seconds",
        },
    ),
    "CircuitBreaker (rate rules)": (
        lambda o: CircuitBreaker(**{"failure_rate_threshold": 0.5, **o}),
        {"failure_rate_threshold": "rate", "window_size": "count", "slow_call_s": "seconds"},
    ),
    "cached": (
        lambda o: cached(**o),
        {"ttl": "seconds", "maxsize": "count0", "stale_if_error": "seconds0"},
    ),
    "retry": (
        lambda o: retry(**o),
        {
            "attempts": "count",
            "backoff_s": "seconds0",
            "max_backoff_s": "seconds0",
            "budget": "rate",
        },
    ),
    "RetryBudget": (lambda o: RetryBudget(**o), {"ratio": "rate", "window_s": "seconds"}),
    "timeout": (lambda o: timeout(**{"timeout_s": 1, **o}), {"timeout_s": "seconds"}),
    "bulkhead": (
        lambda o: bulkhead(**{"max_concurrent": 1, **o}),
        {"max_concurrent": "count", "max_wait_s": "seconds0"},
    ),
    "AsyncInvoker": (
        _invoker(AsyncInvoker),
        {
            "workers": "count",
            "max_queue": "count",
            "max_retries": "count0",
            "max_event_age_s": "seconds",
        },
    ),
    "AsyncioInvoker": (
        _invoker(AsyncioInvoker),
        {"workers": "count", "max_queue": "count", "max_retries": "count0"},
    ),
    "Ledger": (lambda o: Ledger(**o), {"max_records": "count0"}),
    "chaos": (
        lambda o: chaos(**{"fault": ValueError, "latency_s": 0.1, "outcome": 0, **o}),
        {
            "latency_s": "seconds0",
            "rate": "share0",
            "latency_rate": "share0",
            "fault_rate": "share0",
            "outcome_rate": "share0",
        },
    ),
}

HUGE = 10**400  # larger than any float: no machine can honour it as a count or a time
ALWAYS_BAD = [math.nan, math.inf, -math.inf, -1, -0.5, True, False, "3", HUGE, -HUGE]
BAD: dict[Kind, list[Any]] = {
    "count": [*ALWAYS_BAD, 0, 2.5, 1.0],
    "count0": [*ALWAYS_BAD, 2.5, 1.0],
    "seconds": [*ALWAYS_BAD, 0],
    "seconds0": ALWAYS_BAD,
    "rate": [*ALWAYS_BAD, 0, 1.5],
    "share0": [*ALWAYS_BAD, 1.5],
}
CASES = [
    (name, parameter, value)
    for name, (_, parameters) in TABLE.items()
    for parameter, kind in parameters.items()
    for value in BAD[kind]
]


@pytest.mark.parametrize(("name", "parameter", "value"), CASES, ids=repr)
def test_each_bad_number_is_refused_naming_it(name: str, parameter: str, value: Any) -> None:
    """InvalidUsage naming the parameter and its value; never OverflowError or TypeError."""
    build, _ = TABLE[name]
    with pytest.raises(InvalidUsage) as info:
        build(
            {parameter: value, "clock": FakeClock()} if _takes_clock(name) else {parameter: value}
        )
    message = str(info.value)
    assert f"{parameter}=" in message, message
    assert len(message) < 400, message  # a 400-digit number is not printed whole


def _takes_clock(name: str) -> bool:
    return name not in ("Ledger", "RetryBudget")


@settings(max_examples=200, deadline=None)
@given(
    case=st.sampled_from([(n, p, k) for n, (_, ps) in TABLE.items() for p, k in ps.items()]),
    value=st.one_of(
        st.integers(min_value=2**1024),
        st.integers(max_value=-1),
        st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: not x >= 0 or x != x),
        st.booleans(),
        st.text(max_size=5),
        st.none(),
    ),
)
def test_property_bad_values_never_escape_as_other_errors(
    case: tuple[str, str, Kind], value: Any
) -> None:
    """Property: any negative, non-finite, huge, boolean or text value is InvalidUsage
    (None is allowed where the parameter is optional: then it constructs)."""
    name, parameter, _ = case
    build, _ = TABLE[name]
    options = {parameter: value}
    if _takes_clock(name):
        options["clock"] = FakeClock()
    try:
        build(options)
    except InvalidUsage as exc:
        assert f"{parameter}=" in str(exc)
    else:
        assert value is None, f"{name}({parameter}={value!r}) was accepted"


@pytest.mark.parametrize(
    ("cls", "most", "kind"), [(AsyncInvoker, 1024, "threads"), (AsyncioInvoker, 100_000, "tasks")]
)
def test_workers_no_machine_can_start_are_refused(cls: type, most: int, kind: str) -> None:
    """Workers start with the invoker: more than a machine can run is refused, not tried."""
    _close(cls(workers=most, clock=FakeClock()))
    with pytest.raises(InvalidUsage, match=rf"workers={most + 1}: .*\[1, {most}\] \({kind}\)"):
        cls(workers=most + 1, clock=FakeClock())
