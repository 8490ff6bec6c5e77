"""resilience.throttle_info: the one classifier of downstream throttling errors.

The errors come from the real libraries wherever the wire matters: the HTTP invokers,
boto3's Lambda client and the Alibaba FC SDK, all sending to a local HTTP server on
127.0.0.1 that answers as the service does when it throttles; httpx's own
``HTTPStatusError`` from ``raise_for_status()``; botocore's ``ClientError``.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from typing import Any

import boto3
import httpx
import pytest
from alibabacloud_fc20230330.client import Client as FcClient
from alibabacloud_tea_openapi.exceptions import ClientException, ServerException
from alibabacloud_tea_openapi.exceptions import ThrottlingException as FcThrottlingException
from alibabacloud_tea_openapi.utils_models import Config
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from support.http_server import LocalHttpServer, Received, Reply, running_server

from resilience import (
    HttpStatusError,
    RateLimited,
    ThrottleInfo,
    TimeoutExceeded,
    throttle_info,
)
from resilience.invokers import AsyncHttpFunction, FcFunction, HttpFunction, LambdaFunction
from resilience.throttling import AWS_THROTTLING_CODES, retry_after_s

URL = "https://example.com/fn"
IMF = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.fixture
def server() -> Iterator[LocalHttpServer]:
    """A real HTTP server on 127.0.0.1."""
    with running_server() as s:
        yield s


def http_error(flavour: str, url: str) -> HttpStatusError:
    """The HttpStatusError the sync or async HTTP invoker raises for ``url``."""
    if flavour == "sync":
        with HttpFunction(url) as fn, pytest.raises(HttpStatusError) as info:
            fn({})
        return info.value

    async def main() -> HttpStatusError:
        async with AsyncHttpFunction(url) as fn:
            with pytest.raises(HttpStatusError) as info:
                await fn({})
            return info.value

    return asyncio.run(main())


# -- our own errors -----------------------------------------------------------------------


def test_rate_limited_carries_its_wait() -> None:
    """Our limiter's RateLimited is throttling with its own retry_after."""
    assert throttle_info(RateLimited("api", 2.5)) == ThrottleInfo(2.5, "rate_limit", "RateLimited")


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "7"}, ThrottleInfo(7.0, "http", "429")),
        (503, {}, ThrottleInfo(None, "http", "503")),
        (503, {"retry-after": " 1.5 "}, ThrottleInfo(1.5, "http", "503")),
        (413, {"Retry-After": "3"}, ThrottleInfo(3.0, "http", "413")),
        (413, {}, None),
        (500, {"Retry-After": "3"}, None),
        (404, {}, None),
        (429, {"Retry-After": "soon"}, ThrottleInfo(None, "http", "429")),
        (429, {"Retry-After": "-5"}, ThrottleInfo(None, "http", "429")),
        (429, {"Retry-After": "inf"}, ThrottleInfo(None, "http", "429")),
    ],
)
def test_http_status_and_retry_after(
    status: int, headers: dict[str, str], expected: ThrottleInfo | None
) -> None:
    """429 and 503 are throttling, 413 only with a Retry-After; unreadable waits give no hint."""
    assert throttle_info(HttpStatusError(status, URL, headers=headers)) == expected


@pytest.mark.parametrize(
    ("value", "date", "expected"),
    [
        ("Wed, 21 Oct 2015 07:28:30 GMT", IMF, 30.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-15 07:29:00 GMT", IMF, 60.0),  # RFC 850
        ("Wed Oct 21 07:28:10 2015", IMF, 10.0),  # asctime, no zone: GMT
        ("Wed, 21 Oct 2015 07:27:00 GMT", IMF, 0.0),  # in the past: now
        ("Wed, 21 Oct 2015 07:28:30 GMT", None, None),  # no Date: no clock to measure on
        ("Wed, 21 Oct 2015 07:28:30 GMT", "yesterday", None),
        ("0", None, 0.0),
        ("", IMF, None),
        (None, IMF, None),
    ],
)
def test_retry_after_forms(value: str | None, date: str | None, expected: float | None) -> None:
    """Delta-seconds, or an HTTP-date measured against the response's own Date header."""
    assert retry_after_s(value, date) == expected


def test_http_date_never_reads_the_wall_clock() -> None:
    """A date years in the past still gives the server's difference, not 'now'."""
    error = HttpStatusError(
        429, URL, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:45 GMT", "Date": IMF}
    )
    info = throttle_info(error)
    assert info is not None and info.retry_after_s == 45.0


def test_only_safe_headers_are_kept_and_credentials_redacted() -> None:
    """HttpStatusError keeps Retry-After, Date, Content-Type, rate-limit headers; nothing else."""
    error = HttpStatusError(
        429,
        URL,
        secrets=["tok-123"],
        headers={
            "Retry-After": "7",
            "Date": IMF,
            "Set-Cookie": "sid=42",
            "Authorization": "Bearer tok-123",
            "X-RateLimit-Remaining": "0",
            "Content-Type": "text/plain; tok-123",
        },
    )
    assert dict(error.headers) == {
        "retry-after": "7",
        "date": IMF,
        "x-ratelimit-remaining": "0",
        "content-type": "text/plain; ***",
    }
    assert (error.retry_after, error.date) == ("7", IMF)
    assert "tok-123" not in repr(error.headers) and "sid=42" not in repr(error.headers)


# -- the HTTP invokers against a real server -------------------------------------------


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_invoker_429_with_delta_seconds(flavour: str, server: LocalHttpServer) -> None:
    """A real 429 with Retry-After: 7 gives a 7 s hint, from either invoker."""
    server.script(Reply(429, {"error": "slow down"}, {"Retry-After": "7", "Set-Cookie": "s=1"}))
    error = http_error(flavour, server.url("/fn"))
    assert error.retry_after == "7" and "set-cookie" not in error.headers
    assert error.date is not None  # the server's own Date header came along
    assert throttle_info(error) == ThrottleInfo(7.0, "http", "429")


@pytest.mark.parametrize("flavour", ["sync", "async"])
def test_invoker_503_with_an_http_date(flavour: str, server: LocalHttpServer) -> None:
    """A real 503 whose Retry-After is a date 30 s after the server's Date header."""

    def busy(received: Received) -> Reply:
        later = formatdate(int(time.time()) + 30, usegmt=True)  # the server's clock
        return Reply(503, b"", {"Retry-After": later})

    server.default = busy
    error = http_error(flavour, server.url("/fn"))
    assert error.retry_after is not None and error.date is not None
    expected = (
        parsedate_to_datetime(error.retry_after) - parsedate_to_datetime(error.date)
    ).total_seconds()
    info = throttle_info(error)
    assert info is not None and info.retry_after_s == expected
    assert expected in (29.0, 30.0)  # the Date header may have been written a second later


def test_httpx_status_error_from_raise_for_status() -> None:
    """httpx's own HTTPStatusError (raise_for_status) is read through its response."""
    request = httpx.Request("GET", URL)
    response = httpx.Response(429, headers={"Retry-After": "12"}, request=request)
    with pytest.raises(httpx.HTTPStatusError) as info:
        response.raise_for_status()
    assert throttle_info(info.value) == ThrottleInfo(12.0, "http", "429")
    ok_error = httpx.Response(500, request=request)
    with pytest.raises(httpx.HTTPStatusError) as info:
        ok_error.raise_for_status()
    assert throttle_info(info.value) is None


# -- botocore ------------------------------------------------------------------------------


def lambda_throttling(received: Received) -> Reply:
    """Lambda's Invoke answering as a function at its reserved concurrency does."""
    return Reply(
        429,
        {
            "Type": "User",
            "message": "Rate Exceeded.",
            "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        },
        {
            "content-type": "application/json",
            "x-amzn-requestid": "req-throttle-1",
            "x-amzn-errortype": "TooManyRequestsException",
            "Retry-After": "4",
        },
    )


def test_lambda_too_many_requests_from_a_real_client(server: LocalHttpServer) -> None:
    """boto3's Lambda client parses a 429; throttle_info reads its code and retryAfterSeconds."""
    server.default = lambda_throttling
    client = boto3.client(
        "lambda",
        region_name="eu-west-1",
        aws_access_key_id="AKIDCALLWISETEST0001",
        aws_secret_access_key="s3cr3t/CALLWISE+test",
        endpoint_url=server.url(),
        config=BotoConfig(retries={"total_max_attempts": 1}),
    )
    with pytest.raises(ClientError) as info:
        LambdaFunction("busy", client=client)({})
    assert isinstance(info.value, client.exceptions.TooManyRequestsException)
    assert info.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    assert throttle_info(info.value) == ThrottleInfo(4.0, "aws", "TooManyRequestsException")


@pytest.mark.parametrize("code", sorted(AWS_THROTTLING_CODES))
def test_botocore_throttling_codes(code: str) -> None:
    """Every code botocore's standard retry counts as a throttle is one here."""
    error = ClientError({"Error": {"Code": code, "Message": "slow down"}}, "Invoke")
    assert throttle_info(error) == ThrottleInfo(None, "aws", code)


def test_botocore_retry_after_header_and_other_codes() -> None:
    """Without retryAfterSeconds the Retry-After header counts; other codes are not throttling."""
    headers = {"retry-after": "Wed, 21 Oct 2015 07:28:05 GMT", "date": IMF}
    throttled = ClientError(
        {
            "Error": {"Code": "SlowDown"},
            "ResponseMetadata": {"HTTPStatusCode": 503, "HTTPHeaders": headers},
        },
        "PutObject",
    )
    assert throttle_info(throttled) == ThrottleInfo(5.0, "aws", "SlowDown")
    for code in ("AccessDeniedException", "TransactionInProgressException", "ResourceNotFound"):
        assert throttle_info(ClientError({"Error": {"Code": code}}, "Invoke")) is None
    assert throttle_info(ClientError({}, "Invoke")) is None


# -- Alibaba Function Compute ------------------------------------------------------------------


def fc_throttling(received: Received) -> Reply:
    """FC 3.0's InvokeFunction answering as it does at its concurrency or instance limit."""
    name = received.path.split("/functions/")[1].split("/")[0]
    headers = {"content-type": "application/json", "x-fc-request-id": "fc-req-9"}
    if name == "busy":
        return Reply(429, {"Code": "ResourceExhausted", "Message": "concurrency"}, headers)
    if name == "full":
        return Reply(503, {"Code": "ResourceThrottled", "Message": "instances"}, headers)
    if name == "paced":
        headers["x-acs-retry-after"] = "1500"
        return Reply(429, {"Code": "ResourceExhausted", "Message": "later"}, headers)
    return Reply(404, {"Code": "FunctionNotFound", "Message": "no such function"}, headers)


@pytest.mark.parametrize(
    ("function", "error", "expected"),
    [
        ("busy", ClientException, ThrottleInfo(None, "alibaba", "ResourceExhausted")),
        ("full", ServerException, ThrottleInfo(None, "alibaba", "ResourceThrottled")),
        ("paced", FcThrottlingException, ThrottleInfo(1.5, "alibaba", "ResourceExhausted")),
        ("missing", ClientException, None),
    ],
)
def test_fc_throttling_from_the_real_sdk(
    server: LocalHttpServer, function: str, error: type[Exception], expected: ThrottleInfo | None
) -> None:
    """FC's ResourceExhausted (429) and ResourceThrottled (503), and the SDK's wait in ms."""
    server.default = fc_throttling
    client = FcClient(
        Config(
            access_key_id="LTAICALLWISETEST0001",
            access_key_secret="fc-s3cr3t-CALLWISE",
            region_id="cn-hangzhou",
            endpoint=f"127.0.0.1:{server.port}",
            protocol="http",
        )
    )
    with pytest.raises(error) as info:
        FcFunction(function, client=client)({})
    assert throttle_info(info.value) == expected


# -- everything else -----------------------------------------------------------------------


class Odd(Exception):
    """An error with an unusual ``response`` attribute."""

    def __init__(self, response: Any) -> None:
        super().__init__("odd")
        self.response = response


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        TimeoutExceeded(1.0),
        ConnectionError("reset"),
        Odd(None),
        Odd("text"),
        Odd({"Error": "not a mapping"}),
    ],
    ids=lambda e: type(e).__name__,
)
def test_other_errors_are_not_throttling(error: Exception) -> None:
    """Anything else gives None (a timeout is not a throttle)."""
    assert throttle_info(error) is None


def test_importing_the_classifier_loads_no_sdk() -> None:
    """throttle_info works by shape: importing it loads no botocore, httpx or Alibaba SDK."""
    code = (
        "import sys, resilience\n"
        "resilience.throttle_info(ValueError())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('botocore', 'boto3', 'httpx', 'darabonba', 'Tea', 'alibabacloud_tea_openapi')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
