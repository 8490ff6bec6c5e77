"""callwise.resilience: call functions safely.

Decorators for circuit breaking, fallback, caching, retries, hedging, timeouts, bulkheads
and fault injection (chaos),
one composed :class:`Policy`, a :class:`Ledger` of every call, local async invocation
and invokers for real endpoints. See the README for a tour.
"""

import typing as _typing

from ._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:  # for type checkers and readers; at run time each name loads on first use
    from .adaptive_limit import AdaptiveLimiter, AdaptiveLimiterStatistics, adaptive_limit
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
    from .chaos import Chaos, ChaosStatistics, Sampler, chaos
    from .clock import SYSTEM_CLOCK, Clock, SystemClock
    from .errors import (
        BulkheadFull,
        CircuitOpenError,
        FunctionError,
        HttpStatusError,
        InjectedThrottle,
        InvalidUsage,
        InvocationError,
        InvokerClosed,
        MissingDependency,
        RateLimited,
        ResilienceError,
        ResponseTooLarge,
        TimeoutExceeded,
    )
    from .fallback import Fallback, fallback
    from .hedge import Hedge, HedgeStatistics, hedge
    from .keep_warm import (
        Warmer,
        WarmerStatistics,
        is_warmup,
        keep_warm,
        warmup_aware,
        warmup_payload,
    )
    from .ledger import Ledger, Record
    from .policy import Policy
    from .rate_limit import (
        RateLimiter,
        RateLimiterStatistics,
        RateLimits,
        RedisRateStore,
        rate_limit,
    )
    from .retry import Backoff, Retry, RetryBudget, RetryStatistics, retry
    from .throttling import ThrottleInfo, throttle_info
    from .timeout import Timeout, timeout

__all__ = [
    "SYSTEM_CLOCK",
    "AdaptiveLimiter",
    "AdaptiveLimiterStatistics",
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
    "Chaos",
    "ChaosStatistics",
    "CircuitBreaker",
    "CircuitOpenError",
    "Clock",
    "Event",
    "FailureReason",
    "Fallback",
    "FunctionError",
    "Guarded",
    "Hedge",
    "HedgeStatistics",
    "HttpStatusError",
    "InjectedThrottle",
    "InvalidUsage",
    "InvocationError",
    "InvokerClosed",
    "InvokerStatistics",
    "Ledger",
    "MissingDependency",
    "Policy",
    "RateLimited",
    "RateLimiter",
    "RateLimiterStatistics",
    "RateLimits",
    "Record",
    "RedisRateStore",
    "ResilienceError",
    "ResponseTooLarge",
    "Retry",
    "RetryBudget",
    "RetryStatistics",
    "Sampler",
    "SystemClock",
    "ThrottleInfo",
    "Timeout",
    "TimeoutExceeded",
    "Warmer",
    "WarmerStatistics",
    "adaptive_limit",
    "bulkhead",
    "cached",
    "chaos",
    "circuit_breaker",
    "fallback",
    "hedge",
    "is_warmup",
    "keep_warm",
    "rate_limit",
    "retry",
    "throttle_info",
    "timeout",
    "warmup_aware",
    "warmup_payload",
]

#: The module that defines each public name: imported on first use (PEP 562), so that
#: importing the package (and the CLI's --help) stays quick.
_EXPORTS: dict[str, str] = {
    "AdaptiveLimiter": ".adaptive_limit",
    "AdaptiveLimiterStatistics": ".adaptive_limit",
    "adaptive_limit": ".adaptive_limit",
    "AsyncInvoker": ".async_invoker",
    "AsyncioInvoker": ".async_invoker",
    "Event": ".async_invoker",
    "FailureReason": ".async_invoker",
    "InvokerStatistics": ".async_invoker",
    "BreakerConfig": ".breaker",
    "BreakerListener": ".breaker",
    "BreakerState": ".breaker",
    "BreakerStats": ".breaker",
    "CircuitBreaker": ".breaker",
    "Guarded": ".breaker",
    "circuit_breaker": ".breaker",
    "Bulkhead": ".bulkhead",
    "BulkheadStatistics": ".bulkhead",
    "bulkhead": ".bulkhead",
    "Cached": ".cache",
    "CachedFunction": ".cache",
    "CacheInfo": ".cache",
    "cached": ".cache",
    "Chaos": ".chaos",
    "ChaosStatistics": ".chaos",
    "Sampler": ".chaos",
    "chaos": ".chaos",
    "SYSTEM_CLOCK": ".clock",
    "Clock": ".clock",
    "SystemClock": ".clock",
    "BulkheadFull": ".errors",
    "CircuitOpenError": ".errors",
    "FunctionError": ".errors",
    "HttpStatusError": ".errors",
    "InjectedThrottle": ".errors",
    "InvalidUsage": ".errors",
    "InvocationError": ".errors",
    "InvokerClosed": ".errors",
    "MissingDependency": ".errors",
    "RateLimited": ".errors",
    "ResilienceError": ".errors",
    "ResponseTooLarge": ".errors",
    "TimeoutExceeded": ".errors",
    "Fallback": ".fallback",
    "fallback": ".fallback",
    "Hedge": ".hedge",
    "HedgeStatistics": ".hedge",
    "hedge": ".hedge",
    "Warmer": ".keep_warm",
    "WarmerStatistics": ".keep_warm",
    "is_warmup": ".keep_warm",
    "keep_warm": ".keep_warm",
    "warmup_aware": ".keep_warm",
    "warmup_payload": ".keep_warm",
    "Ledger": ".ledger",
    "Record": ".ledger",
    "Policy": ".policy",
    "RateLimiter": ".rate_limit",
    "RateLimiterStatistics": ".rate_limit",
    "RateLimits": ".rate_limit",
    "RedisRateStore": ".rate_limit",
    "rate_limit": ".rate_limit",
    "Backoff": ".retry",
    "Retry": ".retry",
    "RetryBudget": ".retry",
    "RetryStatistics": ".retry",
    "retry": ".retry",
    "ThrottleInfo": ".throttling",
    "throttle_info": ".throttling",
    "Timeout": ".timeout",
    "timeout": ".timeout",
}

if not _typing.TYPE_CHECKING:  # type checkers see the imports above, not a catch-all __getattr__
    __getattr__, __dir__ = _lazy_exports(__name__, _EXPORTS, globals())
