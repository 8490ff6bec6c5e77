"""callwise.resilience: call functions safely.

Decorators for circuit breaking, fallback, caching, retries, timeouts and bulkheads,
one composed :class:`Policy`, a :class:`Ledger` of every call, local async invocation
and invokers for real endpoints. See the README for a tour.
"""

from .breaker import (
    BreakerConfig,
    BreakerListener,
    BreakerState,
    BreakerStats,
    CircuitBreaker,
    Guarded,
    circuit_breaker,
)
from .clock import SYSTEM_CLOCK, Clock, SystemClock
from .errors import (
    BulkheadFull,
    CircuitOpenError,
    FunctionError,
    HttpStatusError,
    InvalidUsage,
    InvocationError,
    InvokerClosed,
    MissingDependency,
    ResilienceError,
    RetryBudgetExhausted,
    TimeoutExceeded,
)
from .ledger import Ledger, Record

__all__ = [
    "SYSTEM_CLOCK",
    "BreakerConfig",
    "BreakerListener",
    "BreakerState",
    "BreakerStats",
    "BulkheadFull",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "FunctionError",
    "Guarded",
    "HttpStatusError",
    "InvalidUsage",
    "InvocationError",
    "InvokerClosed",
    "Ledger",
    "MissingDependency",
    "Record",
    "ResilienceError",
    "RetryBudgetExhausted",
    "SystemClock",
    "TimeoutExceeded",
    "circuit_breaker",
]
