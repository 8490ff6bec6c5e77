"""The throttling classifier: is this error a downstream saying "too many", and for how long?

:func:`throttle_info` is the one place callwise decides it. Retry reads its hint to wait
as long as the server asked; the adaptive concurrency limit counts a throttle as a drop;
telemetry labels it. Nothing here changes an exception: user exceptions still pass
through unchanged, this only looks at them.

What it recognises (anything else is not throttling and gives None):

===========================================  ===========================================
error                                        retry hint (seconds)
===========================================  ===========================================
:class:`resilience.RateLimited`              its ``retry_after``
:class:`resilience.HttpStatusError`, 429     the ``Retry-After`` header, if any
or 503 (413 only with a ``Retry-After``)
an error with a ``.response`` that has       the same (httpx's ``HTTPStatusError``,
``.status_code`` and ``.headers``            requests' ``HTTPError``)
botocore ``ClientError`` whose code is a     ``retryAfterSeconds`` of the answer (Lambda
throttling code (:data:`AWS_THROTTLING_      ``TooManyRequestsException``), else its
CODES`)                                      ``Retry-After`` header
an Alibaba Cloud SDK error (darabonba /      its ``retry_after`` (the SDK's milliseconds,
Tea) with FC's throttling codes, status      as seconds)
429 or 503, or the SDK's
``ThrottlingException``
===========================================  ===========================================

``Retry-After`` is read as urllib3 reads it, on 413, 429 and 503 answers: delta-seconds
(``"7"``; a decimal such as ``"1.5"`` is accepted too), or an HTTP-date. An HTTP-date is
measured against the same response's ``Date`` header, never against this machine's
clock (which may be off from the server's by more than the wait): an HTTP-date without
a ``Date`` header gives no hint. A date in the past is a wait of 0. A value that parses
as neither gives no hint; the error is still throttling.

No SDK is imported: botocore and Alibaba errors are recognised by their shape (the
``response`` mapping of a ``ClientError``; the ``TeaException`` base class of the
Alibaba SDKs), so ``import resilience`` stays light and works without the extras.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Literal

from .errors import HttpStatusError, RateLimited

__all__ = [
    "ALIBABA_THROTTLING_CODES",
    "AWS_THROTTLING_CODES",
    "RETRY_AFTER_STATUS_CODES",
    "THROTTLING_STATUS_CODES",
    "ThrottleInfo",
    "retry_after_s",
    "throttle_info",
]

Source = Literal["rate_limit", "http", "aws", "alibaba"]

#: HTTP statuses that mean "too many requests / not now": 429 Too Many Requests and
#: 503 Service Unavailable (RFC 9110 section 15.6.4).
THROTTLING_STATUS_CODES = frozenset({429, 503})
#: The statuses whose ``Retry-After`` is honoured, urllib3's ``RETRY_AFTER_STATUS_CODES``;
#: a 413 (Content Too Large) is throttling only when it carries a ``Retry-After``.
RETRY_AFTER_STATUS_CODES = frozenset({413, 429, 503})

#: botocore's own list of throttling error codes (``ThrottledRetryableChecker`` in
#: ``botocore/retries/standard.py``, the codes its standard retry mode treats as
#: throttles), without ``TransactionInProgressException`` and
#: ``PriorRequestNotComplete``, which say one resource is busy, not the service.
#: Lambda's Invoke answers HTTP 429 ``TooManyRequestsException`` with a ``Reason`` such
#: as ``ReservedFunctionConcurrentInvocationLimitExceeded``.
AWS_THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "SlowDown",
        "EC2ThrottledException",
    }
)

#: Function Compute's throttling error codes: ``ResourceExhausted`` (HTTP 429, the
#: concurrency limit is exceeded) and ``ResourceThrottled`` (HTTP 503, too many
#: instances), from FC's error code table
#: (https://help.aliyun.com/zh/fc/developer-reference/error-codes).
ALIBABA_THROTTLING_CODES = frozenset({"ResourceExhausted", "ResourceThrottled"})


@dataclass(frozen=True, slots=True)
class ThrottleInfo:
    """A downstream's throttling error, as :func:`throttle_info` read it.

    Attributes:
        retry_after_s: how long the downstream asked the caller to wait, seconds
            (>= 0), or None when it did not say (or said it in a form that cannot be
            read safely, e.g. an HTTP-date without a ``Date`` header).
        source: who said it: ``"rate_limit"`` (callwise's own limiter), ``"http"``,
            ``"aws"`` (botocore) or ``"alibaba"`` (Alibaba Cloud SDK).
        code: what said it: the HTTP status (``"429"``), the service's error code
            (``"TooManyRequestsException"``, ``"ResourceExhausted"``) or
            ``"RateLimited"``.
    """

    retry_after_s: float | None
    source: Source
    code: str


def throttle_info(exc: BaseException) -> ThrottleInfo | None:
    """Whether ``exc`` is a downstream's throttling error, and the wait it asked for.

    Args:
        exc: any exception; it is only looked at.

    Returns:
        A :class:`ThrottleInfo` for a throttling error (its ``retry_after_s`` None when
        no wait was given), None for any other error.

    Example:
        >>> from resilience import HttpStatusError
        >>> busy = HttpStatusError(429, "https://example.com/fn", headers={"Retry-After": "7"})
        >>> throttle_info(busy)
        ThrottleInfo(retry_after_s=7.0, source='http', code='429')
        >>> throttle_info(HttpStatusError(500, "https://example.com/fn")) is None
        True
    """
    if isinstance(exc, RateLimited):
        return ThrottleInfo(exc.retry_after, "rate_limit", "RateLimited")
    if isinstance(exc, HttpStatusError):
        return _from_http(exc.status_code, exc.headers)
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        return _from_botocore(response)
    if response is not None and isinstance(getattr(response, "status_code", None), int):
        return _from_http(response.status_code, getattr(response, "headers", None) or {})
    if _is_alibaba(exc):
        return _from_alibaba(exc)
    return None


# -- HTTP ------------------------------------------------------------------------------


def _header(headers: Any, name: str) -> str | None:
    """``headers[name]`` for any mapping: case-insensitive ones (httpx, requests) directly,
    plain dicts by a case-insensitive look."""
    value = headers.get(name)
    if value is None and isinstance(headers, Mapping):
        value = next((v for k, v in headers.items() if str(k).lower() == name), None)
    return None if value is None else str(value)


def _from_http(status: int, headers: Any) -> ThrottleInfo | None:
    if status not in RETRY_AFTER_STATUS_CODES:
        return None
    raw = _header(headers, "retry-after")
    if status not in THROTTLING_STATUS_CODES and raw is None:
        return None  # a 413 is "too large", not "too many", unless it says "later"
    return ThrottleInfo(retry_after_s(raw, _header(headers, "date")), "http", str(status))


def retry_after_s(value: str | None, date: str | None = None) -> float | None:
    """A ``Retry-After`` header in seconds (>= 0), or None when it cannot be read.

    Args:
        value: the header: delta-seconds (``"120"``, or a decimal) or an HTTP-date.
        date: the same response's ``Date`` header; an HTTP-date is measured from it.

    Example:
        >>> retry_after_s("120")
        120.0
        >>> retry_after_s("Wed, 21 Oct 2015 07:28:30 GMT", "Wed, 21 Oct 2015 07:28:00 GMT")
        30.0
        >>> retry_after_s("Wed, 21 Oct 2015 07:28:30 GMT") is None  # no Date: no clock to use
        True
    """
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _date_difference_s(text, date)
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _date_difference_s(value: str, date: str | None) -> float | None:
    if date is None:
        return None
    later, now = _http_date(value), _http_date(date)
    if later is None or now is None:
        return None
    return max(0.0, later - now)


def _http_date(text: str) -> float | None:
    """An HTTP-date (IMF-fixdate, RFC 850 or asctime form) as a POSIX timestamp."""
    from email.utils import parsedate_to_datetime  # only when a date is given

    try:
        moment = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:  # asctime carries no zone: HTTP dates are always GMT
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# -- botocore --------------------------------------------------------------------------


def _from_botocore(response: Mapping[str, Any]) -> ThrottleInfo | None:
    error = response.get("Error")
    code = error.get("Code") if isinstance(error, Mapping) else None
    if code not in AWS_THROTTLING_CODES:
        return None
    wait = _seconds(response.get("retryAfterSeconds"))
    if wait is None:
        metadata = response.get("ResponseMetadata")
        headers = metadata.get("HTTPHeaders") if isinstance(metadata, Mapping) else None
        if isinstance(headers, Mapping):
            wait = retry_after_s(_header(headers, "retry-after"), _header(headers, "date"))
    return ThrottleInfo(wait, "aws", str(code))


def _seconds(value: object) -> float | None:
    """A number of seconds given as a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    return retry_after_s(str(value))


# -- Alibaba Cloud SDKs ---------------------------------------------------------------


def _is_alibaba(exc: BaseException) -> bool:
    """An error of the Alibaba Cloud SDKs: every one derives from Tea's ``TeaException``."""
    return any(cls.__name__ == "TeaException" for cls in type(exc).__mro__)


def _from_alibaba(exc: BaseException) -> ThrottleInfo | None:
    code = getattr(exc, "code", None)
    status = getattr(exc, "status_code", None)
    throttled = (
        type(exc).__name__ == "ThrottlingException"  # the SDK saw x-acs-retry-after
        or code in ALIBABA_THROTTLING_CODES
        or status in THROTTLING_STATUS_CODES
    )
    if not throttled:
        return None
    wait_ms = _seconds(getattr(exc, "retry_after", None))  # the SDK counts milliseconds
    label = code if isinstance(code, str) and code else str(status)
    return ThrottleInfo(None if wait_ms is None else wait_ms / 1000, "alibaba", label)
