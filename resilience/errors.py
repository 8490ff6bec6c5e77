"""Errors raised by callwise's resilience decorators.

Only conditions that callwise itself creates get an exception of ours; an exception
raised by the guarded function passes through unchanged.

Exception tree::

    ResilienceError
    ├── CircuitOpenError          the breaker rejected the call (name, retry_after)
    ├── BulkheadFull              no concurrency slot within the wait (name, limit)
    ├── RateLimited               the rate limiter refused the call (name, retry_after)
    ├── TimeoutExceeded           also a TimeoutError (timeout_s)
    ├── InvalidUsage              also a ValueError: a bad parameter at construction
    ├── InvokerClosed             also a RuntimeError: submit() after close()
    └── InvocationError           a remote function answered with an error
        ├── HttpStatusError       non-2xx HTTP answer (status_code, url, headers)
        │   └── InjectedThrottle  a 429 injected by resilience.chaos (retry_after_s)
        ├── ResponseTooLarge      the answer exceeded max_response_bytes (url, limit_bytes)
        └── FunctionError         the platform reported a function error (function, kind)
    MissingDependency             also an ImportError: an optional extra is not installed
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ._redact import redact, redact_value

__all__ = [
    "BulkheadFull",
    "CircuitOpenError",
    "FunctionError",
    "HttpStatusError",
    "InjectedThrottle",
    "InvalidUsage",
    "InvocationError",
    "InvokerClosed",
    "MissingDependency",
    "RateLimited",
    "ResilienceError",
    "ResponseTooLarge",
    "TimeoutExceeded",
]


class ResilienceError(Exception):
    """Base class of every error callwise's resilience code raises itself."""


class CircuitOpenError(ResilienceError):
    """The circuit breaker rejected the call without calling the function.

    Attributes:
        name: the breaker's name.
        retry_after: seconds until the breaker lets a probe through (0 when a probe
            slot, not time, is what is missing).
    """

    def __init__(self, name: str, retry_after: float) -> None:
        self.name = name
        self.retry_after = max(0.0, retry_after)
        super().__init__(f"circuit {name!r} is open; retry after {self.retry_after:.3f} s")


class BulkheadFull(ResilienceError):
    """No concurrency slot became free within the bulkhead's wait.

    Attributes:
        name: the bulkhead's name.
        limit: its maximum number of concurrent calls (the bulkhead's
            ``max_concurrent``).
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        super().__init__(f"bulkhead {name!r} is full ({limit} concurrent calls)")


class RateLimited(ResilienceError):
    """The rate limiter refused the call without calling the function.

    Attributes:
        name: the limiter's name.
        retry_after: seconds until the same call would be admitted, were nothing else
            admitted meanwhile (what a ``Retry-After`` header would say).
        key: the partition refused (the ``key=`` function's value), or None. Never in
            the message: a partition key may be a user's token.
    """

    def __init__(self, name: str, retry_after: float, key: str | None = None) -> None:
        self.name = name
        self.retry_after = max(0.0, retry_after)
        self.key = key
        super().__init__(f"rate limit {name!r} reached; retry after {self.retry_after:.3f} s")


class TimeoutExceeded(ResilienceError, TimeoutError):
    """The call did not finish within its time limit.

    Attributes:
        timeout_s: the limit, in seconds.
    """

    def __init__(self, timeout_s: float, name: str = "") -> None:
        self.timeout_s = timeout_s
        self.name = name
        what = f"{name!r} " if name else ""
        super().__init__(f"call {what}did not finish within {timeout_s:g} s")


class InvalidUsage(ResilienceError, ValueError):
    """A parameter is out of range or of the wrong kind."""


class InvokerClosed(ResilienceError, RuntimeError):
    """An invoker was used after ``close()``."""


class InvocationError(ResilienceError):
    """A remote function answered, and the answer was an error."""


class HttpStatusError(InvocationError):
    """An HTTP function answered with a status outside 2xx.

    Attributes:
        status_code: the HTTP status.
        url: the URL called (without credentials).
        body: at most the first 1,000 characters of the response body, credentials
            (an echoed ``Authorization`` header, a token) replaced by ``***``.
        raw_body: the same characters as the function sent them.
        headers: the response headers a caller may act on, and only those
            (:data:`SAFE_RESPONSE_HEADERS`: ``Retry-After``, ``Date``, ``Content-Type``
            and the rate-limit headers), names in lower case, credentials replaced by
            ``***``. Never ``Set-Cookie``, ``Authorization`` or any other header.
        retry_after: the raw ``Retry-After`` header, or None
            (:func:`resilience.throttle_info` reads it).
        date: the raw ``Date`` header, or None (an HTTP-date ``Retry-After`` is
            measured from it).
    """

    def __init__(
        self,
        status_code: int,
        url: str,
        body: str = "",
        *,
        secrets: Iterable[str] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        secrets = tuple(secrets)
        self.status_code = status_code
        self.url = redact(url, secrets)
        self.raw_body = body[:1000]
        self.body = redact(self.raw_body, secrets)
        self.headers: Mapping[str, str] = {
            name.lower(): redact(str(value), secrets)[:1000]
            for name, value in (headers or {}).items()
            if name.lower() in SAFE_RESPONSE_HEADERS
        }
        super().__init__(f"HTTP {status_code} from {self.url}")

    @property
    def retry_after(self) -> str | None:
        """The raw ``Retry-After`` header, or None."""
        return self.headers.get("retry-after")

    @property
    def date(self) -> str | None:
        """The raw ``Date`` header, or None."""
        return self.headers.get("date")


class InjectedThrottle(HttpStatusError):
    """A throttling answer (HTTP 429) injected by :func:`resilience.chaos`: no call was made.

    Shaped like a downstream's real 429, with a ``Retry-After`` header when
    ``retry_after_s`` is given, so :func:`resilience.throttle_info` reads its hint, a
    retry waits as asked, a breaker counts it as a failure and the ledger records an
    ``error``, as they would for the real one.

    Attributes:
        retry_after_s: the wait the "downstream" asks for, seconds, or None.
        name: what injected it (the chaos spec's name), in the URL ``chaos:NAME``.
    """

    def __init__(self, retry_after_s: float | None = None, name: str = "") -> None:
        if retry_after_s is not None and not (
            isinstance(retry_after_s, (int, float))
            and not isinstance(retry_after_s, bool)
            and 0 <= retry_after_s < float("inf")
        ):
            raise InvalidUsage(
                f"retry_after_s={retry_after_s!r}: must be a finite number of seconds >= 0 or None"
            )
        self.retry_after_s = retry_after_s
        self.name = name
        seconds = f"{float(retry_after_s or 0):.6f}".rstrip("0").rstrip(".")
        headers = {} if retry_after_s is None else {"Retry-After": seconds}
        super().__init__(429, f"chaos:{name}", "injected throttle", headers=headers)

    def __reduce__(self) -> tuple[type[InjectedThrottle], tuple[float | None, str]]:
        return (type(self), (self.retry_after_s, self.name))


#: The response headers :class:`HttpStatusError` keeps (lower case): what a caller may
#: act on (when to retry, the server's time, the body's type, the rate-limit headers of
#: the IETF draft and their common ``X-`` forms). Nothing that may carry a credential.
SAFE_RESPONSE_HEADERS = frozenset(
    {
        "retry-after",
        "date",
        "content-type",
        "ratelimit",
        "ratelimit-policy",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    }
)


class ResponseTooLarge(InvocationError):
    """An answer was larger than the invoker's ``max_response_bytes``; reading stopped.

    Attributes:
        url: the URL called (without credentials).
        limit_bytes: the bound.
        declared_bytes: the size the ``Content-Length`` header announced, if it did.
    """

    def __init__(self, url: str, limit_bytes: int, declared_bytes: int | None = None) -> None:
        self.url = redact(url)
        self.limit_bytes = limit_bytes
        self.declared_bytes = declared_bytes
        said = f" (Content-Length: {declared_bytes})" if declared_bytes is not None else ""
        super().__init__(
            f"the answer from {self.url} is larger than max_response_bytes={limit_bytes}"
            f"{said}; reading stopped"
        )


class FunctionError(InvocationError):
    """The platform ran the function and reported that it failed.

    Attributes:
        function: the function's name or ARN.
        kind: the platform's error kind (Lambda's ``FunctionError``, FC's error code).
        payload: the error payload the platform returned, decoded when it is JSON, with
            credentials it echoes (``Bearer`` tokens, credential headers, AWS key ids)
            replaced by ``***``; the message shows this form.
        raw_payload: the payload exactly as the platform returned it.
    """

    def __init__(
        self, function: str, kind: str, payload: object = None, *, secrets: Iterable[str] = ()
    ) -> None:
        self.function = function
        self.kind = kind
        self.raw_payload = payload
        self.payload = redact_value(payload, secrets)
        super().__init__(f"function {function!r} failed ({kind}): {self.payload!r}"[:2000])


class MissingDependency(ImportError):
    """An optional extra is needed: ``pip install 'callwise[<extra>]'``."""

    def __init__(self, extra: str, module: str) -> None:
        self.extra = extra
        super().__init__(
            f"this needs the optional package {module!r}; install it with "
            f"pip install 'callwise[{extra}]'",
            name=module,
        )
