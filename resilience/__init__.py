"""callwise.resilience: call functions safely.

Decorators for circuit breaking, fallback, caching, retries, timeouts and bulkheads,
one composed :class:`Policy`, a :class:`Ledger` of every call, local async invocation
and invokers for real endpoints. See the README for a tour.
"""

from .async_invoker import AsyncInvoker, AsyncioInvoker, Event, FailureReason, InvokerStatistics
from .breaker import (
    BreakerConfig,
    BreakerListener,
    BreakerState,
    BreakerStats,
    CircuitBreaker,
    Guarded,
    circuit_breaker,
)
from .bulkhead import Bulkhead, BulkheadStatistics, bulkhead
from .cache import Cached, CachedFunction, CacheInfo, cached
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
    TimeoutExceeded,
)
from .fallback import Fallback, fallback
from .ledger import Ledger, Record
from .policy import Policy
from .retry import Backoff, Retry, RetryBudget, RetryStatistics, retry
from .timeout import Timeout, timeout

__all__ = [
    "SYSTEM_CLOCK",
    "AsyncInvoker",
    "AsyncioInvoker",
    "Backoff",
    "BreakerConfig",
    "BreakerListener",
    "BreakerState",
    "BreakerStats",
    "Bulkhead",
    "BulkheadFull",
    "BulkheadStatistics",
    "CacheInfo",
    "Cached",
    "CachedFunction",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "Event",
    "FailureReason",
    "Fallback",
    "FunctionError",
    "Guarded",
    "HttpStatusError",
    "InvalidUsage",
    "InvocationError",
    "InvokerClosed",
    "InvokerStatistics",
    "Ledger",
    "MissingDependency",
    "Policy",
    "Record",
    "ResilienceError",
    "Retry",
    "RetryBudget",
    "RetryStatistics",
    "SystemClock",
    "Timeout",
    "TimeoutExceeded",
    "bulkhead",
    "cached",
    "circuit_breaker",
    "fallback",
    "retry",
    "timeout",
]


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed distribution's metadata on first use."""
    if name == "__version__":
        from importlib.metadata import version

        return version("callwise")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
